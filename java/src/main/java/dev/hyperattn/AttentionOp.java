package dev.hyperattn;

import static dev.hyperattn.OperandChecks.*;

import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.Arrays;

/**
 * What the attention builders share: the settings every operation has (causal, scale, stream),
 * the operand checks of the exact standard, and one call sequence (validate, claim scratch,
 * write params and descriptors, call, map the status, release, keep everything reachable).
 * Each builder adds only its own settings, checks and downcall.
 *
 * <p>A setting a builder leaves unset is not written: the call's params start as a copy of the
 * native {@code ha_*_params_init} struct ({@link NativeDefaults}), so every default is the
 * library's. Accessors of unset settings read the same native defaults (loading the library);
 * {@code toString} does not, printing {@code default} instead.
 */
abstract sealed class AttentionOp permits ExactAttention, HyperAttention, HsrAttention, ApproxAttention {

    /** {@link #causal} when not set: the native default. */
    static final byte UNSET = -1;

    /** Where an operation's params struct keeps the shared settings, and its native defaults. */
    record ParamsSpec(MemorySegment template, long scaleOffset, long causalOffset, long streamOffset) {
    }

    final byte causal; // UNSET, 0 or 1
    final float scale; // 0: unset (the native default; 0 in the struct means 1/sqrt(head_dim))
    final CudaStream stream; // null: none, the call finishes before returning

    AttentionOp(byte causal, float scale, CudaStream stream) {
        this.causal = causal;
        this.scale = scale;
        this.stream = stream;
    }

    static byte causalFlag(boolean causal) {
        return causal ? (byte) 1 : (byte) 0;
    }

