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

    private static Result run(String... args) {
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
    void bf16StridedNonCausalPasses() {
        Result r = run("--n", "40", "--d", "80", "--heads", "4", "--kv-heads", "1", "--dtype", "bf16",
                "--layout", "bshd", "--no-causal", "--iters", "1", "--threads", "1", "--batch", "2");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("PASS"), r.out());
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
            {"--causal=yes"}, {"--iters", "0"},
        };
        for (String[] args : bad) {
            Result r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertFalse(r.err().isBlank(), String.join(" ", args));
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
    }
}
