// HSR queries over a key index.
//
// Work unit: query rows of one (batch, kv head) that share every key read: when decoding, the
// GQA heads of one or a few positions (up to kMaxRows); when prefilling, one row (compute-bound:
// rows would pay for each other's blocks), after a probe of a few units decides whether the
// whole problem goes dense. A unit
//  1. bounds every sealed block for each of its rows (guarded ball bound, refined by the box
//     bound where it matters);
//  2. chooses blocks: for ReLU and reporting, those whose bound reaches the threshold for some
//     row (each row then scores only the blocks its own bound admits: the rows share the read,
//     not the arithmetic); for softmax, blocks in descending order of bound until the certified
//     remainder is <= eps (below);
//  3. visits them (and the exact recent tail) in tasks of kChunkItems blocks whose partial
//     results merge in a fixed order, so results never depend on the thread count;
//  4. falls back when the blocks to visit are a large fraction of the cache: ReLU scans every
//     key in cache order (still reading only the values of keys with weight), softmax calls the
//     dense exact kernel (dropped mass 0). Softmax decides from the bounds alone when even the
//     most favourable kept mass could not certify a small set (flat rows fall back before any
//     key is read), otherwise after the first round.
//
// Softmax certificate, per row (log2 units, m the running max of computed scaled scores):
//   kept mass   S >= S_low = Sd·(1 − kappa)·2^-err   (Sd: the computed sum of 2^(x − m))
//   dropped     D <= R = Σ_{unvisited b} n_b·2^(c·U_b − m)
//   p_D = D/(S + D) <= R/(S_low + R), and we stop only when that is <= eps.
// kappa covers the float sums and err the float scores (dot_err) and exp2 rounding. Blocks
// are bucketed by 2^(c·(U_b − U_max)) (one bucket per factor of 2), whose suffix sums give R
// for "everything below level L" in O(1). Rounds: the tail and each row's top kRound0Blocks
// first, then whole levels, growing at most geometrically, until every row is certified.
// The error bound: o − ô = Σ_{dropped b} P_b·(μ_b − ô) with P_b <= R_b/S_low and μ_b inside
// the block's value range, so |o_d − ô_d| <= Σ_b R_b/S_low · max(vmax_b,d − ô_d, ô_d − vmin_b,d).
#include "cpu/hsr/engine.h"

#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <tuple>

#include "cpu/cpu_backend.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/numerics.h"
#include "cpu/thread_pool.h"
#include "error.h"
#include "hyperattn.h"

namespace ha::cpu::hsr {
namespace {

constexpr int kLevels = 120;              // buckets of one factor of 2 below a row's top bound
constexpr int kNumLevels = kLevels + 1;   // ... plus one for everything further down
constexpr uint8_t kExcluded = 255;        // block has no key the row may see (causal)
constexpr int kRound0Blocks = 8;          // highest-bound blocks per row visited first
constexpr int kChunkItems = 16;           // blocks per visit task
constexpr int64_t kBoundChunks = 64;      // centre chunks (of 16 blocks) per bound task
// Fraction of the keys beyond which a dense pass is cheaper: gathering rows through the
// permutation (values always, keys without the index's copy) reads memory at about a third of
// the streaming rate (decode is memory-bound); prefill is compute-bound, where the dense
// kernel's GEMMs are much faster per key. (Tuned before the key copy; not re-tuned since.)
constexpr double kFallbackDecode = 0.3;
constexpr double kFallbackPrefill = 0.2;
constexpr double kBoxWindow = 12.0;       // box refinement for bounds within 2^12 of the top
constexpr size_t kBoxMaxBand = 512;      // ... for at most this many blocks per row
constexpr int64_t kBoxTrial = 64;         // ReLU/report: box tries before judging its use
constexpr int kTopDev = 16;               // dropped blocks given their own value range
constexpr int64_t kProbeUnits = 48;       // prefill: units tried before choosing the path
constexpr double kLog2e = 1.4426950408889634;
constexpr int64_t kWaveBytes = int64_t(256) << 20;

struct Item {
    const int32_t* pos;  // key positions, or nullptr for first + [0, n)
    int64_t first;
    int32_t n;
    int32_t block;       // sealed block, or -1 (tail, cache-order scan)
    int64_t slot0;       // storage slot of the first key when pos == nullptr
    uint8_t rows = 0xFF; // bit r: row r needs these scores (ReLU, reporting: its bound may
                         // reach the threshold); the other rows get -inf without computing
};

struct Unit {
    int64_t b = 0, hk = 0, r0 = 0;
    int R = 0;
    int64_t h[kMaxRows] = {}, i[kMaxRows] = {}, lim[kMaxRows] = {};
    float nq[kMaxRows] = {};
    std::vector<float> Q, U;
    // softmax planning, per row over the blocks
    std::vector<float> e;         // upper bound of 2^(c(U_b - Umax)) (inf: must visit)
    std::vector<uint8_t> lvl;
    std::vector<int32_t> order;   // blocks by level, then id
    std::vector<int32_t> lstart;  // [R][kNumLevels + 1]
    std::vector<double> suf;      // [R][kNumLevels + 1] suffix sums of e over levels
    double umax[kMaxRows] = {};
    int level[kMaxRows] = {};
    bool certified[kMaxRows] = {};
    std::vector<uint8_t> visited;
    std::vector<int32_t> visited_list, band;
    std::vector<uint8_t> visited_rows;  // ReLU, reporting: Item::rows of visited_list's blocks
    int64_t n_visited = 0, visited_keys = 0;
    std::vector<Item> items;  // this round's
    bool active = false, fallback = false, scan = false;
    // accumulated result
    float m[kMaxRows], Sf[kMaxRows], xm[kMaxRows];
    double Sd[kMaxRows];
    std::vector<float> O;
    float vis_maxnorm = 0.f;
    std::vector<std::vector<int32_t>> lists;
    int64_t task0 = 0, ntasks = 0;
};

struct Partial {
    std::vector<float> O;
    float m[kMaxRows], Sf[kMaxRows], xm[kMaxRows];
    double Sd[kMaxRows];
    float maxnorm = 0.f;
    std::vector<std::vector<int32_t>> lists;
};

struct Scratch {
    std::vector<float> S, P, krow;
    std::vector<float> Pq;  // ReLU: the weights of a task's items, [kChunkItems][kMaxRows][kL]
    std::vector<double> qd, kd;
};

struct Workspace {
    std::vector<Unit> units;
    std::vector<Partial> parts;
    std::vector<int64_t> owner;
    std::vector<Scratch> scratch;

    // Keeps what a decoding step needs; a large prefill's buffers are given back.
    void trim() {
        size_t bytes = 0;
        for (const Unit& u : units)
            bytes += u.U.capacity() * 4 + u.e.capacity() * 4 + u.lvl.capacity() +
                     u.order.capacity() * 4 + u.visited.capacity() + u.band.capacity() * 4;
        for (const Partial& p : parts) bytes += p.O.capacity() * 4;
        if (bytes > (size_t(64) << 20)) {
            std::vector<Unit>().swap(units);
            std::vector<Partial>().swap(parts);
        }
    }
};

struct Ctx {
    Ctx(const Query& q_, const ha_key_index& x_, const Kernels& kr_) : q(q_), x(x_), kr(kr_) {}
    const Query& q;
    const ha_key_index& x;
    const Kernels& kr;
    int64_t B = 0, Hq = 0, Hkv = 0, Nq = 0, Nk = 0, D = 0, Dp = 0, G = 0, bs = 0, kL = 0;
    int64_t RU = 0, units_per_group = 0;  // rows per work unit, units per (batch, kv head)
    bool force_scan = false;              // ReLU: scan every key (the dense path)
    float c = 0, eta = 0;
    double cd = 0, E = 0, fallback_frac = 0, relu_t = 0;
    std::vector<float> vrmin, vrmax;  // per (b, kv head) value ranges when the index has none
    bool need_errb = false;

