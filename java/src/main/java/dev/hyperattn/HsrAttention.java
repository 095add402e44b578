package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.ha_hsr_params;
import dev.hyperattn.ffi.ha_hsr_stats;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;

/**
 * HSR sparse attention (after Chen et al. 2024, arXiv 2410.10165): attention over only the keys
 * that half-space reporting finds, configured by an immutable builder.
 *
 * <pre>{@code
 * try (KeyIndex index = KeyIndex.build(k, v)) {
 *     HsrStats stats = HsrStats.allocateFor(arena, q);
 *     Attention.hsr().softmax(1e-3).index(index).run(q, k, v, out, stats);
 *     // stats.errorBound(row) >= max |out - exact| over the row, certified
 * }
 * }</pre>
 *
 * Two weightings:
 * <ul>
 *   <li>{@link #relu(int, float) ReLU^α}: {@code w_ij = ReLU(scale·q_i·k_j − bias)^α},
 *       {@code o_i = Σ w_ij v_j / Σ w_ij}. Only keys with {@code q·k > bias/scale} contribute,
 *       and all of them are found, so the result is <b>exact</b>. A row with no key above the
 *       bias outputs <b>zeros</b>.</li>
 *   <li>{@link #softmax(double) softmax} (the default, ε = 1e-3): keys above a per-query
 *       threshold, renormalised, with the dropped probability mass of every row at most ε,
 *       certified from provable bounds, and a per-row bound on the output error.</li>
 * </ul>
 * The library falls back to dense exact attention when most keys survive, so the cost is never
 * much above exact attention's. Operands as for {@link ExactAttention} (CPU only, F32 or BF16,
 * GQA, bottom-right aligned causal mask). Without an {@link #index(KeyIndex) index} one is built
 * for each call; with one, it must have been built over exactly this {@code k} (and this
 * {@code v} if it was built with values). Per-row outputs (bound, keys touched) come through
 * {@link #run(Tensor, Tensor, Tensor, Tensor, HsrStats)}.
 */
public final class HsrAttention {

    /** How scores become weights. */
    public enum Weighting {
        /** ReLU(scale·q·k − bias)^α, exact. */
        RELU,
        /** Softmax over the keys above a per-query threshold, dropped mass ≤ ε certified. */
        SOFTMAX
    }

    public static final double DEFAULT_EPSILON = 1e-3;

    private static final HsrAttention DEFAULT = new HsrAttention(Weighting.SOFTMAX, 1, 0f, DEFAULT_EPSILON, false,
            0f, null);

    private final Weighting weighting;
    private final int alpha;
    private final float bias;
    private final double epsilon;
    private final boolean causal;
    private final float scale; // 0: 1/sqrt(head_dim)
    private final KeyIndex index;

    private HsrAttention(Weighting weighting, int alpha, float bias, double epsilon, boolean causal, float scale,
            KeyIndex index) {
        this.weighting = weighting;
        this.alpha = alpha;
        this.bias = bias;
        this.epsilon = epsilon;
        this.causal = causal;
        this.scale = scale;
        this.index = index;
    }

    static HsrAttention defaults() {
        return DEFAULT;
    }

    /**
     * ReLU^α weights {@code ReLU(scale·q·k − bias)^α}: exact; rows with no key above the bias
     * output zeros. The bias is in scaled-score units (with the default scale, a bias b keeps
     * keys with {@code q·k > b·√d}).
     *
     * @throws IllegalArgumentException if {@code alpha < 1} or {@code bias} is not finite
     */
    public HsrAttention relu(int alpha, float bias) {
        if (alpha < 1) {
            throw new IllegalArgumentException("alpha: " + alpha + " must be >= 1");
        }
        if (!Float.isFinite(bias)) {
            throw new IllegalArgumentException("bias: " + bias + " must be finite");
        }
        return new HsrAttention(Weighting.RELU, alpha, bias, epsilon, causal, scale, index);
    }

    /**
     * Softmax keeping, per row, the keys above a threshold chosen so that the dropped
     * probability mass is at most {@code epsilon} (certified). Smaller ε: closer to exact, more
     * keys touched.
     *
     * @throws IllegalArgumentException unless {@code 0 < epsilon < 1}
     */
    public HsrAttention softmax(double epsilon) {
        if (!(epsilon > 0 && epsilon < 1)) {
            throw new IllegalArgumentException("epsilon: " + epsilon + " outside (0, 1)");
        }
        return new HsrAttention(Weighting.SOFTMAX, alpha, bias, epsilon, causal, scale, index);
    }

    /** With or without the causal mask (default: without), bottom-right aligned. */
    public HsrAttention causal(boolean causal) {
        return new HsrAttention(weighting, alpha, bias, epsilon, causal, scale, index);
    }

    /**
     * With score scale {@code scale} (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public HsrAttention scale(float scale) {
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale: " + scale + " must be finite and > 0");
        }
        return new HsrAttention(weighting, alpha, bias, epsilon, causal, scale, index);
    }

    /**
     * Uses {@code index} (built over the {@code k} of the calls, and their {@code v} if it has
     * values) instead of building one per call; null (the default) builds one per call.
     */
    public HsrAttention index(KeyIndex index) {
        return new HsrAttention(weighting, alpha, bias, epsilon, causal, scale, index);
    }

