package dev.hyperattn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable strided view of memory: a {@link MemorySegment} plus element type, device, shape
 * and strides (counted in elements, like the C ABI). Nothing is copied: the library reads and
 * writes the segment in place, so a {@code [batch, seq, heads, dim]} buffer can be used as a
 * {@code [batch, heads, seq, dim]} operand just by permuting strides.
 *
 * <p>Construction checks what makes a view well formed (rank 1..4, positive extents,
 * non-negative strides, every addressed element inside the segment). What an operation needs
 * on top of that (rank 4, alignment, a live writable segment, ...) is checked by the operation,
 * with messages naming the operand.
 *
 * <p><b>Device tensors.</b> A tensor on a CUDA device ({@link #allocate(Arena, Device, DType,
 * long...)} with {@code Device.cuda(i)}, or {@link #wrapDevice}) holds a zero-length segment
 * whose address is the device pointer and whose scope is the memory's lifetime, so Java code can
 * never dereference device memory: element access ({@link #getFloat}, {@link #toFloatArray},
 * ...) throws {@link UnsupportedOperationException}; move data with {@link #copyFrom(Tensor)}.
 */
public final class Tensor {

    /** Alignment of {@link #allocate} buffers: a cache line and a full AVX-512 vector. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final DType dtype;
    private final Device device;
    private final long[] shape;
    private final long[] strides;
    // What operations check on every call but that cannot change, computed once: the byte span
    // (every factory has checked it does not overflow), and whether distinct elements have
    // distinct addresses (0: not yet known, 1: yes, 2: no; a benign race, as String.hash).
    private final long byteSpan;
    private byte distinct;
    // This view's ha_tensor descriptor, built on first use by Descriptors (racy but safe: the
    // holder's final field publishes its contents).
    Descriptors.Image descriptor;

    private Tensor(MemorySegment segment, DType dtype, Device device, long[] shape, long[] strides) {
        this.segment = segment;
        this.dtype = dtype;
        this.device = device;
        this.shape = shape;
        this.strides = strides;
        this.byteSpan = spanElements(shape, strides) * dtype.byteSize();
    }

    /** A new zeroed, contiguous (row-major), 64-byte aligned CPU tensor owned by {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        return allocate(arena, Device.CPU, dtype, shape);
    }

    /**
     * A new contiguous (row-major) tensor on {@code device} whose memory lives as long as
     * {@code arena}. CPU memory is zeroed and 64-byte aligned. CUDA memory comes from
     * {@code cudaMalloc} (256-byte aligned), is <em>not</em> initialised, and is released with
     * {@code cudaFree} when the arena closes (or, for an automatic arena, when the tensor and every
     * view of it have become unreachable).
     *
     * @throws IllegalArgumentException for a bad shape, or a CUDA device that is absent (the
     *     message carries CUDA's reason)
     * @throws IllegalStateException if the arena is closed
     * @throws HyperattnException if the device allocation fails (e.g. OUT_OF_MEMORY)
     */
    public static Tensor allocate(Arena arena, Device device, DType dtype, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(dtype, "dtype");
        long[] sh = checkShape(shape);
        long[] st = contiguousStrides(sh);
        long bytes;
        try {
            bytes = Math.multiplyExact(elementCount(sh), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape: " + Arrays.toString(sh) + " of " + dtype + " overflows a"
                    + " 64-bit byte count");
        }
        if (device.isCpu()) {
            return new Tensor(arena.allocate(bytes, ALIGNMENT), dtype, device, sh, st);
        }
        return new Tensor(DeviceMemory.allocate(arena, device, bytes), dtype, device, sh, st);
    }

    /** A contiguous (row-major) CPU view of {@code segment}. */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        long[] sh = checkShape(shape);
        return wrap(segment, dtype, sh, contiguousStrides(sh));
    }

    /**
     * A strided CPU view of {@code segment}: element {@code idx} lives at byte offset
     * {@code sum(idx[i] * strides[i]) * dtype.byteSize()}.
     *
     * @throws IllegalArgumentException if the rank is not 1..4, an extent is not positive, a
     *     stride is negative, or the view reaches past the end of the segment
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, long[] shape, long[] strides) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        long[] sh = checkShape(shape);
        long[] st = checkStrides(sh, strides);
        long spanBytes = spanBytes(sh, st, dtype);
        if (spanBytes > segment.byteSize()) {
            throw new IllegalArgumentException("segment: " + segment.byteSize() + " bytes is too small for shape "
                    + Arrays.toString(sh) + " with strides " + Arrays.toString(st) + " of " + dtype
                    + " (needs " + spanBytes + " bytes)");
        }
        return new Tensor(segment, dtype, Device.CPU, sh, st);
    }

    /**
     * A strided view of memory on {@code device} that was allocated elsewhere (another CUDA
     * library, say), without copying. {@code pointer}'s address is the device address of element
     * 0 and its scope is the memory's lifetime: pass {@code MemorySegment.ofAddress(ptr)} for
     * memory whose lifetime you manage, or a segment reinterpreted with an arena. Its size is
     * ignored (only a zero-length view is kept, so Java never dereferences it), and so the extent
     * of the view cannot be checked here: it is the caller's promise. Whether the device exists
     * is checked when the tensor is used.
     *
     * @throws IllegalArgumentException for the CPU (use {@link #wrap}), a bad shape or stride
     */
    public static Tensor wrapDevice(MemorySegment pointer, Device device, DType dtype, long[] shape, long[] strides) {
        Objects.requireNonNull(pointer, "pointer");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(dtype, "dtype");
        if (device.isCpu()) {
            throw new IllegalArgumentException("device: cpu memory is wrapped with Tensor.wrap, which checks its extent");
        }
        if (pointer.address() == 0) {
            throw new IllegalArgumentException("pointer: is NULL");
        }
        long[] sh = checkShape(shape);
        long[] st = checkStrides(sh, strides);
        spanBytes(sh, st, dtype);
        return new Tensor(pointer.asSlice(0, 0), dtype, device, sh, st);
    }

    /**
     * The sub-view {@code start .. start + length - 1} along {@code dim}, sharing this tensor's
     * memory (host or device). For example {@code cache.slice(2, 0, n)} is the first n positions
     * of a {@code [B, H, capacity, D]} KV cache.
     *
     * @throws IllegalArgumentException if {@code dim} is not a dimension or the range is empty or
     *     outside the extent
     */
    public Tensor slice(int dim, long start, long length) {
        if (dim < 0 || dim >= shape.length) {
            throw new IllegalArgumentException("dim: " + dim + " outside 0.." + (shape.length - 1));
        }
        if (start < 0 || length < 0 || start > shape[dim] - length) {
            throw new IllegalArgumentException("start, length: [" + start + ", " + start + " + " + length
                    + ") is not a range inside 0.." + shape[dim] + " of dim " + dim);
        }
        long offset = start * strides[dim] * dtype.byteSize();
        long[] sh = shape.clone();
        sh[dim] = length;
        MemorySegment seg;
        if (device.isCpu()) {
            seg = segment.asSlice(offset);
        } else {
            // A zero-length segment at address + offset in the same scope: stretching to offset
            // bytes only to slice there, never to access.
            seg = segment.reinterpret(offset).asSlice(offset, 0);
        }
        return new Tensor(seg, dtype, device, sh, strides.clone());
    }

    public MemorySegment segment() {
        return segment;
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    public int rank() {
        return shape.length;
    }

    /** A copy of the extents. */
    public long[] shape() {
        return shape.clone();
    }

    /** A copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    public long shape(int dim) {
        return shape[dim];
    }

    public long stride(int dim) {
        return strides[dim];
    }

    /** Number of elements (the product of the extents). */
    public long elementCount() {
        return elementCount(shape);
    }

    /** Whether the view is dense and row-major. */
    public boolean isContiguous() {
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (strides[i] != s) {
                return false;
            }
            s *= shape[i]; // may wrap only beside a zero extent (no elements): the count was checked
        }
        return true;
    }

    /** Bytes from the first element to just past the last addressed one. */
    public long byteSpan() {
        return byteSpan;
    }

    /** The same extents as {@code other} (no copies, unlike comparing {@link #shape()}s). */
    boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    /** The same strides as {@code other}. */
    boolean sameStrides(Tensor other) {
        return Arrays.equals(strides, other.strides);
    }

    /**
     * Whether no two elements share memory (what an output needs, or threads would race).
     * Sufficient condition: sorted by stride, each stride exceeds the extent covered by all
     * smaller ones; every permuted or sliced dense layout passes. Computed once per view.
     */
    boolean elementsDistinct() {
        byte d = distinct;
        if (d == 0) {
            d = computeElementsDistinct() ? (byte) 1 : (byte) 2;
            distinct = d;
        }
        return d == 1;
    }

    private boolean computeElementsDistinct() {
        int n = shape.length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            // insertion sort by stride (rank <= 4), stable as the former boxed sort
            int j = i;
            while (j > 0 && strides[order[j - 1]] > strides[i]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
        long covered = 1;
        for (int i : order) {
            if (shape[i] == 1) {
                continue;
            }
            if (strides[i] < covered) {
                return false;
            }
            covered = strides[i] * shape[i];
        }
        return true;
    }

    /**
     * Reads one element as a float (bf16 and f16 widened exactly). A convenience for tests and
     * small inputs: each call checks its indices.
     *
     * @throws UnsupportedOperationException for a device tensor
     */
    public float getFloat(long... idx) {
        return read(byteOffset("getFloat", idx));
    }

    /** Writes one element, rounding to nearest even for BF16 and F16 tensors. */
    public void setFloat(float value, long... idx) {
        write(byteOffset("setFloat", idx), value);
    }

    /** All elements in row-major index order, as floats. */
    public float[] toFloatArray() {
        checkHostAccess("toFloatArray");
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor of " + n + " elements does not fit a Java array");
        }
        float[] outArr = new float[(int) n];
        forEachOffset((i, off) -> outArr[(int) i] = read(off));
        return outArr;
    }

    /** Writes {@code values} (row-major index order) into the view, rounding for BF16 and F16. */
    public void copyFrom(float[] values) {
        checkHostAccess("copyFrom(float[])");
        if (values.length != elementCount()) {
            throw new IllegalArgumentException("values: " + values.length + " floats for a tensor of "
                    + elementCount() + " elements " + Arrays.toString(shape));
        }
        forEachOffset((i, off) -> write(off, values[(int) i]));
    }

    /** Sets every element of the view to {@code value}. */
    public void fill(float value) {
        checkHostAccess("fill");
        forEachOffset((i, off) -> write(off, value));
    }

    /**
     * Copies {@code src} into this tensor, between any two of host and device memory. The two
     * must have the same dtype and shape and must not partially overlap. Host to host copies take
     * any strides; a copy that involves a device needs both views contiguous
     * ({@link #isContiguous()}). Finishes before returning.
     *
     * @throws IllegalArgumentException for mismatched or unusable operands, or an absent device
     * @throws IllegalStateException if either tensor's memory is no longer valid
     * @throws HyperattnException if the device runtime fails
     */
    public void copyFrom(Tensor src) {
        Copies.copy(this, src, null);
    }

    /**
     * As {@link #copyFrom(Tensor)}, enqueued on {@code stream} (which must belong to the device
     * involved) and returning at once; both tensors must stay valid until the stream is
     * synchronized. {@code stream} may be null (finish before returning).
     */
    public void copyFrom(Tensor src, CudaStream stream) {
        Copies.copy(this, src, stream);
    }

    /** {@code dst.copyFrom(this)}: copies this tensor into {@code dst}. */
    public void copyTo(Tensor dst) {
        Objects.requireNonNull(dst, "dst");
        Copies.copy(dst, this, null);
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + " strides " + Arrays.toString(strides)
                + " on " + device + " @0x" + Long.toHexString(segment.address()) + "]";
    }

    // ---- internals --------------------------------------------------------------------------

    @FunctionalInterface
    interface OffsetVisitor {
        void visit(long linearIndex, long byteOffset);
    }

    private float read(long off) {
        return switch (dtype) {
            case F32 -> segment.get(ValueLayout.JAVA_FLOAT_UNALIGNED, off);
            case BF16 -> BFloat16.toFloat(segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, off));
            case F16 -> Float.float16ToFloat(segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, off));
        };
    }

    private void write(long off, float value) {
        switch (dtype) {
            case F32 -> segment.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off, value);
            case BF16 -> segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, BFloat16.fromFloat(value));
            case F16 -> segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, Float.floatToFloat16(value));
        }
    }

    // Walks the view in row-major order without allocating per element; the rank is padded to
    // 4 so one loop nest serves every rank.
    void forEachOffset(OffsetVisitor visitor) {
        long[] sh = new long[4];
        long[] st = new long[4];
        int pad = 4 - shape.length;
        for (int i = 0; i < 4; i++) {
            sh[i] = i < pad ? 1 : shape[i - pad];
            st[i] = i < pad ? 0 : strides[i - pad] * dtype.byteSize();
        }
        long linear = 0;
        for (long a = 0; a < sh[0]; a++) {
            for (long b = 0; b < sh[1]; b++) {
                for (long c = 0; c < sh[2]; c++) {
                    long base = a * st[0] + b * st[1] + c * st[2];
                    for (long d = 0; d < sh[3]; d++) {
                        visitor.visit(linear++, base + d * st[3]);
                    }
                }
            }
        }
    }

    private long byteOffset(String what, long[] idx) {
        checkHostAccess(what);
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("idx: " + idx.length + " indices for a rank-" + shape.length
                    + " tensor");
        }
        long off = 0;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("idx[" + i + "] = " + idx[i] + " outside 0.." + (shape[i] - 1));
            }
            off += idx[i] * strides[i];
        }
        return off * dtype.byteSize();
    }

    private void checkHostAccess(String what) {
        if (!device.isCpu()) {
            throw new UnsupportedOperationException(what + ": this tensor is on " + device
                    + ", whose memory Java cannot read or write; copy it to or from a CPU tensor with"
                    + " copyFrom(Tensor)");
        }
    }

    private static long[] checkStrides(long[] sh, long[] strides) {
        Objects.requireNonNull(strides, "strides");
        if (strides.length != sh.length) {
            throw new IllegalArgumentException("strides: " + strides.length + " strides for a rank-"
                    + sh.length + " shape " + Arrays.toString(sh));
        }
        long[] st = strides.clone();
        for (int i = 0; i < st.length; i++) {
            if (st[i] < 0) {
                throw new IllegalArgumentException("strides: strides[" + i + "] = " + st[i]
                        + " is negative (views must have non-negative strides)");
            }
        }
        return st;
    }

    private static long spanBytes(long[] sh, long[] st, DType dtype) {
        try {
            return Math.multiplyExact(spanElements(sh, st), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("strides: shape " + Arrays.toString(sh) + " with strides "
                    + Arrays.toString(st) + " overflows a 64-bit offset");
        }
    }

    private static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length < 1 || shape.length > 4) {
            throw new IllegalArgumentException("shape: rank " + shape.length + " outside 1..4");
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("shape: shape[" + i + "] = " + shape[i] + " is negative");
            }
        }
        try {
            elementCount(shape);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape: " + Arrays.toString(shape) + " has too many elements");
        }
        return shape.clone();
    }

    static long[] contiguousStrides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s = Math.multiplyExact(s, shape[i]);
        }
        return st;
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long e : shape) {
            n = Math.multiplyExact(n, e);
        }
        return n;
    }

    private static long spanElements(long[] shape, long[] strides) {
        long last = 0;
        for (int i = 0; i < shape.length; i++) {
            last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
        }
        return Math.addExact(last, 1);
    }
}
