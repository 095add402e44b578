// Written by hand in the shape jextract generates (see hyperattn_h.java and the README).

package dev.hyperattn.ffi;

import java.lang.invoke.*;
import java.lang.foreign.*;
import java.nio.ByteOrder;
import java.util.*;
import java.util.function.*;
import java.util.stream.*;

import static java.lang.foreign.ValueLayout.*;
import static java.lang.foreign.MemoryLayout.PathElement.*;

/**
 * {@snippet lang=c :
 * struct ha_hsr_params {
 *     int32_t mode;
 *     int32_t alpha;
 *     float bias;
 *     float scale;
 *     double epsilon;
 *     int32_t causal;
 *     int32_t reserved;
 *     void *stream;
 * }
 * }
 */
public class ha_hsr_params {

    ha_hsr_params() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_INT.withName("mode"),
        hyperattn_h.C_INT.withName("alpha"),
        hyperattn_h.C_FLOAT.withName("bias"),
        hyperattn_h.C_FLOAT.withName("scale"),
        hyperattn_h.C_DOUBLE.withName("epsilon"),
        hyperattn_h.C_INT.withName("causal"),
        hyperattn_h.C_INT.withName("reserved"),
        hyperattn_h.C_POINTER.withName("stream")
    ).withName("ha_hsr_params");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final OfInt mode$LAYOUT = (OfInt)$LAYOUT.select(groupElement("mode"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t mode
     * }
     */
    public static final OfInt mode$layout() {
        return mode$LAYOUT;
    }

    private static final long mode$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t mode
     * }
     */
    public static final long mode$offset() {
        return mode$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t mode
     * }
     */
    public static int mode(MemorySegment struct) {
        return struct.get(mode$LAYOUT, mode$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t mode
     * }
     */
    public static void mode(MemorySegment struct, int fieldValue) {
        struct.set(mode$LAYOUT, mode$OFFSET, fieldValue);
    }

    private static final OfInt alpha$LAYOUT = (OfInt)$LAYOUT.select(groupElement("alpha"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t alpha
     * }
     */
    public static final OfInt alpha$layout() {
        return alpha$LAYOUT;
    }

    private static final long alpha$OFFSET = 4;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t alpha
     * }
     */
    public static final long alpha$offset() {
        return alpha$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t alpha
     * }
     */
    public static int alpha(MemorySegment struct) {
        return struct.get(alpha$LAYOUT, alpha$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t alpha
     * }
     */
    public static void alpha(MemorySegment struct, int fieldValue) {
        struct.set(alpha$LAYOUT, alpha$OFFSET, fieldValue);
    }

    private static final OfFloat bias$LAYOUT = (OfFloat)$LAYOUT.select(groupElement("bias"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * float bias
     * }
     */
    public static final OfFloat bias$layout() {
        return bias$LAYOUT;
    }

    private static final long bias$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * float bias
     * }
     */
    public static final long bias$offset() {
        return bias$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * float bias
     * }
     */
    public static float bias(MemorySegment struct) {
        return struct.get(bias$LAYOUT, bias$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * float bias
     * }
     */
    public static void bias(MemorySegment struct, float fieldValue) {
        struct.set(bias$LAYOUT, bias$OFFSET, fieldValue);
    }

    private static final OfFloat scale$LAYOUT = (OfFloat)$LAYOUT.select(groupElement("scale"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * float scale
     * }
     */
    public static final OfFloat scale$layout() {
        return scale$LAYOUT;
    }

    private static final long scale$OFFSET = 12;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * float scale
     * }
     */
    public static final long scale$offset() {
        return scale$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * float scale
     * }
     */
    public static float scale(MemorySegment struct) {
        return struct.get(scale$LAYOUT, scale$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * float scale
     * }
     */
    public static void scale(MemorySegment struct, float fieldValue) {
        struct.set(scale$LAYOUT, scale$OFFSET, fieldValue);
    }

    private static final OfDouble epsilon$LAYOUT = (OfDouble)$LAYOUT.select(groupElement("epsilon"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * double epsilon
     * }
     */
    public static final OfDouble epsilon$layout() {
        return epsilon$LAYOUT;
    }

    private static final long epsilon$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * double epsilon
     * }
     */
    public static final long epsilon$offset() {
        return epsilon$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * double epsilon
     * }
     */
    public static double epsilon(MemorySegment struct) {
        return struct.get(epsilon$LAYOUT, epsilon$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * double epsilon
     * }
     */
    public static void epsilon(MemorySegment struct, double fieldValue) {
        struct.set(epsilon$LAYOUT, epsilon$OFFSET, fieldValue);
    }

    private static final OfInt causal$LAYOUT = (OfInt)$LAYOUT.select(groupElement("causal"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t causal
     * }
     */
    public static final OfInt causal$layout() {
        return causal$LAYOUT;
    }

    private static final long causal$OFFSET = 24;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t causal
     * }
     */
    public static final long causal$offset() {
        return causal$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t causal
     * }
     */
    public static int causal(MemorySegment struct) {
        return struct.get(causal$LAYOUT, causal$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t causal
     * }
     */
    public static void causal(MemorySegment struct, int fieldValue) {
        struct.set(causal$LAYOUT, causal$OFFSET, fieldValue);
    }

    private static final OfInt reserved$LAYOUT = (OfInt)$LAYOUT.select(groupElement("reserved"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t reserved
     * }
     */
    public static final OfInt reserved$layout() {
        return reserved$LAYOUT;
    }

    private static final long reserved$OFFSET = 28;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t reserved
     * }
     */
    public static final long reserved$offset() {
        return reserved$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t reserved
     * }
     */
    public static int reserved(MemorySegment struct) {
        return struct.get(reserved$LAYOUT, reserved$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t reserved
     * }
     */
    public static void reserved(MemorySegment struct, int fieldValue) {
        struct.set(reserved$LAYOUT, reserved$OFFSET, fieldValue);
    }

    private static final AddressLayout stream$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("stream"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * void *stream
     * }
     */
    public static final AddressLayout stream$layout() {
        return stream$LAYOUT;
    }

    private static final long stream$OFFSET = 32;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * void *stream
     * }
     */
    public static final long stream$offset() {
        return stream$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * void *stream
     * }
     */
    public static MemorySegment stream(MemorySegment struct) {
        return struct.get(stream$LAYOUT, stream$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * void *stream
     * }
     */
    public static void stream(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(stream$LAYOUT, stream$OFFSET, fieldValue);
    }

    /**
     * Obtains a slice of {@code arrayParam} which selects the array element at {@code index}.
     * The returned segment has address {@code arrayParam.address() + index * layout().byteSize()}
     */
    public static MemorySegment asSlice(MemorySegment array, long index) {
        return array.asSlice(layout().byteSize() * index);
    }

    /**
     * The size (in bytes) of this struct
     */
    public static long sizeof() { return layout().byteSize(); }

    /**
     * Allocate a segment of size {@code layout().byteSize()} using {@code allocator}
     */
    public static MemorySegment allocate(SegmentAllocator allocator) {
        return allocator.allocate(layout());
    }

    /**
     * Allocate an array of size {@code elementCount} using {@code allocator}.
     * The returned segment has size {@code elementCount * layout().byteSize()}.
     */
    public static MemorySegment allocateArray(long elementCount, SegmentAllocator allocator) {
        return allocator.allocate(MemoryLayout.sequenceLayout(elementCount, layout()));
    }

    /**
     * Reinterprets {@code addr} using target {@code arena} and {@code cleanupAction} (if any).
     * The returned segment has size {@code layout().byteSize()}
     */
    public static MemorySegment reinterpret(MemorySegment addr, Arena arena, Consumer<MemorySegment> cleanup) {
        return reinterpret(addr, 1, arena, cleanup);
    }

    /**
     * Reinterprets {@code addr} using target {@code arena} and {@code cleanupAction} (if any).
     * The returned segment has size {@code elementCount * layout().byteSize()}
     */
    public static MemorySegment reinterpret(MemorySegment addr, long elementCount, Arena arena, Consumer<MemorySegment> cleanup) {
        return addr.reinterpret(layout().byteSize() * elementCount, arena, cleanup);
    }
}
