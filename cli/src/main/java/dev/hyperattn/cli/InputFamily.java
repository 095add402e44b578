package dev.hyperattn.cli;

import dev.hyperattn.Tensor;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The input families of the approximate-attention trade-off (the demo and the JUnit tests):
 * synthetic Q, K, V of known structure, each a pure function of a seed, for any
 * {@code Nq != Nk}, GQA ({@code Hq} a multiple of {@code Hkv}), any head dim (sized for 64 and
 * 128), F32, BF16 or F16 tensors of any strides. Scores are meant for the default scale
 * {@code 1/√d}. Query row {@code i} sits at cache position {@code p = i + Nk − Nq}, as the
 * bottom-right aligned causal mask has it.
 */
public enum InputFamily {

    /** Q, K, V i.i.d. N(0, 1): flat attention with no structure to exploit (the hard case for sparsity). */
    DIFFUSE("Q, K, V i.i.d. N(0,1): flat attention, nothing to exploit"),

    /**
     * 32 centres N(0, I) per kv head; keys and queries {@code 0.8·centre + 0.6·noise} of a random
     * centre per position; V i.i.d. N(0, 1).
     */
    CLUSTERED("32 centres; keys and queries 0.8*centre + 0.6*noise, random centre per position; V iid"),

    /**
     * LLM-like: 4 sink keys at positions 0..3 along a shared direction every query has a
     * component on; RoPE-rotated queries and keys built from a slowly varying content vector
     * (AR(1), correlation length ≈ 50 positions) plus noise, so nearby positions score higher;
     * ≈1% of queries with a far-back key aligned to them (score ln p + 0.5 above the
     * background); V i.i.d. N(0, 1) plus a small shared mean.
     */
    LLM("4 sinks, RoPE q/k from a slowly varying content vector + noise (locality), ~1% far-back"
            + " aligned keys; V iid + shared mean"),

    /**
     * Needles: a diffuse background; each group of 32 consecutive queries shares a unit
     * direction {@code u_g} (the queries' component along it is set to √d), and one key at
     * least 1024 positions before the group is set to {@code (ln Nk + 1.5)·u_g}, so its score
     * exceeds the background's mean by {@code ln Nk + 1.5} nats (it carries most of the row's
     * mass). Groups that start before position 1024 have no needle.
     */
    NEEDLE("diffuse background; groups of 32 queries share a direction u_g, one key >= 1024 positions"
            + " back along u_g scoring ln(Nk)+1.5 nats above the background");

    /** Queries per needle group, and the least distance of a needle behind its group. */
    public static final int NEEDLE_GROUP = 32;
    public static final int NEEDLE_DISTANCE = 1024;

    private final String description;

    InputFamily(String description) {
        this.description = description;
    }

    /** One sentence: what the family is. */
    public String description() {
        return description;
    }

