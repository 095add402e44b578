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
 * struct ha_device_props {
 *     char name[256];
 *     int64_t total_memory;
 *     int32_t compute_major;
 *     int32_t compute_minor;
 *     int32_t multiprocessors;
 *     int32_t reserved;
 * }
 * }
 */
public class ha_device_props {

    ha_device_props() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        MemoryLayout.sequenceLayout(256, hyperattn_h.C_CHAR).withName("name"),
        hyperattn_h.C_LONG.withName("total_memory"),
        hyperattn_h.C_INT.withName("compute_major"),
        hyperattn_h.C_INT.withName("compute_minor"),
        hyperattn_h.C_INT.withName("multiprocessors"),
        hyperattn_h.C_INT.withName("reserved")
    ).withName("ha_device_props");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final SequenceLayout name$LAYOUT = (SequenceLayout)$LAYOUT.select(groupElement("name"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static final SequenceLayout name$layout() {
        return name$LAYOUT;
    }

    private static final long name$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static final long name$offset() {
        return name$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static MemorySegment name(MemorySegment struct) {
        return struct.asSlice(name$OFFSET, name$LAYOUT.byteSize());
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static void name(MemorySegment struct, MemorySegment fieldValue) {
        MemorySegment.copy(fieldValue, 0L, struct, name$OFFSET, name$LAYOUT.byteSize());
    }

    private static long[] name$DIMS = { 256 };

    /**
     * Dimensions for array field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static long[] name$dimensions() {
        return name$DIMS;
    }
    // The handle is relative to the array, so the field offset is the base (jextract 22 passed
    // 0L here and wrote element i of every array field over the start of the struct).
    private static final VarHandle name$ELEM_HANDLE = name$LAYOUT.varHandle(sequenceElement());

    /**
     * Indexed getter for field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static byte name(MemorySegment struct, long index0) {
        return (byte)name$ELEM_HANDLE.get(struct, name$OFFSET, index0);
    }

    /**
     * Indexed setter for field:
     * {@snippet lang=c :
     * char name[256]
     * }
     */
    public static void name(MemorySegment struct, long index0, byte fieldValue) {
        name$ELEM_HANDLE.set(struct, name$OFFSET, index0, fieldValue);
    }

    private static final OfLong total_memory$LAYOUT = (OfLong)$LAYOUT.select(groupElement("total_memory"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t total_memory
     * }
     */
    public static final OfLong total_memory$layout() {
        return total_memory$LAYOUT;
    }

    private static final long total_memory$OFFSET = 256;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t total_memory
     * }
     */
    public static final long total_memory$offset() {
        return total_memory$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t total_memory
     * }
     */
    public static long total_memory(MemorySegment struct) {
        return struct.get(total_memory$LAYOUT, total_memory$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t total_memory
     * }
     */
    public static void total_memory(MemorySegment struct, long fieldValue) {
        struct.set(total_memory$LAYOUT, total_memory$OFFSET, fieldValue);
    }

    private static final OfInt compute_major$LAYOUT = (OfInt)$LAYOUT.select(groupElement("compute_major"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t compute_major
     * }
     */
    public static final OfInt compute_major$layout() {
        return compute_major$LAYOUT;
    }

    private static final long compute_major$OFFSET = 264;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t compute_major
     * }
     */
    public static final long compute_major$offset() {
        return compute_major$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t compute_major
     * }
     */
    public static int compute_major(MemorySegment struct) {
        return struct.get(compute_major$LAYOUT, compute_major$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t compute_major
     * }
     */
    public static void compute_major(MemorySegment struct, int fieldValue) {
        struct.set(compute_major$LAYOUT, compute_major$OFFSET, fieldValue);
    }

    private static final OfInt compute_minor$LAYOUT = (OfInt)$LAYOUT.select(groupElement("compute_minor"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t compute_minor
     * }
     */
    public static final OfInt compute_minor$layout() {
        return compute_minor$LAYOUT;
    }

    private static final long compute_minor$OFFSET = 268;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t compute_minor
     * }
     */
    public static final long compute_minor$offset() {
        return compute_minor$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t compute_minor
     * }
     */
    public static int compute_minor(MemorySegment struct) {
        return struct.get(compute_minor$LAYOUT, compute_minor$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t compute_minor
     * }
     */
    public static void compute_minor(MemorySegment struct, int fieldValue) {
        struct.set(compute_minor$LAYOUT, compute_minor$OFFSET, fieldValue);
    }

    private static final OfInt multiprocessors$LAYOUT = (OfInt)$LAYOUT.select(groupElement("multiprocessors"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t multiprocessors
     * }
     */
    public static final OfInt multiprocessors$layout() {
        return multiprocessors$LAYOUT;
    }

    private static final long multiprocessors$OFFSET = 272;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t multiprocessors
     * }
     */
    public static final long multiprocessors$offset() {
        return multiprocessors$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t multiprocessors
     * }
     */
    public static int multiprocessors(MemorySegment struct) {
        return struct.get(multiprocessors$LAYOUT, multiprocessors$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t multiprocessors
     * }
     */
    public static void multiprocessors(MemorySegment struct, int fieldValue) {
        struct.set(multiprocessors$LAYOUT, multiprocessors$OFFSET, fieldValue);
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

    private static final long reserved$OFFSET = 276;

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