    RowSrc src(const View& v, int32_t dtype, int64_t b, int64_t h) const {
        const int64_t es = dtype == HA_DTYPE_BF16 ? 2 : 4;
        const char* row0 = static_cast<const char*>(v.data);  // NULL for an empty K: no offset
        if (row0) row0 += (b * v.strides[0] + h * v.strides[1]) * es;
        return RowSrc{row0, v.strides[2], v.strides[3], dtype == HA_DTYPE_BF16};
    }
    RowSrc ksrc(int64_t b, int64_t hk) const { return src(q.k.view, q.k.dtype, b, hk); }
    RowSrc vsrc(int64_t b, int64_t hk) const { return src(q.v.view, q.v.dtype, b, hk); }
    const HeadIndex& head(const Unit& u) const { return x.heads[size_t(u.b * Hkv + u.hk)]; }
    int64_t row_id(const Unit& u, int r) const { return (u.b * Hq + u.h[r]) * Nq + u.i[r]; }
};

// ---- setup -------------------------------------------------------------------------------
void init_unit(const Ctx& cx, Unit& u, int64_t b, int64_t hk, int64_t r0) {
    u.b = b;
    u.hk = hk;
    u.r0 = r0;
    u.R = int(std::min<int64_t>(cx.RU, cx.G * cx.Nq - r0));
    u.Q.assign(size_t(u.R * cx.Dp), 0.f);
    for (int r = 0; r < u.R; ++r) {
        const int64_t rr = r0 + r;
        u.h[r] = hk * cx.G + rr % cx.G;
        u.i[r] = rr / cx.G;
        u.lim[r] = cx.q.causal ? std::clamp<int64_t>(u.i[r] + cx.Nk - cx.Nq + 1, 0, cx.Nk) : cx.Nk;
        const RowSrc qs = cx.src(cx.q.q.view, cx.q.q.dtype, b, u.h[r]);
        cx.kr.load_rows(qs, nullptr, u.i[r], 1, cx.D, cx.Dp, u.Q.data() + r * cx.Dp);
        u.nq[r] = round_up_f(std::sqrt(cx.kr.sumsq(u.Q.data() + r * cx.Dp, cx.D) *
                                       (1.0 + double(cx.D + 8) * 0x1p-52)) * (1.0 + 0x1p-51));
        u.m[r] = -INFINITY;
        u.Sf[r] = 0.f;
        u.Sd[r] = 0.0;
        u.xm[r] = 0.f;
        u.level[r] = 0;
        u.certified[r] = false;
    }
    u.O.assign(size_t(u.R * cx.Dp), 0.f);
    u.active = true;
    u.fallback = u.scan = false;
    u.n_visited = u.visited_keys = 0;
    u.vis_maxnorm = 0.f;
    u.items.clear();
    u.visited_list.clear();
    u.visited_rows.clear();
    if (cx.q.mode == Mode::Report) u.lists.assign(size_t(u.R), {});
}

int64_t sealed_keys(const HeadIndex& h) { return h.bstart.empty() ? 0 : h.bstart[size_t(h.nb)]; }
int32_t block_size(const HeadIndex& h, int64_t blk) {
    return h.bstart[size_t(blk + 1)] - h.bstart[size_t(blk)];
}

Item tail_item(const Ctx& cx, const HeadIndex& h) {
    const int64_t sealed = sealed_keys(h);
    return Item{nullptr, sealed, int32_t(cx.Nk - sealed), -1, sealed};
}

Item block_item(const Ctx&, const HeadIndex& h, int32_t blk) {
    const int64_t s0 = h.bstart[size_t(blk)];
    return Item{h.perm.data() + s0, 0, block_size(h, blk), blk, s0};
}

bool block_visible(const HeadIndex& h, int32_t blk, int64_t lim) { return h.minpos[size_t(blk)] < lim; }

// Box bound of block blk for row r, guarded; never below the true maximum of q·k.
float box_bound(const Ctx& cx, const Unit& u, int r, const HeadIndex& h, int64_t blk) {
    const float s = cx.kr.box_sum(u.Q.data() + r * cx.Dp, cx.Dp, h.lo.data() + blk * cx.Dp,
                                  h.hi.data() + blk * cx.Dp);
    if (!(std::fabs(s) < INFINITY)) return INFINITY;  // overflowed: no bound
    return guard_up(std::fma(u.nq[r], h.beta[size_t(blk)], s), cx.eta);
}

// ---- planning: ReLU and reporting ----------------------------------------------------------
void plan_threshold(const Ctx& cx, Unit& u, double t) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb, nbp = (nb + kChunkBlocks - 1) / kChunkBlocks * kChunkBlocks;
    const float tf = round_down_f(t);  // never above the threshold: a block is skipped only if provably below
    std::vector<int32_t> cand;
    std::vector<uint8_t> cand_rows;
    // The box bound is tried on blocks that pass the ball bound; when it rejects almost none
    // of the first ones (isotropic clusters), it is not worth its second pass over the bounds.
    int64_t box_tries = 0, box_rejects = 0;
    for (int64_t blk = 0; blk < nb; ++blk) {
        unsigned rows = 0;
        for (int r = 0; r < u.R; ++r) {
            if (!block_visible(h, int32_t(blk), u.lim[r])) continue;
            const float ub = u.U[size_t(r * nbp + blk)];
            if (ub < tf) continue;  // NaN falls through: visit
            if (box_tries < kBoxTrial || box_rejects * 16 >= box_tries) {
                ++box_tries;
                if (box_bound(cx, u, r, h, blk) < tf) {
                    ++box_rejects;
                    continue;
                }
            }
            rows |= 1u << r;
        }
        if (rows) {
            cand.push_back(int32_t(blk));
            cand_rows.push_back(uint8_t(rows));
        }
    }
    u.items.clear();
    const Item tail = tail_item(cx, h);
    if (tail.n > 0) u.items.push_back(tail);
    int64_t cand_keys = 0;
    for (int32_t blk : cand) cand_keys += block_size(h, blk);
    if (cx.q.mode == Mode::Relu &&
        (cx.force_scan || double(cand_keys) > cx.fallback_frac * double(sealed_keys(h)))) {
        // Dense scan in cache order: every key's score, values only where the weight is not 0.
        u.scan = true;
        int64_t seen = 0;  // keys any row of the unit may see (causal)
        for (int r = 0; r < u.R; ++r) seen = std::max(seen, u.lim[r]);
        const int64_t end = std::min(sealed_keys(h), seen);
        for (int64_t j0 = 0; j0 < end; j0 += cx.bs)
            u.items.push_back(Item{nullptr, j0, int32_t(std::min<int64_t>(cx.bs, end - j0)), -1, -1});
        u.visited_list.clear();
        u.visited_rows.clear();
    } else {
        for (size_t c = 0; c < cand.size(); ++c) {
            u.items.push_back(block_item(cx, h, cand[c]));
            u.items.back().rows = cand_rows[c];
        }
        u.visited_list = std::move(cand);
        u.visited_rows = std::move(cand_rows);
    }
}

// ---- planning: softmax ---------------------------------------------------------------------
struct Cert {
    double a;      // log2 of the prefactor 2^(c·Umax − m), rounded up
    double s_low;  // certified lower bound of the kept mass (relative to 2^m)
};

Cert certificate(const Ctx& cx, const Unit& u, int r) {
    const double m = u.m[r];
    const double cu = u.umax[r] >= 0 ? cx.cd * (1 + 0x1p-50) : cx.cd * (1 - 0x1p-50);
    const double cum = cu * u.umax[r];
    double a = cum - m;
    a += (std::fabs(cum) + std::fabs(m)) * 0x1p-50 + 1e-300;
    // Score error of the kept keys in log2 units, and the rounding of fl(s·c) − m and exp2.
    const double delta = cx.E * double(u.nq[r]) * double(u.vis_maxnorm) + double(cx.eta);
    const double err = 4 * 0x1p-24 * (std::fabs(m) + 130) + cx.cd * 1.01 * delta + 0x1p-20 / kLog2e;
    const double kappa = 80 * 0x1p-24 + double(u.n_visited + 8) * 0x1p-50;
    return Cert{a, u.Sd[r] * (1 - kappa) * std::exp2(-err)};
}

// True when the mass of everything at levels >= L is certified to be <= eps (with a margin
// for the final rounding to float).
bool certified_at(const Ctx& cx, const Unit& u, int r, int L, const Cert& ct, int64_t nb) {
    const double s = u.suf[size_t(r * (kNumLevels + 1) + L)];
    if (s == 0) return true;
    if (u.m[r] == -INFINITY || !(ct.s_low > 0)) return false;
    const double eps = cx.q.epsilon * (1 - 0x1p-20);
    const double log2R = ct.a + std::log2(s * (1 + double(nb + 80) * 0x1p-52));
    return log2R + std::log2(1 - eps) <= std::log2(eps) + std::log2(ct.s_low);
}

void mark_visited(Unit& u, const HeadIndex& h, int32_t blk) {
    if (u.visited[size_t(blk)]) return;
    u.visited[size_t(blk)] = 1;
    u.visited_list.push_back(blk);
    ++u.n_visited;
    u.visited_keys += block_size(h, blk);
}

// The box bound tightens the blocks whose ball bound is within kBoxWindow (log2 units) of
// the row's top refined bound; the top moves down as blocks are refined, so repeat until the
// window is covered. Blocks further down keep their ball bound (their weight is tiny anyway).
// Returns the top finite bound after refinement (-inf if none).
float refine_top(const Ctx& cx, const Unit& u, int r, const HeadIndex& h, float* U,
                 std::vector<int32_t>& band) {
    const int64_t nb = h.nb;
    const float w = float(kBoxWindow / cx.cd);
    float ball_top = -INFINITY;
    for (int64_t b = 0; b < nb; ++b)
        if (U[b] < INFINITY && U[b] > ball_top) ball_top = U[b];  // NaN, +inf skipped
    if (ball_top == -INFINITY) return ball_top;
    // Candidates: a band of twice the window below the ball top, in one pass.
    band.clear();
    float below = -INFINITY;  // largest ball bound under the band
    const float floor_b = ball_top - 2 * w;
    for (int64_t b = 0; b < nb; ++b) {
        const float x = U[b];
        if (!(x < INFINITY)) continue;
        if (x >= floor_b) band.push_back(int32_t(b));
        else if (x > below) below = x;
    }
    // A flat row (many blocks near the top) gains little from boxes and would pay for all.
    if (band.size() > kBoxMaxBand) {
        float top = -INFINITY;
        for (int32_t b : band) top = std::max(top, U[b]);
        return top;
    }
    float done_above = INFINITY, theta = ball_top - w, top = -INFINITY;
    while (theta < done_above) {
        top = below;
        for (int32_t b : band) {
            const float x = U[b];  // refined bounds stay <= the ball bound: refine once
            if (x >= theta && x < done_above) U[b] = std::min(x, box_bound(cx, u, r, h, b));
            top = std::max(top, U[b]);
        }
        done_above = theta;
        theta = std::min(theta, top - w);
        if (theta < floor_b) {  // the top fell through the band: refine what is left, once
            top = -INFINITY;
            for (int64_t b = 0; b < nb; ++b) {
                const float x = U[b];
                if (!(x < INFINITY) || x == -INFINITY) continue;
                if (x >= theta && x < floor_b) U[b] = std::min(x, box_bound(cx, u, r, h, b));
                top = std::max(top, U[b]);
            }
            break;
        }
    }
    return top;
}

// Bounds -> buckets.
void plan_softmax_init(const Ctx& cx, Unit& u) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb, nbp = (nb + kChunkBlocks - 1) / kChunkBlocks * kChunkBlocks;
    const int R = u.R;
    u.e.resize(size_t(R * nb));
    u.lvl.resize(size_t(R * nb));
    u.order.resize(size_t(R * nb));
    u.lstart.assign(size_t(R * (kNumLevels + 1)), 0);
    u.suf.assign(size_t(R * (kNumLevels + 1)), 0.0);
    u.visited.assign(size_t(nb), 0);
    // y = c·(U − top) rounded to float: |error| <= 3·2^-24·64 for y >= -64, far inside the
    // 2^-14 by which e is inflated.
    const float cl = round_down_f(cx.cd * (1 - 0x1p-50));
    std::vector<int32_t>& band = u.band;
    for (int r = 0; r < R; ++r) {
        float* U = u.U.data() + r * nbp;
        uint8_t* lv = u.lvl.data() + r * nb;
        float* e = u.e.data() + r * nb;
        if (cx.q.causal)
            for (int64_t blk = 0; blk < nb; ++blk)
                if (!block_visible(h, int32_t(blk), u.lim[r])) U[blk] = -INFINITY;
        float top = refine_top(cx, u, r, h, U, band);
        if (top == -INFINITY) top = 0;  // only "must visit" blocks (or none)
        u.umax[r] = top;
        cx.kr.bucket_prep(U, nb, top, cl, h.bstart.data(), e, lv);
        int32_t* cnt = u.lstart.data() + r * (kNumLevels + 1);
        double sums[kNumLevels] = {};
        for (int64_t blk = 0; blk < nb; ++blk) {
            const uint8_t l = lv[blk];
            if (l == kExcluded) continue;
            sums[l] += double(e[blk]);
            ++cnt[l + 1];
        }
        for (int l = 0; l < kNumLevels; ++l) cnt[l + 1] += cnt[l];
        int32_t fill[kNumLevels];
        std::copy(cnt, cnt + kNumLevels, fill);
        int32_t* ord = u.order.data() + r * nb;
        for (int64_t blk = 0; blk < nb; ++blk)
            if (lv[blk] != kExcluded) ord[fill[lv[blk]]++] = int32_t(blk);
        double* suf = u.suf.data() + r * (kNumLevels + 1);
        suf[kNumLevels] = 0;
        for (int l = kNumLevels - 1; l >= 0; --l) suf[l] = suf[l + 1] + sums[l];
    }
    // Even if every block held its bound's full mass (the most the kept mass can ever be), the
    // certificate needs the blocks carrying all but eps of the bound mass. When those are a
    // large part of the cache (flat attention, unstructured keys), go dense right away.
    {
        std::vector<int32_t>& mark = band;
        mark.assign(size_t(nb), 0);
        int64_t need = 0;
        bool finite = true;
        for (int r = 0; r < R && finite; ++r) {
            const double* suf = u.suf.data() + r * (kNumLevels + 1);
            if (!std::isfinite(suf[0])) {
                finite = false;
                break;
            }
            const double eps = cx.q.epsilon;
            int L = 0;
            while (L < kNumLevels && suf[L] * (1 - eps) > eps * suf[0] * (1 - 0x1p-20)) ++L;
            const int32_t* cnt = u.lstart.data() + r * (kNumLevels + 1);
            const int32_t* ord = u.order.data() + r * nb;
            for (int32_t t = 0; t < cnt[L]; ++t)
                if (!mark[size_t(ord[t])]) {
                    mark[size_t(ord[t])] = 1;
                    need += block_size(h, ord[t]);
                }
        }
        if (finite && double(need) > cx.fallback_frac * double(sealed_keys(h))) {
            u.fallback = true;
            u.active = false;
            u.items.clear();
            return;
        }
    }
    // Round 0: the tail and each row's first few blocks in bound order (the top levels), which
    // fix m and most of S.
    u.items.clear();
    const Item tail = tail_item(cx, h);
    if (tail.n > 0) u.items.push_back(tail);
    std::vector<int32_t> top;
    for (int r = 0; r < R; ++r) {
        const int32_t* cnt = u.lstart.data() + r * (kNumLevels + 1);
        const int32_t* ord = u.order.data() + r * nb;
        int taken = 0;
        for (int32_t t = 0; t < cnt[kNumLevels] && taken < kRound0Blocks; ++t)
            if (!u.visited[size_t(ord[t])]) {
                mark_visited(u, h, ord[t]);
                top.push_back(ord[t]);
                ++taken;
            }
    }
    std::sort(top.begin(), top.end());
    for (int32_t blk : top) u.items.push_back(block_item(cx, h, blk));
}

