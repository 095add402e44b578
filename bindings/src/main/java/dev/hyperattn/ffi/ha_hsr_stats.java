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
 * struct ha_hsr_stats {
 *     float *dropped_mass;
 *     float *error_bound;
 *     int64_t *keys_touched;
 * }
 * }
 */
public class ha_hsr_stats {

    ha_hsr_stats() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_POINTER.withName("dropped_mass"),
        hyperattn_h.C_POINTER.withName("error_bound"),
        hyperattn_h.C_POINTER.withName("keys_touched")
    ).withName("ha_hsr_stats");

    /**
     * The layout of this struct
     */
    public static final GroupLayout layout() {
        return $LAYOUT;
    }

    private static final AddressLayout dropped_mass$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("dropped_mass"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * float *dropped_mass
     * }
     */
    public static final AddressLayout dropped_mass$layout() {
        return dropped_mass$LAYOUT;
    }

    private static final long dropped_mass$OFFSET = 0;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * float *dropped_mass
     * }
     */
    public static final long dropped_mass$offset() {
        return dropped_mass$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * float *dropped_mass
     * }
     */
    public static MemorySegment dropped_mass(MemorySegment struct) {
        return struct.get(dropped_mass$LAYOUT, dropped_mass$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * float *dropped_mass
     * }
     */
    public static void dropped_mass(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(dropped_mass$LAYOUT, dropped_mass$OFFSET, fieldValue);
    }

    private static final AddressLayout error_bound$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("error_bound"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * float *error_bound
     * }
     */
    public static final AddressLayout error_bound$layout() {
        return error_bound$LAYOUT;
    }

    private static final long error_bound$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * float *error_bound
     * }
     */
    public static final long error_bound$offset() {
        return error_bound$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * float *error_bound
     * }
     */
    public static MemorySegment error_bound(MemorySegment struct) {
        return struct.get(error_bound$LAYOUT, error_bound$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * float *error_bound
     * }
     */
    public static void error_bound(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(error_bound$LAYOUT, error_bound$OFFSET, fieldValue);
    }

    private static final AddressLayout keys_touched$LAYOUT = (AddressLayout)$LAYOUT.select(groupElement("keys_touched"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int64_t *keys_touched
     * }
     */
    public static final AddressLayout keys_touched$layout() {
        return keys_touched$LAYOUT;
    }

    private static final long keys_touched$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int64_t *keys_touched
     * }
     */
    public static final long keys_touched$offset() {
        return keys_touched$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int64_t *keys_touched
     * }
     */
    public static MemorySegment keys_touched(MemorySegment struct) {
        return struct.get(keys_touched$LAYOUT, keys_touched$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int64_t *keys_touched
     * }
     */
    public static void keys_touched(MemorySegment struct, MemorySegment fieldValue) {
        struct.set(keys_touched$LAYOUT, keys_touched$OFFSET, fieldValue);
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
