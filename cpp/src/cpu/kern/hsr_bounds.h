// HSR block bounds: guarded ball bounds of key blocks, box sums, and the softmax buckets
// those bounds fall into.
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/hsr/hsr_kernels.h"
#include "cpu/kern/hsr_rows.h"

namespace ha::cpu::kern {
namespace {

using hsr::kChunkBlocks;

template <class I, int RR>
inline void ball_rows(const float* Q, int64_t ldq, int64_t D, const uint16_t* C,
                      const float* rho, const float* nq, float eta, float* U, int64_t ldu) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    constexpr int NV = kChunkBlocks / W;
    vf acc[RR][NV];
    for (int r = 0; r < RR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = I::vzero();
    for (int64_t d = 0; d < D; ++d) {
        vf c[NV];
        for (int v = 0; v < NV; ++v) c[v] = I::vld_bf16(C + d * kChunkBlocks + v * W);
        for (int r = 0; r < RR; ++r) {
            const vf q = I::vset1(Q[r * ldq + d]);
            for (int v = 0; v < NV; ++v) acc[r][v] = I::vfma(q, c[v], acc[r][v]);
        }
    }
    const vf rel = I::vset1(0x1p-20f), ev = I::vset1(eta);
    for (int r = 0; r < RR; ++r) {
        const vf n = I::vset1(nq[r]);
        for (int v = 0; v < NV; ++v) {
            const vf u = I::vfma(n, I::vld(rho + v * W), acc[r][v]);
            I::vst(U + r * ldu + v * W, I::vadd(I::vadd(u, I::vmul(I::vabs(u), rel)), ev));
        }
        // A partial sum of q·c that overflowed leaves +-inf or NaN, and no valid bound: +inf.
        for (int v = 0; v < NV * W; ++v) {
            float* x = U + r * ldu + v;
            if (!(std::fabs(*x) < INFINITY)) *x = INFINITY;
        }
    }
}

template <class I>
void ball_bounds(int R, const float* Q, int64_t ldq, int64_t D, const uint16_t* cen,
                      const float* rho, int64_t nchunks, const float* nq, float eta, float* U,
                      int64_t ldu) {
    for (int64_t ch = 0; ch < nchunks; ++ch) {
        const uint16_t* C = cen + ch * D * kChunkBlocks;
        const float* rh = rho + ch * kChunkBlocks;
        float* u = U + ch * kChunkBlocks;
        for (int r0 = 0; r0 < R; r0 += 4) {
            const float* q = Q + r0 * ldq;
            switch (R - r0 >= 4 ? 4 : R - r0) {
                case 1: ball_rows<I, 1>(q, ldq, D, C, rh, nq + r0, eta, u + r0 * ldu, ldu); break;
                case 2: ball_rows<I, 2>(q, ldq, D, C, rh, nq + r0, eta, u + r0 * ldu, ldu); break;
                case 3: ball_rows<I, 3>(q, ldq, D, C, rh, nq + r0, eta, u + r0 * ldu, ldu); break;
                default: ball_rows<I, 4>(q, ldq, D, C, rh, nq + r0, eta, u + r0 * ldu, ldu); break;
            }
        }
    }
}

template <class I>
float box_sum(const float* q, int64_t Dp, const uint16_t* lo, const uint16_t* hi) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    vf acc = I::vzero();
    for (int64_t d = 0; d < Dp; d += W) {
        const vf qv = I::vld(q + d);
        acc = I::vadd(acc, I::vmax(I::vmul(qv, I::vld_bf16(lo + d)), I::vmul(qv, I::vld_bf16(hi + d))));
    }
    return I::vhsum(acc);
}

template <class I>
void exp2v(const float* y, float* e, int64_t n) {
    constexpr int W = I::W;
    int64_t i = 0;
    for (; i + W <= n; i += W) I::vst(e + i, I::vexp2(I::vld(y + i)));
    for (; i < n; ++i) e[i] = y[i] < -125.f ? 0.f : std::exp2(y[i]);
}

template <class I>
void bucket_prep(const float* U, int64_t n, float top, float cl, const int32_t* bstart,
                 float* e, uint8_t* lvl) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    int64_t b = 0;
    if constexpr (I::level >= 3) {
        b = I::bucket_prep_blocks(U, n, top, cl, bstart, e, lvl);
    } else {
        const vf tv = I::vset1(top), cv = I::vset1(cl), lo = I::vset1(-120.f), infl = I::vset1(1.f + 0x1p-14f);
        for (; b + W <= n; b += W) {
            bool special = false;
            for (int i = 0; i < W; ++i) special |= !(U[b + i] < INFINITY) || U[b + i] == -INFINITY;
            if (special) break;  // the scalar loop takes it from here
            const vf y = I::vmax(I::vmul(I::vsub(I::vld(U + b), tv), cv), lo);
            alignas(64) float ev[W], yy[W];
            I::vst(ev, I::vmul(I::vexp2(y), infl));
            I::vst(yy, y);
            for (int i = 0; i < W; ++i) {
                e[b + i] = ev[i] * float(bstart[b + i + 1] - bstart[b + i]);
                lvl[b + i] = uint8_t(-yy[i] >= 120.f ? 120 : int(-yy[i]));
            }
        }
    }
    for (; b < n; ++b) {
        const float u = U[b];
        if (u == -INFINITY) {
            lvl[b] = 255;
            e[b] = 0.f;
        } else if (!(u < INFINITY)) {  // +inf or NaN
            lvl[b] = 0;
            e[b] = INFINITY;
        } else {
            const float y = fmaxf_((u - top) * cl, -120.f);
            e[b] = std::exp2(y) * (1.f + 0x1p-14f) * float(bstart[b + 1] - bstart[b]);
            lvl[b] = uint8_t(-y >= 120.f ? 120 : int(-y));
        }
    }
}

}  // namespace
}  // namespace ha::cpu::kern