// After a round: certify rows, or choose the next blocks (or fall back).
void plan_softmax_next(const Ctx& cx, Unit& u, std::vector<int32_t>& mark, int32_t& epoch) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb;
    u.items.clear();
    int Lstar[kMaxRows];
    bool pending = false;
    ++epoch;
    int64_t predicted = 0;
    for (int r = 0; r < u.R; ++r) {
        if (u.certified[r]) continue;
        const int32_t* cnt = u.lstart.data() + r * (kNumLevels + 1);
        const int32_t* ord = u.order.data() + r * nb;
        auto level_done = [&](int L) {
            for (int32_t t = cnt[L]; t < cnt[L + 1]; ++t)
                if (!u.visited[size_t(ord[t])]) return false;
            return true;
        };
        while (u.level[r] < kNumLevels && level_done(u.level[r])) ++u.level[r];
        const Cert ct = certificate(cx, u, r);
        int L = u.level[r];
        while (L < kNumLevels && !certified_at(cx, u, r, L, ct, nb)) ++L;
        if (L == u.level[r]) {
            u.certified[r] = true;
            continue;
        }
        Lstar[r] = L;
        pending = true;
        // The fallback decision must not trust the kept mass found so far, which may still be
        // far below the final one: it uses the largest the final mass can be (everything left
        // at its bound), so it falls back only when even that cannot certify a small set.
        Cert opt = ct;
        opt.s_low = ct.s_low + std::exp2(ct.a) * u.suf[size_t(r * (kNumLevels + 1) + u.level[r])];
        int Lo = u.level[r];
        while (Lo < kNumLevels && !certified_at(cx, u, r, Lo, opt, nb)) ++Lo;
        for (int32_t t = cnt[u.level[r]]; t < cnt[Lo]; ++t) {
            const int32_t blk = ord[t];
            if (!u.visited[size_t(blk)] && mark[size_t(blk)] != epoch) {
                mark[size_t(blk)] = epoch;
                predicted += block_size(h, blk);
            }
        }
    }
    if (!pending) {
        u.active = false;
        return;
    }
    if (double(u.visited_keys + predicted) > cx.fallback_frac * double(sealed_keys(h))) {
        u.fallback = true;
        u.active = false;
        return;
    }
    // Grow at most geometrically: S found so far may still be far below the final S.
    const int64_t cap = std::max<int64_t>(16, 2 * u.n_visited);
    std::vector<int32_t> add;
    for (int r = 0; r < u.R; ++r) {
        if (u.certified[r]) continue;
        const int32_t* cnt = u.lstart.data() + r * (kNumLevels + 1);
        const int32_t* ord = u.order.data() + r * nb;
        int64_t taken = 0;
        int L = u.level[r];
        while (L < Lstar[r]) {
            int64_t fresh = 0;
            for (int32_t t = cnt[L]; t < cnt[L + 1]; ++t) fresh += !u.visited[size_t(ord[t])];
            if (taken > 0 && taken + fresh > cap) break;
            for (int32_t t = cnt[L]; t < cnt[L + 1]; ++t) {
                const int32_t blk = ord[t];
                if (!u.visited[size_t(blk)]) {
                    mark_visited(u, h, blk);
                    add.push_back(blk);
                }
            }
            taken += fresh;
            ++L;
        }
        u.level[r] = L;
    }
    std::sort(add.begin(), add.end());
    for (int32_t blk : add) u.items.push_back(block_item(cx, h, blk));
    if (u.items.empty()) u.active = false;  // cannot happen: some level had fresh blocks
}

