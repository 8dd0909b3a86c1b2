#!/usr/bin/env bash
# bootstrap.sh — install the Debian packages xfsync needs to build, test and run.
# Idempotent and quiet: prints nothing and touches nothing when all are present.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libzmq3-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
    libssl-dev libinih-dev libjansson-dev libcmocka-dev libsystemd-dev
    jq python3 libxml2-utils scdoc bash-completion
    clang libclang-rt-14-dev fiu-utils valgrind
    debootstrap systemd-container lintian
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
