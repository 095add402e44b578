// The driver of approximate attention: per (batch, kv head) inputs (key sketches, value
// norms), the groups of rows, escalation towards the error target, and the outputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/approx/approx.h"
#include "cpu/approx/approx_group.h"
#include "cpu/approx/drawn_decode.h"
#include "cpu/approx/row_io.h"
#include "cpu/approx/sketch.h"
#include "cpu/approx/tiled_prefill.h"
#include "cpu/hsr/key_index.h"
#include "cpu/hsr/numerics.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx {
namespace {

// Computes the marked rows with the tiled exact kernel: per (batch, kv head) with any marked
// row, one call from its first to its last marked position, for all of the kv head's query
// heads at once, so K and V are read once for them. The callers send only kv heads with many
// marked rows (scattered ones go to chunks of 8): there one run is the kernel's best case, and
// recomputing the unmarked rows inside it exactly is always allowed.
int32_t exact_rows(const Problem& p, const std::vector<uint8_t>& marked) {
    const ExactProblem& e = p.base;
    const int64_t B = e.q.shape[0], Hq = e.q.shape[1], Nq = e.q.shape[2];
    const int64_t Hkv = e.k.shape[1], G = Hq / Hkv;
    auto any = [&](int64_t b, int64_t hk, int64_t i) {
        for (int64_t h = hk * G; h < hk * G + G; ++h)
            if (marked[size_t((b * Hq + h) * Nq + i)]) return true;
        return false;
    };
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hk = 0; hk < Hkv; ++hk) {
            int64_t a = 0, last = Nq - 1;
            while (a < Nq && !any(b, hk, a)) ++a;
            if (a == Nq) continue;
            while (!any(b, hk, last)) --last;
            if (int32_t st = exact_span(p, b, hk, a, last); st != HA_OK) return st;
        }
    return HA_OK;
}

}  // namespace

