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
 * struct ha_key_index_info {
 *     int64_t batch;
 *     int64_t heads;
 *     int64_t keys;
 *     int64_t head_dim;
 *     int64_t sealed_keys;
 *     int64_t blocks;
 *     int64_t bytes;
 *     int32_t dtype;
 *     int32_t block_size;
 * }
 * }
 */
public class ha_key_index_info {

    ha_key_index_info() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_LONG.withName("batch"),
        hyperattn_h.C_LONG.withName("heads"),
        hyperattn_h.C_LONG.withName("keys"),
        hyperattn_h.C_LONG.withName("head_dim"),
        hyperattn_h.C_LONG.withName("sealed_keys"),
        hyperattn_h.C_LONG.withName("blocks"),
        hyperattn_h.C_LONG.withName("bytes"),
        hyperattn_h.C_INT.withName("dtype"),
        hyperattn_h.C_INT.withName("block_size")
    ).withName("ha_key_index_info");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final OfLong batch$LAYOUT = (OfLong)$LAYOUT.select(groupElement("batch"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t batch
     * }
     */
    public static final OfLong batch$layout() {
        return batch$LAYOUT;
    }

    private static final long batch$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t batch
     * }
     */
    public static final long batch$offset() {
        return batch$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t batch
     * }
     */
    public static long batch(MemorySegment struct) {
        return struct.get(batch$LAYOUT, batch$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t batch
     * }
     */
    public static void batch(MemorySegment struct, long fieldValue) {
        struct.set(batch$LAYOUT, batch$OFFSET, fieldValue);
    }

    private static final OfLong heads$LAYOUT = (OfLong)$LAYOUT.select(groupElement("heads"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t heads
     * }
     */
    public static final OfLong heads$layout() {
        return heads$LAYOUT;
    }

    private static final long heads$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t heads
     * }
     */
    public static final long heads$offset() {
        return heads$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t heads
     * }
     */
    public static long heads(MemorySegment struct) {
        return struct.get(heads$LAYOUT, heads$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t heads
     * }
     */
    public static void heads(MemorySegment struct, long fieldValue) {
        struct.set(heads$LAYOUT, heads$OFFSET, fieldValue);
    }

    private static final OfLong keys$LAYOUT = (OfLong)$LAYOUT.select(groupElement("keys"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t keys
     * }
     */
    public static final OfLong keys$layout() {
        return keys$LAYOUT;
    }

    private static final long keys$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t keys
     * }
     */
    public static final long keys$offset() {
        return keys$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t keys
     * }
     */
    public static long keys(MemorySegment struct) {
        return struct.get(keys$LAYOUT, keys$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t keys
     * }
     */
    public static void keys(MemorySegment struct, long fieldValue) {
        struct.set(keys$LAYOUT, keys$OFFSET, fieldValue);
    }

    private static final OfLong head_dim$LAYOUT = (OfLong)$LAYOUT.select(groupElement("head_dim"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t head_dim
     * }
     */
    public static final OfLong head_dim$layout() {
        return head_dim$LAYOUT;
    }

    private static final long head_dim$OFFSET = 24;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t head_dim
     * }
     */
    public static final long head_dim$offset() {
        return head_dim$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t head_dim
     * }
     */
    public static long head_dim(MemorySegment struct) {
        return struct.get(head_dim$LAYOUT, head_dim$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t head_dim
     * }
     */
    public static void head_dim(MemorySegment struct, long fieldValue) {
        struct.set(head_dim$LAYOUT, head_dim$OFFSET, fieldValue);
    }

    private static final OfLong sealed_keys$LAYOUT = (OfLong)$LAYOUT.select(groupElement("sealed_keys"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t sealed_keys
     * }
     */
    public static final OfLong sealed_keys$layout() {
        return sealed_keys$LAYOUT;
    }

    private static final long sealed_keys$OFFSET = 32;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t sealed_keys
     * }
     */
    public static final long sealed_keys$offset() {
        return sealed_keys$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t sealed_keys
     * }
     */
    public static long sealed_keys(MemorySegment struct) {
        return struct.get(sealed_keys$LAYOUT, sealed_keys$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t sealed_keys
     * }
     */
    public static void sealed_keys(MemorySegment struct, long fieldValue) {
        struct.set(sealed_keys$LAYOUT, sealed_keys$OFFSET, fieldValue);
    }

    private static final OfLong blocks$LAYOUT = (OfLong)$LAYOUT.select(groupElement("blocks"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t blocks
     * }
     */
    public static final OfLong blocks$layout() {
        return blocks$LAYOUT;
    }

    private static final long blocks$OFFSET = 40;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t blocks
     * }
     */
    public static final long blocks$offset() {
        return blocks$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t blocks
     * }
     */
    public static long blocks(MemorySegment struct) {
        return struct.get(blocks$LAYOUT, blocks$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t blocks
     * }
     */
    public static void blocks(MemorySegment struct, long fieldValue) {
        struct.set(blocks$LAYOUT, blocks$OFFSET, fieldValue);
    }

    private static final OfLong bytes$LAYOUT = (OfLong)$LAYOUT.select(groupElement("bytes"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t bytes
     * }
     */
    public static final OfLong bytes$layout() {
        return bytes$LAYOUT;
    }

    private static final long bytes$OFFSET = 48;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t bytes
     * }
     */
    public static final long bytes$offset() {
        return bytes$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t bytes
     * }
     */
    public static long bytes(MemorySegment struct) {
        return struct.get(bytes$LAYOUT, bytes$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t bytes
     * }
     */
    public static void bytes(MemorySegment struct, long fieldValue) {
        struct.set(bytes$LAYOUT, bytes$OFFSET, fieldValue);
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

    private static final long dtype$OFFSET = 56;

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

    private static final long block_size$OFFSET = 60;

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
