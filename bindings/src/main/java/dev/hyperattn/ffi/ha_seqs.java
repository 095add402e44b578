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
 * struct ha_seqs {
 *     int32_t count;
 *     int32_t page_size;
 *     const int32_t *cu_seqlens_q;
 *     const int32_t *cu_seqlens_k;
 *     const int32_t *seqlens_k;
 *     const int32_t *block_table;
 *     int64_t block_table_stride;
 *     int32_t max_pages;
 *     int32_t reserved;
 * }
 * }
 */
public class ha_seqs {

    ha_seqs() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_INT.withName("count"),
        hyperattn_h.C_INT.withName("page_size"),
        hyperattn_h.C_POINTER.withName("cu_seqlens_q"),
        hyperattn_h.C_POINTER.withName("cu_seqlens_k"),
        hyperattn_h.C_POINTER.withName("seqlens_k"),
        hyperattn_h.C_POINTER.withName("block_table"),
        hyperattn_h.C_LONG.withName("block_table_stride"),
        hyperattn_h.C_INT.withName("max_pages"),
        hyperattn_h.C_INT.withName("reserved")
    ).withName("ha_seqs");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final OfInt count$LAYOUT = (OfInt)$LAYOUT.select(groupElement("count"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t count
     * }
     */
    public static final OfInt count$layout() {
        return count$LAYOUT;
    }

    private static final long count$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t count
     * }
     */
    public static final long count$offset() {
        return count$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t count
     * }
     */
    public static int count(MemorySegment struct) {
        return struct.get(count$LAYOUT, count$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t count
     * }
     */
    public static void count(MemorySegment struct, int fieldValue) {
        struct.set(count$LAYOUT, count$OFFSET, fieldValue);
    }

    private static final OfInt page_size$LAYOUT = (OfInt)$LAYOUT.select(groupElement("page_size"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t page_size
     * }
     */
    public static final OfInt page_size$layout() {
        return page_size$LAYOUT;
    }

    private static final long page_size$OFFSET = 4;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t page_size
     * }
     */
    public static final long page_size$offset() {
        return page_size$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t page_size
     * }
     */
    public static int page_size(MemorySegment struct) {
        return struct.get(page_size$LAYOUT, page_size$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t page_size
     * }
     */
    public static void page_size(MemorySegment struct, int fieldValue) {
        struct.set(page_size$LAYOUT, page_size$OFFSET, fieldValue);
    }

    private static final AddressLayout cu_seqlens_q$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("cu_seqlens_q"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_q
     * }
     */
    public static final AddressLayout cu_seqlens_q$layout() {
        return cu_seqlens_q$LAYOUT;
    }

    private static final long cu_seqlens_q$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_q
     * }
     */
    public static final long cu_seqlens_q$offset() {
        return cu_seqlens_q$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_q
     * }
     */
    public static MemorySegment cu_seqlens_q(MemorySegment struct) {
        return struct.get(cu_seqlens_q$LAYOUT, cu_seqlens_q$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_q
     * }
     */
    public static void cu_seqlens_q(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(cu_seqlens_q$LAYOUT, cu_seqlens_q$OFFSET, fieldValue);
    }

    private static final AddressLayout cu_seqlens_k$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("cu_seqlens_k"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_k
     * }
     */
    public static final AddressLayout cu_seqlens_k$layout() {
        return cu_seqlens_k$LAYOUT;
    }

    private static final long cu_seqlens_k$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_k
     * }
     */
    public static final long cu_seqlens_k$offset() {
        return cu_seqlens_k$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_k
     * }
     */
    public static MemorySegment cu_seqlens_k(MemorySegment struct) {
        return struct.get(cu_seqlens_k$LAYOUT, cu_seqlens_k$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * const int32_t *cu_seqlens_k
     * }
     */
    public static void cu_seqlens_k(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(cu_seqlens_k$LAYOUT, cu_seqlens_k$OFFSET, fieldValue);
    }

    private static final AddressLayout seqlens_k$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("seqlens_k"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * const int32_t *seqlens_k
     * }
     */
    public static final AddressLayout seqlens_k$layout() {
        return seqlens_k$LAYOUT;
    }

    private static final long seqlens_k$OFFSET = 24;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * const int32_t *seqlens_k
     * }
     */
    public static final long seqlens_k$offset() {
        return seqlens_k$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * const int32_t *seqlens_k
     * }
     */
    public static MemorySegment seqlens_k(MemorySegment struct) {
        return struct.get(seqlens_k$LAYOUT, seqlens_k$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * const int32_t *seqlens_k
     * }
     */
    public static void seqlens_k(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(seqlens_k$LAYOUT, seqlens_k$OFFSET, fieldValue);
    }

    private static final AddressLayout block_table$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("block_table"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * const int32_t *block_table
     * }
     */
    public static final AddressLayout block_table$layout() {
        return block_table$LAYOUT;
    }

    private static final long block_table$OFFSET = 32;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * const int32_t *block_table
     * }
     */
    public static final long block_table$offset() {
        return block_table$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * const int32_t *block_table
     * }
     */
    public static MemorySegment block_table(MemorySegment struct) {
        return struct.get(block_table$LAYOUT, block_table$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * const int32_t *block_table
     * }
     */
    public static void block_table(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(block_table$LAYOUT, block_table$OFFSET, fieldValue);
    }

    private static final OfLong block_table_stride$LAYOUT = (OfLong)$LAYOUT.select(groupElement("block_table_stride"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t block_table_stride
     * }
     */
    public static final OfLong block_table_stride$layout() {
        return block_table_stride$LAYOUT;
    }

    private static final long block_table_stride$OFFSET = 40;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t block_table_stride
     * }
     */
    public static final long block_table_stride$offset() {
        return block_table_stride$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t block_table_stride
     * }
     */
    public static long block_table_stride(MemorySegment struct) {
        return struct.get(block_table_stride$LAYOUT, block_table_stride$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t block_table_stride
     * }
     */
    public static void block_table_stride(MemorySegment struct, long fieldValue) {
        struct.set(block_table_stride$LAYOUT, block_table_stride$OFFSET, fieldValue);
    }

    private static final OfInt max_pages$LAYOUT = (OfInt)$LAYOUT.select(groupElement("max_pages"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t max_pages
     * }
     */
    public static final OfInt max_pages$layout() {
        return max_pages$LAYOUT;
    }

    private static final long max_pages$OFFSET = 48;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t max_pages
     * }
     */
    public static final long max_pages$offset() {
        return max_pages$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t max_pages
     * }
     */
    public static int max_pages(MemorySegment struct) {
        return struct.get(max_pages$LAYOUT, max_pages$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t max_pages
     * }
     */
    public static void max_pages(MemorySegment struct, int fieldValue) {
        struct.set(max_pages$LAYOUT, max_pages$OFFSET, fieldValue);
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

    private static final long reserved$OFFSET = 52;

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
