package dev.hyperattn;

import dev.hyperattn.ffi.ha_tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Builds the {@code ha_tensor} structs that describe (never copy) a call's operands. */
final class Descriptors {

    private Descriptors() {
    }

    /** The size of an ha_tensor in 8-byte words (the struct is a multiple of its 8-byte alignment). */
    private static final int WORDS = Math.toIntExact(ha_tensor.sizeof() / Long.BYTES);

    /**
     * The bytes of a tensor's descriptor, in native byte order. A tensor is immutable, so its
     * descriptor is too: built once per view, then copied into a call's scratch in one bulk copy
     * instead of thirteen field writes.
     */
    static final class Image {
        final long[] words;

        Image(long[] words) {
            this.words = words;
        }
    }

    /** A descriptor of {@code t} allocated in {@code arena}; NULL for a null (absent) tensor. */
    static MemorySegment of(Arena arena, Tensor t) {
        if (t == null) {
            return MemorySegment.NULL;
        }
        MemorySegment d = ha_tensor.allocate(arena);
        write(d, t);
        return d;
    }

    /** Writes descriptor {@code d} (ha_tensor.sizeof() bytes, 8-byte aligned) for {@code t}: every byte. */
    static void write(MemorySegment d, Tensor t) {
        Image image = t.descriptor;
        if (image == null) {
            image = image(t);
            t.descriptor = image;
        }
        MemorySegment.copy(image.words, 0, d, ValueLayout.JAVA_LONG, 0, WORDS);
    }

    private static Image image(Tensor t) {
        long[] words = new long[WORDS];
        MemorySegment d = MemorySegment.ofArray(words);
        ha_tensor.data(d, t.segment());
        ha_tensor.dtype(d, t.dtype().nativeCode());
        Device device = t.device();
        ha_tensor.device_type(d, device.kind().nativeCode());
        ha_tensor.device_id(d, device.index());
        ha_tensor.reserved(d, 0);
        // The ABI is rank 4; a rank-3 LSE [B, H, N] is described as [B, H, N, 1].
        int rank = t.rank();
        for (int i = 0; i < 4; i++) {
            boolean trailing = i >= rank;
            ha_tensor.shape(d, i, trailing ? 1 : t.shape(i));
            ha_tensor.strides(d, i, trailing ? 1 : t.stride(i));
        }
        return new Image(words);
    }

    /**
     * The segment whose address {@link #of} puts in the descriptor, for the trailing address
     * arguments of ABI 5: a segment passed as a downcall argument keeps its arena open for the
     * whole call (closing a shared arena meanwhile throws IllegalStateException), which an
     * address inside a struct does not. NULL for a null (absent) tensor.
     */
    static MemorySegment data(Tensor t) {
        return t == null ? MemorySegment.NULL : t.segment();
    }
}
