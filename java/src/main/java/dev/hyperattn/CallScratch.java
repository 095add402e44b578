package dev.hyperattn;

import dev.hyperattn.ffi.ha_approx_params;
import dev.hyperattn.ffi.ha_approx_stats;
import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.ha_hsr_params;
import dev.hyperattn.ffi.ha_hsr_stats;
import dev.hyperattn.ffi.ha_hyper_params;
import dev.hyperattn.ffi.ha_hyper_stats;
import dev.hyperattn.ffi.ha_tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The native memory one call passes by pointer: its tensor descriptors, its params struct and
 * its stats struct, reused from call to call instead of a fresh arena per call.
 *
 * <p>Scratches live in a fixed pool (a few per CPU, allocated once, never freed: under 1 KiB
 * each). {@link #acquire()} claims one with a compare-and-set, starting at a slot chosen from the
 * calling thread's id, so concurrent callers, platform or virtual, normally claim different
 * slots without contention; {@link #release()} returns it. A claimed scratch belongs to one call
 * only, which is what makes it safe with virtual threads (a virtual thread that blocks between
 * claim and release, e.g. on a KeyIndex lock, keeps its scratch; others take other slots) and
 * with re-entrant or nested calls (each claims its own). When every probed slot is taken, the
 * call gets a temporary scratch in a confined arena of its own, closed by {@link #release()}:
 * slower, never wrong.
 *
 * <p>The library reads descriptors and params during the call only (it keeps no pointer to them
 * after returning), so a released scratch can serve the next call at once.
 */
final class CallScratch {

    /** The most tensor descriptors a call passes (ha_merge: six). */
    static final int TENSORS = 6;

    private static final long TENSOR_BYTES = ha_tensor.sizeof();
    private static final long PARAMS_BYTES = Math.max(Math.max(ha_exact_params.sizeof(), ha_hyper_params.sizeof()),
            Math.max(ha_hsr_params.sizeof(), ha_approx_params.sizeof()));
    private static final long STATS_BYTES = Math.max(ha_hyper_stats.sizeof(),
            Math.max(ha_hsr_stats.sizeof(), ha_approx_stats.sizeof()));
    private static final long PARAMS_OFFSET = roundUp(TENSORS * TENSOR_BYTES, 16);
    private static final long STATS_OFFSET = roundUp(PARAMS_OFFSET + PARAMS_BYTES, 16);
    /** Bytes of one scratch: a whole number of cache lines, so two never share one. */
    static final long BYTES = roundUp(STATS_OFFSET + STATS_BYTES, 64);

    private final MemorySegment t0, t1, t2, t3, t4, t5;
    private final MemorySegment params;
    private final MemorySegment stats;
    private final int slot; // pool index, or -1 for a temporary scratch
    private final Arena temporary;

    private CallScratch(MemorySegment memory, int slot, Arena temporary) {
        this.t0 = memory.asSlice(0, TENSOR_BYTES);
        this.t1 = memory.asSlice(TENSOR_BYTES, TENSOR_BYTES);
        this.t2 = memory.asSlice(2 * TENSOR_BYTES, TENSOR_BYTES);
        this.t3 = memory.asSlice(3 * TENSOR_BYTES, TENSOR_BYTES);
        this.t4 = memory.asSlice(4 * TENSOR_BYTES, TENSOR_BYTES);
        this.t5 = memory.asSlice(5 * TENSOR_BYTES, TENSOR_BYTES);
        this.params = memory.asSlice(PARAMS_OFFSET, PARAMS_BYTES);
        this.stats = memory.asSlice(STATS_OFFSET, STATS_BYTES);
        this.slot = slot;
        this.temporary = temporary;
    }

    private static long roundUp(long n, long to) {
        return (n + to - 1) / to * to;
    }

    private static final class Pool {
        // Power of two: 4 per CPU, at least 16, at most 256.
        static final int SLOTS = Integer.highestOneBit(
                Math.clamp(4L * Runtime.getRuntime().availableProcessors(), 16, 256) * 2 - 1);
        static final int PROBES = Math.min(SLOTS, 8);
        // One busy flag per slot, 16 ints (a cache line) apart, so that callers on different
        // slots do not write to one line.
        static final int FLAG_STRIDE = 16;
        static final int[] BUSY = new int[SLOTS * FLAG_STRIDE];
        static final VarHandle FLAG = MethodHandles.arrayElementVarHandle(int[].class);
        static final CallScratch[] SCRATCH = new CallScratch[SLOTS];

        static {
            MemorySegment all = Arena.global().allocate(SLOTS * BYTES, 64);
            for (int i = 0; i < SLOTS; i++) {
                SCRATCH[i] = new CallScratch(all.asSlice(i * BYTES, BYTES), i, null);
            }
        }
    }

    /** Claims a scratch for one call; the caller must {@link #release()} it in a finally block. */
    static CallScratch acquire() {
        long id = Thread.currentThread().threadId();
        int start = (int) ((id * 0x9E3779B97F4A7C15L) >>> 40);
        int mask = Pool.SLOTS - 1;
        for (int i = 0; i < Pool.PROBES; i++) {
            int s = (start + i) & mask;
            int f = s * Pool.FLAG_STRIDE;
            if ((int) Pool.FLAG.getOpaque(Pool.BUSY, f) == 0 && Pool.FLAG.compareAndSet(Pool.BUSY, f, 0, 1)) {
                return Pool.SCRATCH[s];
            }
        }
        Arena arena = Arena.ofConfined();
        return new CallScratch(arena.allocate(BYTES, 64), -1, arena);
    }

    /** Returns this scratch to the pool (or frees a temporary one). */
    void release() {
        if (temporary != null) {
            temporary.close();
        } else {
            Pool.FLAG.setRelease(Pool.BUSY, slot * Pool.FLAG_STRIDE, 0);
        }
    }

    /**
     * Descriptor {@code i} (0 ..< {@link #TENSORS}) written for {@code t}; NULL for a null
     * (absent) tensor.
     */
    MemorySegment describe(int i, Tensor t) {
        if (t == null) {
            return MemorySegment.NULL;
        }
        MemorySegment d = switch (i) {
            case 0 -> t0;
            case 1 -> t1;
            case 2 -> t2;
            case 3 -> t3;
            case 4 -> t4;
            case 5 -> t5;
            default -> throw new IndexOutOfBoundsException(i);
        };
        Descriptors.write(d, t);
        return d;
    }

    /** The params struct, holding a copy of {@code template} (the op's native defaults). */
    MemorySegment params(MemorySegment template) {
        MemorySegment.copy(template, 0, params, 0, template.byteSize());
        return params;
    }

    /** The stats struct, zeroed (every array pointer NULL). */
    MemorySegment stats() {
        return stats.fill((byte) 0);
    }

    boolean isPooled() {
        return temporary == null;
    }

    /** Pool slots claimed now (for tests: 0 whenever no call is running). */
    static int claimedSlots() {
        int n = 0;
        for (int s = 0; s < Pool.SLOTS; s++) {
            n += (int) Pool.FLAG.getVolatile(Pool.BUSY, s * Pool.FLAG_STRIDE);
        }
        return n;
    }

    /** The number of pool slots. */
    static int poolSize() {
        return Pool.SLOTS;
    }
}
