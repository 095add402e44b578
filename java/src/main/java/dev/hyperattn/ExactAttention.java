package dev.hyperattn;

import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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
 *
 * <p>Defaults (non-causal, scale {@code 1/sqrt(head_dim)}, no stream) are the native
 * {@code ha_exact_params_init}'s: a setting left unset is not written.
 */
public final class ExactAttention extends AttentionOp {

    private static final ExactAttention DEFAULT = new ExactAttention(UNSET, 0f, null);

    private ExactAttention(byte causal, float scale, CudaStream stream) {
        super(causal, scale, stream);
    }

    static ExactAttention defaults() {
        return DEFAULT;
    }

    /** With or without the causal mask (default: without). */
    public ExactAttention causal(boolean causal) {
        return new ExactAttention(causalFlag(causal), scale, stream);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public ExactAttention scale(float scale) {
        return new ExactAttention(causal, checkScale(scale), stream);
    }

    /**
     * Enqueues runs on {@code stream} (CUDA operands of the stream's device only) and returns
     * without waiting; the operands must stay valid until the stream is synchronized. Null (the
     * default) makes each run finish before it returns.
     */
    public ExactAttention stream(CudaStream stream) {
        return new ExactAttention(causal, scale, stream);
    }

    /** Computes {@code out = softmax(scale · q kᵀ [+ mask]) v}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        call(q, k, v, out, null, null, null);
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
        call(q, k, v, out, lse, null, null);
    }

    /** Every operand check, shared with the other attention builders. */
    static void validate(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        attentionOperands(q, k, v, out, lse);
    }

    // ---- the op-specific part of AttentionOp --------------------------------------------------

    private static final class Spec {
        static final ParamsSpec VALUE = new ParamsSpec(NativeDefaults.exact().template(),
                ha_exact_params.scale$offset(), ha_exact_params.causal$offset(), ha_exact_params.stream$offset());
    }

    @Override
    String function() {
        return "ha_attention_exact";
    }

    @Override
    ParamsSpec params() {
        return Spec.VALUE;
    }

    @Override
    boolean defaultCausal() {
        return NativeDefaults.exact().causal();
    }

    @Override
    float defaultScale() {
        return NativeDefaults.exact().scale();
    }

    @Override
    void checkOperands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Object extra) {
        attentionOperands(q, k, v, out, lse);
    }

    @Override
    int invoke(CallScratch s, MemorySegment params, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
            MemorySegment index, Object extra) {
        return hyperattn_h.ha_attention_exact(s.describe(0, q), s.describe(1, k), s.describe(2, v),
                s.describe(3, out), s.describe(4, lse), params, Descriptors.data(q), Descriptors.data(k),
                Descriptors.data(v), Descriptors.data(out), Descriptors.data(lse));
    }

    @Override
    public String toString() {
        return "ExactAttention[" + sharedSettings() + (stream == null ? "" : ", stream=" + stream) + "]";
    }
}
