package dev.hyperattn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.ffi.ha_approx_params;
import dev.hyperattn.ffi.hyperattn_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The approx builder and its checks before the downcall: each bad parameter or operand is an
 * IllegalArgumentException naming it; the defaults are the native ones. (These run with or
 * without the engine: nothing here reaches it.)
 */
class ApproxValidationTest {

    private static void rejects(String name, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, name);
        assertTrue(e.getMessage().startsWith(name + ":"), "message should name " + name + ": " + e.getMessage());
    }

    @Test
    void badParametersAreRejectedByName() {
        ApproxAttention a = Attention.approx();
        rejects("sinks", () -> a.sinks(-1));
        rejects("window", () -> a.window(-1));
        rejects("samples", () -> a.samples(-5));
        rejects("heavyBudget", () -> a.heavyBudget(Integer.MIN_VALUE));
        rejects("targetError", () -> a.targetError(0));
        rejects("targetError", () -> a.targetError(1));
        rejects("targetError", () -> a.targetError(-0.05));
        rejects("targetError", () -> a.targetError(Double.NaN));
        rejects("targetError", () -> a.targetError(Double.POSITIVE_INFINITY));
        rejects("scale", () -> a.scale(0f));
        rejects("scale", () -> a.scale(Float.NaN));
        rejects("scale", () -> a.scale(-1f));
        // the edges that are allowed
        assertEquals(0, a.sinks(0).window(0).samples(0).heavyBudget(0).sinks());
        assertEquals(0.999, a.targetError(0.999).targetError());
        assertEquals(1e-9, a.targetError(1e-9).targetError());
    }

    @Test
    void builderIsImmutableAndDefaultsAreNative() {
        ApproxAttention base = Attention.approx();
        ApproxAttention custom = base.causal(true).sinks(8).window(64).samples(32).heavyBudget(100)
                .targetError(0.05).seed(42).scale(0.5f);
        assertTrue(custom.isCausal());
        assertEquals(8, custom.sinks());
        assertEquals(64, custom.window());
        assertEquals(32, custom.samples());
        assertEquals(100, custom.heavyBudget());
        assertEquals(0.05, custom.targetError());
        assertTrue(custom.hasTarget());
        assertEquals(42, custom.seed());
        assertEquals(0.5f, custom.scaleFor(64));
        assertEquals(0.0, custom.noTarget().targetError());
        assertFalse(custom.noTarget().hasTarget());

        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = ha_approx_params.allocate(arena);
            hyperattn_h.ha_approx_params_init(p);
            assertEquals(ha_approx_params.causal(p) != 0, base.isCausal());
            assertEquals(ha_approx_params.sinks(p), base.sinks());
            assertEquals(ha_approx_params.window(p), base.window());
            assertEquals(ha_approx_params.samples(p), base.samples());
            assertEquals(ha_approx_params.heavy_budget(p), base.heavyBudget());
            assertEquals(ha_approx_params.target_error(p), base.targetError());
            assertEquals(ha_approx_params.seed(p), base.seed());
        }
        assertEquals(0.125f, base.scaleFor(64));
        assertTrue(base.toString().contains("default"), base.toString());
        assertTrue(custom.toString().contains("targetError=0.05"), custom.toString());
    }

    @Test
    void badOperandsAreRejectedByName() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 4, 64, 32);
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 2, 80, 32);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 2, 80, 32);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 4, 64, 32);
            ApproxAttention a = Attention.approx().causal(true).targetError(0.05);

            Tensor k16 = Tensor.allocate(arena, DType.F32, 1, 2, 80, 16);
            rejects("k", () -> a.run(q, k16, v, out));
            Tensor v70 = Tensor.allocate(arena, DType.F32, 1, 2, 70, 32);
            rejects("v", () -> a.run(q, k, v70, out));
            Tensor k3 = Tensor.allocate(arena, DType.F32, 1, 3, 80, 32);
            Tensor v3 = Tensor.allocate(arena, DType.F32, 1, 3, 80, 32);
            rejects("q", () -> a.run(q, k3, v3, out));
            Tensor outShort = Tensor.allocate(arena, DType.F32, 1, 4, 63, 32);
            rejects("out", () -> a.run(q, k, v, outShort));
            Tensor kb = Tensor.allocate(arena, DType.BF16, 1, 2, 80, 32);
            rejects("k", () -> a.run(q, kb, v, out));
            rejects("out", () -> a.run(q, k, v, q));
            Tensor lse = Tensor.allocate(arena, DType.F32, 1, 4, 65);
            rejects("lse", () -> a.run(q, k, v, out, lse));
            Tensor q3 = Tensor.allocate(arena, DType.F32, 4, 64, 32);
            rejects("q", () -> a.run(q3, k, v, out));

            ApproxStats wrongRows = ApproxStats.allocate(arena, 4 * 63);
            rejects("stats", () -> a.run(q, k, v, out, null, wrongRows));
            rejects("rows", () -> ApproxStats.allocate(arena, 0));

            Tensor otherK = Tensor.allocate(arena, DType.F32, 1, 2, 80, 32);
            KeyIndex other = KeyIndex.build(otherK);
            try (other) {
                rejects("index", () -> a.index(other).run(q, k, v, out));
            }
            // a closed index is a state problem, as everywhere in the API
            IllegalStateException closedIndex = assertThrows(IllegalStateException.class,
                    () -> a.index(other).run(q, k, v, out));
            assertTrue(closedIndex.getMessage().startsWith("index:"), closedIndex.getMessage());
        }
        // a closed arena is a state problem, as elsewhere in the API
        Arena closed = Arena.ofConfined();
        Tensor q = Tensor.allocate(closed, DType.F32, 1, 1, 8, 8);
        Tensor kv = Tensor.allocate(closed, DType.F32, 1, 1, 8, 8);
        Tensor out = Tensor.allocate(closed, DType.F32, 1, 1, 8, 8);
        closed.close();
        assertThrows(IllegalStateException.class, () -> Attention.approx().run(q, kv, kv, out));
    }

    @Test
    void statsAccessors() {
        try (Arena arena = Arena.ofConfined()) {
            ApproxStats s = ApproxStats.allocateFor(arena, Tensor.allocate(arena, DType.F32, 2, 3, 5, 8));
            assertEquals(30, s.rows());
            assertTrue(Float.isNaN(s.rowError(0)) && Float.isNaN(s.tailMassBound(29)));
            assertEquals(-1, s.keysTouched(7));
            assertEquals(-1, s.level(3));
            assertEquals(30, s.rowErrorArray().length);
            assertArrayEqualsZeroCounts(s.levelCounts());
            assertThrows(IndexOutOfBoundsException.class, () -> s.rowError(30));
            assertThrows(IndexOutOfBoundsException.class, () -> s.level(-1));
        }
    }

    private static void assertArrayEqualsZeroCounts(long[] counts) {
        assertEquals(3, counts.length);
        assertEquals(0, counts[0] + counts[1] + counts[2]);
    }
}
