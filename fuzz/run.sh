#!/usr/bin/env bash
# Builds the libFuzzer target over the C ABI (fuzz/fuzz_abi.cpp) with clang under
# AddressSanitizer + UBSan (the library instrumented for coverage too) and runs it for
# FUZZ_SECONDS (default 180; libFuzzer first runs every corpus input once, about 80 s here) from
# the committed seed corpus (fuzz/corpus, copied: the committed
# files are never rewritten). Prints libFuzzer's final statistics; exits non-zero on any crash,
# sanitizer report or violated invariant (the input is left in target/fuzz/artifacts).
#   FUZZ_SECONDS=600 fuzz/run.sh        # longer
#   FUZZ_JOBS=2 fuzz/run.sh             # parallel workers
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=target/fuzz
mkdir -p "$out"
seconds=${FUZZ_SECONDS:-180}
jobs=${FUZZ_JOBS:-1}
CXX=${FUZZ_CXX:-clang++}
CC=${FUZZ_CC:-clang}
command -v "$CXX" >/dev/null || { echo "fuzz/run.sh: $CXX not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# HA_CHECK_ISA_OBJECTS=OFF: the instrumentation keeps std helpers (std::min, std::function's
# destructor) out of line in the per-ISA objects, which the ODR check rightly rejects in a
# library that ships; this one only runs here, on a CPU with every path.
cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHA_CUDA=OFF -DHA_BUILD_TESTS=OFF \
      -DHA_BUILD_BENCH=OFF -DHA_CHECK_ISA_OBJECTS=OFF -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
      -DCMAKE_CXX_FLAGS="$san -fsanitize=fuzzer-no-link" -DCMAKE_SHARED_LINKER_FLAGS="$san" \
      >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
cmake --build "$out/build" -j "${FUZZ_BUILD_JOBS:-2}" --target hyperattn >>"$out/build.log" 2>&1 \
      || { tail -n 50 "$out/build.log"; exit 1; }
lib=$(find "$out/build" -name 'libhyperattn.so' | head -n 1)
libdir=$(dirname "$lib")
"$CXX" -std=c++17 -g -O1 $san -fsanitize=fuzzer -I cpp/include fuzz/fuzz_abi.cpp \
       -L "$libdir" -lhyperattn -Wl,-rpath,"$root/$libdir" -o "$out/fuzz_abi"

mkdir -p "$out/corpus" "$out/artifacts"
cp -n fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "fuzz/run.sh: fuzzing the C ABI for ${seconds}s (corpus $(ls "$out/corpus" | wc -l) inputs)"
parallel=()  # libFuzzer's -jobs writes per-job logs (fuzz-N.log) into the working directory
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
set +e
"$out/fuzz_abi" "$out/corpus" -max_total_time="$seconds" -max_len=4096 -timeout=60 \
    -rss_limit_mb=4096 -print_final_stats=1 ${parallel[@]+"${parallel[@]}"} \
    -artifact_prefix="$out/artifacts/" 2>&1 | tee "$out/fuzz.log" | grep -E '^#[0-9]+.*(INITED|DONE|pulse)|stat::|INVARIANT|ERROR|SUMMARY|runtime error' | tail -n 40
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "fuzz/run.sh: the fuzzer failed (status $status); see $out/fuzz.log and $out/artifacts" >&2
    exit "$status"
fi
