package dev.hyperattn;

/** Instruction-set paths of the CPU backend, mirroring {@code HA_CPU_ISA_*}. */
public enum CpuIsa {
    /** The best path the running CPU supports (only meaningful as a request). */
    AUTO(0),
    /** Portable C++, any x86-64 or aarch64 CPU. */
    GENERIC(1),
    /** AVX2 + FMA + F16C (x86-64). */
    AVX2(2),
    /** AVX-512 F/BW/DQ/VL, plus AVX512-BF16 where present (x86-64). */
    AVX512(3),
    /** Advanced SIMD (aarch64). */
    NEON(4);

    private final int nativeCode;

    CpuIsa(int nativeCode) {
        this.nativeCode = nativeCode;
    }

    /** The {@code HA_CPU_ISA_*} value. */
    public int nativeCode() {
        return nativeCode;
    }

    static CpuIsa fromNative(int code) {
        for (CpuIsa isa : values()) {
            if (isa.nativeCode == code) {
                return isa;
            }
        }
        throw new IllegalStateException("hyperattn: unknown CPU ISA code " + code
                + " from the native library (bindings older than the library?)");
    }
}
