#!/usr/bin/env bash
# The Debian package, built and installed on a clean Debian 12:
#   1. a Release build tree (Debian's hardening flags) and `cpack -G DEB`: xfsync_<version>_<arch>.deb;
#   2. its contents (dpkg-deb -c, -I): binaries, unit, sysusers.d, examples, the conffile, man
#      pages and completion when deploy/docs.cmake installs them, Depends; lintian when installed;
#   3. debootstrap --variant=minbase bookworm (with systemd, systemd-sysv, dbus) from the mirror
#      apt uses here, cached under the build directory (the debootstrap tarball, then the
#      unpacked root), booted with systemd-nspawn -b; inside: apt-get install ./xfsync_*.deb,
#      and the service as installed: active, running as xfsync with its directories and key,
#      answering xfctl (root, an operator in the group xfsync, and not one outside it), journal
#      priorities, reload, restart, stop, purge.
#   Where systemd cannot boot in a container here, what systemd would do is done by hand inside
#   the root instead (systemd-sysusers, the directories, the unit's ExecStart as xfsync with a
#   fake NOTIFY_SOCKET, xfctl status) and the boot error is printed. XF_DEB_BOOT=0 forces that.
# Exit 77 (skipped) without root, without the tools (deploy/bootstrap.sh installs them) or
# without the mirror. Each step prints how long it took.
#
# XF_PKG_DIR   build tree and cache (default: build-deb in the source tree; ctest: BUILD/package)
# XF_PKG_CACHE   the debootstrap tarball and root (default: XF_PKG_DIR/cache; a directory kept
#              between clean clones makes a CI run save the ~1 min of debootstrap)
# XF_DEBIAN_MIRROR   the mirror (default: the first bookworm one in /etc/apt/sources.list*)
# XF_LINTIAN_KNOWN   lintian errors reported but not failed (default: below)
# KEEP_TMP=1   keep the container's root
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=${XF_PKG_DIR:-$ROOT/build-deb}
SUITE=bookworm
INCLUDE=systemd,systemd-sysv,dbus
# open: no copyright file until the project states its licence; man pages installed
# uncompressed by deploy/docs.cmake
LINTIAN_KNOWN=${XF_LINTIAN_KNOWN:-no-copyright-file}

skip () { echo "SKIP: $*"; exit 77; }
fail () { echo "FAIL: $*" >&2; exit 1; }
pass () { echo "ok: $*"; }
now () { date +%s.%N; }
took () { awk -v a="$2" -v b="$(now)" -v s="$1" 'BEGIN { printf "time: %-44s %6.1f s\n", s, b - a }'; }
T0=$(now)

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in cmake cpack dpkg-deb dpkg-shlibdeps debootstrap systemd-nspawn nsenter python3 flock; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (deploy/bootstrap.sh installs what is needed)"
done
ARCH=$(dpkg --print-architecture)

CACHE=${XF_PKG_CACHE:-$PKG/cache}
mkdir -p "$CACHE" "$PKG/tmp"
exec 9>"$PKG/lock"
flock -w 1200 9 || fail "another test_deb.sh holds $PKG/lock"
T=$(mktemp -d "$PKG/tmp/deb.XXXXXX")
MACHINE=xfdeb-$$
NSPAWN_PID=
INIT_PID=

stop_container () {
    [ -n "$NSPAWN_PID" ] || return 0
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$NSPAWN_PID" 2>/dev/null || true   # nspawn asks the container's systemd to halt
        local deadline=$((SECONDS + 30))
        while kill -0 "$NSPAWN_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        if kill -0 "$NSPAWN_PID" 2>/dev/null; then
            echo "container did not halt within 30 s: killing it" >&2
            [ -n "$INIT_PID" ] && kill -KILL "$INIT_PID" 2>/dev/null || true
            kill -KILL "$NSPAWN_PID" 2>/dev/null || true
        fi
    fi
    wait "$NSPAWN_PID" 2>/dev/null || true
    NSPAWN_PID=
    rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null || true
}
cleanup () {
    local rc=$?
    stop_container
    [ -n "${LISTENER_PID:-}" ] && kill "$LISTENER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if grep -q " $T/" /proc/mounts; then   # never remove through a mount left behind
        echo "mounts are left under $T: not removing it" >&2
    elif [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
    awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "time: %-44s %6.1f s\n", "test_deb.sh in all", b - a }'
    exit $rc
}
trap cleanup EXIT

