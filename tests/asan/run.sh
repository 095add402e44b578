#!/usr/bin/env bash
# The arena-close race of PolicyAndLifetimeTest in a JVM whose native side runs under
# AddressSanitizer: the library built by fuzz/run.sh (ASan + UBSan), the ASan runtime preloaded.
#  1. StaleAddress (negative control): arena memory freed by close() and then read by the library
#     through an untracked raw address, as every call did before ABI 5, must be reported
#     (heap-use-after-free) -- this shows ASan sees the JVM's arena memory at all;
#  2. CloseDuringCall: rounds of a shared arena closed by one thread while another runs exact
#     attention on it; close() must be refused while the call runs, with no ASan report.
# Needs java/target/classes (the library module, built by ./hyperattn test or build) and
# target/fuzz/build/libhyperattn.so (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
java_home=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-2[2-9]* /usr/lib/jvm/*-2[2-9]* 2>/dev/null | head -n 1)}
lib=$PWD/target/fuzz/build/libhyperattn.so
asan=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
out=target/asan-java
mkdir -p "$out"
"$java_home/bin/javac" --release 22 -cp java/target/classes -d "$out" tests/asan/CloseDuringCall.java tests/asan/StaleAddress.java
run() {
    LD_PRELOAD=$asan ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:use_sigaltstack=0:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1 "$java_home/bin/java" --enable-native-access=ALL-UNNAMED \
        -Dhyperattn.library.path="$lib" -cp "java/target/classes:$out" "$@"
}
if run StaleAddress >"$out/stale.log" 2>&1 || ! grep -q "heap-use-after-free" "$out/stale.log"; then
    echo "tests/asan: the negative control was not reported; ASan cannot judge the race here" >&2
    tail -n 20 "$out/stale.log" >&2
    exit 1
fi
echo "tests/asan: negative control reported (heap-use-after-free on a stale raw address)"
run CloseDuringCall "${ROUNDS:-20}"
