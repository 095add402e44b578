#!/usr/bin/env bash
# Loads the shipped library on Debian 11 (glibc 2.31) and runs tests/portable/smoke.c there:
# ABI version, a CUDA device query without a driver, exact attention against a float64 loop.
# The root is scripts/portable/sysroot.sh's (made on first use, then cached); the smoke program
# is compiled inside it by Debian 11's own GCC, with /proc mounted in a private mount namespace.
#
#   scripts/portable/smoke.sh [--harness] [FILE]
#       FILE: libhyperattn.so or a jar carrying one (default: the built jar)
#       --harness: then also the whole native test harness of the portable build
#                  (target/native-portable/tests/native/ha_native_tests, about a minute) against
#                  that library, inside the root; only its closing line is printed unless it fails
# Needs root (chroot, mount).
set -euo pipefail
cd "$(dirname "$0")/../.."

harness=
if [ "${1:-}" = --harness ]; then
    harness=target/native-portable/tests/native/ha_native_tests
    [ -x "$harness" ] || { echo "smoke.sh: no $harness (HA_PORTABLE=1 ./hyperattn build)" >&2; exit 2; }
    shift
fi
file=${1:-java/target/hyperattn-0.1.0-SNAPSHOT.jar}
[ -f "$file" ] || { echo "smoke.sh: no such file: $file" >&2; exit 2; }
root=$(scripts/portable/sysroot.sh)

work="$root/tmp/hyperattn-smoke"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
if [[ "$file" == *.jar ]]; then
    unzip -p "$file" native/linux-x86_64/libhyperattn.so >"$work/libhyperattn.so" 2>/dev/null \
        || python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("native/linux-x86_64/libhyperattn.so"))' "$file" >"$work/libhyperattn.so"
else
    cp "$file" "$work/libhyperattn.so"
fi
cp cpp/include/hyperattn.h tests/portable/smoke.c "$work/"
[ -z "$harness" ] || cp "$harness" "$work/"

unshare --mount --propagation private -- sh -c '
    mount -t proc proc "$1/proc" &&
    exec chroot "$1" /bin/sh -c "
        set -e
        echo \"Debian \$(cat /etc/debian_version), \$(ldd --version | head -n 1)\"
        cd /tmp/hyperattn-smoke
        gcc -std=gnu11 -O1 -Wall -I. smoke.c -ldl -lm -o smoke
        ./smoke ./libhyperattn.so
        if [ -x ha_native_tests ]; then
            echo \"native harness in Debian 11:\"
            HA_TEST_JOBS=\$(nproc) LD_LIBRARY_PATH=. ./ha_native_tests >harness.log 2>&1 || { grep -A2 ^FAIL harness.log | head -n 80; tail -n 5 harness.log; exit 1; }
            tail -n 1 harness.log
        fi"
' sh "$root"
