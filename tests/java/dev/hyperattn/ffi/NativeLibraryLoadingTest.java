package dev.hyperattn.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
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
        // The library and the CLI are separate jars (or class directories).
        String classpath = codeSource(NativeLibrary.class) + File.pathSeparator
                + codeSource(dev.hyperattn.cli.Main.class);
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", classpath, "dev.hyperattn.cli.Main",
                "--n", "16", "--d", "8", "--heads", "2", "--kv-heads", "1", "--iters", "1", "--no-tradeoff"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static Path codeSource(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void overridePropertyLoadsTheNamedFile() throws Exception {
        // A real file: the resource may be inside the library jar, so take the copy this JVM
        // loaded (the jar's resource, extracted).
        String lib = NativeLibrary.loadedFrom();
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
    void aFileThatIsNotALibraryFailsWithItsPathAndTheWayOut() throws Exception {
        Path notLib = java.nio.file.Files.createTempFile("hyperattn-test-", ".so");
        try {
            java.nio.file.Files.writeString(notLib, "not an ELF file");
            Run r = cli("-D" + NativeLibrary.PATH_PROPERTY + "=" + notLib);
            assertEquals(1, r.status(), r.output());
            assertTrue(r.output().contains("cannot load the native library " + notLib), r.output());
            assertTrue(r.output().contains("built for this system"), r.output());
        } finally {
            java.nio.file.Files.deleteIfExists(notLib);
        }
    }

    @Test
    void aMissingGlibcVersionNamesThePortableBuild() {
        // The dynamic loader's wording on an older distribution (glibc 2.31 running a library
        // linked on 2.36); such a system cannot be reproduced inside this JVM, the message can.
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("/tmp/hyperattn-1-libhyperattn.so: /lib/x86_64-linux-gnu/"
                + "libc.so.6: version `GLIBC_2.34' not found (required by /tmp/hyperattn-1-libhyperattn.so)");
        UnsatisfiedLinkError x = NativeLibrary.explainLoadFailure(e, Path.of("/tmp/hyperattn-1-libhyperattn.so"));
        assertTrue(x.getMessage().contains("GLIBC_2.34"), x.getMessage());
        assertTrue(x.getMessage().contains("-Pportable"), x.getMessage());
        assertTrue(x.getCause() == e);
    }

    @Test
    void platformNameIsNormalised() {
        String p = NativeLibrary.platform();
        assertTrue(p.matches("[a-z0-9]+-[a-z0-9_]+"), p);
    }
}
