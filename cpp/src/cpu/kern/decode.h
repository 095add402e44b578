// Decode (a few query rows per kv head, long KV cache): memory-bound, so K and V are read in
// place from the caller's tensors, each byte once, with no packing pass in between.
//
// Measured on Zen 5 (AVX-512), this loop is bound by how far ahead the hardware prefetchers
// run, not by arithmetic, and they only keep up with ascending addresses (software prefetch
// did not help there: it competes for the same L1 miss buffers as the demand loads). Hence:
//  * Scores S[r][j] = q_r · k_j read each K row front to back, four keys at a time, each row
//    keeping one vector of per-lane products per key; a transposing add tree then folds W
//    keys into one vector of W scores (no Kᵀ packing, no W×W transpose).
//  * P·V streams V rows in key order against broadcast probabilities; bf16 V goes through
//    vdpbf16ps on key pairs (Isa::Bf16::dec_pv) on AVX512-BF16, and is widened to fp32 in
//    registers on AVX2 (dec_pv_widen).
//  * In a [b,s,h,d] cache one task walks all kv groups position by position (decode_tiles).
// The same source serves AVX-512 and AVX2 through the traits type (W, vfold4, vfold_quads,
// the bf16 loads); only the register blocking differs (16 ymm against 32 zmm: the traits'
// kDec* constants). AVX2's P·V passes cover fewer columns, so it walks V a column block at a
// time, and there (Zen 4 forced to AVX2) software prefetch of V and of the next K rows did
// help: see step_rows. Only traits with kDecode instantiate any of it.
//
// Deterministic: every row's result depends only on the key chunk it is given, and the
// chunks come from the shape.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/isa/intrin.h"
#include "cpu/kern/common.h"
#include "cpu/kern/pack.h"
#include "cpu/kern/shape.h"
#include "cpu/kern/softmax.h"
#include "cpu/kern/tile_out.h"
#include "cpu/prefetch.h"
#include "hyperattn.h"