// ---- visiting -------------------------------------------------------------------------------
void prefetch_item(const RowSrc& s, const Item& it, int64_t D) {
    if (!it.pos || s.col != 1) return;  // cache order: the hardware prefetcher follows
    const int64_t es = s.bf16 ? 2 : 4, bytes = D * es;
    const char* base = static_cast<const char*>(s.data);
    for (int j = 0; j < it.n; ++j) {
        const char* r = base + int64_t(it.pos[j]) * s.row * es;
        for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(r + o, _MM_HINT_T1);
    }
}

// Where an item's key rows are read: a sealed block from the index's copy (one contiguous
// run), anything else in place.
struct KeyRows {
    RowSrc src;
    const int32_t* pos;
    int64_t first;
};
KeyRows key_rows(const Ctx& cx, const HeadIndex& h, const RowSrc& ks, const Item& it) {
    if (it.block >= 0 && !h.keys.empty())
        return KeyRows{RowSrc{h.keys.data(), cx.D, 1, ks.bf16}, nullptr, it.slot0};
    return KeyRows{ks, it.pos, it.first};
}

// Requests an item's copied key rows into L2 ahead of use (crossing into the next block
// defeats the hardware prefetcher's ramp-up).
void prefetch_copied(const Ctx& cx, const HeadIndex& h, const Item& it) {
    if (it.block < 0 || h.keys.empty()) return;
    const int64_t rb = cx.D * (cx.q.k.dtype == HA_DTYPE_BF16 ? 2 : 4);
    const char* p = reinterpret_cast<const char*>(h.keys.data()) + it.slot0 * rb;
    for (int64_t o = 0; o < int64_t(it.n) * rb; o += 64) _mm_prefetch(p + o, _MM_HINT_T1);
}

// Requests into L1 the value rows of an item's keys that carry weight in some row.
void prefetch_weighted(const RowSrc& v, const Item& it, int R, const float* P, int64_t ldp,
                       int64_t D) {
    if (!it.pos) return;  // cache order: the hardware prefetcher follows
    const int64_t es = v.bf16 ? 2 : 4, bytes = (v.col == 1 ? D : (D - 1) * v.col + 1) * es;
    const char* base = static_cast<const char*>(v.data);
    for (int j = 0; j < it.n; ++j) {
        bool any = false;
        for (int r = 0; r < R && !any; ++r) any = P[r * ldp + j] != 0.f;
        if (!any) continue;
        const char* row = base + int64_t(it.pos[j]) * v.row * es;
        for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(row + o, _MM_HINT_T0);
    }
}

// -inf for the keys at or past a row's causal limit (by cache position).
void mask_causal(const Unit& u, const Item& it, float* S, int64_t lds) {
    for (int r = 0; r < u.R; ++r)
        for (int j = 0; j < it.n; ++j) {
            const int64_t p = it.pos ? int64_t(it.pos[j]) : it.first + j;
            if (p >= u.lim[r]) S[r * lds + j] = -INFINITY;
        }
}

float item_maxnorm(const Ctx& cx, const HeadIndex& h, const Item& it) {
    if (it.block >= 0) return h.maxnorm[size_t(it.block)];
    float m = 0.f;
    for (int j = 0; j < it.n; ++j) m = std::max(m, h.knorm[size_t(it.slot0 + j)]);
    return m;
}

void report_item(const Ctx& cx, const Unit& u, const HeadIndex& h, const Item& it,
                 const float* S, Scratch& w, Partial& p) {
    const RowSrc ks = cx.ksrc(u.b, u.hk);
    const double t = cx.q.threshold;
    for (int r = 0; r < u.R; ++r) {
        if (!(it.rows >> r & 1u)) continue;  // its bound is below the threshold: none reported
        bool q_ready = false;
        // q·k_j >= t in exact arithmetic, from the stored values.
        auto exact_in = [&](int j) {
            if (!q_ready) {
                for (int64_t d = 0; d < cx.D; ++d) w.qd[size_t(d)] = u.Q[size_t(r * cx.Dp + d)];
                q_ready = true;
            }
            if (it.pos)
                cx.kr.load_rows(ks, it.pos + j, 0, 1, cx.D, cx.Dp, w.krow.data());
            else
                cx.kr.load_rows(ks, nullptr, it.first + j, 1, cx.D, cx.Dp, w.krow.data());
            for (int64_t d = 0; d < cx.D; ++d) w.kd[size_t(d)] = w.krow[size_t(d)];
            return dot_at_least(w.qd.data(), w.kd.data(), cx.D, t);
        };
        for (int j = 0; j < it.n; ++j) {
            const float s = S[r * cx.kL + j];
            const int64_t slot = it.slot0 + j;
            const double margin =
                cx.E * double(u.nq[r]) * double(h.knorm[size_t(slot)]) + double(cx.eta);
            bool in;
            if (!(std::fabs(s) < INFINITY))
                in = exact_in(j);  // overflowed in float: no error bound holds
            else if (double(s) - t > margin)
                in = true;
            else if (t - double(s) > margin)
                in = false;
            else
                in = exact_in(j);  // too close to call in float
            if (in) p.lists[size_t(r)].push_back(it.pos ? it.pos[j] : int32_t(it.first + j));
        }
    }
}

