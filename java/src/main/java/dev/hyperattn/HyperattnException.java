package dev.hyperattn;

/**
 * A failure reported by the native library (a status other than {@code HA_OK}), with the
 * library's own message. Argument errors that Java can see are reported before the call as
 * {@link IllegalArgumentException} instead, and so are the arguments only the library can judge
 * (status INVALID_ARGUMENT: an IllegalArgumentException whose cause is this exception); this is
 * what remains (unsupported requests, out of memory, device errors, internal errors).
 */
public class HyperattnException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Native status codes, mirroring {@code HA_ERR_*}. */
    public enum Status {
        INVALID_ARGUMENT(1),
        UNSUPPORTED(2),
        OUT_OF_MEMORY(3),
        NO_DEVICE(4),
        DEVICE(5),
        INTERNAL(6),
        /** A code this version of the bindings does not know; see {@link #code()}. */
        UNKNOWN(-1);

        private final int code;

        Status(int code) {
            this.code = code;
        }

        /** The native {@code HA_ERR_*} value (-1 for UNKNOWN). */
        public int code() {
            return code;
        }

        static Status of(int code) {
            for (Status s : values()) {
                if (s.code == code) {
                    return s;
                }
            }
            return UNKNOWN;
        }
    }

    private final Status status;
    private final int code;
    private final String nativeMessage;

    public HyperattnException(int code, String function, String nativeMessage) {
        super(function + " failed with " + Status.of(code) + " (" + code + "): "
                + (nativeMessage == null || nativeMessage.isEmpty() ? "(no message)" : nativeMessage));
        this.status = Status.of(code);
        this.code = code;
        this.nativeMessage = nativeMessage == null ? "" : nativeMessage;
    }

    public Status status() {
        return status;
    }

    /** The raw native status, meaningful even when {@link #status()} is UNKNOWN. */
    public int code() {
        return code;
    }

    /** The message the library set for the failing call ({@code ha_last_error()}). */
    public String nativeMessage() {
        return nativeMessage;
    }
}
