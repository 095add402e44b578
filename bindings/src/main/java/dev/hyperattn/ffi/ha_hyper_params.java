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
 * struct ha_hyper_params {
 *     float scale;
 *     int32_t causal;
 *     int32_t lsh_projections;
 *     int32_t block_size;
 *     int32_t sample_size;
 *     int32_t min_seq_len;
 *     uint64_t seed;
 *     void *stream;
 * }
 * }
 */
public class ha_hyper_params {

    ha_hyper_params() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_FLOAT.withName("scale"),
        hyperattn_h.C_INT.withName("causal"),
        hyperattn_h.C_INT.withName("lsh_projections"),
        hyperattn_h.C_INT.withName("block_size"),
        hyperattn_h.C_INT.withName("sample_size"),
        hyperattn_h.C_INT.withName("min_seq_len"),
        hyperattn_h.C_LONG.withName("seed"),
        hyperattn_h.C_POINTER.withName("stream")
    ).withName("ha_hyper_params");

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

    private static final OfInt lsh_projections$LAYOUT = (OfInt)$LAYOUT.select(groupElement("lsh_projections"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t lsh_projections
     * }
     */
    public static final OfInt lsh_projections$layout() {
        return lsh_projections$LAYOUT;
    }

    private static final long lsh_projections$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t lsh_projections
     * }
     */
    public static final long lsh_projections$offset() {
        return lsh_projections$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t lsh_projections
     * }
     */
    public static int lsh_projections(MemorySegment struct) {
        return struct.get(lsh_projections$LAYOUT, lsh_projections$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t lsh_projections
     * }
     */
    public static void lsh_projections(MemorySegment struct, int fieldValue) {
        struct.set(lsh_projections$LAYOUT, lsh_projections$OFFSET, fieldValue);
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

    private static final long block_size$OFFSET = 12;

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

    private static final OfInt sample_size$LAYOUT = (OfInt)$LAYOUT.select(groupElement("sample_size"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t sample_size
     * }
     */
    public static final OfInt sample_size$layout() {
        return sample_size$LAYOUT;
    }

    private static final long sample_size$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t sample_size
     * }
     */
    public static final long sample_size$offset() {
        return sample_size$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t sample_size
     * }
     */
    public static int sample_size(MemorySegment struct) {
        return struct.get(sample_size$LAYOUT, sample_size$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t sample_size
     * }
     */
    public static void sample_size(MemorySegment struct, int fieldValue) {
        struct.set(sample_size$LAYOUT, sample_size$OFFSET, fieldValue);
    }

    private static final OfInt min_seq_len$LAYOUT = (OfInt)$LAYOUT.select(groupElement("min_seq_len"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t min_seq_len
     * }
     */
    public static final OfInt min_seq_len$layout() {
        return min_seq_len$LAYOUT;
    }

    private static final long min_seq_len$OFFSET = 20;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t min_seq_len
     * }
     */
    public static final long min_seq_len$offset() {
        return min_seq_len$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t min_seq_len
     * }
     */
    public static int min_seq_len(MemorySegment struct) {
        return struct.get(min_seq_len$LAYOUT, min_seq_len$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t min_seq_len
     * }
     */
    public static void min_seq_len(MemorySegment struct, int fieldValue) {
        struct.set(min_seq_len$LAYOUT, min_seq_len$OFFSET, fieldValue);
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

    private static final long seed$OFFSET = 24;

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
