package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/**
 * Exact (softmax) attention, configured by an immutable builder: every setter returns a new
 * instance, so a configured op can be shared between threads and reused.
 *
 * <pre>{@code
 * Attention.exact().causal(true).run(q, k, v, out);
 * }</pre>
 *
 * Shapes: q and out {@code [B, Hq, Nq, D]}, k and v {@code [B, Hkv, Nk, D]} with Hq a multiple
 * of Hkv (query head h reads kv head {@code h / (Hq / Hkv)}), D in 1..256, one dtype for all
 * four. Causal masking is bottom-right aligned: query row i sees keys {@code j <= i + Nk - Nq};
 * a row that sees no key gets output 0 and log-sum-exp -infinity.
 *
 * <p>The operands may all be on the CPU (F32 or BF16) or all on one CUDA device (F16 and BF16;
 * see {@link Tensor#allocate(Arena, Device, DType, long...)}); mixing devices is an
 * {@link IllegalArgumentException}.
 */
public final class ExactAttention {

    private static final ExactAttention DEFAULT = new ExactAttention(false, 0f, null);

    private final boolean causal;
    private final float scale; // 0: 1/sqrt(head_dim), resolved by the library as its ABI says
    private final CudaStream stream; // null: finish before returning

    private ExactAttention(boolean causal, float scale, CudaStream stream) {
        this.causal = causal;
        this.scale = scale;
        this.stream = stream;
    }

    static ExactAttention defaults() {
        return DEFAULT;
    }

    /** With or without the causal mask (default: without). */
    public ExactAttention causal(boolean causal) {
        return new ExactAttention(causal, scale, stream);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public ExactAttention scale(float scale) {
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale: " + scale + " must be finite and > 0");
        }
        return new ExactAttention(causal, scale, stream);
    }

    /**
     * Enqueues runs on {@code stream} (CUDA operands of the stream's device only) and returns
     * without waiting; the operands must stay valid until the stream is synchronized. Null (the
     * default) makes each run finish before it returns.
     */
    public ExactAttention stream(CudaStream stream) {
        return new ExactAttention(causal, scale, stream);
    }

    public boolean isCausal() {
        return causal;
    }

    /** The scale a call with this head dimension uses. */
    public float scaleFor(long headDim) {
        return scale != 0f ? scale : (float) (1.0 / Math.sqrt(headDim));
    }

    /** Computes {@code out = softmax(scale · q kᵀ [+ mask]) v}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        run(q, k, v, out, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor)}, also writing each row's log-sum-exp
     * (natural log of the softmax denominator over scaled scores) to {@code lse}, float32
     * {@code [B, Hq, Nq]} or {@code [B, Hq, Nq, 1]}; {@code lse} may be null.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which)
     * @throws IllegalStateException if an operand's arena is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        Native.ensureLoaded();
        validate(q, k, v, out, lse);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = ha_exact_params.allocate(arena);
            hyperattn_h.ha_exact_params_init(params);
            ha_exact_params.scale(params, scale);
            ha_exact_params.causal(params, causal ? 1 : 0);
            ha_exact_params.stream(params, OperandChecks.stream(stream, "q", q));
            int status = hyperattn_h.ha_attention_exact(Descriptors.of(arena, q), Descriptors.of(arena, k),
                    Descriptors.of(arena, v), Descriptors.of(arena, out), Descriptors.of(arena, lse), params,
                    Descriptors.data(q), Descriptors.data(k), Descriptors.data(v), Descriptors.data(out),
                    Descriptors.data(lse));
            Native.check(status, "ha_attention_exact");
        } finally {
            // The descriptors hold raw addresses, which do not keep segments reachable: without
            // these, an Arena.ofAuto() buffer could be freed by GC while native code runs.
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(lse);
            Reference.reachabilityFence(stream);
        }
    }

    /** Every operand check, shared with the other attention builders. */
    static void validate(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        usable("q", q);
        usable("k", k);
        usable("v", v);
        usable("out", out);
        if (lse != null) {
            usable("lse", lse);
        }
        String dims = "[batch, heads, seq, head_dim]";
        rank4("q", q, dims);
        rank4("k", k, dims);
        rank4("v", v, dims);
        rank4("out", out, dims);
        attentionDType("q", q);
        sameDType("k", k, "q", q);
        sameDType("v", v, "q", q);
        sameDType("out", out, "q", q);
        sameDevice("k", k, "q", q);
        sameDevice("v", v, "q", q);
        sameDevice("out", out, "q", q);
        if (lse != null) {
            sameDevice("lse", lse, "q", q);
        }
        present("q", q);

        headDim("q", q);
        batchAndHeads("q", q);
        batchAndHeads("k", k);
        sameExtent("k", k, "q", q, 0, "batch");
        sameExtent("k", k, "q", q, 3, "head_dim");
        sameExtent("v", v, "k", k, 0, "batch");
        sameExtent("v", v, "k", k, 1, "heads");
        sameExtent("v", v, "k", k, 2, "seq");
        sameExtent("v", v, "q", q, 3, "head_dim");
        if (q.shape(1) % k.shape(1) != 0) {
            throw new IllegalArgumentException("q: heads " + q.shape(1) + " not divisible by kv heads "
                    + k.shape(1));
        }
        sameShape("out", out, "q", q);
        if (lse != null) {
            lse("lse", lse, q.shape(0), q.shape(1), q.shape(2), "q's [batch, heads, seq]");
        }

        addressable("q", q);
        addressable("k", k);
        addressable("v", v);
        addressable("out", out);
        if (lse != null) {
            addressable("lse", lse);
        }
        writableOutput("out", out);
        disjoint("out", out, "q", q);
        disjoint("out", out, "k", k);
        disjoint("out", out, "v", v);
        if (lse != null) {
            writableOutput("lse", lse);
            disjoint("lse", lse, "q", q);
            disjoint("lse", lse, "k", k);
            disjoint("lse", lse, "v", v);
            disjoint("lse", lse, "out", out);
        }
    }

    @Override
    public String toString() {
        return "ExactAttention[causal=" + causal + ", scale=" + (scale == 0f ? "1/sqrt(head_dim)" : scale)
                + (stream == null ? "" : ", stream=" + stream) + "]";
    }
}