    /** The shared check of a {@code scale(float)} setter. */
    static float checkScale(float scale) {
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("scale: " + scale + " must be finite and > 0");
        }
        return scale;
    }

    // ---- what each operation supplies ------------------------------------------------------

    /** The native function, for error messages. */
    abstract String function();

    /** This operation's params layout and defaults (the library is loaded when this is called). */
    abstract ParamsSpec params();

    abstract boolean defaultCausal();

    abstract float defaultScale();

    /**
     * Every operand check, in the order that names the first problem a caller would fix; at
     * least {@link #attentionOperands}. {@code extra} is the operation's optional per-row output.
     */
    abstract void checkOperands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Object extra);

    /**
     * Writes the operation's own params fields (the shared ones are written) and stats, and
     * makes the downcall with descriptors from {@code s}.
     */
    abstract int invoke(CallScratch s, MemorySegment params, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
            MemorySegment index, Object extra);

    // ---- shared accessors ------------------------------------------------------------------

    /** Whether the causal mask is applied (bottom-right aligned); default the library's (off). */
    public boolean isCausal() {
        return causal != UNSET ? causal == 1 : defaultCausal();
    }

    /** The scale a call with this head dimension uses. */
    public float scaleFor(long headDim) {
        float s = scale != 0f ? scale : defaultScale();
        return s != 0f ? s : (float) (1.0 / Math.sqrt(headDim));
    }

    /** {@code causal=..., scale=...} without loading the library. */
    final String sharedSettings() {
        return "causal=" + (causal == UNSET ? "default" : causal == 1) + ", scale="
                + (scale == 0f ? "1/sqrt(head_dim)" : scale);
    }

    // ---- the call ----------------------------------------------------------------------------

    /**
     * One call: checks, then the downcall with scratch descriptors and params, then the status
     * turned into an exception. {@code index} may be null; {@code extra} is passed through to
     * {@link #checkOperands} and {@link #invoke}.
     */
    final void call(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, KeyIndex index, Object extra) {
        Native.ensureLoaded();
        checkOperands(q, k, v, out, lse, extra);
        MemorySegment streamHandle = OperandChecks.stream(stream, "q", q);
        MemorySegment indexHandle = index == null ? MemorySegment.NULL : index.beginUse();
        try {
            if (index != null) {
                checkIndex(index, k, v);
            }
            CallScratch s = CallScratch.acquire();
            try {
                ParamsSpec spec = params();
                MemorySegment p = s.params(spec.template());
                if (scale != 0f) {
                    p.set(ValueLayout.JAVA_FLOAT, spec.scaleOffset(), scale);
                }
                if (causal != UNSET) {
                    p.set(ValueLayout.JAVA_INT, spec.causalOffset(), causal);
                }
                if (stream != null) {
                    p.set(ValueLayout.ADDRESS, spec.streamOffset(), streamHandle);
                }
                int status = invoke(s, p, q, k, v, out, lse, indexHandle, extra);
                if (status != hyperattn_h.HA_OK()) {
                    Native.check(status, function());
                }
            } finally {
                s.release();
            }
        } finally {
            if (index != null) {
                index.endUse();
            }
            // The descriptors and stats hold raw addresses, which do not keep memory reachable
            // (the data arguments do, for tensors; a stream or index handle only through its
            // owner): without these an Arena.ofAuto() buffer, a stream or an index could be
            // freed by GC while native code runs.
            Reference.reachabilityFence(q);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(v);
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(lse);
            Reference.reachabilityFence(extra);
            Reference.reachabilityFence(index);
            Reference.reachabilityFence(stream);
        }
    }

    // ---- shared checks -----------------------------------------------------------------------

    /** The operand checks of exact attention, which every attention operation applies. */
    static void attentionOperands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        usable("q", q);
        usable("k", k);
        usable("v", v);
        usable("out", out);
        if (lse != null) {
            usable("lse", lse);
        }
        String dims = "[batch, heads, seq, head_dim]";
        rank4("q", q, dims);
        rank4("k", k, dims);
        rank4("v", v, dims);
        rank4("out", out, dims);
        sameDType("k", k, "q", q);
        sameDType("v", v, "q", q);
        sameDType("out", out, "q", q);
        sameDevice("k", k, "q", q);
        sameDevice("v", v, "q", q);
        sameDevice("out", out, "q", q);
        if (lse != null) {
            sameDevice("lse", lse, "q", q);
        }
        present("q", q);

        headDim("q", q);
        batchAndHeads("q", q);
        batchAndHeads("k", k);
        sameExtent("k", k, "q", q, 0, "batch");
        sameExtent("k", k, "q", q, 3, "head_dim");
        sameExtent("v", v, "k", k, 0, "batch");
        sameExtent("v", v, "k", k, 1, "heads");
        sameExtent("v", v, "k", k, 2, "seq");
        sameExtent("v", v, "q", q, 3, "head_dim");
        if (q.shape(1) % k.shape(1) != 0) {
            throw new IllegalArgumentException("q: heads " + q.shape(1) + " not divisible by kv heads "
                    + k.shape(1));
        }
        sameShape("out", out, "q", q);
        if (lse != null) {
            lse("lse", lse, q.shape(0), q.shape(1), q.shape(2), "q's [batch, heads, seq]");
        }

        addressable("q", q);
        addressable("k", k);
        addressable("v", v);
        addressable("out", out);
        if (lse != null) {
            addressable("lse", lse);
        }
        writableOutput("out", out);
        disjoint("out", out, "q", q);
        disjoint("out", out, "k", k);
        disjoint("out", out, "v", v);
        if (lse != null) {
            writableOutput("lse", lse);
            disjoint("lse", lse, "q", q);
            disjoint("lse", lse, "k", k);
            disjoint("lse", lse, "v", v);
            disjoint("lse", lse, "out", out);
        }
    }

    /** The attention checks for an operation only the CPU backend implements. */
    static void cpuAttentionOperands(String operation, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        cpuOnly("q", q, operation);
        attentionOperands(q, k, v, out, lse);
    }

    /**
     * A per-row stats output of {@code rows} rows whose memory is {@code memory} (one of its
     * arrays; all share one arena): the row count of q, alive, accessible from this thread.
     */
    static void statsRows(String name, long rows, MemorySegment memory, Tensor q) {
        long expected = q.shape(0) * q.shape(1) * q.shape(2);
        if (rows != expected) {
            throw new IllegalArgumentException(name + ": " + rows + " rows, but q has B*Hq*Nq = " + expected);
        }
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException(name + ": its memory is no longer valid (the arena that owns it is closed)");
        }
        if (!memory.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(name + ": its memory is confined to another thread");
        }
    }

    /** An index serves exactly the K (and V, if it holds values) view it was built over. */
    static void checkIndex(KeyIndex index, Tensor k, Tensor v) {
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

    private static String describe(Tensor t) {
        return t.dtype() + " " + Arrays.toString(t.shape()) + " strides " + Arrays.toString(t.strides()) + " @0x"
                + Long.toHexString(t.segment().address());
    }
}
