// Query rows through their keys: the exact kernel's tile step (S = Q·Kᵀ, online softmax,
// O += P·V) with two additions for the sampled residual: a log-weight added to every sampled
// score (each sample stands for n_k/m keys) and a masked range (the samples that fall in the
// row's own key window are already counted exactly; the same mask trims a window that starts
// inside a tile). The window and the samples go through one online softmax, which is the LSE
// merge of the two partial results done on the fly, and the per-row state can be carried from
// one piece of a causal problem to the next, which merges those pieces the same way.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "cpu/cpu_backend.h"
#include "cpu/hyper/hyper_kernels.h"
#include "cpu/kern/common.h"
#include "cpu/kern/hyper_gather.h"
#include "cpu/kern/paths.h"
#include "cpu/kern/shape.h"
#include "cpu/kern/softmax.h"
#include "cpu/kern/tile_out.h"
#include "hyperattn.h"
#include "tensor_check.h"

namespace ha::cpu::kern {
namespace {

using hyper::PackedSet;
using hyper::RowsJob;
using hyper::kMaxJobRows;
using hyper::state_floats;
using hyper::stats_floats;

// What the error estimate needs of one tile (see "Per-row error estimates" below): the tile's
// per-key value norms and the variance factor, and where the rows' sums live. The step adds
// them while the probabilities are still in registers (a second pass over P cost 10-14% of a
// non-causal call).
struct TileStats {
    const float* nv2;  // ||v||² of the tile's keys
    const float* nd;   // ||v - c_v|| of the tile's keys; read only when f != 0
    float f;           // the variance factor, 0 for keys counted exactly
    float* X;          // the step's first row of X (stats_stride floats per row)
    int64_t XS, Dp;
};
template <class I>
inline void stats_add(float* x, int64_t Dp, float mo, float mn, float al, typename I::vf e,
                      typename I::vf a, typename I::vf q, float f);

// R rows against one packed key tile (keys j0 .. j0+NT-1 of their list). Keys at or past a
// row's lim, and keys in [hole_lo, hole_hi), get probability 0. bias == 0 is exactly the
// exact kernel's step (block_step_body). With Stats, the tile's error-estimate sums too.
template <class Path, int R, bool Stats>
inline __attribute__((always_inline)) void hyper_step_body(
    const Shape& s, const typename Path::T* Q, const typename Path::T* Kt,
    const typename Path::T* Vt, float* S, typename Path::T* P, float* O, float* m, float* l,
    const int64_t* lim, int64_t j0, float bias, int64_t hole_lo, int64_t hole_hi,
    const TileStats* ts) {
    using I = typename Path::Isa;
    using vf = typename I::vf;
    constexpr int W = I::W;
    Path::template s_product<R>(s.Dk, Q, Kt, S);
    const int64_t h0 = std::max<int64_t>(0, hole_lo - j0), h1 = std::min<int64_t>(NT, hole_hi - j0);
    if (h0 < h1)
        for (int r = 0; r < R; ++r)
            for (int64_t c = h0; c < h1; ++c) S[r * NT + c] = -INFINITY;
    float alpha[R];
    const vf c = I::vset1(s.c);
    const ScoreMap<I> sm(s);  // never capped here: HyperAttention has no soft cap
    for (int r = 0; r < R; ++r) {
        const int64_t keep = std::min<int64_t>(NT, std::max<int64_t>(0, lim[r] - j0));
        const float mo = m[r];
        vf se = I::vzero(), sa = I::vzero(), sq = I::vzero();
        const bool var = Stats && ts->f != 0.f;
        auto store = [&](int v, vf e) {
            Path::store_p(P + r * NT + v * W, e);
            if constexpr (Stats) {
                se = I::vfma(e, I::vld(ts->nv2 + v * W), se);
                if (var) {
                    const vf pd = I::vmul(e, I::vld(ts->nd + v * W));
                    sa = I::vfma(e, e, sa);
                    sq = I::vfma(pd, pd, sq);
                }
            }
        };
        if (bias == 0.f) {
            alpha[r] = softmax_row_update<I, NT>(S + r * NT, 0, keep, sm, m[r], l[r], store);
        } else {
            // the log2 weight of the sampled set added to every scaled score
            const vf vb = I::vset1(bias);
            alpha[r] = softmax_row_update<I, NT>(S + r * NT, 0, keep,
                                                 [&](vf x) { return I::vfma(x, c, vb); }, m[r], l[r], store);
        }
        if constexpr (Stats) stats_add<I>(ts->X + r * ts->XS, ts->Dp, mo, m[r], alpha[r], se, sa, sq, ts->f);
    }
    Path::template pv_product<R>(s.Dp, P, Vt, s.Dp, O, alpha);
}

template <class Path>
using HyperStepFn = void (*)(const Shape&, const typename Path::T*, const typename Path::T*,
                             const typename Path::T*, float*, typename Path::T*, float*, float*,
                             float*, const int64_t*, int64_t, float, int64_t, int64_t,
                             const TileStats*);

template <class Path, int R, bool Stats>
struct HyperStep;

template <class I, int R, bool Stats>
struct HyperStep<F32Path<I>, R, Stats> {
    static void run(const Shape& s, const float* Q, const float* Kt, const float* Vt, float* S,
                    float* P, float* O, float* m, float* l, const int64_t* lim, int64_t j0,
                    float bias, int64_t hole_lo, int64_t hole_hi, const TileStats* ts) {
        hyper_step_body<F32Path<I>, R, Stats>(s, Q, Kt, Vt, S, P, O, m, l, lim, j0, bias, hole_lo,
                                           hole_hi, ts);
    }
};

template <class I, int R, bool Stats>
struct HyperStep<Bf16Path<I>, R, Stats> {
    HA_TARGET_BF16 __attribute__((flatten)) static void run(
        const Shape& s, const uint16_t* Q, const uint16_t* Kt, const uint16_t* Vt, float* S,
        uint16_t* P, float* O, float* m, float* l, const int64_t* lim, int64_t j0, float bias,
        int64_t hole_lo, int64_t hole_hi, const TileStats* ts) {
        hyper_step_body<Bf16Path<I>, R, Stats>(s, Q, Kt, Vt, S, P, O, m, l, lim, j0, bias,
                                               hole_lo, hole_hi, ts);
    }
};

template <class Path, bool Stats, int... Rs>
constexpr std::array<HyperStepFn<Path>, sizeof...(Rs)> make_hyper_steps(
    std::integer_sequence<int, Rs...>) {
    return {&HyperStep<Path, Rs + 1, Stats>::run...};
}

// Keys per packed chunk of gathered keys: a chunk stays in L2 while every query tile of the
// job passes over it.
template <class Path>
int64_t chunk_tiles(int64_t D) {
    const int64_t bytes = tile_elems<Path>(D) * int64_t(sizeof(typename Path::T));
    return std::clamp<int64_t>((int64_t(256) << 10) / bytes, 2, 16);
}

// ---- Per-row error estimates (ha_hyper_stats::row_error) --------------------------------
// The output is a ratio o^ = N^/Z^; only the sampled keys add variance. Linearised (delta
// method), o^ - o ~ (N^ - o Z^)/Z, so with a_s = 2^(score + bias - max) (0 for a masked
// sample) and y_s = a_s (v_s - o^), a sampled set of m draws without replacement from n keys
// contributes (1 - m/n) m/(m-1) sum_s ||y_s - ybar||^2 = c [sum_s ||y_s||^2 - m ||ybar||^2]
// to Z^2 Var(o^) (trace over dims); independent sets (the rects of a causal row) add, all
// relative to the row's running max. sum_s ||y_s||^2 = sum_s a_s^2 ||v_s - o^||^2 would need
// sum_s a_s^2 v_s, an extra P.V product per row (as costly as the samples' own); it is bounded
// instead by the triangle inequality through the head's value centre c_v:
// ||v_s - o^|| <= ||v_s - c_v|| + ||o^ - c_v|| (d_s + delta), which only needs per-key
// scalars, so the estimate errs on the high side; and the cross term sum a_s^2 d_s by
// Cauchy-Schwarz, sqrt(sum a_s^2 sum a_s^2 d_s^2), so sum a_s^2 (d_s + delta)^2 <=
// (sqrt(SQ) + delta sqrt(SA))^2 needs two running sums, not three (near equality: d_s, a
// distance in D dimensions, varies little between keys; one sum fewer per tile was ~1% of a
// call at d = 64).
// A sample-based variance cannot see heavy keys that no sample hit. The typical case is a
// neighbourhood of the query split by the window's edge in the sorted order, so the window's
// first and last tiles also count as if half of their keys lay just outside and were sampled:
// (n/m - 1)/2 sum_edge p^2 ||v - o^||^2 is added (bounded the same way), which is small unless
// heavy keys sit at an edge. (Half a tile on each side: calibrated on the test families, where
// a whole tile overstated the median error 3-3.8x and no edge term let 3.6-4.8% of the rows
// of clustered causal inputs exceed twice their estimate.) m ||ybar||^2 = ||U1 - o^ A1||^2 / m (U1 =
// sum a_s v_s, A1 = sum a_s) is exact: U1 is the set's change of the row's output sum.
// Per row (scaled like l): E = sum p ||v||^2 over every key (the RMS denominator, exact keys
// exactly, samples weighted), SQ/SA = sum c a^2 d^2 / c a^2, SU = sum c/m ||U1||^2,
// SA1 = sum c/m A1^2, SV = sum c/m A1 U1 (D floats); at the end
//   T = (sqrt(SQ) + delta sqrt(SA))^2 - (SU - 2 o^.SV + ||o^||^2 SA1),
//   row_error = 2 sqrt(T / Z^2) / sqrt(E / Z) = 2 sqrt(T / (Z E)).
enum : int { kXE, kXQ, kXA, kXU, kXA1, kXlpre, kXmpre };  // after SV in a row of X
constexpr int kXKept = 5;  // kXE..kXA1: what a row's saved state keeps (stats_floats)
static_assert(stats_floats(0) == kXKept, "a saved row: SV (D floats), then kXE..kXA1");
// A row of X: SV (Dp floats), the scalars above (16 floats), then per-lane partial sums of
// E, SA, SQ (kLaneSums vectors of W floats), reduced into the scalars once per job
// (flush_stats).
constexpr int kLaneSums = 3;
template <class I>
inline int64_t stats_stride(int64_t Dp) { return Dp + 16 + kLaneSums * I::W; }

// A row's sums after a step over one tile: rescaled to the row's new max mn (only when it
// moved from mo), plus the tile's per-lane sums (e: sum p ||v||^2; a, q: sum p^2, p^2 d^2,
// weighted by f).
// al is the step's own rescale factor exp2(mo - mn) (0 from a row's first key), as the online
// softmax computed it: not recomputed here.
template <class I>
inline void stats_add(float* x, int64_t Dp, float mo, float mn, float al, typename I::vf e,
                      typename I::vf a, typename I::vf q, float f) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    float* sc = x + Dp;
    float* acc = sc + 16;
    if (mn != mo) {
        const float a2 = al * al;
        if (sc[kXU] != 0.f || sc[kXA1] != 0.f)
            for (int64_t d = 0; d < Dp; d += W) I::vst(x + d, I::vmul(I::vld(x + d), I::vset1(a2)));
        sc[kXE] *= al;
        sc[kXQ] *= a2;
        sc[kXA] *= a2;
        sc[kXU] *= a2;
        sc[kXA1] *= a2;
        I::vst(acc, I::vmul(I::vld(acc), I::vset1(al)));
        for (int k = 1; k < kLaneSums; ++k) I::vst(acc + k * W, I::vmul(I::vld(acc + k * W), I::vset1(a2)));
    }
    I::vst(acc, I::vadd(I::vld(acc), e));
    if (f != 0.f) {
        const vf vf_ = I::vset1(f);
        I::vst(acc + W, I::vfma(vf_, a, I::vld(acc + W)));
        I::vst(acc + 2 * W, I::vfma(vf_, q, I::vld(acc + 2 * W)));
    }
}

// The full sums of four vectors: one fold where the ISA has it (vsum4), else four reductions.
// (Once per row, but nine separate reductions per row were ~1% of a call at d = 64.)
template <class I, class = void>
struct HasSum4 : std::false_type {};
template <class I>
struct HasSum4<I, std::void_t<decltype(I::kSum4)>> : std::bool_constant<I::kSum4> {};
template <class I>
inline void sum4(typename I::vf a, typename I::vf b, typename I::vf c, typename I::vf d,
                 float* out) {
    if constexpr (HasSum4<I>::value) {
        I::vsum4(a, b, c, d, out);
    } else {
        out[0] = I::vhsum(a);
        out[1] = I::vhsum(b);
        out[2] = I::vhsum(c);
        out[3] = I::vhsum(d);
    }
}

// The per-lane sums into the scalars (before the row's state is stored or finished).
template <class I>
inline void flush_stats(float* x, int64_t Dp) {
    constexpr int W = I::W;
    float* sc = x + Dp;
    float* acc = sc + 16;
    float t[4];
    sum4<I>(I::vld(acc), I::vld(acc + W), I::vld(acc + 2 * W), I::vzero(), t);
    sc[kXE] += t[0];
    sc[kXA] += t[1];
    sc[kXQ] += t[2];
    for (int k = 0; k < kLaneSums; ++k) I::vst(acc + k * W, I::vzero());
}

// Scratch of one job, carved from the caller's buffer (64-byte aligned pieces).
template <class Path>
struct RowsScratch {
    using T = typename Path::T;
    T *Q, *P, *chunk;
    float *O, *m, *l, *S, *rowbuf;
    int64_t *lim, *seq, *slim;
    float *X, *Opre, *cn2;  // error estimates only (stats_stride floats per row of X)

