#!/usr/bin/env bash
# tests/bench/peers/bootstrap.sh — the Debian packages the side-by-side benchmark needs (the
# peers, their clients, strace); not part of tests/run.sh: CI does not run the peers.
set -euo pipefail
packages=(mosquitto mosquitto-clients nats-server golang-go golang-github-nats-io-go-nats-dev strace)
missing=()
for p in "${packages[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