    /** The lower-case name used by the CLI. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @throws IllegalArgumentException for an unknown name
     */
    public static InputFamily parse(String name) {
        for (InputFamily f : values()) {
            if (f.label().equals(name.trim().toLowerCase(Locale.ROOT))) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown input family '" + name + "' (diffuse, clustered, llm, needle)");
    }

    /**
     * Fills {@code q [B, Hq, Nq, D]}, {@code k} and {@code v [B, Hkv, Nk, D]} (host tensors,
     * F32, BF16 or F16) deterministically from {@code seed}.
     */
    public void fill(Tensor q, Tensor k, Tensor v, long seed) {
        int batch = (int) q.shape(0), hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        int hkv = (int) k.shape(1), nk = (int) k.shape(2);
        if (hq % hkv != 0 || k.shape(3) != d || v.shape(2) != nk || v.shape(1) != hkv) {
            throw new IllegalArgumentException("inconsistent shapes for " + label());
        }
        int group = hq / hkv;
        for (int b = 0; b < batch; b++) {
            for (int kh = 0; kh < hkv; kh++) {
                SplittableRandom rnd = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (1 + b * (long) hkv + kh)));
                float[] kk = new float[nk * d];
                float[] vv = new float[nk * d];
                float[][] qq = new float[group][nq * d];
                switch (this) {
                    case DIFFUSE -> diffuse(rnd, kk, vv, qq);
                    case CLUSTERED -> clustered(rnd, d, kk, vv, qq);
                    case LLM -> llm(rnd, d, nq, nk, kk, vv, qq);
                    case NEEDLE -> needle(rnd, d, nq, nk, kk, vv, qq);
                    default -> throw new AssertionError(this);
                }
                write(k, b, kh, kk, nk, d);
                write(v, b, kh, vv, nk, d);
                for (int g = 0; g < group; g++) {
                    write(q, b, kh * group + g, qq[g], nq, d);
                }
            }
        }
    }

    private static void diffuse(SplittableRandom rnd, float[] kk, float[] vv, float[][] qq) {
        gaussian(rnd, kk, 1);
        gaussian(rnd, vv, 1);
        for (float[] q : qq) {
            gaussian(rnd, q, 1);
        }
    }

    private static void clustered(SplittableRandom rnd, int d, float[] kk, float[] vv, float[][] qq) {
        int clusters = 32;
        double[][] centres = new double[clusters][d];
        for (double[] c : centres) {
            for (int i = 0; i < d; i++) {
                c[i] = rnd.nextGaussian();
            }
        }
        clusterRows(rnd, centres, kk, d);
        for (float[] q : qq) {
            clusterRows(rnd, centres, q, d);
        }
        gaussian(rnd, vv, 1);
    }

    private static void clusterRows(SplittableRandom rnd, double[][] centres, float[] rows, int d) {
        for (int r = 0; r < rows.length / d; r++) {
            double[] c = centres[rnd.nextInt(centres.length)];
            for (int i = 0; i < d; i++) {
                rows[r * d + i] = (float) (0.8 * c[i] + 0.6 * rnd.nextGaussian());
            }
        }
    }

    private static void llm(SplittableRandom rnd, int d, int nq, int nk, float[] kk, float[] vv, float[][] qq) {
        int sinks = 4;
        double rho = 0.98, innov = Math.sqrt(1 - rho * rho);
        double content = 0.7, noise = 0.5, beta = 2.0, sinkScore = 5.0;
        double scale = 1 / Math.sqrt(d);
        // Content by cache position, from min(0, Nk - Nq) (queries before the first key) to Nk - 1.
        int p0 = Math.min(0, nk - nq);
        int positions = nk - p0;
        double[] c = new double[positions * d];
        for (int i = 0; i < d; i++) {
            c[i] = rnd.nextGaussian();
        }
        for (int p = 1; p < positions; p++) {
            for (int i = 0; i < d; i++) {
                c[p * d + i] = rho * c[(p - 1) * d + i] + innov * rnd.nextGaussian();
            }
        }
        double[] sink = unit(rnd, d);
        double[] freqs = ropeFrequencies(d);
        double[] x = new double[d];
        for (int j = 0; j < nk; j++) {
            if (j < sinks) {
                // Along the sink direction: scaled score ~ sinkScore for a query's beta component.
                double len = sinkScore / (scale * beta);
                for (int i = 0; i < d; i++) {
                    kk[j * d + i] = (float) (len * sink[i] + 0.1 * rnd.nextGaussian());
                }
                continue;
            }
            for (int i = 0; i < d; i++) {
                x[i] = content * c[(j - p0) * d + i] + noise * rnd.nextGaussian();
            }
            rope(x, j, freqs);
            for (int i = 0; i < d; i++) {
                kk[j * d + i] = (float) x[i];
            }
        }
        for (float[] q : qq) {
            for (int r = 0; r < nq; r++) {
                int p = r + nk - nq;
                for (int i = 0; i < d; i++) {
                    x[i] = content * c[(p - p0) * d + i] + noise * rnd.nextGaussian();
                }
                rope(x, p, freqs);
                for (int i = 0; i < d; i++) {
                    q[r * d + i] = (float) (x[i] + beta * sink[i]);
                }
            }
        }
        // About 1% of query rows get a far-back key aligned with them.
        int far = 512;
        for (float[] q : qq) {
            for (int r = 0; r < nq; r++) {
                int p = r + nk - nq;
                if (p - far < sinks || rnd.nextDouble() >= 0.01) {
                    continue;
                }
                int j = sinks + rnd.nextInt(p - far - sinks + 1);
                double norm = 0;
                for (int i = 0; i < d; i++) {
                    norm += (double) q[r * d + i] * q[r * d + i];
                }
                norm = Math.sqrt(norm);
                double len = (Math.log(p + 1.0) + 0.5) / (scale * norm);
                for (int i = 0; i < d; i++) {
                    kk[j * d + i] = (float) (len * q[r * d + i] / norm);
                }
            }
        }
        double[] mean = new double[d];
        for (int i = 0; i < d; i++) {
            mean[i] = 0.3 * rnd.nextGaussian();
        }
        for (int j = 0; j < nk; j++) {
            for (int i = 0; i < d; i++) {
                vv[j * d + i] = (float) (rnd.nextGaussian() + mean[i]);
            }
        }
    }

    private static void needle(SplittableRandom rnd, int d, int nq, int nk, float[] kk, float[] vv, float[][] qq) {
        diffuse(rnd, kk, vv, qq);
        double along = Math.sqrt(d);
        double needle = (Math.log(nk) + 1.5) * Math.sqrt(d) / along; // scale * along * needle = ln Nk + 1.5
        for (int start = 0; start < nq; start += NEEDLE_GROUP) {
            int p = start + nk - nq;
            if (p - NEEDLE_DISTANCE < 0) {
                continue;
            }
            double[] u = unit(rnd, d);
            int j = rnd.nextInt(p - NEEDLE_DISTANCE + 1);
            for (int i = 0; i < d; i++) {
                kk[j * d + i] = (float) (needle * u[i]);
            }
            for (float[] q : qq) {
                for (int r = start; r < Math.min(nq, start + NEEDLE_GROUP); r++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) {
                        dot += q[r * d + i] * u[i];
                    }
                    for (int i = 0; i < d; i++) {
                        q[r * d + i] = (float) (q[r * d + i] + (along - dot) * u[i]);
                    }
                }
            }
        }
    }

    /** RoPE frequencies {@code 10000^(-2i/d)} of the pairs (2i, 2i+1). */
    static double[] ropeFrequencies(int d) {
        double[] f = new double[d / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = Math.pow(10000.0, -2.0 * i / d);
        }
        return f;
    }

    /** Rotary position embedding of {@code x} at position {@code pos}, pairs (2i, 2i+1). */
    static void rope(double[] x, long pos, double[] freqs) {
        for (int i = 0; i + 1 < x.length; i += 2) {
            double theta = pos * freqs[i / 2];
            double cs = Math.cos(theta), sn = Math.sin(theta);
            double a = x[i], b = x[i + 1];
            x[i] = a * cs - b * sn;
            x[i + 1] = a * sn + b * cs;
        }
    }

    private static double[] unit(SplittableRandom rnd, int d) {
        double[] u = new double[d];
        double s = 0;
        for (int i = 0; i < d; i++) {
            u[i] = rnd.nextGaussian();
            s += u[i] * u[i];
        }
        s = Math.sqrt(s);
        for (int i = 0; i < d; i++) {
            u[i] /= s;
        }
        return u;
    }

    private static void gaussian(SplittableRandom rnd, float[] a, double sigma) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (sigma * rnd.nextGaussian());
        }
    }

    private static void write(Tensor t, int b, int h, float[] rows, int n, int d) {
        for (int s = 0; s < n; s++) {
            for (int c = 0; c < d; c++) {
                InputData.set(t, b, h, s, c, rows[s * d + c]);
            }
        }
    }
}
