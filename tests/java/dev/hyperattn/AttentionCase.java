package dev.hyperattn;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

/**
 * One exact-attention problem: shapes, mask, dtype, memory layout. {@link #check} runs it
 * through the library on fresh random inputs and compares with the float64 reference.
 */
record AttentionCase(String name, long b, long hq, long hkv, long nq, long nk, long d, boolean causal,
        DType dtype, boolean bshd, float scale, double amplitude) {

    static AttentionCase of(String name, long b, long hq, long hkv, long nq, long nk, long d, boolean causal,
            DType dtype) {
        return new AttentionCase(name, b, hq, hkv, nq, nk, d, causal, dtype, false, 0f, 1.0);
    }

    AttentionCase bshdLayout() {
        return new AttentionCase(name + " bshd", b, hq, hkv, nq, nk, d, causal, dtype, true, scale, amplitude);
    }

    AttentionCase withScale(float s) {
        return new AttentionCase(name + " scale=" + s, b, hq, hkv, nq, nk, d, causal, dtype, bshd, s, amplitude);
    }

    /** Larger inputs make the softmax peaky, which stresses the online max/rescale path. */
    AttentionCase withAmplitude(double a) {
        return new AttentionCase(name + " amp=" + a, b, hq, hkv, nq, nk, d, causal, dtype, bshd, scale, a);
    }

    @Override
    public String toString() {
        return String.format("%s: %s B=%d Hq=%d Hkv=%d Nq=%d Nk=%d D=%d%s%s", name, dtype, b, hq, hkv, nq, nk, d,
                causal ? " causal" : "", bshd ? " [b,s,h,d]" : "");
    }

    ExactAttention op() {
        ExactAttention op = Attention.exact().causal(causal);
        return scale != 0f ? op.scale(scale) : op;
    }

    /** Runs with and without LSE and asserts both against the reference. */
    void check() {
        long seed = TestData.nextSeed();
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = TestData.attentionOperand(arena, dtype, b, hq, nq, d, bshd);
            Tensor k = TestData.attentionOperand(arena, dtype, b, hkv, nk, d, bshd);
            Tensor v = TestData.attentionOperand(arena, dtype, b, hkv, nk, d, bshd);
            Tensor out = TestData.attentionOperand(arena, dtype, b, hq, nq, d, bshd);
            Tensor lse = Tensor.allocate(arena, DType.F32, b, hq, nq);
            TestData.fillUniform(q, rnd, amplitude);
            TestData.fillUniform(k, rnd, amplitude);
            TestData.fillUniform(v, rnd, 1.0);
            ExactAttention op = op();
            ReferenceAttention.Result ref = ReferenceAttention.compute(q, k, v, causal, op.scaleFor(d));
            String ctx = this + ", " + Hyperattn.cpuIsa() + ", " + TestData.seedNote(seed);

            TestData.poison(out);
            TestData.poison(lse);
            op.run(q, k, v, out, lse);
            Compare.assertClose("out", out.toFloatArray(), ref.out(), out.shape(), Tolerances.outAtol(dtype),
                    Tolerances.outRtol(dtype), ctx);
            Compare.assertClose("lse", lse.toFloatArray(), ref.lse(), lse.shape(), Tolerances.lseAtol(dtype),
                    Tolerances.lseRtol(dtype), ctx);

            TestData.poison(out);
            op.run(q, k, v, out);
            Compare.assertClose("out (no lse)", out.toFloatArray(), ref.out(), out.shape(), Tolerances.outAtol(dtype),
                    Tolerances.outRtol(dtype), ctx);
        }
    }
}
