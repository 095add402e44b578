package dev.hyperattn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A paged key/value cache in off-heap memory, shared by many sequences: keys and values live in
 * fixed-size pages ({@code pageSize} positions of every kv head), handed to sequences as they
 * grow and returned when a sequence is freed, so sequences of very different lengths share one
 * pool without reserving the longest length for each (vLLM's and FlashAttention's paged cache).
 *
 * <pre>{@code
 * KvCache cache = KvCache.allocate(arena, DType.BF16, 8, 128, 16, 4096); // 8 kv heads, d=128
 * int s = cache.newSequence();
 * cache.append(s, k, v);                          // k, v: [n, 8, 128]
 * op.run(q, cache.batch(s, t), out);              // decode sequences s and t in one call
 * cache.free(s);                                  // its pages go back to the pool
 * }</pre>
 *
 * Memory: the pages are two CPU tensors ({@link #keyPages()}, {@link #valuePages()}) of shape
 * {@code [pages, pageSize, kvHeads, headDim]} in memory, owned by the arena given to
 * {@link #allocate}; attention reads them in place (no copies). A sequence's page list and
 * length live on the Java heap; {@link #batch} gathers the lists of a batch into one native
 * block table.
 *
 * <p>Not thread-safe: a cache is meant to be driven by one thread (a decoding loop). Attention
 * calls over a {@link Batch} may run on any thread while nothing appends to or frees the cache.
 */
public final class KvCache {

    private final DType dtype;
    private final int kvHeads;
    private final int headDim;
    private final int pageSize;
    private final int pages;
    private final Tensor keyPages;
    private final Tensor valuePages;
    private final Arena arena;

    private final int[] freeStack; // free page indices, top at freeTop - 1
    private int freeTop;
    private final List<Seq> seqs = new ArrayList<>();
    private final ArrayList<Integer> freeIds = new ArrayList<>();
    private long generation; // bumped by every change a Batch depends on

    // Reused native scratch for batches (grown, never shrunk).
    private MemorySegment tableScratch = MemorySegment.NULL;
    private MemorySegment lengthScratch = MemorySegment.NULL;

    private static final class Seq {
        int[] pages = new int[4];
        int pageCount;
        long length;
        boolean live;
    }

    private KvCache(Arena arena, DType dtype, int kvHeads, int headDim, int pageSize, int pages) {
        this.arena = arena;
        this.dtype = dtype;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.pageSize = pageSize;
        this.pages = pages;
        long[] shape = {pages, kvHeads, pageSize, headDim};
        long[] strides = {(long) pageSize * kvHeads * headDim, headDim, (long) kvHeads * headDim, 1};
        long bytes = (long) pages * pageSize * kvHeads * headDim * dtype.byteSize();
        this.keyPages = Tensor.wrap(arena.allocate(bytes, Tensor.ALIGNMENT), dtype, shape, strides);
        this.valuePages = Tensor.wrap(arena.allocate(bytes, Tensor.ALIGNMENT), dtype, shape, strides);
        this.freeStack = new int[pages];
        for (int i = 0; i < pages; i++) {
            freeStack[i] = pages - 1 - i; // page 0 is handed out first
        }
        this.freeTop = pages;
    }

    /**
     * A cache of {@code pages} pages of {@code pageSize} positions for {@code kvHeads} heads of
     * dimension {@code headDim}, in memory owned by {@code arena} (2 · pages · pageSize · kvHeads
     * · headDim elements, zeroed).
     *
     * @throws IllegalArgumentException for a non-positive size, a dtype other than F32, BF16 or F16,
     *     headDim above 256, or more than 2^31 - 1 positions in all
     */
    public static KvCache allocate(Arena arena, DType dtype, int kvHeads, int headDim, int pageSize, int pages) {
        if (arena == null) {
            throw new IllegalArgumentException("arena: is null");
        }
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("dtype: " + dtype + " is not a CPU attention dtype (F32, BF16, F16)");
        }
        if (kvHeads < 1) {
            throw new IllegalArgumentException("kvHeads: must be >= 1, got " + kvHeads);
        }
        if (headDim < 1 || headDim > 256) {
            throw new IllegalArgumentException("headDim: must be in 1..256, got " + headDim);
        }
        if (pageSize < 1) {
            throw new IllegalArgumentException("pageSize: must be >= 1, got " + pageSize);
        }
        if (pages < 1) {
            throw new IllegalArgumentException("pages: must be >= 1, got " + pages);
        }
        if ((long) pages * pageSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("pages: " + pages + " pages of " + pageSize
                    + " positions exceed 2^31 - 1 positions");
        }
        return new KvCache(arena, dtype, kvHeads, headDim, pageSize, pages);
    }

    /** A new, empty sequence; its id is reused after {@link #free}. */
    public int newSequence() {
        int id;
        if (!freeIds.isEmpty()) {
            id = freeIds.remove(freeIds.size() - 1);
        } else {
            id = seqs.size();
            seqs.add(new Seq());
        }
        Seq s = seqs.get(id);
        s.live = true;
        s.length = 0;
        s.pageCount = 0;
        generation++;
        return id;
    }

    /**
     * Appends {@code n} positions to sequence {@code seq}: {@code k} and {@code v} are
     * {@code [n, kvHeads, headDim]} (or {@code [1, kvHeads, n, headDim]}), any strides, the
     * cache's dtype, on the CPU. Pages are taken from the pool as needed; if the pool cannot
     * hold all {@code n} positions nothing is appended.
     *
     * @throws IllegalArgumentException for an unknown or freed sequence, or k/v of the wrong
     *     shape or dtype
     * @throws IllegalStateException if the pool has too few free pages
     */
    public void append(int seq, Tensor k, Tensor v) {
        Seq s = live(seq);
        long n = positions("k", k);
        if (positions("v", v) != n) {
            throw new IllegalArgumentException("v: " + positions("v", v) + " positions, but k has " + n);
        }
        if (s.length + n > (long) pages * pageSize) {
            throw new IllegalArgumentException("k: sequence " + seq + " would hold " + (s.length + n)
                    + " positions, more than the cache's " + (long) pages * pageSize);
        }
        long needPages = ceilDiv(s.length + n, pageSize) - s.pageCount;
        if (needPages > freeTop) {
            throw new IllegalStateException("KvCache: sequence " + seq + " needs " + needPages
                    + " more pages, only " + freeTop + " are free (of " + pages + ")");
        }
        for (long i = 0; i < needPages; i++) {
            if (s.pageCount == s.pages.length) {
                s.pages = Arrays.copyOf(s.pages, s.pages.length * 2);
            }
            s.pages[s.pageCount++] = freeStack[--freeTop];
        }
        copyRows(s, k, keyPages, n);
        copyRows(s, v, valuePages, n);
        s.length += n;
        generation++;
    }

    /** Returns the pages of sequence {@code seq} to the pool; its id may be reused. */
    public void free(int seq) {
        Seq s = live(seq);
        for (int i = 0; i < s.pageCount; i++) {
            freeStack[freeTop++] = s.pages[i];
        }
        s.pageCount = 0;
        s.length = 0;
        s.live = false;
        freeIds.add(seq);
        generation++;
    }

    /** Positions held by sequence {@code seq}. */
    public long length(int seq) {
        return live(seq).length;
    }

    public int freePages() {
        return freeTop;
    }

    public int pages() {
        return pages;
    }

    public int pageSize() {
        return pageSize;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    public DType dtype() {
        return dtype;
    }

    /** The key pages, viewed as {@code [pages, kvHeads, pageSize, headDim]} (no copy). */
    public Tensor keyPages() {
        return keyPages;
    }

    /** The value pages, viewed as {@code [pages, kvHeads, pageSize, headDim]} (no copy). */
    public Tensor valuePages() {
        return valuePages;
    }

    /**
     * The sequences {@code seqs}, in this order, as the keys and values of one attention call
     * (see {@link ExactAttention#run(Tensor, Batch, Tensor)}): a block table and the lengths,
     * gathered into native memory the cache reuses. The batch is valid until the cache next
     * changes (append, free, new sequence, or another {@code batch}); using it later is an
     * {@link IllegalStateException}.
     *
     * @throws IllegalArgumentException for an unknown or freed sequence, or none
     */
    public Batch batch(int... seqs) {
        if (seqs == null || seqs.length == 0) {
            throw new IllegalArgumentException("seqs: at least one sequence is needed");
        }
        int maxPages = 1;
        for (int id : seqs) {
            maxPages = Math.max(maxPages, live(id).pageCount);
        }
        long tableBytes = (long) seqs.length * maxPages * Integer.BYTES;
        if (tableScratch.byteSize() < tableBytes) {
            tableScratch = arena.allocate(Math.max(tableBytes, 2 * tableScratch.byteSize()), 64);
        }
        if (lengthScratch.byteSize() < (long) seqs.length * Integer.BYTES) {
            lengthScratch = arena.allocate(Math.max((long) seqs.length * Integer.BYTES,
                    2 * lengthScratch.byteSize()), 64);
        }
        for (int b = 0; b < seqs.length; b++) {
            Seq s = this.seqs.get(seqs[b]);
            MemorySegment.copy(s.pages, 0, tableScratch, ValueLayout.JAVA_INT,
                    (long) b * maxPages * Integer.BYTES, s.pageCount);
            lengthScratch.setAtIndex(ValueLayout.JAVA_INT, b, (int) s.length);
        }
        generation++;
        return new Batch(this, generation, seqs.length, maxPages, tableScratch, lengthScratch);
    }

    /** A view of some sequences of a {@link KvCache} for one attention call (see {@link KvCache#batch}). */
    public static final class Batch {
        private final KvCache cache;
        private final long generation;
        private final int count;
        private final int maxPages;
        private final MemorySegment table;
        private final MemorySegment lengths;

        private Batch(KvCache cache, long generation, int count, int maxPages, MemorySegment table,
                MemorySegment lengths) {
            this.cache = cache;
            this.generation = generation;
            this.count = count;
            this.maxPages = maxPages;
            this.table = table;
            this.lengths = lengths;
        }

        /** Sequences in the batch. */
        public int size() {
            return count;
        }

        public KvCache cache() {
            return cache;
        }

        void checkCurrent() {
            if (cache.generation != generation) {
                throw new IllegalStateException("batch: the KvCache changed after this batch was made "
                        + "(make a new one with KvCache.batch after appending or freeing)");
            }
        }

        int maxPages() {
            return maxPages;
        }

        MemorySegment table() {
            return table;
        }

        MemorySegment lengths() {
            return lengths;
        }
    }

    private Seq live(int seq) {
        if (seq < 0 || seq >= seqs.size() || !seqs.get(seq).live) {
            throw new IllegalArgumentException("seq: " + seq + " is not a live sequence of this cache");
        }
        return seqs.get(seq);
    }

    // k or v as [n, kvHeads, headDim] (rank 3) or [1, kvHeads, n, headDim] (rank 4): n.
    private long positions(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": is null");
        }
        if (!t.device().isCpu()) {
            throw new IllegalArgumentException(name + ": must be on the CPU, is on " + t.device());
        }
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " differs from the cache's " + dtype);
        }
        long n;
        long heads;
        long dim;
        if (t.rank() == 3) {
            n = t.shape(0);
            heads = t.shape(1);
            dim = t.shape(2);
        } else if (t.rank() == 4 && t.shape(0) == 1) {
            n = t.shape(2);
            heads = t.shape(1);
            dim = t.shape(3);
        } else {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape())
                    + " is neither [n, kvHeads, headDim] nor [1, kvHeads, n, headDim]");
        }
        if (heads != kvHeads || dim != headDim) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape()) + " has "
                    + heads + " heads of dimension " + dim + ", the cache " + kvHeads + " of " + headDim);
        }
        return n;
    }

    // Rows of src (positions 0..n-1) to the sequence's positions length.. in pages.
    private void copyRows(Seq s, Tensor src, Tensor dstPages, long n) {
        boolean rank3 = src.rank() == 3;
        long sPos = rank3 ? src.stride(0) : src.stride(2);
        long sHead = src.stride(1);
        long sDim = rank3 ? src.stride(2) : src.stride(3);
        long es = dtype.byteSize();
        MemorySegment from = src.segment();
        MemorySegment to = dstPages.segment();
        long rowBytes = (long) headDim * es;
        for (long t = 0; t < n; t++) {
            long pos = s.length + t;
            long page = s.pages[(int) (pos / pageSize)];
            long dstPos = (page * pageSize + pos % pageSize) * kvHeads * headDim * es;
            for (long h = 0; h < kvHeads; h++) {
                long srcOff = (t * sPos + h * sHead) * es;
                long dstOff = dstPos + h * rowBytes;
                if (sDim == 1) {
                    MemorySegment.copy(from, srcOff, to, dstOff, rowBytes);
                } else {
                    for (long d = 0; d < headDim; d++) {
                        MemorySegment.copy(from, srcOff + d * sDim * es, to, dstOff + d * es, es);
                    }
                }
            }
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public String toString() {
        return "KvCache[" + dtype + ", " + kvHeads + " kv heads x " + headDim + ", " + pages + " pages of "
                + pageSize + ", " + freeTop + " free]";
    }
}
