package dev.hyperattn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.Hyperattn;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library as a module: the tests run on the class path (where module-info is ignored), so
 * this checks the descriptor of the jar (or class directory) they use, and runs a small program
 * against it on the module path in a child JVM.
 */
class ModuleTest {

    /** The library jar under `mvn verify`, its class directory under `mvn test`. */
    private static Path libraryLocation() throws Exception {
        return Path.of(Hyperattn.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void exportsTheApiOnly() throws Exception {
        Set<ModuleReference> found = ModuleFinder.of(libraryLocation()).findAll();
        assertEquals(1, found.size(), found.toString());
        ModuleDescriptor d = found.iterator().next().descriptor();
        assertEquals("dev.hyperattn", d.name());
        assertFalse(d.isAutomatic() || d.isOpen(), d.toString());
        assertEquals(Set.of("dev.hyperattn"),
                d.exports().stream().map(e -> {
                    assertFalse(e.isQualified(), e.toString());
                    return e.source();
                }).collect(Collectors.toSet()));
        assertTrue(d.opens().isEmpty(), d.opens().toString());
        assertEquals(Set.of("dev.hyperattn", "dev.hyperattn.ffi"), d.packages());
        assertEquals(Set.of("java.base"),
                d.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet()));
    }

    private static final String PROGRAM = """
            import dev.hyperattn.*;
            import java.lang.foreign.Arena;

            public class ModuleSmoke {
                public static void main(String[] args) throws Exception {
                    Module m = Attention.class.getModule();
                    if (!m.isNamed() || !m.getName().equals("dev.hyperattn") || m.isExported("dev.hyperattn.ffi")) {
                        throw new AssertionError(m + " exports " + m.getDescriptor().exports());
                    }
                    try (Arena arena = Arena.ofConfined()) {
                        Tensor q = Tensor.allocate(arena, DType.F32, 1, 2, 4, 8);
                        Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 4, 8);
                        Tensor v = Tensor.allocate(arena, DType.F32, 1, 1, 4, 8);
                        Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 4, 8);
                        q.fill(0.5f);
                        k.fill(0.25f);
                        v.fill(3f);
                        Attention.exact().causal(true).run(q, k, v, out);
                        for (float x : out.toFloatArray()) {
                            if (x != 3f) throw new AssertionError("output " + x);
                        }
                    }
                    try {
                        Class.forName("dev.hyperattn.ffi.hyperattn_h").getMethod("ha_abi_version").invoke(null);
                        throw new AssertionError("the bindings are reachable from outside the module");
                    } catch (IllegalAccessException expected) {
                        System.out.println("bindings not exported: " + expected.getMessage());
                    }
                    System.out.println("module-path call OK, library " + Hyperattn.version());
                }
            }
            """;

    @Test
    void runsOnTheModulePath(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("ModuleSmoke.java");
        Files.writeString(source, PROGRAM);
        String java = ProcessHandle.current().info().command().orElse("java");
        // Native access granted to the module by name: a restricted call from anywhere else
        // would print a warning, which the output check below would catch.
        List<String> cmd = List.of(java, "--module-path", libraryLocation().toString(),
                "--add-modules", "dev.hyperattn", "--enable-native-access=dev.hyperattn",
                source.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("module-path call OK"), out);
        assertFalse(out.contains("WARNING"), out);
    }
}
