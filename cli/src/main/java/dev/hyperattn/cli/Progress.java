package dev.hyperattn.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, redrawn in place with {@code \r}: overall steps done of
 * the whole trade-off run, the current step's label and, within long steps, its own fraction.
 * At most a few redraws per second; thread-safe (the reference rows report from worker threads).
 * When stderr is not a terminal (a log file, CI), it prints one plain line per step instead.
 */
final class Progress {

    private static final int WIDTH = 30;
    private static final long MIN_REDRAW_NANOS = 150_000_000L;

    private final PrintStream err;
    private final int totalSteps;
    private final long startNanos = System.nanoTime();
    private int step;
    private String label = "";
    private double within;
    private long lastDraw;
    private int lastLength;
    private String lastPlain = "";

    private final boolean redraw;

    Progress(PrintStream err, int totalSteps) {
        this(err, totalSteps, err != System.err || isTerminal());
    }

    Progress(PrintStream err, int totalSteps, boolean redraw) {
        this.err = err;
        this.totalSteps = Math.max(1, totalSteps);
        this.redraw = redraw;
    }

    /** Whether the process's stderr is an interactive terminal (Console.isTerminal is JDK 22+). */
    private static boolean isTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** Starts step {@code label} (the previous one counts as done). */
    synchronized void begin(String label) {
        this.label = label;
        this.within = 0;
        draw(true);
    }

    /** The fraction of the current step done, 0..1. */
    synchronized void within(double fraction) {
        this.within = Math.max(0, Math.min(1, fraction));
        draw(false);
    }

    /** Marks the current step done. */
    synchronized void done() {
        step = Math.min(totalSteps, step + 1);
        within = 0;
        draw(true);
    }

    /** Clears the line (call before printing results to the same terminal). */
    synchronized void clear() {
        if (lastLength > 0) {
            err.print("\r" + " ".repeat(lastLength) + "\r");
            err.flush();
            lastLength = 0;
        }
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!redraw) {
            if (force && within == 0 && !label.equals(lastPlain)) {
                err.printf(Locale.ROOT, "[%3.0f%%] %6.1fs  %s%n", 100.0 * step / totalSteps, (now - startNanos) / 1e9,
                        label);
                lastPlain = label;
            }
            return;
        }
        if (!force && now - lastDraw < MIN_REDRAW_NANOS) {
            return;
        }
        lastDraw = now;
        double fraction = (step + within) / totalSteps;
        int filled = (int) Math.round(fraction * WIDTH);
        String line = String.format(Locale.ROOT, "[%s%s] %3.0f%% %5.1fs  %s", "#".repeat(filled),
                ".".repeat(WIDTH - filled), 100 * fraction, (now - startNanos) / 1e9, label);
        String pad = line.length() < lastLength ? " ".repeat(lastLength - line.length()) : "";
        err.print("\r" + line + pad);
        err.flush();
        lastLength = line.length();
    }
}
