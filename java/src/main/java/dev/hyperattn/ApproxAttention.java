package dev.hyperattn;

import dev.hyperattn.ffi.ha_approx_params;
import dev.hyperattn.ffi.ha_approx_stats;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;

/**
 * Error-controlled approximate softmax attention: an exact part plus a sampled tail, with a
 * per-row error estimate and an optional error target, configured by an immutable builder
 * (every setter returns a new instance).
 *
 * <pre>{@code
 * Attention.approx().causal(true).targetError(0.05).run(q, k, v, out);
 *
 * ApproxStats stats = ApproxStats.allocateFor(arena, q);
 * Attention.approx().causal(true).targetError(0.05).run(q, k, v, out, null, stats);
 * // stats.rowError(row) <= 0.05 for every row: the estimated e_i of that row
 * }</pre>
 *
 * <p><b>The error unit</b> (of the target and of {@link ApproxStats#rowError(long)}):
 * {@code e_i = ||o^_i − o_i||₂ / sqrt(Σ_j p_ij ||v_j||₂²)}, the error of row {@code i}
 * relative to the attention-weighted RMS norm of the values it sees. It does not shrink when
 * the output itself is small (averaging many unrelated values), so 0.05 means "5% of the
 * typical value norm the row mixes", whatever the data.
 *
 * <p><b>How a row is computed</b>:
 * <ul>
 *   <li>exactly: the first {@link #sinks(int)} keys (attention sinks), the local
 *       {@link #window(int)} around the row's cache position, and up to
 *       {@link #heavyBudget(int)} heavy keys per group of rows (keys whose sketched score may
 *       carry a large share of the mass, found from 64-bit sign sketches of the keys, then
 *       scored exactly);</li>
 *   <li>sampled: every other visible key, estimated from {@link #samples(int)} keys drawn
 *       uniformly (stratified) per group of rows, each standing for the keys it represents;
 *       merged with the exact part by log-sum-exp.</li>
 * </ul>
 * With a {@link #targetError(double) target}, rows whose estimated error exceeds it are
 * recomputed once with as many draws as their estimate says they need (and twice the heavy
 * keys), then, if still above, exactly, so every returned estimate is at most the target. The
 * estimate is about two standard errors of the sampled tail's estimator: an honest estimate,
 * not a certificate. The certified quantity is {@link ApproxStats#tailMassBound(long)}, a bound
 * on the probability mass left to sampling.
 *
 * <p><b>Defaults</b> are those of the native {@code ha_approx_params_init} (read from the
 * library, not restated here; the accessors report them): at the time of writing 4 sinks, a
 * window of 256, 256 samples, an automatic heavy budget (growing with Nk), no error target,
 * seed 0, non-causal, scale {@code 1/√head_dim}.
 *
 * <p>Operands as for {@link ExactAttention} (F32, BF16 or F16, GQA without expanding K/V,
 * {@code Nq != Nk}, causal bottom-right aligned, optional log-sum-exp: the log of the estimated
 * denominator), on the CPU only. Without an {@link #index(KeyIndex) index} the keys' sketches
 * are made for each call from the seed (O(Nk·D·64) work); with one, it must have been built
 * over exactly this {@code k} (and this {@code v} if it was built with values), e.g. a decoding
 * cache kept current with {@link KeyIndex#append}: every index keeps each key's 64-bit sketch
 * and norm, so a decoding step reads 8 bytes of sketch per key instead of the key. Results are
 * a pure function of the inputs and {@link #seed(long)} (and the index's seed): bit-identical
 * for any thread count.
 */
public final class ApproxAttention extends AttentionOp {

    private static final ApproxAttention DEFAULT = new ApproxAttention(UNSET, 0f, -1, -1, -1, -1, Double.NaN, 0L,
            false, null);

    // -1, NaN, seedSet false: unset, the native default (ha_approx_params_init)
    private final int sinks;
    private final int window;
    private final int samples;
    private final int heavyBudget;
    private final double targetError; // 0: none
    private final long seed;
    private final boolean seedSet;
    private final KeyIndex index;

    private ApproxAttention(byte causal, float scale, int sinks, int window, int samples, int heavyBudget,
            double targetError, long seed, boolean seedSet, KeyIndex index) {
        super(causal, scale, null);
        this.sinks = sinks;
        this.window = window;
        this.samples = samples;
        this.heavyBudget = heavyBudget;
        this.targetError = targetError;
        this.seed = seed;
        this.seedSet = seedSet;
        this.index = index;
    }