int32_t run(const Problem& p) {
    if (tiled_serves(p)) return run_tiled(p);
    if (drawn_decode_serves(p)) return run_drawn_decode(p);
    const ExactProblem& e = p.base;
    const int64_t B = e.q.shape[0], Hq = e.q.shape[1], Nq = e.q.shape[2], D = e.q.shape[3];
    const int64_t Hkv = e.k.shape[1], Nk = e.k.shape[2];
    const int64_t G = Hq / Hkv;
    CallInputs ci{};
    ci.p = &p;
    ci.kr = &hsr::active();
    ci.Nq = Nq;
    ci.Nk = Nk;
    ci.D = D;
    ci.Dp = (D + 15) / 16 * 16;
    ci.c = float(double(e.scale) * 1.4426950408889634);
    // With an index, its sketches (and so its hyperplanes) serve; otherwise they are made here.
    const ha_key_index* ix = p.index;
    const std::vector<float> planes = ix ? std::vector<float>() : sketch_planes(p.seed, D, ci.Dp);
    ci.planes = ix ? ix->sketch_planes.data() : planes.data();

    // Per (batch, kv head): sketches of every key, and value norms when enough rows reuse them.
    const int64_t heads = B * Hkv;
    const bool norms_up_front = Nq * G >= 64;
    std::vector<uint64_t> sketches(ix ? 0 : size_t(heads * Nk));
    std::vector<float> knorms(ix ? 0 : size_t(heads * Nk));
    std::vector<float> vnorms(norms_up_front ? size_t(heads * Nk) : 0);
    std::vector<HeadInputs> hin(static_cast<size_t>(heads));
    constexpr int64_t kPrepChunk = 4096;
    const int64_t chunks = (Nk + kPrepChunk - 1) / kPrepChunk;
    std::vector<double> chunk_kmax(size_t(heads * chunks), 0.0);
    for (int64_t bh = 0; bh < heads; ++bh) {
        HeadInputs& h = hin[size_t(bh)];
        h.b = bh / Hkv;
        h.hk = bh % Hkv;
        h.k = rows_of(e.k, e.dtype, h.b, h.hk);
        h.v = rows_of(e.v, e.dtype, h.b, h.hk);
        h.sketch = ix ? ix->heads[size_t(bh)].sketch.data() : sketches.data() + bh * Nk;
        h.knorm = ix ? ix->heads[size_t(bh)].pnorm.data() : knorms.data() + bh * Nk;
        h.vnorm2 = norms_up_front ? vnorms.data() + bh * Nk : nullptr;
    }
    // With an index, the sketches and norms are kept there: only the longest key norm past the
    // sinks is needed (kept for small sink counts), and value norms when rows reuse them.
    // (No keys, no chunk: chunk_kmax is empty and every kmax stays 0.)
    if (ix && chunks > 0)
        for (int64_t bh = 0; bh < heads; ++bh) {
            const hsr::HeadIndex& xh = ix->heads[size_t(bh)];
            double k2 = 0.0;
            if (p.sinks <= hsr::HeadIndex::kNormAfter)
                k2 = double(xh.norm_after[p.sinks]) * xh.norm_after[p.sinks];
            else
                for (int64_t j = p.sinks; j < Nk; ++j)
                    k2 = std::max(k2, double(xh.pnorm[size_t(j)]) * xh.pnorm[size_t(j)]);
            chunk_kmax[size_t(bh * chunks)] = k2;
        }
    int32_t st = HA_OK;
    if (!ix || norms_up_front)
        st = parallel_for(heads * chunks, pool_threads(), [&](int64_t t, int) {
            const HeadInputs& h = hin[size_t(t / chunks)];
            const int64_t j0 = (t % chunks) * kPrepChunk, n = std::min(kPrepChunk, Nk - j0);
            std::vector<float> row(size_t(ci.Dp));
            if (!ix) {
                sketch_rows(*ci.kr, ci.planes, D, ci.Dp, h.k, j0, n, const_cast<uint64_t*>(h.sketch) + j0);
                double kmax2 = 0.0;
                for (int64_t j = j0; j < j0 + n; ++j) {
                    ci.kr->load_rows(h.k, nullptr, j, 1, D, ci.Dp, row.data());
                    const double n2 = ci.kr->sumsq(row.data(), ci.Dp);
                    const_cast<float*>(h.knorm)[j] = float(std::sqrt(n2));
                    if (j >= p.sinks) kmax2 = std::max(kmax2, n2);
                }
                chunk_kmax[size_t(t)] = kmax2;
            }
            if (norms_up_front)
                for (int64_t j = j0; j < j0 + n; ++j) {
                    ci.kr->load_rows(h.v, nullptr, j, 1, D, ci.Dp, row.data());
                    const_cast<float*>(h.vnorm2)[j] = float(ci.kr->sumsq(row.data(), ci.Dp));
                }
        });
    if (st != HA_OK) return st;
    for (int64_t bh = 0; bh < heads; ++bh) {
        double k2 = 0.0;
        for (int64_t c = 0; c < chunks; ++c) k2 = std::max(k2, chunk_kmax[size_t(bh * chunks + c)]);
        hin[size_t(bh)].kmax = std::sqrt(k2) * (1.0 + 1e-6);
    }
    std::vector<uint8_t> classes(size_t(heads * Nk));
    st = parallel_for(heads * chunks, pool_threads(), [&](int64_t t, int) {
        HeadInputs& h = hin[size_t(t / chunks)];
        const int64_t j0 = (t % chunks) * kPrepChunk, j1 = std::min(Nk, j0 + kPrepChunk);
        uint8_t* c = classes.data() + (t / chunks) * Nk;
        // The class is the number of class floors kmax·2^-(c+1)/2 that the norm does not
        // exceed: compares, no logarithm per key (a decoding step classes every key).
        float floor_of[kNormClasses - 1];
        for (int k = 0; k < kNormClasses - 1; ++k) floor_of[k] = float(class_norm(k + 1, h.kmax));
        for (int64_t j = j0; j < j1; ++j) {
            const float n = h.knorm[j];
            int k = 0;
            for (int i = 0; i < kNormClasses - 1; ++i) k += n <= floor_of[i];
            c[j] = uint8_t(k);
        }
    });
    if (st != HA_OK) return st;
    for (int64_t bh = 0; bh < heads; ++bh) hin[size_t(bh)].ncls = classes.data() + bh * Nk;

    // Groups: up to 8 rows of one kv head — its query heads (in chunks of 8), times as many
    // consecutive positions as fit.
    const int64_t hchunk = std::min<int64_t>(G, 8);
    const int64_t nhc = (G + hchunk - 1) / hchunk;
    const int64_t P = std::max<int64_t>(1, 8 / hchunk);
    const int64_t npos = (Nq + P - 1) / P;
    const int64_t groups = heads * nhc * npos;
    std::vector<Scratch> scratch(size_t(std::max(1, pool_threads())));
    const int64_t rows_total = B * Hq * Nq;
    // Rows sent to the exact kernel after the groups (the target made sampling dearer than
    // computing them exactly): marked here, computed in bulk below with the tiled kernel.
    std::vector<uint8_t> exact_row(p.target > 0.0 ? size_t(rows_total) : 0, 0);
    auto stat_index = [&](int64_t b, int64_t h, int64_t i) { return (b * Hq + h) * Nq + i; };

    // The rows of a group task; rows that see no key are written here (0, -inf) and left out.
    auto build_group = [&](int64_t task, Scratch& s, GroupRows& g, bool write_empty) {
        const int64_t bh = task / (nhc * npos);
        const int64_t hc = (task / npos) % nhc;
        const int64_t i0 = (task % npos) * P;
        const HeadInputs& hi = hin[size_t(bh)];
        s.Q.assign(size_t(8 * ci.Dp), 0.f);
        const int64_t h0 = hi.hk * G + hc * hchunk, h1 = std::min(hi.hk * G + G, h0 + hchunk);
        for (int64_t i = i0; i < std::min(Nq, i0 + P); ++i)
            for (int64_t h = h0; h < h1; ++h) {
                int64_t pos = i + Nk - Nq;
                if (e.causal && (pos < 0 || Nk == 0)) {  // sees no key: 0 and -inf
                    if (!write_empty) continue;
                    std::vector<float> zero(size_t(D), 0.f);
                    store_row(p, hi.b, h, i, D, zero.data(), -INFINITY);
                    const int64_t si = stat_index(hi.b, h, i);
                    if (p.row_error) p.row_error[si] = 0.f;
                    if (p.tail_bound) p.tail_bound[si] = 0.f;
                    if (p.touched) p.touched[si] = 0;
                    if (p.level) p.level[si] = 0;
                    continue;
                }
                if (!e.causal) pos = std::clamp<int64_t>(pos, 0, std::max<int64_t>(0, Nk - 1));
                const int r = g.R++;
                g.head[r] = h;
                g.row[r] = i;
                g.pos[r] = pos;
                load_query(p, hi.b, h, i, D, s.Q.data() + r * ci.Dp);
            }
    };

    // With a target, a few probe groups per head (fixed positions, so the decision does not
    // depend on threads) tell whether sampling can serve it: when most of their rows miss the
    // target at the first budget (diffuse inputs, say), the whole head goes to the tiled exact
    // kernel at once instead of paying for a first pass that would be thrown away.
    constexpr int64_t kProbes = 8;
    std::vector<uint8_t> head_exact(size_t(heads * nhc), 0);
    std::vector<int64_t> head_draws(size_t(heads * nhc), p.samples);
    if (p.target > 0.0 && npos >= 8 * kProbes) {
        std::vector<float> est(size_t(heads * nhc * kProbes * 8), -1.f);
        st = parallel_for(heads * nhc * kProbes, pool_threads(), [&](int64_t t, int slot) {
            Scratch& s = scratch[size_t(slot)];
            const int64_t hh = t / kProbes, k = t % kProbes;
            const int64_t ipos = npos / 4 + (3 * npos / 4) * (2 * k + 1) / (2 * kProbes);
            GroupRows g;
            build_group(hh * npos + ipos, s, g, false);
            if (g.R == 0) return;
            Budget bud;
            bud.draws = p.samples;
            bud.heavy = default_budget(p, Nk);
            RowResult res[8];
            solve_group(ci, hin[size_t(hh / nhc)], g, bud, s, res);
            for (int r = 0; r < g.R; ++r)
                est[size_t(t * 8 + r)] = std::isfinite(res[r].err) ? res[r].err : 1e30f;
        });
        if (st != HA_OK) return st;
        // Draws for the head: what the 90th percentile of the probes' estimates asks for (the
        // standard error falls as 1/sqrt(draws)); exact when that is not much cheaper: a
        // gathered key costs several keys of the tiled kernel (about 8 measured on Zen 4).
        const int64_t typical_far = e.causal ? Nk / 2 : Nk;
        for (int64_t hh = 0; hh < heads * nhc; ++hh) {
            std::vector<float> v;
            for (int64_t i = 0; i < kProbes * 8; ++i)
                if (est[size_t(hh * kProbes * 8 + i)] >= 0.f) v.push_back(est[size_t(hh * kProbes * 8 + i)]);
            if (v.empty()) continue;
            std::sort(v.begin(), v.end());
            const double x = double(v[v.size() * 9 / 10]) / p.target;
            const double want = double(std::max<int64_t>(p.samples, 16)) * std::max(1.0, 1.3 * x * x);
            if (8.0 * want > double(typical_far))
                head_exact[size_t(hh)] = 1;
            else
                head_draws[size_t(hh)] = int64_t(std::ceil(want));
        }
    }

    st = parallel_for(groups, pool_threads(), [&](int64_t task, int slot) {
        Scratch& s = scratch[size_t(slot)];
        const int64_t bh = task / (nhc * npos);
        const HeadInputs& hi = hin[size_t(bh)];
        GroupRows g;
        build_group(task, s, g, true);
        if (g.R > 0 && head_exact[size_t(task / npos)]) {
            for (int r = 0; r < g.R; ++r) exact_row[size_t(stat_index(hi.b, g.head[r], g.row[r]))] = 1;
            return;
        }
        if (g.R == 0) return;
        // Rows whose estimate misses the target are solved again, on their own (a smaller
        // group costs less), with more draws and heavy keys, and at the last level exactly.
        const GroupRows& todo = g;
        auto emit = [&](const GroupRows& rows, int r, const RowResult& res, const float* o, int level) {
            store_row(p, hi.b, rows.head[r], rows.row[r], D, o, res.lse);
            const int64_t si = stat_index(hi.b, rows.head[r], rows.row[r]);
            if (p.row_error) p.row_error[si] = res.err;
            if (p.tail_bound) p.tail_bound[si] = res.tail ? 1.f : 0.f;
            if (p.touched) p.touched[si] = res.touched;
            if (p.level) p.level[si] = level;
        };
        auto misses = [&](const RowResult& res) {
            return p.target > 0.0 && !(double(res.err) <= p.target);
        };
        Budget bud;
        bud.draws = head_draws[size_t(task / npos)];
        bud.heavy = default_budget(p, Nk);
        RowResult res[8];
        solve_group(ci, hi, todo, bud, s, res);
        GroupRows again;
        RowResult res_of[8];
        for (int r = 0; r < todo.R; ++r) {
            if (!misses(res[r])) {
                emit(todo, r, res[r], s.O.data() + r * ci.Dp, 0);
                continue;
            }
            const int a = again.R++;
            res_of[a] = res[r];
            again.head[a] = todo.head[r];
            again.row[a] = todo.row[r];
            again.pos[a] = todo.pos[r];
        }
        // Rows that miss the target are solved again together with the draws the worst of
        // them needs by its standard error (which falls as 1/sqrt(draws)), with a margin of 2
        // (the estimate of a standard error is itself noisy), and
        // 4x the heavy keys, when that stays well below the cost of computing them exactly (a
        // gathered key costs several keys of a contiguous pass, and a refinement that misses
        // is paid on top of the exact one: at most a sixteenth of the visible keys; a
        // thirty-second, when misses went to short tiled runs, left decoding rows at a 0.02
        // target exact where a refinement serves); otherwise, or when they still miss, they
        // are computed exactly after the groups.
        if (again.R > 0) {
            double worst = 0.0;
            for (int a = 0; a < again.R; ++a) worst = std::max(worst, double(res_of[a].err) / p.target);
            Budget rb;
            rb.draws = std::isfinite(worst)
                           ? int64_t(std::min(1e15, std::ceil(double(std::max<int64_t>(bud.draws, 16)) * 2.0 * worst * worst)))
                           : int64_t(1e15);
            rb.heavy = 4 * bud.heavy;
            rb.pass = 1;
            rb.level = 1;
            bool refined = false;
            RowResult r1[8];
            int64_t visible = Nk;
            for (int a = 0; a < again.R; ++a)
                if (e.causal) visible = std::min(visible, again.pos[a] + 1);
            if (16 * (rb.draws + rb.heavy) <= visible) {
                s.Q.assign(size_t(8 * ci.Dp), 0.f);
                for (int a = 0; a < again.R; ++a)
                    load_query(p, hi.b, again.head[a], again.row[a], D, s.Q.data() + a * ci.Dp);
                solve_group(ci, hi, again, rb, s, r1);
                refined = true;
            }
            for (int a = 0; a < again.R; ++a) {
                if (refined && !misses(r1[a]))
                    emit(again, a, r1[a], s.O.data() + a * ci.Dp, 1);
                else
                    exact_row[size_t(stat_index(hi.b, again.head[a], again.row[a]))] = 1;
            }
        }
    });
    if (st != HA_OK || exact_row.empty()) return st;

    // The marked rows. A kv head with many marked positions goes to the tiled kernel in one
    // run (its best case); scattered marks are computed exactly in chunks of 8 rows of one kv
    // head (by position), so the keys are read once per chunk instead of once per row as
    // short tiled runs would: a target met by all but a few rows must not cost many passes
    // over the cache.
    std::vector<uint8_t> dense(exact_row.size(), 0);
    struct Chunk {
        int64_t bh;
        GroupRows g;
    };
    std::vector<Chunk> todo_exact;
    for (int64_t bh = 0; bh < heads; ++bh) {
        const int64_t b = bh / Hkv, hk = bh % Hkv;
        // The tiled kernel recomputes every row of its run; the chunks cost a few times more
        // per row (rows gathered, keys read at the narrower width of 8 rows): tiled from a
        // quarter of the kv head's rows on.
        int64_t marked_rows = 0;
        for (int64_t i = 0; i < Nq; ++i)
            for (int64_t h = hk * G; h < hk * G + G; ++h) marked_rows += exact_row[size_t(stat_index(b, h, i))];
        const bool tiled = 4 * marked_rows > G * Nq;
        Chunk c{bh, GroupRows{}};
        for (int64_t i = 0; i < Nq; ++i)
            for (int64_t h = hk * G; h < hk * G + G; ++h) {
                const size_t si = size_t(stat_index(b, h, i));
                if (!exact_row[si]) continue;
                if (tiled) {
                    dense[si] = 1;
                    continue;
                }
                const int r = c.g.R++;
                c.g.head[r] = h;
                c.g.row[r] = i;
                c.g.pos[r] = e.causal ? i + Nk - Nq : std::clamp<int64_t>(i + Nk - Nq, 0, Nk - 1);
                if (c.g.R == 8) {
                    todo_exact.push_back(c);
                    c.g = GroupRows{};
                }
            }
        if (c.g.R > 0) todo_exact.push_back(c);
    }
    st = parallel_for(int64_t(todo_exact.size()), pool_threads(), [&](int64_t t, int slot) {
        Scratch& s = scratch[size_t(slot)];
        const Chunk& c = todo_exact[size_t(t)];
        const HeadInputs& hi = hin[size_t(c.bh)];
        s.Q.assign(size_t(8 * ci.Dp), 0.f);
        for (int r = 0; r < c.g.R; ++r) load_query(p, hi.b, c.g.head[r], c.g.row[r], D, s.Q.data() + r * ci.Dp);
        Budget bud;
        bud.level = 2;
        RowResult res[8];
        solve_group(ci, hi, c.g, bud, s, res);
        for (int r = 0; r < c.g.R; ++r) {
            store_row(p, hi.b, c.g.head[r], c.g.row[r], D, s.O.data() + r * ci.Dp, res[r].lse);
            exact_row_stats(p, stat_index(hi.b, c.g.head[r], c.g.row[r]), res[r].touched);
        }
    });
    if (st != HA_OK) return st;
    return exact_rows(p, dense);
}

}  // namespace ha::cpu::approx
