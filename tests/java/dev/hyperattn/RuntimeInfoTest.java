package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.ffi.NativeLibrary;
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
}