namespace ha::cpu::kern {
namespace {

constexpr int kDecRows = 16;      // tile rows handled here (larger tiles take the GEMM path)
constexpr int kDecKeys = 64;      // keys per online-softmax step

// The key (or value) rows of one step: a strided run (a dense cache) or one pointer per key (a
// paged cache).
template <class T>
struct StrideRows {
    const T* base;
    int64_t stride;
    const T* operator()(int64_t j) const { return base + j * stride; }
    StrideRows shift(int64_t j) const { return {base + j * stride, stride}; }
    StrideRows col(int64_t c) const { return {base + c, stride}; }
};
template <class T>
struct PtrRows {
    const T* const* rows;
    int64_t c0;
    const T* operator()(int64_t j) const { return rows[j] + c0; }
    PtrRows shift(int64_t j) const { return {rows + j, c0}; }
    PtrRows col(int64_t c) const { return {rows, c0 + c}; }
};

template <class I>
inline bool decode_eligible(const ExactProblem& p, const Shape& s, bool bf16_path) {
    if (!bf16_path && p.dtype == HA_DTYPE_BF16) return false;
    if (p.row_range || p.out_f32) return false;
    return p.k.strides[3] == 1 && p.v.strides[3] == 1 && s.D % 16 == 0 &&
           tile_rows<I>(s, 0) <= kDecRows;
}

// fp16 storage, kept distinct from bf16's uint16_t so that the element type alone picks the
// widening: F16C / fcvtl widen W halves in natural order, so fp16 rows take the fp32 kernels
// (no deinterleaving, unlike widened bf16) with only the loads changed.
struct Half {
    uint16_t bits;
};
template <class I>
inline typename I::vf dec_load_v(const float* p) { return I::vld(p); }
template <class I>
inline typename I::vf dec_load_v(const Half* p) {
    return I::vld_f16(reinterpret_cast<const uint16_t*>(p));
}
template <class I>
inline typename I::vf dec_load_v(const uint16_t* p) { return I::vld_bf16(p); }  // exact

// S[r][0..W) for R rows against keys k0 + i*ks, i < n (n <= W; missing keys score 0 and are
// masked later). Q rows are fp32, ldq apart. Four K rows are read front to back side by side,
// and one vector of per-lane products per (row, key) is folded with its neighbours afterwards
// (vfold4, then vfold_quads): W keys' scores end up in one vector without transposing K.
// The column loop is the outer one so that all R×4 accumulators advance together: with the
// key loop outside it, only R chains were in flight, and AVX2 (R = 2) waited on FMA latency
// (Zen 5 forced to AVX2: 5-15% of decode time, more where memory was fast).
template <class I, int R, class E, class Rows>
inline void dec_scores_f32(int64_t D, const float* Q, int64_t ldq, const Rows& krows, int n,
                           float* S, int64_t lds) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    constexpr int NQ = W / 4;  // quads of keys per vector of scores
    vf u[R][NQ];
    for (int g = 0; g < NQ; ++g) {
        const E* kr[4];
        for (int i = 0; i < 4; ++i) kr[i] = krows(std::min(4 * g + i, n - 1));
        vf acc[R][4];
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
            for (int i = 0; i < 4; ++i) acc[r][i] = I::vzero();
        if (4 * g < n) {
            for (int64_t c = 0; c < D; c += W) {
                vf q[R];
#pragma GCC unroll 4
                for (int r = 0; r < R; ++r) q[r] = I::vld(Q + r * ldq + c);
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i) {
                    const vf kv = dec_load_v<I>(kr[i] + c);
#pragma GCC unroll 4
                    for (int r = 0; r < R; ++r) acc[r][i] = I::vfma(q[r], kv, acc[r][i]);
                }
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) u[r][g] = I::vfold4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) I::vst(S + r * lds, I::vfold_quads(u[r]));
}

// The same for bf16 keys widened in registers: each load of 2W bf16 gives the even and the
// odd elements as two fp32 vectors, so Q is kept deinterleaved to match (dec_deinterleave:
// per block of 2W, the even elements, then the odd ones). D is a multiple of 2W.
template <class I, int R, class Rows>
inline void dec_scores_widen(int64_t D, const float* Q, int64_t ldq, const Rows& krows, int n,
                             float* S, int64_t lds) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    using vi = typename I::vi;
    constexpr int NQ = W / 4;
    vf u[R][NQ];
    for (int g = 0; g < NQ; ++g) {
        const uint16_t* kr[4];
        for (int i = 0; i < 4; ++i) kr[i] = krows(std::min(4 * g + i, n - 1));
        vf acc[R][4];
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
            for (int i = 0; i < 4; ++i) acc[r][i] = I::vzero();
        if (4 * g < n) {
            for (int64_t c = 0; c < D; c += 2 * W) {
                vf qe[R], qo[R];
#pragma GCC unroll 4
                for (int r = 0; r < R; ++r) {
                    qe[r] = I::vld(Q + r * ldq + c);
                    qo[r] = I::vld(Q + r * ldq + c + W);
                }
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i) {
                    const vi w = I::vld_bf16x2(kr[i] + c);
                    const vf ke = I::vbf16_even(w), ko = I::vbf16_odd(w);
#pragma GCC unroll 4
                    for (int r = 0; r < R; ++r)
                        acc[r][i] = I::vfma(qo[r], ko, I::vfma(qe[r], ke, acc[r][i]));
                }
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) u[r][g] = I::vfold4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) I::vst(S + r * lds, I::vfold_quads(u[r]));
}

// Per block of 2W elements: the even ones, then the odd ones (the order vbf16_even /
// vbf16_odd produce), in place.
template <class I>
inline void dec_deinterleave(float* x, int64_t D) {
    constexpr int W = I::W;
    float tmp[2 * W];
    for (int64_t c = 0; c < D; c += 2 * W) {
        for (int i = 0; i < W; ++i) {
            tmp[i] = x[c + 2 * i];
            tmp[W + i] = x[c + 2 * i + 1];
        }
        std::memcpy(x + c, tmp, sizeof tmp);
    }
}
// Its inverse, for O accumulated against widened V (dec_pv_widen).
template <class I>
inline void dec_interleave(float* x, int64_t D) {
    constexpr int W = I::W;
    float tmp[2 * W];
    for (int64_t c = 0; c < D; c += 2 * W) {
        for (int i = 0; i < W; ++i) {
            tmp[2 * i] = x[c + i];
            tmp[2 * i + 1] = x[c + W + i];
        }
        std::memcpy(x + c, tmp, sizeof tmp);
    }
}


