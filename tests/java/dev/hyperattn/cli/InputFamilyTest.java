package dev.hyperattn.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hyperattn.Attention;
import dev.hyperattn.DType;
import dev.hyperattn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The input families and the e_i metric the demo and the approx tests rely on. */
class InputFamilyTest {

    private static Tensor[] make(Arena arena, DType dtype, long hq, long hkv, long nq, long nk, long d) {
        return new Tensor[] {Tensor.allocate(arena, dtype, 1, hq, nq, d), Tensor.allocate(arena, dtype, 1, hkv, nk, d),
            Tensor.allocate(arena, dtype, 1, hkv, nk, d), Tensor.allocate(arena, dtype, 1, hq, nq, d)};
    }

    @Test
    void deterministicFromTheSeedForAnyShape() {
        try (Arena arena = Arena.ofConfined()) {
            for (InputFamily f : InputFamily.values()) {
                Tensor[] a = make(arena, DType.F32, 4, 2, 300, 1100, 64);
                Tensor[] b = make(arena, DType.F32, 4, 2, 300, 1100, 64);
                f.fill(a[0], a[1], a[2], 5);
                f.fill(b[0], b[1], b[2], 5);
                for (int i = 0; i < 3; i++) {
                    assertArrayEquals(a[i].toFloatArray(), b[i].toFloatArray(), f.label());
                    for (float x : a[i].toFloatArray()) {
                        assertTrue(Float.isFinite(x), f.label());
                    }
                }
                f.fill(b[0], b[1], b[2], 6);
                assertFalse(Arrays.equals(a[1].toFloatArray(), b[1].toFloatArray()), f.label() + ": seed matters");
                // Nq > Nk, bf16, strided: fills without error
                Tensor[] c = make(arena, DType.BF16, 2, 1, 40, 30, 128);
                f.fill(c[0], c[1], c[2], 7);
                MemorySegment seg = arena.allocate(4L * 50 * 2 * 16, 64);
                Tensor bshd = Tensor.wrap(seg, DType.F32, new long[] {1, 2, 50, 16}, new long[] {50 * 2 * 16, 16, 32, 1});
                Tensor kk = Tensor.allocate(arena, DType.F32, 1, 1, 20, 16);
                f.fill(bshd, kk, Tensor.allocate(arena, DType.F32, 1, 1, 20, 16), 8);
            }
        }
        assertEquals(InputFamily.NEEDLE, InputFamily.parse(" Needle"));
        assertThrows(IllegalArgumentException.class, () -> InputFamily.parse("uniform"));
    }

    /** The needle carries most of the mass of its group's rows; the trivial estimator misses it. */
    @Test
    void needlesDominateTheirRows() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = make(arena, DType.F32, 2, 1, 2048, 2048, 64);
            InputFamily.NEEDLE.fill(t[0], t[1], t[2], 9);
            long[] rows = {1 * 2048 + 1500, 1800, 2047, 100};
            RowErrors ref = RowErrors.reference(t[0], t[1], t[2], true, 0.125f, rows, null);
            double[] trivial = ref.trivial().rowErrors();
            // rows at position >= 1024 have a needle: the mean of V is far from their output
            assertTrue(trivial[0] > 0.4 && trivial[1] > 0.4 && trivial[2] > 0.4, Arrays.toString(trivial));
            // a row with no needle is diffuse: the mean is close
            assertTrue(trivial[3] < 0.4, Arrays.toString(trivial));
        }
    }

    @Test
    void metricOfExactAndTrivialOutputs() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = make(arena, DType.F32, 4, 2, 200, 500, 32);
            InputFamily.LLM.fill(t[0], t[1], t[2], 3);
            float scale = (float) (1 / Math.sqrt(32));
            Attention.exact().causal(true).scale(scale).run(t[0], t[1], t[2], t[3]);
            long[] all = RowErrors.sampleRows(t[0], t[1], true, 1_000_000, 1);
            assertEquals(4 * 200, all.length);
            long[] some = RowErrors.sampleRows(t[0], t[1], true, 50, 1);
            assertEquals(50, some.length);
            assertEquals(50, Arrays.stream(some).distinct().count());
            RowErrors ref = RowErrors.reference(t[0], t[1], t[2], true, scale, all, null);
            RowErrors.Summary exact = ref.evaluate(t[3]);
            assertTrue(exact.max() < 1e-5 && exact.frobenius() < 1e-5, exact.max() + " " + exact.frobenius());
            assertEquals(1.0, exact.fractionWithin(1e-5));

            // the trivial estimator written as an output scores exactly trivial()
            Tensor v = t[2];
            for (long h = 0; h < 4; h++) {
                for (long i = 0; i < 200; i++) {
                    long last = i + 300;
                    for (long c = 0; c < 32; c++) {
                        double s = 0;
                        for (long j = 0; j <= last; j++) {
                            s += v.getFloat(0, h / 2, j, c);
                        }
                        t[3].setFloat((float) (s / (last + 1)), 0, h, i, c);
                    }
                }
            }
            RowErrors.Summary triv = ref.evaluate(t[3]);
            assertEquals(ref.trivial().mean(), triv.mean(), 1e-5);
            assertTrue(triv.mean() > 0.05, "llm rows are not flat: " + triv.mean());
            // e_i is relative to sqrt(sum p ||v||^2) >= ||o||: the zero output has e_i <= 1
            t[3].fill(0f);
            RowErrors.Summary zero = ref.evaluate(t[3]);
            assertTrue(zero.max() <= 1 + 1e-9, "zero output: " + zero.max());
            // NaN outputs are infinitely wrong, not silently fine
            t[3].fill(Float.NaN);
            assertEquals(Double.POSITIVE_INFINITY, ref.evaluate(t[3]).max());
        }
        // rows that see no key are never sampled
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = make(arena, DType.F32, 1, 1, 10, 4, 8);
            long[] rows = RowErrors.sampleRows(t[0], t[1], true, 100, 1);
            assertArrayEquals(new long[] {6, 7, 8, 9}, rows);
        }
    }
}
