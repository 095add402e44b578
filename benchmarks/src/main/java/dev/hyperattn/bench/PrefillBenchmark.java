package dev.hyperattn.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * (b) Prefill throughput: causal exact attention over 2048 tokens, 8 query heads / 2 kv heads,
 * d = 128, batch 1, float32 and bfloat16 (float16 too with {@code -p dtype=F16}). The score is
 * in GFLOP/s although JMH labels it {@code ops/ms}: one call counts as {@value #MFLOP_PER_CALL}
 * operations of one MFLOP each (the README's count, 4·n²·d·heads halved for causal, is 8589.93
 * MFLOP; rounding costs 0.001%), and MFLOP per ms is GFLOP/s. JMH's own operation count stays
 * exact for any {@code -t}, where an auxiliary counter of long calls did not (see
 * {@link Counters}).
 * {@code impl}: the library through the Java API on 1 or 2 of its own threads, or the
 * single-threaded {@link JavaAttention} baseline (which JMH's {@code -t 2} runs as two
 * independent prefills, one per thread).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@OperationsPerInvocation(PrefillBenchmark.MFLOP_PER_CALL)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class PrefillBenchmark {

    static final int TOKENS = 2048;
    /** 2·2048²·128·8 FLOP = 8589.93 MFLOP, rounded. */
    static final int MFLOP_PER_CALL = 8590;

    @Param({"F32", "BF16"})
    public String dtype;

    @Param({Problem.NATIVE_1T, Problem.NATIVE_2T, Problem.JAVA})
    public String impl;

    private Problem p;

    @Setup(Level.Trial)
    public void setup() {
        Problem.configure(impl);
        p = new Problem(Problem.dtype(dtype), 8, 2, TOKENS, TOKENS, 128, true, 7);
        if (Math.abs(p.flops() / 1e6 - MFLOP_PER_CALL) > 1) {
            throw new AssertionError("MFLOP_PER_CALL is stale: " + p.flops() / 1e6);
        }
        p.checkAgreement();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        p.close();
    }

    @Benchmark
    public void prefill() {
        p.run(impl);
    }
}
