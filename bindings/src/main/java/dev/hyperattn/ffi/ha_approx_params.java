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
 * struct ha_approx_params {
 *     float scale;
 *     int32_t causal;
 *     int32_t sinks;
 *     int32_t window;
 *     int32_t samples;
 *     int32_t heavy_budget;
 *     double target_error;
 *     uint64_t seed;
 *     void *stream;
 * }
 * }
 */
public class ha_approx_params {

    ha_approx_params() {
        // Should not be called directly
    }

    private static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
        hyperattn_h.C_FLOAT.withName("scale"),
        hyperattn_h.C_INT.withName("causal"),
        hyperattn_h.C_INT.withName("sinks"),
        hyperattn_h.C_INT.withName("window"),
        hyperattn_h.C_INT.withName("samples"),
        hyperattn_h.C_INT.withName("heavy_budget"),
        hyperattn_h.C_DOUBLE.withName("target_error"),
        hyperattn_h.C_LONG.withName("seed"),
        hyperattn_h.C_POINTER.withName("stream")
    ).withName("ha_approx_params");

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

    private static final OfInt sinks$LAYOUT = (OfInt)$LAYOUT.select(groupElement("sinks"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t sinks
     * }
     */
    public static final OfInt sinks$layout() {
        return sinks$LAYOUT;
    }

    private static final long sinks$OFFSET = 8;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t sinks
     * }
     */
    public static final long sinks$offset() {
        return sinks$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t sinks
     * }
     */
    public static int sinks(MemorySegment struct) {
        return struct.get(sinks$LAYOUT, sinks$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t sinks
     * }
     */
    public static void sinks(MemorySegment struct, int fieldValue) {
        struct.set(sinks$LAYOUT, sinks$OFFSET, fieldValue);
    }

    private static final OfInt window$LAYOUT = (OfInt)$LAYOUT.select(groupElement("window"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t window
     * }
     */
    public static final OfInt window$layout() {
        return window$LAYOUT;
    }

    private static final long window$OFFSET = 12;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t window
     * }
     */
    public static final long window$offset() {
        return window$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t window
     * }
     */
    public static int window(MemorySegment struct) {
        return struct.get(window$LAYOUT, window$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t window
     * }
     */
    public static void window(MemorySegment struct, int fieldValue) {
        struct.set(window$LAYOUT, window$OFFSET, fieldValue);
    }

    private static final OfInt samples$LAYOUT = (OfInt)$LAYOUT.select(groupElement("samples"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t samples
     * }
     */
    public static final OfInt samples$layout() {
        return samples$LAYOUT;
    }

    private static final long samples$OFFSET = 16;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t samples
     * }
     */
    public static final long samples$offset() {
        return samples$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t samples
     * }
     */
    public static int samples(MemorySegment struct) {
        return struct.get(samples$LAYOUT, samples$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t samples
     * }
     */
    public static void samples(MemorySegment struct, int fieldValue) {
        struct.set(samples$LAYOUT, samples$OFFSET, fieldValue);
    }

    private static final OfInt heavy_budget$LAYOUT = (OfInt)$LAYOUT.select(groupElement("heavy_budget"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * int32_t heavy_budget
     * }
     */
    public static final OfInt heavy_budget$layout() {
        return heavy_budget$LAYOUT;
    }

    private static final long heavy_budget$OFFSET = 20;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * int32_t heavy_budget
     * }
     */
    public static final long heavy_budget$offset() {
        return heavy_budget$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * int32_t heavy_budget
     * }
     */
    public static int heavy_budget(MemorySegment struct) {
        return struct.get(heavy_budget$LAYOUT, heavy_budget$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * int32_t heavy_budget
     * }
     */
    public static void heavy_budget(MemorySegment struct, int fieldValue) {
        struct.set(heavy_budget$LAYOUT, heavy_budget$OFFSET, fieldValue);
    }

    private static final OfDouble target_error$LAYOUT = (OfDouble)$LAYOUT.select(groupElement("target_error"));

    /**
     * Layout for field:
     * {@snippet lang=c :
     * double target_error
     * }
     */
    public static final OfDouble target_error$layout() {
        return target_error$LAYOUT;
    }

    private static final long target_error$OFFSET = 24;

    /**
     * Offset for field:
     * {@snippet lang=c :
     * double target_error
     * }
     */
    public static final long target_error$offset() {
        return target_error$OFFSET;
    }

    /**
     * Getter for field:
     * {@snippet lang=c :
     * double target_error
     * }
     */
    public static double target_error(MemorySegment struct) {
        return struct.get(target_error$LAYOUT, target_error$OFFSET);
    }

    /**
     * Setter for field:
     * {@snippet lang=c :
     * double target_error
     * }
     */
    public static void target_error(MemorySegment struct, double fieldValue) {
        struct.set(target_error$LAYOUT, target_error$OFFSET, fieldValue);
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

    private static final long seed$OFFSET = 32;

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

    private static final long stream$OFFSET = 40;

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
