#!/usr/bin/env bash
# Cross-compiles libhyperattn for linux-aarch64 (CPU backend: the generic and NEON paths), when
# Debian's cross compiler is installed (apt-get install g++-aarch64-linux-gnu); without it,
# says the jar will lack the library and succeeds, so the x86-64 build never depends on it.
# Maven's generate-resources phase calls it (java/pom.xml); process-resources then copies
# <dir>/lib/libhyperattn.so to native/linux-aarch64/ in the jar.
#
#   scripts/aarch64/build.sh [--portable] [--harness]
#     (default)   target/native-aarch64 with this machine's cross GCC: needs its glibc (2.36)
#     --portable  target/native-aarch64-portable, against the Debian 11 root of
#                 scripts/portable/sysroot.sh --aarch64 (its cross GCC 10, arm64 glibc 2.31):
#                 the shipped library, loads on glibc >= 2.31 (Maven: the portable profile);
#                 scripts/check-glibc.sh then fails the build if it needs more
#     --harness   also the native harness, <dir>/tests/native/ha_native_tests; run it with
#                 qemu-aarch64 -L /usr/aarch64-linux-gnu (or -L <root>/usr/aarch64-linux-gnu)
#
# HA_AARCH64=0 in the environment skips the build (and says so).
set -euo pipefail
cd "$(dirname "$0")/../.."

portable=0 target=hyperattn
for a in "$@"; do
    case $a in
        --portable) portable=1 ;;
        --harness) target=ha_native_tests ;;
        *) echo "build.sh: unknown option $a" >&2; exit 2 ;;
    esac
done
dir=target/native-aarch64
[ $portable = 1 ] && dir=target/native-aarch64-portable

skip() {
    echo "hyperattn: $1: the jar will lack native/linux-aarch64/libhyperattn.so" >&2
    # An older build's library must not slip into this jar as if it were current.
    rm -f "$dir/lib/libhyperattn.so"
    exit 0
}
[ "${HA_AARCH64:-}" = 0 ] && skip "HA_AARCH64=0"
# The portable build compiles with the root's GCC but assembles and links with this machine's
# cross binutils, which come with the same package.
command -v aarch64-linux-gnu-g++ >/dev/null ||
    skip "aarch64-linux-gnu-g++ not found (apt-get install g++-aarch64-linux-gnu to build it)"

args=()
if [ $portable = 1 ]; then
    root=$(scripts/portable/sysroot.sh --aarch64)
    args+=(-DHA_AARCH64_SYSROOT="$root")
fi
mkdir -p "$dir"
log=$dir/build.log
# Quiet unless it fails: then the log says why.
{ cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake "${args[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DHA_BUILD_BENCH=OFF -DHA_LIB_OUTPUT_DIR="$PWD/$dir/lib" &&
  cmake --build "$dir" -j 2 --target "$target"; } >"$log" 2>&1 || {
    cat "$log" >&2
    echo "hyperattn: the aarch64 cross build failed (log above, also in $log)" >&2
    exit 1
}
echo "hyperattn: built $dir/lib/libhyperattn.so (linux-aarch64)"
# The shipped one must load where the x86-64 one does: glibc <= 2.31, nothing outside glibc.
[ $portable = 1 ] && scripts/check-glibc.sh "$dir/lib/libhyperattn.so"
exit 0
