package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * HyperAttention through the Java API against the float64 reference: exact where the algorithm
 * must be exact, deterministic for a seed, and accurate on structured inputs. Error bounds here
 * are deliberately loose: they catch a broken algorithm (wrong sort, padding in the softmax,
 * samples counted twice), not a percent of accuracy; the native benchmark measures accuracy.
 */
class HyperAttentionTest {

    @AfterEach
    void restoreDefaults() {
        Hyperattn.setNumThreads(0);
    }

    private record Problem(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
    }

    private static Problem problem(Arena arena, DType dtype, long b, long hq, long hkv, long nq, long nk, long d,
            boolean bshd, SplittableRandom rnd) {
        Tensor q = TestData.attentionOperand(arena, dtype, b, hq, nq, d, bshd);
        Tensor k = TestData.attentionOperand(arena, dtype, b, hkv, nk, d, bshd);
        Tensor v = TestData.attentionOperand(arena, dtype, b, hkv, nk, d, bshd);
        Tensor out = TestData.attentionOperand(arena, dtype, b, hq, nq, d, bshd);
        Tensor lse = Tensor.allocate(arena, DType.F32, b, hq, nq);
        TestData.fillUniform(q, rnd, 1);
        TestData.fillUniform(k, rnd, 1);
        TestData.fillUniform(v, rnd, 1);
        return new Problem(q, k, v, out, lse);
    }

    /** Runs {@code op} (poisoned outputs first) and asserts the exact reference within exact's tolerances. */
    private static void assertExact(String what, HyperAttention op, Problem p, boolean causal, String ctx) {
        DType dtype = p.q().dtype();
        ReferenceAttention.Result ref = ReferenceAttention.compute(p.q(), p.k(), p.v(), causal,
                op.scaleFor(p.q().shape(3)));
        TestData.poison(p.out());
        TestData.poison(p.lse());
        op.run(p.q(), p.k(), p.v(), p.out(), p.lse());
        Compare.assertClose(what + " out", p.out().toFloatArray(), ref.out(), p.out().shape(),
                Tolerances.outAtol(dtype), Tolerances.outRtol(dtype), ctx);
        Compare.assertClose(what + " lse", p.lse().toFloatArray(), ref.lse(), p.lse().shape(),
                Tolerances.lseAtol(dtype), Tolerances.lseRtol(dtype), ctx);
        TestData.poison(p.out());
        op.run(p.q(), p.k(), p.v(), p.out());
        Compare.assertClose(what + " out (no lse)", p.out().toFloatArray(), ref.out(), p.out().shape(),
                Tolerances.outAtol(dtype), Tolerances.outRtol(dtype), ctx);
    }

    @Test
    void exactAtOrBelowMinSeqLen() {
        record Case(DType dtype, long b, long hq, long hkv, long nq, long nk, long d, boolean causal, boolean bshd) {
        }
        Case[] cases = {
            new Case(DType.F32, 1, 4, 2, 100, 300, 64, false, false),
            new Case(DType.F32, 2, 3, 1, 77, 77, 80, true, false),
            new Case(DType.F32, 1, 2, 2, 130, 45, 128, true, true),
            new Case(DType.BF16, 1, 4, 1, 64, 200, 128, true, false),
            new Case(DType.BF16, 1, 2, 2, 33, 90, 64, false, true),
            new Case(DType.F16, 1, 4, 2, 64, 200, 128, true, false),
            new Case(DType.F16, 1, 2, 2, 33, 90, 64, false, true),
        };
        for (Case c : cases) {
            long seed = TestData.nextSeed();
            String ctx = c + ", " + TestData.seedNote(seed);
            try (Arena arena = Arena.ofConfined()) {
                Problem p = problem(arena, c.dtype(), c.b(), c.hq(), c.hkv(), c.nq(), c.nk(), c.d(), c.bshd(),
                        new SplittableRandom(seed));
                // Defaults (minSeqLen 4096), then minSeqLen exactly Nk, with parameters that
                // would make the approximation coarse if it were used.
                assertExact("defaults", Attention.hyper().causal(c.causal()), p, c.causal(), ctx);
                HyperAttention edge = Attention.hyper().causal(c.causal()).minSeqLen((int) c.nk()).blockSize(4)
                        .sampleSize(3).lshProjections(2).seed(seed);
                assertExact("minSeqLen = Nk", edge, p, c.causal(), ctx);
                assertExact("scale 0.2", Attention.hyper().causal(c.causal()).scale(0.2f), p, c.causal(), ctx);
            }
        }
    }

