package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.ha_index_params;
import dev.hyperattn.ffi.ha_key_index_info;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A half-space reporting index over the keys of a {@code [B, Hkv, N, D]} tensor (one per batch
 * and kv head), for {@link #report(Tensor, float) reporting} the keys with {@code q·k >= τ} and
 * for {@link HsrAttention HSR sparse attention}. It owns native memory: close it (it is
 * {@link AutoCloseable}; {@link #close()} is idempotent, and an index that is never closed is
 * freed once unreachable).
 *
 * <pre>{@code
 * Tensor cache = Tensor.allocate(arena, DType.F32, 1, 8, 1 << 20, 128);  // K cache capacity
 * try (KeyIndex index = KeyIndex.build(cache.slice(2, 0, n))) {
 *     HalfSpaceReport r = index.report(q, 2.5f);                        // keys with q·k >= 2.5
 *     // ... write key n into the cache, then:
 *     index.append(cache.slice(2, 0, n + 1));
 * }
 * }</pre>
 *
 * <p>By default the index keeps its own block-ordered copy of the sealed keys (about 1.25x the
 * bytes of the indexed K; see {@link Options#copyKeys()}) and reads the recent tail, and values, in place;
 * without the copy it reads all keys in place. Either way the key (and value) memory must stay
 * valid, and its first N positions unchanged, while the index is used; the index keeps the
 * tensors reachable.
 * Keys are grouped into blocks (default 64) with upper bounds on q·k; blocks are sealed as they
 * fill and the unsealed tail is always scanned exactly, so appending costs O(new keys).
 *
 * <p>Thread safety: reporting, {@link #info()} and attention calls may run concurrently;
 * {@link #append} and {@link #close()} wait for them and exclude each other. Using a closed
 * index throws {@link IllegalStateException} (and {@link HsrAttention} rejects it with
 * {@link IllegalArgumentException}). CPU tensors only, F32, BF16 or F16.
 */
public final class KeyIndex implements AutoCloseable {

    /**
     * Build options.
     *
     * @param blockSize keys per block, 8..1024 (default 64): smaller blocks have tighter bounds
     *     (fewer keys scored needlessly) but more bounds to test per query
     * @param kmeansIterations spherical k-means passes that regroup keys into tighter blocks,
     *     0..64 (default 4); 0 keeps the cache order and builds fastest
     * @param seed the k-means initialisation (default 0)
     * @param copyKeys whether the index keeps its own block-ordered copy of the sealed keys
     *     (default true). It costs native memory as large as the indexed K (the sealed keys'
     *     bytes in the keys' dtype, plus the room the index reserves for appending) and buys
     *     speed: a visited block is one contiguous read. With false the index reads the sealed
     *     keys in place through its block permutation, a random row read per key, and holds
     *     only its bounds. Results are identical either way.
     */
    public record Options(int blockSize, int kmeansIterations, long seed, boolean copyKeys) {

        /** The most k-means passes the library accepts. */
        public static final int MAX_KMEANS_ITERATIONS = 64;

        /** The defaults of {@code ha_index_params_init}: 64, 4, 0, keys copied. */
        public static final Options DEFAULTS = new Options(64, 4, 0, true);

        /** @throws IllegalArgumentException for a block size outside 8..1024 or iterations outside 0..64 */
        public Options {
            if (blockSize < 8 || blockSize > 1024) {
                throw new IllegalArgumentException("blockSize: " + blockSize + " outside 8..1024");
            }
            if (kmeansIterations < 0 || kmeansIterations > MAX_KMEANS_ITERATIONS) {
                throw new IllegalArgumentException("kmeansIterations: " + kmeansIterations + " outside 0.."
                        + MAX_KMEANS_ITERATIONS);
            }
        }

        /**
         * Options that copy the keys (the default {@code copyKeys = true}).
         *
         * @throws IllegalArgumentException for a block size outside 8..1024 or iterations outside 0..64
         */
        public Options(int blockSize, int kmeansIterations, long seed) {
            this(blockSize, kmeansIterations, seed, true);
        }

        public Options withBlockSize(int blockSize) {
            return new Options(blockSize, kmeansIterations, seed, copyKeys);
        }

        public Options withKmeansIterations(int kmeansIterations) {
            return new Options(blockSize, kmeansIterations, seed, copyKeys);
        }

        public Options withSeed(long seed) {
            return new Options(blockSize, kmeansIterations, seed, copyKeys);
        }

        /** See {@link #copyKeys()}: false saves memory as large as the indexed K, at a speed cost. */
        public Options withCopyKeys(boolean copyKeys) {
            return new Options(blockSize, kmeansIterations, seed, copyKeys);
        }
    }

    /**
     * What {@code ha_key_index_get_info} reports.
     *
     * @param batch the indexed K view's batch
     * @param heads its kv heads
     * @param keys its length N (keys indexed per batch and head)
     * @param headDim its head dimension
     * @param sealedKeys keys inside sealed blocks; the other {@code keys - sealedKeys} form the
     *     exactly scanned recent tail
     * @param blocks sealed blocks per (batch, kv head)
     * @param bytes native memory the index holds
     * @param dtype of the keys
     * @param blockSize keys per block
     */
    public record Info(long batch, long heads, long keys, long headDim, long sealedKeys, long blocks, long bytes,
            DType dtype, int blockSize) {
    }

    private static final Cleaner CLEANER = Cleaner.create();

    // The native pointer, shared with the cleaner, which must not reach the KeyIndex itself.
    private static final class State implements Runnable {
        MemorySegment handle;

        State(MemorySegment handle) {
            this.handle = handle;
        }

        @Override
        public synchronized void run() {
            if (handle != null) {
                hyperattn_h.ha_key_index_destroy(handle);
                handle = null;
            }
        }
    }

    private final State state;
    private final Cleaner.Cleanable cleanable;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final boolean hasValues;
    // The views the index reads, replaced by append; referenced so their memory stays reachable.
    private volatile Tensor keys;
    private volatile Tensor values;

    private KeyIndex(MemorySegment handle, Tensor keys, Tensor values) {
        this.state = new State(handle);
        this.cleanable = CLEANER.register(this, state);
        this.keys = keys;
        this.values = values;
        this.hasValues = values != null;
    }

    /** An index over {@code k} with the default {@link Options}. */
    public static KeyIndex build(Tensor k) {
        return build(k, null, Options.DEFAULTS);
    }

    /**
     * An index over {@code k} that also keeps per-block ranges of {@code v} (same shape and
     * dtype), which make HSR softmax's error bound certified without reading the dropped values.
     */
    public static KeyIndex build(Tensor k, Tensor v) {
        return build(k, v, Options.DEFAULTS);
    }

    /**
     * An index over {@code k} (and {@code v}, which may be null) with {@code options}.
     *
     * @throws IllegalArgumentException for an unusable k or v (not rank 4, not on the CPU,
     *     v of another shape or dtype, heap memory, misaligned), or a non-finite key (an index
     *     cannot bound it; the message names the key)
     * @throws IllegalStateException if their memory is no longer valid
     * @throws HyperattnException if the library fails
     */
    public static KeyIndex build(Tensor k, Tensor v, Options options) {
        Objects.requireNonNull(options, "options");
        validateKeys(k, v);
        Native.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = ha_index_params.allocate(arena);
            hyperattn_h.ha_index_params_init(params);
            ha_index_params.block_size(params, options.blockSize());
            ha_index_params.kmeans_iters(params, options.kmeansIterations());
            ha_index_params.seed(params, options.seed());
            ha_index_params.copy_keys(params, options.copyKeys() ? 1 : 0);
            ha_index_params.reserved(params, 0);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int status = hyperattn_h.ha_key_index_create(Descriptors.of(arena, k), Descriptors.of(arena, v), params,
                    out, Descriptors.data(k), Descriptors.data(v));
            Native.check(status, "ha_key_index_create");
            return new KeyIndex(out.get(ValueLayout.ADDRESS, 0), k, v);
        } finally {
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
        }
    }

    /** Extends an index built without values to {@code k}; see {@link #append(Tensor, Tensor)}. */
    public void append(Tensor k) {
        append(k, null);
    }

    /**
     * Extends the index to a longer view of the same cache: {@code k} (and {@code v}, given
     * exactly when the index was built with values) must have the indexed views' addresses,
     * strides, dtype, batch, heads and head_dim, and at least as many keys. Typically
     * {@code cache.slice(2, 0, n)} with a larger n after writing new keys into the cache.
     *
     * @throws IllegalArgumentException if the views are not the grown indexed ones
     * @throws IllegalStateException if the index is closed
     * @throws HyperattnException if the library fails
     */
    public void append(Tensor k, Tensor v) {
        lock.writeLock().lock();
        try {
            MemorySegment handle = handle("append");
            Tensor oldK = keys, oldV = values;
            usable("k", k);
            grownView("k", k, oldK);
            if (hasValues && v == null) {
                throw new IllegalArgumentException("v: is null, but the index was built with values; append v too");
            }
            if (!hasValues && v != null) {
                throw new IllegalArgumentException("v: given, but the index was built without values");
            }
            if (v != null) {
                usable("v", v);
                grownView("v", v, oldV);
                sameShape("v", v, "k", k);
            }
            try (Arena arena = Arena.ofConfined()) {
                int status = hyperattn_h.ha_key_index_append(handle, Descriptors.of(arena, k), Descriptors.of(arena, v),
                        Descriptors.data(k), Descriptors.data(v));
                Native.check(status, "ha_key_index_append");
            } finally {
                Reference.reachabilityFence(k);
                Reference.reachabilityFence(v);
            }
            keys = k;
            values = v;
        } finally {
            Reference.reachabilityFence(this); // the cleaner must not free the index mid-call
            lock.writeLock().unlock();
        }
    }

    /**
     * The index's shape and size.
     *
     * @throws IllegalStateException if the index is closed
     */
    public Info info() {
        lock.readLock().lock();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = handle("info");
            MemorySegment i = ha_key_index_info.allocate(arena);
            Native.check(hyperattn_h.ha_key_index_get_info(handle, i), "ha_key_index_get_info");
            int code = ha_key_index_info.dtype(i);
            DType dtype = Arrays.stream(DType.values()).filter(d -> d.nativeCode() == code).findFirst()
                    .orElseThrow(() -> new IllegalStateException("hyperattn: unknown dtype code " + code));
            return new Info(ha_key_index_info.batch(i), ha_key_index_info.heads(i), ha_key_index_info.keys(i),
                    ha_key_index_info.head_dim(i), ha_key_index_info.sealed_keys(i), ha_key_index_info.blocks(i),
                    ha_key_index_info.bytes(i), dtype, ha_key_index_info.block_size(i));
        } finally {
            Reference.reachabilityFence(this);
            lock.readLock().unlock();
        }
    }

    /**
     * For every query row of {@code q} ({@code [B, Hq, Nq, D]}, Hq a multiple of the index's kv
     * heads, the keys' dtype), the indexed keys k of its kv head with {@code q·k >= threshold}
     * (the raw dot product, unscaled), with exactly 100% recall.
     *
     * @throws IllegalArgumentException for an unusable q, a non-finite threshold, or a non-finite element in q
     * @throws IllegalStateException if the index is closed, or the result has more than
     *     {@code Integer.MAX_VALUE - 8} indices
     * @throws HyperattnException if the library fails
     */
    public HalfSpaceReport report(Tensor q, float threshold) {
        lock.readLock().lock();
        try {
            MemorySegment handle = handle("report");
            return HalfSpaceReport.compute(handle, keys, q, threshold);
        } finally {
            Reference.reachabilityFence(this);
            lock.readLock().unlock();
        }
    }

    /** The key view the index covers now. */
    public Tensor keys() {
        return keys;
    }

    /** The value view the index keeps ranges of, or null when built without values. */
    public Tensor values() {
        return values;
    }

    public boolean hasValues() {
        return hasValues;
    }

    public boolean isClosed() {
        synchronized (state) {
            return state.handle == null;
        }
    }

    /** Frees the native index; later calls do nothing. Waits for calls using the index. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            cleanable.clean();
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        Tensor k = keys;
        return "KeyIndex[" + (isClosed() ? "closed, " : "") + k.dtype() + " " + Arrays.toString(k.shape())
                + (hasValues ? ", with values" : "") + "]";
    }

    // ---- used by HsrAttention --------------------------------------------------------------

    /**
     * Takes the read lock and returns the native handle for a call that uses the index; the
     * caller must {@link #endUse()} in a finally block. A closed index is an
     * IllegalStateException, as for every use of a closed resource.
     */
    MemorySegment beginUse() {
        lock.readLock().lock();
        synchronized (state) {
            if (state.handle == null) {
                lock.readLock().unlock();
                throw new IllegalStateException("index: this KeyIndex is closed");
            }
            return state.handle;
        }
    }

    void endUse() {
        lock.readLock().unlock();
    }

    // ---- checks ------------------------------------------------------------------------------

    private MemorySegment handle(String what) {
        synchronized (state) {
            if (state.handle == null) {
                throw new IllegalStateException(what + ": this KeyIndex is closed");
            }
            return state.handle;
        }
    }

    static void validateKeys(Tensor k, Tensor v) {
        usable("k", k);
        cpuOnly("k", k, "the key index");
        rank4("k", k, "[batch, kv_heads, seq, head_dim]");
        headDim("k", k);
        batchAndHeads("k", k);
        if (k.shape(2) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("k: seq " + k.shape(2) + " keys, an index holds fewer than 2^31");
        }
        addressable("k", k);
        if (v != null) {
            usable("v", v);
            sameDevice("v", v, "k", k);
            rank4("v", v, "[batch, kv_heads, seq, head_dim]");
            sameDType("v", v, "k", k);
            sameShape("v", v, "k", k);
            addressable("v", v);
        }
    }

    /** {@code t} is {@code old} with at least as many positions along dim 2. */
    private static void grownView(String name, Tensor t, Tensor old) {
        rank4(name, t, "[batch, kv_heads, seq, head_dim]");
        if (t.segment().address() != old.segment().address()) {
            throw new IllegalArgumentException(name + ": starts at 0x" + Long.toHexString(t.segment().address())
                    + " but the indexed view starts at 0x" + Long.toHexString(old.segment().address())
                    + " (append takes a longer view of the same cache)");
        }
        if (!t.device().equals(old.device())) {
            throw new IllegalArgumentException(name + ": on " + t.device() + " but the indexed view is on "
                    + old.device());
        }
        sameDType(name, t, "the indexed view", old);
        if (!Arrays.equals(t.strides(), old.strides())) {
            throw new IllegalArgumentException(name + ": strides " + Arrays.toString(t.strides())
                    + " differ from the indexed view's " + Arrays.toString(old.strides()));
        }
        for (int dim : new int[] {0, 1, 3}) {
            String what = dim == 0 ? "batch" : dim == 1 ? "heads" : "head_dim";
            sameExtent(name, t, "the indexed view", old, dim, what);
        }
        if (t.shape(2) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": seq " + t.shape(2) + " keys, an index holds fewer than 2^31");
        }
        if (t.shape(2) < old.shape(2)) {
            throw new IllegalArgumentException(name + ": seq " + t.shape(2) + " is shorter than the "
                    + old.shape(2) + " keys already indexed");
        }
        addressable(name, t);
    }

    /** {@code t} is exactly {@code indexed}: same memory, dtype, shape and strides. */
    static boolean sameIndexedView(Tensor t, Tensor indexed) {
        return t.segment().address() == indexed.segment().address() && t.dtype() == indexed.dtype()
                && t.device().equals(indexed.device()) && t.sameShape(indexed) && t.sameStrides(indexed);
    }
}
