package dev.hyperattn.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * (c) Decode latency per token: one query row per head against a contiguous KV cache, 32 query
 * heads / 8 kv heads, d = 128, bfloat16 ({@code -p dtype=F16} or {@code F32} for the others),
 * caches of 4096 and 32768 tokens (K and V together: 16.8 MB and 134 MB). {@code impl} as in
 * {@link PrefillBenchmark}.
 *
 * <p>Paged KV ({@code KvCache}): {@link PagedDecodeBenchmark}, beside this class with the same
 * heads, d and cache sizes, so the two read side by side.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class DecodeBenchmark {

    @Param({"4096", "32768"})
    public int cache;

    @Param({Problem.NATIVE_1T, Problem.NATIVE_2T, Problem.JAVA})
    public String impl;

    @Param({"BF16"})
    public String dtype;

    private Problem p;

    @Setup(Level.Trial)
    public void setup() {
        Problem.configure(impl);
        p = new Problem(Problem.dtype(dtype), 32, 8, 1, cache, 128, true, 5);
        p.checkAgreement();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        p.close();
    }

    @Benchmark
    public void decodeToken() {
        p.run(impl);
    }
}
