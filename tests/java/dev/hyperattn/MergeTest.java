package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * The LSE merge: attention over keys [A; B] must equal merge(attention over A, attention over
 * B). A and B are zero-copy views of one key buffer, as a split-KV or chunked-prefill caller
 * would have them.
 */
class MergeTest {

    private enum Aliasing { SEPARATE, INTO_A, INTO_B, NO_LSE, RANK4_LSE }

    private static final long B = 2, H = 4, HKV = 2, NQ = 23, NA = 37, NB = 50, D = 64;

    /** Keys [A; B] as one [b,h,nk,d] buffer and the two seq-slices of it. */
    private record Split(Tensor k, Tensor v, Tensor kA, Tensor vA, Tensor kB, Tensor vB) {
    }

    private static Split split(Arena arena, DType dtype, SplittableRandom rnd) {
        Tensor k = Tensor.allocate(arena, dtype, B, HKV, NA + NB, D);
        Tensor v = Tensor.allocate(arena, dtype, B, HKV, NA + NB, D);
        TestData.fillUniform(k, rnd, 1);
        TestData.fillUniform(v, rnd, 1);
        return new Split(k, v, slice(k, 0, NA), slice(v, 0, NA), slice(k, NA, NB), slice(v, NA, NB));
    }

    private static Tensor slice(Tensor t, long start, long len) {
        long[] shape = t.shape();
        shape[2] = len;
        MemorySegment seg = t.segment().asSlice(start * t.stride(2) * t.dtype().byteSize());
        return Tensor.wrap(seg, t.dtype(), shape, t.strides());
    }

