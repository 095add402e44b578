package dev.hyperattn.bench;

import dev.hyperattn.Attention;
import dev.hyperattn.DType;
import dev.hyperattn.ExactAttention;
import dev.hyperattn.Hyperattn;
import dev.hyperattn.ffi.hyperattn_h;
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
 * (a) The per-call cost of the Java API on a trivial problem: exact attention of shape
 * 1x1x1x8 (one query, one key, d = 8), float32; {@code threads} is the library's thread count
 * (0: its default, every core; 1: the calling thread alone).
 * {@code exact} is the README's call, {@code Attention.exact().run(q, k, v, out)} (a new
 * builder per call); {@code exactReusedBuilder} keeps the builder; {@code downcallOnly} is a bare
 * FFM downcall to {@code ha_abi_version} (no arguments, no checks), the floor under both;
 * {@code javaVector} is the baseline loop on the same segments.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class CallOverheadBenchmark {

    @Param({"0", "1"})
    public int threads;

    private Problem p;
    private ExactAttention builder;

    @Setup(Level.Trial)
    public void setup() {
        Hyperattn.setNumThreads(threads);
        p = new Problem(DType.F32, 1, 1, 1, 1, 8, false, 11);
        p.checkAgreement();
        builder = Attention.exact();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        p.close();
    }

    @Benchmark
    public void exact() {
        Attention.exact().run(p.q, p.k, p.v, p.out);
    }

    @Benchmark
    public void exactReusedBuilder() {
        builder.run(p.q, p.k, p.v, p.out);
    }

    @Benchmark
    public int downcallOnly() {
        return hyperattn_h.ha_abi_version();
    }

    @Benchmark
    public void javaVector() {
        p.runJava();
    }
}
