package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/** Entry points of the attention operations. */
public final class Attention {

    private Attention() {
    }

    /** Exact softmax attention, non-causal, scale 1/sqrt(head_dim); configure with the builder. */
    public static ExactAttention exact() {
        return ExactAttention.defaults();
    }

    /**
     * HyperAttention (Han et al. 2023): approximate softmax attention in near-linear time, with
     * the defaults documented on {@link HyperAttention}; configure with the builder. Operands on
     * the CPU (F32, BF16, F16) or on one CUDA device (BF16, F16; optionally on a
     * {@link CudaStream}); the per-row error estimates ({@code rowError}) are computed on the
     * CPU only.
     */
    public static HyperAttention hyper() {
        return HyperAttention.defaults();
    }

    /**
     * HSR sparse attention: attention over the keys that half-space reporting finds, exact for
     * ReLU^α weights and with a certified error bound for softmax. Defaults: softmax with
     * ε = 1e-3, non-causal, no index; see {@link HsrAttention}. CPU only.
     */
    public static HsrAttention hsr() {
        return HsrAttention.defaults();
    }

    /**
     * Error-controlled approximate softmax attention: sinks, a local window and heavy keys
     * exactly, the remaining tail sampled, with a per-row error estimate and an optional error
     * target ({@code Attention.approx().causal(true).targetError(0.05).run(q, k, v, out)}).
     * Defaults are the native {@code ha_approx_params_init}'s; see {@link ApproxAttention}.
     * CPU only.
     */
    public static ApproxAttention approx() {
        return ApproxAttention.defaults();
    }

    /**
     * Merges two partial attention results over disjoint key sets A and B into the result over
     * A ∪ B, using their log-sum-exps:
     * {@code lse = log(e^lseA + e^lseB)}, {@code out = e^(lseA-lse) outA + e^(lseB-lse) outB}.
     * This is how split-KV / chunked attention is assembled.
     *
     * <p>outA, outB, out: {@code [B, H, N, D]} of one dtype; lseA, lseB, lse: float32
     * {@code [B, H, N]} (or with a trailing 1). {@code lse} may be null. In-place use is
     * allowed exactly: {@code out} may be the same view as outA or outB, {@code lse} as lseA or
     * lseB. Rows with both inputs at -infinity merge to 0 and -infinity.
     *
     * <p>All operands are on one device (CPU or CUDA).
     *
     * @throws IllegalArgumentException for inconsistent or unusable operands
     * @throws IllegalStateException if an operand's arena is closed
     * @throws HyperattnException if the library fails
     */
    public static void merge(Tensor outA, Tensor lseA, Tensor outB, Tensor lseB, Tensor out, Tensor lse) {
        merge(outA, lseA, outB, lseB, out, lse, null);
    }

    /**
     * As {@link #merge(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)}, enqueued on
     * {@code stream} for CUDA operands (of the stream's device), returning at once; null finishes
     * before returning.
     */
    public static void merge(Tensor outA, Tensor lseA, Tensor outB, Tensor lseB, Tensor out, Tensor lse,
            CudaStream stream) {
        Native.ensureLoaded();
        validateMerge(outA, lseA, outB, lseB, out, lse);
        MemorySegment streamHandle = OperandChecks.stream(stream, "outA", outA);
        CallScratch s = CallScratch.acquire();
        try {
            int status = hyperattn_h.ha_merge(s.describe(0, outA), s.describe(1, lseA), s.describe(2, outB),
                    s.describe(3, lseB), s.describe(4, out), s.describe(5, lse), streamHandle, Descriptors.data(outA),
                    Descriptors.data(lseA), Descriptors.data(outB), Descriptors.data(lseB), Descriptors.data(out),
                    Descriptors.data(lse));
            Native.check(status, "ha_merge");
        } finally {
            s.release();
            // Descriptors carry raw addresses only; keep the segments reachable until the call ends.
            Reference.reachabilityFence(outA);
            Reference.reachabilityFence(lseA);
            Reference.reachabilityFence(outB);
            Reference.reachabilityFence(lseB);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(lse);
            Reference.reachabilityFence(stream);
        }
    }

    static void validateMerge(Tensor outA, Tensor lseA, Tensor outB, Tensor lseB, Tensor out, Tensor lse) {
        usable("outA", outA);
        usable("lseA", lseA);
        usable("outB", outB);
        usable("lseB", lseB);
        usable("out", out);
        if (lse != null) {
            usable("lse", lse);
        }
        String dims = "[batch, heads, seq, head_dim]";
        rank4("outA", outA, dims);
        rank4("outB", outB, dims);
        rank4("out", out, dims);
        sameDType("outB", outB, "outA", outA);
        sameDType("out", out, "outA", outA);
        sameShape("outB", outB, "outA", outA);
        sameShape("out", out, "outA", outA);
        sameDevice("lseA", lseA, "outA", outA);
        sameDevice("outB", outB, "outA", outA);
        sameDevice("lseB", lseB, "outA", outA);
        sameDevice("out", out, "outA", outA);
        if (lse != null) {
            sameDevice("lse", lse, "outA", outA);
        }
        present("outA", outA);
        long b = outA.shape(0), h = outA.shape(1), n = outA.shape(2);
        String src = "outA's [batch, heads, seq]";
        lse("lseA", lseA, b, h, n, src);
        lse("lseB", lseB, b, h, n, src);
        if (lse != null) {
            lse("lse", lse, b, h, n, src);
        }

        addressable("outA", outA);
        addressable("lseA", lseA);
        addressable("outB", outB);
        addressable("lseB", lseB);
        addressable("out", out);
        writableOutput("out", out);
        // out may be outA or outB exactly (the kernel reads each element before writing it), but
        // must not partially overlap anything it reads.
        disjointUnlessSame("out", out, "outA", outA);
        disjointUnlessSame("out", out, "outB", outB);
        disjoint("out", out, "lseA", lseA);
        disjoint("out", out, "lseB", lseB);
        if (lse != null) {
            addressable("lse", lse);
            writableOutput("lse", lse);
            disjointUnlessSame("lse", lse, "lseA", lseA);
            disjointUnlessSame("lse", lse, "lseB", lseB);
            disjoint("lse", lse, "outA", outA);
            disjoint("lse", lse, "outB", outB);
            disjoint("lse", lse, "out", out);
        }
    }

    private static void disjointUnlessSame(String name, Tensor t, String otherName, Tensor other) {
        if (!sameView(t, other)) {
            if (overlaps(t, other)) {
                throw new IllegalArgumentException(name + ": overlaps " + otherName + " without being exactly "
                        + otherName + " (in-place merge needs the identical view)");
            }
        }
    }
}
