package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.ha_seqs;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;

/**
 * One {@code ha_attention_exact_seqs} call: a batch of sequences with packed queries and packed,
 * padded or paged keys (see {@link ExactAttention}). The library validates every offset, length
 * and page index and names the argument; here only what could crash the JVM before it gets to
 * (array lengths, memory that is not native) is checked.
 */
final class SeqsCall {

    private SeqsCall() {
    }

    /** ha_exact_params beyond scale and causal. */
    record Mask(int windowLeft, int windowRight, float softcap) {
        static final Mask NONE = new Mask(-1, -1, 0f);
    }

    /**
     * Packed or dense queries over packed or padded keys. {@code cuQ} null: q is
     * {@code [B, Hq, n, D]}; otherwise q is {@code [total, Hq, D]} (or {@code [1, Hq, total, D]})
     * and {@code cuQ} has B + 1 offsets. Likewise k/v with {@code cuK}; {@code seqlensK} (may be
     * null) holds B lengths.
     */
    static void varlen(float scale, boolean causal, Mask mask, Tensor q, int[] cuQ, Tensor k, Tensor v,
            int[] cuK, int[] seqlensK, Tensor out, Tensor lse) {
        int count = cuQ != null ? cuQ.length - 1 : cuK != null ? cuK.length - 1 : (int) q.shape(0);
        if (cuQ != null && cuQ.length < 1) {
            throw new IllegalArgumentException("cuSeqlensQ: needs at least one offset (0)");
        }
        if (cuK != null && cuK.length != count + 1) {
            throw new IllegalArgumentException("cuSeqlensK: " + cuK.length + " offsets, but there are " + count
                    + " sequences (needs " + (count + 1) + ")");
        }
        if (seqlensK != null && seqlensK.length != count) {
            throw new IllegalArgumentException("seqlensK: " + seqlensK.length + " lengths, but there are " + count
                    + " sequences");
        }
        Tensor q4 = packed("q", q, cuQ != null);
        Tensor out4 = packed("out", out, cuQ != null);
        Tensor k4 = packed("k", k, cuK != null);
        Tensor v4 = packed("v", v, cuK != null);
        call(scale, causal, mask, q4, k4, v4, out4, lse, count, 0, cuQ, cuK, seqlensK, null, 0, 0);
    }

    /** Queries (dense [B, Hq, n, D], or packed with cuQ) over the sequences of a paged cache. */
    static void paged(float scale, boolean causal, Mask mask, Tensor q, int[] cuQ, KvCache.Batch kv, Tensor out,
            Tensor lse) {
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
        Tensor q4 = packed("q", q, cuQ != null);
        Tensor out4 = packed("out", out, cuQ != null);
        call(scale, causal, mask, q4, cache.keyPages(), cache.valuePages(), out4, lse, count, cache.pageSize(),
                cuQ, null, null, kv, kv.maxPages(), kv.maxPages());
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

    private static MemorySegment ints(Arena arena, int[] a) {
        return a == null ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_INT, a);
    }

    private static void call(float scale, boolean causal, Mask mask, Tensor q, Tensor k, Tensor v, Tensor out,
            Tensor lse, int count, int pageSize, int[] cuQ, int[] cuK, int[] seqlensK, KvCache.Batch kv,
            long tableStride, int maxPages) {
        Native.ensureLoaded();
        usable("k", k);
        usable("v", v);
        if (lse != null) {
            usable("lse", lse);
        }
        addressable("q", q);
        addressable("k", k);
        addressable("v", v);
        addressable("out", out);
        if (lse != null) {
            addressable("lse", lse);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = ha_exact_params.allocate(arena);
            hyperattn_h.ha_exact_params_init(params);
            ha_exact_params.scale(params, scale);
            ha_exact_params.causal(params, causal ? 1 : 0);
            ha_exact_params.window_left(params, mask.windowLeft());
            ha_exact_params.window_right(params, mask.windowRight());
            ha_exact_params.softcap(params, mask.softcap());
            MemorySegment seqs = ha_seqs.allocate(arena);
            hyperattn_h.ha_seqs_init(seqs);
            MemorySegment cuQSeg = ints(arena, cuQ);
            MemorySegment cuKSeg = ints(arena, cuK);
            MemorySegment lensSeg = kv != null ? kv.lengths() : ints(arena, seqlensK);
            MemorySegment tableSeg = kv != null ? kv.table() : MemorySegment.NULL;
            ha_seqs.count(seqs, count);
            ha_seqs.page_size(seqs, pageSize);
            ha_seqs.cu_seqlens_q(seqs, cuQSeg);
            ha_seqs.cu_seqlens_k(seqs, cuKSeg);
            ha_seqs.seqlens_k(seqs, lensSeg);
            ha_seqs.block_table(seqs, tableSeg);
            ha_seqs.block_table_stride(seqs, tableStride);
            ha_seqs.max_pages(seqs, maxPages);
            int status = hyperattn_h.ha_attention_exact_seqs(Descriptors.of(arena, q), Descriptors.of(arena, k),
                    Descriptors.of(arena, v), Descriptors.of(arena, out), Descriptors.of(arena, lse), seqs, params,
                    Descriptors.data(q), Descriptors.data(k), Descriptors.data(v), Descriptors.data(out),
                    Descriptors.data(lse), cuQSeg, cuKSeg, lensSeg, tableSeg);
            Native.check(status, "ha_attention_exact_seqs");
        } finally {
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(lse);
            Reference.reachabilityFence(kv);
        }
    }
}
