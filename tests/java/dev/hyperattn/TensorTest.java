package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void allocateIsContiguousAlignedAndZeroed() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.BF16, 2, 3, 5, 7);
            assertEquals(0, t.segment().address() % 64);
            assertArrayEquals(new long[] {105, 35, 7, 1}, t.strides());
            assertTrue(t.isContiguous());
            assertEquals(210, t.elementCount());
            assertEquals(420, t.segment().byteSize());
            assertEquals(Device.CPU, t.device());
            assertEquals(0f, t.getFloat(1, 2, 4, 6));
        }
    }

    @Test
    void accessorsReturnCopies() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.F32, 2, 3);
            t.shape()[0] = 99;
            t.strides()[0] = 99;
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(new long[] {3, 1}, t.strides());
        }
    }

    @Test
    void stridedElementAccessAndBf16Rounding() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2 * 4 * 3 * 2, 64);
            // [b=1, h=2, s=4, d=3] laid out as [b, s, h, d]
            Tensor t = Tensor.wrap(seg, DType.BF16, new long[] {1, 2, 4, 3}, new long[] {24, 3, 6, 1});
            t.setFloat(1.00390625f, 0, 1, 2, 1); // 1 + 2^-8 rounds (ties to even) to 1
            assertEquals(1f, t.getFloat(0, 1, 2, 1));
            assertEquals(BFloat16.fromFloat(1f), seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, 2 * 6 + 3 + 1));
            float[] values = new float[24];
            for (int i = 0; i < values.length; i++) {
                values[i] = i;
            }
            t.copyFrom(values);
            assertArrayEquals(values, t.toFloatArray());
            assertEquals(3 * 4 + 2 * 3 + 1, t.getFloat(0, 1, 2, 1)); // row-major logical index
            assertThrows(IndexOutOfBoundsException.class, () -> t.getFloat(0, 2, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> t.getFloat(0, 0, 0));
        }
    }

    @Test
    void lowerRanksAndReadOnlyInputsAreFine() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, DType.F32, 4);
            t.setFloat(3f, 2);
            Tensor ro = Tensor.wrap(t.segment().asReadOnly(), DType.F32, 2, 2);
            assertEquals(3f, ro.getFloat(1, 0));
            assertFalse(ro.toString().isEmpty());
        }
    }
}
