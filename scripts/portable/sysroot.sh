#!/usr/bin/env bash
# Makes (once) and prints the path of the Debian 11 (bullseye) root that the portable build
# compiles against (glibc 2.31, GCC 10 with its libstdc++.a and libgcc) and that
# scripts/portable/smoke.sh runs the library in. Why Debian 11: what it links against is the
# oldest glibc Debian still serves; the shipped library asks for less (2.27, cpp/src/glibc_compat.cpp).
#
#   scripts/portable/sysroot.sh            prints the root's path; builds it first if needed (~1 min)
#   scripts/portable/sysroot.sh --aarch64  the same for the linux-aarch64 library: a Debian 11
#                                          (amd64) root with Debian's aarch64 cross GCC 10 and
#                                          the arm64 glibc 2.31 (cmake/toolchain-aarch64.cmake)
#
# The root lives in $HA_SYSROOT (default ~/.cache/hyperattn/debian11-root; with --aarch64
# $HA_AARCH64_SYSROOT, default ~/.cache/hyperattn/debian11-aarch64-root; outside target/ so
# `mvn clean` keeps them) and is remade when its RECIPE below changes. A root of its own for
# aarch64 leaves the x86-64 one (and its recipe, which other checkouts share) as it is. Needs
# root (debootstrap) and Debian's package archive; HA_DEBIAN_MIRROR overrides debootstrap's
# default mirror. Progress goes to stderr; stdout is only the path.
set -euo pipefail

cache=${XDG_CACHE_HOME:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache}
if [ "${1:-}" = --aarch64 ]; then
    root=${HA_AARCH64_SYSROOT:-$cache/hyperattn/debian11-aarch64-root}
    RECIPE="debian11 minbase+g++-aarch64-linux-gnu v1"  # bump to force a remake
    include=g++-aarch64-linux-gnu
else
    root=${HA_SYSROOT:-$cache/hyperattn/debian11-root}
    RECIPE="debian11 minbase+g++ v1"  # bump to force every cached root to be remade
    include=g++
fi

if [ "$(cat "$root/.hyperattn-sysroot" 2>/dev/null)" = "$RECIPE" ]; then
    echo "$root"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "sysroot.sh: making the Debian 11 root at $root needs root (debootstrap)" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    echo "sysroot.sh: installing debootstrap" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi

mkdir -p "$(dirname "$root")"
tmp="$root.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
log="$(dirname "$root")/debootstrap.log"
echo "sysroot.sh: debootstrap bullseye (minbase + $include) into $root" >&2
start=$SECONDS
# ${HA_DEBIAN_MIRROR:-} empty: debootstrap's own default mirror.
if ! debootstrap --variant=minbase --include=$include bullseye "$tmp" ${HA_DEBIAN_MIRROR:-} >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "sysroot.sh: debootstrap failed (log: $log)" >&2
    exit 1
fi
# The root is also used from outside (as --sysroot), where an absolute link such as
# usr/lib/x86_64-linux-gnu/librt.so -> /lib/x86_64-linux-gnu/librt.so.1 would silently resolve
# to THIS machine's newer library. Make every absolute link under usr/ relative (the same file
# seen from inside the chroot).
find "$tmp/usr" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    ln -sfn "$(realpath -s -m --relative-to="$(dirname "$link")" "$tmp$target")" "$link"
done
rm -rf "$tmp/var/cache/apt/archives/"*.deb
echo "$RECIPE" >"$tmp/.hyperattn-sysroot"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
echo "sysroot.sh: Debian 11 root ready in $((SECONDS - start)) s" >&2
echo "$root"
