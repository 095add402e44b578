package dev.hyperattn.bench;

import dev.hyperattn.BFloat16;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The baseline: attention as Java LLM runtimes write it (llama3.java and the like) with the
 * Vector API, {@link FloatVector#SPECIES_PREFERRED}, one query head and one query row at a
 * time, two-pass softmax: scores {@code scale·q·k} by a vector dot product per visible key (and
 * their max), then {@code exp} and the sum, then {@code out += p·v} by a vector FMA per key into
 * a row accumulator. It reads the same off-heap segments as the native call: batch 1,
 * contiguous {@code [heads, seq, headDim]}, float32 or bfloat16 (widened to float32 on load),
 * GQA by query head {@code h} reading kv head {@code h / (hq / hkv)}, causal bottom-right
 * aligned. Single-threaded.
 */
final class JavaAttention {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many bfloat16 lanes as {@link #F} has floats (half its width). */
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private JavaAttention() {
    }

    /** Scratch for one thread: the scores of one row and its output accumulator. */
    static final class Scratch {
        final float[] scores;
        final float[] acc;

        Scratch(int nk, int d) {
            scores = new float[Math.max(nk, 1)];
            acc = new float[d];
        }
    }

    static void run(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, boolean bf16,
                    int hq, int hkv, int nq, int nk, int d, boolean causal, float scale, Scratch scratch) {
        int group = hq / hkv;
        float[] scores = scratch.scores;
        float[] acc = scratch.acc;
        int es = bf16 ? 2 : 4;
        for (int h = 0; h < hq; h++) {
            long qHead = (long) h * nq * d;
            long kvHead = (long) (h / group) * nk * d;
            for (int i = 0; i < nq; i++) {
                long qRow = (qHead + (long) i * d) * es;
                int visible = causal ? Math.clamp((long) i + nk - nq + 1, 0, nk) : nk;
                // Pass 1: scores and their max.
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    float s = scale * dot(q, qRow, k, (kvHead + (long) j * d) * es, d, bf16);
                    scores[j] = s;
                    max = Math.max(max, s);
                }
                // Pass 2: probabilities (unnormalised) and their sum.
                float sum = 0;
                for (int j = 0; j < visible; j++) {
                    float p = (float) Math.exp(scores[j] - max);
                    scores[j] = p;
                    sum += p;
                }
                // Pass 3: acc = sum_j p_j v_j, a vector FMA per key (saxpy).
                java.util.Arrays.fill(acc, 0f);
                for (int j = 0; j < visible; j++) {
                    axpy(scores[j], v, (kvHead + (long) j * d) * es, acc, d, bf16);
                }
                float inv = visible == 0 ? 0f : 1f / sum;
                long outRow = (qHead + (long) i * d) * es;
                for (int c = 0; c < d; c++) {
                    float o = acc[c] * inv;
                    if (bf16) {
                        out.set(BF16, outRow + 2L * c, BFloat16.fromFloat(o));
                    } else {
                        out.set(F32, outRow + 4L * c, o);
                    }
                }
            }
        }
    }

    static FloatVector load(MemorySegment s, long byteOffset, boolean bf16) {
        if (!bf16) {
            return FloatVector.fromMemorySegment(F, s, byteOffset, LE);
        }
        // bfloat16 is the top half of a float: widen each lane to 32 bits, shift it up.
        ShortVector h = ShortVector.fromMemorySegment(S, s, byteOffset, LE);
        return ((IntVector) h.convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float scalar(MemorySegment s, long byteOffset, boolean bf16) {
        return bf16 ? BFloat16.toFloat(s.get(BF16, byteOffset)) : s.get(F32, byteOffset);
    }

    private static float dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int d, boolean bf16) {
        int es = bf16 ? 2 : 4;
        int c = 0;
        float r = 0;
        int bound = F.loopBound(d);
        if (bound > 0) {
            FloatVector s = FloatVector.zero(F);
            for (; c < bound; c += F.length()) {
                s = load(a, aOff + (long) c * es, bf16).fma(load(b, bOff + (long) c * es, bf16), s);
            }
            r = s.reduceLanes(VectorOperators.ADD);
        }
        for (; c < d; c++) {
            r += scalar(a, aOff + (long) c * es, bf16) * scalar(b, bOff + (long) c * es, bf16);
        }
        return r;
    }

    private static void axpy(float p, MemorySegment v, long vOff, float[] acc, int d, boolean bf16) {
        int es = bf16 ? 2 : 4;
        int c = 0;
        int bound = F.loopBound(d);
        if (bound > 0) {
            FloatVector pv = FloatVector.broadcast(F, p);
            for (; c < bound; c += F.length()) {
                load(v, vOff + (long) c * es, bf16).fma(pv, FloatVector.fromArray(F, acc, c)).intoArray(acc, c);
            }
        }
        for (; c < d; c++) {
            acc[c] += p * scalar(v, vOff + (long) c * es, bf16);
        }
    }
}