// Visits n <= kChunkItems items.
void visit(const Ctx& cx, const Unit& u, const Item* items, int64_t n, Partial& p, Scratch& w) {
    const int R = u.R;
    const HeadIndex& h = cx.head(u);
    const RowSrc ks = cx.ksrc(u.b, u.hk);
    const RowSrc vs = cx.q.mode == Mode::Report ? RowSrc{} : cx.vsrc(u.b, u.hk);
    p.O.assign(size_t(R * cx.Dp), 0.f);
    for (int r = 0; r < R; ++r) {
        p.m[r] = -INFINITY;
        p.Sf[r] = 0.f;
        p.Sd[r] = 0.0;
        p.xm[r] = 0.f;
    }
    p.maxnorm = 0.f;
    if (cx.q.mode == Mode::Report) p.lists.assign(size_t(R), {});
    float* S = w.S.data();
    float* P = w.P.data();
    const bool softmax = cx.q.mode == Mode::Softmax;
    // The next item's rows are requested (into L2) while this one is computed: gathered rows
    // defeat the hardware prefetchers.
    constexpr int64_t dist = 1;
    const bool copied = !h.keys.empty();
    float relu_resc[kChunkItems][kMaxRows];  // ReLU: each item's rescale of O
    auto prefetch_keys = [&](const Item& it) {
        if (copied && it.block >= 0)
            prefetch_copied(cx, h, it);
        else
            prefetch_item(ks, it, cx.D);
    };
    for (int64_t t = 0; t < std::min<int64_t>(dist, n); ++t) {
        prefetch_keys(items[t]);
        if (softmax) prefetch_item(vs, items[t], cx.D);
    }
    for (int64_t t = 0; t < n; ++t) {
        const Item& it = items[t];
        if (t + dist < n) {
            prefetch_keys(items[t + dist]);
            if (softmax) prefetch_item(vs, items[t + dist], cx.D);
        }
        const KeyRows kr = key_rows(cx, h, ks, it);
        const unsigned all = (1u << R) - 1u, need = it.rows & all;
        if (need == all) {
            cx.kr.scores(R, u.Q.data(), cx.Dp, cx.D, kr.src, kr.pos, kr.first, it.n, S, cx.kL);
        } else {
            // Only the rows whose bound reaches the threshold, in runs of consecutive rows.
            for (int r = 0; r < R;) {
                if (!(need >> r & 1u)) {
                    std::fill(S + r * cx.kL, S + r * cx.kL + it.n, -INFINITY);
                    ++r;
                    continue;
                }
                int e = r + 1;
                while (e < R && (need >> e & 1u)) ++e;
                cx.kr.scores(e - r, u.Q.data() + r * cx.Dp, cx.Dp, cx.D, kr.src, kr.pos,
                             kr.first, it.n, S + r * cx.kL, cx.kL);
                r = e;
            }
        }
        if (cx.q.causal) mask_causal(u, it, S, cx.kL);
        switch (cx.q.mode) {
            case Mode::Report:
                report_item(cx, u, h, it, S, w, p);
                break;
            case Mode::Relu: {
                // Few keys carry weight and their value rows are scattered: request them now
                // and add them to O after the task's last scores (below).
                float bsum[kMaxRows];
                float* Pt = w.Pq.data() + t * kMaxRows * cx.kL;
                cx.kr.relu_weights(R, S, cx.kL, it.n, cx.q.scale, cx.q.bias, cx.q.power, p.xm,
                                   relu_resc[t], bsum, Pt, cx.kL);
                for (int r = 0; r < R; ++r) p.Sf[r] = p.Sf[r] * relu_resc[t][r] + bsum[r];
                prefetch_weighted(vs, it, R, Pt, cx.kL, cx.D);
                break;
            }
            case Mode::Softmax: {
                float alpha[kMaxRows], bsum[kMaxRows], m_old[kMaxRows];
                std::copy(p.m, p.m + R, m_old);
                cx.kr.softmax_weights(R, S, cx.kL, it.n, cx.c, p.m, alpha, bsum, P, cx.kL);
                cx.kr.pv(R, P, cx.kL, it.n, vs, it.pos, it.first, cx.D, alpha, p.O.data(), cx.Dp);
                for (int r = 0; r < R; ++r) {
                    const double ad = m_old[r] == -INFINITY
                                          ? 0.0
                                          : std::exp2(double(m_old[r]) - double(p.m[r]));
                    p.Sd[r] = p.Sd[r] * ad + double(bsum[r]);
                    p.Sf[r] = p.Sf[r] * alpha[r] + bsum[r];
                }
                p.maxnorm = std::max(p.maxnorm, item_maxnorm(cx, h, it));
                break;
            }
        }
    }
    if (cx.q.mode == Mode::Relu)
        for (int64_t t = 0; t < n; ++t)  // in item order: O = O·resc_t + P_t·V_t
            cx.kr.pv(R, w.Pq.data() + t * kMaxRows * cx.kL, cx.kL, items[t].n, vs, items[t].pos,
                     items[t].first, cx.D, relu_resc[t], p.O.data(), cx.Dp);
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

void merge(const Ctx& cx, Unit& u, Partial* parts, int64_t n) {
    const int R = u.R;
    const int64_t Dp = cx.Dp;
    for (int64_t c = 0; c < n; ++c) {
        Partial& p = parts[c];
        for (int r = 0; r < R; ++r) {
            float* O = u.O.data() + r * Dp;
            const float* Oc = p.O.data() + r * Dp;
            float a, b;
            if (cx.q.mode == Mode::Softmax) {
                const float M = std::max(u.m[r], p.m[r]);
                if (M == -INFINITY) continue;
                a = u.m[r] == -INFINITY ? 0.f : std::exp2(u.m[r] - M);
                b = p.m[r] == -INFINITY ? 0.f : std::exp2(p.m[r] - M);
                const double ad = u.m[r] == -INFINITY ? 0.0 : std::exp2(double(u.m[r]) - M);
                const double bd = p.m[r] == -INFINITY ? 0.0 : std::exp2(double(p.m[r]) - M);
                u.Sd[r] = u.Sd[r] * ad + p.Sd[r] * bd;
                u.m[r] = M;
            } else if (cx.q.mode == Mode::Relu) {
                const float X = std::max(u.xm[r], p.xm[r]);
                if (X == 0.f) continue;
                a = u.xm[r] == 0.f ? 0.f : spow(std::min(u.xm[r] / X, 1.f), cx.q.power);
                b = p.xm[r] == 0.f ? 0.f : spow(std::min(p.xm[r] / X, 1.f), cx.q.power);
                u.xm[r] = X;
            } else {
                auto& l = u.lists[size_t(r)];
                l.insert(l.end(), p.lists[size_t(r)].begin(), p.lists[size_t(r)].end());
                continue;
            }
            u.Sf[r] = u.Sf[r] * a + p.Sf[r] * b;
            for (int64_t d = 0; d < Dp; ++d) O[d] = O[d] * a + Oc[d] * b;
        }
        u.vis_maxnorm = std::max(u.vis_maxnorm, p.maxnorm);
    }
}

// ---- results ----------------------------------------------------------------------------------
void write_row(const Ctx& cx, const Unit& u, int r, const float* o, float inv) {
    const View& v = cx.q.out.view;
    const int64_t off = u.b * v.strides[0] + u.h[r] * v.strides[1] + u.i[r] * v.strides[2];
    const int64_t sd = v.strides[3];
    if (cx.q.out.dtype == HA_DTYPE_BF16) {
        uint16_t* dst = static_cast<uint16_t*>(v.data) + off;
        for (int64_t d = 0; d < cx.D; ++d) dst[d * sd] = f32_to_bf16_nearest(o[d] * inv);
    } else {
        float* dst = static_cast<float*>(v.data) + off;
        for (int64_t d = 0; d < cx.D; ++d) dst[d * sd] = o[d] * inv;
    }
}

int64_t visible_keys(const Ctx& cx, const Unit& u, int r) {
    const HeadIndex& h = cx.head(u);
    const int64_t sealed = sealed_keys(h), lim = u.lim[r];
    int64_t n = std::max<int64_t>(0, std::min(lim, cx.Nk) - sealed);  // tail
    if (u.scan) return n + std::min(lim, sealed);
    const bool by_row = u.visited_rows.size() == u.visited_list.size();
    for (size_t c = 0; c < u.visited_list.size(); ++c) {
        const int32_t blk = u.visited_list[c];
        if (by_row && !(u.visited_rows[c] >> r & 1u)) continue;
        if (h.maxpos[size_t(blk)] < lim) {
            n += block_size(h, blk);
        } else if (h.minpos[size_t(blk)] < lim) {
            const int32_t* pos = h.perm.data() + h.bstart[size_t(blk)];
            for (int32_t t = 0; t < block_size(h, blk); ++t) n += pos[t] < lim;
        }
    }
    return n;
}

// Σ e over the blocks a row has not visited, rounded up: the suffix sum of its levels from its
// current level on, minus the visited blocks there (exact floats), plus the rounding of both.
double unvisited_mass(const Unit& u, int r, int64_t nb) {
    const int L = u.level[r];
    const double s = u.suf[size_t(r * (kNumLevels + 1) + L)];
    const uint8_t* lv = u.lvl.data() + r * nb;
    const float* e = u.e.data() + r * nb;
    if (!std::isfinite(s)) {  // a must-visit block remains: add up exactly instead
        double t = 0;
        for (int64_t b = 0; b < nb; ++b)
            if (lv[b] != kExcluded && !u.visited[size_t(b)]) t += double(e[b]);
        return t * (1 + double(nb + 8) * 0x1p-52);
    }
    double v = 0;
    for (int32_t b : u.visited_list)
        if (lv[b] != kExcluded && lv[b] >= L) v += double(e[b]);
    return std::max(0.0, s - v) + double(nb + int64_t(u.visited_list.size()) + 80) * 0x1p-52 * s;
}

// Certified bound on max_d |o_d − ô_d|: Σ over dropped blocks of (mass bound) × (largest
// distance from ô_d to the block's value range). The kTopDev heaviest dropped blocks use their
// own value ranges (index built with v), the rest the range of all values of the head.
double error_bound(const Ctx& cx, const Unit& u, int r, const float* o, const Cert& ct,
                   double dropped_sum) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb, D = cx.D;
    const float *gmin, *gmax;
    if (cx.x.has_v) {
        gmin = h.vmin.data();
        gmax = h.vmax.data();
    } else {
        gmin = cx.vrmin.data() + (u.b * cx.Hkv + u.hk) * D;
        gmax = cx.vrmax.data() + (u.b * cx.Hkv + u.hk) * D;
    }
    auto dev = [&](const float* lo, const float* hi, const uint16_t* blo, const uint16_t* bhi) {
        double m = 0;
        for (int64_t d = 0; d < D; ++d) {
            const double l = blo ? double(bf16_bits_to_f32(blo[d])) : double(lo[d]);
            const double hgh = bhi ? double(bf16_bits_to_f32(bhi[d])) : double(hi[d]);
            m = std::max({m, hgh - o[d], o[d] - l});
        }
        return m;
    };
    const double dev_all = dev(gmin, gmax, nullptr, nullptr);
    const int32_t* ord = u.order.data() + r * nb;
    const int32_t* cnt = u.lstart.data() + r * (kNumLevels + 1);
    const float* e = u.e.data() + r * nb;
    const double scale = std::exp2(ct.a) / ct.s_low * (1 + double(nb + 80) * 0x1p-52);
    double err = 0, own_mass = 0;
    int own = 0;
    if (cx.x.has_v)
        for (int32_t t = cnt[u.level[r]]; t < cnt[kNumLevels] && own < kTopDev; ++t) {
            const int32_t blk = ord[t];
            if (u.visited[size_t(blk)]) continue;
            ++own;
            own_mass += double(e[blk]);
            err += double(e[blk]) * dev(nullptr, nullptr, h.vlo.data() + blk * cx.Dp,
                                        h.vhi.data() + blk * cx.Dp);
        }
    const double rest = std::max(0.0, dropped_sum - own_mass * (1 - 0x1p-50));
    return (err + rest * dev_all) * scale * (1 + 0x1p-20);
}

