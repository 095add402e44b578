// Exact attention forward, FlashAttention-2 style: query tiles of MQ rows iterate over key
// tiles of NT keys with an online softmax; the n×n score matrix never exists.
//
// Work decomposition (all chosen from the problem shape alone, so every output element is
// computed by the same sequence of operations whatever the thread count):
//  * The query rows sharing one kv head (a "group": G = Hq/Hkv heads × Nq rows) are cut into
//    tiles. With Nq >= MQ a tile is MQ consecutive rows of one head; with short Nq (decode)
//    the rows of all G heads are packed together, so K/V are read once per kv head.
//  * "Prepacked" mode (a group has several query tiles): the group's K/V are packed once
//    (Kᵀ tiles, converted) into a shared buffer, then its query tiles run in parallel.
//  * "Streaming" mode (one or two query tiles per group): each task packs the key tiles it
//    needs into its own L1/L2-sized scratch just before use. When groups × query tiles are
//    too few to occupy the machine, the keys are split into chunks (split-KV) whose partial
//    results are merged by their log-sum-exp in a fixed order.
//  * Decode-shaped tiles (a few rows, a long cache) take decode.h where the traits type has
//    kDecode.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_features.h"
#include "cpu/isa/intrin.h"
#include "cpu/kern/common.h"
#include "cpu/kern/decode.h"
#include "cpu/kern/pack.h"
#include "cpu/kern/paths.h"
#include "cpu/kern/shape.h"
#include "cpu/kern/softmax.h"
#include "cpu/kern/tile_out.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"
#include "tensor_check.h"

namespace ha::cpu::kern {
namespace {

// Per-thread working set of one query tile.
template <class Path>
struct TileScratch {
    using T = typename Path::T;
    static constexpr int MR = Path::Isa::MR, MQ = kMQ<typename Path::Isa>;
    AlignedBuf buf;
    T *Q, *P, *Kt, *Vt;
    float *S, *O, *m, *l;
    float *xsum, *xbias, *xkey;  // key extras: rows' running sums; one tile's bias and key_sum
    int64_t *lim, *lo;  // each row's visible keys: [lo, lim)
    int64_t *head, *zero;  // and [0, head) of the head region (ExactProblem::row_head)
    int64_t *lo2, *lim2;   // and [lo2, lim2) (ExactProblem::row_range2)
    void* rowbuf;