    public Weighting weighting() {
        return weighting;
    }

    public int alpha() {
        return alpha;
    }

    public float bias() {
        return bias;
    }

    public double epsilon() {
        return epsilon;
    }

    public boolean isCausal() {
        return causal;
    }

    public KeyIndex index() {
        return index;
    }

    /** The scale a call with this head dimension uses. */
    public float scaleFor(long headDim) {
        return scale != 0f ? scale : (float) (1.0 / Math.sqrt(headDim));
    }

    /** Computes HSR attention into {@code out}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        run(q, k, v, out, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor)}, also writing each query row's dropped-mass
     * bound, error bound and keys touched to {@code stats} (which may be null), whose row count
     * must be {@code B × Hq × Nq}.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which), operands not on the CPU, an index built for other keys or values
     * @throws IllegalStateException if an operand's or the stats' arena is closed, or the index is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, HsrStats stats) {
        Native.ensureLoaded();
        cpuOnly("q", q, "HSR attention");
        ExactAttention.validate(q, k, v, out, null);
        if (stats != null) {
            long rows = q.shape(0) * q.shape(1) * q.shape(2);
            if (stats.rows() != rows) {
                throw new IllegalArgumentException("stats: " + stats.rows() + " rows, but q has B*Hq*Nq = " + rows);
            }
            if (!stats.keysTouchedSegment().scope().isAlive()) {
                throw new IllegalStateException("stats: its memory is no longer valid (the arena that owns it is closed)");
            }
            if (!stats.keysTouchedSegment().isAccessibleBy(Thread.currentThread())) {
                throw new WrongThreadException("stats: its memory is confined to another thread");
            }
        }
        MemorySegment handle = MemorySegment.NULL;
        if (index != null) {
            handle = index.beginUse();
        }
        try (Arena arena = Arena.ofConfined()) {
            if (index != null) {
                checkIndex(k, v);
            }
            MemorySegment params = ha_hsr_params.allocate(arena);
            hyperattn_h.ha_hsr_params_init(params);
            ha_hsr_params.mode(params, weighting == Weighting.RELU ? hyperattn_h.HA_HSR_RELU() : hyperattn_h.HA_HSR_SOFTMAX());
            ha_hsr_params.alpha(params, alpha);
            ha_hsr_params.bias(params, bias);
            ha_hsr_params.scale(params, scale);
            ha_hsr_params.epsilon(params, epsilon);
            ha_hsr_params.causal(params, causal ? 1 : 0);
            MemorySegment st = MemorySegment.NULL;
            MemorySegment dropped = MemorySegment.NULL, bound = MemorySegment.NULL, touched = MemorySegment.NULL;
            if (stats != null) {
                dropped = stats.droppedMassSegment();
                bound = stats.errorBoundSegment();
                touched = stats.keysTouchedSegment();
                st = ha_hsr_stats.allocate(arena);
                ha_hsr_stats.dropped_mass(st, stats.droppedMassSegment());
                ha_hsr_stats.error_bound(st, stats.errorBoundSegment());
                ha_hsr_stats.keys_touched(st, stats.keysTouchedSegment());
            }
            int status = hyperattn_h.ha_attention_hsr(Descriptors.of(arena, q), Descriptors.of(arena, k),
                    Descriptors.of(arena, v), Descriptors.of(arena, out), handle, params, st,
                    Descriptors.data(q), Descriptors.data(k), Descriptors.data(v), Descriptors.data(out),
                    dropped, bound, touched);
            Native.check(status, "ha_attention_hsr");
        } finally {
            if (index != null) {
                index.endUse();
            }
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(stats);
            Reference.reachabilityFence(index);
        }
    }

    private void checkIndex(Tensor k, Tensor v) {
        Tensor ik = index.keys();
        if (!KeyIndex.sameIndexedView(k, ik)) {
            throw new IllegalArgumentException("index: built for keys " + describe(ik) + ", but k is " + describe(k)
                    + " (an index serves exactly the K view it was built over or appended to)");
        }
        Tensor iv = index.values();
        if (iv != null && !KeyIndex.sameIndexedView(v, iv)) {
            throw new IllegalArgumentException("index: built with values " + describe(iv) + ", but v is "
                    + describe(v));
        }
    }

    private static String describe(Tensor t) {
        return t.dtype() + " " + Arrays.toString(t.shape()) + " strides " + Arrays.toString(t.strides()) + " @0x"
                + Long.toHexString(t.segment().address());
    }

    @Override
    public String toString() {
        String w = weighting == Weighting.RELU ? "relu(alpha=" + alpha + ", bias=" + bias + ")"
                : "softmax(epsilon=" + epsilon + ")";
        return "HsrAttention[" + w + ", causal=" + causal + ", scale=" + (scale == 0f ? "1/sqrt(head_dim)" : scale)
                + (index == null ? "" : ", " + index) + "]";
    }
}
