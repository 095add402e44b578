package dev.hyperattn.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 * (e) The machine's ceilings, measured by the same JVM and run as the rest, both in Java with
 * the Vector API ({@link FloatVector#SPECIES_PREFERRED}): {@code readBandwidth} sums a large
 * off-heap segment (256 MiB per thread, far beyond the caches) with four independent
 * accumulators, secondary {@code gbyte} = GB/s; {@code fmaPeak} runs twelve independent FMA
 * chains (enough to cover FMA latency × pipes, few enough to stay in the register file),
 * secondary {@code gflop} = GFLOP/s. Run with {@code -t 2} for both cores. The native
 * benchmark measures its own ceilings ({@code ./hyperattn bench}) with C++ intrinsics.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
public class CeilingBenchmark {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int FMA_ITERATIONS = 1 << 16;

    @State(Scope.Thread)
    public static class Buffer {
        @Param({"268435456"})
        public long bytes;

        Arena arena;
        MemorySegment segment;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofConfined();
            segment = arena.allocate(bytes, 64);  // zeroed, so every page is touched
            segment.fill((byte) 1);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @State(Scope.Thread)
    public static class FmaOperands {
        float multiplier = 0.9999999f;
        float addend = 1e-7f;
    }

    @Benchmark
    public float readBandwidth(Buffer b, Counters.Gbyte c) {
        MemorySegment s = b.segment;
        long vb = F.vectorByteSize();
        long end = s.byteSize() - 4 * vb;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        for (long off = 0; off <= end; off += 4 * vb) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, off, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, off + vb, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, off + 2 * vb, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, off + 3 * vb, LE));
        }
        c.gbyte += s.byteSize() / 1e9;
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    @Benchmark
    public float fmaPeak(FmaOperands o, Counters.Gflop c) {
        FloatVector m = FloatVector.broadcast(F, o.multiplier);
        FloatVector b = FloatVector.broadcast(F, o.addend);
        FloatVector a0 = FloatVector.broadcast(F, 0f);
        FloatVector a1 = FloatVector.broadcast(F, 1f);
        FloatVector a2 = FloatVector.broadcast(F, 2f);
        FloatVector a3 = FloatVector.broadcast(F, 3f);
        FloatVector a4 = FloatVector.broadcast(F, 4f);
        FloatVector a5 = FloatVector.broadcast(F, 5f);
        FloatVector a6 = FloatVector.broadcast(F, 6f);
        FloatVector a7 = FloatVector.broadcast(F, 7f);
        FloatVector a8 = FloatVector.broadcast(F, 8f);
        FloatVector a9 = FloatVector.broadcast(F, 9f);
        FloatVector a10 = FloatVector.broadcast(F, 10f);
        FloatVector a11 = FloatVector.broadcast(F, 11f);
        for (int i = 0; i < FMA_ITERATIONS; i++) {
            a0 = a0.fma(m, b);
            a1 = a1.fma(m, b);
            a2 = a2.fma(m, b);
            a3 = a3.fma(m, b);
            a4 = a4.fma(m, b);
            a5 = a5.fma(m, b);
            a6 = a6.fma(m, b);
            a7 = a7.fma(m, b);
            a8 = a8.fma(m, b);
            a9 = a9.fma(m, b);
            a10 = a10.fma(m, b);
            a11 = a11.fma(m, b);
        }
        c.gflop += (double) FMA_ITERATIONS * 12 * 2 * F.length() / 1e9;
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
                .add(a11).reduceLanes(VectorOperators.ADD);
    }
}
