package dev.hyperattn;

import java.util.Objects;

/**
 * Where a tensor's memory lives. Only {@link #CPU} exists today; a CUDA device will be
 * {@code Device.cuda(index)}, and everything that takes a Device already carries the index.
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
