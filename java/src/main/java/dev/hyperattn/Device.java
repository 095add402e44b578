package dev.hyperattn;

import dev.hyperattn.ffi.ha_device_props;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Where a tensor's memory lives: {@link #CPU} (host memory, the CPU backend) or
 * {@link #cuda(int) cuda(i)} (memory of CUDA device i, the CUDA backend).
 *
 * <p>A {@code Device} is only a name: {@code Device.cuda(3)} can be created on a machine without
 * a GPU. Whether the device exists is checked where it is used (allocating, copying, running an
 * operation), and an absent device is reported there as an {@link IllegalArgumentException}
 * carrying CUDA's own reason (no driver, no device, a build without the CUDA backend, ...).
 */
public final class Device {

    /** Kinds of device, mirroring {@code HA_DEVICE_*}. */
    public enum Kind {
        CPU(0), CUDA(1);

        private final int nativeCode;

        Kind(int nativeCode) {
            this.nativeCode = nativeCode;
        }

        /** The {@code HA_DEVICE_*} value of this kind. */
        public int nativeCode() {
            return nativeCode;
        }
    }

    /** Host memory, processed by the CPU backend. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    private final Kind kind;
    private final int index;

    private Device(Kind kind, int index) {
        this.kind = kind;
        this.index = index;
    }

    /**
     * CUDA device {@code ordinal} (as CUDA numbers the visible devices). Does not check that the
     * device exists; see {@link #cudaDeviceCount()}.
     *
     * @throws IllegalArgumentException if {@code ordinal} is negative
     */
    public static Device cuda(int ordinal) {
        if (ordinal < 0) {
            throw new IllegalArgumentException("ordinal: " + ordinal + " is negative (CUDA devices are numbered from 0)");
        }
        return new Device(Kind.CUDA, ordinal);
    }

    /**
     * The number of CUDA devices this process can use: 0 when there is none, when the driver is
     * missing or when the library was built without its CUDA backend
     * ({@link #cudaUnavailableReason()} then says which). Asked once per process.
     */
    public static int cudaDeviceCount() {
        Native.ensureLoaded();
        return CudaRuntime.COUNT;
    }

    /**
     * Why {@link #cudaDeviceCount()} is 0, in CUDA's (or the library's) words; empty when CUDA
     * devices are present.
     */
    public static String cudaUnavailableReason() {
        Native.ensureLoaded();
        return CudaRuntime.REASON;
    }

    /**
     * Properties of this CUDA device.
     *
     * @throws IllegalArgumentException if this is the CPU or the device is absent
     * @throws HyperattnException if the CUDA runtime fails
     */
    public DeviceProperties properties() {
        if (isCpu()) {
            throw new IllegalArgumentException("device: cpu has no CUDA properties");
        }
        requirePresent("device");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_device_props.allocate(arena);
            Native.check(hyperattn_h.ha_cuda_device_props(index, p), "ha_cuda_device_props(" + index + ")");
            MemorySegment name = ha_device_props.name(p);
            long len = 0;
            while (len < name.byteSize() && name.get(ValueLayout.JAVA_BYTE, len) != 0) {
                len++;
            }
            byte[] bytes = name.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
            return new DeviceProperties(this, new String(bytes, StandardCharsets.UTF_8),
                    ha_device_props.total_memory(p), ha_device_props.compute_major(p),
                    ha_device_props.compute_minor(p), ha_device_props.multiprocessors(p));
        }
    }

    public Kind kind() {
        return kind;
    }

    /** Device ordinal within its kind (always 0 for the CPU). */
    public int index() {
        return index;
    }

    public boolean isCpu() {
        return kind == Kind.CPU;
    }

    public boolean isCuda() {
        return kind == Kind.CUDA;
    }

    /**
     * Throws {@link IllegalArgumentException} naming {@code what} if this device is absent. The CPU
     * is always present.
     */
    void requirePresent(String what) {
        if (isCpu()) {
            return;
        }
        int count = cudaDeviceCount();
        if (index >= count) {
            String why = count == 0
                    ? "there is no usable CUDA device (" + (CudaRuntime.REASON.isEmpty() ? "no reason given"
                            : CudaRuntime.REASON) + ")"
                    : "only " + count + " CUDA device" + (count == 1 ? " is" : "s are") + " visible (cuda:0.."
                            + "cuda:" + (count - 1) + ")";
            throw new IllegalArgumentException(what + ": device " + this + " is absent: " + why);
        }
    }

    // Asked once: the device set of a process does not change, and operations check presence on
    // every call.
    private static final class CudaRuntime {
        static final int COUNT;
        static final String REASON;

        static {
            int count;
            String reason;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment c = arena.allocate(ValueLayout.JAVA_INT);
                int status = hyperattn_h.ha_cuda_device_count(c);
                count = Math.max(0, c.get(ValueLayout.JAVA_INT, 0));
                reason = status == hyperattn_h.HA_OK() ? "" : Native.lastError();
                if (status != hyperattn_h.HA_OK()) {
                    count = 0;
                    if (reason.isEmpty()) {
                        reason = "ha_cuda_device_count failed with status " + status;
                    }
                }
            }
            COUNT = count;
            REASON = reason;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.kind == kind && d.index == index;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, index);
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + index;
    }
}
