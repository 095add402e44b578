// HSR queries over a key index: the driver behind run_query (engine.h).
//
// Work unit: query rows of one (batch, kv head) that share every key read: when decoding, the
// GQA heads of one or a few positions (up to kMaxRows); when prefilling, one row (compute-bound:
// rows would pay for each other's blocks), after a probe of a few units decides whether the
// whole problem goes dense. A unit
//  1. bounds every sealed block for each of its rows (guarded ball bound, refined by the box
//     bound where it matters);
//  2. chooses blocks (hsr_plan.cpp): for ReLU and reporting, those whose bound reaches the
//     threshold for some row (each row then scores only the blocks its own bound admits: the
//     rows share the read, not the arithmetic); for softmax, blocks in descending order of
//     bound until the certified remainder is <= eps (hsr_certificate.h);
//  3. visits them (and the exact recent tail) in tasks of kChunkItems blocks whose partial
//     results merge in a fixed order, so results never depend on the thread count
//     (hsr_visit.cpp); softmax plans again after each round, starting with the tail and each
//     row's top blocks, then whole levels, growing at most geometrically, until every row is
//     certified;
//  4. falls back when the blocks to visit are a large fraction of the cache: ReLU scans every
//     key in cache order (still reading only the values of keys with weight), softmax calls the
//     dense exact kernel (hsr_fallback.cpp; dropped mass 0). Softmax decides from the bounds
//     alone when even the most favourable kept mass could not certify a small set (flat rows
//     fall back before any key is read), otherwise after the first round;
//  5. writes its rows and stats (hsr_results.cpp).
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <tuple>

#include "cpu/hsr/engine.h"
#include "cpu/hsr/hsr_fallback.h"
#include "cpu/hsr/hsr_plan.h"
#include "cpu/hsr/hsr_results.h"
#include "cpu/hsr/hsr_state.h"
#include "cpu/hsr/hsr_visit.h"
#include "cpu/hsr/numerics.h"
#include "cpu/thread_pool.h"

namespace ha::cpu::hsr {
namespace {

using namespace detail;

constexpr int64_t kBoundChunks = 64;  // centre chunks (of 16 blocks) per bound task
// Fraction of the keys beyond which a dense pass is cheaper: gathering rows through the
// permutation (values always, keys without the index's copy) reads memory at about a third of
// the streaming rate (decode is memory-bound); prefill is compute-bound, where the dense
// kernel's GEMMs are much faster per key. (Tuned before the key copy; not re-tuned since.)
constexpr double kFallbackDecode = 0.3;
constexpr double kFallbackPrefill = 0.2;
constexpr int64_t kProbeUnits = 48;   // prefill: units tried before choosing the path
constexpr int64_t kWaveBytes = int64_t(256) << 20;  // units planned at once: bounds their memory

struct Workspace {
    std::vector<Unit> units;
    std::vector<Partial> parts;
    std::vector<int64_t> owner;  // visit task -> unit
    std::vector<Scratch> scratch;

