package dev.hyperattn;

import static dev.hyperattn.OperandChecks.cpuOnly;

import dev.hyperattn.ffi.ha_approx_params;
import dev.hyperattn.ffi.ha_approx_stats;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.Arrays;

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
 * window of 256, 256 samples, an automatic heavy budget (max(64, Nk / 512)), no error target,
 * seed 0, non-causal, scale {@code 1/√head_dim}.
 *
 * <p>Operands as for {@link ExactAttention} (F32 or BF16, GQA without expanding K/V,
 * {@code Nq != Nk}, causal bottom-right aligned, optional log-sum-exp: the log of the estimated
 * denominator), on the CPU only. Without an {@link #index(KeyIndex) index} the keys' sketches
 * are made for each call from the seed (O(Nk·D·64) work); with one, it must have been built
 * over exactly this {@code k} (and this {@code v} if it was built with values), e.g. a decoding
 * cache kept current with {@link KeyIndex#append}: every index keeps each key's 64-bit sketch
 * and norm, so a decoding step reads 8 bytes of sketch per key instead of the key. Results are
 * a pure function of the inputs and {@link #seed(long)} (and the index's seed): bit-identical
 * for any thread count.
 */
public final class ApproxAttention {

    private static final ApproxAttention DEFAULT = new ApproxAttention(null, 0f, null, null, null, null, null, null,
            null);

    // null: the native default (ha_approx_params_init)
    private final Boolean causal;
    private final float scale; // 0: 1/sqrt(head_dim), as the ABI says
    private final Integer sinks;
    private final Integer window;
    private final Integer samples;
    private final Integer heavyBudget;
    private final Double targetError; // 0: none
    private final Long seed;
    private final KeyIndex index;

    private ApproxAttention(Boolean causal, float scale, Integer sinks, Integer window, Integer samples,
            Integer heavyBudget, Double targetError, Long seed, KeyIndex index) {
        this.causal = causal;
        this.scale = scale;
        this.sinks = sinks;
        this.window = window;
        this.samples = samples;
        this.heavyBudget = heavyBudget;
        this.targetError = targetError;
        this.seed = seed;
        this.index = index;
    }

    static ApproxAttention defaults() {
        return DEFAULT;
    }

    /** The native defaults, read once from {@code ha_approx_params_init}. */
    private static final class NativeDefaults {
        static final boolean CAUSAL;
        static final int SINKS;
        static final int WINDOW;
        static final int SAMPLES;
        static final int HEAVY_BUDGET;
        static final double TARGET_ERROR;
        static final long SEED;

        static {
            Native.ensureLoaded();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment p = ha_approx_params.allocate(arena);
                hyperattn_h.ha_approx_params_init(p);
                CAUSAL = ha_approx_params.causal(p) != 0;
                SINKS = ha_approx_params.sinks(p);
                WINDOW = ha_approx_params.window(p);
                SAMPLES = ha_approx_params.samples(p);
                HEAVY_BUDGET = ha_approx_params.heavy_budget(p);
                TARGET_ERROR = ha_approx_params.target_error(p);
                SEED = ha_approx_params.seed(p);
            }
        }
    }

    private ApproxAttention with(Boolean causal, float scale, Integer sinks, Integer window, Integer samples,
            Integer heavyBudget, Double targetError, Long seed, KeyIndex index) {
        return new ApproxAttention(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /** With or without the causal mask (bottom-right aligned as in {@link ExactAttention}). */
    public ApproxAttention causal(boolean causal) {
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public ApproxAttention scale(float scale) {
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale: " + scale + " must be finite and > 0");
        }
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /**
     * The first {@code sinks} keys are always computed exactly (attention sinks), {@code >= 0}.
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention sinks(int sinks) {
        nonNegative("sinks", sinks);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
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
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /**
     * Keys sampled from the remaining tail per group of query rows, {@code >= 0}. 0 drops the
     * tail: the estimate is then finite only where a certified tail bound exists.
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention samples(int samples) {
        nonNegative("samples", samples);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /**
     * Most heavy keys (found by the key sketches, then scored exactly) per group of query rows,
     * {@code >= 0}; 0 means automatic ({@code max(64, Nk / 512)}).
     *
     * @throws IllegalArgumentException if negative
     */
    public ApproxAttention heavyBudget(int heavyBudget) {
        nonNegative("heavyBudget", heavyBudget);
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
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
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /**
     * No error target (the native {@code target_error = 0}): the first budget only; the per-row
     * estimates are still returned through {@link ApproxStats}.
     */
    public ApproxAttention noTarget() {
        return with(causal, scale, sinks, window, samples, heavyBudget, 0.0, seed, index);
    }

    /** The seed of the sketches and samples; any value is valid. */
    public ApproxAttention seed(long seed) {
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    /**
     * Uses {@code index} (built over the {@code k} of the calls, and their {@code v} if it has
     * values) and the key sketches it keeps, instead of sketching the keys in every call; null
     * (the default) sketches them per call.
     */
    public ApproxAttention index(KeyIndex index) {
        return with(causal, scale, sinks, window, samples, heavyBudget, targetError, seed, index);
    }

    public boolean isCausal() {
        return causal != null ? causal : NativeDefaults.CAUSAL;
    }

    public int sinks() {
        return sinks != null ? sinks : NativeDefaults.SINKS;
    }

    public int window() {
        return window != null ? window : NativeDefaults.WINDOW;
    }

    public int samples() {
        return samples != null ? samples : NativeDefaults.SAMPLES;
    }

    /** The heavy-key budget; 0 means automatic ({@code max(64, Nk / 512)}). */
    public int heavyBudget() {
        return heavyBudget != null ? heavyBudget : NativeDefaults.HEAVY_BUDGET;
    }

    /** The error target, or 0 for none. */
    public double targetError() {
        return targetError != null ? targetError : NativeDefaults.TARGET_ERROR;
    }

    /** Whether an error target is set. */
    public boolean hasTarget() {
        return targetError() > 0;
    }

    public long seed() {
        return seed != null ? seed : NativeDefaults.SEED;
    }

    public KeyIndex index() {
        return index;
    }

    /** The scale a call with this head dimension uses. */
    public float scaleFor(long headDim) {
        return scale != 0f ? scale : (float) (1.0 / Math.sqrt(headDim));
    }

    /** Computes the approximation of {@code softmax(scale · q kᵀ [+ mask]) v} into {@code out}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        run(q, k, v, out, null, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor)}, also writing each row's log-sum-exp (the
     * log of the estimated softmax denominator) to {@code lse}, float32 {@code [B, Hq, Nq]} or
     * {@code [B, Hq, Nq, 1]}; {@code lse} may be null.
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        run(q, k, v, out, lse, null);
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
        Native.ensureLoaded();
        validate(q, k, v, out, lse, stats);
        MemorySegment handle = MemorySegment.NULL;
        if (index != null) {
            handle = index.beginUse();
        }
        try (Arena arena = Arena.ofConfined()) {
            if (index != null) {
                checkIndex(index, k, v);
            }
            MemorySegment params = ha_approx_params.allocate(arena);
            hyperattn_h.ha_approx_params_init(params);
            ha_approx_params.scale(params, scale);
            if (causal != null) {
                ha_approx_params.causal(params, causal ? 1 : 0);
            }
            if (sinks != null) {
                ha_approx_params.sinks(params, sinks);
            }
            if (window != null) {
                ha_approx_params.window(params, window);
            }
            if (samples != null) {
                ha_approx_params.samples(params, samples);
            }
            if (heavyBudget != null) {
                ha_approx_params.heavy_budget(params, heavyBudget);
            }
            if (targetError != null) {
                ha_approx_params.target_error(params, targetError);
            }
            if (seed != null) {
                ha_approx_params.seed(params, seed);
            }
            MemorySegment st = MemorySegment.NULL;
            MemorySegment err = MemorySegment.NULL, bound = MemorySegment.NULL;
            MemorySegment touched = MemorySegment.NULL, level = MemorySegment.NULL;
            if (stats != null) {
                err = stats.rowErrorSegment();
                bound = stats.tailMassBoundSegment();
                touched = stats.keysTouchedSegment();
                level = stats.levelSegment();
                st = ha_approx_stats.allocate(arena);
                ha_approx_stats.row_error(st, stats.rowErrorSegment());
                ha_approx_stats.tail_mass_bound(st, stats.tailMassBoundSegment());
                ha_approx_stats.keys_touched(st, stats.keysTouchedSegment());
                ha_approx_stats.level(st, stats.levelSegment());
            }
            int status = hyperattn_h.ha_attention_approx(Descriptors.of(arena, q), Descriptors.of(arena, k),
                    Descriptors.of(arena, v), Descriptors.of(arena, out), Descriptors.of(arena, lse), handle, params,
                    st, Descriptors.data(q), Descriptors.data(k), Descriptors.data(v), Descriptors.data(out),
                    Descriptors.data(lse), err, bound, touched, level);
            Native.check(status, "ha_attention_approx");
        } finally {
            if (index != null) {
                index.endUse();
            }
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(lse);
            Reference.reachabilityFence(stats);
            Reference.reachabilityFence(index);
        }
    }

    static void validate(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, ApproxStats stats) {
        cpuOnly("q", q, "approximate attention");
        ExactAttention.validate(q, k, v, out, lse);
        if (k.shape(2) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("k: seq " + k.shape(2) + " keys, approximate attention takes fewer"
                    + " than 2^31");
        }
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
    }

    private static void checkIndex(KeyIndex index, Tensor k, Tensor v) {
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

    private static void nonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": " + value + " must be >= 0");
        }
    }

    private static String describe(Tensor t) {
        return t.dtype() + " " + Arrays.toString(t.shape()) + " strides " + Arrays.toString(t.strides()) + " @0x"
                + Long.toHexString(t.segment().address());
    }

    @Override
    public String toString() {
        return "ApproxAttention[causal=" + str(causal) + ", scale=" + (scale == 0f ? "1/sqrt(head_dim)" : scale)
                + ", sinks=" + str(sinks) + ", window=" + str(window) + ", samples=" + str(samples)
                + ", heavyBudget=" + str(heavyBudget) + ", targetError=" + str(targetError) + ", seed=" + str(seed)
                + (index == null ? "" : ", " + index) + "]";
    }

    // toString must not load the library: unset values print as "default".
    private static String str(Object o) {
        return o == null ? "default" : o.toString();
    }
}
