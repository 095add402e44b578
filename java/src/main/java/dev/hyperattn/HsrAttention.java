package dev.hyperattn;

import dev.hyperattn.ffi.ha_hsr_params;
import dev.hyperattn.ffi.ha_hsr_stats;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;

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
 * much above exact attention's. Operands as for {@link ExactAttention} (CPU only, F32, BF16 or F16,
 * GQA, bottom-right aligned causal mask). Without an {@link #index(KeyIndex) index} one is built
 * for each call; with one, it must have been built over exactly this {@code k} (and this
 * {@code v} if it was built with values). Per-row outputs (bound, keys touched) come through
 * {@link #run(Tensor, Tensor, Tensor, Tensor, HsrStats)}.
 *
 * <p>The defaults are the native {@code ha_hsr_params_init}'s, read from the library (at the
 * time of writing softmax with ε = 1e-3, α = 1, bias 0, non-causal, scale {@code 1/√head_dim});
 * a setting left unset is not written, and the accessors report the library's values.
 */
public final class HsrAttention extends AttentionOp {

    /** How scores become weights. */
    public enum Weighting {
        /** ReLU(scale·q·k − bias)^α, exact. */
        RELU,
        /** Softmax over the keys above a per-query threshold, dropped mass ≤ ε certified. */
        SOFTMAX
    }

    /**
     * The default ε of {@code ha_hsr_params_init} in this release, for reference only: the
     * builder takes its defaults from the library ({@code Attention.hsr().epsilon()}); the tests
     * check that the two agree.
     */
    public static final double DEFAULT_EPSILON = 1e-3;

    private static final HsrAttention DEFAULT = new HsrAttention(UNSET, 0f, null, 0, Float.NaN, 0.0, null);

    // null, 0, NaN, 0.0: unset, the native default (none of them is a valid setting)
    private final Weighting weighting;
    private final int alpha;
    private final float bias;
    private final double epsilon;
    private final KeyIndex index;

    private HsrAttention(byte causal, float scale, Weighting weighting, int alpha, float bias, double epsilon,
            KeyIndex index) {
        super(causal, scale, null);
        this.weighting = weighting;
        this.alpha = alpha;
        this.bias = bias;
        this.epsilon = epsilon;
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
        return new HsrAttention(causal, scale, Weighting.RELU, alpha, bias, epsilon, index);
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
        return new HsrAttention(causal, scale, Weighting.SOFTMAX, alpha, bias, epsilon, index);
    }

    /** With or without the causal mask (default: without), bottom-right aligned. */
    public HsrAttention causal(boolean causal) {
        return new HsrAttention(causalFlag(causal), scale, weighting, alpha, bias, epsilon, index);
    }

    /**
     * With score scale {@code scale} (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public HsrAttention scale(float scale) {
        return new HsrAttention(causal, checkScale(scale), weighting, alpha, bias, epsilon, index);
    }

    /**
     * Uses {@code index} (built over the {@code k} of the calls, and their {@code v} if it has
     * values) instead of building one per call; null (the default) builds one per call.
     */
    public HsrAttention index(KeyIndex index) {
        return new HsrAttention(causal, scale, weighting, alpha, bias, epsilon, index);
    }

    public Weighting weighting() {
        return weighting != null ? weighting : NativeDefaults.hsr().weighting();
    }

    public int alpha() {
        return alpha != 0 ? alpha : NativeDefaults.hsr().alpha();
    }

    public float bias() {
        return !Float.isNaN(bias) ? bias : NativeDefaults.hsr().bias();
    }

    public double epsilon() {
        return epsilon != 0.0 ? epsilon : NativeDefaults.hsr().epsilon();
    }

    public KeyIndex index() {
        return index;
    }

    /** Computes HSR attention into {@code out}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        call(q, k, v, out, null, index, null);
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
        call(q, k, v, out, null, index, stats);
    }

    // ---- the op-specific part of AttentionOp --------------------------------------------------

    private static final class Spec {
        static final ParamsSpec VALUE = new ParamsSpec(NativeDefaults.hsr().template(),
                ha_hsr_params.scale$offset(), ha_hsr_params.causal$offset(), ha_hsr_params.stream$offset());
    }

    @Override
    String function() {
        return "ha_attention_hsr";
    }

    @Override
    ParamsSpec params() {
        return Spec.VALUE;
    }

    @Override
    boolean defaultCausal() {
        return NativeDefaults.hsr().causal();
    }

    @Override
    float defaultScale() {
        return NativeDefaults.hsr().scale();
    }

    @Override
    void checkOperands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Object extra) {
        cpuAttentionOperands("HSR attention", q, k, v, out, null);
        if (extra != null) {
            HsrStats stats = (HsrStats) extra;
            statsRows("stats", stats.rows(), stats.keysTouchedSegment(), q);
        }
    }

    @Override
    int invoke(CallScratch s, MemorySegment params, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
            MemorySegment index, Object extra) {
        if (weighting != null) {
            ha_hsr_params.mode(params, weighting == Weighting.RELU ? hyperattn_h.HA_HSR_RELU()
                    : hyperattn_h.HA_HSR_SOFTMAX());
        }
        if (alpha != 0) {
            ha_hsr_params.alpha(params, alpha);
        }
        if (!Float.isNaN(bias)) {
            ha_hsr_params.bias(params, bias);
        }
        if (epsilon != 0.0) {
            ha_hsr_params.epsilon(params, epsilon);
        }
        HsrStats stats = (HsrStats) extra;
        MemorySegment st = MemorySegment.NULL;
        MemorySegment dropped = MemorySegment.NULL, bound = MemorySegment.NULL, touched = MemorySegment.NULL;
        if (stats != null) {
            dropped = stats.droppedMassSegment();
            bound = stats.errorBoundSegment();
            touched = stats.keysTouchedSegment();
            st = s.stats();
            ha_hsr_stats.dropped_mass(st, dropped);
            ha_hsr_stats.error_bound(st, bound);
            ha_hsr_stats.keys_touched(st, touched);
        }
        return hyperattn_h.ha_attention_hsr(s.describe(0, q), s.describe(1, k), s.describe(2, v),
                s.describe(3, out), index, params, st, Descriptors.data(q), Descriptors.data(k),
                Descriptors.data(v), Descriptors.data(out), dropped, bound, touched);
    }

    @Override
    public String toString() {
        String w = weighting == null ? "weighting=default"
                : weighting == Weighting.RELU ? "relu(alpha=" + alpha + ", bias=" + bias + ")"
                : "softmax(epsilon=" + epsilon + ")";
        return "HsrAttention[" + w + ", " + sharedSettings() + (index == null ? "" : ", " + index) + "]";
    }
}
