package dev.hyperattn;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Argument checks run before every downcall. The native library checks too, but a mistake
 * caught here gets a Java exception type and an operand name the caller recognises, and memory
 * problems (dead or foreign-thread segments, reads past the end) must be caught before native
 * code dereferences a raw address.
 */
final class OperandChecks {

    static final long MAX_HEAD_DIM = 256;

    private OperandChecks() {
    }

    /** Null, liveness and thread checks; first, because later checks assume usable memory. */
    static void usable(String name, Tensor t) {
        Objects.requireNonNull(t, name);
        MemorySegment seg = t.segment();
        if (!seg.scope().isAlive()) {
            throw new IllegalStateException(name + ": its memory is no longer valid (the arena that owns it is closed)");
        }
        if (!seg.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(name + ": its memory is confined to another thread");
        }
    }

    /** What native code needs to address the data directly. */
    static void addressable(String name, Tensor t) {
        MemorySegment seg = t.segment();
        if (!seg.isNative()) {
            throw new IllegalArgumentException(name + ": memory is a Java heap segment; the library needs native"
                    + " (off-heap) memory, e.g. from Arena.allocate or Tensor.allocate");
        }
        int size = t.dtype().byteSize();
        if (seg.address() % size != 0) {
            throw new IllegalArgumentException(name + ": address 0x" + Long.toHexString(seg.address())
                    + " is not a multiple of the " + t.dtype() + " element size " + size);
        }
    }

    static void sameDevice(String name, Tensor t, String refName, Tensor ref) {
        if (!t.device().equals(ref.device())) {
            throw new IllegalArgumentException(name + ": on " + t.device() + " but " + refName + " is on "
                    + ref.device());
        }
    }

    static void rank4(String name, Tensor t, String dims) {
        if (t.rank() != 4) {
            throw new IllegalArgumentException(name + ": rank " + t.rank() + " " + Arrays.toString(t.shape())
                    + ", expected rank 4 " + dims);
        }
    }

    /** For the operations that only the CPU backend implements. */
    static void cpuOnly(String name, Tensor t, String operation) {
        Objects.requireNonNull(t, name);
        if (!t.device().isCpu()) {
            throw new IllegalArgumentException(name + ": on " + t.device() + ", but " + operation
                    + " runs on the CPU only");
        }
    }

    /** The operands' device exists (checked after they agree on one device). */
    static void present(String name, Tensor t) {
        t.device().requirePresent(name);
    }

    /**
     * A stream for a call on {@code ref}'s device: only for CUDA operands, of the same device,
     * and open. Returns the native handle (NULL for no stream).
     */
    static MemorySegment stream(CudaStream stream, String refName, Tensor ref) {
        if (stream == null) {
            return MemorySegment.NULL;
        }
        if (ref.device().isCpu()) {
            throw new IllegalArgumentException("stream: a CUDA stream of " + stream.device() + " was given but "
                    + refName + " is on the CPU (streams order device work only)");
        }
        if (!stream.device().equals(ref.device())) {
            throw new IllegalArgumentException("stream: belongs to " + stream.device() + " but " + refName + " is on "
                    + ref.device());
        }
        return stream.handle();
    }

    static void sameDType(String name, Tensor t, String refName, Tensor ref) {
        if (t.dtype() != ref.dtype()) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + " differs from " + refName + "'s "
                    + ref.dtype());
        }
    }

    static void sameExtent(String name, Tensor t, String refName, Tensor ref, int dim, String what) {
        if (t.shape(dim) != ref.shape(dim)) {
            throw new IllegalArgumentException(name + ": " + what + " " + t.shape(dim) + " differs from "
                    + refName + "'s " + ref.shape(dim));
        }
    }

    static void sameShape(String name, Tensor t, String refName, Tensor ref) {
        if (!t.sameShape(ref)) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape()) + " differs from "
                    + refName + "'s " + Arrays.toString(ref.shape()));
        }
    }

    /**
     * Batch and heads of an attention operand are at least 1 (sequence extents may be 0: a row
     * that sees no key, or no rows at all).
     */
    static void batchAndHeads(String name, Tensor t) {
        for (int dim = 0; dim < 2; dim++) {
            if (t.shape(dim) < 1) {
                throw new IllegalArgumentException(name + ": " + (dim == 0 ? "batch" : "heads") + " must be >= 1, got "
                        + t.shape(dim));
            }
        }
    }

    static void headDim(String name, Tensor t) {
        long d = t.shape(3);
        if (d < 1 || d > MAX_HEAD_DIM) {
            throw new IllegalArgumentException(name + ": head_dim " + d + " outside 1.." + MAX_HEAD_DIM);
        }
    }

    /** Outputs: writable, and no two of their elements share memory (threads would race). */
    static void writableOutput(String name, Tensor t) {
        if (t.segment().isReadOnly()) {
            throw new IllegalArgumentException(name + ": memory is read-only but " + name + " is an output");
        }
        if (!t.elementsDistinct()) {
            throw new IllegalArgumentException(name + ": strides " + Arrays.toString(t.strides()) + " for shape "
                    + Arrays.toString(t.shape()) + " map different elements to the same memory");
        }
    }

    /**
     * LSE tensors: float32 [B, H, N] or [B, H, N, 1]. The trailing 1 is accepted because the C
     * ABI describes LSE that way and users may mirror it.
     */
    static void lse(String name, Tensor t, long b, long h, long n, String shapeSource) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + ": dtype " + t.dtype() + ", log-sum-exp must be F32");
        }
        int rank = t.rank();
        boolean ok = (rank == 3 || (rank == 4 && t.shape(3) == 1))
                && t.shape(0) == b && t.shape(1) == h && t.shape(2) == n;
        if (!ok) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape()) + ", expected [" + b + ", "
                    + h + ", " + n + "] (or [" + b + ", " + h + ", " + n + ", 1]) from " + shapeSource);
        }
    }

    /** Rejects an output whose memory overlaps another operand's. */
    static void disjoint(String name, Tensor t, String otherName, Tensor other) {
        if (other != null && overlaps(t, other)) {
            throw new IllegalArgumentException(name + ": overlaps " + otherName
                    + " (outputs must not share memory with other operands)");
        }
    }

    static boolean overlaps(Tensor a, Tensor b) {
        long a0 = a.segment().address();
        long a1 = a0 + a.byteSpan();
        long b0 = b.segment().address();
        long b1 = b0 + b.byteSpan();
        return a0 < b1 && b0 < a1;
    }

    /** The same elements at the same places: in-place use that an operation may allow. */
    static boolean sameView(Tensor a, Tensor b) {
        return a.segment().address() == b.segment().address() && a.dtype() == b.dtype()
                && Arrays.equals(core(a.shape()), core(b.shape()))
                && Arrays.equals(coreStrides(a), coreStrides(b));
    }

    // [B,H,N] and [B,H,N,1] LSE views describe the same memory; compare without the trailing 1.
    private static long[] core(long[] shape) {
        return shape.length == 4 && shape[3] == 1 ? Arrays.copyOf(shape, 3) : shape;
    }

    private static long[] coreStrides(Tensor t) {
        long[] st = t.strides();
        return t.rank() == 4 && t.shape(3) == 1 ? Arrays.copyOf(st, 3) : st;
    }
}
