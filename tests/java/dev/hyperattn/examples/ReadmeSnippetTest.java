package dev.hyperattn.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import dev.hyperattn.*;
import java.lang.foreign.*;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The README's example, verbatim and outside the library's package so it sees only the public
 * API, filled with random data and checked on a sample of rows.
 */
class ReadmeSnippetTest {

    @Test
    void readmeExampleRunsAndIsCorrect() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 1, 32, 4096, 128);   // [batch, heads, seq, headDim]
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 128);    // GQA: 8 kv heads
            Tensor v = Tensor.allocate(arena, DType.F32, 1, 8, 4096, 128);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 32, 4096, 128);
            fill(q.segment(), rnd);
            fill(k.segment(), rnd);
            fill(v.segment(), rnd);
            out.segment().fill((byte) 0xFF); // all-ones bytes are NaN floats: unwritten rows show
            Attention.exact().causal(true).run(q, k, v, out);
            MemorySegment bshd = arena.allocate(4L * 4096 * 32 * 128, 64);
            Tensor q2 = Tensor.wrap(bshd, DType.F32, new long[]{1, 32, 4096, 128},
                                    new long[]{4096L * 32 * 128, 128, 32 * 128, 1});

            checkSampledRows(q, k, v, out, 24, seed);

            // q2 addresses the [b,s,h,d] buffer: element (0, h, s, d) sits at ((s*32 + h)*128 + d).
            assertArrayEquals(new long[] {1, 32, 4096, 128}, q2.shape());
            bshd.setAtIndex(ValueLayout.JAVA_FLOAT, (5L * 32 + 3) * 128 + 7, 42f);
            assertEquals(42f, q2.getFloat(0, 3, 5, 7));
            assertFalse(q2.isContiguous());
        }
    }

    private static void fill(MemorySegment seg, SplittableRandom rnd) {
        for (long i = 0; i < seg.byteSize() / 4; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (rnd.nextDouble() * 2 - 1));
        }
    }

    /**
     * Float64 causal GQA attention for a few (head, row) pairs, including the first and last
     * rows (the mask's edges). fp32 tolerance 3e-5 absolute on O(1) outputs: see Tolerances.
     */
    private static void checkSampledRows(Tensor q, Tensor k, Tensor v, Tensor out, int rows, long seed) {
        long hq = q.shape(1), n = q.shape(2), d = q.shape(3), group = hq / k.shape(1);
        double scale = 1 / Math.sqrt(d);
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        double[] s = new double[(int) n];
        for (int r = 0; r < rows; r++) {
            long h = rnd.nextLong(hq);
            long i = r == 0 ? 0 : r == 1 ? n - 1 : rnd.nextLong(n);
            long kh = h / group;
            double max = Double.NEGATIVE_INFINITY;
            for (long j = 0; j <= i; j++) {
                double dot = 0;
                for (long c = 0; c < d; c++) {
                    dot += (double) q.getFloat(0, h, i, c) * k.getFloat(0, kh, j, c);
                }
                s[(int) j] = dot * scale;
                max = Math.max(max, s[(int) j]);
            }
            double sum = 0;
            for (long j = 0; j <= i; j++) {
                s[(int) j] = Math.exp(s[(int) j] - max);
                sum += s[(int) j];
            }
            for (long c = 0; c < d; c++) {
                double ref = 0;
                for (long j = 0; j <= i; j++) {
                    ref += s[(int) j] / sum * v.getFloat(0, kh, j, c);
                }
                float got = out.getFloat(0, h, i, c);
                if (!(Math.abs(got - ref) <= 3e-5 + 1e-5 * Math.abs(ref))) {
                    fail(String.format("out[0,%d,%d,%d] = %s, expected %s (seed %d)", h, i, c, got, ref, seed));
                }
            }
        }
    }
}
