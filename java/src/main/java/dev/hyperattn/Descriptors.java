package dev.hyperattn;

import dev.hyperattn.ffi.ha_tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Builds the {@code ha_tensor} structs that describe (never copy) a call's operands. */
final class Descriptors {

    private Descriptors() {
    }

    /** A descriptor of {@code t} allocated in {@code arena}; NULL for a null (absent) tensor. */
    static MemorySegment of(Arena arena, Tensor t) {
        if (t == null) {
            return MemorySegment.NULL;
        }
        MemorySegment d = ha_tensor.allocate(arena);
        ha_tensor.data(d, t.segment());
        ha_tensor.dtype(d, t.dtype().nativeCode());
        ha_tensor.device_type(d, t.device().kind().nativeCode());
        ha_tensor.device_id(d, t.device().index());
        ha_tensor.reserved(d, 0);
        // The ABI is rank 4; a rank-3 LSE [B, H, N] is described as [B, H, N, 1].
        for (int i = 0; i < 4; i++) {
            boolean trailing = i >= t.rank();
            ha_tensor.shape(d, i, trailing ? 1 : t.shape(i));
            ha_tensor.strides(d, i, trailing ? 1 : t.stride(i));
        }
        return d;
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
