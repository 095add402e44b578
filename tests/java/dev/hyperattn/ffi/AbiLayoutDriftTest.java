package dev.hyperattn.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.hyperattn.CpuIsa;
import dev.hyperattn.DType;
import dev.hyperattn.Device;
import dev.hyperattn.HyperattnException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The bindings are hand-written, so nothing but this test keeps them equal to the C header and
 * the compiled library. It fails on drift in either direction: a struct field or function the
 * header has and the bindings lack, or the other way round, or a size/offset that differs
 * from what the compiler laid out (asked through ha_abi_layout).
 */
class AbiLayoutDriftTest {

    private static final Map<String, GroupLayout> STRUCTS = Map.of(
            "ha_tensor", ha_tensor.layout(),
            "ha_exact_params", ha_exact_params.layout());

    private static String header() throws IOException {
        String path = System.getProperty("hyperattn.header", "cpp/include/hyperattn.h");
        String text = Files.readString(Path.of(path));
        // Comments hold prose like "sizeof(struct)" that the patterns below must not see.
        return text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    private static long abiLayout(Arena arena, String struct, String field) {
        MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment f = field == null ? MemorySegment.NULL : arena.allocateFrom(field);
        int status = hyperattn_h.ha_abi_layout(arena.allocateFrom(struct), f, out);
        assertEquals(hyperattn_h.HA_OK(), status, "ha_abi_layout(" + struct + ", " + field + ")");
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    @Test
    void structLayoutsMatchTheCompiledLibrary() {
        try (Arena arena = Arena.ofConfined()) {
            for (var e : STRUCTS.entrySet()) {
                String name = e.getKey();
                GroupLayout layout = e.getValue();
                assertEquals(layout.byteSize(), abiLayout(arena, name, null), name + " sizeof");
                assertEquals(layout.byteSize(), abiLayout(arena, name, ""), name + " sizeof (\"\")");
                assertEquals(layout.byteAlignment(), abiLayout(arena, name, "#align"), name + " alignof");
                for (MemoryLayout m : layout.memberLayouts()) {
                    if (m.name().isEmpty()) {
                        continue; // padding
                    }
                    String field = m.name().get();
                    long offset = layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
                    assertEquals(offset, abiLayout(arena, name, field), name + "." + field + " offset");
                }
            }
        }
    }

    /** Accessors write where the layout says (jextract 22's array accessors did not). */
    @Test
    void fieldAccessorsWriteAtTheirOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = ha_tensor.allocate(arena);
            for (int i = 0; i < 4; i++) {
                ha_tensor.shape(t, i, 100 + i);
                ha_tensor.strides(t, i, 200 + i);
            }
            ha_tensor.dtype(t, 7);
            ha_tensor.reserved(t, 9);
            for (int i = 0; i < 4; i++) {
                assertEquals(100 + i, t.get(ValueLayout.JAVA_LONG, ha_tensor.shape$offset() + 8L * i));
                assertEquals(200 + i, t.get(ValueLayout.JAVA_LONG, ha_tensor.strides$offset() + 8L * i));
                assertEquals(100 + i, ha_tensor.shape(t, i));
                assertEquals(200 + i, ha_tensor.strides(t, i));
            }
            assertEquals(7, t.get(ValueLayout.JAVA_INT, ha_tensor.dtype$offset()));
            assertEquals(9, t.get(ValueLayout.JAVA_INT, ha_tensor.reserved$offset()));
            assertEquals(MemorySegment.NULL, ha_tensor.data(t));

            MemorySegment p = ha_exact_params.allocate(arena);
            ha_exact_params.scale(p, 0.5f);
            ha_exact_params.causal(p, 1);
            assertEquals(0.5f, p.get(ValueLayout.JAVA_FLOAT, ha_exact_params.scale$offset()));
            assertEquals(1, p.get(ValueLayout.JAVA_INT, ha_exact_params.causal$offset()));
        }
    }

    @Test
    void structFieldsMatchTheHeader() throws IOException {
        String h = header();
        Pattern struct = Pattern.compile("typedef\\s+struct\\s+(\\w+)\\s*\\{(.*?)\\}\\s*(\\w+)\\s*;", Pattern.DOTALL);
        Matcher m = struct.matcher(h);
        Set<String> seen = new TreeSet<>();
        while (m.find()) {
            String name = m.group(1);
            seen.add(name);
            GroupLayout layout = STRUCTS.get(name);
            assertTrue(layout != null, "struct " + name + " in the header has no binding class");
            List<String> cFields = new ArrayList<>();
            for (String decl : m.group(2).split(";")) {
                Matcher f = Pattern.compile("(\\w+)\\s*(\\[\\s*\\d+\\s*\\])?\\s*$").matcher(decl.trim());
                if (!decl.isBlank() && f.find()) {
                    cFields.add(f.group(1));
                }
            }
            List<String> javaFields = new ArrayList<>();
            for (MemoryLayout member : layout.memberLayouts()) {
                member.name().ifPresent(javaFields::add);
            }
            assertEquals(cFields, javaFields, "fields of " + name);
        }
        assertEquals(new TreeSet<>(STRUCTS.keySet()), seen, "structs in the header vs bound");
    }