    // Keeps what a decoding step needs; a large prefill's buffers are given back.
    void trim() {
        size_t bytes = 0;
        for (const Unit& u : units)
            bytes += u.bounds.capacity() * 4 + u.mass.capacity() * 4 + u.level_of.capacity() +
                     u.by_level.capacity() * 4 + u.visited.capacity() +
                     u.block_scratch.capacity() * 4;
        for (const Partial& p : parts) bytes += p.out.capacity() * 4;
        if (bytes > (size_t(64) << 20)) {
            std::vector<Unit>().swap(units);
            std::vector<Partial>().swap(parts);
        }
    }
};

// Loads the unit's query rows and resets what a previous call left in the reused Unit.
void init_unit(const Context& cx, Unit& u, int64_t b, int64_t hk, int64_t first_row) {
    u.batch = b;
    u.kv_head = hk;
    u.first_row = first_row;
    u.R = int(std::min<int64_t>(cx.rows_per_unit, cx.G * cx.Nq - first_row));
    u.q.assign(size_t(u.R * cx.Dp), 0.f);
    for (int r = 0; r < u.R; ++r) {
        UnitRow& row = u.rows[r];
        const int64_t rr = first_row + r;
        row.head = hk * cx.G + rr % cx.G;
        row.pos = rr / cx.G;
        row.key_limit =
            cx.query.causal ? std::clamp<int64_t>(row.pos + cx.Nk - cx.Nq + 1, 0, cx.Nk) : cx.Nk;
        const RowSrc qs = cx.src(cx.query.q.view, cx.query.q.dtype, b, row.head);
        cx.kern.load_rows(qs, nullptr, row.pos, 1, cx.D, cx.Dp, u.q.data() + r * cx.Dp);
        row.q_norm = round_up_f(std::sqrt(cx.kern.sumsq(u.q.data() + r * cx.Dp, cx.D) *
                                          (1.0 + double(cx.D + 8) * 0x1p-52)) * (1.0 + 0x1p-51));
        row.max_x = -INFINITY;
        row.weight_sum = 0.f;
        row.weight_sum_d = 0.0;
        row.relu_top = 0.f;
        row.level = 0;
        row.certified = false;
    }
    u.out.assign(size_t(u.R * cx.Dp), 0.f);
    u.active = true;
    u.dense = u.scan = false;
    u.n_visited = u.visited_keys = 0;
    u.visited_max_knorm = 0.f;
    u.items.clear();
    u.visited_blocks.clear();
    u.visited_row_masks.clear();
    if (cx.query.mode == Mode::Report) u.lists.assign(size_t(u.R), {});
}

// Per (batch, kv head) value ranges for the softmax error bound when the index has no values.
int32_t compute_value_ranges(Context& cx) {
    const int64_t groups = cx.B * cx.Hkv, D = cx.D, Dp = cx.Dp;
    cx.value_min.assign(size_t(groups * D), INFINITY);
    cx.value_max.assign(size_t(groups * D), -INFINITY);
    return parallel_for(groups, pool_threads(), [&](int64_t g, int) {
        const RowSrc vs = cx.vsrc(g / cx.Hkv, g % cx.Hkv);
        std::vector<float> rows(static_cast<size_t>(64 * Dp));
        float* mn = cx.value_min.data() + g * D;
        float* mx = cx.value_max.data() + g * D;
        for (int64_t j0 = 0; j0 < cx.Nk; j0 += 64) {
            const int n = int(std::min<int64_t>(64, cx.Nk - j0));
            cx.kern.load_rows(vs, nullptr, j0, n, D, Dp, rows.data());
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

void set_unit_rows(Context& cx, int64_t ru) {
    cx.rows_per_unit = ru;
    cx.units_per_kv_head = (cx.G * cx.Nq + ru - 1) / ru;
}

// Runs the units whose ids are listed (in waves that bound the memory of their plans), writes
// their results, and records the units that need the dense kernel.
int32_t run_units(Context& cx, Workspace& ws, const std::vector<int64_t>& ids,
                  std::vector<FallbackRun>& fallbacks, int64_t* n_dense) {
    const Query& q = cx.query;
    const Kernels& kern = cx.kern;
    int64_t max_nb = 0;
    for (const HeadIndex& h : cx.index.heads) max_nb = std::max(max_nb, h.nb);
    const int64_t unit_bytes =
        16 * cx.rows_per_unit * (max_nb + 16) + cx.rows_per_unit * cx.Dp * 12 + 4096;
    const int64_t n_ids = int64_t(ids.size());
    const int64_t wave =
        std::clamp<int64_t>(kWaveBytes / unit_bytes, 1, std::max<int64_t>(1, n_ids));
    const int slots = int(ws.scratch.size());
    std::vector<Unit>& units = ws.units;
    for (int64_t w0 = 0; w0 < n_ids; w0 += wave) {
        const int64_t nw = std::min(wave, n_ids - w0);
        units.resize(size_t(nw));
        int32_t st = parallel_for(nw, slots, [&](int64_t k, int) {
            const int64_t uid = ids[size_t(w0 + k)];
            const int64_t grp = uid / cx.units_per_kv_head, uu = uid % cx.units_per_kv_head;
            Unit& u = units[size_t(k)];
            init_unit(cx, u, grp / cx.Hkv, grp % cx.Hkv, uu * cx.rows_per_unit);
            u.bounds.assign(size_t(u.R * padded_blocks(cx.head(u))), -INFINITY);
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
            float q_norm[kMaxRows];  // the kernel's operand layout
            for (int r = 0; r < u.R; ++r) q_norm[r] = u.rows[r].q_norm;
            kern.ball_bounds(u.R, u.q.data(), cx.Dp, cx.D, h.cen.data() + c0 * cx.D * kChunkBlocks,
                             h.rho.data() + c0 * kChunkBlocks, c1 - c0, q_norm, cx.dot_abs_err,
                             u.bounds.data() + c0 * kChunkBlocks, nch * kChunkBlocks);
        });
        if (st != HA_OK) return st;
        // 2. first plan
        st = parallel_for(nw, slots, [&](int64_t k, int) {
            Unit& u = units[size_t(k)];
            if (q.mode == Mode::Softmax)
                plan_softmax_init(cx, u);
            else
                plan_threshold(cx, u,
                               q.mode == Mode::Relu ? cx.relu_threshold : double(q.threshold));
        });
        if (st != HA_OK) return st;
        // 3. rounds: visit, merge in order, plan again
        for (;;) {
            int64_t ntasks = 0;
            for (Unit& u : units) {
                u.first_task = ntasks;
                u.n_tasks =
                    u.active ? (int64_t(u.items.size()) + kChunkItems - 1) / kChunkItems : 0;
                ntasks += u.n_tasks;
            }
            if (ntasks == 0) break;
            std::vector<Partial>& parts = ws.parts;
            if (parts.size() < size_t(ntasks)) parts.resize(size_t(ntasks));
            std::vector<int64_t>& owner = ws.owner;
            owner.resize(size_t(ntasks));
            for (int64_t k = 0; k < nw; ++k)
                for (int64_t t = 0; t < units[size_t(k)].n_tasks; ++t)
                    owner[size_t(units[size_t(k)].first_task + t)] = k;
            st = parallel_for(ntasks, slots, [&](int64_t t, int slot) {
                const Unit& u = units[size_t(owner[size_t(t)])];
                const int64_t c = t - u.first_task, a = c * kChunkItems;
                const int64_t n = std::min<int64_t>(kChunkItems, int64_t(u.items.size()) - a);
                visit(cx, u, u.items.data() + a, n, parts[size_t(t)], ws.scratch[size_t(slot)]);
            });
            if (st != HA_OK) return st;
            st = parallel_for(nw, slots, [&](int64_t k, int) {
                Unit& u = units[size_t(k)];
                if (!u.active || u.n_tasks == 0) return;
                merge(cx, u, parts.data() + u.first_task, u.n_tasks);
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
            *n_dense += u.dense || u.scan;
            if (!u.dense) continue;
            if (!fallbacks.empty() && fallbacks.back().b == u.batch &&
                fallbacks.back().hk == u.kv_head && fallbacks.back().r1 == u.first_row)
                fallbacks.back().r1 = u.first_row + u.R;
            else
                fallbacks.push_back({u.batch, u.kv_head, u.first_row, u.first_row + u.R});
        }
    }
    return HA_OK;
}

int32_t run_with_index(const Query& q, const ha_key_index& x) {
    const View& qv = q.q.view;
    Context cx(q, x, active());
    cx.B = qv.shape[0];
    cx.Hq = qv.shape[1];
    cx.Nq = qv.shape[2];
    cx.D = qv.shape[3];
    cx.Hkv = q.k.view.shape[1];
    cx.Nk = q.k.view.shape[2];
    cx.Dp = x.Dp;
    cx.G = cx.Hq / cx.Hkv;
    cx.block_size = x.opt.block_size;
    cx.score_stride = (cx.block_size + 15) / 16 * 16;
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
    cx.log2_scale = static_cast<float>(double(q.scale) * kLog2e);
    cx.log2_scale_d = double(q.scale) * kLog2e;
    cx.dot_rel_err = dot_err(cx.D);
    cx.dot_abs_err = round_up_f(dot_eta(cx.D));
    cx.dense_share = prefill ? kFallbackPrefill : kFallbackDecode;
    {
        const double t = double(q.bias) / double(q.scale);
        cx.relu_threshold = t - std::fabs(t) * 0x1p-40;
    }
    const bool needs_error_bound = q.mode == Mode::Softmax && q.error_bound != nullptr;
    if (needs_error_bound && !x.has_v) {
        if (int32_t st = compute_value_ranges(cx); st != HA_OK) return st;
    }
    const int64_t n_units = cx.B * cx.Hkv * cx.units_per_kv_head;
    if (n_units == 0) return HA_OK;

    // Buffers live on between calls of the same thread: decoding calls once per token, and
    // fresh allocations would be paid for in page faults every time.
    thread_local Workspace ws;
    ws.scratch.resize(size_t(std::max(1, pool_threads())));
    for (Scratch& s : ws.scratch) {
        s.S.assign(size_t(kMaxRows * cx.score_stride), 0.f);
        s.P.assign(size_t(kMaxRows * cx.score_stride), 0.f);
        s.Pq.assign(size_t(kChunkItems * kMaxRows * cx.score_stride), 0.f);
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
            ids.resize(size_t(cx.B * cx.Hkv * cx.units_per_kv_head));
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
