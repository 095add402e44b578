// Written by hand in the shape jextract generates (jextract is not obtainable here).

/*
 * The shape of what jextract 22 generates for cpp/include/hyperattn.h with
 *   jextract --target-package dev.hyperattn.ffi --header-class-name hyperattn_h \
 *            --library hyperattn --output bindings/src/main/java cpp/include/hyperattn.h
 * with these deliberate deviations (the README's "Bindings" section lists the same):
 *  1. SYMBOL_LOOKUP = NativeLibrary.lookup() (the library loaded from the jar), not jextract's
 *     lookup of the library by name (--library hyperattn).
 *  2. Only the <stdint.h> typedefs the header uses are kept (int32_t, int64_t, uint64_t).
 *  3. The struct classes' indexed array accessors (ha_tensor.shape/strides,
 *     ha_device_props.name) pass the field offset where jextract 22 passed 0L, which was a bug:
 *     element i of every array field was read and written over the start of the struct.
 *  4. Comments: these file headers and the notes at deviations 1 and 3.
 * NativeLibrary (the loader) and package-info are not jextract's shape at all.
 * The opaque ha_key_index has no class, as with jextract for an incomplete struct: an
 * ha_key_index* is a plain C_POINTER (MemorySegment).
 * AbiLayoutDriftTest fails when this file and the header drift apart.
 */
package dev.hyperattn.ffi;

import java.lang.invoke.*;
import java.lang.foreign.*;
import java.nio.ByteOrder;
import java.util.*;
import java.util.function.*;
import java.util.stream.*;

import static java.lang.foreign.ValueLayout.*;
import static java.lang.foreign.MemoryLayout.PathElement.*;

public class hyperattn_h {

    hyperattn_h() {
        // Should not be called directly
    }

    static final Arena LIBRARY_ARENA = Arena.ofAuto();
    static final boolean TRACE_DOWNCALLS = Boolean.getBoolean("jextract.trace.downcalls");

    static void traceDowncall(String name, Object... args) {
         String traceArgs = Arrays.stream(args)
                       .map(Object::toString)
                       .collect(Collectors.joining(", "));
         System.out.printf("%s(%s)\n", name, traceArgs);
    }

