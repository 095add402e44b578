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
import java.lang.foreign.SequenceLayout;
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

    // Map.ofEntries: Map.of stops at 10 pairs.
    private static final Map<String, GroupLayout> STRUCTS = Map.ofEntries(
            Map.entry("ha_tensor", ha_tensor.layout()),
            Map.entry("ha_exact_params", ha_exact_params.layout()),
            Map.entry("ha_seqs", ha_seqs.layout()),
            Map.entry("ha_hyper_params", ha_hyper_params.layout()),
            Map.entry("ha_hsr_params", ha_hsr_params.layout()),
            Map.entry("ha_hsr_stats", ha_hsr_stats.layout()),
            Map.entry("ha_index_params", ha_index_params.layout()),
            Map.entry("ha_key_index_info", ha_key_index_info.layout()),
            Map.entry("ha_device_props", ha_device_props.layout()),
            Map.entry("ha_hyper_stats", ha_hyper_stats.layout()),
            Map.entry("ha_approx_params", ha_approx_params.layout()),
            Map.entry("ha_approx_stats", ha_approx_stats.layout()));

    /** One declared C field or parameter: its type (without const) and array extent (0: none). */
    private record CDecl(String type, String name, long extent) {
    }

    /**
     * The Java carrier a C type must have in the bindings, so a field or parameter whose type
     * changes (int32_t to int64_t, a value to a pointer) is drift even when the count is equal.
     */
    private static Class<?> carrier(String cType) {
        String t = cType.replace("const", " ").trim();
        if (t.contains("*")) {
            return MemorySegment.class;
        }
        return switch (t) {
            case "int32_t" -> int.class;
            case "int64_t", "uint64_t" -> long.class;
            case "float" -> float.class;
            case "double" -> double.class;
            case "char" -> byte.class;
            default -> throw new AssertionError("the drift test does not know C type '" + t + "'");
        };
    }

    private static Class<?> carrier(MemoryLayout layout) {
        if (layout instanceof java.lang.foreign.AddressLayout) {
            return MemorySegment.class;
        }
        return ((ValueLayout) layout).carrier();
    }

    /** Splits "int64_t a, b[4]" or "float* p" into declarations. */
    private static List<CDecl> declarations(String decl) {
        List<CDecl> out = new ArrayList<>();
        String[] parts = decl.trim().split(",");
        Matcher first = Pattern.compile("^(.*?)(\\w+)\\s*(?:\\[\\s*(\\d+)\\s*\\])?\\s*$", Pattern.DOTALL)
                .matcher(parts[0].trim());
        if (!first.find()) {
            return out;
        }
        String baseType = first.group(1).replace("*", "").trim();
        out.add(new CDecl(first.group(1).trim(), first.group(2), first.group(3) == null ? 0 : Long.parseLong(first.group(3))));
        for (int i = 1; i < parts.length; i++) {
            Matcher m = Pattern.compile("^(\\**)\\s*(\\w+)\\s*(?:\\[\\s*(\\d+)\\s*\\])?\\s*$").matcher(parts[i].trim());
            assertTrue(m.find(), "cannot parse declarator '" + parts[i] + "' of '" + decl + "'");
            out.add(new CDecl(baseType + m.group(1), m.group(2), m.group(3) == null ? 0 : Long.parseLong(m.group(3))));
        }
        return out;
    }

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

            MemorySegment props = ha_device_props.allocate(arena);
            for (int i = 0; i < 256; i++) {
                ha_device_props.name(props, i, (byte) i);
            }
            ha_device_props.total_memory(props, 1L << 40);
            ha_device_props.reserved(props, 3);
            for (int i = 0; i < 256; i++) {
                assertEquals((byte) i, props.get(ValueLayout.JAVA_BYTE, ha_device_props.name$offset() + i));
                assertEquals((byte) i, ha_device_props.name(props, i));
            }
            assertEquals(256, ha_device_props.name(props).byteSize());
            assertEquals(1L << 40, props.get(ValueLayout.JAVA_LONG, ha_device_props.total_memory$offset()));
            assertEquals(3, props.get(ValueLayout.JAVA_INT, ha_device_props.reserved$offset()));

            MemorySegment hsr = ha_hsr_params.allocate(arena);
            ha_hsr_params.epsilon(hsr, 0.125);
            ha_hsr_params.bias(hsr, -2.5f);
            assertEquals(0.125, hsr.get(ValueLayout.JAVA_DOUBLE, ha_hsr_params.epsilon$offset()));
            assertEquals(-2.5f, hsr.get(ValueLayout.JAVA_FLOAT, ha_hsr_params.bias$offset()));

            MemorySegment hyper = ha_hyper_params.allocate(arena);
            ha_hyper_params.seed(hyper, -1L);
            ha_hyper_params.min_seq_len(hyper, 77);
            assertEquals(-1L, hyper.get(ValueLayout.JAVA_LONG, ha_hyper_params.seed$offset()));
            assertEquals(77, hyper.get(ValueLayout.JAVA_INT, ha_hyper_params.min_seq_len$offset()));

            MemorySegment idx = ha_index_params.allocate(arena);
            ha_index_params.seed(idx, -3L);
            ha_index_params.copy_keys(idx, 1);
            ha_index_params.reserved(idx, 5);
            assertEquals(24, ha_index_params.sizeof());
            assertEquals(16, ha_index_params.copy_keys$offset());
            assertEquals(20, ha_index_params.reserved$offset());
            assertEquals(-3L, idx.get(ValueLayout.JAVA_LONG, ha_index_params.seed$offset()));
            assertEquals(1, idx.get(ValueLayout.JAVA_INT, ha_index_params.copy_keys$offset()));
            assertEquals(5, idx.get(ValueLayout.JAVA_INT, ha_index_params.reserved$offset()));

            MemorySegment ap = ha_approx_params.allocate(arena);
            ha_approx_params.target_error(ap, 0.0625);
            ha_approx_params.seed(ap, -5L);
            ha_approx_params.heavy_budget(ap, 11);
            ha_approx_params.window(ap, 13);
            assertEquals(48, ha_approx_params.sizeof());
            assertEquals(0.0625, ap.get(ValueLayout.JAVA_DOUBLE, ha_approx_params.target_error$offset()));
            assertEquals(-5L, ap.get(ValueLayout.JAVA_LONG, ha_approx_params.seed$offset()));
            assertEquals(11, ap.get(ValueLayout.JAVA_INT, ha_approx_params.heavy_budget$offset()));
            assertEquals(13, ap.get(ValueLayout.JAVA_INT, ha_approx_params.window$offset()));

            MemorySegment as = ha_approx_stats.allocate(arena);
            MemorySegment levels = arena.allocate(ValueLayout.JAVA_INT, 3);
            ha_approx_stats.level(as, levels);
            assertEquals(32, ha_approx_stats.sizeof());
            assertEquals(levels.address(), as.get(ValueLayout.ADDRESS, ha_approx_stats.level$offset()).address());
            assertEquals(MemorySegment.NULL, ha_approx_stats.row_error(as));
        }
    }

    /** The *_params_init functions write every field the bindings know, at the right places. */
    @Test
    void paramsInitFillsTheDocumentedDefaults() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hyper = ha_hyper_params.allocate(arena);
            hyper.fill((byte) 0x5A);
            hyperattn_h.ha_hyper_params_init(hyper);
            assertEquals(0f, ha_hyper_params.scale(hyper));
            assertEquals(0, ha_hyper_params.causal(hyper));
            assertEquals(7, ha_hyper_params.lsh_projections(hyper));
            assertEquals(256, ha_hyper_params.block_size(hyper));
            assertEquals(256, ha_hyper_params.sample_size(hyper));
            assertEquals(4096, ha_hyper_params.min_seq_len(hyper));
            assertEquals(0L, ha_hyper_params.seed(hyper));
            assertEquals(MemorySegment.NULL, ha_hyper_params.stream(hyper));

            MemorySegment hsr = ha_hsr_params.allocate(arena);
            hsr.fill((byte) 0x5A);
            hyperattn_h.ha_hsr_params_init(hsr);
            assertEquals(hyperattn_h.HA_HSR_SOFTMAX(), ha_hsr_params.mode(hsr));
            assertEquals(1, ha_hsr_params.alpha(hsr));
            assertEquals(0f, ha_hsr_params.bias(hsr));
            assertEquals(0f, ha_hsr_params.scale(hsr));
            assertEquals(1e-3, ha_hsr_params.epsilon(hsr));
            assertEquals(0, ha_hsr_params.causal(hsr));
            assertEquals(0, ha_hsr_params.reserved(hsr));
            assertEquals(MemorySegment.NULL, ha_hsr_params.stream(hsr));

            MemorySegment idx = ha_index_params.allocate(arena);
            idx.fill((byte) 0x5A);
            hyperattn_h.ha_index_params_init(idx);
            assertEquals(64, ha_index_params.block_size(idx));
            assertEquals(4, ha_index_params.kmeans_iters(idx));
            assertEquals(0L, ha_index_params.seed(idx));
            assertEquals(1, ha_index_params.copy_keys(idx));
            assertEquals(0, ha_index_params.reserved(idx));

            MemorySegment exact = ha_exact_params.allocate(arena);
            exact.fill((byte) 0x5A);
            hyperattn_h.ha_exact_params_init(exact);
            assertEquals(0f, ha_exact_params.scale(exact));
            assertEquals(0, ha_exact_params.causal(exact));
            assertEquals(MemorySegment.NULL, ha_exact_params.stream(exact));

            MemorySegment approx = ha_approx_params.allocate(arena);
            approx.fill((byte) 0x5A);
            hyperattn_h.ha_approx_params_init(approx);
            assertEquals(0f, ha_approx_params.scale(approx));
            assertEquals(0, ha_approx_params.causal(approx));
            assertEquals(4, ha_approx_params.sinks(approx));
            assertEquals(256, ha_approx_params.window(approx));
            assertEquals(256, ha_approx_params.samples(approx));
            assertEquals(0, ha_approx_params.heavy_budget(approx));
            assertEquals(0.0, ha_approx_params.target_error(approx));
            assertEquals(0L, ha_approx_params.seed(approx));
            assertEquals(MemorySegment.NULL, ha_approx_params.stream(approx));
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
            List<CDecl> cDecls = new ArrayList<>();
            for (String decl : m.group(2).split(";")) {
                if (!decl.isBlank()) {
                    cDecls.addAll(declarations(decl));
                }
            }
            List<String> cFields = cDecls.stream().map(CDecl::name).toList();
            List<MemoryLayout> members = layout.memberLayouts().stream().filter(l -> l.name().isPresent()).toList();
            List<String> javaFields = members.stream().map(l -> l.name().get()).toList();
            assertEquals(cFields, javaFields, "fields of " + name);
            for (int i = 0; i < cDecls.size(); i++) {
                CDecl c = cDecls.get(i);
                MemoryLayout member = members.get(i);
                String what = name + "." + c.name() + " (" + c.type() + (c.extent() > 0 ? "[" + c.extent() + "]" : "") + ")";
                if (c.extent() > 0) {
                    assertTrue(member instanceof SequenceLayout, what + " should be a sequence layout");
                    SequenceLayout seq = (SequenceLayout) member;
                    assertEquals(c.extent(), seq.elementCount(), what + " extent");
                    assertEquals(carrier(c.type()), carrier(seq.elementLayout()), what + " element type");
                } else {
                    assertEquals(carrier(c.type()), carrier(member), what + " type");
                }
            }
        }
        assertEquals(new TreeSet<>(STRUCTS.keySet()), seen, "structs in the header vs bound");
    }

    /** Every HA_API function in the header: bound, resolvable, and with the parameter count. */
    @Test
    void functionsMatchTheHeaderAndTheLibrary() throws Exception {
        String h = header();
        Matcher m = Pattern.compile("(?m)^\\s*HA_API\\s+([^;(]*?)(\\w+)\\s*\\(([^)]*)\\)").matcher(h);
        Map<String, Integer> cFunctions = new LinkedHashMap<>();
        Map<String, String> cReturns = new LinkedHashMap<>();
        Map<String, List<String>> cParamTypes = new LinkedHashMap<>();
        while (m.find()) {
            String params = m.group(3).trim();
            List<String> types = new ArrayList<>();
            if (!params.isEmpty() && !params.equals("void")) {
                for (String p : params.split(",")) {
                    Matcher pm = Pattern.compile("^(.*?)\\w+\\s*$", Pattern.DOTALL).matcher(p.trim());
                    assertTrue(pm.find(), "cannot parse parameter '" + p + "' of " + m.group(2));
                    types.add(pm.group(1).trim());
                }
            }
            cFunctions.put(m.group(2), types.size());
            cReturns.put(m.group(2), m.group(1).trim());
            cParamTypes.put(m.group(2), types);
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
            List<String> types = cParamTypes.get(name);
            for (int i = 0; i < types.size(); i++) {
                assertEquals(carrier(types.get(i)), carrier(desc.argumentLayouts().get(i)),
                        name + " parameter " + i + " (" + types.get(i) + ")");
            }
            String ret = cReturns.get(name);
            if (ret.equals("void")) {
                assertTrue(desc.returnLayout().isEmpty(), name + " returns void");
            } else {
                assertEquals(carrier(ret), carrier(desc.returnLayout().orElseThrow()), name + " return type (" + ret + ")");
            }
            MemorySegment address = (MemorySegment) hyperattn_h.class.getMethod(name + "$address").invoke(null);
            assertFalse(address.equals(MemorySegment.NULL), name);
        }
    }

    /**
     * ABI 5's keep-alive rule, for every function of the header (ha_attention_approx included):
     * a function taking ha_tensor pointers or a stats struct ends with one {@code <name>_data}
     * pointer per tensor parameter, in parameter order, then one per pointer field of the stats
     * struct ({@code <field>_data}), so the bindings can pass every segment as an argument.
     */
    @Test
    void everyAddressInAStructIsAlsoATrailingArgument() throws IOException {
        String h = header();
        Map<String, List<String>> pointerFields = new LinkedHashMap<>();
        Matcher st = Pattern.compile("typedef\\s+struct\\s+(\\w+)\\s*\\{(.*?)\\}\\s*(\\w+)\\s*;", Pattern.DOTALL).matcher(h);
        while (st.find()) {
            List<String> ptrs = new ArrayList<>();
            for (String decl : st.group(2).split(";")) {
                if (!decl.isBlank()) {
                    for (CDecl c : declarations(decl)) {
                        if (c.type().contains("*")) {
                            ptrs.add(c.name());
                        }
                    }
                }
            }
            pointerFields.put(st.group(1), ptrs);
        }
        Matcher m = Pattern.compile("(?m)^\\s*HA_API\\s+([^;(]*?)(\\w+)\\s*\\(([^)]*)\\)").matcher(h);
        int checked = 0;
        while (m.find()) {
            String fn = m.group(2);
            String params = m.group(3).trim();
            if (params.isEmpty() || params.equals("void")) {
                continue;
            }
            List<String> types = new ArrayList<>(), names = new ArrayList<>();
            for (String p : params.split(",")) {
                Matcher pm = Pattern.compile("^(.*?)(\\w+)\\s*$", Pattern.DOTALL).matcher(p.trim());
                assertTrue(pm.find(), fn + ": " + p);
                types.add(pm.group(1).replaceAll("\\s+", " ").trim());
                names.add(pm.group(2));
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < types.size(); i++) {
                if (names.get(i).endsWith("_data")) {
                    continue;
                }
                if (types.get(i).matches(".*\\bha_tensor\\s*\\*")) {
                    expected.add(names.get(i) + "_data");
                }
            }
            for (int i = 0; i < types.size(); i++) {
                Matcher stats = Pattern.compile("\\b(ha_\\w+_stats|ha_seqs)\\s*\\*").matcher(types.get(i));
                // (ha_seqs_init takes the struct itself, no tensors: no trailing addresses.)
                boolean seqsWithoutTensors = expected.isEmpty() && types.get(i).contains("ha_seqs");
                if (stats.find() && !names.get(i).endsWith("_data") && !seqsWithoutTensors) {
                    for (String f : pointerFields.getOrDefault(stats.group(1), List.of())) {
                        expected.add(f + "_data");
                    }
                }
            }
            if (expected.isEmpty()) {
                continue;
            }
            List<String> trailing = names.subList(Math.max(0, names.size() - expected.size()), names.size());
            assertEquals(expected, trailing, fn + ": trailing address arguments");
            checked++;
        }
        assertTrue(checked >= 8, "only " + checked + " functions take tensors?");
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
        assertEquals(hyperattn_h.HA_DTYPE_F16(), DType.F16.nativeCode());
        assertEquals(DType.values().length, 3, "DType has codes the test does not know");
        assertEquals(hyperattn_h.HA_DEVICE_CPU(), Device.Kind.CPU.nativeCode());
        assertEquals(hyperattn_h.HA_DEVICE_CUDA(), Device.Kind.CUDA.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_AUTO(), CpuIsa.AUTO.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_GENERIC(), CpuIsa.GENERIC.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_AVX2(), CpuIsa.AVX2.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_AVX512(), CpuIsa.AVX512.nativeCode());
        assertEquals(hyperattn_h.HA_CPU_ISA_NEON(), CpuIsa.NEON.nativeCode());
        assertEquals(CpuIsa.values().length, 5, "CpuIsa has codes the test does not know");
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
