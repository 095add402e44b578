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
 * chains (enough to cover FMA latency × pipes, few enough to stay in the register file: 12 + 2
 * constants of AVX2's 16), secondary {@code gflop} = GFLOP/s. Run with {@code -t 2} for both
 * cores. The native benchmark measures its own ceilings ({@code ./hyperattn bench}) with C++
 * intrinsics.
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
        float x = 0.9999999f;
        float y = 1e-7f;
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

    // Each chain is the addend, a = x·y + a: the x86 FMA C2 emits (vfmadd231ps) overwrites its
    // addend, so a chain kept as a factor (a = a·x + y) costs a copy of y per FMA, and on AVX2
    // that copy's register pushed one chain onto the stack (92 of ~116 GFLOP/s on Zen 4).
    @Benchmark
    public float fmaPeak(FmaOperands o, Counters.Gflop c) {
        FloatVector x = FloatVector.broadcast(F, o.x);
        FloatVector y = FloatVector.broadcast(F, o.y);
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
            a0 = x.fma(y, a0);
            a1 = x.fma(y, a1);
            a2 = x.fma(y, a2);
            a3 = x.fma(y, a3);
            a4 = x.fma(y, a4);
            a5 = x.fma(y, a5);
            a6 = x.fma(y, a6);
            a7 = x.fma(y, a7);
            a8 = x.fma(y, a8);
            a9 = x.fma(y, a9);
            a10 = x.fma(y, a10);
            a11 = x.fma(y, a11);
        }
        c.gflop += (double) FMA_ITERATIONS * 12 * 2 * F.length() / 1e9;
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
                .add(a11).reduceLanes(VectorOperators.ADD);
    }
}
