package dev.hyperattn;

import dev.hyperattn.ffi.NativeLibrary;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.MemorySegment;

/**
 * The gate every API call passes before touching the bindings: loads the library once, refuses
 * a library whose ABI version differs from the bindings', and turns native statuses into
 * exceptions.
 */
final class Native {

    private Native() {
    }

    // Remembered rather than thrown from a static initializer, so every later call gets the same
    // clear message instead of a bare NoClassDefFoundError.
    private static final Throwable LOAD_FAILURE = load();

    private static Throwable load() {
        try {
            NativeLibrary.lookup();
            int expected = hyperattn_h.HA_ABI_VERSION();
            int actual = hyperattn_h.ha_abi_version();
            if (actual != expected) {
                return new UnsatisfiedLinkError("hyperattn: the native library at "
                        + NativeLibrary.loadedFrom() + " has ABI version " + actual
                        + " but these Java bindings expect " + expected
                        + "; use the library built with this jar");
            }
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    static void ensureLoaded() {
        if (LOAD_FAILURE != null) {
            UnsatisfiedLinkError e = new UnsatisfiedLinkError(String.valueOf(LOAD_FAILURE.getMessage()));
            e.initCause(LOAD_FAILURE);
            throw e;
        }
    }

    /**
     * Throws for a failed status. Must run on the calling thread right after the call: the
     * native message is thread-local and overwritten by the next call. An argument the library
     * rejects (HA_ERR_INVALID_ARGUMENT: what only the data shows, such as a non-finite key at
     * index build) is an {@link IllegalArgumentException} like every other argument error,
     * with the {@link HyperattnException} (status and native message) as its cause.
     */
    static void check(int status, String function) {
        if (status != hyperattn_h.HA_OK()) {
            HyperattnException e = new HyperattnException(status, function, lastError());
            if (status == hyperattn_h.HA_ERR_INVALID_ARGUMENT()) {
                throw new IllegalArgumentException(e.nativeMessage().isEmpty() ? e.getMessage() : e.nativeMessage(), e);
            }
            throw e;
        }
    }

    static String lastError() {
        MemorySegment msg = hyperattn_h.ha_last_error();
        return msg.equals(MemorySegment.NULL) ? "" : msg.getString(0);
    }
}