# --- the mirror apt uses, and whether it answers
mirror=${XF_DEBIAN_MIRROR:-$(python3 - "$SUITE" <<'PY'
import glob, sys
suite = sys.argv[1]
def one_line(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        w = line.split("#")[0].split()
        if len(w) >= 3 and w[0] == "deb":
            if w[1].startswith("["):          # deb [options] URI suite …
                while w and not w[0].endswith("]"): w.pop(0)
                w = ["deb"] + w[1:]
            if len(w) >= 3 and w[2] == suite: yield w[1]
def deb822(path):
    for stanza in open(path, encoding="utf-8", errors="replace").read().split("\n\n"):
        f = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith(("#", " ")):
                k, v = line.split(":", 1); f[k.strip().lower()] = v.split()
        if "deb" in f.get("types", []) and suite in f.get("suites", []) and f.get("enabled", ["yes"]) != ["no"]:
            yield from f.get("uris", [])
paths = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
uris = [u for p in paths if glob.os.path.exists(p) for u in one_line(p)]
uris += [u for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) for u in deb822(p)]
uris = [u for u in uris if u.startswith(("http://", "https://"))]
print(uris[0].rstrip("/") if uris else "")
PY
)}
[ -n "$mirror" ] || skip "no $SUITE mirror in /etc/apt/sources.list* (set XF_DEBIAN_MIRROR)"
python3 - "$mirror/dists/$SUITE/Release" <<'PY' || skip "the mirror $mirror does not answer ($mirror/dists/$SUITE/Release): no network?"
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=20).read(64)
PY
echo "mirror: $mirror"

# --- 1. the package, from a Release build tree with Debian's hardening flags
t=$(now)
build=$PKG/build
cmake_args=(-S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release -DXF_TESTS=OFF)
if ! grep -Eq '^[[:space:]]*include[[:space:]]*\(.*deploy/package\.cmake' "$ROOT/CMakeLists.txt"; then
    # the top-level CMakeLists.txt does not include it (yet): include it after the targets
    echo 'cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL include ${CMAKE_SOURCE_DIR}/deploy/package.cmake)' \
        > "$PKG/include-package.cmake"
    cmake_args+=(-DCMAKE_PROJECT_INCLUDE="$PKG/include-package.cmake")
else
    cmake_args+=(-UCMAKE_PROJECT_INCLUDE)   # in case this tree was configured before it did
fi
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(cd "$ROOT" && dpkg-buildflags --get CPPFLAGS) $(cd "$ROOT" && dpkg-buildflags --get CFLAGS)" \
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
    cmake "${cmake_args[@]}" > "$T/cmake.log" 2>&1 || { tail -n 30 "$T/cmake.log"; fail "cmake configure"; }
