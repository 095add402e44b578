package dev.hyperattn;

import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.Objects;

/**
 * A CUDA stream (a {@code cudaStream_t}) of one device. Operations and copies given a stream are
 * enqueued on it and return at once; without one they finish before returning. Work on one
 * stream runs in order; {@link #synchronize()} waits for all of it.
 *
 * <pre>{@code
 * try (CudaStream stream = CudaStream.create(Device.cuda(0))) {
 *     Attention.exact().causal(true).stream(stream).run(q, k, v, out);
 *     stream.synchronize();
 * }
 * }</pre>
 *
 * Tensors used by enqueued work must stay alive (their arena open) until the stream has been
 * synchronized. {@link #close()} destroys the stream (CUDA lets queued work finish first); it is
 * idempotent, and a stream that is never closed is destroyed when it becomes unreachable.
 */
public final class CudaStream implements AutoCloseable {

    private static final Cleaner CLEANER = Cleaner.create();

    /** The native handle, read and cleared under the stream's lock; shared with the cleaner. */
    private static final class State implements Runnable {
        final int deviceId;
        MemorySegment handle;

        State(int deviceId, MemorySegment handle) {
            this.deviceId = deviceId;
            this.handle = handle;
        }

        @Override
        public synchronized void run() {
            if (handle != null) {
                // Nothing useful can be done with a failure while freeing.
                hyperattn_h.ha_stream_destroy(deviceId, handle);
                handle = null;
            }
        }
    }

    private final Device device;
    private final State state;
    private final Cleaner.Cleanable cleanable;

    private CudaStream(Device device, MemorySegment handle) {
        this.device = device;
        this.state = new State(device.index(), handle);
        this.cleanable = CLEANER.register(this, state);
    }

    /**
     * Creates a stream on {@code device}.
     *
     * @throws IllegalArgumentException if {@code device} is the CPU or absent
     * @throws HyperattnException if CUDA fails to create the stream
     */
    public static CudaStream create(Device device) {
        Objects.requireNonNull(device, "device");
        if (!device.isCuda()) {
            throw new IllegalArgumentException("device: " + device + " has no streams (CUDA devices only)");
        }
        Native.ensureLoaded();
        device.requirePresent("device");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Native.check(hyperattn_h.ha_stream_create(device.index(), out), "ha_stream_create(" + device.index() + ")");
            return new CudaStream(device, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** The device whose work this stream orders. */
    public Device device() {
        return device;
    }

    /**
     * Waits until all work enqueued on this stream has finished.
     *
     * @throws IllegalStateException if the stream is closed
     * @throws HyperattnException if CUDA reports an error (including one from enqueued work)
     */
    public void synchronize() {
        synchronized (state) {
            Native.check(hyperattn_h.ha_stream_synchronize(device.index(), handle()), "ha_stream_synchronize");
        }
    }

    public boolean isClosed() {
        synchronized (state) {
            return state.handle == null;
        }
    }

    /** Destroys the stream; later calls do nothing. */
    @Override
    public void close() {
        cleanable.clean();
    }

    /** The native handle for a call; the caller holds no lock, so a racing close is the caller's bug. */
    MemorySegment handle() {
        synchronized (state) {
            if (state.handle == null) {
                throw new IllegalStateException("stream: this CudaStream of " + device + " is closed");
            }
            return state.handle;
        }
    }

    @Override
    public String toString() {
        synchronized (state) {
            return "CudaStream[" + device + (state.handle == null ? ", closed" : ", 0x"
                    + Long.toHexString(state.handle.address())) + "]";
        }
    }
}
