package dev.hyperattn;

import java.util.SplittableRandom;

/**
 * Inputs with the structure that approximate attention exploits, as in real models: keys in
 * clusters, each query near one cluster, and a few attention-sink keys that every query scores
 * highly; and, for contrast, structureless Gaussian inputs.
 */
final class StructuredData {

    private StructuredData() {
    }

    /**
     * Fills q and k (same head_dim; any heads) with clustered data: {@code clusters} centres of
     * norm {@code radius} per kv head, noise of standard deviation {@code noise} per component,
     * queries of head h near centres of kv head h's clusters, and {@code sinks} keys per kv head
     * along a direction all queries share.
     */
    static void clustered(Tensor q, Tensor k, SplittableRandom rnd, int clusters, double radius, double noise,
            int sinks) {
        clustered(q, k, null, rnd, clusters, radius, noise, sinks);
    }

    /**
     * As {@link #clustered(Tensor, Tensor, SplittableRandom, int, double, double, int)}, and
     * when {@code v} is not null, values that go with the keys as in trained models: each
     * cluster (and the sinks) has its value vector in [-1, 1]^d, plus noise of 0.1 per
     * component, so attention outputs are O(1) rather than averages of unrelated noise.
     */
    static void clustered(Tensor q, Tensor k, Tensor v, SplittableRandom rnd, int clusters, double radius,
            double noise, int sinks) {
        int b = (int) q.shape(0), hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        int hkv = (int) k.shape(1), nk = (int) k.shape(2);
        int group = hq / hkv;
        float[] qa = new float[b * hq * nq * d];
        float[] ka = new float[b * hkv * nk * d];
        float[] va = new float[b * hkv * nk * d];
        for (int bi = 0; bi < b; bi++) {
            for (int kh = 0; kh < hkv; kh++) {
                double[][] centres = new double[clusters][];
                for (int c = 0; c < clusters; c++) {
                    centres[c] = direction(rnd, d, radius);
                }
                double[][] values = new double[clusters + 1][d];
                for (double[] row : values) {
                    for (int c = 0; c < d; c++) {
                        row[c] = rnd.nextDouble() * 2 - 1;
                    }
                }
                double[] sink = direction(rnd, d, 1);
                for (int j = 0; j < nk; j++) {
                    int off = ((bi * hkv + kh) * nk + j) * d;
                    boolean isSink = j < sinks;
                    int cluster = isSink ? clusters : rnd.nextInt(clusters);
                    double[] base = isSink ? scaled(sink, 2 * radius) : centres[cluster];
                    for (int c = 0; c < d; c++) {
                        ka[off + c] = (float) (base[c] + noise * rnd.nextGaussian());
                        va[off + c] = (float) (values[cluster][c] + 0.1 * rnd.nextGaussian());
                    }
                }
                for (int g = 0; g < group; g++) {
                    int h = kh * group + g;
                    for (int i = 0; i < nq; i++) {
                        int off = ((bi * hq + h) * nq + i) * d;
                        double[] base = centres[rnd.nextInt(clusters)];
                        for (int c = 0; c < d; c++) {
                            // A small shared component makes the sink keys score high for everyone.
                            qa[off + c] = (float) (base[c] + 0.25 * radius * sink[c] + noise * rnd.nextGaussian());
                        }
                    }
                }
            }
        }
        q.copyFrom(qa);
        k.copyFrom(ka);
        if (v != null) {
            v.copyFrom(va);
        }
    }

    /** Independent N(0, sigma²) components. */
    static void gaussian(Tensor t, SplittableRandom rnd, double sigma) {
        float[] a = new float[(int) t.elementCount()];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (sigma * rnd.nextGaussian());
        }
        t.copyFrom(a);
    }

    private static double[] direction(SplittableRandom rnd, int d, double norm) {
        double[] v = new double[d];
        double s = 0;
        for (int c = 0; c < d; c++) {
            v[c] = rnd.nextGaussian();
            s += v[c] * v[c];
        }
        return scaled(v, norm / Math.sqrt(s));
    }

    private static double[] scaled(double[] v, double f) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] * f;
        }
        return out;
    }

    /** ‖a − b‖_F / ‖b‖_F. */
    static double relativeError(float[] a, double[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double e = a[i] - b[i];
            num += e * e;
            den += b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    static double relativeError(float[] a, float[] b) {
        return relativeError(a, Compare.toDouble(b));
    }
}
