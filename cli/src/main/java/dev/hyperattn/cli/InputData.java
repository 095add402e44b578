package dev.hyperattn.cli;

import dev.hyperattn.BFloat16;
import dev.hyperattn.DType;
import dev.hyperattn.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * The CLI's inputs: uniform in [-1, 1], or structured like a trained model's: keys in clusters,
 * each query near one cluster, a few attention-sink keys every query scores highly, and values
 * that go with the keys' clusters (so attention outputs are O(1), not averages of noise).
 */
final class InputData {

    private InputData() {
    }

    static void uniform(Tensor t, SplittableRandom rnd) {
        forEach(t, (b, h, s, c) -> set(t, b, h, s, c, rnd.nextDouble() * 2 - 1));
    }

    /** q [B, Hq, Nq, D], k and v [B, Hkv, Nk, D]. */
    static void structured(Tensor q, Tensor k, Tensor v, SplittableRandom rnd) {
        long batch = q.shape(0), hq = q.shape(1), nq = q.shape(2), d = q.shape(3);
        long hkv = k.shape(1), nk = k.shape(2), group = hq / hkv;
        int clusters = 64, sinks = 4;
        // Same-cluster scaled scores r²/√d ≈ 20 against a spread of about r²/d for other
        // clusters: the peaked heads where sparse attention has keys to skip (uniform inputs are
        // the opposite extreme).
        double r = Math.sqrt(20 * Math.sqrt(d));
        double noise = 0.25 * r / Math.sqrt(d);
        for (long b = 0; b < batch; b++) {
            for (long kh = 0; kh < hkv; kh++) {
                double[][] centres = new double[clusters][];
                double[][] values = new double[clusters + 1][(int) d];
                for (int c = 0; c < clusters; c++) {
                    centres[c] = direction(rnd, d, r);
                }
                for (double[] row : values) {
                    for (int c = 0; c < d; c++) {
                        row[c] = rnd.nextDouble() * 2 - 1;
                    }
                }
                double[] sink = direction(rnd, d, 1);
                for (long j = 0; j < nk; j++) {
                    boolean isSink = j < sinks;
                    int cluster = isSink ? clusters : rnd.nextInt(clusters);
                    for (long c = 0; c < d; c++) {
                        double base = isSink ? 2 * r * sink[(int) c] : centres[cluster][(int) c];
                        set(k, b, kh, j, c, base + noise * rnd.nextGaussian());
                        set(v, b, kh, j, c, values[cluster][(int) c] + 0.1 * rnd.nextGaussian());
                    }
                }
                for (long g = 0; g < group; g++) {
                    long h = kh * group + g;
                    for (long i = 0; i < nq; i++) {
                        double[] centre = centres[rnd.nextInt(clusters)];
                        for (long c = 0; c < d; c++) {
                            set(q, b, h, i, c, centre[(int) c] + 0.25 * r * sink[(int) c] + noise * rnd.nextGaussian());
                        }
                    }
                }
            }
        }
    }

    /**
     * The standard deviation of scaled scores {@code scale·q·k} over random (query, key) pairs of
     * the same kv head: the σ of the HSR paper's threshold σ·√(0.4·ln n).
     */
    static double scoreSigma(Tensor q, Tensor k, double scale, SplittableRandom rnd) {
        long group = q.shape(1) / k.shape(1), d = q.shape(3);
        int pairs = 4096;
        double sum = 0, sum2 = 0;
        for (int p = 0; p < pairs; p++) {
            long b = rnd.nextLong(q.shape(0)), h = rnd.nextLong(q.shape(1));
            long i = rnd.nextLong(q.shape(2)), j = rnd.nextLong(k.shape(2));
            double dot = 0;
            for (long c = 0; c < d; c++) {
                dot += SampledReference.at(q, b, h, i, c) * SampledReference.at(k, b, h / group, j, c);
            }
            double s = scale * dot;
            sum += s;
            sum2 += s * s;
        }
        double mean = sum / pairs;
        return Math.sqrt(Math.max(0, sum2 / pairs - mean * mean));
    }

    private static double[] direction(SplittableRandom rnd, long d, double norm) {
        double[] v = new double[(int) d];
        double s = 0;
        for (int c = 0; c < d; c++) {
            v[c] = rnd.nextGaussian();
            s += v[c] * v[c];
        }
        double f = norm / Math.sqrt(s);
        for (int c = 0; c < d; c++) {
            v[c] *= f;
        }
        return v;
    }

    @FunctionalInterface
    interface ElementVisitor {
        void visit(long b, long h, long s, long c);
    }

    static void forEach(Tensor t, ElementVisitor visitor) {
        for (long b = 0; b < t.shape(0); b++) {
            for (long h = 0; h < t.shape(1); h++) {
                for (long s = 0; s < t.shape(2); s++) {
                    for (long c = 0; c < t.shape(3); c++) {
                        visitor.visit(b, h, s, c);
                    }
                }
            }
        }
    }

    static void set(Tensor t, long b, long h, long s, long c, double value) {
        MemorySegment seg = t.segment();
        long idx = b * t.stride(0) + h * t.stride(1) + s * t.stride(2) + c * t.stride(3);
        switch (t.dtype()) {
            case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT, idx, (float) value);
            case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, idx, BFloat16.fromFloat((float) value));
            case F16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT, idx, Float.floatToFloat16((float) value));
        }
    }
}
