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
 * <p>The operands may all be on the CPU (F32, BF16 or F16) or all on one CUDA device (F16 and BF16;
 * see {@link Tensor#allocate(Arena, Device, DType, long...)}); mixing devices is an
 * {@link IllegalArgumentException}.
 *
 * <p>Defaults (non-causal, scale {@code 1/sqrt(head_dim)}, no stream) are the native
 * {@code ha_exact_params_init}'s: a setting left unset is not written.
 */
public final class ExactAttention extends AttentionOp {

    /** {@link #windowLeft}/{@link #windowRight} not set: the native default (unbounded). */
    private static final int UNSET_WINDOW = Integer.MIN_VALUE;

    private static final ExactAttention DEFAULT = new ExactAttention(UNSET, 0f, null, UNSET_WINDOW, UNSET_WINDOW,
            Float.NaN);

    private final int windowLeft;
    private final int windowRight;
    private final float softcap; // NaN: unset

    private ExactAttention(byte causal, float scale, CudaStream stream, int windowLeft, int windowRight,
            float softcap) {
        super(causal, scale, stream);
        this.windowLeft = windowLeft;
        this.windowRight = windowRight;
        this.softcap = softcap;
    }

    static ExactAttention defaults() {
        return DEFAULT;
    }

    /** With or without the causal mask (default: without). */
    public ExactAttention causal(boolean causal) {
        return new ExactAttention(causalFlag(causal), scale, stream, windowLeft, windowRight, softcap);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public ExactAttention scale(float scale) {
        return new ExactAttention(causal, checkScale(scale), stream, windowLeft, windowRight, softcap);
    }

    /**
     * Enqueues runs on {@code stream} (CUDA operands of the stream's device only) and returns
     * without waiting; the operands must stay valid until the stream is synchronized. Null (the
     * default) makes each run finish before it returns.
     */
    public ExactAttention stream(CudaStream stream) {
        return new ExactAttention(causal, scale, stream, windowLeft, windowRight, softcap);
    }

    /**
     * A sliding window: the query row at key position {@code p} (bottom-right aligned, {@code p =
     * i + Nk - Nq}) sees the keys {@code p - left <= j <= p + right}; -1 leaves a side unbounded
     * (the default, both sides). Causal masking caps {@code right} at 0. Mistral's window of 4096
     * is {@code window(4095, 0)}. CPU only for now.
     *
     * @throws IllegalArgumentException unless both are {@code >= -1}
     */
    public ExactAttention window(int left, int right) {
        if (left < -1) {
            throw new IllegalArgumentException("left: must be >= 0, or -1 for unbounded, got " + left);
        }
        if (right < -1) {
            throw new IllegalArgumentException("right: must be >= 0, or -1 for unbounded, got " + right);
        }
        return new ExactAttention(causal, scale, stream, left, right, softcap);
    }

    /**
     * Logit soft-capping (Gemma 2): each scaled score {@code s} becomes {@code cap · tanh(s / cap)}
     * before the softmax; 0 turns it off (the default). With a cap, infinite scores become
     * {@code ±cap}. CPU only for now.
     *
     * @throws IllegalArgumentException unless {@code cap} is finite and {@code >= 0}
     */
    public ExactAttention softcap(float cap) {
        if (!(cap >= 0f) || !Float.isFinite(cap)) {
            throw new IllegalArgumentException("cap: " + cap + " must be finite and >= 0 (0 = off)");
        }
        return new ExactAttention(causal, scale, stream, windowLeft, windowRight, cap);
    }

    /** Keys before its position a row may see; -1 unbounded (the library's default). */
    public int windowLeft() {
        return windowLeft != UNSET_WINDOW ? windowLeft : NativeDefaults.exact().windowLeft();
    }

    /** Keys after its position a row may see; -1 unbounded (the library's default). */
    public int windowRight() {
        return windowRight != UNSET_WINDOW ? windowRight : NativeDefaults.exact().windowRight();
    }

    /** The soft cap; 0 off (the library's default). */
    public float softcap() {
        return !Float.isNaN(softcap) ? softcap : NativeDefaults.exact().softcap();
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

    // ---- batches of sequences ----------------------------------------------------------------

    /**
     * Decodes (or prefills) the sequences of a paged cache in one call: {@code q} and {@code out}
     * are {@code [B, Hq, n, D]} with B = {@code kv.size()}, row block b belonging to the b-th
     * sequence of the batch, each sequence n rows (decoding: n = 1) positioned at the end of its
     * cached keys. Each sequence's rows equal a dense {@link #run} over its keys alone, bit for
     * bit. CPU only.
     *
     * @throws IllegalArgumentException for inconsistent operands (the message names which)
     * @throws IllegalStateException if the batch is stale (its cache changed since
     *     {@link KvCache#batch}) or an operand's arena is closed
     */
    public void run(Tensor q, KvCache.Batch kv, Tensor out) {
        run(q, kv, out, null);
    }

    /** As {@link #run(Tensor, KvCache.Batch, Tensor)}, also writing lse {@code [B, Hq, n]}. */
    public void run(Tensor q, KvCache.Batch kv, Tensor out, Tensor lse) {
        SeqsCall c = SeqsCall.paged(q, null, kv, out);
        call(c.q, c.k, c.v, c.out, lse, null, c);
    }

    /**
     * Packed query rows of several sequences over a paged cache (prefilling chunks of different
     * lengths): {@code q} and {@code out} are {@code [total, Hq, D]}, sequence b owning rows
     * {@code cuSeqlensQ[b] ..< cuSeqlensQ[b+1]} (B + 1 non-decreasing offsets from 0), positioned
     * at the end of its cached keys; lse, when given, is {@code [1, Hq, total]}. Rows of no
     * sequence are not written. CPU only.
     */
    public void runPacked(Tensor q, int[] cuSeqlensQ, KvCache.Batch kv, Tensor out, Tensor lse) {
        SeqsCall c = SeqsCall.paged(q, java.util.Objects.requireNonNull(cuSeqlensQ, "cuSeqlensQ"), kv, out);
        call(c.q, c.k, c.v, c.out, lse, null, c);
    }

    /**
     * Variable-length sequences packed along the token axis (FlashAttention's varlen): q and out
     * {@code [totalQ, Hq, D]}, k and v {@code [totalK, Hkv, D]}; sequence b owns query rows
     * {@code cuSeqlensQ[b] ..< cuSeqlensQ[b+1]} and keys {@code cuSeqlensK[b] ..< cuSeqlensK[b+1]}
     * (B + 1 non-decreasing offsets from 0 each). Causal masking and the window are aligned to
     * each sequence's own lengths, and each sequence's rows equal a dense {@link #run} on it
     * alone, bit for bit. lse, when given, is {@code [1, Hq, totalQ]}. CPU only.
     */
    public void runPacked(Tensor q, int[] cuSeqlensQ, Tensor k, Tensor v, int[] cuSeqlensK, Tensor out, Tensor lse) {
        SeqsCall c = SeqsCall.keys(q, java.util.Objects.requireNonNull(cuSeqlensQ, "cuSeqlensQ"), k, v,
                java.util.Objects.requireNonNull(cuSeqlensK, "cuSeqlensK"), null, out);
        call(c.q, c.k, c.v, c.out, lse, null, c);
    }

    /**
     * A dense cache with a length per sequence (a padded {@code [B, Hkv, capacity, D]} cache):
     * sequence b sees its first {@code kvLengths[b]} keys, q and out {@code [B, Hq, n, D]}. Each
     * sequence equals a dense {@link #run} on it alone. CPU only.
     */
    public void run(Tensor q, Tensor k, Tensor v, int[] kvLengths, Tensor out, Tensor lse) {
        SeqsCall c = SeqsCall.keys(q, null, k, v, null, java.util.Objects.requireNonNull(kvLengths, "kvLengths"),
                out);
        call(c.q, c.k, c.v, c.out, lse, null, c);
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

    /** The window and soft cap, where set (the shared fields are written by AttentionOp). */
    private void writeOwnParams(MemorySegment params) {
        if (windowLeft != UNSET_WINDOW) {
            ha_exact_params.window_left(params, windowLeft);
        }
        if (windowRight != UNSET_WINDOW) {
            ha_exact_params.window_right(params, windowRight);
        }
        if (!Float.isNaN(softcap)) {
            ha_exact_params.softcap(params, softcap);
        }
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
        if (extra instanceof SeqsCall c) {
            c.check(lse);
        } else {
            attentionOperands(q, k, v, out, lse);
        }
    }

    @Override
    int invoke(CallScratch s, MemorySegment params, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
            MemorySegment index, Object extra) {
        writeOwnParams(params);
        if (extra instanceof SeqsCall c) {
            return c.invoke(s, params, lse);
        }
        return hyperattn_h.ha_attention_exact(s.describe(0, q), s.describe(1, k), s.describe(2, v),
                s.describe(3, out), s.describe(4, lse), params, Descriptors.data(q), Descriptors.data(k),
                Descriptors.data(v), Descriptors.data(out), Descriptors.data(lse));
    }

    @Override
    public String toString() {
        return "ExactAttention[" + sharedSettings()
                + (windowLeft == UNSET_WINDOW && windowRight == UNSET_WINDOW ? ""
                        : ", window=(" + windowLeft + ", " + windowRight + ")")
                + (Float.isNaN(softcap) ? "" : ", softcap=" + softcap)
                + (stream == null ? "" : ", stream=" + stream) + "]";
    }
}
