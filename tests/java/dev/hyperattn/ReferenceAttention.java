package dev.hyperattn;

/**
 * Exact attention in float64 straight from the definition, as the oracle for the library:
 * softmax(scale · q kᵀ) v per (batch, head), GQA head mapping h → h / (Hq / Hkv), causal mask
 * bottom-right aligned (row i sees keys j <= i + Nk - Nq), rows with no keys → 0 and -inf.
 * Inputs are read through the tensors, so bf16 inputs enter already rounded to bf16, exactly
 * as the kernels see them.
 */
final class ReferenceAttention {

    /** Row-major [B, Hq, Nq, D] output and [B, Hq, Nq] log-sum-exp. */
    record Result(double[] out, double[] lse) {
    }

    private ReferenceAttention() {
    }

    static Result compute(Tensor q, Tensor k, Tensor v, boolean causal, double scale) {
        int b = (int) q.shape(0), hq = (int) q.shape(1), nq = (int) q.shape(2), d = (int) q.shape(3);
        int hkv = (int) k.shape(1), nk = (int) k.shape(2);
        float[] qa = q.toFloatArray(), ka = k.toFloatArray(), va = v.toFloatArray();
        double[] out = new double[b * hq * nq * d];
        double[] lse = new double[b * hq * nq];
        double[] s = new double[nk];
        int group = hq / hkv;
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < hq; h++) {
                int kh = h / group;
                for (int i = 0; i < nq; i++) {
                    int row = (bi * hq + h) * nq + i;
                    int last = causal ? Math.min(nk - 1, i + nk - nq) : nk - 1;
                    if (last < 0) {
                        lse[row] = Double.NEGATIVE_INFINITY; // out row stays 0
                        continue;
                    }
                    int qOff = row * d;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= last; j++) {
                        int kOff = ((bi * hkv + kh) * nk + j) * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) qa[qOff + c] * ka[kOff + c];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= last; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= last; j++) {
                        double p = s[j] / sum;
                        int vOff = ((bi * hkv + kh) * nk + j) * d;
                        for (int c = 0; c < d; c++) {
                            out[qOff + c] += p * va[vOff + c];
                        }
                    }
                    lse[row] = max + Math.log(sum);
                }
            }
        }
        return new Result(out, lse);
    }
}
