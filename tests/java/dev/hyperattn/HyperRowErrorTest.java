package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * HyperAttention's per-row error estimates ({@code run(q, k, v, out, lse, rowError)}): honest
 * against a float64 reference, 0 on exact rows, free of side effects on out and lse, the same
 * bytes for any thread count, and the argument validated in Java.
 */
class HyperRowErrorTest {

    @AfterEach
    void restoreDefaults() {
        Hyperattn.setNumThreads(0);
    }

    /**
     * ||o^_i - o_i|| / sqrt(sum_j p_ij ||v_j||^2) of row i of head h (batch 0), in float64; K and V
     * are the kv tensors as row-major float arrays [1, Hkv, Nk, D].
     */
    private static double trueError(Tensor q, float[] k, float[] v, long hkv, long nk, Tensor out, int h, long i,
            boolean causal, double scale) {
        long nq = q.shape(2), d = q.shape(3);
        long hk = h / (q.shape(1) / hkv);
        long lim = causal ? Math.min(nk, Math.max(0, i + nk - nq + 1)) : nk;
        double[] qi = new double[(int) d];
        for (long c = 0; c < d; c++) {
            qi[(int) c] = q.getFloat(0, h, i, c);
        }
        int base = (int) (hk * nk * d);
        double[] s = new double[(int) lim];
        double mx = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < lim; j++) {
            double x = 0;
            for (int c = 0; c < d; c++) {
                x += qi[c] * k[base + j * (int) d + c];
            }
            s[j] = x * scale;
            mx = Math.max(mx, s[j]);
        }
        double z = 0, vv = 0;
        double[] acc = new double[(int) d];
        for (int j = 0; j < lim; j++) {
            double p = Math.exp(s[j] - mx);
            z += p;
            double n2 = 0;
            for (int c = 0; c < d; c++) {
                double x = v[base + j * (int) d + c];
                acc[c] += p * x;
                n2 += x * x;
            }
            vv += p * n2;
        }
        double e2 = 0;
        for (long c = 0; c < d; c++) {
            double e = out.getFloat(0, h, i, c) - acc[(int) c] / z;
            e2 += e * e;
        }
        return Math.sqrt(e2 / (vv / z));
    }

    /**
     * Gaussian q, k, v above minSeqLen, both masks: the true error exceeds twice the estimate on
     * at most 5% of 256 random rows, and the median estimate is at most 4x the median true error.
     */
    @Test
    void estimatesAreHonestOnGaussianInputs() {
        for (boolean causal : new boolean[] {false, true}) {
            long seed = TestData.nextSeed();
            String ctx = (causal ? "causal" : "non-causal") + ", " + TestData.seedNote(seed);
            SplittableRandom rnd = new SplittableRandom(seed);
            long n = 4096, d = 32;
            try (Arena arena = Arena.ofConfined()) {
                Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
                Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
                Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
                Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
                Tensor rowError = Tensor.allocate(arena, DType.F32, 1, 2, n, 1);
                StructuredData.gaussian(q, rnd, 1);
                StructuredData.gaussian(k, rnd, 1);
                StructuredData.gaussian(v, rnd, 1);
                HyperAttention op = Attention.hyper().causal(causal).minSeqLen(512).blockSize(128).sampleSize(128)
                        .seed(seed);
                TestData.poison(rowError);
                op.run(q, k, v, out, null, rowError);
                double scale = op.scaleFor(d);
                float[] ka = k.toFloatArray(), va = v.toFloatArray();
                int rows = 256, under = 0;
                double[] t = new double[rows], e = new double[rows];
                for (int r = 0; r < rows; r++) {
                    int h = r % 2;
                    long i = 512 + rnd.nextLong(n - 512);  // causal: past the first (exact) leaf
                    t[r] = trueError(q, ka, va, 1, n, out, h, i, causal, scale);
                    e[r] = rowError.getFloat(0, h, i, 0);
                    assertTrue(Double.isFinite(e[r]) && e[r] > 0, "row " + i + ": estimate " + e[r] + "; " + ctx);
                    if (t[r] > 2 * e[r] + 1e-5) {
                        under++;
                    }
                }
                Arrays.sort(t);
                Arrays.sort(e);
                String msg = String.format("true error > 2x estimate on %d of %d rows; median true %.3g, median "
                        + "estimate %.3g; %s", under, rows, t[rows / 2], e[rows / 2], ctx);
                System.out.println("HyperRowErrorTest " + msg);
                assertTrue(under * 20 <= rows, msg);
                assertTrue(e[rows / 2] <= 4 * t[rows / 2], msg);
            }
        }
    }

    /** At or below minSeqLen every row is exact: 0. out and lse do not change with rowError. */
    @Test
    void exactRowsReportZeroAndOutputsDoNotChange() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 300, 16);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 300, 16);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 300, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 300, 16);
            Tensor rowError = Tensor.allocate(arena, DType.F32, 1, 2, 300);  // [B, Hq, Nq] works too
            TestData.fillUniform(q, rnd, 1);
            TestData.fillUniform(k, rnd, 1);
            TestData.fillUniform(v, rnd, 1);
            TestData.poison(rowError);
            Attention.hyper().minSeqLen(300).run(q, k, v, out, null, rowError);
            for (float x : rowError.toFloatArray()) {
                assertEquals(0f, x, TestData.seedNote(seed));
            }
        }
    }

    @Test
    void bitIdenticalWhateverTheThreadCount() {
        long seed = TestData.nextSeed();
        String ctx = TestData.seedNote(seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            long n = 1500, d = 64;
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, n, d);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
            TestData.fillUniform(q, rnd, 1);
            TestData.fillUniform(k, rnd, 1);
            TestData.fillUniform(v, rnd, 1);
            Tensor out0 = Tensor.allocate(arena, DType.F32, 1, 4, n, d);
            Tensor lse0 = Tensor.allocate(arena, DType.F32, 1, 4, n);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 4, n, d);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 4, n);
            Tensor re1 = Tensor.allocate(arena, DType.F32, 1, 4, n, 1);
            Tensor re = Tensor.allocate(arena, DType.F32, 1, 4, n, 1);
            HyperAttention op = Attention.hyper().causal(true).minSeqLen(200).blockSize(64).sampleSize(64).seed(seed);
            Hyperattn.setNumThreads(1);
            op.run(q, k, v, out0, lse0);
            op.run(q, k, v, out, lse, re1);
            assertEquals(-1, out0.segment().mismatch(out.segment()), "out changes with rowError; " + ctx);
            assertEquals(-1, lse0.segment().mismatch(lse.segment()), "lse changes with rowError; " + ctx);
            float max = 0;
            for (float x : re1.toFloatArray()) {
                max = Math.max(max, x);
            }
            assertTrue(max > 0, "every estimate is 0; " + ctx);
            for (int threads : new int[] {2, 3}) {
                Hyperattn.setNumThreads(threads);
                TestData.poison(re);
                op.run(q, k, v, out, lse, re);
                assertEquals(-1, re1.segment().mismatch(re.segment()), threads + " threads, rowError; " + ctx);
                assertEquals(-1, out0.segment().mismatch(out.segment()), threads + " threads, out; " + ctx);
            }
        }
    }

    @Test
    void badRowErrorIsRejectedNamingIt() {
        try (Arena arena = Arena.ofConfined()) {
            long b = 1, hq = 4, hkv = 2, n = 16, d = 32;
            Tensor q = Tensor.allocate(arena, DType.F32, b, hq, n, d);
            Tensor k = Tensor.allocate(arena, DType.F32, b, hkv, n, d);
            Tensor v = Tensor.allocate(arena, DType.F32, b, hkv, n, d);
            Tensor out = Tensor.allocate(arena, DType.F32, b, hq, n, d);
            Tensor lse = Tensor.allocate(arena, DType.F32, b, hq, n);
            HyperAttention op = Attention.hyper();
            MemorySegment big = arena.allocate(4 * b * hq * n * 2, 64);
            Object[][] bad = {
                {"shape", Tensor.allocate(arena, DType.F32, b, hq, n + 1, 1), "rowError: shape"},
                {"trailing extent", Tensor.allocate(arena, DType.F32, b, hq, n, 2), "rowError: shape"},
                {"dtype", Tensor.allocate(arena, DType.BF16, b, hq, n, 1), "rowError: dtype BF16"},
                {"strided", Tensor.wrap(big, DType.F32, new long[] {b, hq, n, 1}, new long[] {2 * hq * n, 2 * n, 2, 1}),
                    "rowError: strides"},
                {"read-only", Tensor.wrap(big.asReadOnly(), DType.F32, b, hq, n, 1), "rowError: memory is read-only"},
                {"heap", Tensor.wrap(MemorySegment.ofArray(new float[(int) (b * hq * n)]), DType.F32, b, hq, n, 1),
                    "rowError: memory is a Java heap segment"},
                {"overlaps out", Tensor.wrap(out.segment(), DType.F32, b, hq, n, 1), "rowError: overlaps out"},
                {"overlaps lse", Tensor.wrap(lse.segment(), DType.F32, b, hq, n, 1), "rowError: overlaps lse"},
            };
            for (Object[] c : bad) {
                Tensor re = (Tensor) c[1];
                IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                        () -> op.run(q, k, v, out, lse, re), (String) c[0]);
                assertTrue(ex.getMessage().contains((String) c[2]),
                        c[0] + ": message '" + ex.getMessage() + "' should contain '" + c[2] + "'");
            }
            // Both optional outputs may be null.
            op.run(q, k, v, out, null, null);
        }
    }
}