void finish(const Ctx& cx, Unit& u) {
    const Query& q = cx.q;
    const HeadIndex& h = cx.head(u);
    for (int r = 0; r < u.R; ++r) {
        const int64_t row = cx.row_id(u, r);
        if (q.mode == Mode::Report) {
            auto& l = u.lists[size_t(r)];
            std::sort(l.begin(), l.end());
            (*q.lists)[size_t(row)] = std::move(l);
            continue;
        }
        if (u.fallback) {  // the dense kernel writes this row; dropped mass 0
            if (q.dropped) q.dropped[row] = 0.f;
            if (q.error_bound) q.error_bound[row] = 0.f;
            if (q.touched) q.touched[row] = u.lim[r];
            continue;
        }
        const float* O = u.O.data() + r * cx.Dp;
        const float inv = u.Sf[r] > 0.f ? 1.f / u.Sf[r] : 0.f;
        write_row(cx, u, r, O, inv);
        if (q.touched) q.touched[row] = visible_keys(cx, u, r);
        float dropped = 0.f, errb = 0.f;
        if (q.mode == Mode::Softmax) {
            const int64_t nb = h.nb;
            const double s = unvisited_mass(u, r, nb);
            if (s > 0) {
                const Cert ct = certificate(cx, u, r);
                const double R = std::exp2(ct.a) * s * (1 + double(nb + 80) * 0x1p-52);
                const double pd = ct.s_low > 0 ? R / (ct.s_low + R) : 1.0;
                dropped = round_up_f(std::min(1.0, pd * (1 + 0x1p-40)));
                if (q.error_bound) {
                    std::vector<float> o(static_cast<size_t>(cx.D));
                    for (int64_t d = 0; d < cx.D; ++d) o[size_t(d)] = O[d] * inv;
                    errb = round_up_f(error_bound(cx, u, r, o.data(), ct, s));
                }
            }
        }
        if (q.dropped) q.dropped[row] = dropped;
        if (q.error_bound) q.error_bound[row] = errb;
    }
}

// ---- the dense fallback ----------------------------------------------------------------------
View sub_view(const View& v, int32_t dtype, int64_t b, int64_t h, int64_t i, int64_t nh,
              int64_t ni) {
    const int64_t es = dtype == HA_DTYPE_BF16 ? 2 : 4;
    View s = v;
    if (v.data)  // NULL for an empty K or V: no offset
        s.data = static_cast<char*>(v.data) + (b * v.strides[0] + h * v.strides[1] + i * v.strides[2]) * es;
    s.shape[0] = 1;
    s.shape[1] = nh;
    s.shape[2] = ni;
    return s;
}

int32_t dense_rows(const Ctx& cx, int64_t b, int64_t hk, int64_t h0, int64_t nh, int64_t i0,
                   int64_t ni) {
    const Query& q = cx.q;
    const int64_t nk = q.causal ? std::clamp<int64_t>(i0 + ni + cx.Nk - cx.Nq, 0, cx.Nk) : cx.Nk;
    ExactProblem p{};
    p.dtype = q.q.dtype;
    p.q = sub_view(q.q.view, q.q.dtype, b, h0, i0, nh, ni);
    p.out = sub_view(q.out.view, q.out.dtype, b, h0, i0, nh, ni);
    p.k = sub_view(q.k.view, q.k.dtype, b, hk, 0, 1, nk);
    p.v = sub_view(q.v.view, q.v.dtype, b, hk, 0, 1, nk);
    p.lse = nullptr;
    p.scale = q.scale;
    p.causal = q.causal;
    return exact_forward(p);
}

