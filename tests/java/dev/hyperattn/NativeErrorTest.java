package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.ffi.ha_exact_params;
import dev.hyperattn.ffi.ha_tensor;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * What Java's checks cannot see (hand-made descriptors: a reserved dtype, garbage fields, NULL
 * data) must be rejected by the library with a status and a message, which the Java layer turns
 * into an IllegalArgumentException caused by a HyperattnException (status INVALID_ARGUMENT) or a
 * HyperattnException (other statuses); the JVM carries on.
 */
class NativeErrorTest {

    private static final long B = 1, H = 2, N = 8, D = 16;

    /** Builds valid descriptors, lets {@code corrupt} damage q's, and calls the library raw. */
    private static void callWithCorruptQ(Consumer<MemorySegment> corrupt) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, B, H, N, D);
            Tensor k = Tensor.allocate(arena, DType.F32, B, H, N, D);
            Tensor v = Tensor.allocate(arena, DType.F32, B, H, N, D);
            Tensor out = Tensor.allocate(arena, DType.F32, B, H, N, D);
            ExactAttention.validate(q, k, v, out, null);
            MemorySegment qd = Descriptors.of(arena, q);
            corrupt.accept(qd);
            MemorySegment params = ha_exact_params.allocate(arena);
            hyperattn_h.ha_exact_params_init(params);
            int status = hyperattn_h.ha_attention_exact(qd, Descriptors.of(arena, k), Descriptors.of(arena, v),
                    Descriptors.of(arena, out), MemorySegment.NULL, params, Descriptors.data(q),
                    Descriptors.data(k), Descriptors.data(v), Descriptors.data(out), MemorySegment.NULL);
            Native.check(status, "ha_attention_exact");
        }
    }

    private static void assertRejected(String what, Consumer<MemorySegment> corrupt) {
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> callWithCorruptQ(corrupt), what);
        HyperattnException e = thrown instanceof HyperattnException h ? h : (HyperattnException) thrown.getCause();
        if (e.status() == HyperattnException.Status.INVALID_ARGUMENT) {
            assertTrue(thrown instanceof IllegalArgumentException, what + ": " + thrown);
        }
        assertTrue(e.code() != 0, what);
        assertFalse(e.nativeMessage().isEmpty(), what + ": the library should say why");
        assertTrue(e.getMessage().contains(e.nativeMessage()), what);
        stillWorks();
    }

    private static void stillWorks() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, B, H, N, D);
            Tensor out = Tensor.allocate(arena, DType.F32, B, H, N, D);
            Tensor v = Tensor.allocate(arena, DType.F32, B, H, N, D);
            v.fill(2f);
            Attention.exact().causal(true).run(q, q, v, out);
            assertEquals(2f, out.getFloat(0, 1, N - 1, D - 1), 1e-6);
        }
    }

    @Test
    void reservedDtypeIsRejected() {
        // (f16 is a CPU dtype now: q alone of f16 is a mix the library must still refuse.)
        assertRejected("f16 q among f32 operands", d -> ha_tensor.dtype(d, hyperattn_h.HA_DTYPE_F16()));
    }

    @Test
    void unknownDtypeIsRejected() {
        assertRejected("dtype 77", d -> ha_tensor.dtype(d, 77));
    }

    @Test
    void nonZeroReservedFieldIsRejected() {
        assertRejected("reserved = 7", d -> ha_tensor.reserved(d, 7));
    }

    @Test
    void nullDataIsRejected() {
        assertRejected("data NULL", d -> ha_tensor.data(d, MemorySegment.NULL));
    }

    @Test
    void negativeStrideIsRejected() {
        assertRejected("stride -1", d -> ha_tensor.strides(d, 3, -1));
    }

    @Test
    void unknownDeviceIsRejected() {
        assertRejected("device 9", d -> ha_tensor.device_type(d, 9));
    }

    @Test
    void invalidIsaCodeBecomesAnException() {
        HyperattnException e = (HyperattnException) assertThrows(IllegalArgumentException.class,
                () -> Native.check(hyperattn_h.ha_set_cpu_isa(99), "ha_set_cpu_isa")).getCause();
        assertFalse(e.nativeMessage().isEmpty());
        Hyperattn.setCpuIsa(CpuIsa.AUTO);
        stillWorks();
    }

    @Test
    void unknownStructIsRejectedByAbiLayout() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment outVal = arena.allocate(8);
            int status = hyperattn_h.ha_abi_layout(arena.allocateFrom("no_such_struct"), MemorySegment.NULL, outVal);
            assertEquals(hyperattn_h.HA_ERR_INVALID_ARGUMENT(), status);
            assertFalse(Native.lastError().isEmpty());
        }
    }
}
