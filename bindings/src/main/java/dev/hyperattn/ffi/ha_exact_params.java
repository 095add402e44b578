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
 * struct ha_exact_params {
 *     float scale;
 *     int32_t causal;
 *     void *stream;
 *     int32_t window_left;
 *     int32_t window_right;
 *     float softcap;
 *     int32_t reserved;
 * }
 * }
 */
public class ha_exact_params {

    ha_exact_params() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_FLOAT.withName("scale"),
        hyperattn_h.C_INT.withName("causal"),
        hyperattn_h.C_POINTER.withName("stream"),
        hyperattn_h.C_INT.withName("window_left"),
        hyperattn_h.C_INT.withName("window_right"),
        hyperattn_h.C_FLOAT.withName("softcap"),
        hyperattn_h.C_INT.withName("reserved")
    ).withName("ha_exact_params");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
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

    private static final long scale$OFFSET = 0;

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

    private static final long causal$OFFSET = 4;

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

    private static final long stream$OFFSET = 8;

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

    private static final OfInt window_left$LAYOUT = (OfInt)$LAYOUT.select(groupElement("window_left"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t window_left
     * }
     */
    public static final OfInt window_left$layout() {
        return window_left$LAYOUT;
    }

    private static final long window_left$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t window_left
     * }
     */
    public static final long window_left$offset() {
        return window_left$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t window_left
     * }
     */
    public static int window_left(MemorySegment struct) {
        return struct.get(window_left$LAYOUT, window_left$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t window_left
     * }
     */
    public static void window_left(MemorySegment struct, int fieldValue) {
        struct.set(window_left$LAYOUT, window_left$OFFSET, fieldValue);
    }

    private static final OfInt window_right$LAYOUT = (OfInt)$LAYOUT.select(groupElement("window_right"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t window_right
     * }
     */
    public static final OfInt window_right$layout() {
        return window_right$LAYOUT;
    }

    private static final long window_right$OFFSET = 20;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t window_right
     * }
     */
    public static final long window_right$offset() {
        return window_right$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t window_right
     * }
     */
    public static int window_right(MemorySegment struct) {
        return struct.get(window_right$LAYOUT, window_right$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t window_right
     * }
     */
    public static void window_right(MemorySegment struct, int fieldValue) {
        struct.set(window_right$LAYOUT, window_right$OFFSET, fieldValue);
    }

    private static final OfFloat softcap$LAYOUT = (OfFloat)$LAYOUT.select(groupElement("softcap"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * float softcap
     * }
     */
    public static final OfFloat softcap$layout() {
        return softcap$LAYOUT;
    }

    private static final long softcap$OFFSET = 24;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * float softcap
     * }
     */
    public static final long softcap$offset() {
        return softcap$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * float softcap
     * }
     */
    public static float softcap(MemorySegment struct) {
        return struct.get(softcap$LAYOUT, softcap$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * float softcap
     * }
     */
    public static void softcap(MemorySegment struct, float fieldValue) {
        struct.set(softcap$LAYOUT, softcap$OFFSET, fieldValue);
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
