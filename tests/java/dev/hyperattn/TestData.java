package dev.hyperattn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Random inputs and poisoned outputs for the tests. Every run draws fresh data; the seed goes
 * into every failure message, and -Dhyperattn.test.seed=N replays a run.
 */
final class TestData {

    private static final long BASE_SEED = Long.getLong("hyperattn.test.seed", System.nanoTime());
    private static final AtomicLong COUNTER = new AtomicLong();

    private TestData() {
    }

    /** A fresh seed, reproducible from the base seed printed with it. */
    static long nextSeed() {
        return BASE_SEED + 0x9E3779B97F4A7C15L * COUNTER.incrementAndGet();
    }

    static String seedNote(long seed) {
        return "seed " + seed + " (base -Dhyperattn.test.seed=" + BASE_SEED + ")";
    }

    /** Uniform values in [-amplitude, amplitude] in every addressed element. */
    static void fillUniform(Tensor t, SplittableRandom rnd, double amplitude) {
        float[] values = new float[(int) t.elementCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((rnd.nextDouble() * 2 - 1) * amplitude);
        }
        t.copyFrom(values);
    }

    /** Contiguous query, key and value tensors of one attention call. */
    record Qkv(Tensor q, Tensor k, Tensor v) {
    }

    /** q [b, hq, nq, d], k and v [b, hkv, nk, d], uniform in [-1, 1], drawn in that order. */
    static Qkv randomQkv(Arena arena, DType dtype, long b, long hq, long hkv, long nq, long nk, long d,
            SplittableRandom rnd) {
        Tensor q = Tensor.allocate(arena, dtype, b, hq, nq, d);
        Tensor k = Tensor.allocate(arena, dtype, b, hkv, nk, d);
        Tensor v = Tensor.allocate(arena, dtype, b, hkv, nk, d);
        fillUniform(q, rnd, 1);
        fillUniform(k, rnd, 1);
        fillUniform(v, rnd, 1);
        return new Qkv(q, k, v);
    }

    /** NaN in every element, so anything the library fails to write shows up in comparisons. */
    static void poison(Tensor t) {
        t.fill(Float.NaN);
    }

    /**
     * A rank-4 [b, h, s, d] tensor whose memory is laid out as [b, s, h, d] when {@code bshd},
     * so the library must honour the strides.
     */
    static Tensor attentionOperand(Arena arena, DType dtype, long b, long h, long s, long d, boolean bshd) {
        if (!bshd) {
            return Tensor.allocate(arena, dtype, b, h, s, d);
        }
        MemorySegment seg = arena.allocate(b * s * h * d * dtype.byteSize(), Tensor.ALIGNMENT);
        return Tensor.wrap(seg, dtype, new long[] {b, h, s, d}, new long[] {s * h * d, d, h * d, 1});
    }
}
