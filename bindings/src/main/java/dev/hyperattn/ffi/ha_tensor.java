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
 * struct ha_tensor {
 *     void *data;
 *     int32_t dtype;
 *     int32_t device_type;
 *     int32_t device_id;
 *     int32_t reserved;
 *     int64_t shape[4];
 *     int64_t strides[4];
 * }
 * }
 */
public class ha_tensor {

    ha_tensor() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_POINTER.withName("data"),
        hyperattn_h.C_INT.withName("dtype"),
        hyperattn_h.C_INT.withName("device_type"),
        hyperattn_h.C_INT.withName("device_id"),
        hyperattn_h.C_INT.withName("reserved"),
        MemoryLayout.sequenceLayout(4, hyperattn_h.C_LONG).withName("shape"),
        MemoryLayout.sequenceLayout(4, hyperattn_h.C_LONG).withName("strides")
    ).withName("ha_tensor");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final AddressLayout data$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("data"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * void *data
     * }
     */
    public static final AddressLayout data$layout() {
        return data$LAYOUT;
    }

    private static final long data$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * void *data
     * }
     */
    public static final long data$offset() {
        return data$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * void *data
     * }
     */
    public static MemorySegment data(MemorySegment struct) {
        return struct.get(data$LAYOUT, data$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * void *data
     * }
     */
    public static void data(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(data$LAYOUT, data$OFFSET, fieldValue);
    }

    private static final OfInt dtype$LAYOUT = (OfInt)$LAYOUT.select(groupElement("dtype"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t dtype
     * }
     */
    public static final OfInt dtype$layout() {
        return dtype$LAYOUT;
    }

    private static final long dtype$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t dtype
     * }
     */
    public static final long dtype$offset() {
        return dtype$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t dtype
     * }
     */
    public static int dtype(MemorySegment struct) {
        return struct.get(dtype$LAYOUT, dtype$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t dtype
     * }
     */
    public static void dtype(MemorySegment struct, int fieldValue) {
        struct.set(dtype$LAYOUT, dtype$OFFSET, fieldValue);
    }

    private static final OfInt device_type$LAYOUT = (OfInt)$LAYOUT.select(groupElement("device_type"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t device_type
     * }
     */
    public static final OfInt device_type$layout() {
        return device_type$LAYOUT;
    }

    private static final long device_type$OFFSET = 12;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t device_type
     * }
     */
    public static final long device_type$offset() {
        return device_type$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t device_type
     * }
     */
    public static int device_type(MemorySegment struct) {
        return struct.get(device_type$LAYOUT, device_type$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t device_type
     * }
     */
    public static void device_type(MemorySegment struct, int fieldValue) {
        struct.set(device_type$LAYOUT, device_type$OFFSET, fieldValue);
    }

    private static final OfInt device_id$LAYOUT = (OfInt)$LAYOUT.select(groupElement("device_id"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t device_id
     * }
     */
    public static final OfInt device_id$layout() {
        return device_id$LAYOUT;
    }

    private static final long device_id$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t device_id
     * }
     */
    public static final long device_id$offset() {
        return device_id$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t device_id
     * }
     */
    public static int device_id(MemorySegment struct) {
        return struct.get(device_id$LAYOUT, device_id$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t device_id
     * }
     */
    public static void device_id(MemorySegment struct, int fieldValue) {
        struct.set(device_id$LAYOUT, device_id$OFFSET, fieldValue);
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

    private static final long reserved$OFFSET = 20;

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

    private static final SequenceLayout shape$LAYOUT = (SequenceLayout)$LAYOUT.select(groupElement("shape"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static final SequenceLayout shape$layout() {
        return shape$LAYOUT;
    }

    private static final long shape$OFFSET = 24;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static final long shape$offset() {
        return shape$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static MemorySegment shape(MemorySegment struct) {
        return struct.asSlice(shape$OFFSET, shape$LAYOUT.byteSize());
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static void shape(MemorySegment struct, MemorySegment fieldValue) {
        MemorySegment.copy(fieldValue, 0L, struct, shape$OFFSET, shape$LAYOUT.byteSize());
    }

    private static long[] shape$DIMS = { 4 };

    /**
     * Dimensions for array field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static long[] shape$dimensions() {
        return shape$DIMS;
    }
    // The handle is relative to the array, so the field offset is the base (jextract 22 passed
    // 0L here and wrote element i of every array field over the start of the struct).
    private static final VarHandle shape$ELEM_HANDLE = shape$LAYOUT.varHandle(sequenceElement());

    /**
     * Indexed getter for field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static long shape(MemorySegment struct, long index0) {
        return (long)shape$ELEM_HANDLE.get(struct, shape$OFFSET, index0);
    }

    /**
     * Indexed setter for field:
     * {@snippet lang=c :
     * int64_t shape[4]
     * }
     */
    public static void shape(MemorySegment struct, long index0, long fieldValue) {
        shape$ELEM_HANDLE.set(struct, shape$OFFSET, index0, fieldValue);
    }

    private static final SequenceLayout strides$LAYOUT = (SequenceLayout)$LAYOUT.select(groupElement("strides"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static final SequenceLayout strides$layout() {
        return strides$LAYOUT;
    }

    private static final long strides$OFFSET = 56;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static final long strides$offset() {
        return strides$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static MemorySegment strides(MemorySegment struct) {
        return struct.asSlice(strides$OFFSET, strides$LAYOUT.byteSize());
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static void strides(MemorySegment struct, MemorySegment fieldValue) {
        MemorySegment.copy(fieldValue, 0L, struct, strides$OFFSET, strides$LAYOUT.byteSize());
    }

    private static long[] strides$DIMS = { 4 };

    /**
     * Dimensions for array field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static long[] strides$dimensions() {
        return strides$DIMS;
    }
    // The handle is relative to the array, so the field offset is the base (jextract 22 passed
    // 0L here and wrote element i of every array field over the start of the struct).
    private static final VarHandle strides$ELEM_HANDLE = strides$LAYOUT.varHandle(sequenceElement());

    /**
     * Indexed getter for field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static long strides(MemorySegment struct, long index0) {
        return (long)strides$ELEM_HANDLE.get(struct, strides$OFFSET, index0);
    }

    /**
     * Indexed setter for field:
     * {@snippet lang=c :
     * int64_t strides[4]
     * }
     */
    public static void strides(MemorySegment struct, long index0, long fieldValue) {
        strides$ELEM_HANDLE.set(struct, strides$OFFSET, index0, fieldValue);
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