    static size_t up(size_t bytes) { return (bytes + 63) & ~size_t(63); }
    static size_t layout(int64_t D, void* base, RowsScratch* out) {
        constexpr int MR = Path::Isa::MR;
        const int64_t Dk = Path::dk(D), Dp = padded_dp(D), R = kMaxJobRows;
        const size_t sizes[] = {up(R * Dk * sizeof(T)),       up(MR * NT * sizeof(T)),
                                up(chunk_tiles<Path>(D) * tile_elems<Path>(D) * sizeof(T)),
                                up(R * Dp * 4),               up(R * 4),
                                up(R * 4),                    up(MR * NT * 4),
                                up((Dp + 16) * 4),            up(R * 8),
                                up(R * 8),                    up(MR * 8),
                                up(R * stats_stride<typename Path::Isa>(Dp) * 4), up(R * Dp * 4),
                                up(16 * NT * 4)};
        constexpr int kPieces = int(sizeof(sizes) / sizeof(sizes[0]));
        size_t total = 0;
        char* p = static_cast<char*>(base);
        void* ptrs[kPieces];
        for (int i = 0; i < kPieces; ++i) {
            ptrs[i] = p ? p + total : nullptr;
            total += sizes[i];
        }
        if (out) {
            out->Q = static_cast<T*>(ptrs[0]);
            out->P = static_cast<T*>(ptrs[1]);
            out->chunk = static_cast<T*>(ptrs[2]);
            out->O = static_cast<float*>(ptrs[3]);
            out->m = static_cast<float*>(ptrs[4]);
            out->l = static_cast<float*>(ptrs[5]);
            out->S = static_cast<float*>(ptrs[6]);
            out->rowbuf = static_cast<float*>(ptrs[7]);
            out->lim = static_cast<int64_t*>(ptrs[8]);
            out->seq = static_cast<int64_t*>(ptrs[9]);
            out->slim = static_cast<int64_t*>(ptrs[10]);
            out->X = static_cast<float*>(ptrs[11]);
            out->Opre = static_cast<float*>(ptrs[12]);
            out->cn2 = static_cast<float*>(ptrs[13]);
        }
        return total;
    }
};

template <class I>
size_t rows_scratch_bytes(int32_t dtype, int64_t D) {
    if constexpr (I::kBf16Dot)
        if (bf16_storage<I>(dtype)) return RowsScratch<Bf16Path<I>>::layout(D, nullptr, nullptr);
    return RowsScratch<F32Path<I>>::layout(D, nullptr, nullptr);
}

template <class Path>
void run_rows_t(const RowsJob& j) {
    using T = typename Path::T;
    using I = typename Path::Isa;
    using vf = typename I::vf;
    constexpr int W = I::W, MR = I::MR, MQ = kMQ<I>;
    static constexpr auto plain = make_hyper_steps<Path, false>(std::make_integer_sequence<int, MR>{});
    static constexpr auto counted = make_hyper_steps<Path, true>(std::make_integer_sequence<int, MR>{});
    const auto& steps = j.stats ? counted : plain;
    RowsScratch<Path> w;
    RowsScratch<Path>::layout(j.D, j.scratch, &w);
    Shape s{};
    s.D = j.D;
    s.Dk = Path::dk(j.D);
    s.Dp = padded_dp(j.D);
    split_scale(j.scale * kLog2e, &s.qs, &s.c);
    const int64_t n = j.n_rows, D = j.D, Dk = s.Dk, Dp = s.Dp, SF = state_floats(D);
    const int64_t te = tile_elems<Path>(D);
    const int64_t XS = stats_stride<I>(Dp), SSF = stats_floats(D);

    const int64_t es = ha::dtype_size(j.dtype);
    for (int64_t r = 0; r < n; ++r) {
        w.seq[r] = j.q0 + (j.q_idx ? int64_t(j.q_idx[r]) : r);
        w.lim[r] = row_off(j.q, j.b, j.h, w.seq[r]);
    }
    // Gathered query rows are fetched a few rows ahead: a job's rows are more than L1 holds
    // (384 rows of 256 bytes at d = 64), so fetching them all first evicted the early ones.
    const int64_t kQAhead = std::max<int64_t>(4, 4096 / std::max<int64_t>(1, D * es));  // ~4 KiB ahead
    if (j.q_idx) prefetch_rows(j.q, es, w.lim, std::min(n, kQAhead), D);
    for (int64_t r = 0; r < n; ++r) {
        if (j.q_idx && r + kQAhead < n) prefetch_rows(j.q, es, w.lim + r + kQAhead, 1, D);
        const int64_t i = w.seq[r];
        if constexpr (std::is_same_v<T, float>)
            gather_row_f32<I>(j.dtype, j.q, w.lim[r], D, w.Q + r * Dk);
        else
            Path::pack_q(j.dtype, j.q, w.lim[r], D, Dk, w.Q + r * Dk);
        scale_row(w.Q + r * Dk, D, s.qs);
        float* o = w.O + r * Dp;
        if (j.load && j.has_state[i - j.acc0]) {
            const float* st = j.acc + (i - j.acc0) * SF;
            copy_row<I>(st, o, D);
            w.m[r] = st[D];
            w.l[r] = st[D + 1];
        } else {
            std::memset(o, 0, sizeof(float) * size_t(D));
            w.m[r] = -INFINITY;
            w.l[r] = 0.f;
        }
        for (int64_t d = D; d < Dp; ++d) o[d] = 0.f;
    }
    // The error-estimate sums of each row (a pass of its own: zeroing them in the loop above,
    // between a row's prefetch and its use, doubled the cost of the gathered rows' misses).
    for (int64_t r = 0; r < n; ++r) {
        const int64_t i = w.seq[r];
        if (j.stats) {
            float* x = w.X + r * XS;
            for (int k = 0; k < kLaneSums; ++k) I::vst(x + Dp + 16 + k * W, I::vzero());
            for (int64_t d = 0; d < Dp; d += W) I::vst(x + d, I::vzero());
            if (j.load && j.has_state[i - j.acc0]) {
                const float* st = j.sacc + (i - j.acc0) * SSF;
                copy_row<I>(st, x, D);
                for (int f = 0; f < kXKept; ++f) x[Dp + f] = st[D + f];
            } else {
                for (int f = 0; f < kXKept; ++f) x[Dp + f] = 0.f;
            }
        }
    }

    // Rows of the job in query tiles of MQ; the step runs MR rows at a time.
    auto for_tiles = [&](auto&& body) {
        for (int64_t t0 = 0; t0 < n; t0 += MQ) body(t0, std::min<int64_t>(n, t0 + MQ));
    };

    // Contiguous keys, packed a chunk at a time; each row stops at its own limit.
    if (j.n_keys > 0) {
        int64_t max_lim = 0;
        for (int64_t r = 0; r < n; ++r) {
            w.lim[r] = j.causal ? std::clamp<int64_t>(w.seq[r] - j.cq0 + 1, 0, j.n_keys) : j.n_keys;
            max_lim = std::max(max_lim, w.lim[r]);
        }
        const int64_t ct = chunk_tiles<Path>(D);
        for (int64_t c0 = 0; c0 < max_lim; c0 += ct * NT) {
            const int64_t c1 = std::min(max_lim, c0 + ct * NT);
            const int64_t ntile = (c1 - c0 + NT - 1) / NT;
            for (int64_t t = 0; t < ntile; ++t) {
                const int64_t t0 = c0 + t * NT;
                gpack_tile<Path>(j.dtype, j.k, j.v, j.b, j.hk, nullptr, j.k0, t0,
                                 std::min<int64_t>(NT, j.n_keys - t0), D, w.chunk + t * te,
                                 w.rowbuf);
            }
            if (j.stats)  // chunk_tiles <= 16 tiles
                value_norms_t<Path>(w.chunk, std::min(j.n_keys, c0 + ntile * NT) - c0, D, nullptr,
                                    w.cn2, nullptr);
            for_tiles([&](int64_t r_begin, int64_t r_end) {
                int64_t tile_lim = 0;
                for (int64_t r = r_begin; r < r_end; ++r) tile_lim = std::max(tile_lim, w.lim[r]);
                for (int64_t t = 0; t < ntile; ++t) {
                    const int64_t j0 = c0 + t * NT;
                    if (j0 >= tile_lim) break;
                    const T* Kt = w.chunk + t * te;
                    const T* Vt = Kt + NT * Dk;
                    for (int64_t r0 = r_begin; r0 < r_end; r0 += MR) {
                        const int R = int(std::min<int64_t>(MR, r_end - r0));
                        int64_t blk_lim = 0;
                        for (int r = 0; r < R; ++r) blk_lim = std::max(blk_lim, w.lim[r0 + r]);
                        if (blk_lim <= j0) continue;
                        const TileStats ts{w.cn2 + (j0 - c0), nullptr, 0.f, w.X + r0 * XS, XS, Dp};
                        steps[R - 1](s, w.Q + r0 * Dk, Kt, Vt, w.S, w.P, w.O + r0 * Dp,
                                     w.m + r0, w.l + r0, w.lim + r0, j0, 0.f, 0, 0, &ts);
                    }
                }
            });
        }
    }

    // Prepacked sets, shared by every job of the (batch, kv head, rect): the window of sorted
    // keys (its first tile's keys before the window are its hole) and the samples.
    // Rows that start from nothing take the last set (the samples) first: a set's own sums are
    // then the row's whole state after it, with no copy of the output before it.
    const bool fresh = !j.load && j.n_keys <= 0;
    for (int k = 0; k < j.n_sets; ++k) {
        const PackedSet& ps = j.sets[fresh ? j.n_sets - 1 - k : k];
        if (ps.count <= 0) continue;
        for (int r = 0; r < MR; ++r) w.slim[r] = ps.count;
        const int64_t ntile = (ps.count + NT - 1) / NT;
        const T* tiles = static_cast<const T*>(ps.tiles);
        const bool est = j.stats && ps.est_c > 0.f;
        if (est)  // the set's own sums come out as the change of the row's (O, l)
            for (int64_t r = 0; r < n; ++r) {
                float* sc = w.X + r * XS + Dp;
                sc[kXlpre] = w.l[r];
                sc[kXmpre] = w.m[r];
                if (w.m[r] != -INFINITY) copy_row<I>(w.O + r * Dp, w.Opre + r * Dp, Dp);  // else nothing before
            }
        for_tiles([&](int64_t r_begin, int64_t r_end) {
            for (int64_t t = 0; t < ntile; ++t) {
                const int64_t j0 = t * NT, j1 = std::min(ps.count, j0 + NT);
                if (ps.hole_lo <= j0 && ps.hole_hi >= j1) continue;  // all masked
                const T* Kt = tiles + t * te;
                const T* Vt = Kt + NT * Dk;
                for (int64_t r0 = r_begin; r0 < r_end; r0 += MR) {
                    const int R = int(std::min<int64_t>(MR, r_end - r0));
                    // samples: their variance; a window's first and last tile: a prior for
                    // its unsampled sorted neighbours (see the note above)
                    const float f = !j.stats ? 0.f
                                    : est    ? ps.est_c
                                    : (t == 0 || t == ntile - 1) ? ps.edge_c : 0.f;
                    const TileStats ts{j.stats ? ps.vnorm2 + j0 : nullptr,
                                       f > 0.f ? ps.vdist + j0 : nullptr, f, w.X + r0 * XS, XS, Dp};
                    steps[R - 1](s, w.Q + r0 * Dk, Kt, Vt, w.S, w.P, w.O + r0 * Dp, w.m + r0,
                                 w.l + r0, w.slim, j0, ps.bias_log2, ps.hole_lo, ps.hole_hi, &ts);
                }
            }
        });
        if (est)
            for (int64_t r = 0; r < n; ++r) {
                float* x = w.X + r * XS;
                float* sc = x + Dp;
                const float mn = w.m[r], mp = sc[kXmpre];
                const float at = mp == mn ? 1.f
                                 : mp == -INFINITY ? 0.f : std::exp2(mp - (mn == -INFINITY ? 0.f : mn));
                const float a1 = std::max(0.f, w.l[r] - at * sc[kXlpre]);  // the set's own sum
                const float k = ps.est_c / float(ps.count), ka = k * a1;
                const float* o = w.O + r * Dp;
                const float* o0 = w.Opre + r * Dp;
                const vf va = I::vset1(at), vka = I::vset1(ka);
                vf u2 = I::vzero();
                if (mp == -INFINITY) {  // nothing before the set (Opre was not written)
                    for (int64_t d = 0; d < Dp; d += W) {
                        const vf u = I::vld(o + d);
                        u2 = I::vfma(u, u, u2);
                        I::vst(x + d, I::vfma(vka, u, I::vld(x + d)));
                    }
                } else {
                    for (int64_t d = 0; d < Dp; d += W) {  // zeros past D stay zeros
                        const vf u = I::vsub(I::vld(o + d), I::vmul(va, I::vld(o0 + d)));
                        u2 = I::vfma(u, u, u2);
                        I::vst(x + d, I::vfma(vka, u, I::vld(x + d)));
                    }
                }
                sc[kXU] += k * I::vhsum(u2);
                sc[kXA1] += ka * a1;
            }
    }

    if (j.store) {
        for (int64_t r = 0; r < n; ++r) {
            float* st = j.acc + (w.seq[r] - j.acc0) * SF;
            copy_row<I>(w.O + r * Dp, st, D);
            st[D] = w.m[r];
            st[D + 1] = w.l[r];
            j.has_state[w.seq[r] - j.acc0] = 1;
            if (j.stats) {
                float* ss = j.sacc + (w.seq[r] - j.acc0) * SSF;
                float* x = w.X + r * XS;
                flush_stats<I>(x, Dp);
                copy_row<I>(x, ss, D);
                for (int f = 0; f < kXKept; ++f) ss[D + f] = x[Dp + f];
            }
        }
        return;
    }
    if (j.stats && j.row_error) {
        // A row whose output is not finite gets an infinite estimate (the non-finite policy,
        // hyperattn.h). It is checked here, on the values finish_row writes (o / l, rounded
        // once to the output dtype), instead of in a pass over the whole output afterwards
        // (~1% of a call at d = 64). A finite value at or above `over` rounds to inf in a
        // 16-bit dtype (nearest even: the midpoint between the largest finite value and the
        // next power of two goes up); only a row whose sum of squares reaches over² (or is
        // not finite) can hold one, so only such rows are checked element by element.
        const float over = j.dtype == HA_DTYPE_F16    ? 65520.f
                           : j.dtype == HA_DTYPE_BF16 ? 0x1.ffp+127f
                                                      : INFINITY;
        for (int64_t r = 0; r < n; ++r) {
            float* x = w.X + r * XS;
            flush_stats<I>(x, Dp);
            const float* sc = x + Dp;
            const float* O = w.O + r * Dp;
            const float lf = w.l[r];
            const float inv = lf > 0.f ? 1.f / lf : lf == 0.f ? 0.f : NAN;  // as finish_row
            // O, SV and the centre are zero past D (the centre is padded to Dp)
            const vf il = I::vset1(inv);
            vf voo = I::vzero(), vov = I::vzero(), vdc = I::vzero();
            for (int64_t d = 0; d < Dp; d += W) {
                const vf o = I::vmul(I::vld(O + d), il), c = I::vsub(o, I::vld(j.vcentre + d));
                voo = I::vfma(o, o, voo);
                vov = I::vfma(o, I::vld(x + d), vov);
                vdc = I::vfma(c, c, vdc);
            }
            float t[4];
            sum4<I>(voo, vov, vdc, I::vzero(), t);
            const double oo = t[0], ov = t[1], dc = t[2], l = lf, E = sc[kXE];
            double err = 0.0;
            if (!(t[0] < over * over)) {
                bool finite = true;
                for (int64_t d = 0; d < D; ++d) finite &= std::fabs(O[d] * inv) < over;
                if (!finite || !std::isfinite(t[0])) err = INFINITY;  // no estimate either way
            }
            if (!std::isfinite(E)) err = INFINITY;  // ||v||^2 overflowed: the unit is lost
            if (err == 0.0 && l > 0.0 && E > 0.0) {
                const double b = std::sqrt(double(sc[kXQ])) + std::sqrt(dc * double(sc[kXA]));
                const double T = b * b - (double(sc[kXU]) - 2.0 * ov + oo * double(sc[kXA1]));
                if (!std::isfinite(T)) err = INFINITY;
                else if (T > 0.0) err = 2.0 * std::sqrt(T / (l * E));
            }
            j.row_error[(j.b * j.Hq + j.h) * j.Nq + w.seq[r]] = float(err);
        }
    }
    ExactProblem ep{};
    ep.dtype = j.dtype;
    ep.out = j.out;
    ep.lse = j.lse;
    for (int i = 0; i < 3; ++i) ep.lse_strides[i] = j.lse_strides[i];
    for (int64_t r = 0; r < n; ++r)
        finish_row<I>(ep, j.b, j.h, w.seq[r], w.O + r * Dp, w.m[r], w.l[r], D);
}

template <class I>
void run_rows(const RowsJob& j) {
    if constexpr (I::kBf16Dot)
        if (bf16_storage<I>(j.dtype)) return run_rows_t<Bf16Path<I>>(j);
    run_rows_t<F32Path<I>>(j);
}

}  // namespace
}  // namespace ha::cpu::kern