    void init(const Shape& s) {
        auto up = [](size_t x) { return (x + 15) & ~size_t(15); };  // keep 64-byte alignment
        const size_t nq = up(MQ * s.Dk * sizeof(T) / 4), np = up(MR * NT * sizeof(T) / 4),
                     nk = up(NT * s.Dk * sizeof(T) / 4), nv = up(NT * s.Dp * sizeof(T) / 4),
                     ns = up(MR * NT), no = up(MQ * s.Dp), nm = up(MQ), nl = up(MQ),
                     nx = up(MQ) + 2 * up(NT), nlim = up(MQ * 12), nrow = up(s.Dp + 16);
        float* base = buf.get<float>(nq + np + nk + nv + ns + no + nm + nl + nx + nlim + nrow);
        float* f = base;
        Q = reinterpret_cast<T*>(f); f += nq;
        P = reinterpret_cast<T*>(f); f += np;
        Kt = reinterpret_cast<T*>(f); f += nk;
        Vt = reinterpret_cast<T*>(f); f += nv;
        S = f; f += ns;
        O = f; f += no;
        m = f; f += nm;
        l = f; f += nl;
        xsum = f; f += up(MQ);
        xbias = f; f += up(NT);
        xkey = f; f += up(NT);
        lim = reinterpret_cast<int64_t*>(f);
        lo = lim + MQ;
        head = lo + MQ;
        zero = head + MQ;
        lo2 = zero + MQ;
        lim2 = lo2 + MQ;
        f += nlim;
        rowbuf = f;
    }
};

// The per-key extras of one key tile (ExactProblem::key_bias / key_sum), NT each, zero past
// the tile's keys: bias in raw-score units (added before the score map), and each row's
// running sum of p_j key_sum[j] (rescaled with O).
struct TileExtras {
    const float* bias;  // null: none
    const float* sum;   // null: none
    float* row;         // the block's first row's running sum
};

// Scores of R rows against one key tile, online-softmax update, then O += P·V.
template <class Path, int R, bool Extras>
inline __attribute__((always_inline)) void block_step_body(
    const Shape& s, const typename Path::T* Q, const typename Path::T* Kt,
    const typename Path::T* Vt, int64_t ldv, float* S, typename Path::T* P, float* O, float* m,
    float* l, const int64_t* lim, const int64_t* lo, int64_t j0, const TileExtras* x) {
    using I = typename Path::Isa;
    using vf = typename I::vf;
    constexpr int W = I::W;
    Path::template s_product<R>(s.Dk, Q, Kt, S);
    if constexpr (Extras)
        if (x->bias)
            for (int r = 0; r < R; ++r)
                for (int v = 0; v < NT / W; ++v)
                    I::vst(S + r * NT + v * W, I::vadd(I::vld(S + r * NT + v * W), I::vld(x->bias + v * W)));
    float alpha[R];
    const ScoreMap<I> sm(s);
    for (int r = 0; r < R; ++r) {
        const int64_t keep = std::min<int64_t>(NT, std::max<int64_t>(0, lim[r] - j0));
        const int64_t skip = std::min<int64_t>(NT, std::max<int64_t>(0, lo[r] - j0));
        vf acc = I::vzero();
        alpha[r] = softmax_row_update<I, NT>(S + r * NT, skip, keep, sm, m[r], l[r], [&](int v, vf e) {
            Path::store_p(P + r * NT + v * W, e);
            if constexpr (Extras) acc = I::vfma(e, I::vld(x->sum + v * W), acc);
        });
        if constexpr (Extras)
            if (x->sum) x->row[r] = I::fma_scalar(x->row[r], alpha[r], I::vhsum(acc));
    }
    Path::template pv_product<R>(s.Dp, P, Vt, ldv, O, alpha);
}

template <class Path, int R, bool Extras>
struct BlockStep;

template <class I, int R, bool Extras>
struct BlockStep<F32Path<I>, R, Extras> {
    static void run(const Shape& s, const float* Q, const float* Kt, const float* Vt,
                    int64_t ldv, float* S, float* P, float* O, float* m, float* l,
                    const int64_t* lim, const int64_t* lo, int64_t j0, const TileExtras* x) {
        block_step_body<F32Path<I>, R, Extras>(s, Q, Kt, Vt, ldv, S, P, O, m, l, lim, lo, j0, x);
    }
};

template <class I, int R, bool Extras>
struct BlockStep<Bf16Path<I>, R, Extras> {
    HA_TARGET_BF16 __attribute__((flatten)) static void run(
        const Shape& s, const uint16_t* Q, const uint16_t* Kt, const uint16_t* Vt, int64_t ldv,
        float* S, uint16_t* P, float* O, float* m, float* l, const int64_t* lim,
        const int64_t* lo, int64_t j0, const TileExtras* x) {
        block_step_body<Bf16Path<I>, R, Extras>(s, Q, Kt, Vt, ldv, S, P, O, m, l, lim, lo, j0, x);
    }
};

template <class Path>
using BlockFn = void (*)(const Shape&, const typename Path::T*, const typename Path::T*,
                         const typename Path::T*, int64_t, float*, typename Path::T*, float*,
                         float*, float*, const int64_t*, const int64_t*, int64_t,
                         const TileExtras*);

// Row blocks shorter than MR (tile tails, decode) get their own register blocking.
template <class Path, bool Extras, int... Rs>
constexpr std::array<BlockFn<Path>, sizeof...(Rs)> make_block_table(std::integer_sequence<int, Rs...>) {
    return {&BlockStep<Path, Rs + 1, Extras>::run...};
}

template <class Path>
void process_tile(const ExactProblem& p, const Shape& s, TileScratch<Path>& w, int64_t b,
                  int64_t hk, int64_t t, int64_t kt_begin, int64_t kt_end,
                  const typename Path::T* packed, const PartialOut* partial) {
    using T = typename Path::T;
    using I = typename Path::Isa;
    constexpr int MR = I::MR;
    static constexpr auto plain = make_block_table<Path, false>(std::make_integer_sequence<int, MR>{});
    static constexpr auto extra = make_block_table<Path, true>(std::make_integer_sequence<int, MR>{});
    const bool extras = p.key_bias || p.key_sum;
    const auto& table = extras ? extra : plain;
    const int64_t rows = tile_rows<I>(s, t);
    int64_t max_lim = 0, min_lo = s.Nk, max_head = 0, min_lo2 = s.Nk, max_lim2 = 0;
    for (int64_t r = 0; r < rows; ++r) {
        int64_t g, i;
        tile_row<I>(s, t, r, &g, &i);
        const int64_t h = hk * s.G + g;
        Path::pack_q(p.dtype, p.q, row_off(p.q, b, h, i), s.D, s.Dk, w.Q + r * s.Dk);
        scale_row(w.Q + r * s.Dk, s.D, s.qs);
        key_range(p, s, i, &w.lo[r], &w.lim[r]);
        max_lim = std::max(max_lim, w.lim[r]);
        if (w.lim[r] > w.lo[r]) min_lo = std::min(min_lo, w.lo[r]);
        w.head[r] = p.row_head ? p.row_head[i] : 0;
        w.zero[r] = 0;
        max_head = std::max(max_head, w.head[r]);
        w.lo2[r] = p.row_range2 ? p.row_range2[2 * i] : 0;
        w.lim2[r] = p.row_range2 ? std::max(w.lo2[r], p.row_range2[2 * i + 1]) : 0;
        if (w.lim2[r] > w.lo2[r]) {
            min_lo2 = std::min(min_lo2, w.lo2[r]);
            max_lim2 = std::max(max_lim2, w.lim2[r]);
        }
        w.m[r] = -INFINITY;
        w.l[r] = 0.f;
        w.xsum[r] = 0.f;
    }
    std::memset(w.O, 0, sizeof(float) * size_t(rows * s.Dp));
    // Raw scores are logits / c (ScoreMap; never capped with extras), so a natural-log bias
    // b adds b·log2(e)/c to them.
    const float bias_raw = extras ? float(kLog2e) / s.c : 0.f;

    const int64_t kstride = NT * s.Dk + NT * s.Dp;  // one packed tile: Kᵀ then V
    const bool direct_v = std::is_same_v<T, float> && p.dtype == HA_DTYPE_F32 &&
                          p.v.strides[3] == 1 && s.Dp == s.D && !p.v.pages;
    // One key tile for rows whose visible keys in it are [lo[r], lim[r]).
    auto run_tile = [&](int64_t kt, const int64_t* lo, const int64_t* lim, int64_t kt_last) {
        const int64_t j0 = kt * NT, valid = std::min<int64_t>(NT, s.Nk - j0);
        if (p.row_range && !packed) {  // rows with ranges of their own may all skip this tile
            bool seen = false;
            for (int64_t r = 0; r < rows && !seen; ++r)
                seen = lim[r] > j0 && lo[r] < j0 + NT && lim[r] > lo[r];
            if (!seen) return;
        }
        const T *Kt, *Vt;
        int64_t ldv = s.Dp;
        if (packed) {
            Kt = packed + kt * kstride;
            Vt = Kt + NT * s.Dk;
        } else {
            if (kt + 2 < kt_last) {
                const int64_t jp = j0 + 2 * NT, vp = std::min<int64_t>(NT, s.Nk - jp);
                const int64_t es = ha::dtype_size(p.dtype);
                prefetch_tile(p.k, es, b, hk, jp, vp, s.D);
                prefetch_tile(p.v, es, b, hk, jp, vp, s.D);
            }
            Path::pack_k(p.dtype, p.k, b, hk, j0, valid, s.D, s.Dk, w.Kt, w.rowbuf);
            Kt = w.Kt;
            if (direct_v && valid == NT) {
                // fp32 rows already in the layout P·V streams: skip a copy of V.
                Vt = reinterpret_cast<const T*>(static_cast<const float*>(p.v.data) +
                                                row_off(p.v, b, hk, j0));
                ldv = p.v.strides[2];
            } else {
                Path::pack_v(p.dtype, p.v, b, hk, j0, valid, s.D, s.Dp, w.Vt, w.rowbuf);
                Vt = w.Vt;
            }
        }
        if (extras)  // the tile's extras, zero past its keys (the masked lanes read them)
            for (int64_t c = 0; c < NT; ++c) {
                w.xbias[c] = p.key_bias && c < valid ? p.key_bias[j0 + c] * bias_raw : 0.f;
                w.xkey[c] = p.key_sum && c < valid ? p.key_sum[j0 + c] : 0.f;
            }
        for (int64_t r0 = 0; r0 < rows; r0 += MR) {
            const int R = int(std::min<int64_t>(MR, rows - r0));
            bool any = false;  // does a row of the block see a key of this tile?
            for (int r = 0; r < R; ++r)
                any |= lim[r0 + r] > j0 && lo[r0 + r] < j0 + NT && lim[r0 + r] > lo[r0 + r];
            if (!any) continue;
            const TileExtras x{p.key_bias ? w.xbias : nullptr, p.key_sum ? w.xkey : nullptr, w.xsum + r0};
            table[R - 1](s, w.Q + r0 * s.Dk, Kt, Vt, ldv, w.S, w.P, w.O + r0 * s.Dp, w.m + r0,
                         w.l + r0, lim + r0, lo + r0, j0, &x);
        }
    };
    // The head region's tiles (each row's first keys), then the tiles of the rows' ranges.
    const int64_t head_tiles = p.row_head ? p.head_end / NT : 0;
    const int64_t head_last = std::min(kt_end, (max_head + NT - 1) / NT);
    for (int64_t kt = kt_begin; kt < head_last; ++kt) run_tile(kt, w.zero, w.head, head_last);
    const int64_t end1 = std::min(kt_end, (max_lim + NT - 1) / NT);
    for (int64_t kt = std::max({kt_begin, min_lo / NT, head_tiles}); kt < end1; ++kt) run_tile(kt, w.lo, w.lim, end1);
    // The second ranges: a tile both passes visit is scored twice, each pass masked to its
    // own range (the ranges of a tile's rows lie close together, so few tiles are).
    const int64_t end2 = std::min(kt_end, (max_lim2 + NT - 1) / NT);
    for (int64_t kt = std::max(kt_begin, min_lo2 / NT); kt < end2; ++kt) run_tile(kt, w.lo2, w.lim2, end2);

    emit_tile<I>(p, s, b, hk, t, rows, w.O, s.Dp, w.m, w.l, partial, extras ? w.xsum : nullptr);
}

// The token that says which path packed a PackedKV (one per ISA and path).
template <class Path>
const void* pack_owner() {
    static const char token = 0;
    return &token;
}

// p.packed when this path packed it for these keys.
template <class Path>
const typename Path::T* packed_for(const ExactProblem& p, const Shape& s) {
    const PackedKV* k = p.packed;
    if (!k || !p.row_range || k->owner != pack_owner<Path>() || k->nk != s.Nk || k->dk != s.Dk || k->dp != s.Dp ||
        s.B != 1 || s.Hkv != 1)
        return nullptr;
    return static_cast<const typename Path::T*>(k->data);
}

// Packs key tiles of (b, hk) into packed (Kᵀ then V per tile), the tiles with used[kt] only
// when used is given; rowbuf_of(slot) is a thread's row buffer (Dp + 16 floats at least).
template <class Path, class RowBuf>
int32_t pack_tiles(const ExactProblem& p, const Shape& s, int64_t b, int64_t hk, typename Path::T* packed,
                   const uint8_t* used, int slots, RowBuf&& rowbuf_of) {
    constexpr int64_t kPackTiles = 4;
    const int64_t kstride = NT * s.Dk + NT * s.Dp;
    return parallel_for((s.n_kt + kPackTiles - 1) / kPackTiles, slots, [&](int64_t task, int slot) {
        void* rowbuf = rowbuf_of(slot);
        for (int64_t kt = task * kPackTiles; kt < std::min(s.n_kt, (task + 1) * kPackTiles); ++kt) {
            if (used && !used[size_t(kt)]) continue;
            const int64_t j0 = kt * NT, valid = std::min<int64_t>(NT, s.Nk - j0);
            typename Path::T* Kt = packed + kt * kstride;
            Path::pack_k(p.dtype, p.k, b, hk, j0, valid, s.D, s.Dk, Kt, rowbuf);
            Path::pack_v(p.dtype, p.v, b, hk, j0, valid, s.D, s.Dp, Kt + NT * s.Dk, rowbuf);
        }
    });
}

// A number per run_forward call (per path), so each thread re-initialises its scratch for the
// call's shape once.
template <class Path>
int64_t next_scratch_generation() {
    static int64_t g = 0;
    return __atomic_add_fetch(&g, 1, __ATOMIC_RELAXED);
}

template <class Path>
int32_t run_forward(const ExactProblem& p, const Shape& s) {
    using T = typename Path::T;
    using I = typename Path::Isa;
    const int slots = std::max(1, pool_threads());
    // Each thread keeps its tile scratch between calls (a thread runs one task at a time, and
    // run_forward never runs inside one of its own tasks), so a small call allocates nothing.
    // Only types of this namespace in thread_local storage: a std template instantiated here on
    // a shared type is a weak symbol the linker might hand to the baseline code.
    const int64_t call = next_scratch_generation<Path>();
    auto tile_scratch = [&](int) -> TileScratch<Path>& {
        static thread_local TileScratch<Path> w;
        static thread_local int64_t ready_for = 0;
        if (ready_for != call) {
            w.init(s);
            ready_for = call;
        }
        return w;
    };
    const int64_t groups = s.B * s.Hkv;
    const bool prepacked = s.n_qt >= 3 && s.n_kt > 0;

    const T* ext = packed_for<Path>(p, s);  // packed by the caller (exact_pack), or null
    if (prepacked) {
        const int64_t kstride = NT * s.Dk + NT * s.Dp;
        AlignedBuf kv;
        // With per-row key ranges (approximate attention's parts), only the key tiles some row
        // sees are packed: a call over part of a long array must not pay for all of it. (Plain
        // buffers, not std::vector<uint8_t>: its out-of-line members are weak symbols shared
        // with every other object, see check_isa_objects.cmake.)
        AlignedBuf used_buf, diff_buf;
        uint8_t* used = nullptr;
        if (p.row_range && !ext) {
            int32_t* diff = diff_buf.get<int32_t>(size_t(s.n_kt + 1));
            std::memset(diff, 0, sizeof(int32_t) * size_t(s.n_kt + 1));
            for (int64_t i = 0; i < s.Nq; ++i) {
                const int64_t lo = p.row_range[2 * i], hi = p.row_range[2 * i + 1];
                if (hi <= lo) continue;
                ++diff[size_t(lo / NT)];
                --diff[size_t((hi - 1) / NT + 1)];
            }
            used = used_buf.get<uint8_t>(size_t(s.n_kt));
            if (p.row_range2)
                for (int64_t i = 0; i < s.Nq; ++i) {
                    const int64_t lo = p.row_range2[2 * i], hi = p.row_range2[2 * i + 1];
                    if (hi <= lo) continue;
                    ++diff[size_t(lo / NT)];
                    --diff[size_t((hi - 1) / NT + 1)];
                }
            if (p.row_head)
                for (int64_t i = 0; i < s.Nq; ++i)
                    if (p.row_head[i] > 0) {
                        ++diff[0];
                        --diff[size_t((p.row_head[i] - 1) / NT + 1)];
                    }
            int32_t run = 0;
            for (int64_t kt = 0; kt < s.n_kt; ++kt) used[size_t(kt)] = (run += diff[size_t(kt)]) > 0;
        }
        // (ext: one group, packed already.)
        T* own = ext ? nullptr : kv.get<T>(size_t(s.n_kt * kstride));
        const T* packed = ext ? ext : own;
        for (int64_t grp = 0; grp < groups; ++grp) {
            const int64_t b = grp / s.Hkv, hk = grp % s.Hkv;
            int32_t st = HA_OK;
            if (own)
                st = pack_tiles<Path>(p, s, b, hk, own, used, slots,
                                      [&](int slot) { return tile_scratch(slot).rowbuf; });
            if (st != HA_OK) return st;
            st = parallel_for(s.n_qt, slots, [&](int64_t task, int slot) {
                // Causal: the last query tiles see the most keys, so hand them out first.
                int64_t t = task;
                if (s.head_major) {
                    const int64_t ti = s.tiles_per_head - 1 - task / s.G, g = task % s.G;
                    t = g * s.tiles_per_head + ti;
                }
                process_tile<Path>(p, s, tile_scratch(slot), b, hk, t, 0, s.n_kt, packed, nullptr);
            });
            if (st != HA_OK) return st;
        }
        return HA_OK;
    }

    // bf16 decodes in place on AVX512-BF16 (Bf16Path) and on AVX2, which widens bf16 K/V in
    // registers (kDecWidenBf16); AVX-512 without BF16 packs them (F32Path). fp16 decodes in
    // place on both, widened in registers (F32Path, decode_tiles<Half>).
    bool decode = false, by_position = false;
    if constexpr (I::kDecode) {
        decode = decode_eligible<I>(p, s, !std::is_same_v<Path, F32Path<I>> || I::kDecWidenBf16);
        // Heads interleaved within a position ([b,s,h,d]): one task walks all kv groups of a
        // batch entry together (see decode_tiles).
        by_position = decode && s.Hkv > 1 && p.k.strides[1] < p.k.strides[2] &&
                      p.v.strides[1] < p.v.strides[2];
    }

    // Streaming mode. Split the keys only when the work units alone cannot fill a machine:
    // the chunk count depends on the shape, never on the thread count.
    constexpr int64_t kTargetTasks = 32, kMinChunkTiles = 32;  // 2048 keys
    const int64_t base_tasks = groups * s.n_qt;
    const int64_t units = by_position ? s.B * s.n_qt : base_tasks;
    int64_t chunks = 1;  // (the key extras have no partial slots: never split with them)
    if (units < kTargetTasks && s.n_kt >= 2 * kMinChunkTiles && !p.key_bias && !p.key_sum)
        chunks = std::min((kTargetTasks + units - 1) / units, s.n_kt / kMinChunkTiles);
    const int64_t chunk_tiles = (s.n_kt + chunks - 1) / std::max<int64_t>(chunks, 1);
    if (chunks > 1) chunks = (s.n_kt + chunk_tiles - 1) / chunk_tiles;

    // Partial slots sized by the largest tile (decode tiles hold a few rows, not MQ).
    const int64_t prow = tile_rows<I>(s, 0);
    const int64_t part_stride = prow * s.Dp + 2 * prow;
    AlignedBuf parts;
    float* part = chunks > 1 ? parts.get<float>(size_t(base_tasks * chunks * part_stride)) : nullptr;
    auto slot_of = [&](int64_t task) {
        float* f = part + task * part_stride;
        return PartialOut{f, f + prow * s.Dp, f + prow * s.Dp + prow};
    };
    // Work unit u over key chunk c: the tile(s) it covers, written to the output directly or
    // to their partial slots.
    int32_t st = parallel_for(units * chunks, slots, [&](int64_t task, int slot) {
        const int64_t c = task % chunks, u = task / chunks;
        const int64_t kt0 = c * chunk_tiles, kt1 = std::min(s.n_kt, (c + 1) * chunk_tiles);
        const int64_t t = u % s.n_qt;
        if constexpr (I::kDecode) {
            if (decode) {
                const int64_t b = by_position ? u / s.n_qt : u / s.n_qt / s.Hkv;
                const int64_t hk0 = by_position ? 0 : (u / s.n_qt) % s.Hkv;
                const int64_t hk1 = by_position ? s.Hkv : hk0 + 1;
                auto partial_of = [&](int64_t hk) {
                    return chunks > 1 ? slot_of(((b * s.Hkv + hk) * s.n_qt + t) * chunks + c)
                                      : PartialOut{nullptr, nullptr, nullptr};
                };
                // The element type of the cache, not of the path: F32Path serves bf16 on AVX2.
                // (Only where it can happen, so AVX-512 instantiates nothing new.)
                if constexpr (I::kDecWidenBf16 && std::is_same_v<T, float>) {
                    if (p.dtype == HA_DTYPE_BF16) {
                        decode_tiles<I, uint16_t>(p, s, b, hk0, hk1, t, kt0, kt1, partial_of);
                        return;
                    }
                }
                // fp16 always runs on F32Path and is widened in registers (F16C) on both ISAs.
                if constexpr (std::is_same_v<T, float>) {
                    if (p.dtype == HA_DTYPE_F16) {
                        decode_tiles<I, Half>(p, s, b, hk0, hk1, t, kt0, kt1, partial_of);
                        return;
                    }
                }
                decode_tiles<I, T>(p, s, b, hk0, hk1, t, kt0, kt1, partial_of);
                return;
            }
        }
        const int64_t grp = u / s.n_qt;
        const PartialOut out = chunks > 1 ? slot_of(task) : PartialOut{nullptr, nullptr, nullptr};
        process_tile<Path>(p, s, tile_scratch(slot), grp / s.Hkv, grp % s.Hkv, t, kt0, kt1,
                           ext, chunks > 1 ? &out : nullptr);
    });
    if (chunks <= 1) return st;
    if (st != HA_OK) return st;
    return parallel_for(base_tasks, slots, [&](int64_t bt, int slot) {
        const int64_t grp = bt / s.n_qt, t = bt % s.n_qt, b = grp / s.Hkv, hk = grp % s.Hkv;
        const int64_t rows = tile_rows<I>(s, t);
        AlignedBuf obuf;
        float* o = obuf.get<float>(size_t(s.Dp));
        for (int64_t r = 0; r < rows; ++r) {
            float M = -INFINITY;
            for (int64_t c = 0; c < chunks; ++c) M = std::max(M, slot_of(bt * chunks + c).m[r]);
            float L = 0.f;
            std::fill(o, o + s.Dp, 0.f);
            {
                for (int64_t c = 0; c < chunks; ++c) {
                    const PartialOut po = slot_of(bt * chunks + c);
                    if (po.m[r] == -INFINITY) {
                        if (po.l[r] != 0.f) L = NAN;  // a chunk of NaN scores: the row is NaN
                        continue;
                    }
                    const float wgt = std::exp2(po.m[r] - M);
                    L += po.l[r] * wgt;
                    const float* src = po.O + r * s.Dp;
                    for (int64_t d = 0; d < s.D; ++d) o[d] += wgt * src[d];
                }
            }
            int64_t g, i;
            tile_row<I>(s, t, r, &g, &i);
            finish_row<I>(p, b, hk * s.G + g, i, o, M, L, s.D);
        }
    });
}

template <class Path>
Shape make_shape(const ExactProblem& p) {
    constexpr int MQ = kMQ<typename Path::Isa>;
    Shape s{};
    s.B = p.q.shape[0];
    s.Hq = p.q.shape[1];
    s.Nq = p.q.shape[2];
    s.D = p.q.shape[3];
    s.Hkv = p.k.shape[1];
    s.Nk = p.k.shape[2];
    s.G = s.Hq / s.Hkv;
    s.Dk = Path::dk(s.D);
    s.Dp = (s.D + 15) / 16 * 16;  // a multiple of W for every ISA and of 16 for bf16 pairs
    s.n_kt = (s.Nk + NT - 1) / NT;
    s.head_major = s.G == 1 || s.Nq >= MQ;
    s.tiles_per_head = (s.Nq + MQ - 1) / MQ;
    s.n_qt = s.head_major ? s.G * s.tiles_per_head : (s.G * s.Nq + MQ - 1) / MQ;
    split_scale(p.scale * kLog2e, &s.qs, &s.c);
    if (p.softcap > 0.f) {
        s.capped = true;
        s.tc = p.scale / (s.qs * p.softcap);
        s.cl = p.softcap * kLog2e;
    }
    return s;
}

// Packs every key tile of p's K/V (B = Hkv = 1) in the layout run_forward's prepacked mode uses.
template <class Path>
int32_t pack_all(const ExactProblem& p, const Shape& s, PackedKV& out) {
    using T = typename Path::T;
    const int64_t kstride = NT * s.Dk + NT * s.Dp;
    T* packed = static_cast<T*>(out.reserve(size_t(std::max<int64_t>(1, s.n_kt * kstride)) * sizeof(T)));
    const int slots = std::max(1, pool_threads());
    const int32_t st = pack_tiles<Path>(p, s, 0, 0, packed, nullptr, slots, [&](int) {
        static thread_local AlignedBuf rb;  // one row of this path's widest rows
        return rb.get<float>(size_t(s.Dp + 16));
    });
    if (st != HA_OK) return st;
    out.owner = pack_owner<Path>();
    out.nk = s.Nk;
    out.dk = s.Dk;
    out.dp = s.Dp;
    return HA_OK;
}

template <class I>
int32_t exact_pack(const ExactProblem& p, PackedKV& out) {
    if constexpr (I::kBf16Dot)
        if (p.dtype == HA_DTYPE_BF16 && cpu_features().avx512_bf16)
            return pack_all<Bf16Path<I>>(p, make_shape<Bf16Path<I>>(p), out);
    return pack_all<F32Path<I>>(p, make_shape<F32Path<I>>(p), out);
}

// The exact-attention entry of the kernel table.
template <class I>
int32_t exact_forward(const ExactProblem& p) {
    if (p.q.shape[0] == 0 || p.q.shape[1] == 0 || p.q.shape[2] == 0) return HA_OK;
    if constexpr (I::kBf16Dot)
        if (p.dtype == HA_DTYPE_BF16 && cpu_features().avx512_bf16)
            return run_forward<Bf16Path<I>>(p, make_shape<Bf16Path<I>>(p));
    return run_forward<F32Path<I>>(p, make_shape<F32Path<I>>(p));
}

}  // namespace
}  // namespace ha::cpu::kern
