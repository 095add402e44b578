package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The key index, half-space reporting and HSR attention through the Java API, against brute
 * force and float64 references.
 */
class HsrTest {

    // ---- reporting ---------------------------------------------------------------------------

    /** Brute-force report: per row, ascending key positions with q·k >= threshold (in float64). */
    private static List<int[]> bruteForce(Tensor k, Tensor q, double threshold) {
        int b = (int) q.shape(0), hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        int hkv = (int) k.shape(1), nk = (int) k.shape(2);
        float[] qa = q.toFloatArray(), ka = k.toFloatArray();
        List<int[]> rows = new ArrayList<>();
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < hq; h++) {
                int kh = h / (hq / hkv);
                for (int i = 0; i < nq; i++) {
                    int qOff = ((bi * hq + h) * nq + i) * d;
                    int[] hits = new int[nk];
                    int count = 0;
                    for (int j = 0; j < nk; j++) {
                        int kOff = ((bi * hkv + kh) * nk + j) * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) qa[qOff + c] * ka[kOff + c];
                        }
                        if (dot >= threshold) {
                            hits[count++] = j;
                        }
                    }
                    rows.add(java.util.Arrays.copyOf(hits, count));
                }
            }
        }
        return rows;
    }

    private static void assertReportEquals(List<int[]> expected, HalfSpaceReport r, String ctx) {
        assertEquals(expected.size(), r.rows(), "rows; " + ctx);
        long total = 0;
        for (int row = 0; row < expected.size(); row++) {
            int[] want = expected.get(row);
            int[] got = r.indices(row);
            if (!java.util.Arrays.equals(want, got)) {
                fail("row " + row + ": reported " + java.util.Arrays.toString(got) + ", brute force "
                        + java.util.Arrays.toString(want) + "; " + ctx);
            }
            assertEquals(want.length, r.count(row), "count of row " + row + "; " + ctx);
            assertEquals(total, r.offset(row));
            total += want.length;
        }
        assertEquals(total, r.total(), ctx);
    }

    /**
     * Small integers (times a power of two) make every dot product exact in float and double
     * whatever the summation order, so ties at the threshold are real ties and the reported set
     * must equal brute force exactly. Each case mixes in duplicate keys, zero keys, huge and tiny
     * scales, thresholds equal to an attained dot product, and GQA.
     */
    @Test
    void reportEqualsBruteForceIncludingTies() {
        long baseSeed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(baseSeed);
        int[] dims = {1, 3, 8, 16, 64, 128};
        int[] scales = {-60, -20, 0, 0, 0, 30, 55};
        int cases = 400;
        for (int c = 0; c < cases; c++) {
            DType dtype = rnd.nextInt(3) == 0 ? DType.BF16 : DType.F32;
            long b = 1 + rnd.nextInt(2), hkv = 1 + rnd.nextInt(2), hq = hkv * (1 + rnd.nextInt(3));
            long nk = 1 + rnd.nextInt(rnd.nextBoolean() ? 40 : 400), nq = 1 + rnd.nextInt(5);
            long d = dims[rnd.nextInt(dims.length)];
            int sk = scales[rnd.nextInt(scales.length)], sq = scales[rnd.nextInt(scales.length)] / 2;
            String ctx = "case " + c + ": " + dtype + " B=" + b + " Hq=" + hq + " Hkv=" + hkv + " Nq=" + nq + " Nk="
                    + nk + " D=" + d + " scales 2^" + sq + "/2^" + sk + ", " + TestData.seedNote(baseSeed);
            try (Arena arena = Arena.ofConfined()) {
                Tensor k = Tensor.allocate(arena, dtype, b, hkv, nk, d);
                Tensor q = Tensor.allocate(arena, dtype, b, hq, nq, d);
                float[] ka = new float[(int) k.elementCount()];
                int range = 1 + rnd.nextInt(3);
                for (int i = 0; i < ka.length; i++) {
                    ka[i] = Math.scalb((float) (rnd.nextInt(2 * range + 1) - range), sk);
                }
                // Duplicates and zero vectors.
                for (int j = 0; j < nk / 5; j++) {
                    int from = rnd.nextInt((int) (b * hkv * nk)), to = rnd.nextInt((int) (b * hkv * nk));
                    System.arraycopy(ka, (int) (from * d), ka, (int) (to * d), (int) d);
                    if (rnd.nextInt(3) == 0) {
                        java.util.Arrays.fill(ka, (int) (to * d), (int) (to * d + d), 0f);
                    }
                }
                k.copyFrom(ka);
                float[] qa = new float[(int) q.elementCount()];
                for (int i = 0; i < qa.length; i++) {
                    qa[i] = Math.scalb((float) (rnd.nextInt(7) - 3), sq);
                }
                q.copyFrom(qa);
                // A threshold attained by some (query, key) pair, or 0, or an off-grid value.
                double unit = Math.scalb(1.0, sk + sq);
                float threshold = switch (rnd.nextInt(4)) {
                    case 0 -> 0f;
                    case 1 -> (float) (unit * (rnd.nextInt(9) - 2) + unit / 2);
                    default -> {
                        int row = rnd.nextInt((int) (b * hq * nq));
                        int j = rnd.nextInt((int) nk);
                        int kh = (int) ((row / nq) % hq / (hq / hkv));
                        int bi = (int) (row / (nq * hq));
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            dot += (double) qa[(int) (row * d + e)] * ka[(int) (((bi * hkv + kh) * nk + j) * d + e)];
                        }
                        yield (float) dot;
                    }
                };
                List<int[]> want = bruteForce(k, q, threshold);
                String tctx = ctx + " threshold " + threshold;
                if (rnd.nextInt(4) == 0) {
                    assertReportEquals(want, HalfSpaceReport.of(k, q, threshold), "no index, " + tctx);
                } else {
                    KeyIndex.Options options = KeyIndex.Options.DEFAULTS
                            .withBlockSize(new int[] {8, 16, 64, 1024}[rnd.nextInt(4)])
                            .withKmeansIterations(rnd.nextInt(3) == 0 ? 0 : 4).withSeed(rnd.nextLong());
                    try (KeyIndex index = KeyIndex.build(k, rnd.nextBoolean() ? null : k, options)) {
                        assertReportEquals(want, index.report(q, threshold), options + ", " + tctx);
                    }
                }
            }
        }
    }

    /**
     * Real-valued data: every key clearly above the threshold is reported and every key clearly
     * below is not; keys within float rounding of it may go either way.
     */
    @Test
    void reportOnRealValuedDataHasFullRecall() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            long nk = 5000, d = 64;
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 2, nk, d);
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, 3, d);
            StructuredData.clustered(q, k, rnd, 20, 3, 0.3, 3);
            try (KeyIndex index = KeyIndex.build(k)) {
                for (float threshold : new float[] {-5f, 0f, 2f, 6f, 9f, 1e6f}) {
                    HalfSpaceReport r = index.report(q, threshold);
                    float[] qa = q.toFloatArray(), ka = k.toFloatArray();
                    for (int row = 0; row < r.rows(); row++) {
                        int h = row / 3, kh = h / 2;
                        java.util.Set<Integer> got = new java.util.HashSet<>();
                        int prev = -1;
                        for (int j : r.indices(row)) {
                            assertTrue(j > prev && j < nk, "ascending and in range");
                            prev = j;
                            got.add(j);
                        }
                        for (int j = 0; j < nk; j++) {
                            double dot = 0, mag = 0;
                            for (int c = 0; c < d; c++) {
                                double p = (double) qa[(int) (row * d + c)] * ka[(int) ((kh * nk + j) * d + c)];
                                dot += p;
                                mag += Math.abs(p);
                            }
                            double margin = 1e-5 * mag;
                            if (dot >= threshold + margin && !got.contains(j)) {
                                fail("key " + j + " with q·k = " + dot + " >= " + threshold + " not reported for row "
                                        + row + "; " + TestData.seedNote(seed));
                            }
                            if (dot < threshold - margin && got.contains(j)) {
                                fail("key " + j + " with q·k = " + dot + " < " + threshold + " reported for row " + row
                                        + "; " + TestData.seedNote(seed));
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The paper's regime: Gaussian data and bias b = σ·√(0.4·ln n) in scaled-score units.
     * The mean count per query must match its expectation n·P(Z >= b) (a check of recall at
     * scale), which is of the order of n^{4/5}.
     */
    @Test
    void papersRegimeReportsAboutNToTheFourFifths() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        long n = 30000, d = 64, queries = 64;
        try (Arena arena = Arena.ofConfined()) {
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, n, d);
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 1, queries, d);
            StructuredData.gaussian(k, rnd, 1);
            StructuredData.gaussian(q, rnd, 1);
            double bias = Math.sqrt(0.4 * Math.log(n)); // scaled scores q·k/√d have σ ≈ 1
            double threshold = bias * Math.sqrt(d);
            try (KeyIndex index = KeyIndex.build(k)) {
                HalfSpaceReport r = index.report(q, (float) threshold);
                double mean = (double) r.total() / queries;
                // For a fixed q and Gaussian keys, q·k ~ N(0, |q|²): the expectation given q.
                float[] qa = q.toFloatArray();
                double expected = 0;
                for (int i = 0; i < queries; i++) {
                    double norm2 = 0;
                    for (int c = 0; c < d; c++) {
                        norm2 += (double) qa[(int) (i * d + c)] * qa[(int) (i * d + c)];
                    }
                    expected += n * 0.5 * erfc(threshold / Math.sqrt(2 * norm2)) / queries;
                }
                String msg = String.format("mean count %.1f, expected n·P(Z>=b) = %.1f, n^0.8 = %.1f; %s", mean,
                        expected, Math.pow(n, 0.8), TestData.seedNote(seed));
                System.out.println("HsrTest " + msg);
                assertTrue(Math.abs(mean / expected - 1) < 0.1, msg);
                assertTrue(mean > 0.1 * Math.pow(n, 0.8) && mean < Math.pow(n, 0.8), msg);
            }
        }
    }

    // Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7).
    private static double erfc(double x) {
        double t = 1 / (1 + 0.3275911 * x);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return poly * Math.exp(-x * x);
    }

    // ---- the index's life cycle --------------------------------------------------------------

    /** Append-then-report equals a fresh build, at every step of a growing cache. */
    @Test
    void appendThenReportEqualsAFreshBuild() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        long capacity = 900, d = 64;
        try (Arena arena = Arena.ofConfined()) {
            Tensor cacheK = Tensor.allocate(arena, DType.F32, 1, 2, capacity, d);
            Tensor cacheV = Tensor.allocate(arena, DType.F32, 1, 2, capacity, d);
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, 2, d);
            StructuredData.clustered(q, cacheK, rnd, 12, 3, 0.4, 2);
            TestData.fillUniform(cacheV, rnd, 1);
            long n = 1;
            KeyIndex.Options options = KeyIndex.Options.DEFAULTS.withBlockSize(32);
            try (KeyIndex grown = KeyIndex.build(cacheK.slice(2, 0, n), cacheV.slice(2, 0, n), options)) {
                long[] steps = {1, 30, 2, 64, 100, 1, 300, 401};
                for (long step : steps) {
                    n += step;
                    Tensor k = cacheK.slice(2, 0, n), v = cacheV.slice(2, 0, n);
                    grown.append(k, v);
                    KeyIndex.Info info = grown.info();
                    String ctx = "n=" + n + ", " + info + ", " + TestData.seedNote(seed);
                    assertEquals(n, info.keys(), ctx);
                    assertEquals(2, info.heads(), ctx);
                    assertEquals(d, info.headDim(), ctx);
                    assertEquals(DType.F32, info.dtype(), ctx);
                    assertEquals(32, info.blockSize(), ctx);
                    assertTrue(info.sealedKeys() >= 0 && info.sealedKeys() <= n, ctx);
                    assertTrue(info.blocks() >= 0 && info.bytes() > 0, ctx);
                    try (KeyIndex fresh = KeyIndex.build(k, v, options)) {
                        for (float threshold : new float[] {0f, 3f, 7f}) {
                            HalfSpaceReport a = grown.report(q, threshold), f = fresh.report(q, threshold);
                            for (int row = 0; row < a.rows(); row++) {
                                assertArrayEquals(f.indices(row), a.indices(row), "row " + row + " τ=" + threshold
                                        + "; " + ctx);
                            }
                            assertReportEquals(bruteForce(k, q, threshold), a, "τ=" + threshold + "; " + ctx);
                        }
                        // Attention with the grown index equals attention with the fresh one.
                        Tensor outA = Tensor.allocate(arena, DType.F32, 1, 4, 2, d);
                        Tensor outF = Tensor.allocate(arena, DType.F32, 1, 4, 2, d);
                        HsrAttention op = Attention.hsr().relu(1, 0.5f);
                        TestData.poison(outA);
                        op.index(grown).run(q, k, v, outA);
                        op.index(fresh).run(q, k, v, outF);
                        Compare.assertClose("relu out, appended vs fresh index", outA.toFloatArray(),
                                Compare.toDouble(outF.toFloatArray()), outA.shape(), 2e-6, 2e-6, ctx);
                    }
                }
            }
        }
    }

    @Test
    void misuseOfAnIndexIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor cache = Tensor.allocate(arena, DType.F32, 1, 2, 100, 16);
            Tensor cacheV = Tensor.allocate(arena, DType.F32, 1, 2, 100, 16);
            TestData.fillUniform(cache, new SplittableRandom(1), 1);
            Tensor k = cache.slice(2, 0, 50), v = cacheV.slice(2, 0, 50);
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, 3, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 4, 3, 16);
            KeyIndex index = KeyIndex.build(k);
            KeyIndex withValues = KeyIndex.build(k, v);
            try {
                assertFalse(index.hasValues());
                assertTrue(withValues.hasValues());
                // An index serves exactly its keys (and values).
                Tensor other = Tensor.allocate(arena, DType.F32, 1, 2, 50, 16);
                iae(() -> Attention.hsr().index(index).run(q, other, v, out), "index: built for keys");
                iae(() -> Attention.hsr().index(index).run(q, cache.slice(2, 0, 49), cacheV.slice(2, 0, 49), out),
                        "index: built for keys");
                iae(() -> Attention.hsr().index(withValues).run(q, k, other, out), "index: built with values");
                Attention.hsr().index(index).run(q, k, other, out); // an index without values takes any v
                Attention.hsr().index(withValues).run(q, k, v, out);
                // Appending takes a longer view of the same cache.
                iae(() -> index.append(other), "k: starts at");
                iae(() -> index.append(cache.slice(2, 0, 40)), "k: seq 40 is shorter than the 50 keys");
                iae(() -> index.append(cache.slice(2, 1, 60)), "k: starts at");
                iae(() -> index.append(cache.slice(2, 0, 60), cacheV.slice(2, 0, 60)), "v: given");
                iae(() -> withValues.append(cache.slice(2, 0, 60)), "v: is null");
                iae(() -> withValues.append(cache.slice(2, 0, 60), cache.slice(2, 0, 60)), "v: starts at");
                iae(() -> index.report(Tensor.allocate(arena, DType.BF16, 1, 4, 3, 16), 0f), "q: dtype BF16");
                iae(() -> index.report(Tensor.allocate(arena, DType.F32, 1, 3, 3, 16), 0f), "q: heads 3");
                iae(() -> index.report(q, Float.NaN), "threshold: NaN");
            } finally {
                index.close();
                withValues.close();
            }
            // Closed: idempotent close, IllegalStateException on every use, as an argument too.
            index.close();
            assertTrue(index.isClosed());
            assertThrows(IllegalStateException.class, () -> index.report(q, 0f));
            assertThrows(IllegalStateException.class, index::info);
            assertThrows(IllegalStateException.class, () -> index.append(cache.slice(2, 0, 60)));
            IllegalStateException closed = assertThrows(IllegalStateException.class,
                    () -> Attention.hsr().index(index).run(q, k, v, out));
            assertTrue(closed.getMessage().contains("index: this KeyIndex is closed"), closed.getMessage());
        }
    }

    /**
     * Reports and attention calls share an index across threads; close waits for them, and a
     * call after close is an IllegalStateException (or IAE as an argument), never a crash.
     */
    @Test
    void anIndexIsSharedAcrossThreadsAndClosedSafely() throws Exception {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofShared()) {
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 2, 3000, 64);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 2, 3000, 64);
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, 2, 64);
            StructuredData.clustered(q, k, v, rnd, 16, 5, 0.3, 2);
            KeyIndex index = KeyIndex.build(k, v);
            List<int[]> want = bruteForce(k, q, 10f);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<Integer>> futures = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    futures.add(pool.submit(() -> {
                        int done = 0;
                        try (Arena mine = Arena.ofConfined()) {
                            Tensor out = Tensor.allocate(mine, DType.F32, 1, 4, 2, 64);
                            for (int i = 0; i < 200; i++) {
                                try {
                                    assertReportEquals(want, index.report(q, 10f), TestData.seedNote(seed));
                                    Attention.hsr().index(index).run(q, k, v, out);
                                    done++;
                                } catch (IllegalStateException | IllegalArgumentException closed) {
                                    assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
                                    assertTrue(index.isClosed());
                                }
                            }
                        }
                        return done;
                    }));
                }
                Thread.sleep(20);
                index.close();
                int done = 0;
                for (var f : futures) {
                    done += f.get();
                }
                assertTrue(index.isClosed());
                System.out.println("HsrTest calls completed before close: " + done + " of 800");
            } finally {
                pool.shutdown();
            }
        }
    }

    private static void iae(Executable call, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' should contain '" + part + "'");
    }

    // ---- attention ---------------------------------------------------------------------------

    private record Shape(String name, long b, long hq, long hkv, long nq, long nk, long d, boolean causal, DType dtype,
            boolean bshd) {
    }

    private static final Shape[] SHAPES = {
        new Shape("decode GQA", 1, 8, 2, 1, 700, 128, true, DType.F32, false),
        new Shape("decode few rows", 2, 4, 4, 3, 333, 64, false, DType.F32, false),
        new Shape("prefill causal", 1, 4, 2, 150, 150, 64, true, DType.F32, false),
        new Shape("Nq>Nk causal", 1, 2, 1, 60, 40, 32, true, DType.F32, false),
        new Shape("strided bf16", 1, 4, 2, 37, 260, 80, true, DType.BF16, true),
        new Shape("bf16 decode", 1, 4, 1, 2, 1000, 128, false, DType.BF16, false),
        new Shape("strided f16", 1, 4, 2, 37, 260, 80, true, DType.F16, true),
        new Shape("f16 decode", 1, 4, 1, 2, 1000, 128, false, DType.F16, false),
    };

    /** ReLU^α is exact: the output equals the dense float64 ReLU^α reference. */
    @Test
    void reluMatchesTheDenseReference() {
        for (Shape s : SHAPES) {
            for (int alpha : new int[] {1, 2, 3}) {
                for (float bias : new float[] {-0.25f, 0f, 0.6f, 50f}) {
                    long seed = TestData.nextSeed();
                    String ctx = s + " alpha=" + alpha + " bias=" + bias + ", " + TestData.seedNote(seed);
                    SplittableRandom rnd = new SplittableRandom(seed);
                    try (Arena arena = Arena.ofConfined()) {
                        Tensor q = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(), s.bshd());
                        Tensor k = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hkv(), s.nk(), s.d(), s.bshd());
                        Tensor v = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hkv(), s.nk(), s.d(), s.bshd());
                        Tensor out = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(), s.bshd());
                        StructuredData.clustered(q, k, rnd, 8, 2.5, 0.5, 2);
                        TestData.fillUniform(v, rnd, 1);
                        HsrAttention op = Attention.hsr().relu(alpha, bias).causal(s.causal());
                        double[] ref = ReferenceRelu.compute(q, k, v, s.causal(), op.scaleFor(s.d()), alpha, bias);
                        HsrStats stats = HsrStats.allocateFor(arena, q);
                        // Without an index, with one, and with one that keeps values.
                        for (int variant = 0; variant < 3; variant++) {
                            KeyIndex index = variant == 0 ? null : variant == 1 ? KeyIndex.build(k) : KeyIndex.build(k, v);
                            try {
                                TestData.poison(out);
                                op.index(index).run(q, k, v, out, stats);
                                String vctx = "variant " + variant + ", " + ctx;
                                Compare.assertClose("relu out", out.toFloatArray(), ref, out.shape(),
                                        s.dtype() == DType.F32 ? 5e-5 : Tolerances.outAtol(s.dtype()), s.dtype() == DType.F32 ? 1e-4 : Tolerances.outRtol(s.dtype()), vctx);
                                for (long row = 0; row < stats.rows(); row++) {
                                    assertEquals(0f, stats.droppedMass(row), vctx);
                                    assertEquals(0f, stats.errorBound(row), vctx);
                                    long touched = stats.keysTouched(row);
                                    assertTrue(touched >= 0 && touched <= s.nk(), "keys touched " + touched + "; " + vctx);
                                }
                            } finally {
                                if (index != null) {
                                    index.close();
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Softmax: the returned per-row bound is never below the true error against float64
     * softmax, and the dropped mass never above ε; with a tiny ε the output is exact.
     */
    @Test
    void softmaxBoundsAreCertified() {
        double[] epsilons = {0.3, 1e-2, 1e-3, 1e-5};
        long sparseRows = 0, droppedRows = 0, allRows = 0;
        for (Shape s : SHAPES) {
            for (boolean structured : new boolean[] {true, false}) {
                for (double eps : epsilons) {
                    long seed = TestData.nextSeed();
                    String ctx = s + (structured ? " structured" : " uniform") + " eps=" + eps + ", "
                            + TestData.seedNote(seed);
                    SplittableRandom rnd = new SplittableRandom(seed);
                    try (Arena arena = Arena.ofConfined()) {
                        Tensor q = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(), s.bshd());
                        Tensor k = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hkv(), s.nk(), s.d(), s.bshd());
                        Tensor v = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hkv(), s.nk(), s.d(), s.bshd());
                        Tensor out = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(), s.bshd());
                        if (structured) {
                            // Peaked: same-cluster scaled scores ≈ 12, so the sparse path is taken.
                            StructuredData.clustered(q, k, v, rnd, 8, Math.sqrt(12 * Math.sqrt(s.d())), 0.3, 2);
                        } else {
                            TestData.fillUniform(q, rnd, 1);
                            TestData.fillUniform(k, rnd, 1);
                            TestData.fillUniform(v, rnd, 1);
                        }
                        ReferenceAttention.Result ref = ReferenceAttention.compute(q, k, v, s.causal(), 1 / Math.sqrt(s.d()));
                        HsrStats stats = HsrStats.allocateFor(arena, q);
                        boolean withIndex = rnd.nextBoolean();
                        try (KeyIndex index = withIndex ? KeyIndex.build(k, v) : null) {
                            TestData.poison(out);
                            Attention.hsr().softmax(eps).causal(s.causal()).index(index).run(q, k, v, out, stats);
                        }
                        float[] got = out.toFloatArray();
                        // Float rounding of the kernel's own arithmetic comes on top of the bound.
                        double slack = Tolerances.outAtol(s.dtype());
                        int d = (int) s.d();
                        for (int row = 0; row < stats.rows(); row++) {
                            float dropped = stats.droppedMass(row), bound = stats.errorBound(row);
                            assertTrue(dropped >= 0 && dropped <= eps * (1 + 1e-6),
                                    "row " + row + ": dropped mass " + dropped + " > eps; " + ctx);
                            assertTrue(bound >= 0, "row " + row + ": bound " + bound + "; " + ctx);
                            double err = 0;
                            for (int c = 0; c < d; c++) {
                                err = Math.max(err, Math.abs(got[row * d + c] - ref.out()[row * d + c]));
                            }
                            if (!(err <= bound + slack + Tolerances.outRtol(s.dtype()))) {
                                fail("row " + row + ": error " + err + " exceeds the bound " + bound + " (+ rounding "
                                        + slack + "), dropped mass " + dropped + "; " + ctx);
                            }
                            long touched = stats.keysTouched(row);
                            assertTrue(touched >= 0 && touched <= s.nk(), "keys touched " + touched + "; " + ctx);
                            allRows++;
                            sparseRows += touched < s.nk() ? 1 : 0;
                            droppedRows += dropped > 0 ? 1 : 0;
                        }
                        if (eps <= 1e-5) {
                            // Dropped mass <= 1e-5 moves outputs by at most 2e-5 (values in [-1, 1]).
                            Compare.assertClose("out, eps -> 0", got, ref.out(), out.shape(),
                                    Tolerances.outAtol(s.dtype()) + 2e-5, Tolerances.outRtol(s.dtype()), ctx);
                        }
                    }
                }
            }
        }
        String msg = "rows with fewer keys touched than Nk: " + sparseRows + ", with dropped mass > 0: " + droppedRows
                + ", of " + allRows;
        // Informative: these small caches mostly end up computed in full; the bound is put to
        // the test where keys are dropped in softmaxBoundHoldsWhereKeysAreDropped.
        System.out.println("HsrTest " + msg);
    }

    /**
     * Where keys really are dropped (long peaked caches, loose ε), every row's bound still
     * covers its true error against float64 softmax.
     */
    @Test
    void softmaxBoundHoldsWhereKeysAreDropped() {
        long dropped = 0, rows = 0;
        double worstRatio = 0;
        for (boolean causal : new boolean[] {false, true}) {
            for (double eps : new double[] {0.5, 0.1, 1e-2, 1e-3}) {
                long seed = TestData.nextSeed();
                SplittableRandom rnd = new SplittableRandom(seed);
                long nq = causal ? 64 : 4, nk = 6000, d = 64, hq = 4, hkv = 2;
                String ctx = (causal ? "causal" : "decode") + " eps=" + eps + ", " + TestData.seedNote(seed);
                try (Arena arena = Arena.ofConfined()) {
                    Tensor q = Tensor.allocate(arena, DType.F32, 1, hq, nq, d);
                    Tensor k = Tensor.allocate(arena, DType.F32, 1, hkv, nk, d);
                    Tensor v = Tensor.allocate(arena, DType.F32, 1, hkv, nk, d);
                    Tensor out = Tensor.allocate(arena, DType.F32, 1, hq, nq, d);
                    StructuredData.clustered(q, k, v, rnd, 32, Math.sqrt(8 * Math.sqrt(d)), 0.3, 2);
                    ReferenceAttention.Result ref = ReferenceAttention.compute(q, k, v, causal, 1 / Math.sqrt(d));
                    HsrStats stats = HsrStats.allocateFor(arena, q);
                    try (KeyIndex index = KeyIndex.build(k, rnd.nextBoolean() ? v : null)) {
                        TestData.poison(out);
                        Attention.hsr().softmax(eps).causal(causal).index(index).run(q, k, v, out, stats);
                    }
                    float[] got = out.toFloatArray();
                    for (int row = 0; row < stats.rows(); row++) {
                        double err = 0;
                        for (int c = 0; c < d; c++) {
                            err = Math.max(err, Math.abs(got[(int) (row * d + c)] - ref.out()[(int) (row * d + c)]));
                        }
                        float bound = stats.errorBound(row), mass = stats.droppedMass(row);
                        assertTrue(mass >= 0 && mass <= eps * (1 + 1e-6), "row " + row + ": dropped mass " + mass + "; " + ctx);
                        if (!(err <= bound + Tolerances.outAtol(DType.F32))) {
                            fail("row " + row + ": error " + err + " exceeds the bound " + bound + ", dropped mass "
                                    + mass + "; " + ctx);
                        }
                        rows++;
                        if (mass > 0) {
                            dropped++;
                            worstRatio = Math.max(worstRatio, err / bound);
                        }
                    }
                }
            }
        }
        String msg = "rows with keys dropped: " + dropped + " of " + rows + "; largest error/bound " + worstRatio;
        System.out.println("HsrTest " + msg);
        assertTrue(dropped >= 50, msg);
    }

    /**
     * An index that keeps its own block-ordered copy of the sealed keys and one that reads them
     * in place give bit-identical ReLU and softmax outputs (and stats), both match the float64
     * references, and the copy costs at least the sealed keys' bytes; also after an append.
     */
    @Test
    void keyCopyAndInPlaceIndexesGiveIdenticalResults() {
        List<Shape> shapes = new ArrayList<>(List.of(SHAPES));
        // Long and peaked, so softmax drops keys (the small shapes mostly compute in full).
        shapes.add(new Shape("long decode", 1, 4, 2, 4, 6000, 64, false, DType.F32, false));
        shapes.add(new Shape("long causal", 1, 2, 1, 48, 5000, 64, true, DType.F32, false));
        long droppedRows = 0;
        for (Shape s : shapes) {
            for (boolean appended : new boolean[] {false, true}) {
                long seed = TestData.nextSeed();
                SplittableRandom rnd = new SplittableRandom(seed);
                int blockSize = s.nk() < 200 ? 8 : 64;
                String ctx = s + (appended ? " appended" : " fresh") + " blockSize=" + blockSize + ", "
                        + TestData.seedNote(seed);
                try (Arena arena = Arena.ofConfined()) {
                    Tensor q = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(), s.bshd());
                    Tensor k = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hkv(), s.nk(), s.d(), s.bshd());
                    Tensor v = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hkv(), s.nk(), s.d(), s.bshd());
                    Tensor outCopy = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(), s.bshd());
                    Tensor outInPlace = TestData.attentionOperand(arena, s.dtype(), s.b(), s.hq(), s.nq(), s.d(),
                            s.bshd());
                    // Peaked (same-cluster scaled scores ≈ 12), so softmax really drops keys.
                    StructuredData.clustered(q, k, v, rnd, 8, Math.sqrt(12 * Math.sqrt(s.d())), 0.3, 2);
                    KeyIndex.Options options = KeyIndex.Options.DEFAULTS.withBlockSize(blockSize)
                            .withSeed(rnd.nextLong());
                    assertTrue(options.copyKeys(), "copying is the default");
                    KeyIndex copy = null, inPlace = null;
                    try {
                        long first = appended ? s.nk() * 2 / 3 : s.nk();
                        copy = KeyIndex.build(k.slice(2, 0, first), v.slice(2, 0, first), options);
                        inPlace = KeyIndex.build(k.slice(2, 0, first), v.slice(2, 0, first),
                                options.withCopyKeys(false));
                        if (appended) {
                            copy.append(k, v);
                            inPlace.append(k, v);
                        }
                        KeyIndex.Info ci = copy.info(), ii = inPlace.info();
                        String ictx = "copy " + ci + ", in place " + ii + "; " + ctx;
                        assertEquals(s.nk(), ci.keys(), ictx);
                        assertEquals(ii.sealedKeys(), ci.sealedKeys(), ictx);
                        assertEquals(ii.blocks(), ci.blocks(), ictx);
                        assertTrue(ci.sealedKeys() > 0, "some keys sealed; " + ictx);
                        long sealedKBytes = ci.batch() * ci.heads() * ci.sealedKeys() * ci.headDim()
                                * s.dtype().byteSize();
                        assertTrue(ci.bytes() >= ii.bytes() + sealedKBytes, "the copy holds the " + sealedKBytes
                                + " bytes of sealed keys; " + ictx);

                        HsrStats statsCopy = HsrStats.allocateFor(arena, q);
                        HsrStats statsInPlace = HsrStats.allocateFor(arena, q);

                        // ReLU^2: exact, so both equal the dense float64 reference.
                        HsrAttention relu = Attention.hsr().relu(2, 0.3f).causal(s.causal());
                        double[] reluRef = ReferenceRelu.compute(q, k, v, s.causal(), relu.scaleFor(s.d()), 2, 0.3);
                        TestData.poison(outCopy);
                        TestData.poison(outInPlace);
                        relu.index(copy).run(q, k, v, outCopy, statsCopy);
                        relu.index(inPlace).run(q, k, v, outInPlace, statsInPlace);
                        assertBitIdentical("relu", outCopy, outInPlace, statsCopy, statsInPlace, ctx);
                        Compare.assertClose("relu out (keys copied)", outCopy.toFloatArray(), reluRef, outCopy.shape(),
                                s.dtype() == DType.F32 ? 5e-5 : Tolerances.outAtol(s.dtype()), s.dtype() == DType.F32 ? 1e-4 : Tolerances.outRtol(s.dtype()), ctx);

                        // Softmax: each row's error against float64 softmax within its certified bound.
                        double eps = 1e-2;
                        HsrAttention soft = Attention.hsr().softmax(eps).causal(s.causal());
                        ReferenceAttention.Result ref = ReferenceAttention.compute(q, k, v, s.causal(),
                                1 / Math.sqrt(s.d()));
                        TestData.poison(outCopy);
                        TestData.poison(outInPlace);
                        soft.index(copy).run(q, k, v, outCopy, statsCopy);
                        soft.index(inPlace).run(q, k, v, outInPlace, statsInPlace);
                        assertBitIdentical("softmax", outCopy, outInPlace, statsCopy, statsInPlace, ctx);
                        float[] got = outCopy.toFloatArray();
                        double slack = Tolerances.outAtol(s.dtype()) + Tolerances.outRtol(s.dtype());
                        int d = (int) s.d();
                        for (int row = 0; row < statsCopy.rows(); row++) {
                            float mass = statsCopy.droppedMass(row), bound = statsCopy.errorBound(row);
                            assertTrue(mass >= 0 && mass <= eps * (1 + 1e-6), "row " + row + ": dropped mass " + mass
                                    + "; " + ctx);
                            double err = 0;
                            for (int c = 0; c < d; c++) {
                                err = Math.max(err, Math.abs(got[row * d + c] - ref.out()[row * d + c]));
                            }
                            if (!(err <= bound + slack)) {
                                fail("softmax row " + row + ": error " + err + " exceeds the bound " + bound
                                        + " (+ rounding " + slack + "); " + ctx);
                            }
                            droppedRows += mass > 0 ? 1 : 0;
                        }
                    } finally {
                        if (copy != null) {
                            copy.close();
                        }
                        if (inPlace != null) {
                            inPlace.close();
                        }
                    }
                }
            }
        }
        assertTrue(droppedRows > 0, "softmax dropped keys in some rows");
    }

    /** Same bits in every output element and the same per-row stats. */
    private static void assertBitIdentical(String what, Tensor a, Tensor b, HsrStats sa, HsrStats sb, String ctx) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        assertEquals(x.length, y.length, ctx);
        for (int i = 0; i < x.length; i++) {
            if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                fail(what + " element " + java.util.Arrays.toString(Compare.unravel(i, a.shape())) + ": keys copied "
                        + x[i] + ", keys in place " + y[i] + "; " + ctx);
            }
            assertFalse(Float.isNaN(x[i]), what + " element " + i + " not written; " + ctx);
        }
        assertArrayEquals(sa.keysTouchedArray(), sb.keysTouchedArray(), what + " keys touched; " + ctx);
        assertArrayEquals(sa.droppedMassArray(), sb.droppedMassArray(), what + " dropped mass; " + ctx);
        assertArrayEquals(sa.errorBoundArray(), sb.errorBoundArray(), what + " error bounds; " + ctx);
    }

    /** On peaked data, softmax HSR touches few keys (the point of it) and stays within ε. */
    @Test
    void structuredDecodeTouchesFewKeys() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        long n = 20000, d = 128;
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, 1, d);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 8, 1, d);
            // Same-cluster scaled scores ≈ 20, other clusters' spread ≈ 1.8: peaked heads, where a
            // certified ε = 1e-3 needs only the query's own cluster and the sinks.
            StructuredData.clustered(q, k, v, rnd, 64, Math.sqrt(20 * Math.sqrt(d)), 0.2, 4);
            HsrStats stats = HsrStats.allocateFor(arena, q);
            try (KeyIndex index = KeyIndex.build(k, v)) {
                Attention.hsr().softmax(1e-3).index(index).run(q, k, v, out, stats);
            }
            Tensor exact = Tensor.allocate(arena, DType.F32, 1, 8, 1, d);
            Attention.exact().run(q, k, v, exact);
            float[] got = out.toFloatArray(), want = exact.toFloatArray();
            for (int row = 0; row < 8; row++) {
                double err = 0;
                for (int c = 0; c < d; c++) {
                    err = Math.max(err, Math.abs(got[(int) (row * d + c)] - want[(int) (row * d + c)]));
                }
                assertTrue(stats.droppedMass(row) <= 1e-3, "dropped mass " + stats.droppedMass(row));
                assertTrue(err <= stats.errorBound(row) + 2 * Tolerances.outAtol(DType.F32),
                        "row " + row + ": error " + err + " > bound " + stats.errorBound(row));
            }
            double fraction = (double) stats.totalKeysTouched() / (stats.rows() * n);
            String msg = String.format("fraction of keys touched %.4f, max error bound %.2e; %s", fraction,
                    stats.maxErrorBound(), TestData.seedNote(seed));
            System.out.println("HsrTest " + msg);
            assertTrue(fraction < 0.5, msg);
        }
    }
}
