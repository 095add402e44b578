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
 */
public final class Tensor {

    /** Alignment of {@link #allocate} buffers: a cache line and a full AVX-512 vector. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final DType dtype;
    private final Device device;
    private final long[] shape;
    private final long[] strides;

    private Tensor(MemorySegment segment, DType dtype, Device device, long[] shape, long[] strides) {
        this.segment = segment;
        this.dtype = dtype;
        this.device = device;
        this.shape = shape;
        this.strides = strides;
    }

    /** A new zeroed, contiguous (row-major), 64-byte aligned CPU tensor owned by {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        return allocate(arena, Device.CPU, dtype, shape);
    }

    /** A new zeroed, contiguous (row-major), 64-byte aligned tensor on {@code device}. */
    public static Tensor allocate(Arena arena, Device device, DType dtype, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(dtype, "dtype");
        if (!device.isCpu()) {
            throw new IllegalArgumentException("device: " + device + " memory cannot be allocated"
                    + " by this version (CPU only)");
        }
        long[] sh = checkShape(shape);
        long[] st = contiguousStrides(sh);
        long bytes = Math.multiplyExact(elementCount(sh), (long) dtype.byteSize());
        MemorySegment seg = arena.allocate(bytes, ALIGNMENT);
        return new Tensor(seg, dtype, device, sh, st);
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
        long spanBytes;
        try {
            spanBytes = Math.multiplyExact(spanElements(sh, st), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("strides: shape " + Arrays.toString(sh) + " with strides "
                    + Arrays.toString(st) + " overflows a 64-bit offset");
        }
        if (spanBytes > segment.byteSize()) {
            throw new IllegalArgumentException("segment: " + segment.byteSize() + " bytes is too small for shape "
                    + Arrays.toString(sh) + " with strides " + Arrays.toString(st) + " of " + dtype
                    + " (needs " + spanBytes + " bytes)");
        }
        return new Tensor(segment, dtype, Device.CPU, sh, st);
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
        return Arrays.equals(strides, contiguousStrides(shape));
    }

    /** Bytes from the first element to just past the last addressed one. */
    public long byteSpan() {
        return spanElements(shape, strides) * dtype.byteSize();
    }

    /**
     * Reads one element as a float (bf16 widened exactly). A convenience for tests and small
     * inputs: each call checks its indices.
     */
    public float getFloat(long... idx) {
        long off = byteOffset(idx);
        return switch (dtype) {
            case F32 -> segment.get(ValueLayout.JAVA_FLOAT_UNALIGNED, off);
            case BF16 -> BFloat16.toFloat(segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, off));
        };
    }

    /** Writes one element, rounding to bf16 (nearest even) for BF16 tensors. */
    public void setFloat(float value, long... idx) {
        long off = byteOffset(idx);
        switch (dtype) {
            case F32 -> segment.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off, value);
            case BF16 -> segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, BFloat16.fromFloat(value));
        }
    }

    /** All elements in row-major index order, as floats. */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor of " + n + " elements does not fit a Java array");
        }
        float[] outArr = new float[(int) n];
        forEachOffset((i, off) -> outArr[(int) i] = switch (dtype) {
            case F32 -> segment.get(ValueLayout.JAVA_FLOAT_UNALIGNED, off);
            case BF16 -> BFloat16.toFloat(segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, off));
        });
        return outArr;
    }

    /** Writes {@code values} (row-major index order) into the view, rounding for BF16. */
    public void copyFrom(float[] values) {
        if (values.length != elementCount()) {
            throw new IllegalArgumentException("values: " + values.length + " floats for a tensor of "
                    + elementCount() + " elements " + Arrays.toString(shape));
        }
        forEachOffset((i, off) -> {
            switch (dtype) {
                case F32 -> segment.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off, values[(int) i]);
                case BF16 -> segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, BFloat16.fromFloat(values[(int) i]));
            }
        });
    }

    /** Sets every element of the view to {@code value}. */
    public void fill(float value) {
        short bits = BFloat16.fromFloat(value);
        forEachOffset((i, off) -> {
            switch (dtype) {
                case F32 -> segment.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off, value);
                case BF16 -> segment.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, bits);
            }
        });
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + " strides " + Arrays.toString(strides)
                + " on " + device + " @0x" + Long.toHexString(segment.address()) + "]";
    }

    // ---- internals --------------------------------------------------------------------------

    @FunctionalInterface
    private interface OffsetVisitor {
        void visit(long linearIndex, long byteOffset);
    }

    // Walks the view in row-major order without allocating per element; the rank is padded to
    // 4 so one loop nest serves every rank.
    private void forEachOffset(OffsetVisitor visitor) {
        checkHostAccess();
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

    private long byteOffset(long[] idx) {
        checkHostAccess();
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

    private void checkHostAccess() {
        if (!device.isCpu()) {
            throw new UnsupportedOperationException("element access needs host memory; this tensor is on "
                    + device);
        }
    }

    private static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length < 1 || shape.length > 4) {
            throw new IllegalArgumentException("shape: rank " + shape.length + " outside 1..4");
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw new IllegalArgumentException("shape: shape[" + i + "] = " + shape[i] + " is not positive");
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

    private static long elementCount(long[] shape) {
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