    static MemorySegment findOrThrow(String symbol) {
        return SYMBOL_LOOKUP.find(symbol)
            .orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + symbol));
    }

    static MethodHandle upcallHandle(Class<?> fi, String name, FunctionDescriptor fdesc) {
        try {
            return MethodHandles.lookup().findVirtual(fi, name, fdesc.toMethodType());
        } catch (ReflectiveOperationException ex) {
            throw new AssertionError(ex);
        }
    }

    static MemoryLayout align(MemoryLayout layout, long align) {
        return switch (layout) {
            case PaddingLayout p -> p;
            case ValueLayout v -> v.withByteAlignment(align);
            case GroupLayout g -> {
                MemoryLayout[] alignedMembers = g.memberLayouts().stream()
                        .map(m -> align(m, align)).toArray(MemoryLayout[]::new);
                yield g instanceof StructLayout ?
                        MemoryLayout.structLayout(alignedMembers) : MemoryLayout.unionLayout(alignedMembers);
            }
            case SequenceLayout s -> MemoryLayout.sequenceLayout(s.elementCount(), align(s.elementLayout(), align));
        };
    }

    // Deviation 1 from jextract's output (see the comment at the top).
    static final SymbolLookup SYMBOL_LOOKUP = NativeLibrary.lookup();

    public static final ValueLayout.OfBoolean C_BOOL = ValueLayout.JAVA_BOOLEAN;
    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort C_SHORT = ValueLayout.JAVA_SHORT;
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfDouble C_DOUBLE = ValueLayout.JAVA_DOUBLE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, JAVA_BYTE));
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    /**
     * {@snippet lang=c :
     * typedef int int32_t
     * }
     */
    public static final OfInt int32_t = hyperattn_h.C_INT;
    /**
     * {@snippet lang=c :
     * typedef long int64_t
     * }
     */
    public static final OfLong int64_t = hyperattn_h.C_LONG;
    /**
     * {@snippet lang=c :
     * typedef unsigned long uint64_t
     * }
     */
    public static final OfLong uint64_t = hyperattn_h.C_LONG;

    private static final int HA_ABI_VERSION = (int)6L;
    /**
     * {@snippet lang=c :
     * #define HA_ABI_VERSION 6
     * }
     */
    public static int HA_ABI_VERSION() {
        return HA_ABI_VERSION;
    }

    private static final int HA_OK = (int)0L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_OK = 0
     * }
     */
    public static int HA_OK() {
        return HA_OK;
    }

    private static final int HA_ERR_INVALID_ARGUMENT = (int)1L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_ERR_INVALID_ARGUMENT = 1
     * }
     */
    public static int HA_ERR_INVALID_ARGUMENT() {
        return HA_ERR_INVALID_ARGUMENT;
    }

    private static final int HA_ERR_UNSUPPORTED = (int)2L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_ERR_UNSUPPORTED = 2
     * }
     */
    public static int HA_ERR_UNSUPPORTED() {
        return HA_ERR_UNSUPPORTED;
    }

    private static final int HA_ERR_OUT_OF_MEMORY = (int)3L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_ERR_OUT_OF_MEMORY = 3
     * }
     */
    public static int HA_ERR_OUT_OF_MEMORY() {
        return HA_ERR_OUT_OF_MEMORY;
    }

    private static final int HA_ERR_NO_DEVICE = (int)4L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_ERR_NO_DEVICE = 4
     * }
     */
    public static int HA_ERR_NO_DEVICE() {
        return HA_ERR_NO_DEVICE;
    }

    private static final int HA_ERR_DEVICE = (int)5L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_ERR_DEVICE = 5
     * }
     */
    public static int HA_ERR_DEVICE() {
        return HA_ERR_DEVICE;
    }

    private static final int HA_ERR_INTERNAL = (int)6L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_ERR_INTERNAL = 6
     * }
     */
    public static int HA_ERR_INTERNAL() {
        return HA_ERR_INTERNAL;
    }

    private static final int HA_DTYPE_F32 = (int)0L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_DTYPE_F32 = 0
     * }
     */
    public static int HA_DTYPE_F32() {
        return HA_DTYPE_F32;
    }

    private static final int HA_DTYPE_BF16 = (int)1L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_DTYPE_BF16 = 1
     * }
     */
    public static int HA_DTYPE_BF16() {
        return HA_DTYPE_BF16;
    }

    private static final int HA_DTYPE_F16 = (int)2L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_DTYPE_F16 = 2
     * }
     */
    public static int HA_DTYPE_F16() {
        return HA_DTYPE_F16;
    }

    private static final int HA_DEVICE_CPU = (int)0L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_DEVICE_CPU = 0
     * }
     */
    public static int HA_DEVICE_CPU() {
        return HA_DEVICE_CPU;
    }

    private static final int HA_DEVICE_CUDA = (int)1L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_DEVICE_CUDA = 1
     * }
     */
    public static int HA_DEVICE_CUDA() {
        return HA_DEVICE_CUDA;
    }

    private static final int HA_CPU_ISA_AUTO = (int)0L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_CPU_ISA_AUTO = 0
     * }
     */
    public static int HA_CPU_ISA_AUTO() {
        return HA_CPU_ISA_AUTO;
    }

    private static final int HA_CPU_ISA_GENERIC = (int)1L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_CPU_ISA_GENERIC = 1
     * }
     */
    public static int HA_CPU_ISA_GENERIC() {
        return HA_CPU_ISA_GENERIC;
    }

    private static final int HA_CPU_ISA_AVX2 = (int)2L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_CPU_ISA_AVX2 = 2
     * }
     */
    public static int HA_CPU_ISA_AVX2() {
        return HA_CPU_ISA_AVX2;
    }

    private static final int HA_CPU_ISA_AVX512 = (int)3L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_CPU_ISA_AVX512 = 3
     * }
     */
    public static int HA_CPU_ISA_AVX512() {
        return HA_CPU_ISA_AVX512;
    }

    private static final int HA_CPU_ISA_NEON = (int)4L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_CPU_ISA_NEON = 4
     * }
     */
    public static int HA_CPU_ISA_NEON() {
        return HA_CPU_ISA_NEON;
    }

    private static final int HA_HSR_RELU = (int)0L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_HSR_RELU = 0
     * }
     */
    public static int HA_HSR_RELU() {
        return HA_HSR_RELU;
    }

    private static final int HA_HSR_SOFTMAX = (int)1L;
    /**
     * {@snippet lang=c :
     * enum <anonymous>.HA_HSR_SOFTMAX = 1
     * }
     */
    public static int HA_HSR_SOFTMAX() {
        return HA_HSR_SOFTMAX;
    }


    private static class ha_abi_version {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_abi_version");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_abi_version()
     * }
     */
    public static FunctionDescriptor ha_abi_version$descriptor() {
        return ha_abi_version.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_abi_version()
     * }
     */
    public static MethodHandle ha_abi_version$handle() {
        return ha_abi_version.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_abi_version()
     * }
     */
    public static MemorySegment ha_abi_version$address() {
        return ha_abi_version.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_abi_version()
     * }
     */
    public static int ha_abi_version() {
        var mh$ = ha_abi_version.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_abi_version");
            }
            return (int)mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_version_string {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_version_string");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * const char *ha_version_string()
     * }
     */
    public static FunctionDescriptor ha_version_string$descriptor() {
        return ha_version_string.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * const char *ha_version_string()
     * }
     */
    public static MethodHandle ha_version_string$handle() {
        return ha_version_string.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * const char *ha_version_string()
     * }
     */
    public static MemorySegment ha_version_string$address() {
        return ha_version_string.ADDR;
    }

    /**
     * {@snippet lang=c :
     * const char *ha_version_string()
     * }
     */
    public static MemorySegment ha_version_string() {
        var mh$ = ha_version_string.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_version_string");
            }
            return (MemorySegment)mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_last_error {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_last_error");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * const char *ha_last_error()
     * }
     */
    public static FunctionDescriptor ha_last_error$descriptor() {
        return ha_last_error.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * const char *ha_last_error()
     * }
     */
    public static MethodHandle ha_last_error$handle() {
        return ha_last_error.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * const char *ha_last_error()
     * }
     */
    public static MemorySegment ha_last_error$address() {
        return ha_last_error.ADDR;
    }

    /**
     * {@snippet lang=c :
     * const char *ha_last_error()
     * }
     */
    public static MemorySegment ha_last_error() {
        var mh$ = ha_last_error.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_last_error");
            }
            return (MemorySegment)mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_abi_layout {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_abi_layout");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_abi_layout(const char *struct_name, const char *field, int64_t *out)
     * }
     */
    public static FunctionDescriptor ha_abi_layout$descriptor() {
        return ha_abi_layout.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_abi_layout(const char *struct_name, const char *field, int64_t *out)
     * }
     */
    public static MethodHandle ha_abi_layout$handle() {
        return ha_abi_layout.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_abi_layout(const char *struct_name, const char *field, int64_t *out)
     * }
     */
    public static MemorySegment ha_abi_layout$address() {
        return ha_abi_layout.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_abi_layout(const char *struct_name, const char *field, int64_t *out)
     * }
     */
    public static int ha_abi_layout(MemorySegment struct_name, MemorySegment field, MemorySegment out) {
        var mh$ = ha_abi_layout.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_abi_layout", struct_name, field, out);
            }
            return (int)mh$.invokeExact(struct_name, field, out);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_set_num_threads {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_set_num_threads");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_set_num_threads(int32_t n)
     * }
     */
    public static FunctionDescriptor ha_set_num_threads$descriptor() {
        return ha_set_num_threads.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_set_num_threads(int32_t n)
     * }
     */
    public static MethodHandle ha_set_num_threads$handle() {
        return ha_set_num_threads.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_set_num_threads(int32_t n)
     * }
     */
    public static MemorySegment ha_set_num_threads$address() {
        return ha_set_num_threads.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_set_num_threads(int32_t n)
     * }
     */
    public static int ha_set_num_threads(int n) {
        var mh$ = ha_set_num_threads.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_set_num_threads", n);
            }
            return (int)mh$.invokeExact(n);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_get_num_threads {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_get_num_threads");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_get_num_threads()
     * }
     */
    public static FunctionDescriptor ha_get_num_threads$descriptor() {
        return ha_get_num_threads.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_get_num_threads()
     * }
     */
    public static MethodHandle ha_get_num_threads$handle() {
        return ha_get_num_threads.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_get_num_threads()
     * }
     */
    public static MemorySegment ha_get_num_threads$address() {
        return ha_get_num_threads.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_get_num_threads()
     * }
     */
    public static int ha_get_num_threads() {
        var mh$ = ha_get_num_threads.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_get_num_threads");
            }
            return (int)mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_set_buffer_cache_limit {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_LONG
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_set_buffer_cache_limit");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_set_buffer_cache_limit(int64_t bytes)
     * }
     */
    public static FunctionDescriptor ha_set_buffer_cache_limit$descriptor() {
        return ha_set_buffer_cache_limit.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_set_buffer_cache_limit(int64_t bytes)
     * }
     */
    public static MethodHandle ha_set_buffer_cache_limit$handle() {
        return ha_set_buffer_cache_limit.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_set_buffer_cache_limit(int64_t bytes)
     * }
     */
    public static MemorySegment ha_set_buffer_cache_limit$address() {
        return ha_set_buffer_cache_limit.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_set_buffer_cache_limit(int64_t bytes)
     * }
     */
    public static int ha_set_buffer_cache_limit(long bytes) {
        var mh$ = ha_set_buffer_cache_limit.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_set_buffer_cache_limit", bytes);
            }
            return (int)mh$.invokeExact(bytes);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_get_buffer_cache_limit {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_LONG
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_get_buffer_cache_limit");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int64_t ha_get_buffer_cache_limit()
     * }
     */
    public static FunctionDescriptor ha_get_buffer_cache_limit$descriptor() {
        return ha_get_buffer_cache_limit.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int64_t ha_get_buffer_cache_limit()
     * }
     */
    public static MethodHandle ha_get_buffer_cache_limit$handle() {
        return ha_get_buffer_cache_limit.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int64_t ha_get_buffer_cache_limit()
     * }
     */
    public static MemorySegment ha_get_buffer_cache_limit$address() {
        return ha_get_buffer_cache_limit.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int64_t ha_get_buffer_cache_limit()
     * }
     */
    public static long ha_get_buffer_cache_limit() {
        var mh$ = ha_get_buffer_cache_limit.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_get_buffer_cache_limit");
            }
            return (long)mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_set_cpu_isa {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_set_cpu_isa");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_set_cpu_isa(int32_t isa)
     * }
     */
    public static FunctionDescriptor ha_set_cpu_isa$descriptor() {
        return ha_set_cpu_isa.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_set_cpu_isa(int32_t isa)
     * }
     */
    public static MethodHandle ha_set_cpu_isa$handle() {
        return ha_set_cpu_isa.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_set_cpu_isa(int32_t isa)
     * }
     */
    public static MemorySegment ha_set_cpu_isa$address() {
        return ha_set_cpu_isa.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_set_cpu_isa(int32_t isa)
     * }
     */
    public static int ha_set_cpu_isa(int isa) {
        var mh$ = ha_set_cpu_isa.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_set_cpu_isa", isa);
            }
            return (int)mh$.invokeExact(isa);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_get_cpu_isa {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_get_cpu_isa");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_get_cpu_isa()
     * }
     */
    public static FunctionDescriptor ha_get_cpu_isa$descriptor() {
        return ha_get_cpu_isa.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_get_cpu_isa()
     * }
     */
    public static MethodHandle ha_get_cpu_isa$handle() {
        return ha_get_cpu_isa.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_get_cpu_isa()
     * }
     */
    public static MemorySegment ha_get_cpu_isa$address() {
        return ha_get_cpu_isa.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_get_cpu_isa()
     * }
     */
    public static int ha_get_cpu_isa() {
        var mh$ = ha_get_cpu_isa.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_get_cpu_isa");
            }
            return (int)mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_exact_params_init {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_exact_params_init");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_exact_params_init(ha_exact_params *params)
     * }
     */
    public static FunctionDescriptor ha_exact_params_init$descriptor() {
        return ha_exact_params_init.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_exact_params_init(ha_exact_params *params)
     * }
     */
    public static MethodHandle ha_exact_params_init$handle() {
        return ha_exact_params_init.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_exact_params_init(ha_exact_params *params)
     * }
     */
    public static MemorySegment ha_exact_params_init$address() {
        return ha_exact_params_init.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_exact_params_init(ha_exact_params *params)
     * }
     */
    public static void ha_exact_params_init(MemorySegment params) {
        var mh$ = ha_exact_params_init.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_exact_params_init", params);
            }
            mh$.invokeExact(params);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_attention_exact {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_attention_exact");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_attention_exact(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data)
     * }
     */
    public static FunctionDescriptor ha_attention_exact$descriptor() {
        return ha_attention_exact.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_attention_exact(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data)
     * }
     */
    public static MethodHandle ha_attention_exact$handle() {
        return ha_attention_exact.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_attention_exact(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data)
     * }
     */
    public static MemorySegment ha_attention_exact$address() {
        return ha_attention_exact.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_attention_exact(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data)
     * }
     */
    public static int ha_attention_exact(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment params, MemorySegment q_data, MemorySegment k_data, MemorySegment v_data, MemorySegment out_data, MemorySegment lse_data) {
        var mh$ = ha_attention_exact.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_attention_exact", q, k, v, out, lse, params, q_data, k_data, v_data, out_data, lse_data);
            }
            return (int)mh$.invokeExact(q, k, v, out, lse, params, q_data, k_data, v_data, out_data, lse_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_seqs_init {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_seqs_init");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_seqs_init(ha_seqs *seqs)
     * }
     */
    public static FunctionDescriptor ha_seqs_init$descriptor() {
        return ha_seqs_init.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_seqs_init(ha_seqs *seqs)
     * }
     */
    public static MethodHandle ha_seqs_init$handle() {
        return ha_seqs_init.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_seqs_init(ha_seqs *seqs)
     * }
     */
    public static MemorySegment ha_seqs_init$address() {
        return ha_seqs_init.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_seqs_init(ha_seqs *seqs)
     * }
     */
    public static void ha_seqs_init(MemorySegment seqs) {
        var mh$ = ha_seqs_init.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_seqs_init", seqs);
            }
            mh$.invokeExact(seqs);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_attention_exact_seqs {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_attention_exact_seqs");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_attention_exact_seqs(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_seqs *seqs, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, const int32_t *cu_seqlens_q_data, const int32_t *cu_seqlens_k_data, const int32_t *seqlens_k_data, const int32_t *block_table_data)
     * }
     */
    public static FunctionDescriptor ha_attention_exact_seqs$descriptor() {
        return ha_attention_exact_seqs.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_attention_exact_seqs(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_seqs *seqs, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, const int32_t *cu_seqlens_q_data, const int32_t *cu_seqlens_k_data, const int32_t *seqlens_k_data, const int32_t *block_table_data)
     * }
     */
    public static MethodHandle ha_attention_exact_seqs$handle() {
        return ha_attention_exact_seqs.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_attention_exact_seqs(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_seqs *seqs, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, const int32_t *cu_seqlens_q_data, const int32_t *cu_seqlens_k_data, const int32_t *seqlens_k_data, const int32_t *block_table_data)
     * }
     */
    public static MemorySegment ha_attention_exact_seqs$address() {
        return ha_attention_exact_seqs.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_attention_exact_seqs(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_seqs *seqs, const ha_exact_params *params, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, const int32_t *cu_seqlens_q_data, const int32_t *cu_seqlens_k_data, const int32_t *seqlens_k_data, const int32_t *block_table_data)
     * }
     */
    public static int ha_attention_exact_seqs(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment seqs, MemorySegment params, MemorySegment q_data, MemorySegment k_data, MemorySegment v_data, MemorySegment out_data, MemorySegment lse_data, MemorySegment cu_seqlens_q_data, MemorySegment cu_seqlens_k_data, MemorySegment seqlens_k_data, MemorySegment block_table_data) {
        var mh$ = ha_attention_exact_seqs.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_attention_exact_seqs", q, k, v, out, lse, seqs, params, q_data, k_data, v_data, out_data, lse_data, cu_seqlens_q_data, cu_seqlens_k_data, seqlens_k_data, block_table_data);
            }
            return (int)mh$.invokeExact(q, k, v, out, lse, seqs, params, q_data, k_data, v_data, out_data, lse_data, cu_seqlens_q_data, cu_seqlens_k_data, seqlens_k_data, block_table_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_merge {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_merge");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_merge(const ha_tensor *out_a, const ha_tensor *lse_a, const ha_tensor *out_b, const ha_tensor *lse_b, const ha_tensor *out, const ha_tensor *lse, void *stream, const void *out_a_data, const void *lse_a_data, const void *out_b_data, const void *lse_b_data, void *out_data, void *lse_data)
     * }
     */
    public static FunctionDescriptor ha_merge$descriptor() {
        return ha_merge.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_merge(const ha_tensor *out_a, const ha_tensor *lse_a, const ha_tensor *out_b, const ha_tensor *lse_b, const ha_tensor *out, const ha_tensor *lse, void *stream, const void *out_a_data, const void *lse_a_data, const void *out_b_data, const void *lse_b_data, void *out_data, void *lse_data)
     * }
     */
    public static MethodHandle ha_merge$handle() {
        return ha_merge.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_merge(const ha_tensor *out_a, const ha_tensor *lse_a, const ha_tensor *out_b, const ha_tensor *lse_b, const ha_tensor *out, const ha_tensor *lse, void *stream, const void *out_a_data, const void *lse_a_data, const void *out_b_data, const void *lse_b_data, void *out_data, void *lse_data)
     * }
     */
    public static MemorySegment ha_merge$address() {
        return ha_merge.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_merge(const ha_tensor *out_a, const ha_tensor *lse_a, const ha_tensor *out_b, const ha_tensor *lse_b, const ha_tensor *out, const ha_tensor *lse, void *stream, const void *out_a_data, const void *lse_a_data, const void *out_b_data, const void *lse_b_data, void *out_data, void *lse_data)
     * }
     */
    public static int ha_merge(MemorySegment out_a, MemorySegment lse_a, MemorySegment out_b, MemorySegment lse_b, MemorySegment out, MemorySegment lse, MemorySegment stream, MemorySegment out_a_data, MemorySegment lse_a_data, MemorySegment out_b_data, MemorySegment lse_b_data, MemorySegment out_data, MemorySegment lse_data) {
        var mh$ = ha_merge.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_merge", out_a, lse_a, out_b, lse_b, out, lse, stream, out_a_data, lse_a_data, out_b_data, lse_b_data, out_data, lse_data);
            }
            return (int)mh$.invokeExact(out_a, lse_a, out_b, lse_b, out, lse, stream, out_a_data, lse_a_data, out_b_data, lse_b_data, out_data, lse_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_hyper_params_init {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_hyper_params_init");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_hyper_params_init(ha_hyper_params *params)
     * }
     */
    public static FunctionDescriptor ha_hyper_params_init$descriptor() {
        return ha_hyper_params_init.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_hyper_params_init(ha_hyper_params *params)
     * }
     */
    public static MethodHandle ha_hyper_params_init$handle() {
        return ha_hyper_params_init.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_hyper_params_init(ha_hyper_params *params)
     * }
     */
    public static MemorySegment ha_hyper_params_init$address() {
        return ha_hyper_params_init.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_hyper_params_init(ha_hyper_params *params)
     * }
     */
    public static void ha_hyper_params_init(MemorySegment params) {
        var mh$ = ha_hyper_params_init.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_hyper_params_init", params);
            }
            mh$.invokeExact(params);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_attention_hyper {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_attention_hyper");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_attention_hyper(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_hyper_params *params, ha_hyper_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data)
     * }
     */
    public static FunctionDescriptor ha_attention_hyper$descriptor() {
        return ha_attention_hyper.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_attention_hyper(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_hyper_params *params, ha_hyper_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data)
     * }
     */
    public static MethodHandle ha_attention_hyper$handle() {
        return ha_attention_hyper.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_attention_hyper(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_hyper_params *params, ha_hyper_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data)
     * }
     */
    public static MemorySegment ha_attention_hyper$address() {
        return ha_attention_hyper.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_attention_hyper(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_hyper_params *params, ha_hyper_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data)
     * }
     */
    public static int ha_attention_hyper(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment params, MemorySegment stats, MemorySegment q_data, MemorySegment k_data, MemorySegment v_data, MemorySegment out_data, MemorySegment lse_data, MemorySegment row_error_data) {
        var mh$ = ha_attention_hyper.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_attention_hyper", q, k, v, out, lse, params, stats, q_data, k_data, v_data, out_data, lse_data, row_error_data);
            }
            return (int)mh$.invokeExact(q, k, v, out, lse, params, stats, q_data, k_data, v_data, out_data, lse_data, row_error_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_index_params_init {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_index_params_init");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_index_params_init(ha_index_params *params)
     * }
     */
    public static FunctionDescriptor ha_index_params_init$descriptor() {
        return ha_index_params_init.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_index_params_init(ha_index_params *params)
     * }
     */
    public static MethodHandle ha_index_params_init$handle() {
        return ha_index_params_init.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_index_params_init(ha_index_params *params)
     * }
     */
    public static MemorySegment ha_index_params_init$address() {
        return ha_index_params_init.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_index_params_init(ha_index_params *params)
     * }
     */
    public static void ha_index_params_init(MemorySegment params) {
        var mh$ = ha_index_params_init.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_index_params_init", params);
            }
            mh$.invokeExact(params);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_hsr_params_init {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_hsr_params_init");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_hsr_params_init(ha_hsr_params *params)
     * }
     */
    public static FunctionDescriptor ha_hsr_params_init$descriptor() {
        return ha_hsr_params_init.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_hsr_params_init(ha_hsr_params *params)
     * }
     */
    public static MethodHandle ha_hsr_params_init$handle() {
        return ha_hsr_params_init.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_hsr_params_init(ha_hsr_params *params)
     * }
     */
    public static MemorySegment ha_hsr_params_init$address() {
        return ha_hsr_params_init.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_hsr_params_init(ha_hsr_params *params)
     * }
     */
    public static void ha_hsr_params_init(MemorySegment params) {
        var mh$ = ha_hsr_params_init.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_hsr_params_init", params);
            }
            mh$.invokeExact(params);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_key_index_create {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_key_index_create");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_key_index_create(const ha_tensor *k, const ha_tensor *v, const ha_index_params *params, ha_key_index **index, const void *k_data, const void *v_data)
     * }
     */
    public static FunctionDescriptor ha_key_index_create$descriptor() {
        return ha_key_index_create.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_key_index_create(const ha_tensor *k, const ha_tensor *v, const ha_index_params *params, ha_key_index **index, const void *k_data, const void *v_data)
     * }
     */
    public static MethodHandle ha_key_index_create$handle() {
        return ha_key_index_create.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_key_index_create(const ha_tensor *k, const ha_tensor *v, const ha_index_params *params, ha_key_index **index, const void *k_data, const void *v_data)
     * }
     */
    public static MemorySegment ha_key_index_create$address() {
        return ha_key_index_create.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_key_index_create(const ha_tensor *k, const ha_tensor *v, const ha_index_params *params, ha_key_index **index, const void *k_data, const void *v_data)
     * }
     */
    public static int ha_key_index_create(MemorySegment k, MemorySegment v, MemorySegment params, MemorySegment index, MemorySegment k_data, MemorySegment v_data) {
        var mh$ = ha_key_index_create.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_key_index_create", k, v, params, index, k_data, v_data);
            }
            return (int)mh$.invokeExact(k, v, params, index, k_data, v_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_key_index_append {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_key_index_append");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_key_index_append(ha_key_index *index, const ha_tensor *k, const ha_tensor *v, const void *k_data, const void *v_data)
     * }
     */
    public static FunctionDescriptor ha_key_index_append$descriptor() {
        return ha_key_index_append.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_key_index_append(ha_key_index *index, const ha_tensor *k, const ha_tensor *v, const void *k_data, const void *v_data)
     * }
     */
    public static MethodHandle ha_key_index_append$handle() {
        return ha_key_index_append.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_key_index_append(ha_key_index *index, const ha_tensor *k, const ha_tensor *v, const void *k_data, const void *v_data)
     * }
     */
    public static MemorySegment ha_key_index_append$address() {
        return ha_key_index_append.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_key_index_append(ha_key_index *index, const ha_tensor *k, const ha_tensor *v, const void *k_data, const void *v_data)
     * }
     */
    public static int ha_key_index_append(MemorySegment index, MemorySegment k, MemorySegment v, MemorySegment k_data, MemorySegment v_data) {
        var mh$ = ha_key_index_append.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_key_index_append", index, k, v, k_data, v_data);
            }
            return (int)mh$.invokeExact(index, k, v, k_data, v_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_key_index_get_info {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_key_index_get_info");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_key_index_get_info(const ha_key_index *index, ha_key_index_info *info)
     * }
     */
    public static FunctionDescriptor ha_key_index_get_info$descriptor() {
        return ha_key_index_get_info.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_key_index_get_info(const ha_key_index *index, ha_key_index_info *info)
     * }
     */
    public static MethodHandle ha_key_index_get_info$handle() {
        return ha_key_index_get_info.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_key_index_get_info(const ha_key_index *index, ha_key_index_info *info)
     * }
     */
    public static MemorySegment ha_key_index_get_info$address() {
        return ha_key_index_get_info.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_key_index_get_info(const ha_key_index *index, ha_key_index_info *info)
     * }
     */
    public static int ha_key_index_get_info(MemorySegment index, MemorySegment info) {
        var mh$ = ha_key_index_get_info.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_key_index_get_info", index, info);
            }
            return (int)mh$.invokeExact(index, info);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_key_index_destroy {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_key_index_destroy");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_key_index_destroy(ha_key_index *index)
     * }
     */
    public static FunctionDescriptor ha_key_index_destroy$descriptor() {
        return ha_key_index_destroy.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_key_index_destroy(ha_key_index *index)
     * }
     */
    public static MethodHandle ha_key_index_destroy$handle() {
        return ha_key_index_destroy.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_key_index_destroy(ha_key_index *index)
     * }
     */
    public static MemorySegment ha_key_index_destroy$address() {
        return ha_key_index_destroy.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_key_index_destroy(ha_key_index *index)
     * }
     */
    public static void ha_key_index_destroy(MemorySegment index) {
        var mh$ = ha_key_index_destroy.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_key_index_destroy", index);
            }
            mh$.invokeExact(index);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_hsr_report {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_FLOAT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_LONG,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_hsr_report");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_hsr_report(const ha_key_index *index, const ha_tensor *k, const ha_tensor *q, float threshold, int64_t *counts, int32_t *indices, int64_t capacity, int64_t *total, const void *k_data, const void *q_data)
     * }
     */
    public static FunctionDescriptor ha_hsr_report$descriptor() {
        return ha_hsr_report.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_hsr_report(const ha_key_index *index, const ha_tensor *k, const ha_tensor *q, float threshold, int64_t *counts, int32_t *indices, int64_t capacity, int64_t *total, const void *k_data, const void *q_data)
     * }
     */
    public static MethodHandle ha_hsr_report$handle() {
        return ha_hsr_report.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_hsr_report(const ha_key_index *index, const ha_tensor *k, const ha_tensor *q, float threshold, int64_t *counts, int32_t *indices, int64_t capacity, int64_t *total, const void *k_data, const void *q_data)
     * }
     */
    public static MemorySegment ha_hsr_report$address() {
        return ha_hsr_report.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_hsr_report(const ha_key_index *index, const ha_tensor *k, const ha_tensor *q, float threshold, int64_t *counts, int32_t *indices, int64_t capacity, int64_t *total, const void *k_data, const void *q_data)
     * }
     */
    public static int ha_hsr_report(MemorySegment index, MemorySegment k, MemorySegment q, float threshold, MemorySegment counts, MemorySegment indices, long capacity, MemorySegment total, MemorySegment k_data, MemorySegment q_data) {
        var mh$ = ha_hsr_report.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_hsr_report", index, k, q, threshold, counts, indices, capacity, total, k_data, q_data);
            }
            return (int)mh$.invokeExact(index, k, q, threshold, counts, indices, capacity, total, k_data, q_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_attention_hsr {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_attention_hsr");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_attention_hsr(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_key_index *index, const ha_hsr_params *params, ha_hsr_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, float *dropped_mass_data, float *error_bound_data, int64_t *keys_touched_data)
     * }
     */
    public static FunctionDescriptor ha_attention_hsr$descriptor() {
        return ha_attention_hsr.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_attention_hsr(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_key_index *index, const ha_hsr_params *params, ha_hsr_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, float *dropped_mass_data, float *error_bound_data, int64_t *keys_touched_data)
     * }
     */
    public static MethodHandle ha_attention_hsr$handle() {
        return ha_attention_hsr.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_attention_hsr(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_key_index *index, const ha_hsr_params *params, ha_hsr_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, float *dropped_mass_data, float *error_bound_data, int64_t *keys_touched_data)
     * }
     */
    public static MemorySegment ha_attention_hsr$address() {
        return ha_attention_hsr.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_attention_hsr(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_key_index *index, const ha_hsr_params *params, ha_hsr_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, float *dropped_mass_data, float *error_bound_data, int64_t *keys_touched_data)
     * }
     */
    public static int ha_attention_hsr(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment index, MemorySegment params, MemorySegment stats, MemorySegment q_data, MemorySegment k_data, MemorySegment v_data, MemorySegment out_data, MemorySegment dropped_mass_data, MemorySegment error_bound_data, MemorySegment keys_touched_data) {
        var mh$ = ha_attention_hsr.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_attention_hsr", q, k, v, out, index, params, stats, q_data, k_data, v_data, out_data, dropped_mass_data, error_bound_data, keys_touched_data);
            }
            return (int)mh$.invokeExact(q, k, v, out, index, params, stats, q_data, k_data, v_data, out_data, dropped_mass_data, error_bound_data, keys_touched_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_approx_params_init {
        public static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_approx_params_init");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * void ha_approx_params_init(ha_approx_params *params)
     * }
     */
    public static FunctionDescriptor ha_approx_params_init$descriptor() {
        return ha_approx_params_init.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * void ha_approx_params_init(ha_approx_params *params)
     * }
     */
    public static MethodHandle ha_approx_params_init$handle() {
        return ha_approx_params_init.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * void ha_approx_params_init(ha_approx_params *params)
     * }
     */
    public static MemorySegment ha_approx_params_init$address() {
        return ha_approx_params_init.ADDR;
    }

    /**
     * {@snippet lang=c :
     * void ha_approx_params_init(ha_approx_params *params)
     * }
     */
    public static void ha_approx_params_init(MemorySegment params) {
        var mh$ = ha_approx_params_init.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_approx_params_init", params);
            }
            mh$.invokeExact(params);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_attention_approx {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_attention_approx");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_attention_approx(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_key_index *index, const ha_approx_params *params, ha_approx_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data, float *tail_mass_bound_data, int64_t *keys_touched_data, int32_t *level_data)
     * }
     */
    public static FunctionDescriptor ha_attention_approx$descriptor() {
        return ha_attention_approx.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_attention_approx(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_key_index *index, const ha_approx_params *params, ha_approx_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data, float *tail_mass_bound_data, int64_t *keys_touched_data, int32_t *level_data)
     * }
     */
    public static MethodHandle ha_attention_approx$handle() {
        return ha_attention_approx.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_attention_approx(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_key_index *index, const ha_approx_params *params, ha_approx_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data, float *tail_mass_bound_data, int64_t *keys_touched_data, int32_t *level_data)
     * }
     */
    public static MemorySegment ha_attention_approx$address() {
        return ha_attention_approx.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_attention_approx(const ha_tensor *q, const ha_tensor *k, const ha_tensor *v, const ha_tensor *out, const ha_tensor *lse, const ha_key_index *index, const ha_approx_params *params, ha_approx_stats *stats, const void *q_data, const void *k_data, const void *v_data, void *out_data, void *lse_data, float *row_error_data, float *tail_mass_bound_data, int64_t *keys_touched_data, int32_t *level_data)
     * }
     */
    public static int ha_attention_approx(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment index, MemorySegment params, MemorySegment stats, MemorySegment q_data, MemorySegment k_data, MemorySegment v_data, MemorySegment out_data, MemorySegment lse_data, MemorySegment row_error_data, MemorySegment tail_mass_bound_data, MemorySegment keys_touched_data, MemorySegment level_data) {
        var mh$ = ha_attention_approx.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_attention_approx", q, k, v, out, lse, index, params, stats, q_data, k_data, v_data, out_data, lse_data, row_error_data, tail_mass_bound_data, keys_touched_data, level_data);
            }
            return (int)mh$.invokeExact(q, k, v, out, lse, index, params, stats, q_data, k_data, v_data, out_data, lse_data, row_error_data, tail_mass_bound_data, keys_touched_data, level_data);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_cuda_device_count {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_cuda_device_count");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_cuda_device_count(int32_t *count)
     * }
     */
    public static FunctionDescriptor ha_cuda_device_count$descriptor() {
        return ha_cuda_device_count.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_cuda_device_count(int32_t *count)
     * }
     */
    public static MethodHandle ha_cuda_device_count$handle() {
        return ha_cuda_device_count.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_cuda_device_count(int32_t *count)
     * }
     */
    public static MemorySegment ha_cuda_device_count$address() {
        return ha_cuda_device_count.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_cuda_device_count(int32_t *count)
     * }
     */
    public static int ha_cuda_device_count(MemorySegment count) {
        var mh$ = ha_cuda_device_count.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_cuda_device_count", count);
            }
            return (int)mh$.invokeExact(count);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_cuda_device_props {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_cuda_device_props");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_cuda_device_props(int32_t device_id, ha_device_props *props)
     * }
     */
    public static FunctionDescriptor ha_cuda_device_props$descriptor() {
        return ha_cuda_device_props.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_cuda_device_props(int32_t device_id, ha_device_props *props)
     * }
     */
    public static MethodHandle ha_cuda_device_props$handle() {
        return ha_cuda_device_props.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_cuda_device_props(int32_t device_id, ha_device_props *props)
     * }
     */
    public static MemorySegment ha_cuda_device_props$address() {
        return ha_cuda_device_props.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_cuda_device_props(int32_t device_id, ha_device_props *props)
     * }
     */
    public static int ha_cuda_device_props(int device_id, MemorySegment props) {
        var mh$ = ha_cuda_device_props.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_cuda_device_props", device_id, props);
            }
            return (int)mh$.invokeExact(device_id, props);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_device_alloc {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_LONG,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_device_alloc");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes, void **ptr)
     * }
     */
    public static FunctionDescriptor ha_device_alloc$descriptor() {
        return ha_device_alloc.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes, void **ptr)
     * }
     */
    public static MethodHandle ha_device_alloc$handle() {
        return ha_device_alloc.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes, void **ptr)
     * }
     */
    public static MemorySegment ha_device_alloc$address() {
        return ha_device_alloc.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes, void **ptr)
     * }
     */
    public static int ha_device_alloc(int device_type, int device_id, long bytes, MemorySegment ptr) {
        var mh$ = ha_device_alloc.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_device_alloc", device_type, device_id, bytes, ptr);
            }
            return (int)mh$.invokeExact(device_type, device_id, bytes, ptr);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_device_free {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_device_free");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_device_free(int32_t device_type, int32_t device_id, void *ptr)
     * }
     */
    public static FunctionDescriptor ha_device_free$descriptor() {
        return ha_device_free.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_device_free(int32_t device_type, int32_t device_id, void *ptr)
     * }
     */
    public static MethodHandle ha_device_free$handle() {
        return ha_device_free.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_device_free(int32_t device_type, int32_t device_id, void *ptr)
     * }
     */
    public static MemorySegment ha_device_free$address() {
        return ha_device_free.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_device_free(int32_t device_type, int32_t device_id, void *ptr)
     * }
     */
    public static int ha_device_free(int device_type, int device_id, MemorySegment ptr) {
        var mh$ = ha_device_free.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_device_free", device_type, device_id, ptr);
            }
            return (int)mh$.invokeExact(device_type, device_id, ptr);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_memcpy {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER,
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_LONG,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_memcpy");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_memcpy(void *dst, int32_t dst_device_type, int32_t dst_device_id, const void *src, int32_t src_device_type, int32_t src_device_id, int64_t bytes, void *stream)
     * }
     */
    public static FunctionDescriptor ha_memcpy$descriptor() {
        return ha_memcpy.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_memcpy(void *dst, int32_t dst_device_type, int32_t dst_device_id, const void *src, int32_t src_device_type, int32_t src_device_id, int64_t bytes, void *stream)
     * }
     */
    public static MethodHandle ha_memcpy$handle() {
        return ha_memcpy.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_memcpy(void *dst, int32_t dst_device_type, int32_t dst_device_id, const void *src, int32_t src_device_type, int32_t src_device_id, int64_t bytes, void *stream)
     * }
     */
    public static MemorySegment ha_memcpy$address() {
        return ha_memcpy.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_memcpy(void *dst, int32_t dst_device_type, int32_t dst_device_id, const void *src, int32_t src_device_type, int32_t src_device_id, int64_t bytes, void *stream)
     * }
     */
    public static int ha_memcpy(MemorySegment dst, int dst_device_type, int dst_device_id, MemorySegment src, int src_device_type, int src_device_id, long bytes, MemorySegment stream) {
        var mh$ = ha_memcpy.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_memcpy", dst, dst_device_type, dst_device_id, src, src_device_type, src_device_id, bytes, stream);
            }
            return (int)mh$.invokeExact(dst, dst_device_type, dst_device_id, src, src_device_type, src_device_id, bytes, stream);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_stream_create {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_stream_create");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_stream_create(int32_t device_id, void **stream)
     * }
     */
    public static FunctionDescriptor ha_stream_create$descriptor() {
        return ha_stream_create.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_stream_create(int32_t device_id, void **stream)
     * }
     */
    public static MethodHandle ha_stream_create$handle() {
        return ha_stream_create.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_stream_create(int32_t device_id, void **stream)
     * }
     */
    public static MemorySegment ha_stream_create$address() {
        return ha_stream_create.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_stream_create(int32_t device_id, void **stream)
     * }
     */
    public static int ha_stream_create(int device_id, MemorySegment stream) {
        var mh$ = ha_stream_create.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_stream_create", device_id, stream);
            }
            return (int)mh$.invokeExact(device_id, stream);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_stream_synchronize {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_stream_synchronize");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_stream_synchronize(int32_t device_id, void *stream)
     * }
     */
    public static FunctionDescriptor ha_stream_synchronize$descriptor() {
        return ha_stream_synchronize.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_stream_synchronize(int32_t device_id, void *stream)
     * }
     */
    public static MethodHandle ha_stream_synchronize$handle() {
        return ha_stream_synchronize.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_stream_synchronize(int32_t device_id, void *stream)
     * }
     */
    public static MemorySegment ha_stream_synchronize$address() {
        return ha_stream_synchronize.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_stream_synchronize(int32_t device_id, void *stream)
     * }
     */
    public static int ha_stream_synchronize(int device_id, MemorySegment stream) {
        var mh$ = ha_stream_synchronize.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_stream_synchronize", device_id, stream);
            }
            return (int)mh$.invokeExact(device_id, stream);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ha_stream_destroy {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(
            hyperattn_h.C_INT,
            hyperattn_h.C_INT,
            hyperattn_h.C_POINTER
        );

        public static final MemorySegment ADDR = hyperattn_h.findOrThrow("ha_stream_destroy");

        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int32_t ha_stream_destroy(int32_t device_id, void *stream)
     * }
     */
    public static FunctionDescriptor ha_stream_destroy$descriptor() {
        return ha_stream_destroy.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int32_t ha_stream_destroy(int32_t device_id, void *stream)
     * }
     */
    public static MethodHandle ha_stream_destroy$handle() {
        return ha_stream_destroy.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int32_t ha_stream_destroy(int32_t device_id, void *stream)
     * }
     */
    public static MemorySegment ha_stream_destroy$address() {
        return ha_stream_destroy.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int32_t ha_stream_destroy(int32_t device_id, void *stream)
     * }
     */
    public static int ha_stream_destroy(int device_id, MemorySegment stream) {
        var mh$ = ha_stream_destroy.HANDLE;
        try {
            if (TRACE_DOWNCALLS) {
                traceDowncall("ha_stream_destroy", device_id, stream);
            }
            return (int)mh$.invokeExact(device_id, stream);
        } catch (Error | RuntimeException ex) {
           throw ex;
        } catch (Throwable ex$) {
           throw new AssertionError("should not reach here", ex$);
        }
    }
}
