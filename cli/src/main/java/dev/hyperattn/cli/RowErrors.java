package dev.hyperattn.cli;

import dev.hyperattn.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * The error metric of approximate attention, defined once for the demo and the tests. Per
 * query row {@code i}:
 *
 * <pre>
 *   e_i = ||o^_i − o_i||₂ / sqrt(Σ_j p_ij ||v_j||₂²)
 * </pre>
 *
 * with {@code o_i} and {@code p_ij} the exact output and softmax weights (float64), i.e. the
 * error relative to the attention-weighted RMS norm of the values the row mixes (the unit of
 * {@code ApproxAttention}'s target and estimates). Besides the per-row errors: the Frobenius
 * relative error {@code sqrt(Σ_i ||o^_i − o_i||² / Σ_i ||o_i||²)} over the same rows, and the
 * errors of the trivial estimator (every row = the mean of the V rows it may see), the score
 * any approximation must beat to be worth anything.
 *
 * <p>The float64 reference is computed for a set of rows (all rows for small problems, a random
 * sample for large ones), row {@code r = (b·Hq + h)·Nq + i}.
 */
public final class RowErrors {

    /** Summary of one output's errors over the reference rows. */
    public record Summary(double[] rowErrors, double mean, double p99, double max, double frobenius) {

        /** Fraction of rows with {@code e_i <= limit}. */
        public double fractionWithin(double limit) {
            long n = Arrays.stream(rowErrors).filter(e -> e <= limit).count();
            return rowErrors.length == 0 ? 1 : (double) n / rowErrors.length;
        }
    }

    private final Tensor q;
    private final long[] rows;
    private final double[][] ref;      // exact output rows
    private final double[] valueNorm;  // sqrt(Σ p ||v||²)
    private final Summary trivial;

    private RowErrors(Tensor q, long[] rows, double[][] ref, double[] valueNorm, double[][] trivialRows) {
        this.q = q;
        this.rows = rows;
        this.ref = ref;
        this.valueNorm = valueNorm;
        this.trivial = summarize(trivialRows);
    }

    /**
     * Rows (distinct, ascending) to evaluate: all rows that see at least one key when there are
     * at most {@code count}, otherwise {@code count} of them drawn uniformly from {@code seed}.
     */
    public static long[] sampleRows(Tensor q, Tensor k, boolean causal, int count, long seed) {
        long hq = q.shape(1), nq = q.shape(2), nk = k.shape(2);
        long total = q.shape(0) * hq * nq;
        // Causal rows i < Nq - Nk see no key.
        long firstVisible = causal ? Math.max(0, nq - nk) : 0;
        if (nk == 0 || firstVisible >= nq) {
            return new long[0];
        }
        long usable = total / nq * (nq - firstVisible);
        if (usable <= count) {
            long[] all = new long[(int) usable];
            int n = 0;
            for (long r = 0; r < total; r++) {
                if (r % nq >= firstVisible) {
                    all[n++] = r;
                }
            }
            return all;
        }
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x2545F4914F6CDD1DL);
        TreeSet<Long> set = new TreeSet<>();
        while (set.size() < count) {
            long bh = rnd.nextLong(total / nq);
            set.add(bh * nq + firstVisible + rnd.nextLong(nq - firstVisible));
        }
        return set.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * The float64 reference of {@code rows} (from {@link #sampleRows}); {@code progress}, if not
     * null, is called with the number of rows done so far (from any thread).
     */
    public static RowErrors reference(Tensor q, Tensor k, Tensor v, boolean causal, float scale, long[] rows,
            IntConsumer progress) {
        int hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        int hkv = (int) k.shape(1), nk = (int) k.shape(2), group = hq / hkv;
        double[][] ref = new double[rows.length][];
        double[] norm = new double[rows.length];
        double[][] triv = new double[rows.length][];
        AtomicInteger done = new AtomicInteger();
        // Rows grouped by (batch, kv head), so that K, V and V's prefix sums are read once.
        int start = 0;
        while (start < rows.length) {
            long bkv = kvOf(rows[start], hq, nq, group);
            int end = start;
            while (end < rows.length && kvOf(rows[end], hq, nq, group) == bkv) {
                end++;
            }
            int b = (int) (bkv / hkv), kh = (int) (bkv % hkv);
            float[] kk = read(k, b, kh, nk, d);
            float[] vv = read(v, b, kh, nk, d);
            double[] vNorm2 = new double[nk];
            double[] prefix = new double[(nk + 1) * d];
            for (int j = 0; j < nk; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) {
                    double x = vv[j * d + c];
                    s += x * x;
                    prefix[(j + 1) * d + c] = prefix[j * d + c] + x;
                }
                vNorm2[j] = s;
            }
            // Tensors may live in a confined arena: read them on this thread only, compute in parallel.
            final int from = start;
            double[][] qRows = new double[end - start][d];
            for (int idx = start; idx < end; idx++) {
                long r = rows[idx];
                for (int c = 0; c < d; c++) {
                    qRows[idx - from][c] = SampledReference.at(q, b, (int) (r / nq % hq), (int) (r % nq), c);
                }
            }
            IntStream.range(start, end).parallel().forEach(idx -> {
                long r = rows[idx];
                int i = (int) (r % nq);
                int last = causal ? Math.min(nk - 1, i + nk - nq) : nk - 1;
                double[] qRow = qRows[idx - from];
                double[] s = new double[last + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= last; j++) {
                    double dot = 0;
                    int off = j * d;
                    for (int c = 0; c < d; c++) {
                        dot += qRow[c] * kk[off + c];
                    }
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0, vsum = 0;
                double[] o = new double[d];
                for (int j = 0; j <= last; j++) {
                    double w = Math.exp(s[j] - max);
                    sum += w;
                    vsum += w * vNorm2[j];
                    int off = j * d;
                    for (int c = 0; c < d; c++) {
                        o[c] += w * vv[off + c];
                    }
                }
                for (int c = 0; c < d; c++) {
                    o[c] /= sum;
                }
                double[] t = new double[d];
                for (int c = 0; c < d; c++) {
                    t[c] = prefix[(last + 1) * d + c] / (last + 1);
                }
                ref[idx] = o;
                norm[idx] = Math.sqrt(vsum / sum);
                triv[idx] = t;
                if (progress != null) {
                    progress.accept(done.incrementAndGet());
                }
            });
            start = end;
        }
        return new RowErrors(q, rows, ref, norm, triv);
    }

    private static long kvOf(long row, int hq, int nq, int group) {
        long bh = row / nq;
        long b = bh / hq, h = bh % hq;
        return b * (hq / group) + h / group;
    }

    private static float[] read(Tensor t, int b, int h, int n, int d) {
        float[] a = new float[n * d];
        for (int s = 0; s < n; s++) {
            for (int c = 0; c < d; c++) {
                a[s * d + c] = (float) SampledReference.at(t, b, h, s, c);
            }
        }
        return a;
    }

    /** The evaluated rows. */
    public long[] rows() {
        return rows.clone();
    }

    public int size() {
        return rows.length;
    }

    /** The exact (float64) output of evaluated row {@code idx}. */
    public double[] referenceRow(int idx) {
        return ref[idx].clone();
    }

    /** {@code sqrt(Σ_j p_ij ||v_j||²)}, the unit of {@code e_i}, for evaluated row {@code idx}. */
    public double valueNorm(int idx) {
        return valueNorm[idx];
    }

    /** The errors of the trivial estimator (each row = mean of its visible V rows). */
    public Summary trivial() {
        return trivial;
    }

    /** The errors of {@code out} ({@code [B, Hq, Nq, D]}, the shape of q) on the evaluated rows. */
    public Summary evaluate(Tensor out) {
        int hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        double[][] got = new double[rows.length][d];
        for (int idx = 0; idx < rows.length; idx++) {
            long r = rows[idx];
            int i = (int) (r % nq), h = (int) (r / nq % hq), b = (int) (r / nq / hq);
            for (int c = 0; c < d; c++) {
                got[idx][c] = SampledReference.at(out, b, h, i, c);
            }
        }
        return summarize(got);
    }

    /** The per-row errors {@code e_i} of {@code out}, in the order of {@link #rows()}. */
    public double[] rowErrors(Tensor out) {
        return evaluate(out).rowErrors();
    }

    private Summary summarize(double[][] got) {
        int n = rows.length;
        double[] e = new double[n];
        double num = 0, den = 0, sum = 0, max = 0;
        for (int idx = 0; idx < n; idx++) {
            double err2 = 0, ref2 = 0;
            for (int c = 0; c < got[idx].length; c++) {
                double diff = got[idx][c] - ref[idx][c];
                err2 += diff * diff;
                ref2 += ref[idx][c] * ref[idx][c];
            }
            double ei = Double.isNaN(err2) ? Double.POSITIVE_INFINITY
                    : valueNorm[idx] > 0 ? Math.sqrt(err2) / valueNorm[idx] : err2 == 0 ? 0 : Double.POSITIVE_INFINITY;
            e[idx] = ei;
            sum += ei;
            max = Math.max(max, ei);
            num += Double.isNaN(err2) ? Double.POSITIVE_INFINITY : err2;
            den += ref2;
        }
        double[] sorted = e.clone();
        Arrays.sort(sorted);
        double p99 = n == 0 ? 0 : sorted[Math.max(0, (int) Math.ceil(0.99 * n) - 1)];
        double frob = den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
        return new Summary(e, n == 0 ? 0 : sum / n, p99, max, frob);
    }
}
