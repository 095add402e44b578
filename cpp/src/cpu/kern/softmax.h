// The online softmax of one row over a block of raw scores: every path (the GEMM tile step,
// decode, HyperAttention's rows) goes through softmax_row_update, so all agree on the masking
// and on the treatment of rows that have seen no key yet.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu/kern/shape.h"

namespace ha::cpu::kern {
namespace {

// How raw (packed-q) scores become log2-unit logits: one multiply, or the soft cap.
template <class I>
struct ScoreMap {
    using vf = typename I::vf;
    vf c, tc, cl;
    bool capped;
    explicit ScoreMap(const Shape& s)
        : c(I::vset1(s.c)), tc(I::vset1(s.tc)), cl(I::vset1(s.cl)), capped(s.capped) {}
    vf operator()(vf raw) const {
        return capped ? I::vmul(cl, I::vtanh(I::vmul(raw, tc))) : I::vmul(raw, c);
    }
};

// One row's online-softmax step over WIDTH raw scores sr (WIDTH a multiple of W): maps them
// to log2-unit logits (sm: a ScoreMap, or any vector-to-vector map such as HyperAttention's
// biased one), masks keys before `skip` and from `keep` on, updates the running max m and sum
// l, and hands each vector of probabilities to store(v, e). Returns alpha, the factor that
// rescales the row's accumulated O.
template <class I, int WIDTH, class Map, class StoreP>
inline __attribute__((always_inline)) float softmax_row_update(float* sr, int64_t skip,
                                                               int64_t keep, const Map& sm,
                                                               float& m, float& l,
                                                               StoreP&& store) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    vf mx = I::vset1(-INFINITY);
    for (int v = 0; v < WIDTH / W; ++v) {
        vf x = sm(I::vld(sr + v * W));
        if (keep < WIDTH) x = I::vmask_tail(x, int(std::max<int64_t>(0, keep - v * W)));
        if (skip > v * W) x = I::vmask_head(x, int(std::min<int64_t>(W, skip - v * W)));
        I::vst(sr + v * W, x);
        mx = I::vmax(mx, x);
    }
    const float m_new = std::max(m, I::vhmax(mx));
    // A row that has seen no key yet keeps m = -inf; subtracting 0 then gives exp2(-inf) = 0
    // instead of the NaN of -inf - -inf.
    const float m_use = m_new == -INFINITY ? 0.f : m_new;
    // Once a row's max has settled most tiles leave it unchanged: alpha is then exp2(0) = 1
    // exactly, without the scalar exp2 call (a libm call per row and tile).
    const float alpha = m == -INFINITY ? 0.f : m == m_new ? 1.f : std::exp2(m - m_use);
    const vf mu = I::vset1(m_use);
    vf sum = I::vzero();
    for (int v = 0; v < WIDTH / W; ++v) {
        const vf e = I::vexp2(I::vsub(I::vld(sr + v * W), mu));
        sum = I::vadd(sum, e);
        store(v, e);
    }
    l = I::fma_scalar(l, alpha, I::vhsum(sum));
    m = m_new;
    return alpha;
}

}  // namespace
}  // namespace ha::cpu::kern
