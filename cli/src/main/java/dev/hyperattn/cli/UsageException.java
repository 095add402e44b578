package dev.hyperattn.cli;

/** A bad command line: reported as one message and exit status 2, never a stack trace. */
final class UsageException extends Exception {

    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
