package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.ffi.NativeLibrary;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class RuntimeInfoTest {

    @Test
    void versionAndAbi() {
        assertFalse(Hyperattn.version().isBlank());
        assertEquals(Hyperattn.expectedAbiVersion(), Hyperattn.abiVersion());
    }

    @Test
    void libraryComesFromTheClasspathResource() {
        // Tests must exercise the path users get: the jar's resource extracted to a temp file.
        if (System.getProperty(NativeLibrary.PATH_PROPERTY) == null) {
            String path = Hyperattn.libraryPath();
            assertTrue(path.contains("hyperattn-") && path.endsWith("libhyperattn.so"), path);
            assertTrue(NativeLibrary.class.getResource("/native/linux-x86_64/libhyperattn.so") != null);
        }
    }

    @Test
    void jarCarriesTheAarch64LibraryWhenTheCrossCompilerIsInstalled() throws IOException {
        // scripts/aarch64/build.sh builds it whenever aarch64-linux-gnu-g++ is on PATH; the
        // loader picks it by os.arch on aarch64 JVMs, which cannot run here, so check what it
        // would load: an ELF shared object for machine EM_AARCH64 (183).
        // HA_AARCH64=0 tells the build to skip it.
        boolean cross = !"0".equals(System.getenv("HA_AARCH64"));
        boolean found = false;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            found |= new File(dir, "aarch64-linux-gnu-g++").canExecute();
        }
        cross &= found;
        try (InputStream in = NativeLibrary.class.getResourceAsStream("/native/linux-aarch64/libhyperattn.so")) {
            if (!cross && in == null) {
                return;  // built without the cross compiler: the jar lacks it, as the build said
            }
            assertTrue(in != null, "aarch64-linux-gnu-g++ is installed but the jar has no linux-aarch64 library");
            byte[] h = in.readNBytes(20);
            assertEquals(20, h.length);
            assertTrue(h[0] == 0x7f && h[1] == 'E' && h[2] == 'L' && h[3] == 'F', "not an ELF file");
            assertEquals(2, h[4], "not a 64-bit ELF");
            assertEquals(3, h[16], "not a shared object (e_type)");
            assertEquals(183, (h[18] & 0xff) | (h[19] & 0xff) << 8, "e_machine is not EM_AARCH64");
        }
    }

    @Test
    void threadCountRoundTrips() {
        try {
            Hyperattn.setNumThreads(1);
            assertEquals(1, Hyperattn.numThreads());
            Hyperattn.setNumThreads(0);
            assertTrue(Hyperattn.numThreads() >= 1);
        } finally {
            Hyperattn.setNumThreads(0);
        }
    }

    @Test
    void bufferCacheLimitRoundTripsAndRejectsNegatives() {
        long before = Hyperattn.bufferCacheLimit();
        assertEquals(1L << 30, before);
        try {
            Hyperattn.setBufferCacheLimit(0);
            assertEquals(0, Hyperattn.bufferCacheLimit());
            Hyperattn.setBufferCacheLimit(3L << 20);
            assertEquals(3L << 20, Hyperattn.bufferCacheLimit());
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> Hyperattn.setBufferCacheLimit(-1));
            assertTrue(e.getMessage().startsWith("bytes:"), e.getMessage());
        } finally {
            Hyperattn.setBufferCacheLimit(before);
        }
    }
}
