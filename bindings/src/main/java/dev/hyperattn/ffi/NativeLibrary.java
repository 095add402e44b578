package dev.hyperattn.ffi;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads libhyperattn once per process and provides the {@link SymbolLookup} the bindings bind
 * against.
 *
 * <p>The library normally travels inside the jar at {@code /native/<platform>/}; it is copied to
 * a temporary file (deleted on exit) because the dynamic loader can only open real files. The
 * system property {@value #PATH_PROPERTY} names a library file to load instead, for development
 * builds and for platforms the jar does not carry.
 */
public final class NativeLibrary {

    /** System property naming a libhyperattn file to load instead of the jar's copy. */
    public static final String PATH_PROPERTY = "hyperattn.library.path";

    private static final String LIB_NAME = "hyperattn";

    private NativeLibrary() {
    }

    // Holder idiom: the load happens on first use, exactly once, and a failure is remembered
    // (re-thrown with the same message) instead of leaving a half-initialised class behind.
    private static final class Holder {
        static final Throwable FAILURE;
        static final SymbolLookup LOOKUP;
        static final String LOADED_FROM;

        static {
            Throwable failure = null;
            SymbolLookup lookup = null;
            String from = null;
            try {
                Path path = locate();
                try {
                    System.load(path.toAbsolutePath().toString());
                } catch (UnsatisfiedLinkError e) {
                    throw explainLoadFailure(e, path);
                }
                from = path.toString();
                // System.load binds the library to this class loader, which is also the one
                // the generated bindings live in.
                lookup = SymbolLookup.loaderLookup();
            } catch (Throwable t) {
                failure = t;
            }
            FAILURE = failure;
            LOOKUP = lookup;
            LOADED_FROM = from;
        }
    }

    /**
     * The lookup that resolves the library's symbols, loading the library on first call.
     *
     * @throws UnsatisfiedLinkError if the library cannot be found or loaded
     */
    public static SymbolLookup lookup() {
        if (Holder.FAILURE != null) {
            UnsatisfiedLinkError e = new UnsatisfiedLinkError(Holder.FAILURE.getMessage());
            e.initCause(Holder.FAILURE);
            throw e;
        }
        return Holder.LOOKUP;
    }

    /** Where the library was loaded from (a temporary file when it came from the jar). */
    public static String loadedFrom() {
        lookup();
        return Holder.LOADED_FROM;
    }

    // The usual reason a library that exists does not load on an older distribution is a glibc
    // symbol version the system lacks (a developer build links the build machine's glibc); the
    // loader's own message names the symbol but not the way out.
    static UnsatisfiedLinkError explainLoadFailure(UnsatisfiedLinkError e, Path path) {
        String msg = String.valueOf(e.getMessage());
        String hint = msg.contains("GLIBC_") || msg.contains("GLIBCXX_")
                ? " This library was built against a newer C library than this system has. Use a jar"
                        + " built with the portable profile (`mvn -Pportable verify`: glibc 2.31 or older,"
                        + " libstdc++ linked in), or build on this system, or set -D" + PATH_PROPERTY
                        + " to a library built for it."
                : " Set -D" + PATH_PROPERTY + " to a library built for this system.";
        UnsatisfiedLinkError out = new UnsatisfiedLinkError("hyperattn: cannot load the native library "
                + path + ": " + msg + "." + hint);
        out.initCause(e);
        return out;
    }

    /** The resource directory name for this JVM's platform, e.g. {@code linux-x86_64}. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux"
                : os.startsWith("mac") || os.startsWith("darwin") ? "macos"
                : os.startsWith("windows") ? "windows" : os.replaceAll("\\W", "");
        String a = switch (arch) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch.replaceAll("\\W", "");
        };
        return o + "-" + a;
    }

    private static Path locate() throws IOException {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            if (!Files.isRegularFile(p)) {
                throw new UnsatisfiedLinkError("hyperattn: -D" + PATH_PROPERTY + "=" + override
                        + " does not name a readable library file");
            }
            return p;
        }
        String platform = platform();
        String resource = "/native/" + platform + "/" + System.mapLibraryName(LIB_NAME);
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                // linux-aarch64 is cross-compiled only where aarch64-linux-gnu-g++ is
                // installed, so a jar built elsewhere may lack it.
                String why = platform.equals("linux-x86_64")
                        ? "the classpath has no " + resource
                                + " (was the native part built? `mvn verify` runs CMake)"
                        : platform.equals("linux-aarch64")
                        ? "this jar has no " + resource + " (it was built without the aarch64 "
                                + "cross compiler, aarch64-linux-gnu-g++)"
                        : "platform '" + platform + "' is not supported (the jar carries at "
                                + "most linux-x86_64 and linux-aarch64; looked for " + resource + ")";
                throw new UnsatisfiedLinkError("hyperattn: cannot load the native library: "
                        + why + ". Set -D" + PATH_PROPERTY + "=/path/to/"
                        + System.mapLibraryName(LIB_NAME) + " to use a library built elsewhere.");
            }
            Path tmp = Files.createTempFile("hyperattn-", "-" + System.mapLibraryName(LIB_NAME));
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        }
    }
}