struct FallbackRun {
    int64_t b, hk, r0, r1;
};

// Dense exact attention for the listed rows; total_rows == 0 asks for every row.
int32_t run_fallbacks(const Ctx& cx, std::vector<FallbackRun>& runs, int64_t total_rows) {
    int64_t rows = 0;
    for (const FallbackRun& f : runs) rows += f.r1 - f.r0;
    if (rows == 0 && total_rows != 0) return HA_OK;
    if (rows == total_rows) {  // everything: one call, the dense kernel's own parallelism
        ExactProblem p{};
        p.dtype = cx.q.q.dtype;
        p.q = cx.q.q.view;
        p.k = cx.q.k.view;
        p.v = cx.q.v.view;
        p.out = cx.q.out.view;
        p.scale = cx.q.scale;
        p.causal = cx.q.causal;
        return exact_forward(p);
    }
    for (const FallbackRun& f : runs) {
        // Whole positions (all G heads) in one call; otherwise per position.
        int64_t rr = f.r0;
        while (rr < f.r1) {
            const int64_t i = rr / cx.G, g = rr % cx.G;
            if (g == 0 && f.r1 - rr >= cx.G) {
                const int64_t ni = (f.r1 - rr) / cx.G;
                const int32_t st = dense_rows(cx, f.b, f.hk, f.hk * cx.G, cx.G, i, ni);
                if (st != HA_OK) return st;
                rr += ni * cx.G;
            } else {
                const int64_t nh = std::min(cx.G - g, f.r1 - rr);
                int32_t st = dense_rows(cx, f.b, f.hk, f.hk * cx.G + g, nh, i, 1);
                if (st != HA_OK) return st;
                rr += nh;
            }
        }
    }
    return HA_OK;
}

// ---- driver ----------------------------------------------------------------------------------
int32_t compute_value_ranges(Ctx& cx) {
    const int64_t groups = cx.B * cx.Hkv, D = cx.D, Dp = cx.Dp;
    cx.vrmin.assign(size_t(groups * D), INFINITY);
    cx.vrmax.assign(size_t(groups * D), -INFINITY);
    return parallel_for(groups, pool_threads(), [&](int64_t g, int) {
        const RowSrc vs = cx.vsrc(g / cx.Hkv, g % cx.Hkv);
        std::vector<float> rows(static_cast<size_t>(64 * Dp));
        float* mn = cx.vrmin.data() + g * D;
        float* mx = cx.vrmax.data() + g * D;
        for (int64_t j0 = 0; j0 < cx.Nk; j0 += 64) {
            const int n = int(std::min<int64_t>(64, cx.Nk - j0));
            cx.kr.load_rows(vs, nullptr, j0, n, D, Dp, rows.data());
            for (int t = 0; t < n; ++t)
                for (int64_t d = 0; d < D; ++d) {
                    const float v = rows[size_t(t * Dp + d)];
                    if (!std::isfinite(v)) {
                        mn[d] = -INFINITY;
                        mx[d] = INFINITY;
                    }
                    mn[d] = std::min(mn[d], v);
                    mx[d] = std::max(mx[d], v);
                }
        }
    });
}

void set_unit_rows(Ctx& cx, int64_t ru) {
    cx.RU = ru;
    cx.units_per_group = (cx.G * cx.Nq + ru - 1) / ru;
}

// Runs the units whose ids are listed (in waves that bound the memory of their plans), writes
// their results, and records the units that need the dense kernel.
int32_t run_units(Ctx& cx, Workspace& ws, const std::vector<int64_t>& ids,
                  std::vector<FallbackRun>& fallbacks, int64_t* n_dense) {
    const Query& q = cx.q;
    const Kernels& kr = cx.kr;
    int64_t max_nb = 0;
    for (const HeadIndex& h : cx.x.heads) max_nb = std::max(max_nb, h.nb);
    const int64_t unit_bytes = 16 * cx.RU * (max_nb + 16) + cx.RU * cx.Dp * 12 + 4096;
    const int64_t n_ids = int64_t(ids.size());
    const int64_t wave = std::clamp<int64_t>(kWaveBytes / unit_bytes, 1, std::max<int64_t>(1, n_ids));
    const int slots = int(ws.scratch.size());
    std::vector<Unit>& units = ws.units;
    for (int64_t w0 = 0; w0 < n_ids; w0 += wave) {
        const int64_t nw = std::min(wave, n_ids - w0);
        units.resize(size_t(nw));
        int32_t st = parallel_for(nw, slots, [&](int64_t k, int) {
            const int64_t uid = ids[size_t(w0 + k)];
            const int64_t grp = uid / cx.units_per_group, uu = uid % cx.units_per_group;
            Unit& u = units[size_t(k)];
            init_unit(cx, u, grp / cx.Hkv, grp % cx.Hkv, uu * cx.RU);
            const HeadIndex& h = cx.head(u);
            const int64_t nbp = (h.nb + kChunkBlocks - 1) / kChunkBlocks * kChunkBlocks;
            u.U.assign(size_t(u.R * nbp), -INFINITY);
        });
        if (st != HA_OK) return st;
        // 1. bounds, in tasks of kBoundChunks centre chunks
        std::vector<std::pair<int64_t, int64_t>> btasks;  // (unit, first chunk)
        for (int64_t k = 0; k < nw; ++k) {
            const int64_t nch = (cx.head(units[size_t(k)]).nb + kChunkBlocks - 1) / kChunkBlocks;
            for (int64_t c0 = 0; c0 < nch; c0 += kBoundChunks) btasks.push_back({k, c0});
        }
        st = parallel_for(int64_t(btasks.size()), slots, [&](int64_t t, int) {
            Unit& u = units[size_t(btasks[size_t(t)].first)];
            const HeadIndex& h = cx.head(u);
            const int64_t nch = (h.nb + kChunkBlocks - 1) / kChunkBlocks;
            const int64_t c0 = btasks[size_t(t)].second, c1 = std::min(nch, c0 + kBoundChunks);
            kr.ball_bounds(u.R, u.Q.data(), cx.Dp, cx.D, h.cen.data() + c0 * cx.D * kChunkBlocks,
                           h.rho.data() + c0 * kChunkBlocks, c1 - c0, u.nq, cx.eta,
                           u.U.data() + c0 * kChunkBlocks, nch * kChunkBlocks);
        });
        if (st != HA_OK) return st;
        // 2. first plan
        st = parallel_for(nw, slots, [&](int64_t k, int) {
            Unit& u = units[size_t(k)];
            if (q.mode == Mode::Softmax)
                plan_softmax_init(cx, u);
            else
                plan_threshold(cx, u, q.mode == Mode::Relu ? cx.relu_t : double(q.threshold));
        });
        if (st != HA_OK) return st;
        // 3. rounds: visit, merge in order, plan again
        for (;;) {
            int64_t ntasks = 0;
            for (Unit& u : units) {
                u.task0 = ntasks;
                u.ntasks = u.active ? (int64_t(u.items.size()) + kChunkItems - 1) / kChunkItems : 0;
                ntasks += u.ntasks;
            }
            if (ntasks == 0) break;
            std::vector<Partial>& parts = ws.parts;
            if (parts.size() < size_t(ntasks)) parts.resize(size_t(ntasks));
            std::vector<int64_t>& owner = ws.owner;
            owner.resize(size_t(ntasks));
            for (int64_t k = 0; k < nw; ++k)
                for (int64_t t = 0; t < units[size_t(k)].ntasks; ++t)
                    owner[size_t(units[size_t(k)].task0 + t)] = k;
            st = parallel_for(ntasks, slots, [&](int64_t t, int slot) {
                const Unit& u = units[size_t(owner[size_t(t)])];
                const int64_t c = t - u.task0, a = c * kChunkItems;
                const int64_t n = std::min<int64_t>(kChunkItems, int64_t(u.items.size()) - a);
                visit(cx, u, u.items.data() + a, n, parts[size_t(t)], ws.scratch[size_t(slot)]);
            });
            if (st != HA_OK) return st;
            st = parallel_for(nw, slots, [&](int64_t k, int) {
                Unit& u = units[size_t(k)];
                if (!u.active || u.ntasks == 0) return;
                merge(cx, u, parts.data() + u.task0, u.ntasks);
                if (q.mode == Mode::Softmax) {
                    thread_local std::vector<int32_t> tl_mark;
                    thread_local int32_t tl_epoch = 0;
                    const int64_t nb = cx.head(u).nb;
                    if (int64_t(tl_mark.size()) < nb) tl_mark.assign(size_t(nb), 0);
                    plan_softmax_next(cx, u, tl_mark, tl_epoch);
                } else {
                    u.active = false;
                }
            });
            if (st != HA_OK) return st;
        }
        // 4. results
        st = parallel_for(nw, slots, [&](int64_t k, int) { finish(cx, units[size_t(k)]); });
        if (st != HA_OK) return st;
        for (const Unit& u : units) {
            *n_dense += u.fallback || u.scan;
            if (!u.fallback) continue;
            if (!fallbacks.empty() && fallbacks.back().b == u.b && fallbacks.back().hk == u.hk &&
                fallbacks.back().r1 == u.r0)
                fallbacks.back().r1 = u.r0 + u.R;
            else
                fallbacks.push_back({u.b, u.hk, u.r0, u.r0 + u.R});
        }
    }
    return HA_OK;
}