    /** Every HA_API function in the header: bound, resolvable, and with the parameter count. */
    @Test
    void functionsMatchTheHeaderAndTheLibrary() throws Exception {
        String h = header();
        Matcher m = Pattern.compile("(?m)^\\s*HA_API\\s+[^;(]*?(\\w+)\\s*\\(([^)]*)\\)").matcher(h);
        Map<String, Integer> cFunctions = new LinkedHashMap<>();
        while (m.find()) {
            String params = m.group(2).trim();
            int count = params.isEmpty() || params.equals("void") ? 0 : params.split(",").length;
            cFunctions.put(m.group(1), count);
        }
        assertTrue(cFunctions.size() >= 10, "header parse found only " + cFunctions.keySet());

        Set<String> bound = new TreeSet<>();
        for (Method method : hyperattn_h.class.getDeclaredMethods()) {
            if (Modifier.isPublic(method.getModifiers()) && method.getName().endsWith("$handle")) {
                bound.add(method.getName().substring(0, method.getName().length() - "$handle".length()));
            }
        }
        assertEquals(new TreeSet<>(cFunctions.keySet()), bound, "functions in the header vs bound in hyperattn_h");

        for (var e : cFunctions.entrySet()) {
            String name = e.getKey();
            assertTrue(NativeLibrary.lookup().find(name).isPresent(), name + " is not exported by the library");
            FunctionDescriptor desc = (FunctionDescriptor) hyperattn_h.class.getMethod(name + "$descriptor").invoke(null);
            assertEquals(e.getValue().intValue(), desc.argumentLayouts().size(), name + " parameter count");
            MemorySegment address = (MemorySegment) hyperattn_h.class.getMethod(name + "$address").invoke(null);
            assertFalse(address.equals(MemorySegment.NULL), name);
        }
    }

    /** Enum constants and #defines named HA_*: same set, same values. */
    @Test
    void constantsMatchTheHeader() throws Exception {
        String h = header();
        Map<String, Integer> cConstants = new LinkedHashMap<>();
        Matcher enumBody = Pattern.compile("enum\\s*\\{(.*?)\\}", Pattern.DOTALL).matcher(h);
        while (enumBody.find()) {
            Matcher c = Pattern.compile("(HA_\\w+)\\s*=\\s*(-?\\d+)").matcher(enumBody.group(1));
            while (c.find()) {
                cConstants.put(c.group(1), Integer.parseInt(c.group(2)));
            }
        }
        Matcher def = Pattern.compile("#define\\s+(HA_\\w+)\\s+(-?\\d+)\\s*$", Pattern.MULTILINE).matcher(h);
        while (def.find()) {
            cConstants.put(def.group(1), Integer.parseInt(def.group(2)));
        }
        assertTrue(cConstants.containsKey("HA_OK") && cConstants.containsKey("HA_ABI_VERSION"), cConstants.toString());

        Set<String> bound = new TreeSet<>();
        for (Method method : hyperattn_h.class.getDeclaredMethods()) {
            if (Modifier.isPublic(method.getModifiers()) && method.getName().startsWith("HA_")
                    && method.getParameterCount() == 0) {
                bound.add(method.getName());
            }
        }
        assertEquals(new TreeSet<>(cConstants.keySet()), bound, "constants in the header vs bound");
        for (var e : cConstants.entrySet()) {
            assertEquals(e.getValue(), hyperattn_h.class.getMethod(e.getKey()).invoke(null), e.getKey());
        }
    }

    /** The Java enums carry native codes as literals (so they load without the library). */
    @Test
    void javaEnumsUseTheHeaderCodes() {
        assertEquals(hyperattn_h.HA_DTYPE_F32(), DType.F32.nativeCode());
        assertEquals(hyperattn_h.HA_DTYPE_BF16(), DType.BF16.nativeCode());
        assertEquals(hyperattn_h.HA_DEVICE_CPU(), Device.Kind.CPU.nativeCode());
        assertEquals(hyperattn_h.HA_DEVICE_CUDA(), Device.Kind.CUDA.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_AUTO(), CpuIsa.AUTO.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_GENERIC(), CpuIsa.GENERIC.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_AVX2(), CpuIsa.AVX2.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_AVX512(), CpuIsa.AVX512.nativeCode());
        Map<HyperattnException.Status, Integer> codes = Map.of(
                HyperattnException.Status.INVALID_ARGUMENT, hyperattn_h.HA_ERR_INVALID_ARGUMENT(),
                HyperattnException.Status.UNSUPPORTED, hyperattn_h.HA_ERR_UNSUPPORTED(),
                HyperattnException.Status.OUT_OF_MEMORY, hyperattn_h.HA_ERR_OUT_OF_MEMORY(),
                HyperattnException.Status.NO_DEVICE, hyperattn_h.HA_ERR_NO_DEVICE(),
                HyperattnException.Status.DEVICE, hyperattn_h.HA_ERR_DEVICE(),
                HyperattnException.Status.INTERNAL, hyperattn_h.HA_ERR_INTERNAL());
        codes.forEach((status, code) -> assertEquals(code.intValue(), status.code(), status.name()));
        if (HyperattnException.Status.values().length != codes.size() + 1) {
            fail("HyperattnException.Status has codes the test does not know");
        }
    }
}
