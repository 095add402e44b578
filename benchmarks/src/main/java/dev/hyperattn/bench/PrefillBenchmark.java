package dev.hyperattn.bench;

import dev.hyperattn.DType;
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
import org.openjdk.jmh.infra.Control;

/**
 * (b) Prefill throughput: causal exact attention over 2048 tokens, 8 query heads / 2 kv heads,
 * d = 128, batch 1, float32 and bfloat16. With {@code -t 1} the result to read is the secondary
 * {@code gflop} (GFLOP/s by the README's count: 4·n²·d·heads, halved for causal: 8.59 GFLOP per
 * call at 2048 tokens); the primary is calls/s, which is the one to scale with {@code -t 2}
 * (see {@link Counters}).
 * {@code impl}: the library through the Java API on 1 or 2 of its own threads, or the
 * single-threaded {@link JavaAttention} baseline (which JMH's {@code -t 2} runs as two
 * independent prefills, one per thread).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class PrefillBenchmark {

    @Param({"F32", "BF16"})
    public String dtype;

    @Param({Problem.NATIVE_1T, Problem.NATIVE_2T, Problem.JAVA})
    public String impl;

    @Param({"2048"})
    public int tokens;

    private Problem p;
    private double gflopPerCall;

    @Setup(Level.Trial)
    public void setup() {
        Problem.configure(impl);
        p = new Problem(DType.valueOf(dtype), 8, 2, tokens, tokens, 128, true, 7);
        p.checkAgreement();
        gflopPerCall = p.flops() / 1e9;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        p.close();
    }

    @Benchmark
    public void prefill(Counters.Gflop c, Control control) {
        p.run(impl);
        c.add(control, gflopPerCall);
    }
}
