package dev.hyperattn.bench;

import dev.hyperattn.BFloat16;
import dev.hyperattn.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The baseline: attention as Java LLM runtimes write it (llama3.java and the like) with the
 * Vector API, {@link FloatVector#SPECIES_PREFERRED}, one query head and one query row at a
 * time, two-pass softmax: scores {@code scale·q·k} by a vector dot product per visible key (and
 * their max), then {@code exp} and the sum, then {@code out += p·v} by a vector FMA per key into
 * a row accumulator. It reads the same off-heap segments as the native call: batch 1,
 * contiguous {@code [heads, seq, headDim]}, float32, bfloat16 or float16 (widened to float32 on
 * load, outputs rounded to nearest even as the library does),
 * GQA by query head {@code h} reading kv head {@code h / (hq / hkv)}, causal bottom-right
 * aligned. Single-threaded.
 */
final class JavaAttention {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many 16-bit lanes as {@link #F} has floats (half its width). */
    private static final VectorSpecies<Short> S =
            VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;

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

    static void run(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, DType dt,
                    int hq, int hkv, int nq, int nk, int d, boolean causal, float scale, Scratch scratch) {
        int group = hq / hkv;
        float[] scores = scratch.scores;
        float[] acc = scratch.acc;
        int es = dt.byteSize();
        for (int h = 0; h < hq; h++) {
            long qHead = (long) h * nq * d;
            long kvHead = (long) (h / group) * nk * d;
            for (int i = 0; i < nq; i++) {
                long qRow = (qHead + (long) i * d) * es;
                int visible = causal ? Math.clamp((long) i + nk - nq + 1, 0, nk) : nk;
                // Pass 1: scores and their max.
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    float s = scale * dot(q, qRow, k, (kvHead + (long) j * d) * es, d, dt);
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
                    axpy(scores[j], v, (kvHead + (long) j * d) * es, acc, d, dt);
                }
                float inv = visible == 0 ? 0f : 1f / sum;
                long outRow = (qHead + (long) i * d) * es;
                for (int c = 0; c < d; c++) {
                    float o = acc[c] * inv;
                    switch (dt) {
                        case F32 -> out.set(F32, outRow + 4L * c, o);
                        case BF16 -> out.set(HALF, outRow + 2L * c, BFloat16.fromFloat(o));
                        case F16 -> out.set(HALF, outRow + 2L * c, Float.floatToFloat16(o));
                    }
                }
            }
        }
    }

    static FloatVector load(MemorySegment s, long byteOffset, DType dt) {
        if (dt == DType.F32) {
            return FloatVector.fromMemorySegment(F, s, byteOffset, LE);
        }
        ShortVector h = ShortVector.fromMemorySegment(S, s, byteOffset, LE);
        IntVector w = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        if (dt == DType.BF16) {
            // bfloat16 is the top half of a float: shift each lane up.
            return w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
        return f16ToFloat(w);
    }

    /**
     * float16 lanes (the bits in the low half of each int) to float, as {@link Float#float16ToFloat}
     * does, which the Vector API has no conversion for. The magnitude's bits moved up to a float's
     * exponent field read as the value times 2^-112, normals and subnormals alike (an fp16
     * subnormal lands on an fp32 subnormal, and the product by 2^112 is exact); exponent 31
     * (infinity, NaN with its payload) must become 255 instead, and a NaN comes out quiet, as
     * from {@code float16ToFloat} (and F16C), so every one of the 65536 encodings matches it.
     */
    static FloatVector f16ToFloat(IntVector w) {
        IntVector mag = w.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector bits = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = w.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
        VectorMask<Integer> nan = special.and(w.and(0x3ff).compare(VectorOperators.NE, 0));
        bits = bits.blend(mag.or(0x7f800000), special).blend(mag.or(0x7fc00000), nan);
        return bits.or(w.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private static float scalar(MemorySegment s, long byteOffset, DType dt) {
        return switch (dt) {
            case F32 -> s.get(F32, byteOffset);
            case BF16 -> BFloat16.toFloat(s.get(HALF, byteOffset));
            case F16 -> Float.float16ToFloat(s.get(HALF, byteOffset));
        };
    }

    private static float dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int d, DType dt) {
        int es = dt.byteSize();
        int c = 0;
        float r = 0;
        int bound = F.loopBound(d);
        if (bound > 0) {
            FloatVector s = FloatVector.zero(F);
            for (; c < bound; c += F.length()) {
                s = load(a, aOff + (long) c * es, dt).fma(load(b, bOff + (long) c * es, dt), s);
            }
            r = s.reduceLanes(VectorOperators.ADD);
        }
        for (; c < d; c++) {
            r += scalar(a, aOff + (long) c * es, dt) * scalar(b, bOff + (long) c * es, dt);
        }
        return r;
    }

    private static void axpy(float p, MemorySegment v, long vOff, float[] acc, int d, DType dt) {
        int es = dt.byteSize();
        int c = 0;
        int bound = F.loopBound(d);
        if (bound > 0) {
            FloatVector pv = FloatVector.broadcast(F, p);
            for (; c < bound; c += F.length()) {
                load(v, vOff + (long) c * es, dt).fma(pv, FloatVector.fromArray(F, acc, c)).intoArray(acc, c);
            }
        }
        for (; c < d; c++) {
            acc[c] += p * scalar(v, vOff + (long) c * es, dt);
        }
    }
}