// O[r][c..c+W·N) = alpha[r]·O + Σ_{j<n} P[r][j]·V[j][c..], R rows, accumulators held in
// registers across all n keys.
template <class I, int R, int N, class T, class Rows>
inline void dec_pv(int n, const float* P, int64_t ldp, const Rows& V, float* O, int64_t ldo,
                   const float* alpha) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    vf acc[R][N];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
        const vf a = I::vset1(alpha[r]);
#pragma GCC unroll 4
        for (int c = 0; c < N; ++c) acc[r][c] = I::vmul(a, I::vld(O + r * ldo + W * c));
    }
    for (int j = 0; j < n; ++j) {
        vf v[N];
#pragma GCC unroll 4
        for (int c = 0; c < N; ++c) v[c] = dec_load_v<I>(V(j) + W * c);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const vf pr = I::vset1(P[r * ldp + j]);
#pragma GCC unroll 4
            for (int c = 0; c < N; ++c) acc[r][c] = I::vfma(pr, v[c], acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < N; ++c) I::vst(O + r * ldo + W * c, acc[r][c]);
}

// The same for bf16 V widened in registers, N blocks of 2W columns: O's columns are held in
// dec_deinterleave's order (undone once, in finish).
template <class I, int R, int N, class Rows>
inline void dec_pv_widen(int n, const float* P, int64_t ldp, const Rows& V, float* O,
                         int64_t ldo, const float* alpha) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    using vi = typename I::vi;
    vf acc[R][2 * N];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
        const vf a = I::vset1(alpha[r]);
