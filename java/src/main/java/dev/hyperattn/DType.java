package dev.hyperattn;

/** Element types of tensor data. */
public enum DType {
    /** IEEE 754 binary32. */
    F32(4, 0),
    /** bfloat16: the upper half of a binary32 (8-bit exponent, 7-bit mantissa). */
    BF16(2, 1),
    /**
     * IEEE 754 binary16 (5-bit exponent, 10-bit mantissa, largest finite 65504). Both backends
     * compute on it; the CPU widens it to fp32 exactly and rounds outputs to nearest even
     * ({@link Float#float16ToFloat} / {@link Float#floatToFloat16} convert on the Java side).
     */
    F16(2, 2);

    private final int byteSize;
    // Kept as literals rather than read from the bindings so that using DType does not load the
    // native library; AbiLayoutDriftTest checks them against hyperattn_h.
    private final int nativeCode;

    DType(int byteSize, int nativeCode) {
        this.byteSize = byteSize;
        this.nativeCode = nativeCode;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The {@code HA_DTYPE_*} value of this type. */
    public int nativeCode() {
        return nativeCode;
    }
}
