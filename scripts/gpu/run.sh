#!/usr/bin/env bash
# One call on a GPU machine (CUDA toolkit, CMake, python3 with PyTorch; no Java, no network):
#
#   scripts/gpu/run.sh RESULTS_DIR
#
# 1. builds the library and the native harness with CMake for sm_90 (Release, HA_CUDA=ON);
# 2. runs the native harness (every CUDA case against the CPU backend or the float64
#    reference; windows and soft cap; batches of sequences, packed, padded and paged, bit for
#    bit against one call per sequence; none may be skipped);
# 3. benchmarks against PyTorch SDPA (scripts/gpu/bench_sdpa.py) and times the native calls;
# 4. runs every CUDA kernel path (windows, soft cap, batches of sequences included) under
#    compute-sanitizer (memcheck, racecheck, synccheck, initcheck) through
#    scripts/gpu/probe.cpp (reported "unavailable" where the sanitizer refuses the device).
# RESULTS_DIR receives at most 8 files: summary.md (statuses and the tables), run.log,
# build.log (with the ptxas register/spill report), native_tests.log, sanitizer.log,
# bench.md, bench.json, env.txt. Exit status 0 only if every step passed.
# Environment: HA_GPU_ARCH (default 90), HA_GPU_BUILD_DIR (default /tmp/hyperattn-gpu-build),
# HA_TEST_SEED (passed to the harness), HA_GPU_QUICK=1 (smaller benchmark), HA_GPU_TESTS (harness
# name filters, e.g. "cuda"; default every test), HA_GPU_SANITIZERS (default "memcheck racecheck
# synccheck initcheck"), HA_GPU_T_HARNESS / HA_GPU_T_SAN / HA_GPU_T_BENCH (step time limits in
# seconds, default 200 / 60 per tool / 200; with the build, about 10 minutes at worst; the first
# H200 run took 125 s in all).
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RESULTS_DIR" >&2; exit 2; }
mkdir -p "$1" && out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${HA_GPU_BUILD_DIR:-/tmp/hyperattn-gpu-build}
arch=${HA_GPU_ARCH:-90}
jobs=$(nproc 2>/dev/null || echo 4)
export PYTHONUNBUFFERED=1
exec > >(tee "$out/run.log") 2>&1
t_start=$(date +%s)
declare -A status
stamp() { echo "== [$(( $(date +%s) - t_start ))s] $*"; }

# ---- environment ---------------------------------------------------------------------------
{
    date -u
    nvidia-smi 2>&1 | head -20
    nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv 2>&1
    if command -v nvcc >/dev/null; then nvcc --version; else /usr/local/cuda/bin/nvcc --version; fi
    cmake --version | head -1
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
    git -C "$repo" log -1 --oneline 2>/dev/null
    git -C "$repo" status --short 2>/dev/null | head -40
} >"$out/env.txt" 2>&1
cat "$out/env.txt"

# ---- 1. build ------------------------------------------------------------------------------
stamp "build (sm_$arch, Release) in $build"
if cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHA_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="$arch" -DHA_CUDA_PTXAS_VERBOSE=ON -DHA_BUILD_BENCH=OFF \
        >"$out/build.log" 2>&1 &&
   cmake --build "$build" -j "$jobs" --target hyperattn ha_native_tests >>"$out/build.log" 2>&1; then
    status[build]=ok
else
    status[build]=FAILED
    tail -40 "$out/build.log"
fi
grep -E "Compiling entry function|registers|spill" "$out/build.log" |
    sed -E 's/ptxas info *: //' | paste - - - | sed -E 's/_ZN2ha4cuda[0-9A-Za-z_]*(fwd_kernel|decode_kernel|combine_kernel|merge_kernel)/\1/' |
    cut -c1-220 >"$build/ptxas_summary.txt" 2>/dev/null || true
cat "$build/ptxas_summary.txt" 2>/dev/null
lib="$build/libhyperattn.so"
[ -f "$lib" ] || { echo "no library built"; status[build]=FAILED; }

# ---- 2. native harness ---------------------------------------------------------------------
if [ "${status[build]}" = ok ]; then
    stamp "native harness"
    # shellcheck disable=SC2086  # HA_GPU_TESTS is a list of name filters
    timeout "${HA_GPU_T_HARNESS:-200}" "$build/tests/native/ha_native_tests" ${HA_GPU_TESTS:-} >"$out/native_tests.log" 2>&1
    rc=$?
    summary=$(tail -1 "$out/native_tests.log")
    # On a GPU machine no CUDA case may be skipped (only the two-device and no-device ones).
    cuda_skips=$(grep -E "^SKIP cuda" "$out/native_tests.log" | grep -v "needs two CUDA devices" | wc -l)
    echo "$summary; CUDA cases skipped: $cuda_skips"
    grep -E "^FAIL" -A1 "$out/native_tests.log" | head -60
    grep -E "device 0:" "$out/native_tests.log"
    if [ $rc -eq 0 ] && [ "$cuda_skips" -eq 0 ]; then status[harness]="ok ($summary)"; else status[harness]="FAILED rc=$rc ($summary; CUDA skips $cuda_skips)"; fi