// Softmax rows that all go to the dense kernel: their stats.
void dense_stats(const Ctx& cx) {
    const Query& q = cx.q;
    for (int64_t b = 0; b < cx.B; ++b)
        for (int64_t h = 0; h < cx.Hq; ++h)
            for (int64_t i = 0; i < cx.Nq; ++i) {
                const int64_t row = (b * cx.Hq + h) * cx.Nq + i;
                if (q.dropped) q.dropped[row] = 0.f;
                if (q.error_bound) q.error_bound[row] = 0.f;
                if (q.touched)
                    q.touched[row] = q.causal ? std::clamp<int64_t>(i + cx.Nk - cx.Nq + 1, 0, cx.Nk) : cx.Nk;
            }
}

int32_t run_with_index(const Query& q, const ha_key_index& x) {
    const View& qv = q.q.view;
    Ctx cx(q, x, active());
    cx.B = qv.shape[0];
    cx.Hq = qv.shape[1];
    cx.Nq = qv.shape[2];
    cx.D = qv.shape[3];
    cx.Hkv = q.k.view.shape[1];
    cx.Nk = q.k.view.shape[2];
    cx.Dp = x.Dp;
    cx.G = cx.Hq / cx.Hkv;
    cx.bs = x.opt.block_size;
    cx.kL = (cx.bs + 15) / 16 * 16;
    // Decoding (a few rows per kv head): the rows of one kv head share a unit, so every key
    // they visit is read once. Prefill (many rows): compute-bound, and rows of one unit would
    // also share each other's blocks, which they mostly do not want: one row per unit.
    const bool prefill = cx.G * cx.Nq > 2 * kMaxRows;
    int64_t shared_rows = 1;  // rows per unit when they share reads
    if (cx.G <= kMaxRows) {
        shared_rows = cx.G * std::max<int64_t>(1, kMaxRows / cx.G);
    } else {
        for (int64_t d = kMaxRows; d >= 1; --d)
            if (cx.G % d == 0) {
                shared_rows = d;
                break;
            }
    }
    set_unit_rows(cx, prefill ? 1 : shared_rows);
    cx.c = static_cast<float>(double(q.scale) * kLog2e);
    cx.cd = double(q.scale) * kLog2e;
    cx.E = dot_err(cx.D);
    cx.eta = round_up_f(dot_eta(cx.D));
    cx.fallback_frac = prefill ? kFallbackPrefill : kFallbackDecode;
    {
        const double t = double(q.bias) / double(q.scale);
        cx.relu_t = t - std::fabs(t) * 0x1p-40;
    }
    cx.need_errb = q.mode == Mode::Softmax && q.error_bound != nullptr;
    if (cx.need_errb && !x.has_v) {
        if (int32_t st = compute_value_ranges(cx); st != HA_OK) return st;
    }
    const int64_t n_units = cx.B * cx.Hkv * cx.units_per_group;
    if (n_units == 0) return HA_OK;

    // Buffers live on between calls of the same thread: decoding calls once per token, and
    // fresh allocations would be paid for in page faults every time.
    thread_local Workspace ws;
    ws.scratch.resize(size_t(std::max(1, pool_threads())));
    for (Scratch& s : ws.scratch) {
        s.S.assign(size_t(kMaxRows * cx.kL), 0.f);
        s.P.assign(size_t(kMaxRows * cx.kL), 0.f);
        s.Pq.assign(size_t(kChunkItems * kMaxRows * cx.kL), 0.f);
        s.krow.assign(size_t(cx.Dp), 0.f);
        s.qd.assign(size_t(cx.D), 0.0);
        s.kd.assign(size_t(cx.D), 0.0);
    }
    std::vector<FallbackRun> fallbacks;
    std::vector<int64_t> ids;
    int64_t n_dense = 0;
    std::vector<uint8_t> probed;
    if (prefill && q.mode != Mode::Report) {
        // Probe a spread of units first: when most of them need the dense path, take it for
        // all rows at once, where the dense kernels are fastest (softmax: one exact call;
        // ReLU: every key scanned by units that share their reads).
        const int64_t n_probe = std::min<int64_t>(n_units, kProbeUnits);
        probed.assign(size_t(n_units), 0);
        for (int64_t t = 0; t < n_probe; ++t) {
            const int64_t uid = (2 * t + 1) * n_units / (2 * n_probe);
            if (!probed[size_t(uid)]) ids.push_back(uid);
            probed[size_t(uid)] = 1;
        }
        if (int32_t st = run_units(cx, ws, ids, fallbacks, &n_dense); st != HA_OK) return st;
        if (2 * n_dense > int64_t(ids.size())) {
            ws.trim();
            if (q.mode == Mode::Softmax) {
                dense_stats(cx);
                std::vector<FallbackRun> all;
                return run_fallbacks(cx, all, 0);
            }
            set_unit_rows(cx, shared_rows);
            cx.force_scan = true;
            ids.resize(size_t(cx.B * cx.Hkv * cx.units_per_group));
            std::iota(ids.begin(), ids.end(), 0);
            fallbacks.clear();
            const int32_t st = run_units(cx, ws, ids, fallbacks, &n_dense);
            ws.trim();
            return st;
        }
    }
    ids.clear();
    for (int64_t uid = 0; uid < n_units; ++uid)
        if (probed.empty() || !probed[size_t(uid)]) ids.push_back(uid);
    if (int32_t st = run_units(cx, ws, ids, fallbacks, &n_dense); st != HA_OK) return st;
    ws.trim();
    std::sort(fallbacks.begin(), fallbacks.end(), [](const FallbackRun& a, const FallbackRun& b) {
        return std::tie(a.b, a.hk, a.r0) < std::tie(b.b, b.hk, b.r0);
    });
    return run_fallbacks(cx, fallbacks, cx.B * cx.Hkv * cx.G * cx.Nq);
}

}  // namespace

int32_t run_query(const Query& q) {
    if (q.index) return run_with_index(q, *q.index);
    // A temporary index. Regrouping costs a few passes over K; it pays off only when many
    // query rows share it (prefill). Causal problems regroup within segments so that early
    // rows do not touch blocks made mostly of keys they may not see.
    const int64_t rows_per_kv = q.q.view.shape[1] / q.k.view.shape[1] * q.q.view.shape[2];
    IndexOptions opt;
    opt.kmeans_iters = rows_per_kv >= 64 ? 4 : 0;
    opt.segment = q.causal && q.q.view.shape[2] > 1 ? 1024 : 0;
    const bool with_v = q.mode == Mode::Softmax && q.error_bound != nullptr;
    ha_key_index* raw = nullptr;
    int32_t st = index_build(q.k, with_v ? &q.v : nullptr, opt, &raw);
    if (st != HA_OK) return st;
    std::unique_ptr<ha_key_index> idx(raw);
    return run_with_index(q, *idx);
}

}  // namespace ha::cpu::hsr
