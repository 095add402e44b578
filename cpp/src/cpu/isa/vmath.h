// Vector functions every ISA computes from its primitives alone. Each traits type forwards its
// vexp2 / vtanh here (static vf vexp2(vf x) { return vec_exp2<Avx2>(x); }), so the kernels call
// Isa::vexp2 like any primitive and every path evaluates the same polynomial in the same order.
// (Templates on the traits type, not on the vector type: GCC drops the attributes of __m256
// and its kin when they are template arguments, and says so.)
#pragma once

#include <cmath>

namespace ha::cpu::isa {
namespace {

// 2^x for x <= 0 (softmax arguments after subtracting the row max). Cephes' exp2f
// polynomial on the reduced argument f in [-0.5, 0.5]: ~1 ulp. Results below 2^-125 (and
// x = -inf, masked keys) are flushed to exactly 0, which keeps the exponent trick valid.
// NaN stays NaN (a NaN or +inf score makes its row NaN: the non-finite policy in
// hyperattn.h).
template <class I>
inline typename I::vf vec_exp2(typename I::vf x) {
    using V = typename I::vf;
    const V xc = I::vmax(x, I::vset1(-126.f));
    const auto n = I::vround_i(xc);  // round to nearest (MXCSR default)
    const V f = I::vsub(xc, I::vcvt_f(n));
    V p = I::vset1(1.535336188319500e-4f);
    p = I::vfma(p, f, I::vset1(1.339887440266574e-3f));
    p = I::vfma(p, f, I::vset1(9.618437357674640e-3f));
    p = I::vfma(p, f, I::vset1(5.550332471162809e-2f));
    p = I::vfma(p, f, I::vset1(2.402264791363012e-1f));
    p = I::vfma(p, f, I::vset1(6.931472028550421e-1f));
    p = I::vfma(p, f, I::vset1(1.f));
    return I::vkeep_nan(x, I::vzero_where_lt(x, I::vscale_pow2(p, n), -125.f));
}

// tanh(x) = sign(x) (1 - t) / (1 + t), t = e^{-2|x|} in (0, 1]: no overflow for any x,
// +-inf -> +-1, NaN stays NaN. Absolute error ~1e-7 (logit soft-capping multiplies it by
// the cap; the softmax is sensitive to absolute, not relative, score errors).
template <class I>
inline typename I::vf vec_tanh(typename I::vf x) {
    using V = typename I::vf;
    const V sign = I::vset1(-0.f);
    const V a = I::vandnot(sign, x);
    const V t = vec_exp2<I>(I::vmul(a, I::vset1(-2.8853900817779268f)));  // -2 log2(e)
    const V r = I::vdiv(I::vsub(I::vset1(1.f), t), I::vadd(I::vset1(1.f), t));
    return I::vor(r, I::vand(sign, x));
}

}  // namespace
}  // namespace ha::cpu::isa