else
    status[harness]="not run (build failed)"
fi

# ---- the probe (sanitizer workload and native timing) ----------------------------------------
probe="$build/probe"
probe_ok=0
if [ "${status[build]}" = ok ] &&
   c++ -O2 -std=c++17 -I"$repo/cpp/include" "$repo/scripts/gpu/probe.cpp" -L"$build" -lhyperattn \
       -Wl,-rpath,"$build" -o "$probe" >>"$out/build.log" 2>&1; then
    probe_ok=1
fi

# ---- 3. benchmarks -------------------------------------------------------------------------
if [ "${status[build]}" = ok ]; then
    stamp "PyTorch SDPA side by side"
    quick=(); [ "${HA_GPU_QUICK:-0}" = 1 ] && quick=(--quick)
    if timeout "${HA_GPU_T_BENCH:-200}" python3 "$repo/scripts/gpu/bench_sdpa.py" "$lib" "$out" "${quick[@]}"; then
        status[bench]=ok
    else
        status[bench]="FAILED (exit $?)"
    fi
    stamp "native timing"
    if [ $probe_ok -eq 1 ]; then native_table=$(timeout 120 "$probe" bench 2>&1); else native_table="probe did not build"; false; fi
    rc=$?
    echo "$native_table"
    if [ $rc -eq 0 ]; then status[native_bench]=ok; else status[native_bench]="FAILED (exit $rc)"; fi
else
    status[bench]="not run"; status[native_bench]="not run"; native_table=""
fi

# ---- 4. compute-sanitizer (last: the slowest step, and the one some machines refuse) --------
if [ $probe_ok -eq 1 ]; then
    sanitizer=$(command -v compute-sanitizer)
    for cand in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
        [ -z "$sanitizer" ] && [ -x "$cand" ] && sanitizer=$cand
    done
    : >"$out/sanitizer.log"
    san_ok=1
    [ -n "$sanitizer" ] || { echo "compute-sanitizer not found" | tee "$out/sanitizer.log"; san_ok=0; }
    for tool in ${HA_GPU_SANITIZERS:-memcheck racecheck synccheck initcheck}; do
        [ -n "$sanitizer" ] || break
        stamp "compute-sanitizer --tool $tool"
        { echo "==== $tool"; timeout "${HA_GPU_T_SAN:-60}" "$sanitizer" --tool "$tool" --error-exitcode 9 "$probe" sanitize; echo "exit $?"; } \
            >>"$out/sanitizer.log" 2>&1
        last=$(tail -1 "$out/sanitizer.log")
        errs=$(awk -v t="==== $tool" '$0==t{on=1;next} /^==== /{on=0} on' "$out/sanitizer.log" | grep -E "ERROR SUMMARY|Hazard|Error" | head -5)
        echo "$tool: $last ${errs:+| $errs}"
        # A machine whose driver the sanitizer does not support (seen: gVisor) refuses the
        # device before any kernel runs: that is "unavailable", not a failure of the kernels.
        if awk -v t="==== $tool" '$0==t{on=1;next} /^==== /{on=0} on' "$out/sanitizer.log" |
           grep -q "Device not supported"; then
            san_ok=2
            break
        fi
        [ "$last" = "exit 0" ] || san_ok=0
    done
    case $san_ok in
        1) status[sanitizer]=ok ;;
        2) status[sanitizer]="unavailable (compute-sanitizer: Device not supported)" ;;
        *) status[sanitizer]=FAILED ;;
    esac
else
    status[sanitizer]="not run"
fi

# ---- summary -------------------------------------------------------------------------------
{
    echo "# scripts/gpu/run.sh on $(python3 -c 'import torch; print(torch.cuda.get_device_name(0))' 2>/dev/null)"
    echo
    echo "| step | status |"
    echo "|---|---|"
    for step in build harness sanitizer bench native_bench; do echo "| $step | ${status[$step]} |"; done
    echo
    echo "Total $(( $(date +%s) - t_start )) s. Registers/spills (ptxas, sm_$arch):"
    echo '```'
    cat "$build/ptxas_summary.txt" 2>/dev/null
    echo '```'
    echo
    [ -f "$out/bench.md" ] && sed -n '/^| forward/,/^Targets/p' "$out/bench.md"
    echo
    echo "$native_table"
} >"$out/summary.md"
stamp "done"
cat "$out/summary.md"
for step in build harness sanitizer bench native_bench; do
    case "${status[$step]}" in ok*|unavailable*) ;; *) exit 1 ;; esac
done
exit 0
