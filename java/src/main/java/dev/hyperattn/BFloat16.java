package dev.hyperattn;

/**
 * Conversions between {@code float} and bfloat16 bit patterns (held in a {@code short}).
 * bfloat16 is the upper 16 bits of a binary32, so widening is exact; narrowing rounds to
 * nearest, ties to even, like the hardware conversions (VCVTNEPS2BF16) the kernels use.
 */
public final class BFloat16 {

    private BFloat16() {
    }

    /** Rounds {@code f} to the nearest bfloat16 (ties to even); NaN stays NaN. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            // Truncating could clear every mantissa bit left and turn NaN into infinity, and
            // rounding could carry into the exponent; keep sign and top payload, force quiet.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /** The exact float value of a bfloat16 bit pattern. */
    public static float toFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    /** {@code f} rounded to bfloat16 precision, as a float. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
