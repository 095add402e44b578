// HSR P·V: O += P·V over the keys with a nonzero weight, V rows read in place.
#pragma once

#include <cstdint>

#include "cpu/kern/hsr_rows.h"
#include "cpu/prefetch.h"

namespace ha::cpu::kern {
namespace {

// Bit i set when P[r*ldp + i] != 0 for some row r < R (i < W).
template <class I>
inline unsigned nonzero_bits(const float* P, int64_t ldp, int R) {
    unsigned bits = 0;
    for (int r = 0; r < R; ++r) bits |= I::nonzero_bits(I::vld(P + r * ldp));
    return bits;
}
// Rows r0 .. r0+RR of O += Σ_t P[r][idx[t]]·v_idx[t]: the accumulators of a column chunk stay in
// registers (a runtime row count would keep them on the stack, one store-to-load round trip per
// FMA), two sets for even and odd keys so consecutive FMAs do not wait on each other.
template <class I, int BF, int RR>
void pv_rows(const float* P, int64_t ldp, const int* idx, int m, const void* const* rows,
             int64_t D, float* O, int64_t ldo) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    for (int64_t d = 0; d < D; d += W) {
        vf a0[RR], a1[RR];
        for (int r = 0; r < RR; ++r) {
            a0[r] = I::vld(O + r * ldo + d);
            a1[r] = I::vzero();
        }
        int t = 0;
        for (; t + 2 <= m; t += 2) {
            const vf x0 = vld_row<I, BF>(rows[t], d), x1 = vld_row<I, BF>(rows[t + 1], d);
            const int j0 = idx[t], j1 = idx[t + 1];
            for (int r = 0; r < RR; ++r) {
                a0[r] = I::vfma(I::vset1(P[r * ldp + j0]), x0, a0[r]);
                a1[r] = I::vfma(I::vset1(P[r * ldp + j1]), x1, a1[r]);
            }
        }
        if (t < m) {
            const vf x0 = vld_row<I, BF>(rows[t], d);
            for (int r = 0; r < RR; ++r) a0[r] = I::vfma(I::vset1(P[r * ldp + idx[t]]), x0, a0[r]);
        }
        for (int r = 0; r < RR; ++r) I::vst(O + r * ldo + d, I::vadd(a0[r], a1[r]));
    }
}

template <class I, int BF>
void pv_fast(int R, const float* P, int64_t ldp, const int* idx, int m, const RowSrc& v,
             const int32_t* pos, int64_t first, int64_t D, float* O, int64_t ldo) {
    const void* rows[1024];
    for (int t = 0; t < m; ++t) rows[t] = row_ptr(v, pos, first, idx[t]);
    if (pos) {  // gathered rows: ask for all of them before walking the columns
        const int64_t row_bytes = D * (BF != kF32 ? 2 : 4);
        for (int t = 0; t < m; ++t)
            for (int64_t o = 64; o < row_bytes; o += 64)
                HA_PREFETCH_L1(static_cast<const char*>(rows[t]) + o);
    }
    for (int r0 = 0; r0 < R; r0 += 4) {
        const float* p = P + r0 * ldp;
        float* o = O + r0 * ldo;
        switch (R - r0 >= 4 ? 4 : R - r0) {
            case 1: pv_rows<I, BF, 1>(p, ldp, idx, m, rows, D, o, ldo); break;
            case 2: pv_rows<I, BF, 2>(p, ldp, idx, m, rows, D, o, ldo); break;
            case 3: pv_rows<I, BF, 3>(p, ldp, idx, m, rows, D, o, ldo); break;
            default: pv_rows<I, BF, 4>(p, ldp, idx, m, rows, D, o, ldo); break;
        }
    }
}

template <class I>
void pv(int R, const float* P, int64_t ldp, int n, const RowSrc& v, const int32_t* pos,
        int64_t first, int64_t D, const float* rescale, float* O, int64_t ldo) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    const int64_t Dp = (D + 15) / 16 * 16;
    if (rescale) {
        for (int r = 0; r < R; ++r) {
            const float a = rescale[r];
            if (a == 1.f) continue;
            float* o = O + r * ldo;
            if (a == 0.f) {
                for (int64_t d = 0; d < Dp; ++d) o[d] = 0.f;
            } else {
                const vf av = I::vset1(a);
                for (int64_t d = 0; d < Dp; d += W) I::vst(o + d, I::vmul(I::vld(o + d), av));
            }
        }
    }
    int idx[1024];  // n <= 1024: a block, a tail or a scan item
    int m = 0;
    for (int j0 = 0; j0 < n; j0 += W) {
        unsigned bits = nonzero_bits<I>(P + j0, ldp, R);
        if (n - j0 < W) bits &= (1u << (n - j0)) - 1u;
        while (bits) {
            idx[m++] = j0 + __builtin_ctz(bits);
            bits &= bits - 1;
        }
    }
    if (m == 0) return;
    if (v.col == 1 && D % W == 0) {
        switch (kind_of(v)) {
            case kBf16: pv_fast<I, kBf16>(R, P, ldp, idx, m, v, pos, first, D, O, ldo); break;
            case kF16: pv_fast<I, kF16>(R, P, ldp, idx, m, v, pos, first, D, O, ldo); break;
            default: pv_fast<I, kF32>(R, P, ldp, idx, m, v, pos, first, D, O, ldo); break;
        }
        return;
    }
    alignas(64) float buf[256];
    for (int t = 0; t < m; ++t) {
        const int j = idx[t];
        load_src_row(v, row_ptr(v, pos, first, j), D, Dp, buf);
        for (int r = 0; r < R; ++r) {
            const vf p = I::vset1(P[r * ldp + j]);
            float* o = O + r * ldo;
            for (int64_t d = 0; d < Dp; d += W) I::vst(o + d, I::vfma(p, I::vld(buf + d), I::vld(o + d)));
        }
    }
}

}  // namespace
}  // namespace ha::cpu::kern
