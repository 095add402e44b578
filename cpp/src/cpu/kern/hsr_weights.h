// HSR weights of a block of scores: the online softmax step, and ReLU^power.
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/kern/hsr_rows.h"

namespace ha::cpu::kern {
namespace {

template <class I>
void softmax_weights(int R, const float* S, int64_t lds, int n, float c, float* m,
                     float* alpha, float* bsum, float* P, int64_t ldp) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    const vf cv = I::vset1(c);
    for (int r = 0; r < R; ++r) {
        const float* s = S + r * lds;
        float* p = P + r * ldp;
        vf mx = I::vset1(-INFINITY);
        for (int j = 0; j < n; j += W) {
            vf x = I::vmul(I::vld(s + j), cv);
            if (n - j < W) x = I::vmask_tail(x, n - j);
            I::vst(p + j, x);
            mx = I::vmax(mx, x);
        }
        const float m_old = m[r];
        const float m_new = fmaxf_(m_old, I::vhmax(mx));
        const float mu = m_new == -INFINITY ? 0.f : m_new;
        alpha[r] = m_old == -INFINITY ? 0.f : std::exp2(m_old - mu);
        const vf muv = I::vset1(mu);
        vf sum = I::vzero();
        for (int j = 0; j < n; j += W) {
            const vf e = I::vexp2(I::vsub(I::vld(p + j), muv));
            sum = I::vadd(sum, e);
            I::vst(p + j, e);
        }
        bsum[r] = I::vhsum(sum);
        m[r] = m_new;
    }
}

template <class I>
inline typename I::vf vpow(typename I::vf b, int32_t e) {
    typename I::vf r = I::vset1(1.f);
    while (e > 0) {
        if (e & 1) r = I::vmul(r, b);
        e >>= 1;
        if (e) b = I::vmul(b, b);
    }
    return r;
}

inline float spow(float b, int32_t e) {
    float r = 1.f;
    while (e > 0) {
        if (e & 1) r *= b;
        e >>= 1;
        if (e) b *= b;
    }
    return r;
}

template <class I>
void relu_weights(int R, const float* S, int64_t lds, int n, float scale, float bias,
                  int32_t power, float* xm, float* resc, float* bsum, float* P, int64_t ldp) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    const vf sv = I::vset1(scale), bv = I::vset1(bias), zero = I::vzero(), one = I::vset1(1.f);
    for (int r = 0; r < R; ++r) {
        const float* s = S + r * lds;
        float* p = P + r * ldp;
        vf mx = zero;
        for (int j = 0; j < n; j += W) {
            // max(x, 0) with x first: a NaN x yields 0 (SSE max returns its second operand).
            vf x = I::vmax(I::vsub(I::vmul(I::vld(s + j), sv), bv), zero);
            if (n - j < W) x = I::vmax(I::vmask_tail(x, n - j), zero);
            I::vst(p + j, x);
            mx = I::vmax(mx, x);
        }
        const float x_old = xm[r];
        const float x_new = fmaxf_(x_old, I::vhmax(mx));
        if (x_new == 0.f) {
            for (int j = 0; j < n; j += W) I::vst(p + j, zero);
            resc[r] = 1.f;
            bsum[r] = 0.f;
            continue;
        }
        resc[r] = x_old == 0.f ? 0.f : spow(fminf(x_old / x_new, 1.f), power);
        const vf inv = I::vset1(1.f / x_new);
        vf sum = I::vzero();
        for (int j = 0; j < n; j += W) {
            // Clamped at 1 so that a rounding above 1 cannot blow up under a large power.
            const vf w = vpow<I>(I::vmin(I::vmul(I::vld(p + j), inv), one), power);
            sum = I::vadd(sum, w);
            I::vst(p + j, w);
        }
        bsum[r] = I::vhsum(sum);
        xm[r] = x_new;
    }
}

}  // namespace
}  // namespace ha::cpu::kern
