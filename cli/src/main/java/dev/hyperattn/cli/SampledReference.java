package dev.hyperattn.cli;

import dev.hyperattn.BFloat16;
import dev.hyperattn.DType;
import dev.hyperattn.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Float64 attention for a few sampled (batch, head, row) triples, compared with the library's
 * output. Checking every row would cost as much as the run itself in slow Java; a random sample
 * still catches indexing, masking and GQA mistakes, which corrupt whole rows.
 */
final class SampledReference {

    /** Largest errors seen over the sampled rows. */
    record Result(int rows, double maxAbsError, double maxRelError) {
    }

    private SampledReference() {
    }

    static Result check(Tensor q, Tensor k, Tensor v, Tensor out, boolean causal, float scale, int samples,
            long seed) {
        return check(q, k, v, out, causal, scale, samples, seed, 0, 0);
    }

    /**
     * As {@link #check(Tensor, Tensor, Tensor, Tensor, boolean, float, int, long)} for ReLU^α
     * attention when {@code alpha >= 1}: weights {@code max(0, scale·q·k − bias)^α}, normalised,
     * and a zero row when no key is above the bias. {@code alpha == 0} means softmax.
     */
    static Result check(Tensor q, Tensor k, Tensor v, Tensor out, boolean causal, float scale, int samples,
            long seed, int alpha, double bias) {
        long b = q.shape(0), hq = q.shape(1), nq = q.shape(2), d = q.shape(3);
        long hkv = k.shape(1), nk = k.shape(2);
        long group = hq / hkv;
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        double maxAbs = 0, maxRel = 0;
        double[] scores = new double[(int) nk];
        double[] ref = new double[(int) d];
        double[] qRow = new double[(int) d];
        for (int s = 0; s < samples; s++) {
            long bi = rnd.nextLong(b), h = rnd.nextLong(hq), i = rnd.nextLong(nq);
            long kh = h / group;
            // Bottom-right aligned causal mask: row i sees keys j <= i + nk - nq.
            long last = causal ? Math.min(nk - 1, i + nk - nq) : nk - 1;
            for (long c = 0; c < d; c++) {
                qRow[(int) c] = at(q, bi, h, i, c);
            }
            java.util.Arrays.fill(ref, 0);
            if (last >= 0 && alpha >= 1) {
                double sum = 0;
                for (long j = 0; j <= last; j++) {
                    double dot = 0;
                    for (long c = 0; c < d; c++) {
                        dot += qRow[(int) c] * at(k, bi, kh, j, c);
                    }
                    double x = dot * scale - bias;
                    scores[(int) j] = x > 0 ? Math.pow(x, alpha) : 0;
                    sum += scores[(int) j];
                }
                for (long j = 0; sum > 0 && j <= last; j++) {
                    double w = scores[(int) j] / sum;
                    if (w != 0) {
                        for (long c = 0; c < d; c++) {
                            ref[(int) c] += w * at(v, bi, kh, j, c);
                        }
                    }
                }
            } else if (last >= 0) {
                double max = Double.NEGATIVE_INFINITY;
                for (long j = 0; j <= last; j++) {
                    double dot = 0;
                    for (long c = 0; c < d; c++) {
                        dot += qRow[(int) c] * at(k, bi, kh, j, c);
                    }
                    scores[(int) j] = dot * scale;
                    max = Math.max(max, scores[(int) j]);
                }
                double sum = 0;
                for (long j = 0; j <= last; j++) {
                    double p = Math.exp(scores[(int) j] - max);
                    scores[(int) j] = p;
                    sum += p;
                }
                for (long j = 0; j <= last; j++) {
                    double p = scores[(int) j] / sum;
                    for (long c = 0; c < d; c++) {
                        ref[(int) c] += p * at(v, bi, kh, j, c);
                    }
                }
            }
            double rowAbs = 0, rowScale = 0;
            for (long c = 0; c < d; c++) {
                double got = at(out, bi, h, i, c);
                double err = Double.isNaN(got) ? Double.POSITIVE_INFINITY : Math.abs(got - ref[(int) c]);
                rowAbs = Math.max(rowAbs, err);
                rowScale = Math.max(rowScale, Math.abs(ref[(int) c]));
            }
            maxAbs = Math.max(maxAbs, rowAbs);
            // Relative to the row's largest value: per-element relative error is meaningless
            // for outputs near zero, which averaging random values produces often.
            maxRel = Math.max(maxRel, rowScale > 0 ? rowAbs / rowScale : rowAbs == 0 ? 0 : Double.POSITIVE_INFINITY);
        }
        return new Result(samples, maxAbs, maxRel);
    }

    // Direct strided read: Tensor.getFloat's per-call index checks and varargs would dominate.
    static double at(Tensor t, long b, long h, long s, long c) {
        MemorySegment seg = t.segment();
        long idx = b * t.stride(0) + h * t.stride(1) + s * t.stride(2) + c * t.stride(3);
        return switch (t.dtype()) {
            case F32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT, idx);
            case BF16 -> BFloat16.toFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT, idx));
            case F16 -> Float.float16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT, idx));
        };
    }
}
