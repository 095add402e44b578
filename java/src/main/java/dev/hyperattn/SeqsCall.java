package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.ha_seqs;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The operands of one {@code ha_attention_exact_seqs} call (a batch of sequences: packed
 * queries; packed, padded or paged keys), as {@link ExactAttention} passes them through
 * {@link AttentionOp#call} in place of a single problem. The library validates every offset,
 * length and page index and names the argument; here only what could crash the JVM before it
 * gets to them is checked (array lengths, memory that is not native or not alive), and packed
 * {@code [total, H, D]} tensors are viewed as the ABI's {@code [1, H, total, D]} (no copy).
 */
final class SeqsCall {

    final Tensor q, k, v, out;
    final int count;
    final int[] cuQ, cuK, lengths; // null where absent
    final KvCache.Batch kv; // paged keys, or null

    private SeqsCall(Tensor q, Tensor k, Tensor v, Tensor out, int count, int[] cuQ, int[] cuK, int[] lengths,
            KvCache.Batch kv) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.out = out;
        this.count = count;
        this.cuQ = cuQ;
        this.cuK = cuK;
        this.lengths = lengths;
        this.kv = kv;
    }

    /** Packed queries (or dense when cuQ is null) over packed (cuK) or padded keys with lengths. */
    static SeqsCall keys(Tensor q, int[] cuQ, Tensor k, Tensor v, int[] cuK, int[] lengths, Tensor out) {
        int count;
        if (cuQ != null) {
            count = offsetsCount("cuSeqlensQ", cuQ);
        } else if (cuK != null) {
            count = offsetsCount("cuSeqlensK", cuK);
        } else {
            usable("q", q);
            count = (int) q.shape(0);
        }
        if (cuK != null && cuK.length != count + 1) {
            throw new IllegalArgumentException("cuSeqlensK: " + cuK.length + " offsets, but there are " + count
                    + " sequences (needs " + (count + 1) + ")");
        }
        if (lengths != null && lengths.length != count) {
            throw new IllegalArgumentException("kvLengths: " + lengths.length + " lengths, but there are " + count
                    + " sequences");
        }
        return new SeqsCall(packed("q", q, cuQ != null), packed("k", k, cuK != null), packed("v", v, cuK != null),
                packed("out", out, cuQ != null), count, cuQ, cuK, lengths, null);
    }

    /** Queries (dense [B, Hq, n, D], or packed with cuQ) over the sequences of a paged cache. */
    static SeqsCall paged(Tensor q, int[] cuQ, KvCache.Batch kv, Tensor out) {
        if (kv == null) {
            throw new IllegalArgumentException("kv: is null");
        }
        kv.checkCurrent();
        int count = kv.size();
        if (cuQ != null && cuQ.length != count + 1) {
            throw new IllegalArgumentException("cuSeqlensQ: " + cuQ.length + " offsets, but the batch has " + count
                    + " sequences (needs " + (count + 1) + ")");
        }
        KvCache cache = kv.cache();
        return new SeqsCall(packed("q", q, cuQ != null), cache.keyPages(), cache.valuePages(),
                packed("out", out, cuQ != null), count, cuQ, null, null, kv);
    }

    private static int offsetsCount(String name, int[] cu) {
        if (cu.length < 1) {
            throw new IllegalArgumentException(name + ": needs at least one offset (0)");
        }
        return cu.length - 1;
    }

    // A packed [total, H, D] tensor as the ABI's [1, H, total, D] view (no copy).
    private static Tensor packed(String name, Tensor t, boolean packed) {
        usable(name, t);
        cpuOnly(name, t, "attention over a batch of sequences");
        if (!packed || t.rank() == 4) {
            return t;
        }
        if (t.rank() != 3) {
            throw new IllegalArgumentException(name + ": packed rows must be [total, heads, head_dim] or "
                    + "[1, heads, total, head_dim], got rank " + t.rank());
        }
        long[] shape = {1, t.shape(1), t.shape(0), t.shape(2)};
        long[] strides = {t.stride(0) * t.shape(0), t.stride(1), t.stride(0), t.stride(2)};
        return Tensor.wrap(t.segment(), t.dtype(), shape, strides);
    }

    /** What must hold before native code sees the tensors (the library checks the rest). */
    void check(Tensor lse) {
        if (kv != null) {
            kv.checkCurrent();
        }
        for (var e : new Object[][] {{"q", q}, {"k", k}, {"v", v}, {"out", out}, {"lse", lse}}) {
            Tensor t = (Tensor) e[1];
            if (t != null) {
                usable((String) e[0], t);
                addressable((String) e[0], t);
            }
        }
        if (lse != null) {
            cpuOnly("lse", lse, "attention over a batch of sequences");
        }
    }

    int invoke(CallScratch s, MemorySegment params, Tensor lse) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seqs = ha_seqs.allocate(arena);
            hyperattn_h.ha_seqs_init(seqs);
            MemorySegment cuQSeg = ints(arena, cuQ);
            MemorySegment cuKSeg = ints(arena, cuK);
            MemorySegment lensSeg = kv != null ? kv.lengths() : ints(arena, lengths);
            MemorySegment tableSeg = kv != null ? kv.table() : MemorySegment.NULL;
            ha_seqs.count(seqs, count);
            ha_seqs.page_size(seqs, kv != null ? kv.cache().pageSize() : 0);
            ha_seqs.cu_seqlens_q(seqs, cuQSeg);
            ha_seqs.cu_seqlens_k(seqs, cuKSeg);
            ha_seqs.seqlens_k(seqs, lensSeg);
            ha_seqs.block_table(seqs, tableSeg);
            ha_seqs.block_table_stride(seqs, kv != null ? kv.maxPages() : 0);
            ha_seqs.max_pages(seqs, kv != null ? kv.maxPages() : 0);
            return hyperattn_h.ha_attention_exact_seqs(s.describe(0, q), s.describe(1, k), s.describe(2, v),
                    s.describe(3, out), s.describe(4, lse), seqs, params, Descriptors.data(q), Descriptors.data(k),
                    Descriptors.data(v), Descriptors.data(out), Descriptors.data(lse), cuQSeg, cuKSeg, lensSeg,
                    tableSeg);
        }
    }

    private static MemorySegment ints(Arena arena, int[] a) {
        return a == null ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_INT, a);
    }
}
