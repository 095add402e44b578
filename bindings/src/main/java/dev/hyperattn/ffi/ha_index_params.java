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
 * struct ha_index_params {
 *     int32_t block_size;
 *     int32_t kmeans_iters;
 *     uint64_t seed;
 *     int32_t copy_keys;
 *     int32_t reserved;
 * }
 * }
 */
public class ha_index_params {

    ha_index_params() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_INT.withName("block_size"),
        hyperattn_h.C_INT.withName("kmeans_iters"),
        hyperattn_h.C_LONG.withName("seed"),
        hyperattn_h.C_INT.withName("copy_keys"),
        hyperattn_h.C_INT.withName("reserved")
    ).withName("ha_index_params");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final OfInt block_size$LAYOUT = (OfInt)$LAYOUT.select(groupElement("block_size"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t block_size
     * }
     */
    public static final OfInt block_size$layout() {
        return block_size$LAYOUT;
    }

    private static final long block_size$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t block_size
     * }
     */
    public static final long block_size$offset() {
        return block_size$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t block_size
     * }
     */
    public static int block_size(MemorySegment struct) {
        return struct.get(block_size$LAYOUT, block_size$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t block_size
     * }
     */
    public static void block_size(MemorySegment struct, int fieldValue) {
        struct.set(block_size$LAYOUT, block_size$OFFSET, fieldValue);
    }

    private static final OfInt kmeans_iters$LAYOUT = (OfInt)$LAYOUT.select(groupElement("kmeans_iters"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t kmeans_iters
     * }
     */
    public static final OfInt kmeans_iters$layout() {
        return kmeans_iters$LAYOUT;
    }

    private static final long kmeans_iters$OFFSET = 4;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t kmeans_iters
     * }
     */
    public static final long kmeans_iters$offset() {
        return kmeans_iters$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t kmeans_iters
     * }
     */
    public static int kmeans_iters(MemorySegment struct) {
        return struct.get(kmeans_iters$LAYOUT, kmeans_iters$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t kmeans_iters
     * }
     */
    public static void kmeans_iters(MemorySegment struct, int fieldValue) {
        struct.set(kmeans_iters$LAYOUT, kmeans_iters$OFFSET, fieldValue);
    }

    private static final OfLong seed$LAYOUT = (OfLong)$LAYOUT.select(groupElement("seed"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * uint64_t seed
     * }
     */
    public static final OfLong seed$layout() {
        return seed$LAYOUT;
    }

    private static final long seed$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * uint64_t seed
     * }
     */
    public static final long seed$offset() {
        return seed$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * uint64_t seed
     * }
     */
    public static long seed(MemorySegment struct) {
        return struct.get(seed$LAYOUT, seed$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * uint64_t seed
     * }
     */
    public static void seed(MemorySegment struct, long fieldValue) {
        struct.set(seed$LAYOUT, seed$OFFSET, fieldValue);
    }

    private static final OfInt copy_keys$LAYOUT = (OfInt)$LAYOUT.select(groupElement("copy_keys"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t copy_keys
     * }
     */
    public static final OfInt copy_keys$layout() {
        return copy_keys$LAYOUT;
    }

    private static final long copy_keys$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t copy_keys
     * }
     */
    public static final long copy_keys$offset() {
        return copy_keys$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t copy_keys
     * }
     */
    public static int copy_keys(MemorySegment struct) {
        return struct.get(copy_keys$LAYOUT, copy_keys$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t copy_keys
     * }
     */
    public static void copy_keys(MemorySegment struct, int fieldValue) {
        struct.set(copy_keys$LAYOUT, copy_keys$OFFSET, fieldValue);
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