    @ParameterizedTest
    @EnumSource(Aliasing.class)
    void splitKeysMergeToFullAttention(Aliasing aliasing) {
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            long seed = TestData.nextSeed();
            String ctx = dtype + " " + aliasing + ", " + TestData.seedNote(seed);
            SplittableRandom rnd = new SplittableRandom(seed);
            try (Arena arena = Arena.ofConfined()) {
                Tensor q = Tensor.allocate(arena, dtype, B, H, NQ, D);
                TestData.fillUniform(q, rnd, 1);
                Split s = split(arena, dtype, rnd);
                Tensor outA = Tensor.allocate(arena, dtype, B, H, NQ, D);
                Tensor outB = Tensor.allocate(arena, dtype, B, H, NQ, D);
                Tensor lseA = Tensor.allocate(arena, DType.F32, B, H, NQ);
                Tensor lseB = Tensor.allocate(arena, DType.F32, B, H, NQ);
                Attention.exact().run(q, s.kA(), s.vA(), outA, lseA);
                Attention.exact().run(q, s.kB(), s.vB(), outB, lseB);

                Tensor out = switch (aliasing) {
                    case INTO_A -> outA;
                    case INTO_B -> outB;
                    default -> Tensor.allocate(arena, dtype, B, H, NQ, D);
                };
                Tensor lse = switch (aliasing) {
                    case INTO_A -> lseA;
                    case INTO_B -> lseB;
                    case NO_LSE -> null;
                    case RANK4_LSE -> Tensor.allocate(arena, DType.F32, B, H, NQ, 1);
                    default -> Tensor.allocate(arena, DType.F32, B, H, NQ);
                };
                if (out != outA && out != outB) {
                    TestData.poison(out);
                }
                if (lse != null && lse != lseA && lse != lseB) {
                    TestData.poison(lse);
                }
                Attention.merge(outA, lseA, outB, lseB, out, lse);

                ReferenceAttention.Result ref = ReferenceAttention.compute(q, s.k(), s.v(), false, 1 / Math.sqrt(D));
                // Merging adds one rounding of the output to the two partial results' errors.
                double atol = 2 * Tolerances.outAtol(dtype);
                Compare.assertClose("merged out", out.toFloatArray(), ref.out(), out.shape(), atol,
                        2 * Tolerances.outRtol(dtype), ctx);
                if (lse != null) {
                    Compare.assertClose("merged lse", lse.toFloatArray(), ref.lse(), lse.shape(),
                            Tolerances.lseAtol(dtype), Tolerances.lseRtol(dtype), ctx);
                }
            }
        }
    }

    /**
     * Chunked prefill: a cached prefix A seen by every query (non-causal) merged with the new
     * chunk B under a causal mask equals causal attention over [A; B], because the bottom-right
     * alignment of B's mask is the same as that of the full key range.
     */
    @Test
    void cachedPrefixPlusCausalChunkEqualsCausalAttention() {
        long seed = TestData.nextSeed();
        String ctx = TestData.seedNote(seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            long nq = 29; // <= NB, so every query sees all of A
            Tensor q = Tensor.allocate(arena, DType.F32, B, H, nq, D);
            TestData.fillUniform(q, rnd, 1);
            Split s = split(arena, DType.F32, rnd);
            Tensor outA = Tensor.allocate(arena, DType.F32, B, H, nq, D);
            Tensor outB = Tensor.allocate(arena, DType.F32, B, H, nq, D);
            Tensor lseA = Tensor.allocate(arena, DType.F32, B, H, nq);
            Tensor lseB = Tensor.allocate(arena, DType.F32, B, H, nq);
            Attention.exact().run(q, s.kA(), s.vA(), outA, lseA);
            Attention.exact().causal(true).run(q, s.kB(), s.vB(), outB, lseB);
            Attention.merge(outA, lseA, outB, lseB, outA, lseA);

            ReferenceAttention.Result ref = ReferenceAttention.compute(q, s.k(), s.v(), true, 1 / Math.sqrt(D));
            Compare.assertClose("out", outA.toFloatArray(), ref.out(), outA.shape(), 2 * Tolerances.outAtol(DType.F32),
                    2 * Tolerances.outRtol(DType.F32), ctx);
            Compare.assertClose("lse", lseA.toFloatArray(), ref.lse(), lseA.shape(), Tolerances.lseAtol(DType.F32),
                    Tolerances.lseRtol(DType.F32), ctx);
        }
    }

    /** Rows with no keys on one side take the other side; on both sides they stay empty. */
    @Test
    void emptyRowsMerge() {
        try (Arena arena = Arena.ofConfined()) {
            long n = 3, d = 4;
            Tensor outA = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
            Tensor outB = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
            Tensor lseA = Tensor.allocate(arena, DType.F32, 1, 1, n);
            Tensor lseB = Tensor.allocate(arena, DType.F32, 1, 1, n);
            float ninf = Float.NEGATIVE_INFINITY;
            float[] la = {ninf, ninf, 0.5f};
            float[] lb = {ninf, 1.25f, ninf};
            for (int i = 0; i < n; i++) {
                lseA.setFloat(la[i], 0, 0, i);
                lseB.setFloat(lb[i], 0, 0, i);
                for (int c = 0; c < d; c++) {
                    // A partial result with no keys is 0 by contract.
                    outA.setFloat(la[i] == ninf ? 0 : 1 + c, 0, 0, i, c);
                    outB.setFloat(lb[i] == ninf ? 0 : -1 - c, 0, 0, i, c);
                }
            }
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 1, n);
            TestData.poison(out);
            TestData.poison(lse);
            Attention.merge(outA, lseA, outB, lseB, out, lse);

            assertEquals(ninf, lse.getFloat(0, 0, 0));
            assertEquals(1.25f, lse.getFloat(0, 0, 1), 1e-6);
            assertEquals(0.5f, lse.getFloat(0, 0, 2), 1e-6);
            for (int c = 0; c < d; c++) {
                assertEquals(0f, out.getFloat(0, 0, 0, c), "both empty -> 0");
                assertEquals(-1 - c, out.getFloat(0, 0, 1, c), 1e-6, "only B");
                assertEquals(1 + c, out.getFloat(0, 0, 2, c), 1e-6, "only A");
            }
        }
    }
}
