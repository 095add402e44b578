package dev.hyperattn.bench;

import dev.hyperattn.Attention;
import dev.hyperattn.BFloat16;
import dev.hyperattn.DType;
import dev.hyperattn.ExactAttention;
import dev.hyperattn.Hyperattn;
import dev.hyperattn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One exact-attention problem (batch 1, {@code [heads, seq, headDim]} contiguous) in off-heap
 * memory owned by a confined arena, with uniform random q, k, v in [-1, 1), and the two ways to
 * compute it: the library through the Java API, and {@link JavaAttention}.
 */
final class Problem implements AutoCloseable {

    /** The implementations a benchmark's {@code impl} parameter names. */
    static final String NATIVE_1T = "hyperattn-1t";
    static final String NATIVE_2T = "hyperattn-2t";
    static final String JAVA = "java-vector";

    final DType dtype;
    final int hq;
    final int hkv;
    final int nq;
    final int nk;
    final int d;
    final boolean causal;
    final float scale;
    private final Arena arena = Arena.ofConfined();
    final Tensor q;
    final Tensor k;
    final Tensor v;
    final Tensor out;
    final ExactAttention op;
    private final JavaAttention.Scratch scratch;

    Problem(DType dtype, int hq, int hkv, int nq, int nk, int d, boolean causal, long seed) {
        this.dtype = dtype;
        this.hq = hq;
        this.hkv = hkv;
        this.nq = nq;
        this.nk = nk;
        this.d = d;
        this.causal = causal;
        this.scale = (float) (1.0 / Math.sqrt(d));
        q = Tensor.allocate(arena, dtype, 1, hq, nq, d);
        k = Tensor.allocate(arena, dtype, 1, hkv, nk, d);
        v = Tensor.allocate(arena, dtype, 1, hkv, nk, d);
        out = Tensor.allocate(arena, dtype, 1, hq, nq, d);
        SplittableRandom r = new SplittableRandom(seed);
        fill(q, r);
        fill(k, r);
        fill(v, r);
        op = Attention.exact().causal(causal).scale(scale);
        scratch = new JavaAttention.Scratch(nk, d);
    }

    private static void fill(Tensor t, SplittableRandom r) {
        MemorySegment s = t.segment();
        for (long i = 0, n = t.elementCount(); i < n; i++) {
            float x = (float) (r.nextDouble() * 2 - 1);
            switch (t.dtype()) {
                case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, i, x);
                case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, BFloat16.fromFloat(x));
                case F16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(x));
            }
        }
    }

    /**
     * A benchmark's {@code dtype} parameter: {@code F32}, {@code BF16} or {@code F16}, in either
     * case ({@code -p dtype=f16} too); an unknown name fails the trial with the accepted ones.
     */
    static DType dtype(String name) {
        try {
            return DType.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("dtype: " + name + " (F32, BF16 or F16)", e);
        }
    }

    /** FLOPs of one call by the README's count: 4·n_q·n_k·d per head, halved for causal. */
    double flops() {
        double f = 4.0 * nq * nk * d * hq;
        return causal ? f / 2 : f;
    }

    /** Bytes of K and V (each read once by the library; the baseline rereads them per q head). */
    long kvBytes() {
        return 2L * hkv * nk * d * dtype.byteSize();
    }

    void runNative() {
        op.run(q, k, v, out);
    }

    void runJava() {
        JavaAttention.run(q.segment(), k.segment(), v.segment(), out.segment(), dtype,
                hq, hkv, nq, nk, d, causal, scale, scratch);
    }

    /** Sets the library's thread count for {@code impl} (process-wide; JMH forks per trial). */
    static void configure(String impl) {
        switch (impl) {
            case NATIVE_1T -> Hyperattn.setNumThreads(1);
            case NATIVE_2T -> Hyperattn.setNumThreads(2);
            case JAVA -> { }
            default -> throw new IllegalArgumentException("impl: " + impl);
        }
    }

    void run(String impl) {
        if (impl.equals(JAVA)) {
            runJava();
        } else {
            runNative();
        }
    }

    /**
     * Runs both implementations once and fails unless they agree: the baseline must compute the
     * same thing it is compared with.
     */
    void checkAgreement() {
        runNative();
        float[] a = out.toFloatArray();
        out.fill(Float.NaN);
        runJava();
        float[] b = out.toFloatArray();
        // bf16 and f16 outputs (|o| < 1 here): one rounding apart, 4 ulps of slack.
        double tol = switch (dtype) {
            case F32 -> 1e-4;
            case BF16 -> 1.6e-2;
            case F16 -> 2e-3;
        };
        for (int i = 0; i < a.length; i++) {
            if (!(Math.abs((double) a[i] - b[i]) <= tol)) {
                throw new AssertionError("java-vector differs from hyperattn at element " + i + ": "
                        + b[i] + " vs " + a[i] + " (" + this + ")");
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return dtype + " hq=" + hq + " hkv=" + hkv + " nq=" + nq + " nk=" + nk + " d=" + d
                + (causal ? " causal" : "");
    }
}
