package dev.hyperattn;

import dev.hyperattn.ffi.NativeLibrary;
import dev.hyperattn.ffi.hyperattn_h;

/**
 * The native runtime: library identity and process-wide CPU settings. Settings are global to
 * the process (they configure the library, not a Java object), so tests that change them should
 * restore the defaults.
 */
public final class Hyperattn {

    private Hyperattn() {
    }

    /** The library's version string, e.g. {@code "0.1.0"}. */
    public static String version() {
        Native.ensureLoaded();
        return hyperattn_h.ha_version_string().getString(0);
    }

    /**
     * The ABI version of the loaded library. Loading already refused a library whose version
     * differs from {@link #expectedAbiVersion()}, so the two are equal whenever this returns.
     */
    public static int abiVersion() {
        Native.ensureLoaded();
        return hyperattn_h.ha_abi_version();
    }

    /** The ABI version these bindings were written for ({@code HA_ABI_VERSION}). */
    public static int expectedAbiVersion() {
        Native.ensureLoaded();
        return hyperattn_h.HA_ABI_VERSION();
    }

    /** Where the native library was loaded from (a temporary copy when it came from the jar). */
    public static String libraryPath() {
        Native.ensureLoaded();
        return NativeLibrary.loadedFrom();
    }

    /** The most threads {@link #setNumThreads} accepts. */
    public static final int MAX_THREADS = 1024;

    /** Threads CPU operations use. */
    public static int numThreads() {
        Native.ensureLoaded();
        return hyperattn_h.ha_get_num_threads();
    }

    /**
     * Sets the threads CPU operations use, at most {@value #MAX_THREADS}; 0 restores the default
     * (the CPUs this process may run on, at most {@value #MAX_THREADS}).
     *
     * @throws IllegalArgumentException if {@code n} is negative or above {@value #MAX_THREADS}
     */
    public static void setNumThreads(int n) {
        if (n < 0 || n > MAX_THREADS) {
            throw new IllegalArgumentException("n: " + n + " threads, must be in 0.." + MAX_THREADS + " (0 = default)");
        }
        Native.ensureLoaded();
        Native.check(hyperattn_h.ha_set_num_threads(n), "ha_set_num_threads");
    }

    /**
     * The most bytes of released working buffers the library keeps for later calls (default
     * 1 GiB). Long calls (approximate attention, the packed keys of long prefills) map their
     * large buffers on huge pages and, when done, keep them for the next call instead of paying
     * for fresh pages again; kept buffers are marked free to the kernel, which takes them back
     * under memory pressure.
     */
    public static long bufferCacheLimit() {
        Native.ensureLoaded();
        return hyperattn_h.ha_get_buffer_cache_limit();
    }

    /**
     * Sets {@link #bufferCacheLimit()}; 0 keeps nothing, and a lower limit releases what is
     * above it at once.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     */
    public static void setBufferCacheLimit(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes: buffer cache limit " + bytes + ", must be >= 0");
        }
        Native.ensureLoaded();
        Native.check(hyperattn_h.ha_set_buffer_cache_limit(bytes), "ha_set_buffer_cache_limit");
    }

    /** The instruction-set path in use (never {@link CpuIsa#AUTO}). */
    public static CpuIsa cpuIsa() {
        Native.ensureLoaded();
        return CpuIsa.fromNative(hyperattn_h.ha_get_cpu_isa());
    }

    /**
     * Forces an instruction-set path for the whole process, mainly for testing; AUTO restores
     * the best one.
     *
     * @throws HyperattnException with status UNSUPPORTED if this CPU lacks {@code isa}
     */
    public static void setCpuIsa(CpuIsa isa) {
        java.util.Objects.requireNonNull(isa, "isa");
        Native.ensureLoaded();
        Native.check(hyperattn_h.ha_set_cpu_isa(isa.nativeCode()), "ha_set_cpu_isa(" + isa + ")");
    }

    /**
     * Whether this CPU can run {@code isa}: tries it, then forces the path that was in use before
     * (the same code AUTO had picked, if AUTO was in effect).
     */
    public static boolean isSupported(CpuIsa isa) {
        if (isa == CpuIsa.AUTO) {
            return true;
        }
        CpuIsa before = cpuIsa();
        Native.ensureLoaded();
        int status = hyperattn_h.ha_set_cpu_isa(isa.nativeCode());
        Native.check(hyperattn_h.ha_set_cpu_isa(before.nativeCode()), "ha_set_cpu_isa(" + before + ")");
        return status == hyperattn_h.HA_OK();
    }
}
