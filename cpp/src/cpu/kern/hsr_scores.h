// HSR scores: S = Q·Kᵀ for a few query rows against keys read in place (contiguous or
// gathered through the block permutation), each key row read once, front to back.
#pragma once

#include <cstdint>

#include "cpu/kern/hsr_rows.h"
#include "cpu/prefetch.h"

namespace ha::cpu::kern {
namespace {

// R rows (R <= 4) against four keys: every key row is read once, front to back.
template <class I, int BF, int R>
inline void dot4(const float* Q, int64_t ldq, int64_t D, const void* const* k, float* out) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    vf acc[R][4];
    for (int r = 0; r < R; ++r)
        for (int i = 0; i < 4; ++i) acc[r][i] = I::vzero();
    for (int64_t d = 0; d < D; d += W) {
        const vf k0 = vld_row<I, BF>(k[0], d), k1 = vld_row<I, BF>(k[1], d), k2 = vld_row<I, BF>(k[2], d),
                 k3 = vld_row<I, BF>(k[3], d);
        for (int r = 0; r < R; ++r) {
            const vf q = I::vld(Q + r * ldq + d);
            acc[r][0] = I::vfma(q, k0, acc[r][0]);
            acc[r][1] = I::vfma(q, k1, acc[r][1]);
            acc[r][2] = I::vfma(q, k2, acc[r][2]);
            acc[r][3] = I::vfma(q, k3, acc[r][3]);
        }
    }
    for (int r = 0; r < R; ++r) I::reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3], out + 4 * r);
}

// bf16 keys with D a multiple of 2W: each 2W-element chunk of Qp holds a query row's even
// elements, then its odd ones, matching vld_bf16_pairs.
template <class I, int R>
inline void dot4_pairs(const float* Qp, int64_t D, const void* const* k, float* out) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    vf acc[R][4];
    for (int r = 0; r < R; ++r)
        for (int i = 0; i < 4; ++i) acc[r][i] = I::vzero();
    for (int64_t d = 0; d < D; d += 2 * W) {
        vf e[4], o[4];
        for (int i = 0; i < 4; ++i) I::vld_bf16_pairs(static_cast<const uint16_t*>(k[i]) + d, e[i], o[i]);
        for (int r = 0; r < R; ++r) {
            const vf qe = I::vld(Qp + r * D + d), qo = I::vld(Qp + r * D + d + W);
            for (int i = 0; i < 4; ++i) acc[r][i] = I::vfma(qo, o[i], I::vfma(qe, e[i], acc[r][i]));
        }
    }
    for (int r = 0; r < R; ++r) I::reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3], out + 4 * r);
}

// Software prefetch distances, in rows (measured on Zen 5): contiguous rows stay PF_DIST rows
// ahead of the four streams a dot4 walks; gathered rows (through the block permutation) are
// requested PF_GATHER keys ahead, since no hardware prefetcher can guess them.
constexpr int64_t PF_DIST = 16;
constexpr int PF_GATHER = 16;
template <class I, int BF, int R>
void scores_rows(const float* Q, int64_t ldq, int64_t D, const RowSrc& k, const int32_t* pos,
                 int64_t first, int n, float* S, int64_t lds) {
    constexpr int W = I::W;
    alignas(64) float out[4 * 4];
    const int64_t row_bytes = D * (BF != kF32 ? 2 : 4);
    const bool pairs = BF == kBf16 && D % (2 * W) == 0;
    alignas(64) float Qp[R * 256];  // pairs: the rows de-interleaved (D <= 256)
    if (pairs)
        for (int r = 0; r < R; ++r)
            for (int64_t d = 0; d < D; d += 2 * W)
                for (int i = 0; i < W; ++i) {
                    Qp[r * D + d + i] = Q[r * ldq + d + 2 * i];
                    Qp[r * D + d + W + i] = Q[r * ldq + d + 2 * i + 1];
                }
    for (int j = 0; j < n; j += 4) {
        const void* kp[4];
        for (int i = 0; i < 4; ++i) kp[i] = row_ptr(k, pos, first, j + i < n ? j + i : n - 1);
        if (PF_DIST > 0 && !pos) {  // contiguous rows: stay a few rows ahead of the streams
            const char* ahead = static_cast<const char*>(kp[3]) + PF_DIST * k.row * (BF != kF32 ? 2 : 4);
            for (int64_t o = 0; o < 4 * row_bytes; o += 64) HA_PREFETCH_L1(ahead + o);
        } else if (PF_GATHER > 0 && pos && j + PF_GATHER < n) {  // gathered rows: into L1
            for (int i = 0; i < 4 && j + PF_GATHER + i < n; ++i) {
                const char* r = static_cast<const char*>(row_ptr(k, pos, first, j + PF_GATHER + i));
                for (int64_t o = 0; o < row_bytes; o += 64) HA_PREFETCH_L1(r + o);
            }
        }
        if (pairs)
            dot4_pairs<I, R>(Qp, D, kp, out);
        else
            dot4<I, BF, R>(Q, ldq, D, kp, out);
        const int cnt = n - j < 4 ? n - j : 4;
        for (int r = 0; r < R; ++r)
            for (int i = 0; i < cnt; ++i) S[r * lds + j + i] = out[4 * r + i];
    }
}

template <class I, int BF>
void scores_fast(int R, const float* Q, int64_t ldq, int64_t D, const RowSrc& k,
                 const int32_t* pos, int64_t first, int n, float* S, int64_t lds) {
    for (int r0 = 0; r0 < R; r0 += 4) {
        const float* q = Q + r0 * ldq;
        float* s = S + r0 * lds;
        switch (R - r0 >= 4 ? 4 : R - r0) {
            case 1: scores_rows<I, BF, 1>(q, ldq, D, k, pos, first, n, s, lds); break;
            case 2: scores_rows<I, BF, 2>(q, ldq, D, k, pos, first, n, s, lds); break;
            case 3: scores_rows<I, BF, 3>(q, ldq, D, k, pos, first, n, s, lds); break;
            default: scores_rows<I, BF, 4>(q, ldq, D, k, pos, first, n, s, lds); break;
        }
    }
}

template <class I>
void scores(int R, const float* Q, int64_t ldq, int64_t D, const RowSrc& k,
            const int32_t* pos, int64_t first, int n, float* S, int64_t lds) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    if (n <= 0) return;
    if (k.col == 1 && D % W == 0) {
        switch (kind_of(k)) {
            case kBf16: scores_fast<I, kBf16>(R, Q, ldq, D, k, pos, first, n, S, lds); break;
            case kF16: scores_fast<I, kF16>(R, Q, ldq, D, k, pos, first, n, S, lds); break;
            default: scores_fast<I, kF32>(R, Q, ldq, D, k, pos, first, n, S, lds); break;
        }
    } else {
        // Strided or odd head_dim: widen each row into a zero-padded buffer first.
        const int64_t Dp = (D + 15) / 16 * 16;
        alignas(64) float buf[256];
        for (int j = 0; j < n; ++j) {
            load_src_row(k, row_ptr(k, pos, first, j), D, Dp, buf);
            for (int r = 0; r < R; ++r) {
                vf acc = I::vzero();
                for (int64_t d = 0; d < Dp; d += W) acc = I::vfma(I::vld(Q + r * ldq + d), I::vld(buf + d), acc);
                S[r * lds + j] = I::vhsum(acc);
            }
        }
    }
}

}  // namespace
}  // namespace ha::cpu::kern