#pragma GCC unroll 4
        for (int c = 0; c < 2 * N; ++c) acc[r][c] = I::vmul(a, I::vld(O + r * ldo + W * c));
    }
    for (int j = 0; j < n; ++j) {
        vf ve[N], vo[N];
#pragma GCC unroll 4
        for (int c = 0; c < N; ++c) {
            const vi w = I::vld_bf16x2(V(j) + 2 * W * c);
            ve[c] = I::vbf16_even(w);
            vo[c] = I::vbf16_odd(w);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const vf pr = I::vset1(P[r * ldp + j]);
#pragma GCC unroll 4
            for (int c = 0; c < N; ++c) {
                acc[r][2 * c] = I::vfma(pr, ve[c], acc[r][2 * c]);
                acc[r][2 * c + 1] = I::vfma(pr, vo[c], acc[r][2 * c + 1]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < 2 * N; ++c) I::vst(O + r * ldo + W * c, acc[r][c]);
}

// Columns in passes of kDecPvVecs vectors (the widened bf16 path: pairs of vectors), then
// the remainder; D is a multiple of W (of 2W for widened bf16).
template <class I, int R, class T, class Rows>
inline void dec_pv_cols(int64_t D, int n, const float* P, int64_t ldp, const Rows& V, float* O,
                        int64_t ldo, const float* alpha) {
    constexpr int W = I::W, kDecPvVecs = I::kDecPvVecs;
    if constexpr (I::kDecWidenBf16 && std::is_same_v<T, uint16_t>) {
        constexpr int NB = kDecPvVecs / 2;  // blocks of 2W columns per pass
        int64_t c = 0;
        for (; c + 2 * W * NB <= D; c += 2 * W * NB)
            dec_pv_widen<I, R, NB>(n, P, ldp, V.col(c), O + c, ldo, alpha);
        if constexpr (NB > 1)
            for (; c < D; c += 2 * W) dec_pv_widen<I, R, 1>(n, P, ldp, V.col(c), O + c, ldo, alpha);
    } else {
        int64_t c = 0;
        for (; c + W * kDecPvVecs <= D; c += W * kDecPvVecs)
            dec_pv<I, R, kDecPvVecs, T>(n, P, ldp, V.col(c), O + c, ldo, alpha);
        switch ((D - c) / W) {
            case 1: dec_pv<I, R, 1, T>(n, P, ldp, V.col(c), O + c, ldo, alpha); break;
            case 2: if constexpr (kDecPvVecs > 2) dec_pv<I, R, 2, T>(n, P, ldp, V.col(c), O + c, ldo, alpha); break;
            case 3: if constexpr (kDecPvVecs > 3) dec_pv<I, R, 3, T>(n, P, ldp, V.col(c), O + c, ldo, alpha); break;
            default: break;
        }
    }
}

// Q rows are fp32 (QT float) or, on AVX512-BF16, bf16.
template <class I, class T, class QT, class Rows>
void dec_scores(int R, int64_t D, const QT* Q, int64_t ldq, const Rows& krows, int n, float* S,
                int64_t lds) {
    auto run = [&](auto tag) {
        constexpr int RB = decltype(tag)::value;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Half>)
            dec_scores_f32<I, RB, T>(D, Q, ldq, krows, n, S, lds);
        else if constexpr (std::is_same_v<QT, float>)
            dec_scores_widen<I, RB>(D, Q, ldq, krows, n, S, lds);
        else if constexpr (I::kBf16Dot)
            I::Bf16::template dec_scores<RB>(D, Q, ldq, krows, n, S, lds);
    };
    constexpr int kDecScoreRows = I::kDecScoreRows;
    static_assert(kDecScoreRows == 2 || kDecScoreRows == 4, "the switch below");
    switch (R) {
        case 1: run(std::integral_constant<int, 1>{}); break;
        case 2: run(std::integral_constant<int, 2>{}); break;
        case 3: if constexpr (kDecScoreRows >= 3) run(std::integral_constant<int, 3>{}); break;
        default: if constexpr (kDecScoreRows >= 4) run(std::integral_constant<int, 4>{}); break;
    }
}

// fp32 sums: kDecPvRows rows per pass over kDecPvVecs vectors of columns. (On AVX-512, two
// rows over whole 128-column rows, as the bf16 path does, measured slower: the second pass
// misses L1.)
template <class I, class T, class Rows>
void dec_pv_rows(int rows, int64_t D, int n, const float* P, int64_t ldp, const Rows& V,
                 float* O, int64_t ldo, const float* alpha) {
    constexpr int kDecPvRows = I::kDecPvRows;
    static_assert(kDecPvRows == 2 || kDecPvRows == 4, "the switch below");
    for (int r0 = 0; r0 < rows; r0 += kDecPvRows) {
        const float* Pr = P + r0 * ldp;
        float* Or = O + r0 * ldo;
        switch (std::min(kDecPvRows, rows - r0)) {
            case 1: dec_pv_cols<I, 1, T>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
            case 2: dec_pv_cols<I, 2, T>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
            case 3: if constexpr (kDecPvRows >= 3) dec_pv_cols<I, 3, T>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
            default: if constexpr (kDecPvRows >= 4) dec_pv_cols<I, 4, T>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
        }
    }
}

// bf16 P·V on key pairs (Isa::Bf16::dec_pv, where the traits type has kBf16Dot):
// Up to 128 columns per pass, so that a pass reads each V row front to back (the hardware
// prefetchers only keep up with ascending addresses); further row blocks hit L1.
template <class I, int R, class Rows>
void dec_pv_bf16_cols(int64_t D, int n, const uint16_t* P2, int64_t ldp, const Rows& V,
                      float* O, int64_t ldo, const float* alpha) {
    for (int64_t c = 0; c < D; c += 128) {
        switch (std::min<int64_t>(4, (D - c) / 32)) {
            case 1: I::Bf16::template dec_pv<R, 1>(n, P2, ldp, V.col(c), O + c, ldo, alpha); break;
            case 2: I::Bf16::template dec_pv<R, 2>(n, P2, ldp, V.col(c), O + c, ldo, alpha); break;
            case 3: if constexpr (R <= 2) I::Bf16::template dec_pv<R, 3>(n, P2, ldp, V.col(c), O + c, ldo, alpha); break;
            default: if constexpr (R <= 2) I::Bf16::template dec_pv<R, 4>(n, P2, ldp, V.col(c), O + c, ldo, alpha); break;
        }
    }
}

template <class I, class Rows>
void dec_pv_bf16_rows(int rows, int64_t D, int n, const uint16_t* P2, int64_t ldp,
                      const Rows& V, float* O, int64_t ldo, const float* alpha) {
    const int rb = D > 64 ? 2 : 4;  // at most 16 accumulators
    for (int r0 = 0; r0 < rows; r0 += rb) {
        const uint16_t* Pr = P2 + r0 * ldp;
        float* Or = O + r0 * ldo;
        switch (std::min(rb, rows - r0)) {
            case 1: dec_pv_bf16_cols<I, 1>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
            case 2: dec_pv_bf16_cols<I, 2>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
            case 3: dec_pv_bf16_cols<I, 3>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
            default: dec_pv_bf16_cols<I, 4>(D, n, Pr, ldp, V, Or, ldo, alpha + r0); break;
        }
    }
}


// One query tile's running state (rows of one kv group); Q and O live in a caller's buffer.
template <class I, class T>
struct DecTile {
    using vf = typename I::vf;
    static constexpr int W = I::W;
    // Widened bf16 keeps Q in fp32 (deinterleaved, see dec_scores_widen).
    static constexpr bool widen = I::kDecWidenBf16 && std::is_same_v<T, uint16_t>;
    // Q is fp32 except for bf16 on vdpbf16ps.
    using QT = std::conditional_t<std::is_same_v<T, uint16_t> && !widen, uint16_t, float>;
    int rows;
    int64_t dim;
    QT* Q;     // [rows][D]
    float* O;  // [rows][D], unnormalised
    float m[kDecRows], l[kDecRows], alpha[kDecRows];
    int64_t lim[kDecRows], lo[kDecRows];  // each row's visible keys: [lo, lim)
    int64_t max_lim, min_lo;
    const T *K, *V;  // row 0 of this group's keys / values
    bool pairs;      // bf16 P·V on key pairs (Isa::Bf16::dec_pv): O's columns are permuted

    static size_t floats(const Shape& s) {  // buffer size, a multiple of 16 floats
        return size_t((kDecRows * s.D * int64_t(sizeof(QT)) / 4 + kDecRows * s.D + 15) & ~int64_t(15));
    }

    void init(const ExactProblem& p, const Shape& s, int64_t b, int64_t hk, int64_t t,
              float* buf) {
        const int64_t D = s.D;
        rows = int(tile_rows<I>(s, t));
        dim = D;
        Q = reinterpret_cast<QT*>(buf);
        O = buf + kDecRows * D * int64_t(sizeof(QT)) / 4;
        max_lim = 0;
        min_lo = s.Nk;
        for (int r = 0; r < rows; ++r) {
            int64_t g, i;
            tile_row<I>(s, t, r, &g, &i);
            const int64_t h = hk * s.G + g;
            if constexpr (std::is_same_v<QT, float>)
                load_row_f32<I>(p.dtype, p.q.data, row_off(p.q, b, h, i), p.q.strides[3], D, Q + r * D);
            else
                load_row_bf16(p.q.data, row_off(p.q, b, h, i), p.q.strides[3], D, Q + r * D);
            scale_row(Q + r * D, D, s.qs);
            if constexpr (widen) dec_deinterleave<I>(Q + r * D, D);
            key_range(p, s, i, &lo[r], &lim[r]);
            max_lim = std::max(max_lim, lim[r]);
            if (lim[r] > lo[r]) min_lo = std::min(min_lo, lo[r]);
            m[r] = -INFINITY;
            l[r] = 0.f;
        }
        std::memset(O, 0, sizeof(float) * size_t(rows * D));
        // (n_k = 0 may come with NULL data, which must not be offset: UB.)
        // (Paged: b is 0, and the page offsets are added per key in step.)
        K = p.k.data ? static_cast<const T*>(p.k.data) + row_off(p.k, b, hk, 0) : nullptr;
        V = p.v.data ? static_cast<const T*>(p.v.data) + row_off(p.v, b, hk, 0) : nullptr;
        pairs = !widen && std::is_same_v<T, uint16_t> && D % 32 == 0;
    }

    // Keys [j0, j0 + n), n <= kDecKeys, all below Nk. A dense cache is walked by stride, a
    // paged one through one pointer per key; both run the same arithmetic (the one scalar
    // multiply-add is spelled out, fma_scalar), so a paged cache gives the bits of a contiguous one.
    void step(const ExactProblem& p, const Shape& s, int64_t j0, int n) {
        if (j0 >= max_lim || j0 + n <= min_lo) return;
        n = int(std::min<int64_t>(n, max_lim - j0));
        const int64_t ks = p.k.strides[2], vs = p.v.strides[2];
        if (!p.k.pages) {
            step_rows(s, j0, n, StrideRows<T>{K + j0 * ks, ks}, StrideRows<T>{V + j0 * vs, vs});
            return;
        }
        const T* kr[kDecKeys];
        const T* vr[kDecKeys];
        // One division per step, not per key (a 64-bit division costs as much as reading a
        // few key rows).
        const int64_t ps = p.k.page_size;
        int64_t page = j0 / ps, in = j0 % ps;
        const T *kp = K + int64_t(p.k.pages[page]) * p.k.strides[0],
                *vp = V + int64_t(p.v.pages[page]) * p.v.strides[0];
        for (int j = 0; j < n; ++j) {
            kr[j] = kp + in * ks;
            vr[j] = vp + in * vs;
            if (++in == ps && j + 1 < n) {
                in = 0;
                ++page;
                kp = K + int64_t(p.k.pages[page]) * p.k.strides[0];
                vp = V + int64_t(p.v.pages[page]) * p.v.strides[0];
            }
        }
        step_rows(s, j0, n, PtrRows<T>{kr, 0}, PtrRows<T>{vr, 0});
    }

    template <class Rows>
    void step_rows(const Shape& s, int64_t j0, int n, const Rows& krows, const Rows& vrows) {
        const int64_t D = s.D;
        alignas(64) float S[kDecRows * kDecKeys];
        // Lanes past n are masked, never used; zeroed only so nothing reads indeterminate data.
        if (n < kDecKeys) std::memset(S, 0, sizeof(float) * size_t(rows * kDecKeys));
        for (int j0v = 0; j0v < n; j0v += W) {
            const int nn = std::min(W, n - j0v);
            if constexpr (I::kDecPrefetchV || std::is_same_v<T, Half>) {
                // P·V reads V a column block at a time, lines a row apart, which the hardware
                // prefetchers do not follow: ask for these keys' V rows while their scores
                // are computed, in key order. And the next block's K rows: in a [b,s,h,d]
                // cache each is on a page of its own, where the prefetchers start cold.
                // (Measured on Zen 4 forced to AVX2: both faster than either alone.) Non-
                // temporal hints (HA_PREFETCH_STREAM), since each line is read once: on Zen 5
                // forced to AVX2, fp32 [b,h,s,d] ~12% faster than into L1 with T0, the other
                // dtypes and layouts 0-5%, AVX-512 fp16 unchanged. fp16
                // takes it on AVX-512 too: its 64-column passes read half a row's lines each
                // (on Zen 5, bshd: 0.55-0.63x of bf16's GB/s without it, 0.79-0.87x with).
                const int64_t bytes = D * int64_t(sizeof(T));
                auto fetch = [&](const T* p) {
                    const char* row = reinterpret_cast<const char*>(p);
                    for (int64_t x = 0; x < bytes; x += 64) HA_PREFETCH_STREAM(row + x);
                    HA_PREFETCH_STREAM(row + bytes - 1);  // an unaligned row's last line
                };
                for (int j = j0v; j < j0v + nn; ++j) fetch(vrows(j));
                for (int j = j0v + W; j < std::min(n, j0v + 2 * W); ++j) fetch(krows(j));
            }
            for (int r0 = 0; r0 < rows; r0 += I::kDecScoreRows)
                dec_scores<I, T>(std::min(I::kDecScoreRows, rows - r0), D, Q + r0 * D, D,
                              krows.shift(j0v), nn, S + r0 * kDecKeys + j0v, kDecKeys);
        }
        const ScoreMap<I> sm(s);
        for (int r = 0; r < rows; ++r) {
            const int64_t keep = std::min<int64_t>(n, std::max<int64_t>(0, lim[r] - j0));
            const int64_t skip = std::min<int64_t>(n, std::max<int64_t>(0, lo[r] - j0));
            float* sr = S + r * kDecKeys;
            alpha[r] = softmax_row_update<I, kDecKeys>(sr, skip, keep, sm, m[r], l[r],
                                                    [&](int v, vf e) { I::vst(sr + v * W, e); });
        }
        if constexpr (I::kBf16Dot && std::is_same_v<T, uint16_t>) {
            if (pairs) {
                alignas(64) uint16_t P2[kDecRows * kDecKeys];
                I::Bf16::round(S, P2, rows * kDecKeys);
                dec_pv_bf16_rows<I>(rows, D, n, P2, kDecKeys, vrows, O, D, alpha);
                return;
            }
        }
        dec_pv_rows<I, T>(rows, D, n, S, kDecKeys, vrows, O, D, alpha);
    }

    // Back to column order: see Isa::Bf16::dec_pv (isa/avx512_bf16.h).
    void unpermute() {
        if constexpr (widen) {
            for (int r = 0; r < rows; ++r) dec_interleave<I>(O + r * dim, dim);
            return;
        }
        if (!pairs) return;
        float tmp[32];
        for (int r = 0; r < rows; ++r)
            for (int64_t c = 0; c < dim; c += 32) {
                float* o = O + r * dim + c;
                for (int b = 0; b < 4; ++b)
                    for (int e = 0; e < 4; ++e) {
                        tmp[8 * b + e] = o[4 * b + e];
                        tmp[8 * b + 4 + e] = o[16 + 4 * b + e];
                    }
                std::memcpy(o, tmp, sizeof tmp);
            }
    }

    void finish(const ExactProblem& p, const Shape& s, int64_t b, int64_t hk, int64_t t,
                const PartialOut* partial) {
        unpermute();
        emit_tile<I>(p, s, b, hk, t, rows, O, s.D, m, l, partial);
    }
};

// Keys [kt_begin, kt_end) tiles of NT, the chunk grid of process_tile, for one query tile
// (t) of each of the kv groups [hk_begin, hk_end) of batch b. Several groups at once suit a
// [b,s,h,d] cache: one group's rows are a page apart there, while all groups' rows of a
// position are one contiguous run, so walking positions in the outer loop reads K and V
// front to back instead of in 512-byte pieces per page.
template <class I, class T, class PartialOf>
void decode_tiles(const ExactProblem& p, const Shape& s, int64_t b, int64_t hk_begin,
                  int64_t hk_end, int64_t t, int64_t kt_begin, int64_t kt_end,
                  const PartialOf& partial_of) {
    const int64_t ng = hk_end - hk_begin;
    const size_t per = DecTile<I, T>::floats(s);
    AlignedBuf buf;
    float* f = buf.get<float>(per * size_t(ng));
    std::vector<DecTile<I, T>> tiles(static_cast<size_t>(ng));
    int64_t max_lim = 0, min_lo = s.Nk;
    for (int64_t g = 0; g < ng; ++g) {
        tiles[g].init(p, s, b, hk_begin + g, t, f + per * size_t(g));
        max_lim = std::max(max_lim, tiles[g].max_lim);
        min_lo = std::min(min_lo, tiles[g].min_lo);
    }
    const int64_t j_end = std::min({kt_end * NT, s.Nk, max_lim});
    static_assert(kDecKeys == NT, "steps start on the key tiles of the chunk grid");
    for (int64_t j0 = std::max(kt_begin, min_lo / NT) * NT; j0 < j_end; j0 += kDecKeys) {
        const int n = int(std::min<int64_t>(kDecKeys, j_end - j0));
        for (int64_t g = 0; g < ng; ++g) tiles[g].step(p, s, j0, n);
    }
    for (int64_t g = 0; g < ng; ++g) {
        const PartialOut po = partial_of(hk_begin + g);  // O == nullptr: final output
        tiles[g].finish(p, s, b, hk_begin + g, t, po.O ? &po : nullptr);
    }
}

}  // namespace
}  // namespace ha::cpu::kern