cmake --build "$build" -j"$(nproc)" > "$T/build.log" 2>&1 || { tail -n 40 "$T/build.log"; fail "cmake --build"; }
version=$(sed -n 's/^xfsyncd //p' <("$build/xfsyncd" --version))
project_version=$(sed -n 's/^project(xfsync VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
[ "$version" = "$project_version" ] || fail "xfsyncd --version says $version, CMakeLists.txt $project_version"
DEB=$build/xfsync_${version}_$ARCH.deb
rm -f "$build"/xfsync_*.deb
(cd "$build" && cpack -G DEB > "$T/cpack.log" 2>&1) || { tail -n 30 "$T/cpack.log"; fail "cpack -G DEB"; }
[ -f "$DEB" ] || fail "cpack made no $(basename "$DEB"): $(ls "$build"/*.deb 2>/dev/null)"
took "build and cpack $(basename "$DEB")" "$t"

# --- 2. what it holds
t=$(now)
dpkg-deb -c "$DEB" | awk '{ print $1, $2, $6 }' | sed 's| \./| /|' > "$T/contents"
has () {   # has PATH [MODE OWNER]
    local line
    line=$(awk -v p="$1" '$3 == p' "$T/contents")
    [ -n "$line" ] || fail "the package has no $1"
    [ -z "${2:-}" ] || [ "$line" = "$2 $3 $1" ] || fail "$1 is \"$line\", not $2 $3"
}
has /usr/sbin/xfsyncd -rwxr-xr-x root/root
has /usr/bin/xfctl -rwxr-xr-x root/root
has /lib/systemd/system/xfsyncd.service -rw-r--r-- root/root
has /usr/lib/sysusers.d/xfsync.conf -rw-r--r-- root/root
has /etc/xfsync/xfsyncd.conf -rw-r--r-- root/root
for conf in "$ROOT"/config/*.conf; do has "/usr/share/doc/xfsync/examples/$(basename "$conf")"; done
docs="no deploy/docs.cmake: man pages and completion not checked"
if [ -f "$ROOT/deploy/docs.cmake" ]; then
    n=0
    for scd in "$ROOT"/deploy/man/*.scd; do
        [ -e "$scd" ] || continue
        page=$(basename "$scd" .scd); sec=${page##*.}
        grep -Eq " /usr/share/man/man$sec/$page(\.gz)?$" "$T/contents" || fail "the package has no man page $page"
        n=$((n + 1))
    done
    [ -f "$ROOT/deploy/completion/xfctl" ] && has /usr/share/bash-completion/completions/xfctl
    docs="$n man pages, bash completion"
fi
dpkg-deb -x "$DEB" "$T/x"
cmp -s "$T/x/lib/systemd/system/xfsyncd.service" "$ROOT/deploy/systemd/xfsyncd.service" || fail "the packaged unit is not deploy/systemd/xfsyncd.service"
cmp -s "$T/x/etc/xfsync/xfsyncd.conf" "$ROOT/config/411324-zhenping.conf" || fail "/etc/xfsync/xfsyncd.conf is not config/411324-zhenping.conf"
dpkg-deb --ctrl-tarfile "$DEB" | tar -t > "$T/control-files"
for f in conffiles postinst prerm postrm; do grep -qx "./$f" "$T/control-files" || fail "no $f in the control archive"; done
[ "$(dpkg-deb -I "$DEB" conffiles)" = /etc/xfsync/xfsyncd.conf ] || fail "conffiles: $(dpkg-deb -I "$DEB" conffiles)"
field () { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = xfsync ] && [ "$(field Version)" = "$version" ] && [ "$(field Architecture)" = "$ARCH" ] \
    || fail "control: $(field Package) $(field Version) $(field Architecture)"
case $(field Section) in net|admin) ;; *) fail "Section: $(field Section)" ;; esac
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
depends=$(field Depends)
for lib in libzmq5 libprotobuf-c1 liblmdb0 libssl3 libinih1 libjansson4 libsystemd0 procps; do
    grep -Eq "(^|[ ,|])$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
echo "Depends: $depends"
pass "contents: binaries, unit, sysusers.d, $(ls "$ROOT"/config/*.conf | wc -l) examples, conffile /etc/xfsync/xfsyncd.conf, maintainer scripts; $docs"
if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$DEB" > "$T/lintian" 2>/dev/null || true
    cat "$T/lintian"
    errors=0
    while read -r level _ tag _; do
        [ "$level" = "E:" ] || continue
        case " $LINTIAN_KNOWN " in
        *" $tag "*) echo "lintian: $tag is known and open (XF_LINTIAN_KNOWN)" ;;
        *) errors=$((errors + 1)) ;;
        esac
    done < "$T/lintian"
    [ "$errors" = 0 ] || fail "lintian: $errors error(s) beyond the known ones"
    pass "lintian: no errors beyond the known ($LINTIAN_KNOWN)"
else
    echo "lintian is not installed: not linted"
fi
took "contents and lint" "$t"

# --- 3. a clean Debian 12: debootstrap's tarball, then the unpacked root, cached
t=$(now)
key=$(printf '%s\n' "$SUITE" minbase "$INCLUDE" "$mirror" "$ARCH" | sha256sum | cut -c1-12)
tarball=$CACHE/debootstrap-$SUITE-$key.tgz
rootcache=$CACHE/root-$SUITE-$key.tar
rootfs=$T/root
mkdir "$rootfs"
if [ -f "$rootcache" ]; then
    tar --numeric-owner --xattrs -xpf "$rootcache" -C "$rootfs"
    took "root from the cache ($(basename "$rootcache"))" "$t"
else
    if [ ! -f "$tarball" ]; then
        timeout 900 debootstrap --variant=minbase --include="$INCLUDE" --arch="$ARCH" \
            --make-tarball="$tarball.tmp" "$SUITE" "$T/make-tarball" "$mirror" > "$T/debootstrap.log" 2>&1 \
            || { tail -n 20 "$T/debootstrap.log"; rm -f "$tarball.tmp"
                 if grep -Eqi 'Failed getting release file|Couldn.t download|Temporary failure' "$T/debootstrap.log"; then
                     skip "debootstrap cannot download from $mirror"; fi
                 fail "debootstrap --make-tarball"; }
        mv "$tarball.tmp" "$tarball"
        rm -rf "$T/make-tarball"
        took "debootstrap --make-tarball (cold cache)" "$t"
        t=$(now)
    fi
    timeout 900 debootstrap --variant=minbase --include="$INCLUDE" --arch="$ARCH" \
        --unpack-tarball="$tarball" "$SUITE" "$rootfs" "$mirror" > "$T/debootstrap.log" 2>&1 \
        || { tail -n 20 "$T/debootstrap.log"; fail "debootstrap --unpack-tarball"; }
    took "debootstrap --unpack-tarball" "$t"
    t=$(now)
    tar --numeric-owner --xattrs -cf "$rootcache.tmp" -C "$rootfs" . && mv "$rootcache.tmp" "$rootcache"
    took "root cached ($(basename "$rootcache"))" "$t"
fi
cp "$DEB" "$rootfs/root/"
DEBNAME=$(basename "$DEB")
mkdir -m 0755 "$T/host"

CENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
      TERM=dumb DEBIAN_FRONTEND=noninteractive)
# inside SECONDS CMD… — a command inside the booted container
inside () { local s=$1; shift; timeout "$s" nsenter -t "$INIT_PID" -a "${CENV[@]}" "$@"; }

# --- 4. boot it
booted=no
if [ "${XF_DEB_BOOT:-1}" != 0 ]; then
    t=$(now)
    systemd-nspawn -q -D "$rootfs" -b --console=pipe --register=no --keep-unit -M "$MACHINE" \
        > "$T/boot.log" 2>&1 &
    NSPAWN_PID=$!
    # the container's systemd: nspawn's child once it is PID 1 of a PID namespace of its own
    # (before that, the child is nspawn's own helper, in this system's namespaces)
    deadline=$((SECONDS + 30))
    INIT_PID=
    while [ -z "$INIT_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        for p in $(pgrep -P "$NSPAWN_PID"); do
            if [ "$(readlink "/proc/$p/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] \
               && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
                INIT_PID=$p
            fi
        done
        [ -n "$INIT_PID" ] || sleep 0.1
    done
    state=
    while [ -n "$INIT_PID" ] && [ $SECONDS -lt $((deadline + 60)) ]; do
        state=$(inside 90 systemctl is-system-running --wait 2>&1) || true
        case $state in   # before systemd listens on its bus, systemctl cannot reach it
        *"Failed to connect to bus"*) kill -0 "$INIT_PID" 2>/dev/null || break; sleep 0.2 ;;
        *) break ;;
        esac
    done
    case $state in
    running|degraded)
        booted=yes
        [ "$state" = running ] || { echo "system degraded:"; inside 20 systemctl --failed --no-pager || true; }
        took "systemd-nspawn -b: $state" "$t" ;;
    *)
        echo "booting systemd in the container failed (state \"$state\"); nspawn said:"
        sed 's/^/    /' "$T/boot.log"
        stop_container ;;
    esac
fi

if [ $booted = yes ]; then
    # --- 5. apt-get install ./xfsync_*.deb on the running system: the postinst makes the user
    # and the key, enables and starts the service
    t=$(now)
    inside 300 sh -c "apt-get update -qq && cd /root && apt-get install -y -q ./$DEBNAME" > "$T/apt.log" 2>&1 \
        || { tail -n 30 "$T/apt.log"; fail "apt-get install ./$DEBNAME in the container"; }
    grep -E '^(Setting up xfsync|xfsync:|Created symlink)' "$T/apt.log" | sed 's/^/    /'
    took "apt-get update; apt-get install ./$DEBNAME" "$t"

    t=$(now)
    inside 120 systemctl start xfsyncd || { inside 20 journalctl -u xfsyncd --no-pager | tail -n 20; fail "systemctl start xfsyncd"; }
    [ "$(inside 20 systemctl is-active xfsyncd)" = active ] || fail "xfsyncd is $(inside 20 systemctl is-active xfsyncd)"
    [ "$(inside 20 systemctl is-enabled xfsyncd)" = enabled ] || fail "xfsyncd is not enabled"
    inside 20 systemctl show xfsyncd -p MainPID -p StatusText -p NRestarts -p User > "$T/show"
    main_pid=$(sed -n 's/^MainPID=//p' "$T/show")
    [ "$(sed -n 's/^NRestarts=//p' "$T/show")" = 0 ] || fail "xfsyncd restarted: $(cat "$T/show")"
    echo "    $(grep StatusText "$T/show")"
    inside 20 xfctl --json status > "$T/status.json" || fail "xfctl status as root: $(cat "$T/status.json")"
    pub=$(inside 20 cat /etc/xfsync/node.pub)
    python3 - "$T/status.json" "$pub" <<'PY' || fail "xfctl status: $(head -c 400 "$T/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["office"]["code"] == "411324", s["office"]
assert s["public_key"] == sys.argv[2].strip(), "the daemon's key is not /etc/xfsync/node.pub"
assert s["store"]["path"] == "/var/lib/xfsync", s["store"]
PY
    pass "installed: xfsyncd enabled and active with the example county config, xfctl status answers (411324, the postinst's key)"

    # who it runs as, what it may do, its directories and key
    inside 20 sh -c "grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$main_pid/status" > "$T/proc"
    uid=$(inside 20 id -u xfsync)
    grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]" "$T/proc" || fail "xfsyncd does not run as xfsync ($uid): $(cat "$T/proc")"
    grep -Eq '^CapEff:[[:space:]]+0+$' "$T/proc" && grep -Eq '^CapBnd:[[:space:]]+0+$' "$T/proc" \
        && grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$T/proc" && grep -Eq '^Seccomp:[[:space:]]+2$' "$T/proc" \
        || fail "the hardening does not show in /proc/$main_pid/status: $(cat "$T/proc")"
    inside 20 stat -c '%n %U:%G %a' /etc/xfsync/node.key /etc/xfsync/node.pub /var/lib/xfsync /run/xfsync \
        /run/xfsync/control.sock > "$T/modes"
    sed 's/^/    /' "$T/modes"
    for want in "/etc/xfsync/node.key xfsync:xfsync 600" "/var/lib/xfsync xfsync:xfsync 700" \
                "/run/xfsync xfsync:xfsync 750" "/run/xfsync/control.sock xfsync:xfsync 660"; do
        grep -qx "$want" "$T/modes" || fail "not $want"
    done
    pass "runs as xfsync, no capabilities, no new privileges, seccomp; key 0600 xfsync, store 0700, socket 0660 in /run/xfsync 0750"

    # operators: in the group xfsync they may use the socket, outside it they may not
    inside 20 sh -c 'useradd -m op && usermod -aG xfsync op && useradd -m other'
    inside 20 runuser -u op -- xfctl status > /dev/null || fail "an operator in the group xfsync cannot use xfctl"
    rc=0; inside 20 runuser -u other -- xfctl status > "$T/other" 2>&1 || rc=$?
    [ $rc = 3 ] || fail "a user outside the group xfsync: exit $rc, not 3 ($(cat "$T/other"))"
    pass "xfctl: an operator in the group xfsync is answered; another user is not (exit 3: $(head -n 1 "$T/other" | cut -c1-70)…)"

    # the journal has the daemon's priorities (JOURNAL_STREAM and the <N> prefixes)
    inside 20 journalctl -u xfsyncd -o json --no-pager > "$T/journal.json"
    python3 - "$T/journal.json" <<'PY' || fail "journal priorities"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [(r.get("PRIORITY"), r.get("MESSAGE")) for r in recs if r.get("SYSLOG_IDENTIFIER") == "xfsyncd"]
assert any(p == "6" and "started for 411324" in m for p, m in mine), mine
assert any(p == "4" and "no [roles]" in m for p, m in mine), mine
assert not any(m.startswith("<") for p, m in mine), "a <N> prefix reached the journal as text"
print("journal:", ", ".join(f"<{p}> {m[:40]}…" for p, m in mine[:3]))
PY
    pass "journal: the daemon's lines carry priorities (info 6, warning 4)"

    online=$(inside 30 systemd-analyze security xfsyncd --no-pager 2>&1 | sed -n 's/.*Overall exposure level for xfsyncd.service: \([0-9.]*\).*/\1/p')
    echo "exposure in the container (systemd-analyze security xfsyncd): ${online:-?}"
    inside 60 systemctl reload xfsyncd || fail "systemctl reload xfsyncd"
    deadline=$((SECONDS + 20))
    until inside 20 journalctl -u xfsyncd --no-pager -o cat | grep -q '^411324: reloaded '; do
        [ $SECONDS -lt $deadline ] || fail "no reloaded line after systemctl reload"
        sleep 0.2
    done
    [ "$(inside 20 systemctl is-active xfsyncd)" = active ] || fail "not active after reload"
    inside 20 xfctl status > /dev/null || fail "no status after reload"
    inside 120 systemctl restart xfsyncd || fail "systemctl restart xfsyncd"
    inside 20 xfctl status > /dev/null || fail "no status after restart"
    inside 120 systemctl stop xfsyncd || fail "systemctl stop xfsyncd"
    state=$(inside 20 systemctl is-active xfsyncd) || true
    [ "$state" = inactive ] || fail "xfsyncd is $state after stop"
    inside 20 journalctl -u xfsyncd --no-pager -o cat | grep -q '^411324: stopped$' || fail "no clean stop in the journal"
    pass "systemctl reload, restart, stop"
    took "service checks" "$t"

    # Under the unit's hardening, the network: a link up to a parent (a second xfsyncd in the
    # container, on 127.0.0.1: the container shares this system's network) and the [metrics]
    # HTTP endpoint, both on loopback ports free here.
    t=$(now)
    read -r pport mport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
    inside 20 sh -c "mkdir -p /root/parent && xfctl keygen /root/parent >/dev/null && cat > /root/parent/xfsyncd.conf <<CONF
[node]
code = 411300
name = 中共南阳市委组织部
data_dir = /root/parent/data
control_socket = /root/parent/control.sock
key_file = /root/parent/node.key
listen = tcp://127.0.0.1:$pport

[child 411324]
name = 中共镇平县委组织部
public_key = \$(cat /etc/xfsync/node.pub)
CONF
cp /etc/xfsync/xfsyncd.conf /root/xfsyncd.conf.shipped
printf '\n[parent]\ncode = 411300\nendpoint = tcp://127.0.0.1:$pport\npublic_key = %s\n\n[metrics]\nlisten = 127.0.0.1:$mport\n' \
    \"\$(cat /root/parent/node.pub)\" >> /etc/xfsync/xfsyncd.conf"
    parent_pid=$(inside 20 sh -c 'xfsyncd -c /root/parent/xfsyncd.conf --foreground >/root/parent/log 2>&1 & echo $!')
    inside 120 systemctl restart xfsyncd || fail "restart with a parent and [metrics]: $(inside 20 journalctl -u xfsyncd --no-pager -o cat | tail -n 5)"
    deadline=$((SECONDS + 30))
    until inside 20 xfctl --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(not any(l["peer"] == "411300" and l["state"] == "up" for l in s["links"]))'; do
        [ $SECONDS -lt $deadline ] || fail "the link to the parent did not come up under the unit: $(inside 20 journalctl -u xfsyncd --no-pager -o cat | tail -n 5)"
        sleep 0.2
    done
    python3 - "$mport" <<'PY' || fail "the [metrics] endpoint does not answer under the unit"
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
assert "xfsync" in body, body[:200]
PY
    inside 20 kill -TERM "$parent_pid"
    inside 120 systemctl stop xfsyncd
    inside 20 cp /root/xfsyncd.conf.shipped /etc/xfsync/xfsyncd.conf
    pass "under the unit's hardening: the link up to a parent on 127.0.0.1:$pport (CURVE, TCP), metrics on 127.0.0.1:$mport"
    took "link and metrics under the unit" "$t"

    # --- 6. remove keeps the data, purge deletes it, saying so
    t=$(now)
    inside 20 systemctl start xfsyncd
    inside 120 apt-get remove -y -q xfsync > "$T/remove.log" 2>&1 || { cat "$T/remove.log"; fail "apt-get remove"; }
    state=$(inside 20 systemctl is-active xfsyncd) || true
    [ "$state" = inactive ] || fail "xfsyncd is $state after apt-get remove"
    inside 20 test -f /var/lib/xfsync/data.mdb -a -f /etc/xfsync/node.key || fail "apt-get remove deleted the store or the key"
    inside 120 apt-get purge -y -q xfsync > "$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "apt-get purge"; }
    grep '^xfsync: purge' "$T/purge.log" | sed 's/^/    /'
    ! inside 20 test -e /var/lib/xfsync || fail "/var/lib/xfsync is left after purge"
    ! inside 20 test -e /etc/xfsync || fail "/etc/xfsync is left after purge"
    pass "remove stops it and keeps store and key; purge deletes both, saying so"
    took "remove and purge" "$t"

    t=$(now)
    inside 30 systemctl poweroff > /dev/null 2>&1 || true
    stop_container
    took "container halted" "$t"
else
    # --- 5'. no systemd to boot: apt-get install, then what systemd would do, by hand, as the
    # installed unit says (its user, directories, UMask, ExecStart, NOTIFY_SOCKET, ExecReload)
    echo "running the service without systemd as PID 1 (fallback)"
    t=$(now)
    python3 "$ROOT/tests/integration/notify_listener.py" "$T/host/notify.sock" /nonexistent "$T/host/notify.jsonl" &
    LISTENER_PID=$!
    deadline=$((SECONDS + 10))
    until grep -q listening "$T/host/notify.jsonl" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "the fake systemd did not start"
        sleep 0.1
    done
    chmod 0666 "$T/host/notify.sock"   # the daemon runs as xfsync
    cat > "$T/host/service.sh" <<'SH'
set -eu
unit=/lib/systemd/system/xfsyncd.service
val () { sed -n "s/^$1=//p" $unit | tail -n 1; }
apt-get update -qq
cd /root && apt-get install -y -q ./"$1"
systemd-sysusers xfsync.conf
install -d -o xfsync -g xfsync -m "$(val StateDirectoryMode)" /var/lib/xfsync
install -d -o xfsync -g xfsync -m "$(val RuntimeDirectoryMode)" /run/xfsync
usec=$(systemd-analyze timespan "$(val WatchdogSec)" | sed -n 's/^ *μs: //p')
cd /
( umask "$(val UMask)"
  exec setpriv --reuid=xfsync --regid=xfsync --init-groups --no-new-privs --bounding-set=-all \
      env NOTIFY_SOCKET=/xfhost/notify.sock WATCHDOG_USEC="$usec" JOURNAL_STREAM=0:0 \
      $(val ExecStart) 2>/xfhost/xfsyncd.stderr ) &
pid=$!
i=0
until xfctl status > /xfhost/status.txt 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] && kill -0 $pid || { echo "xfsyncd did not answer"; kill $pid; exit 1; }
    sleep 0.1
