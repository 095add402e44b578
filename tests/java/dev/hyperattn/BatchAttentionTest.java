package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * Sliding windows, soft-capping, packed (varlen) batches, padded caches with lengths, and the
 * paged {@link KvCache}: each against a float64 reference, and bit for bit against one dense
 * call per sequence.
 */
class BatchAttentionTest {

    /** Float64 attention of one sequence: q [nq, Hq, D], k/v [nk, Hkv, D] as row getters. */
    interface Rows {
        double get(long pos, long head, long d);
    }

    static double[] reference(Rows q, Rows k, Rows v, long nq, long nk, long hq, long hkv, long dim, boolean causal,
            int wl, int wr, float cap) {
        double scale = 1.0 / Math.sqrt(dim);
        double[] out = new double[(int) (nq * hq * dim)];
        long right = causal ? (wr < 0 ? 0 : Math.min(wr, 0)) : wr;
        for (long h = 0; h < hq; h++) {
            long kh = h / (hq / hkv);
            for (long i = 0; i < nq; i++) {
                long pos = i + nk - nq;
                long lo = wl >= 0 ? Math.max(0, pos - wl) : 0;
                long hi = right >= 0 ? Math.min(nk, pos + right + 1) : nk;
                if (hi <= lo) {
                    continue;
                }
                double[] s = new double[(int) (hi - lo)];
                double m = Double.NEGATIVE_INFINITY;
                for (long j = lo; j < hi; j++) {
                    double acc = 0;
                    for (long d = 0; d < dim; d++) {
                        acc += q.get(i, h, d) * k.get(j, kh, d);
                    }
                    double x = acc * scale;
                    if (cap > 0) {
                        x = cap * Math.tanh(x / cap);
                    }
                    s[(int) (j - lo)] = x;
                    m = Math.max(m, x);
                }
                double sum = 0;
                double[] o = new double[(int) dim];
                for (long j = lo; j < hi; j++) {
                    double p = Math.exp(s[(int) (j - lo)] - m);
                    sum += p;
                    for (long d = 0; d < dim; d++) {
                        o[(int) d] += p * v.get(j, kh, d);
                    }
                }
                for (long d = 0; d < dim; d++) {
                    out[(int) ((i * hq + h) * dim + d)] = o[(int) d] / sum;
                }
            }
        }
        return out;
    }

    static void assertNear(String what, double[] want, Rows got, long n, long heads, long dim, DType dt) {
        double atol = Tolerances.outAtol(dt);
        for (long i = 0; i < n; i++) {
            for (long h = 0; h < heads; h++) {
                for (long d = 0; d < dim; d++) {
                    double w = want[(int) ((i * heads + h) * dim + d)];
                    double g = got.get(i, h, d);
                    if (!(Math.abs(g - w) <= atol + 1e-3 * Math.abs(w))) {
                        fail(what + ": [" + i + "," + h + "," + d + "] = " + g + ", reference " + w);
                    }
                }
            }
        }
    }

    /** Rows of a [total, H, D] tensor from row r0. */
    static Rows rows3(Tensor t, long r0) {
        return (p, h, d) -> t.getFloat(r0 + p, h, d);
    }

    /** Rows of batch b of a [B, H, n, D] tensor. */
    static Rows rows4(Tensor t, long b) {
        return (p, h, d) -> t.getFloat(b, h, p, d);
    }