    /**
     * Non-causal with one block holding every query and key: the diagonal block is the whole
     * problem and every sample falls in it and is masked, so the result is exact. Sizes are not
     * multiples of anything, so a padded last block would show.
     */
    @Test
    void exactWhenTheBlockCoversEverything() {
        long[][] shapes = {{700, 700}, {333, 700}, {701, 257}};
        for (long[] s : shapes) {
            for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                long seed = TestData.nextSeed();
                String ctx = dtype + " Nq=" + s[0] + " Nk=" + s[1] + ", " + TestData.seedNote(seed);
                try (Arena arena = Arena.ofConfined()) {
                    Problem p = problem(arena, dtype, 1, 4, 2, s[0], s[1], 64, false, new SplittableRandom(seed));
                    HyperAttention op = Attention.hyper().minSeqLen(64).blockSize(1024).sampleSize(100).seed(seed);
                    assertExact("block >= n", op, p, false, ctx);
                }
            }
        }
    }

    /** Causal with Nk = 2·minSeqLen: the first half of the rows is an exact causal problem. */
    @Test
    void causalRowsOnTheExactDiagonalAreExact() {
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            long seed = TestData.nextSeed();
            String ctx = dtype + ", " + TestData.seedNote(seed);
            int minSeqLen = 256;
            long n = 2L * minSeqLen, d = 64, hq = 2;
            try (Arena arena = Arena.ofConfined()) {
                Problem p = problem(arena, dtype, 1, hq, 1, n, n, d, false, new SplittableRandom(seed));
                ReferenceAttention.Result ref = ReferenceAttention.compute(p.q(), p.k(), p.v(), true, 1 / Math.sqrt(d));
                TestData.poison(p.out());
                TestData.poison(p.lse());
                Attention.hyper().causal(true).minSeqLen(minSeqLen).blockSize(32).sampleSize(16).seed(seed)
                        .run(p.q(), p.k(), p.v(), p.out(), p.lse());
                float[] out = p.out().toFloatArray();
                float[] lse = p.lse().toFloatArray();
                for (int h = 0; h < hq; h++) {
                    for (int i = 0; i < n; i++) {
                        int row = (int) (h * n + i);
                        for (int c = 0; c < d; c++) {
                            float got = out[(int) (row * d + c)];
                            double want = ref.out()[(int) (row * d + c)];
                            if (i < minSeqLen) {
                                if (!(Math.abs(got - want) <= Tolerances.outAtol(dtype)
                                        + Tolerances.outRtol(dtype) * Math.abs(want))) {
                                    fail("row " + i + " of head " + h + " should be exact: out[" + c + "] = " + got
                                            + ", expected " + want + "; " + ctx);
                                }
                            } else if (!(Math.abs(got) <= 1 + 1e-2)) {
                                fail("row " + i + " of head " + h + ": out[" + c + "] = " + got
                                        + " is not a convex combination of values in [-1, 1]; " + ctx);
                            }
                        }
                        if (i < minSeqLen) {
                            double want = ref.lse()[row];
                            assertTrue(Math.abs(lse[row] - want) <= Tolerances.lseAtol(dtype)
                                    + Tolerances.lseRtol(dtype) * Math.abs(want),
                                    "lse of row " + i + ": " + lse[row] + " vs " + want + "; " + ctx);
                        } else {
                            assertTrue(Float.isFinite(lse[row]), "lse of row " + i + " is " + lse[row] + "; " + ctx);
                        }
                    }
                }
            }
        }
    }

    /**
     * The padding test: values in [1, 2], so every convex combination of value rows lies in
     * [1, 2], and a zero-padded key counted in a softmax, or a sample counted twice with a wrong
     * weight, pulls outputs out of that range. Sizes are not multiples of the block size.
     */
    @Test
    void outputsAreConvexCombinationsForRaggedSizes() {
        long[][] shapes = {{1000, 1000, 96, 50}, {777, 1001, 128, 33}, {1001, 999, 100, 300}};
        for (long[] s : shapes) {
            for (boolean causal : new boolean[] {false, true}) {
                long seed = TestData.nextSeed();
                String ctx = "Nq=" + s[0] + " Nk=" + s[1] + " block=" + s[2] + " samples=" + s[3]
                        + (causal ? " causal" : "") + ", " + TestData.seedNote(seed);
                SplittableRandom rnd = new SplittableRandom(seed);
                try (Arena arena = Arena.ofConfined()) {
                    Problem p = problem(arena, DType.F32, 1, 2, 1, s[0], s[1], 32, false, rnd);
                    float[] va = new float[(int) p.v().elementCount()];
                    for (int i = 0; i < va.length; i++) {
                        va[i] = (float) (1 + rnd.nextDouble());
                    }
                    p.v().copyFrom(va);
                    TestData.poison(p.out());
                    TestData.poison(p.lse());
                    Attention.hyper().causal(causal).minSeqLen(100).blockSize((int) s[2]).sampleSize((int) s[3])
                            .seed(seed).run(p.q(), p.k(), p.v(), p.out(), p.lse());
                    float[] out = p.out().toFloatArray();
                    long rowsWithKeys = 0;
                    for (int i = 0; i < out.length; i++) {
                        long qi = (i / 32) % s[0];
                        boolean seesKeys = !causal || qi + s[1] - s[0] >= 0;
                        if (seesKeys) {
                            rowsWithKeys++;
                            if (!(out[i] >= 1 - 1e-5 && out[i] <= 2 + 1e-5)) {
                                fail("out element " + i + " = " + out[i] + " outside [1, 2]; " + ctx);
                            }
                        } else if (out[i] != 0f) {
                            fail("row " + qi + " sees no key but out element " + i + " = " + out[i] + "; " + ctx);
                        }
                    }
                    assertTrue(rowsWithKeys > 0);
                    for (float l : p.lse().toFloatArray()) {
                        assertTrue(!Float.isNaN(l), "lse NaN; " + ctx);
                    }
                }
            }
        }
    }

    @Test
    void bitIdenticalForASeedWhateverTheThreadCount() {
        for (boolean causal : new boolean[] {false, true}) {
            long seed = TestData.nextSeed();
            String ctx = (causal ? "causal" : "non-causal") + ", " + TestData.seedNote(seed);
            try (Arena arena = Arena.ofConfined()) {
                Problem p = problem(arena, DType.F32, 1, 4, 2, 1500, 1500, 64, false, new SplittableRandom(seed));
                HyperAttention op = Attention.hyper().causal(causal).minSeqLen(200).blockSize(64).sampleSize(64)
                        .seed(seed);
                Tensor first = Tensor.allocate(arena, DType.F32, p.out().shape());
                Tensor firstLse = Tensor.allocate(arena, DType.F32, p.lse().shape());
                Hyperattn.setNumThreads(1);
                op.run(p.q(), p.k(), p.v(), first, firstLse);
                for (int threads : new int[] {2, 1, 3}) {
                    Hyperattn.setNumThreads(threads);
                    TestData.poison(p.out());
                    TestData.poison(p.lse());
                    op.run(p.q(), p.k(), p.v(), p.out(), p.lse());
                    assertEquals(-1, first.segment().mismatch(p.out().segment()), threads + " threads, out; " + ctx);
                    assertEquals(-1, firstLse.segment().mismatch(p.lse().segment()), threads + " threads, lse; " + ctx);
                }
                // The seed matters: another one samples and hashes differently.
                op.seed(seed + 1).run(p.q(), p.k(), p.v(), p.out(), p.lse());
                assertTrue(first.segment().mismatch(p.out().segment()) >= 0, "another seed, same result; " + ctx);
            }
        }
    }

    private static double relativeError(Arena arena, HyperAttention op, Tensor q, Tensor k, Tensor v, boolean causal) {
        Tensor exact = Tensor.allocate(arena, DType.F32, q.shape());
        Tensor approx = Tensor.allocate(arena, DType.F32, q.shape());
        Attention.exact().causal(causal).run(q, k, v, exact);
        TestData.poison(approx);
        op.causal(causal).run(q, k, v, approx);
        return StructuredData.relativeError(approx.toFloatArray(), exact.toFloatArray());
    }

    /**
     * On clustered keys with queries near the clusters, a few sinks, and values that go with the
     * keys, HyperAttention finds the heavy keys: its error is small, and well below that on
     * structureless Gaussian data (where the exact output is an average of unrelated values and
     * the sampled residual dominates).
     */
    @Test
    void structuredInputsAreApproximatedWell() {
        for (boolean causal : new boolean[] {false, true}) {
            long seed = TestData.nextSeed();
            String ctx = (causal ? "causal" : "non-causal") + ", " + TestData.seedNote(seed);
            SplittableRandom rnd = new SplittableRandom(seed);
            long n = 4096, d = 64;
            try (Arena arena = Arena.ofConfined()) {
                Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
                Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
                Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
                HyperAttention op = Attention.hyper().minSeqLen(512).seed(seed);
                StructuredData.clustered(q, k, v, rnd, 16, 6.0, 0.15, 4);
                double structured = relativeError(arena, op, q, k, v, causal);
                StructuredData.gaussian(q, rnd, 1);
                StructuredData.gaussian(k, rnd, 1);
                TestData.fillUniform(v, rnd, 1);
                double gaussian = relativeError(arena, op, q, k, v, causal);
                String msg = String.format("relative error: structured %.3e, gaussian %.3e; %s", structured, gaussian, ctx);
                System.out.println("HyperAttentionTest " + msg);
                assertTrue(structured < 0.15, msg);
                assertTrue(structured < 0.5 * gaussian, msg);
            }
        }
    }

    /** More samples and larger blocks make the error fall. */
    @Test
    void errorFallsAsBlocksAndSamplesGrow() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        long n = 2048, d = 64;
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
            StructuredData.gaussian(q, rnd, 1.5);
            StructuredData.gaussian(k, rnd, 1.5);
            TestData.fillUniform(v, rnd, 1);
            double small = 0, large = 0;
            for (int s = 0; s < 3; s++) {
                HyperAttention base = Attention.hyper().minSeqLen(128).seed(seed + s);
                small += relativeError(arena, base.blockSize(32).sampleSize(32), q, k, v, false);
                large += relativeError(arena, base.blockSize(512).sampleSize(512), q, k, v, false);
            }
            String msg = String.format("mean relative error: block/samples 32: %.3e, 512: %.3e; %s", small / 3,
                    large / 3, TestData.seedNote(seed));
            System.out.println("HyperAttentionTest " + msg);
            assertTrue(large < small, msg);
        }
    }
}
