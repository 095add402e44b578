#!/usr/bin/env bash
# Fails when the shipped library needs a newer glibc (or C++ runtime) than Ubuntu 18.04 has, i.e.
# when it would not load on glibc 2.27 systems (and so on RHEL 8, Debian 10). It is built
# against Debian 11 (glibc 2.31); the four libm symbols that Debian 11 versions 2.29 are bound
# to their old versions (cpp/src/glibc_compat.cpp).
#
#   scripts/check-glibc.sh [FILE]   FILE: a libhyperattn.so, or a jar carrying one at
#                                   native/linux-x86_64/ (default: the built jar)
#
# Reads the version needs (.gnu.version_r) and NEEDED entries of the library:
#  - highest GLIBC_* <= 2.27 (HA_MAX_GLIBC);
#  - libstdc++ and libgcc are linked statically, so no GLIBCXX_/CXXABI_/GCC_ need at all; were
#    they dynamic, the limits would be Debian 11's (GLIBCXX_3.4.28, CXXABI_1.3.12, GCC_7.0.0);
#  - NEEDED only glibc's own libraries (a libcudart.so or libstdc++.so.6 dependency would break
#    loading on machines without one);
#  - no exported symbol but the C ABI's ha_* (cpp/exports.map).
# Prints the highest version of each family; on failure also the symbols that ask for more.
set -euo pipefail
cd "$(dirname "$0")/.."

file=${1:-java/target/hyperattn-0.1.0-SNAPSHOT.jar}
max_glibc=${HA_MAX_GLIBC:-2.27}
max_glibcxx=3.4.28 max_cxxabi=1.3.12 max_gcc=7.0.0
allowed_needed="libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1"

[ -f "$file" ] || { echo "check-glibc: no such file: $file" >&2; exit 2; }
so=$file
if [[ "$file" == *.jar ]]; then
    so=$(mktemp)
    trap 'rm -f "$so"' EXIT
    unzip -p "$file" native/linux-x86_64/libhyperattn.so >"$so" 2>/dev/null \
        || python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("native/linux-x86_64/libhyperattn.so"))' "$file" >"$so"
fi

# "FAMILY VERSION" for every version the library needs, e.g. "GLIBC 2.29".
needs=$(LC_ALL=C readelf --version-info --wide "$so" \
        | sed -n '/\.gnu\.version_r/,$ s/.*Name: \([A-Z]*\)_\([0-9.]*\) .*/\1 \2/p' | sort -u)
needed=$(LC_ALL=C readelf --dynamic --wide "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

highest() { awk -v f="$1" '$1 == f { print $2 }' <<<"$needs" | sort -V | tail -n 1; }
above() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" != "$2" ]; }

fail=0
echo "check-glibc: $file"
for fam in GLIBC GLIBCXX CXXABI GCC; do
    v=$(highest $fam)
    case $fam in
        GLIBC) lim=$max_glibc ;; GLIBCXX) lim=$max_glibcxx ;; CXXABI) lim=$max_cxxabi ;; GCC) lim=$max_gcc ;;
    esac
    echo "  highest ${fam}_ needed: ${v:-none} (limit $lim)"
    if above "$v" "$lim"; then
        fail=1
        echo "  FAIL: symbols needing ${fam}_ above $lim:"
        LC_ALL=C objdump -T "$so" | awk -v f="$fam" -v lim="$lim" '
            $0 ~ "\\(" f "_" { match($0, "\\(" f "_[0-9.]+\\)"); v = substr($0, RSTART + length(f) + 2, RLENGTH - length(f) - 3);
                               print v, $NF }' \
            | while read -r v sym; do above "$v" "$lim" && echo "    ${fam}_$v $sym"; done | sort -V -u
    fi
done
# Exports: the C ABI only (cpp/exports.map). Anything else, such as a weak std::vector
# instantiation, could be interposed by another C++ object in the process.
exports=$(LC_ALL=C nm -D --defined-only "$so" | awk '{ print $NF }' | grep -v '^ha_' || true)
echo "  exported symbols: $(LC_ALL=C nm -D --defined-only "$so" | grep -c ' ha_') ha_*, $(echo -n "$exports" | grep -c . || true) other"
if [ -n "$exports" ]; then
    fail=1
    echo "  FAIL: exports beyond the C ABI (cpp/exports.map): $(echo $exports | cut -c1-300)"
fi
extra=$(for n in $needed; do [[ " $allowed_needed " == *" $n "* ]] || echo "$n"; done)
echo "  NEEDED: $(echo $needed)"
if [ -n "$extra" ]; then
    fail=1
    echo "  FAIL: needs libraries outside glibc: $(echo $extra)"
fi
if [ $fail = 0 ]; then
    echo "check-glibc: OK, loads on glibc >= $max_glibc"
else
    echo "check-glibc: FAILED (build the shipped library with -Pportable / HA_PORTABLE=1)"
fi
exit $fail
