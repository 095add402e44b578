package dev.hyperattn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import dev.hyperattn.CpuIsa;
import dev.hyperattn.Hyperattn;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MainTest {

    // The CLI changes process-wide settings; later tests expect the defaults.
    @AfterEach
    void restoreDefaults() {
        Hyperattn.setNumThreads(0);
        Hyperattn.setCpuIsa(CpuIsa.AUTO);
    }

    private record Result(int status, String out, String err) {
    }

    /**
     * Runs the CLI. Part 2 (the trade-off over long inputs) is skipped unless a test asks for a
     * trade-off option, so the exact-part tests stay fast.
     */
    private static Result run(String... args) {
        boolean tradeoff = java.util.Arrays.stream(args).anyMatch(a -> a.startsWith("--tradeoff")
                || a.startsWith("--families") || a.startsWith("--chart") || a.startsWith("--target")
                || a.startsWith("--eval-rows"));
        return runExactly(tradeoff ? args : append(args, "--no-tradeoff"));
    }

    private static String[] append(String[] args, String extra) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = extra;
        return all;
    }

    private static Result runExactly(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void smallRunPasses() {
        Result r = run("--n", "96", "--nk=130", "--d", "64", "--heads", "4", "--kv-heads", "2", "--iters", "2");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
        assertTrue(r.out().contains("GFLOP/s"), r.out());
        assertTrue(r.out().contains("ISA path"), r.out());
    }

    @Test
    void f16StridedCausalPasses() {
        Result r = run("--n", "40", "--nk", "70", "--d", "64", "--heads", "4", "--kv-heads", "2", "--dtype", "f16",
                "--layout", "bshd", "--iters", "1", "--threads", "1");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
    }

    @Test
    void bf16StridedNonCausalPasses() {
        Result r = run("--n", "40", "--d", "80", "--heads", "4", "--kv-heads", "1", "--dtype", "bf16",
                "--layout", "bshd", "--no-causal", "--iters", "1", "--threads", "1", "--batch", "2");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
    }

    /**
     * The HyperAttention and HSR rows sit beside exact: numbers where the library implements
     * them, "n/a" with the library's reason where it answers UNSUPPORTED.
     */
    @Test
    void hyperAndHsrColumns() {
        Result r = run("--n", "300", "--d", "64", "--heads", "4", "--kv-heads", "2", "--iters", "1",
                "--hyper-min-seq-len", "64", "--hyper-block", "32", "--hyper-samples", "16", "--data", "structured",
                "--seed", "7");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
        String hyper = line(r.out(), "hyper r=7 b=32 m=16 min=64");
        assertTrue(hyper.contains("rel. error") || hyper.contains("n/a"), hyper);
        String relu = line(r.out(), "hsr relu^1 bias=");
        assertTrue(relu.contains("keys touched") || relu.contains("n/a"), relu);
        String soft = line(r.out(), "hsr softmax eps=1e-03");
        assertTrue(soft.contains("bound holds on all 1200 rows") || soft.contains("n/a"), soft);
    }

    @Test
    void hyperAndHsrCanBeSkipped() {
        Result r = run("--n", "40", "--d", "16", "--heads", "2", "--kv-heads", "1", "--iters", "1", "--no-hyper",
                "--no-hsr", "--dtype", "bf16", "--no-causal");
        assertEquals(0, r.status(), r.out() + r.err());
        assertFalse(r.out().contains("hyper r="), r.out());
        assertFalse(r.out().contains("hsr "), r.out());
        Result relu2 = run("--n", "50", "--nk", "90", "--d", "32", "--heads", "2", "--kv-heads", "2", "--iters", "1",
                "--no-hyper", "--hsr-alpha", "2", "--hsr-bias", "0.1", "--hsr-eps", "0.01", "--layout", "bshd");
        assertEquals(0, relu2.status(), relu2.out() + relu2.err());
        assertTrue(relu2.out().contains("hsr relu^2 bias=0.100"), relu2.out());
        assertTrue(relu2.out().contains("hsr softmax eps=1e-02"), relu2.out());
        Result noCopy = run("--n", "50", "--nk", "300", "--d", "32", "--heads", "2", "--kv-heads", "1", "--iters",
                "1", "--no-hyper", "--hsr-no-key-copy", "--seed", "3");
        assertEquals(0, noCopy.status(), noCopy.out() + noCopy.err());
        String build = line(noCopy.out(), "hsr key index build");
        assertTrue(build.contains("keys read in place") || build.contains("n/a"), build);
        assertTrue(noCopy.out().contains("PASS"), noCopy.out());
    }

    private static String line(String text, String start) {
        for (String l : text.split("\\R")) {
            if (l.startsWith(start)) {
                return l;
            }
        }
        throw new AssertionError("no line starting with '" + start + "' in:\n" + text);
    }

    @Test
    void flopCountUsesUnmaskedPairs() {
        assertEquals(10, Main.visiblePairs(4, 4, true));
        assertEquals(8, Main.visiblePairs(1, 8, true), "a decode row sees every key");
        assertEquals(10, Main.visiblePairs(8, 4, true), "the first Nq-Nk rows see nothing");
        assertEquals(15, Main.visiblePairs(3, 5, false));
    }

    @Test
    void helpExitsZero() {
        Result r = run("--help");
        assertEquals(0, r.status());
        assertTrue(r.out().contains("--kv-heads"));
    }

    @Test
    void badOptionsExitTwoWithoutStackTrace() {
        String[][] bad = {
            {"--n", "abc"}, {"--n"}, {"--frobnicate"}, {"--dtype", "f64"}, {"--heads", "30", "--kv-heads", "8"},
            {"--d", "0"}, {"--d", "300"}, {"--layout", "sbhd"}, {"--isa", "neon"}, {"--threads", "-3"},
            {"--causal=yes"}, {"--iters", "0"}, {"--data", "gaussian"}, {"--hyper-projections", "0"},
            {"--hyper-projections", "17"}, {"--hyper-block", "0"}, {"--hyper-samples", "-1"},
            {"--hyper-min-seq-len", "x"}, {"--hsr-alpha", "0"}, {"--hsr-eps", "0"}, {"--hsr-eps", "1"},
            {"--hsr-eps", "nan"}, {"--hsr-bias", "NaN"}, {"--hsr-bias", "Infinity"}, {"--no-hyper=1"},
            {"--hsr-no-key-copy=1"},
        };
        for (String[] args : bad) {
            Result r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertFalse(r.err().isBlank(), String.join(" ", args));
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
    }
}
