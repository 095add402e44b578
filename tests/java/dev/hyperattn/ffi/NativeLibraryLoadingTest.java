package dev.hyperattn.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The library loads once per process, so the override property and the failure message are
 * checked in child JVMs running the CLI on a tiny problem.
 */
class NativeLibraryLoadingTest {

    private record Run(int status, String output) {
    }

    private static Run cli(String... jvmArgs) throws IOException, InterruptedException, URISyntaxException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path classes = Path.of(NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", classes.toString(), "dev.hyperattn.cli.Main",
                "--n", "16", "--d", "8", "--heads", "2", "--kv-heads", "1", "--iters", "1", "--no-tradeoff"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void overridePropertyLoadsTheNamedFile() throws Exception {
        String lib = Path.of(NativeLibrary.class.getResource("/native/linux-x86_64/libhyperattn.so").toURI()).toString();
        Run r = cli("-D" + NativeLibrary.PATH_PROPERTY + "=" + lib);
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains("PASS"), r.output());
    }

    @Test
    void missingOverrideFileFailsWithAClearMessage() throws Exception {
        Run r = cli("-D" + NativeLibrary.PATH_PROPERTY + "=/nonexistent/libhyperattn.so");
        assertEquals(1, r.status(), r.output());
        assertTrue(r.output().contains("does not name a readable library file"), r.output());
        assertFalse(r.output().contains("\tat "), "no stack trace: " + r.output());
    }

    @Test
    void platformNameIsNormalised() {
        String p = NativeLibrary.platform();
        assertTrue(p.matches("[a-z0-9]+-[a-z0-9_]+"), p);
    }
}