    static ApproxAttention defaults() {
        return DEFAULT;
    }

    private ApproxAttention with(byte causal, float scale, int sinks, int window, int samples, int heavyBudget,
            double targetError, long seed, boolean seedSet, KeyIndex index) {
        return new ApproxAttention(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet,
                index);
    }

    /** With or without the causal mask (bottom-right aligned as in {@link ExactAttention}). */
    public ApproxAttention causal(boolean causal) {
        return with(causalFlag(causal), scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public ApproxAttention scale(float scale) {
        return with(causal, checkScale(scale), sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * The first {@code sinks} keys are always computed exactly (attention sinks), {@code >= 0}.
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention sinks(int sinks) {
        nonNegative("sinks", sinks);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * Local keys computed exactly, {@code >= 0}: a query at cache position {@code p}
     * ({@code p = i + Nk − Nq}) sees keys {@code p − window < j <= p} exactly when causal,
     * {@code |j − p| <= window/2} otherwise. A window covering every key makes the result exact.
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention window(int window) {
        nonNegative("window", window);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * Keys sampled from the remaining tail per group of query rows, {@code >= 0}. 0 drops the
     * tail: the estimate is then finite only where a certified tail bound exists.
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention samples(int samples) {
        nonNegative("samples", samples);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * Most heavy keys (found by the key sketches, then scored exactly) per group of query rows,
     * {@code >= 0}; 0 means automatic (a budget growing with Nk, as the native
     * {@code ha_approx_params} documents).
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention heavyBudget(int heavyBudget) {
        nonNegative("heavyBudget", heavyBudget);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * An error target in (0, 1), in the unit {@code e_i} of the class comment: rows whose
     * estimated error exceeds it are refined, then computed exactly, so that every row's
     * {@link ApproxStats#rowError(long) estimate} is at most {@code targetError}. Use
     * {@link #noTarget()} for a fixed budget.
     *
     * @throws IllegalArgumentException unless {@code 0 < targetError < 1}
     */
    public ApproxAttention targetError(double targetError) {
        if (!(targetError > 0 && targetError < 1)) {
            throw new IllegalArgumentException("targetError: " + targetError + " outside (0, 1) (use noTarget()"
                    + " for a fixed budget without a target)");
        }
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    /**
     * No error target (the native {@code target_error = 0}): the first budget only; the per-row
     * estimates are still returned through {@link ApproxStats}.
     */
    public ApproxAttention noTarget() {
        return with(causal, scale, sinks, window, samples, heavyBudget, 0.0, seed, seedSet, index);
    }

    /** The seed of the sketches and samples; any value is valid. */
    public ApproxAttention seed(long seed) {
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, true, index);
    }

    /**
     * Uses {@code index} (built over the {@code k} of the calls, and their {@code v} if it has
     * values) and the key sketches it keeps, instead of sketching the keys in every call; null
     * (the default) sketches them per call.
     */
    public ApproxAttention index(KeyIndex index) {
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, seedSet, index);
    }

    public int sinks() {
        return sinks >= 0 ? sinks : NativeDefaults.approx().sinks();
    }

    public int window() {
        return window >= 0 ? window : NativeDefaults.approx().window();
    }

    public int samples() {
        return samples >= 0 ? samples : NativeDefaults.approx().samples();
    }

    /** The heavy-key budget; 0 means automatic. */
    public int heavyBudget() {
        return heavyBudget >= 0 ? heavyBudget : NativeDefaults.approx().heavyBudget();
    }

    /** The error target, or 0 for none. */
    public double targetError() {
        return !Double.isNaN(targetError) ? targetError : NativeDefaults.approx().targetError();
    }

    /** Whether an error target is set. */
    public boolean hasTarget() {
        return targetError() > 0;
    }

    public long seed() {
        return seedSet ? seed : NativeDefaults.approx().seed();
    }

    public KeyIndex index() {
        return index;
    }

    /** Computes the approximation of {@code softmax(scale · q kᵀ [+ mask]) v} into {@code out}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        call(q, k, v, out, null, index, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor)}, also writing each row's log-sum-exp (the
     * log of the estimated softmax denominator) to {@code lse}, float32 {@code [B, Hq, Nq]} or
     * {@code [B, Hq, Nq, 1]}; {@code lse} may be null.
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        call(q, k, v, out, lse, index, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor, Tensor)}, also writing each row's error
     * estimate, tail-mass bound, keys touched and level to {@code stats} (which may be null),
     * whose row count must be {@code B × Hq × Nq}.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which), operands not on the CPU, more than 2^31 − 1 keys, stats of another row count, a
     *     closed index or one built for other keys or values
     * @throws IllegalStateException if an operand's or the stats' arena is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, ApproxStats stats) {
        call(q, k, v, out, lse, index, stats);
    }

    static void validate(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, ApproxStats stats) {
        cpuAttentionOperands("approximate attention", q, k, v, out, lse);
        if (k.shape(2) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("k: seq " + k.shape(2) + " keys, approximate attention takes fewer"
                    + " than 2^31");
        }
        if (stats != null) {
            statsRows("stats", stats.rows(), stats.keysTouchedSegment(), q);
        }
    }

    private static void nonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": " + value + " must be >= 0");
        }
    }

    // ---- the op-specific part of AttentionOp --------------------------------------------------

    private static final class Spec {
        static final ParamsSpec VALUE = new ParamsSpec(NativeDefaults.approx().template(),
                ha_approx_params.scale$offset(), ha_approx_params.causal$offset(), ha_approx_params.stream$offset());
    }

    @Override
    String function() {
        return "ha_attention_approx";
    }

    @Override
    ParamsSpec params() {
        return Spec.VALUE;
    }

    @Override
    boolean defaultCausal() {
        return NativeDefaults.approx().causal();
    }

    @Override
    float defaultScale() {
        return NativeDefaults.approx().scale();
    }

    @Override
    void checkOperands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Object extra) {
        validate(q, k, v, out, lse, (ApproxStats) extra);
    }

    @Override
    int invoke(CallScratch s, MemorySegment params, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
            MemorySegment index, Object extra) {
        if (sinks >= 0) {
            ha_approx_params.sinks(params, sinks);
        }
        if (window >= 0) {
            ha_approx_params.window(params, window);
        }
        if (samples >= 0) {
            ha_approx_params.samples(params, samples);
        }
        if (heavyBudget >= 0) {
            ha_approx_params.heavy_budget(params, heavyBudget);
        }
        if (!Double.isNaN(targetError)) {
            ha_approx_params.target_error(params, targetError);
        }
        if (seedSet) {
            ha_approx_params.seed(params, seed);
        }
        ApproxStats stats = (ApproxStats) extra;
        MemorySegment st = MemorySegment.NULL;
        MemorySegment err = MemorySegment.NULL, bound = MemorySegment.NULL;
        MemorySegment touched = MemorySegment.NULL, level = MemorySegment.NULL;
        if (stats != null) {
            err = stats.rowErrorSegment();
            bound = stats.tailMassBoundSegment();
            touched = stats.keysTouchedSegment();
            level = stats.levelSegment();
            st = s.stats();
            ha_approx_stats.row_error(st, err);
            ha_approx_stats.tail_mass_bound(st, bound);
            ha_approx_stats.keys_touched(st, touched);
            ha_approx_stats.level(st, level);
        }
        return hyperattn_h.ha_attention_approx(s.describe(0, q), s.describe(1, k), s.describe(2, v),
                s.describe(3, out), s.describe(4, lse), index, params, st, Descriptors.data(q), Descriptors.data(k),
                Descriptors.data(v), Descriptors.data(out), Descriptors.data(lse), err, bound, touched, level);
    }

    @Override
    public String toString() {
        return "ApproxAttention[" + sharedSettings() + ", sinks=" + orDefault(sinks) + ", window=" + orDefault(window)
                + ", samples=" + orDefault(samples) + ", heavyBudget=" + orDefault(heavyBudget) + ", targetError="
                + (Double.isNaN(targetError) ? "default" : Double.toString(targetError)) + ", seed="
                + (seedSet ? Long.toString(seed) : "default") + (index == null ? "" : ", " + index) + "]";
    }

    // toString must not load the library: unset values print as "default".
    private static String orDefault(int value) {
        return value < 0 ? "default" : Integer.toString(value);
    }
}
