package dev.hyperattn;

/**
 * ReLU^α attention in float64 from the definition, as the oracle for HSR's ReLU mode:
 * {@code w_ij = max(0, scale·q_i·k_j − bias)^α} over the keys the (bottom-right aligned causal)
 * mask lets through, {@code o_i = Σ w_ij v_j / Σ w_ij}, and 0 for a row whose weights are all 0.
 */
final class ReferenceRelu {

    private ReferenceRelu() {
    }

    /** Row-major [B, Hq, Nq, D]. */
    static double[] compute(Tensor q, Tensor k, Tensor v, boolean causal, double scale, int alpha, double bias) {
        int b = (int) q.shape(0), hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        int hkv = (int) k.shape(1), nk = (int) k.shape(2);
        float[] qa = q.toFloatArray(), ka = k.toFloatArray(), va = v.toFloatArray();
        double[] out = new double[b * hq * nq * d];
        int group = hq / hkv;
        double[] acc = new double[d];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < hq; h++) {
                int kh = h / group;
                for (int i = 0; i < nq; i++) {
                    int row = (bi * hq + h) * nq + i;
                    int last = causal ? Math.min(nk - 1, i + nk - nq) : nk - 1;
                    java.util.Arrays.fill(acc, 0);
                    double sum = 0;
                    for (int j = 0; j <= last; j++) {
                        int kOff = ((bi * hkv + kh) * nk + j) * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) qa[row * d + c] * ka[kOff + c];
                        }
                        double x = scale * dot - bias;
                        if (x <= 0) {
                            continue;
                        }
                        double w = Math.pow(x, alpha);
                        sum += w;
                        for (int c = 0; c < d; c++) {
                            acc[c] += w * va[kOff + c];
                        }
                    }
                    if (sum > 0) {
                        for (int c = 0; c < d; c++) {
                            out[row * d + c] = acc[c] / sum;
                        }
                    }
                }
            }
        }
        return out;
    }
}
