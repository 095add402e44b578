package dev.hyperattn;

import static dev.hyperattn.OperandChecks.cpuOnly;

import dev.hyperattn.ffi.ha_hyper_params;
import dev.hyperattn.ffi.ha_hyper_stats;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/**
 * HyperAttention (Han et al. 2023, arXiv 2310.05869): approximate softmax attention in
 * near-linear time, configured by an immutable builder (every setter returns a new instance).
 *
 * <pre>{@code
 * Attention.hyper().causal(true).seed(42).run(q, k, v, out);
 * }</pre>
 *
 * <p>How it works, and what each parameter trades:
 * <ol>
 *   <li>Queries and keys are hashed by an angular LSH ({@link #lshProjections(int)} random
 *       hyperplanes, default <b>7</b>, i.e. 2^7 buckets) and sorted by bucket, so that vectors
 *       pointing the same way end up next to each other. More projections make finer buckets
 *       (a block gathers vectors that are more alike); fewer make coarser ones. Hashing costs
 *       O(n·d·projections).</li>
 *   <li>The sorted order is cut into blocks of {@link #blockSize(int)} (default <b>256</b>);
 *       each query block attends exactly to its key block. Larger blocks: lower error, more
 *       time (cost grows linearly with the block size).</li>
 *   <li>Every query also attends to {@link #sampleSize(int)} (default <b>256</b>) keys drawn
 *       uniformly, standing for the rest of the keys. More samples: lower variance of the
 *       residual, more time (linear).</li>
 *   <li>The two parts are merged by their log-sum-exp.</li>
 * </ol>
 * With {@code Nk <= }{@link #minSeqLen(int)} (default <b>4096</b>) attention is exact; causal
 * problems are halved recursively down to that size (exact causal diagonal blocks, hyper
 * attention for the off-diagonal rectangles). A larger minSeqLen is more accurate and slower.
 * The hyperplanes and samples are a pure function of {@link #seed(long)} (default <b>0</b>), so
 * a given seed gives bit-identical results for any thread count. The softmax
 * {@link #scale(float)} defaults to <b>1/√head_dim</b>; causal masking (default off) is
 * bottom-right aligned as in {@link ExactAttention}.
 *
 * <p>Cost O(n·(blockSize + sampleSize)·d) plus hashing and sorting, against O(n²·d) for
 * exact attention. Operands as for {@link ExactAttention} (F32 or BF16, GQA without expanding
 * K/V, optional log-sum-exp), on the CPU only.
 *
 * <p>Error estimates: {@link #run(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)} also writes,
 * per query row, an estimate of that row's error, about two standard errors of the sampled
 * residual, in units of the attention-weighted RMS norm of the values:
 * {@code rowError[i] ≈ 2·SE(ô_i) / sqrt(Σ_j p_ij ‖v_j‖²)}, so {@code ‖ô_i − o_i‖ / sqrt(Σ_j p_ij
 * ‖v_j‖²)} is below it for most rows (p the exact softmax). Rows computed exactly get 0. It covers
 * the sampling variance of the residual keys; see the README for what it does not cover.
 */
public final class HyperAttention {

    /** Defaults of {@code ha_hyper_params_init}, restated so the builder can report them. */
    public static final int DEFAULT_LSH_PROJECTIONS = 7;
    public static final int DEFAULT_BLOCK_SIZE = 256;
    public static final int DEFAULT_SAMPLE_SIZE = 256;
    public static final int DEFAULT_MIN_SEQ_LEN = 4096;
    public static final int MAX_LSH_PROJECTIONS = 16;

    private static final HyperAttention DEFAULT = new HyperAttention(false, 0L, DEFAULT_LSH_PROJECTIONS,
            DEFAULT_BLOCK_SIZE, DEFAULT_SAMPLE_SIZE, DEFAULT_MIN_SEQ_LEN, 0f);

    private final boolean causal;
    private final long seed;
    private final int lshProjections;
    private final int blockSize;
    private final int sampleSize;
    private final int minSeqLen;
    private final float scale; // 0: 1/sqrt(head_dim)

    private HyperAttention(boolean causal, long seed, int lshProjections, int blockSize, int sampleSize,
            int minSeqLen, float scale) {
        this.causal = causal;
        this.seed = seed;
        this.lshProjections = lshProjections;
        this.blockSize = blockSize;
        this.sampleSize = sampleSize;
        this.minSeqLen = minSeqLen;
        this.scale = scale;
    }

    static HyperAttention defaults() {
        return DEFAULT;
    }

