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
 * struct ha_hyper_stats {
 *     float *row_error;
 * }
 * }
 */
public class ha_hyper_stats {

    ha_hyper_stats() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_POINTER.withName("row_error")
    ).withName("ha_hyper_stats");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final AddressLayout row_error$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("row_error"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * float *row_error
     * }
     */
    public static final AddressLayout row_error$layout() {
        return row_error$LAYOUT;
    }

    private static final long row_error$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * float *row_error
     * }
     */
    public static final long row_error$offset() {
        return row_error$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * float *row_error
     * }
     */
    public static MemorySegment row_error(MemorySegment struct) {
        return struct.get(row_error$LAYOUT, row_error$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * float *row_error
     * }
     */
    public static void row_error(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(row_error$LAYOUT, row_error$OFFSET, fieldValue);
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
