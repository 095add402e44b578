package dev.hyperattn;

import dev.hyperattn.ffi.ha_hyper_params;
import dev.hyperattn.ffi.ha_hyper_stats;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;

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
 * exact attention. Operands as for {@link ExactAttention} (GQA without expanding K/V, optional
 * log-sum-exp): all on the CPU (F32, BF16 or F16) or all on one CUDA device (BF16 and F16; see
 * {@link Tensor#allocate(java.lang.foreign.Arena, Device, DType, long...)}); mixing devices is an
 * {@link IllegalArgumentException}. On a device, runs may be enqueued on a {@link #stream(CudaStream)
 * stream}. The CUDA backend uses the same hyperplanes, buckets and samples as the CPU backend for
 * the same seed, so both compute the same estimator and differ by rounding only.
 *
 * <p>Error estimates: {@link #run(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)} also writes,
 * per query row, an estimate of that row's error, about two standard errors of the sampled
 * residual, in units of the attention-weighted RMS norm of the values:
 * {@code rowError[i] ≈ 2·SE(ô_i) / sqrt(Σ_j p_ij ‖v_j‖²)}, so {@code ‖ô_i − o_i‖ / sqrt(Σ_j p_ij
 * ‖v_j‖²)} is below it for most rows (p the exact softmax). Rows computed exactly get 0; a row
 * whose output is not finite, or whose sums overflow float32, gets {@code +Infinity} (no
 * estimate). It covers
 * the sampling variance of the residual keys; see the README for what it does not cover. The
 * estimates are computed by the CPU backend only: a {@code rowError} output with CUDA operands is
 * an {@link IllegalArgumentException}.
 *
 * <p>The defaults are the native {@code ha_hyper_params_init}'s, read from the library (a
 * setting left unset is not written; no stream); the accessors report them.
 */
public final class HyperAttention extends AttentionOp {

    /**
     * The defaults of {@code ha_hyper_params_init} in this release, for reference only: the
     * builder takes its defaults from the library (read them with the accessors, e.g.
     * {@code Attention.hyper().blockSize()}); the tests check that the two agree.
     */
    public static final int DEFAULT_LSH_PROJECTIONS = 7;
    /** See {@link #DEFAULT_LSH_PROJECTIONS}: for reference; the library's default rules. */
    public static final int DEFAULT_BLOCK_SIZE = 256;
    /** See {@link #DEFAULT_LSH_PROJECTIONS}: for reference; the library's default rules. */
    public static final int DEFAULT_SAMPLE_SIZE = 256;
    /** See {@link #DEFAULT_LSH_PROJECTIONS}: for reference; the library's default rules. */
    public static final int DEFAULT_MIN_SEQ_LEN = 4096;
    /** The most hyperplanes {@link #lshProjections(int)} accepts (the ABI's range is 1..16). */
    public static final int MAX_LSH_PROJECTIONS = 16;

    private static final HyperAttention DEFAULT = new HyperAttention(UNSET, 0f, null, 0L, false, 0, 0, 0,
            0);

    // 0 (never valid) for the integer settings, seedSet false: unset, the native default
    private final long seed;
    private final boolean seedSet;
    private final int lshProjections;
    private final int blockSize;
    private final int sampleSize;
    private final int minSeqLen;

    private HyperAttention(byte causal, float scale, CudaStream stream, long seed, boolean seedSet,
            int lshProjections, int blockSize, int sampleSize, int minSeqLen) {
        super(causal, scale, stream);
        this.seed = seed;
        this.seedSet = seedSet;
        this.lshProjections = lshProjections;
        this.blockSize = blockSize;
        this.sampleSize = sampleSize;
        this.minSeqLen = minSeqLen;
    }

    static HyperAttention defaults() {
        return DEFAULT;
    }

    /** With or without the causal mask (default: without). */
    public HyperAttention causal(boolean causal) {
        return new HyperAttention(causalFlag(causal), scale, stream, seed, seedSet, lshProjections, blockSize,
                sampleSize, minSeqLen);
    }

    /** The seed of the hyperplanes and samples (default 0); any value is valid. */
    public HyperAttention seed(long seed) {
        return new HyperAttention(causal, scale, stream, seed, true, lshProjections, blockSize, sampleSize, minSeqLen);
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
        return new HyperAttention(causal, scale, stream, seed, seedSet, lshProjections, blockSize, sampleSize,
                minSeqLen);
    }

    /**
     * Queries (and keys) per diagonal block after sorting, >= 1 (default 256).
     *
     * @throws IllegalArgumentException if below 1
     */
    public HyperAttention blockSize(int blockSize) {
        atLeastOne("blockSize", blockSize);
        return new HyperAttention(causal, scale, stream, seed, seedSet, lshProjections, blockSize, sampleSize,
                minSeqLen);
    }

    /**
     * Uniformly sampled keys for the off-diagonal residual, >= 1 (default 256).
     *
     * @throws IllegalArgumentException if below 1
     */
    public HyperAttention sampleSize(int sampleSize) {
        atLeastOne("sampleSize", sampleSize);
        return new HyperAttention(causal, scale, stream, seed, seedSet, lshProjections, blockSize, sampleSize,
                minSeqLen);
    }

    /**
     * At or below this many keys attention is exact, >= 1 (default 4096).
     *
     * @throws IllegalArgumentException if below 1
     */
    public HyperAttention minSeqLen(int minSeqLen) {
        atLeastOne("minSeqLen", minSeqLen);
        return new HyperAttention(causal, scale, stream, seed, seedSet, lshProjections, blockSize, sampleSize,
                minSeqLen);
    }

    /**
     * With softmax scale {@code scale} applied to q·k (default {@code 1/sqrt(head_dim)}).
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public HyperAttention scale(float scale) {
        return new HyperAttention(causal, checkScale(scale), stream, seed, seedSet, lshProjections, blockSize,
                sampleSize, minSeqLen);
    }

    /**
     * Enqueues runs on {@code stream} (CUDA operands of the stream's device only) and returns
     * without waiting; the operands must stay valid until the stream is synchronized. Null (the
     * default) makes each run finish before it returns. With more than {@link #minSeqLen()} keys
     * the call first reads a flag back from the device (whether q or k holds a non-finite
     * element: one synchronization of the stream) and then enqueues the rest, so such a run
     * cannot be captured in a CUDA graph.
     */
    public HyperAttention stream(CudaStream stream) {
        return new HyperAttention(causal, scale, stream, seed, seedSet, lshProjections, blockSize, sampleSize,
                minSeqLen);
    }

    private static void atLeastOne(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": " + value + " must be >= 1");
        }
    }

    public long seed() {
        return seedSet ? seed : NativeDefaults.hyper().seed();
    }

    public int lshProjections() {
        return lshProjections != 0 ? lshProjections : NativeDefaults.hyper().lshProjections();
    }

    public int blockSize() {
        return blockSize != 0 ? blockSize : NativeDefaults.hyper().blockSize();
    }

    public int sampleSize() {
        return sampleSize != 0 ? sampleSize : NativeDefaults.hyper().sampleSize();
    }

    public int minSeqLen() {
        return minSeqLen != 0 ? minSeqLen : NativeDefaults.hyper().minSeqLen();
    }

    /** Computes the approximation of {@code softmax(scale · q kᵀ [+ mask]) v} into {@code out}. */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out) {
        call(q, k, v, out, null, null, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor)}, also writing each row's log-sum-exp (of
     * the approximation) to {@code lse}, float32 {@code [B, Hq, Nq]} or {@code [B, Hq, Nq, 1]};
     * {@code lse} may be null.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which), including operands on different devices, an absent CUDA device or a stream of
     *     another device
     * @throws IllegalStateException if an operand's arena is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        call(q, k, v, out, lse, null, null);
    }

    /**
     * As {@link #run(Tensor, Tensor, Tensor, Tensor, Tensor)}, also writing each row's error
     * estimate to {@code rowError}: float32 {@code [B, Hq, Nq, 1]} (or {@code [B, Hq, Nq]}),
     * contiguous, like a log-sum-exp tensor; {@code lse} and {@code rowError} may be null. The
     * estimate is about two standard errors of the row's output, relative to the attention-weighted
     * RMS norm of the values, {@code 2·SE(ô_i) / sqrt(Σ_j p_ij ‖v_j‖²)}; 0 for rows computed exactly.
     * {@code out} and {@code lse} are the same with or without it. The estimates are computed by
     * the CPU backend only: with CUDA operands, {@code rowError} must be null.
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands (the message names
     *     which), including a non-null {@code rowError} with CUDA operands
     * @throws IllegalStateException if an operand's arena is closed
     * @throws HyperattnException if the library fails
     */
    public void run(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor rowError) {
        call(q, k, v, out, lse, null, rowError);
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

    /**
     * The error estimates exist on the CPU backend only (the native call answers
     * HA_ERR_UNSUPPORTED for a row_error array with CUDA tensors): refused before any other
     * operand check, so the caller learns it whether or not the device is present.
     */
    static void rowErrorOnCpuOnly(Tensor rowError, Tensor q) {
        if (rowError != null && q != null && !q.device().isCpu()) {
            throw new IllegalArgumentException("rowError: error estimates are computed only on the CPU backend, but q"
                    + " is on " + q.device() + "; pass null for rowError with CUDA operands");
        }
    }

    /** Every operand check (CPU, or one CUDA device as for exact attention). */
    static void validate(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        attentionOperands(q, k, v, out, lse);
    }

    // ---- the op-specific part of AttentionOp --------------------------------------------------

    private static final class Spec {
        static final ParamsSpec VALUE = new ParamsSpec(NativeDefaults.hyper().template(),
                ha_hyper_params.scale$offset(), ha_hyper_params.causal$offset(), ha_hyper_params.stream$offset());
    }

    @Override
    String function() {
        return "ha_attention_hyper";
    }

    @Override
    ParamsSpec params() {
        return Spec.VALUE;
    }

    @Override
    boolean defaultCausal() {
        return NativeDefaults.hyper().causal();
    }

    @Override
    float defaultScale() {
        return NativeDefaults.hyper().scale();
    }

    @Override
    void checkOperands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Object extra) {
        rowErrorOnCpuOnly((Tensor) extra, q);
        attentionOperands(q, k, v, out, lse);
        if (extra != null) {
            validateRowError((Tensor) extra, q, k, v, out, lse);
        }
    }

    @Override
    int invoke(CallScratch s, MemorySegment params, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
            MemorySegment index, Object extra) {
        if (lshProjections != 0) {
            ha_hyper_params.lsh_projections(params, lshProjections);
        }
        if (blockSize != 0) {
            ha_hyper_params.block_size(params, blockSize);
        }
        if (sampleSize != 0) {
            ha_hyper_params.sample_size(params, sampleSize);
        }
        if (minSeqLen != 0) {
            ha_hyper_params.min_seq_len(params, minSeqLen);
        }
        if (seedSet) {
            ha_hyper_params.seed(params, seed);
        }
        Tensor rowError = (Tensor) extra;
        MemorySegment stats = MemorySegment.NULL;
        MemorySegment rowErrorData = Descriptors.data(rowError);
        if (rowError != null) {
            stats = s.stats();
            ha_hyper_stats.row_error(stats, rowErrorData);
        }
        return hyperattn_h.ha_attention_hyper(s.describe(0, q), s.describe(1, k), s.describe(2, v),
                s.describe(3, out), s.describe(4, lse), params, stats, Descriptors.data(q), Descriptors.data(k),
                Descriptors.data(v), Descriptors.data(out), Descriptors.data(lse), rowErrorData);
    }

    @Override
    public String toString() {
        return "HyperAttention[" + sharedSettings() + ", seed=" + (seedSet ? Long.toString(seed) : "default")
                + ", lshProjections=" + orDefault(lshProjections) + ", blockSize=" + orDefault(blockSize)
                + ", sampleSize=" + orDefault(sampleSize) + ", minSeqLen=" + orDefault(minSeqLen)
                + (stream == null ? "" : ", stream=" + stream) + "]";
    }

    // toString must not load the library: unset values print as "default".
    private static String orDefault(int value) {
        return value == 0 ? "default" : Integer.toString(value);
    }
}