    /** With or without the causal mask (default: without). */
    public HyperAttention causal(boolean causal) {
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    /** The seed of the hyperplanes and samples (default 0); any value is valid. */
    public HyperAttention seed(long seed) {
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    /**
     * Random hyperplanes of the angular LSH, 1..16 (default 7, giving 2^7 buckets).
     *
     * @throws IllegalArgumentException outside 1..16
     */
    public HyperAttention lshProjections(int lshProjections) {
        if (lshProjections < 1 || lshProjections > MAX_LSH_PROJECTIONS) {
            throw new IllegalArgumentException("lshProjections: " + lshProjections + " outside 1.."
                    + MAX_LSH_PROJECTIONS);
        }
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    /**
     * Queries (and keys) per diagonal block after sorting, >= 1 (default 256).
     *
     * @throws IllegalArgumentException if below 1
     */
    public HyperAttention blockSize(int blockSize) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize: " + blockSize + " must be >= 1");
        }
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    /**
     * Uniformly sampled keys for the off-diagonal residual, >= 1 (default 256).
     *
     * @throws IllegalArgumentException if below 1
     */
    public HyperAttention sampleSize(int sampleSize) {
        if (sampleSize < 1) {
            throw new IllegalArgumentException("sampleSize: " + sampleSize + " must be >= 1");
        }
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    /**
     * At or below this many keys attention is exact, >= 1 (default 4096).
     *
     * @throws IllegalArgumentException if below 1
     */
    public HyperAttention minSeqLen(int minSeqLen) {
        if (minSeqLen < 1) {
            throw new IllegalArgumentException("minSeqLen: " + minSeqLen + " must be >= 1");
        }
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public HyperAttention scale(float scale) {
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale: " + scale + " must be finite and > 0");
        }
        return new HyperAttention(causal, seed, lshProjections, blockSize, sampleSize, minSeqLen, scale);
    }

    public boolean isCausal() {
        return causal;
    }

    public long seed() {
        return seed;
    }

    public int lshProjections() {
        return lshProjections;
    }

    public int blockSize() {
        return blockSize;
    }

    public int sampleSize() {
        return sampleSize;
    }

    public int minSeqLen() {
        return minSeqLen;
    }

    /** The scale a call with this head dimension uses. */
    public float scaleFor(long headDim) {
        return scale != 0f ? scale : (float) (1.0 / Math.sqrt(headDim));
    }

    /** Computes the approximation of {@code softmax(scale · q kᵀ [+ mask]) v} into {@code out}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        run(q, k, v, out, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor)}, also writing each row's log-sum-exp (of
     * the approximation) to {@code lse}, float32 {@code [B, Hq, Nq]} or {@code [B, Hq, Nq, 1]};
     * {@code lse} may be null.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which), including operands not on the CPU
     * @throws IllegalStateException if an operand's arena is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        run(q, k, v, out, lse, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor, Tensor)}, also writing each row's error
     * estimate to {@code rowError}: float32 {@code [B, Hq, Nq, 1]} (or {@code [B, Hq, Nq]}),
     * contiguous, like a log-sum-exp tensor; {@code lse} and {@code rowError} may be null. The
     * estimate is about two standard errors of the row's output, relative to the attention-weighted
     * RMS norm of the values, {@code 2·SE(ô_i) / sqrt(Σ_j p_ij ‖v_j‖²)}; 0 for rows computed exactly.
     * {@code out} and {@code lse} are the same with or without it.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which), including operands not on the CPU
     * @throws IllegalStateException if an operand's arena is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor rowError) {
        Native.ensureLoaded();
        validate(q, k, v, out, lse);
        if (rowError != null) {
            validateRowError(rowError, q, k, v, out, lse);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = ha_hyper_params.allocate(arena);
            hyperattn_h.ha_hyper_params_init(params);
            ha_hyper_params.scale(params, scale);
            ha_hyper_params.causal(params, causal ? 1 : 0);
            ha_hyper_params.lsh_projections(params, lshProjections);
            ha_hyper_params.block_size(params, blockSize);
            ha_hyper_params.sample_size(params, sampleSize);
            ha_hyper_params.min_seq_len(params, minSeqLen);
            ha_hyper_params.seed(params, seed);
            MemorySegment stats = MemorySegment.NULL;
            if (rowError != null) {
                stats = ha_hyper_stats.allocate(arena);
                ha_hyper_stats.row_error(stats, rowError.segment());
            }
            int status = hyperattn_h.ha_attention_hyper(Descriptors.of(arena, q), Descriptors.of(arena, k),
                    Descriptors.of(arena, v), Descriptors.of(arena, out), Descriptors.of(arena, lse), params,
                    stats, Descriptors.data(q), Descriptors.data(k), Descriptors.data(v),
                    Descriptors.data(out), Descriptors.data(lse),
                    rowError == null ? MemorySegment.NULL : rowError.segment());
            Native.check(status, "ha_attention_hyper");
        } finally {
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(lse);
            Reference.reachabilityFence(rowError);
        }
    }

    /** The per-row error output: an LSE-shaped float32 output, contiguous, sharing no memory. */
    static void validateRowError(Tensor rowError, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        String name = "rowError";
        OperandChecks.usable(name, rowError);
        OperandChecks.sameDevice(name, rowError, "q", q);
        OperandChecks.lse(name, rowError, q.shape(0), q.shape(1), q.shape(2), "q's [batch, heads, seq]");
        OperandChecks.addressable(name, rowError);
        if (!rowError.isContiguous()) {
            throw new IllegalArgumentException(name + ": strides " + java.util.Arrays.toString(rowError.strides())
                    + " are not contiguous row-major; the library writes B*Hq*Nq consecutive floats");
        }
        OperandChecks.writableOutput(name, rowError);
        OperandChecks.disjoint(name, rowError, "q", q);
        OperandChecks.disjoint(name, rowError, "k", k);
        OperandChecks.disjoint(name, rowError, "v", v);
        OperandChecks.disjoint(name, rowError, "out", out);
        OperandChecks.disjoint(name, rowError, "lse", lse);
    }

    static void validate(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        cpuOnly("q", q, "HyperAttention");
        ExactAttention.validate(q, k, v, out, lse);
    }

    @Override
    public String toString() {
        return "HyperAttention[causal=" + causal + ", seed=" + seed + ", lshProjections=" + lshProjections
                + ", blockSize=" + blockSize + ", sampleSize=" + sampleSize + ", minSeqLen=" + minSeqLen
                + ", scale=" + (scale == 0f ? "1/sqrt(head_dim)" : scale) + "]";
    }
}