done
stat -c '%n %U:%G %a' /etc/xfsync/node.key /var/lib/xfsync /run/xfsync /run/xfsync/control.sock > /xfhost/modes
$(val ExecReload | sed "s/\$MAINPID/$pid/")
sleep 1
kill -0 $pid || { echo "xfsyncd stopped on SIGHUP"; exit 1; }
xfctl status > /dev/null
kill -TERM $pid
wait $pid
SH
    timeout 600 systemd-nspawn -q -D "$rootfs" --register=no --keep-unit -M "$MACHINE" \
        --bind="$T/host:/xfhost" "${CENV[@]}" sh /xfhost/service.sh "$DEBNAME" > "$T/service.log" 2>&1 \
        || { tail -n 30 "$T/service.log"; cat "$T/host/xfsyncd.stderr" 2>/dev/null; fail "the service by hand in the root"; }
    grep -E '^(Setting up xfsync|xfsync:)' "$T/service.log" | sed 's/^/    /'
    sed 's/^/    /' "$T/host/modes"
    head -n 3 "$T/host/status.txt" | sed 's/^/    /'
    grep -q 411324 "$T/host/status.txt" || fail "xfctl status: $(cat "$T/host/status.txt")"
    for want in "/etc/xfsync/node.key xfsync:xfsync 600" "/run/xfsync/control.sock xfsync:xfsync 660"; do
        grep -qx "$want" "$T/host/modes" || fail "not $want"
    done
    python3 - "$T/host/notify.jsonl" <<'PY' || fail "sd_notify: $(cat "$T/host/notify.jsonl")"
import json, sys
msgs = [json.loads(l).get("msg", "").split("\n") for l in open(sys.argv[1])]
assert sum("READY=1" in m for m in msgs) >= 2, "READY=1 at start and after the reload"
assert any("STOPPING=1" in m for m in msgs), "no STOPPING=1"
PY
    grep -q '^<4>411324: no \[roles\]' "$T/host/xfsyncd.stderr" || fail "no <4> warning on stderr"
    pass "installed; xfsyncd run as the unit says (user xfsync, no systemd): READY=1, xfctl status, reload, STOPPING=1"
    took "install and service by hand" "$t"
fi
