#!/usr/bin/env bash
# Builds hyperattn, then this comparison, then runs it once under the shared bench lock.
# Extra arguments go to the Java program (e.g. --runs 5, --cases decode-f32, --skip ort).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
lock=/tmp/ha-bench.lock

if [[ -z "${JAVA_HOME:-}" ]]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    if [[ -x "$j/bin/java" ]] && "$j/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then
      JAVA_HOME="$j"; break
    fi
  done
fi
export JAVA_HOME
java="$JAVA_HOME/bin/java"

# The comparison depends on the installed snapshot, so install the current tree first.
(cd "$root" && mvn -q -B -DskipTests install)
(cd "$here" && mvn -q -B package dependency:build-classpath -Dmdep.outputFile=target/cp.txt)

# The peaks come from the native bench (its FMA loop, and its vdpbf16ps loop where bf16 runs on
# one, on 2 threads like every row below); --no-prefill --no-decode stops it right after the
# peak and memory bandwidth lines.
peak_args=()
bench="$root/target/native/bench/ha_bench"
if [[ -x "$bench" ]]; then
  peak_out="$(flock "$lock" "$bench" --threads 2 --no-prefill --no-decode)"
  echo "$peak_out" | grep -E 'peak|bandwidth'
  peak="$(echo "$peak_out" | sed -nE 's/^fp32 peak .* ([0-9.]+) GFLOP\/s on 2 threads.*/\1/p')"
  peak_bf16="$(echo "$peak_out" | sed -nE 's/^bf16 peak .* ([0-9.]+) GFLOP\/s on 2 threads.*/\1/p')"
  [[ -n "$peak" ]] && peak_args=(--peak "$peak")
  [[ -n "$peak_bf16" ]] && peak_args+=(--peak-bf16 "$peak_bf16")
else
  echo "warning: $bench not built; no peak line" >&2
fi

cp="$here/target/classes:$(cat "$here/target/cp.txt")"
exec flock "$lock" "$java" --enable-native-access=ALL-UNNAMED -Xmx8g -cp "$cp" \
  dev.hyperattn.compare.Compare "${peak_args[@]}" "$@"