    static void fill(Tensor t, SplittableRandom rnd) {
        TestData.fillUniform(t, rnd, 1.0);
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16", "F16"})
    void windowAndSoftcapMatchTheReference(DType dt) {
        SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
        try (Arena arena = Arena.ofConfined()) {
            long b = 1, hq = 4, hkv = 2, nq = 70, nk = 130, dim = 64;
            Tensor q = Tensor.allocate(arena, dt, b, hq, nq, dim);
            Tensor k = Tensor.allocate(arena, dt, b, hkv, nk, dim);
            Tensor v = Tensor.allocate(arena, dt, b, hkv, nk, dim);
            Tensor out = Tensor.allocate(arena, dt, b, hq, nq, dim);
            fill(q, rnd);
            fill(k, rnd);
            fill(v, rnd);
            int[][] windows = {{-1, -1}, {10, -1}, {5, 7}, {0, 0}, {64, -1}};
            for (int[] w : windows) {
                for (float cap : new float[] {0f, 3f}) {
                    for (boolean causal : new boolean[] {false, true}) {
                        TestData.poison(out);
                        Attention.exact().causal(causal).window(w[0], w[1]).softcap(cap).run(q, k, v, out);
                        double[] want = reference(rows4(q, 0), rows4(k, 0), rows4(v, 0), nq, nk, hq, hkv, dim,
                                causal, w[0], w[1], cap);
                        assertNear("window " + w[0] + "," + w[1] + " cap " + cap + " causal " + causal, want,
                                (p, h, d) -> out.getFloat(0, h, p, d), nq, hq, dim, dt);
                    }
                }
            }
        }
    }

    @Test
    void windowAndSoftcapArgumentsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> Attention.exact().window(-2, 0));
        assertThrows(IllegalArgumentException.class, () -> Attention.exact().window(0, -3));
        assertThrows(IllegalArgumentException.class, () -> Attention.exact().softcap(-1f));
        assertThrows(IllegalArgumentException.class, () -> Attention.exact().softcap(Float.NaN));
        assertThrows(IllegalArgumentException.class, () -> Attention.exact().softcap(Float.POSITIVE_INFINITY));
        ExactAttention op = Attention.exact().window(4095, 0).softcap(50f);
        assertEquals(4095, op.windowLeft());
        assertEquals(0, op.windowRight());
        assertEquals(50f, op.softcap());
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16", "F16"})
    void packedSequencesEqualOneCallEach(DType dt) {
        SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
        int[] nq = {17, 0, 130, 1, 70};
        int[] nk = {17, 9, 130, 300, 200};
        int[] cuQ = new int[nq.length + 1];
        int[] cuK = new int[nk.length + 1];
        for (int i = 0; i < nq.length; i++) {
            cuQ[i + 1] = cuQ[i] + nq[i];
            cuK[i + 1] = cuK[i] + nk[i];
        }
        long hq = 4, hkv = 2, dim = 64;
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, dt, cuQ[nq.length] + 2, hq, dim);
            Tensor k = Tensor.allocate(arena, dt, cuK[nk.length], hkv, dim);
            Tensor v = Tensor.allocate(arena, dt, cuK[nk.length], hkv, dim);
            Tensor out = Tensor.allocate(arena, dt, cuQ[nq.length] + 2, hq, dim);
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, hq, cuQ[nq.length] + 2);
            fill(q, rnd);
            fill(k, rnd);
            fill(v, rnd);
            TestData.poison(out);
            TestData.poison(lse);
            ExactAttention op = Attention.exact().causal(true).window(50, -1);
            op.runPacked(q, cuQ, k, v, cuK, out, lse);
            for (int s = 0; s < nq.length; s++) {
                if (nq[s] == 0) {
                    continue;
                }
                // The same sequence alone, through the dense API on [1, H, n, D] views.
                Tensor qs = view4(q.slice(0, cuQ[s], nq[s]));
                Tensor ks = view4(k.slice(0, cuK[s], nk[s]));
                Tensor vs = view4(v.slice(0, cuK[s], nk[s]));
                Tensor alone = Tensor.allocate(arena, dt, 1, hq, nq[s], dim);
                Tensor aloneLse = Tensor.allocate(arena, DType.F32, 1, hq, nq[s]);
                op.run(qs, ks, vs, alone, aloneLse);
                for (long i = 0; i < nq[s]; i++) {
                    for (long h = 0; h < hq; h++) {
                        for (long d = 0; d < dim; d++) {
                            float a = out.getFloat(cuQ[s] + i, h, d);
                            float b = alone.getFloat(0, h, i, d);
                            if (Float.floatToRawIntBits(a) != Float.floatToRawIntBits(b)) {
                                fail("sequence " + s + " row " + i + " head " + h + " dim " + d + ": " + a
                                        + " alone " + b);
                            }
                        }
                        assertEquals(aloneLse.getFloat(0, h, i), lse.getFloat(0, h, cuQ[s] + i));
                    }
                }
                double[] want = reference(rows3(q, cuQ[s]), rows3(k, cuK[s]), rows3(v, cuK[s]), nq[s], nk[s], hq,
                        hkv, dim, true, 50, -1, 0f);
                assertNear("sequence " + s, want, rows3(out, cuQ[s]), nq[s], hq, dim, dt);
            }
            // The two rows of no sequence keep their poison.
            for (long r = cuQ[nq.length]; r < cuQ[nq.length] + 2; r++) {
                assertTrue(Float.isNaN(out.getFloat(r, 0, 0)), "row " + r + " was written");
            }
        }
    }

    /** A [n, H, D] view as the dense API's [1, H, n, D] (no copy). */
    static Tensor view4(Tensor t) {
        return Tensor.wrap(t.segment(), t.dtype(), new long[] {1, t.shape(1), t.shape(0), t.shape(2)},
                new long[] {t.stride(0) * t.shape(0), t.stride(1), t.stride(0), t.stride(2)});
    }

    @ParameterizedTest
    @EnumSource(names = {"F32", "BF16", "F16"})
    void pagedCacheEqualsContiguousCopies(DType dt) {
        SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
        int hq = 8;
        int hkv = 2;
        int dim = 64;
        try (Arena arena = Arena.ofConfined()) {
            KvCache cache = KvCache.allocate(arena, dt, hkv, dim, 16, 200);
            int[] lens = {37, 300, 1, 129};
            int[] ids = new int[lens.length];
            Tensor[] ks = new Tensor[lens.length];
            Tensor[] vs = new Tensor[lens.length];
            for (int s = 0; s < lens.length; s++) {
                ids[s] = cache.newSequence();
                ks[s] = Tensor.allocate(arena, dt, lens[s], hkv, dim);
                vs[s] = Tensor.allocate(arena, dt, lens[s], hkv, dim);
                fill(ks[s], rnd);
                fill(vs[s], rnd);
            }
            // Appended in chunks, interleaved across sequences, so their pages interleave.
            int[] done = new int[lens.length];
            boolean more = true;
            while (more) {
                more = false;
                for (int s = 0; s < lens.length; s++) {
                    int n = Math.min(lens[s] - done[s], 1 + rnd.nextInt(40));
                    if (n > 0) {
                        cache.append(ids[s], ks[s].slice(0, done[s], n), vs[s].slice(0, done[s], n));
                        done[s] += n;
                        more = true;
                    }
                }
            }
            for (int s = 0; s < lens.length; s++) {
                assertEquals(lens[s], cache.length(ids[s]));
            }
            // A decode step for all sequences in one call.
            Tensor q = Tensor.allocate(arena, dt, lens.length, hq, 1, dim);
            Tensor out = Tensor.allocate(arena, dt, lens.length, hq, 1, dim);
            fill(q, rnd);
            TestData.poison(out);
            ExactAttention op = Attention.exact().causal(true);
            KvCache.Batch batch = cache.batch(ids);
            op.run(q, batch, out);
            for (int s = 0; s < lens.length; s++) {
                Tensor alone = Tensor.allocate(arena, dt, 1, hq, 1, dim);
                op.run(q.slice(0, s, 1), view4(ks[s]), view4(vs[s]), alone);
                for (long h = 0; h < hq; h++) {
                    for (long d = 0; d < dim; d++) {
                        assertEquals(Float.floatToRawIntBits(alone.getFloat(0, h, 0, d)),
                                Float.floatToRawIntBits(out.getFloat(s, h, 0, d)),
                                "sequence " + s + " head " + h + " dim " + d);
                    }
                }
                double[] want = reference(rows4(q, s), rows3(ks[s], 0), rows3(vs[s], 0), 1, lens[s], hq, hkv, dim,
                        true, -1, -1, 0f);
                final int ss = s;
                assertNear("paged sequence " + s, want, (p, h, d) -> out.getFloat(ss, h, p, d), 1, hq, dim, dt);
            }
            // Prefill chunks of different lengths over the cache: packed queries.
            int[] cuQ = {0, 5, 5, 6, 26};
            Tensor qp = Tensor.allocate(arena, dt, 26, hq, dim);
            Tensor op2 = Tensor.allocate(arena, dt, 26, hq, dim);
            fill(qp, rnd);
            TestData.poison(op2);
            op.runPacked(qp, cuQ, cache.batch(ids), op2, null);
            for (int s = 0; s < lens.length; s++) {
                int n = cuQ[s + 1] - cuQ[s];
                if (n == 0) {
                    continue;
                }
                double[] want = reference(rows3(qp, cuQ[s]), rows3(ks[s], 0), rows3(vs[s], 0), n, lens[s], hq, hkv,
                        dim, true, -1, -1, 0f);
                assertNear("packed over pages, sequence " + s, want, rows3(op2, cuQ[s]), n, hq, dim, dt);
            }

            // The batch is stale once the cache changes; freed pages are reused.
            int free = cache.freePages();
            cache.free(ids[1]);
            assertEquals(free + 19, cache.freePages()); // 300 positions in pages of 16
            assertThrows(IllegalStateException.class, () -> op.run(q, batch, out));
            int again = cache.newSequence();
            assertEquals(ids[1], again);
            assertEquals(0, cache.length(again));
        }
    }

    @Test
    void paddedCacheLengthsEqualOneCallEach() {
        SplittableRandom rnd = new SplittableRandom(TestData.nextSeed());
        try (Arena arena = Arena.ofConfined()) {
            int[] lens = {600, 1, 333};
            Tensor k = Tensor.allocate(arena, DType.F32, 3, 2, 600, 32);
            Tensor v = Tensor.allocate(arena, DType.F32, 3, 2, 600, 32);
            Tensor q = Tensor.allocate(arena, DType.F32, 3, 8, 1, 32);
            Tensor out = Tensor.allocate(arena, DType.F32, 3, 8, 1, 32);
            fill(k, rnd);
            fill(v, rnd);
            fill(q, rnd);
            ExactAttention op = Attention.exact().causal(true);
            op.run(q, k, v, lens, out, null);
            for (int s = 0; s < 3; s++) {
                Tensor alone = Tensor.allocate(arena, DType.F32, 1, 8, 1, 32);
                op.run(q.slice(0, s, 1), k.slice(0, s, 1).slice(2, 0, lens[s]), v.slice(0, s, 1).slice(2, 0, lens[s]),
                        alone);
                for (long h = 0; h < 8; h++) {
                    for (long d = 0; d < 32; d++) {
                        assertEquals(alone.getFloat(0, h, 0, d), out.getFloat(s, h, 0, d));
                    }
                }
            }
        }
    }

    @Test
    void badBatchesAreIllegalArgumentsNamingTheArgument() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 6, 2, 16);
            Tensor k = Tensor.allocate(arena, DType.F32, 6, 1, 16);
            Tensor v = Tensor.allocate(arena, DType.F32, 6, 1, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 6, 2, 16);
            ExactAttention op = Attention.exact();
            expect("cu_seqlens_q", () -> op.runPacked(q, new int[] {0, 4, 3}, k, v, new int[] {0, 3, 6}, out, null));
            expect("cu_seqlens_q", () -> op.runPacked(q, new int[] {0, 4, 7}, k, v, new int[] {0, 3, 6}, out, null));
            expect("cu_seqlens_k", () -> op.runPacked(q, new int[] {0, 4, 6}, k, v, new int[] {0, 3, 9}, out, null));
            expect("cuSeqlensK", () -> op.runPacked(q, new int[] {0, 4, 6}, k, v, new int[] {0, 3}, out, null));

            KvCache cache = KvCache.allocate(arena, DType.F32, 1, 16, 4, 3);
            int s = cache.newSequence();
            expect("k", () -> cache.append(s, Tensor.allocate(arena, DType.BF16, 2, 1, 16),
                    Tensor.allocate(arena, DType.BF16, 2, 1, 16)));
            expect("k", () -> cache.append(s, Tensor.allocate(arena, DType.F32, 2, 2, 16),
                    Tensor.allocate(arena, DType.F32, 2, 2, 16)));
            expect("v", () -> cache.append(s, Tensor.allocate(arena, DType.F32, 2, 1, 16),
                    Tensor.allocate(arena, DType.F32, 3, 1, 16)));
            expect("seq", () -> cache.append(7, k.slice(0, 0, 1), v.slice(0, 0, 1)));
            cache.append(s, k, v); // 6 positions: 2 pages
            int t = cache.newSequence();
            assertThrows(IllegalStateException.class, () -> cache.append(t, k, v)); // 2 more pages: 1 free
            assertEquals(1, cache.freePages());
            assertEquals(0, cache.length(t));
            expect("seqs", () -> cache.batch());
            Tensor qd = Tensor.allocate(arena, DType.F32, 3, 2, 1, 16);
            Tensor od = Tensor.allocate(arena, DType.F32, 3, 2, 1, 16);
            expect("seqs.count", () -> op.run(qd, cache.batch(s, t), od));
            expect("kvLengths", () -> op.run(qd, Tensor.allocate(arena, DType.F32, 3, 1, 5, 16),
                    Tensor.allocate(arena, DType.F32, 3, 1, 5, 16), new int[] {1, 2}, od, null));
            expect("seqs.seqlens_k[1]", () -> op.run(qd, Tensor.allocate(arena, DType.F32, 3, 1, 5, 16),
                    Tensor.allocate(arena, DType.F32, 3, 1, 5, 16), new int[] {1, 6, 2}, od, null));
            expect("pageSize", () -> KvCache.allocate(arena, DType.F32, 1, 16, 0, 3));
            expect("arena", () -> KvCache.allocate(null, DType.F16, 1, 16, 4, 3));
        }
    }

    static void expect(String needle, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(needle), "message '" + e.getMessage() + "' lacks '" + needle + "'");
    }
}
