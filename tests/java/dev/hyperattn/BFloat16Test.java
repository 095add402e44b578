package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BFloat16Test {

    @Test
    void everyBf16ValueRoundTrips() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = BFloat16.toFloat((short) bits);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(f))));
            } else {
                assertEquals((short) bits, BFloat16.fromFloat(f), "bits 0x" + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void roundsToNearestTiesToEven() {
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even mantissa (1).
        assertEquals(1f, BFloat16.round(1f + 0x1p-8f));
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        assertEquals(1f + 0x1p-6f, BFloat16.round(1f + 3 * 0x1p-8f));
        // Just above halfway rounds up.
        assertEquals(1f + 0x1p-7f, BFloat16.round(1f + 0x1p-8f + 0x1p-20f));
        assertEquals(-1f, BFloat16.round(-1f - 0x1p-9f));
    }

    @Test
    void specialValues() {
        assertTrue(Float.isNaN(BFloat16.round(Float.NaN)));
        // A NaN whose payload lives only in the low 16 bits must not truncate to infinity.
        float lowPayloadNaN = Float.intBitsToFloat(0x7F800001);
        assertTrue(Float.isNaN(BFloat16.round(lowPayloadNaN)));
        assertTrue(Float.isNaN(BFloat16.round(Float.intBitsToFloat(0xFF800001))));
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.round(Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, BFloat16.round(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.round(Float.MAX_VALUE), "overflow rounds to infinity");
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(BFloat16.round(-0f)));
    }
}
