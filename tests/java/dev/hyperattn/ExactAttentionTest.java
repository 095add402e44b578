package dev.hyperattn;

import static dev.hyperattn.DType.BF16;
import static dev.hyperattn.DType.F16;
import static dev.hyperattn.DType.F32;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Exact attention against the float64 reference over the shape space that breaks kernels. */
class ExactAttentionTest {

    static Stream<AttentionCase> cases() {
        return Stream.of(
                AttentionCase.of("single token", 1, 2, 2, 1, 1, 64, false, F32),
                AttentionCase.of("single token causal", 1, 2, 2, 1, 1, 64, true, F32),
                AttentionCase.of("decode row", 1, 8, 2, 1, 257, 128, true, F32),
                AttentionCase.of("decode row", 1, 8, 2, 1, 257, 128, false, F32),
                AttentionCase.of("odd lengths", 2, 3, 3, 37, 53, 63, false, F32),
                AttentionCase.of("odd lengths causal", 1, 4, 2, 129, 129, 80, true, F32),
                AttentionCase.of("Nq<Nk causal", 1, 4, 4, 17, 100, 64, true, F32),
                AttentionCase.of("Nq>Nk causal (empty rows)", 1, 2, 1, 50, 20, 64, true, F32),
                AttentionCase.of("Nq>Nk", 1, 2, 2, 70, 31, 32, false, F32),
                AttentionCase.of("d=1", 1, 2, 2, 33, 33, 1, true, F32),
                AttentionCase.of("d=1", 1, 2, 1, 9, 40, 1, false, F32),
                AttentionCase.of("d=63", 1, 2, 2, 65, 65, 63, true, F32),
                AttentionCase.of("d=64", 1, 2, 2, 64, 64, 64, true, F32),
                AttentionCase.of("d=80", 1, 2, 1, 70, 70, 80, false, F32),
                AttentionCase.of("d=128 GQA", 1, 8, 2, 128, 128, 128, true, F32),
                AttentionCase.of("d=256", 1, 2, 1, 65, 70, 256, true, F32),
                AttentionCase.of("d=256", 1, 2, 2, 40, 33, 256, false, F32),
                AttentionCase.of("MQA", 2, 6, 1, 40, 45, 64, false, F32),
                AttentionCase.of("MQA causal", 1, 4, 1, 96, 96, 128, true, F32),
                AttentionCase.of("strided", 2, 4, 2, 45, 60, 64, true, F32).bshdLayout(),
                AttentionCase.of("strided", 1, 4, 1, 33, 17, 128, false, F32).bshdLayout(),
                AttentionCase.of("peaky softmax", 1, 2, 2, 64, 200, 64, true, F32).withAmplitude(4),
                AttentionCase.of("explicit scale", 1, 2, 2, 31, 47, 64, false, F32).withScale(0.3f),
                AttentionCase.of("bf16 GQA causal", 1, 4, 2, 64, 80, 64, true, BF16),
                AttentionCase.of("bf16 odd", 1, 2, 2, 33, 47, 128, false, BF16),
                AttentionCase.of("bf16 d=80 strided", 1, 4, 2, 50, 50, 80, true, BF16).bshdLayout(),
                AttentionCase.of("bf16 d=256", 1, 2, 1, 40, 40, 256, true, BF16),
                AttentionCase.of("bf16 d=1", 1, 2, 2, 20, 20, 1, false, BF16),
                AttentionCase.of("bf16 Nq>Nk causal", 1, 2, 2, 40, 25, 64, true, BF16),
                AttentionCase.of("bf16 single token", 1, 2, 1, 1, 1, 64, false, BF16),
                AttentionCase.of("many tiles", 2, 4, 2, 300, 333, 96, true, F32),
                AttentionCase.of("bf16 many tiles", 1, 4, 1, 257, 300, 128, false, BF16),
                AttentionCase.of("f16 GQA causal", 1, 4, 2, 64, 80, 64, true, F16),
                AttentionCase.of("f16 odd", 1, 2, 2, 33, 47, 63, false, F16),
                AttentionCase.of("f16 d=80 strided", 1, 4, 2, 50, 50, 80, true, F16).bshdLayout(),
                AttentionCase.of("f16 d=256", 1, 2, 1, 40, 40, 256, true, F16),
                AttentionCase.of("f16 Nq>Nk causal", 1, 2, 2, 40, 25, 64, true, F16),
                AttentionCase.of("f16 decode row GQA", 1, 8, 2, 1, 700, 128, true, F16),
                AttentionCase.of("f16 decode rows strided", 1, 8, 2, 3, 333, 64, false, F16).bshdLayout(),
                AttentionCase.of("f16 decode split-KV", 1, 4, 1, 1, 5000, 128, false, F16),
                AttentionCase.of("f16 peaky softmax", 1, 2, 2, 64, 200, 64, true, F16).withAmplitude(4),
                AttentionCase.of("f16 many tiles", 1, 4, 1, 257, 300, 128, false, F16));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesReference(AttentionCase c) {
        c.check();
    }

    /** LSE may be [B, H, N, 1] as the C ABI describes it, or a strided view. */
    @Test
    void lseRank4AndStrided() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        long b = 2, h = 4, n = 45, d = 64;
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, F32, b, h, n, d);
            Tensor k = Tensor.allocate(arena, F32, b, 2, n, d);
            Tensor v = Tensor.allocate(arena, F32, b, 2, n, d);
            TestData.fillUniform(q, rnd, 1);
            TestData.fillUniform(k, rnd, 1);
            TestData.fillUniform(v, rnd, 1);
            Tensor out = Tensor.allocate(arena, F32, b, h, n, d);
            ReferenceAttention.Result ref = ReferenceAttention.compute(q, k, v, true, 1 / Math.sqrt(d));
            // Every other float of a buffer, heads-major inside: strides [h*n*2, 2, h*2].
            MemorySegment buf = arena.allocate(4 * b * h * n * 2, 64);
            Tensor[] lses = {
                Tensor.allocate(arena, F32, b, h, n, 1),
                Tensor.wrap(buf, F32, new long[] {b, h, n}, new long[] {h * n * 2, 2, h * 2}),
            };
            for (Tensor lse : lses) {
                TestData.poison(lse);
                Attention.exact().causal(true).run(q, k, v, out, lse);
                Compare.assertClose("lse " + lse, lse.toFloatArray(), ref.lse(), lse.shape(), Tolerances.lseAtol(F32),
                        Tolerances.lseRtol(F32), TestData.seedNote(seed));
            }
        }
    }
}
