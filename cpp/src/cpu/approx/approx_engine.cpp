// The driver of approximate attention: per (batch, kv head) inputs (key sketches, value
// norms), the groups of rows, escalation towards the error target, and the outputs.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/approx/approx.h"
#include "cpu/approx/approx_group.h"
#include "cpu/approx/sketch.h"
#include "cpu/hsr/key_index.h"
#include "cpu/hsr/numerics.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx {
namespace {

hsr::RowSrc rows_of(const View& t, int32_t dtype, int64_t b, int64_t h) {
    const int64_t es = dtype == HA_DTYPE_BF16 ? 2 : 4;
    const char* base = static_cast<const char*>(t.data) + (b * t.strides[0] + h * t.strides[1]) * es;
    return hsr::RowSrc{base, t.strides[2], t.strides[3], dtype == HA_DTYPE_BF16};
}

void load_query(const Problem& p, int64_t b, int64_t h, int64_t i, int64_t D, float* dst) {
    const View& q = p.base.q;
    const int64_t off = b * q.strides[0] + h * q.strides[1] + i * q.strides[2];
    for (int64_t d = 0; d < D; ++d) {
        const int64_t e = off + d * q.strides[3];
        dst[d] = p.base.dtype == HA_DTYPE_BF16
                     ? hsr::bf16_bits_to_f32(static_cast<const uint16_t*>(q.data)[e])
                     : static_cast<const float*>(q.data)[e];
    }
}

void store_row(const Problem& p, int64_t b, int64_t h, int64_t i, int64_t D, const float* o,
               float lse) {
    const View& t = p.base.out;
    const int64_t off = b * t.strides[0] + h * t.strides[1] + i * t.strides[2];
    for (int64_t d = 0; d < D; ++d) {
        const int64_t e = off + d * t.strides[3];
        if (p.base.dtype == HA_DTYPE_BF16)
            static_cast<uint16_t*>(t.data)[e] = hsr::f32_to_bf16_nearest(o[d]);
        else
            static_cast<float*>(t.data)[e] = o[d];
    }
    if (p.base.lse)
        p.base.lse[b * p.base.lse_strides[0] + h * p.base.lse_strides[1] +
                   i * p.base.lse_strides[2]] = lse;
}

}  // namespace

int32_t run(const Problem& p) {
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
    int32_t st = parallel_for(heads * chunks, pool_threads(), [&](int64_t t, int) {
        const HeadInputs& h = hin[size_t(t / chunks)];
        const int64_t j0 = (t % chunks) * kPrepChunk, n = std::min(kPrepChunk, Nk - j0);
        std::vector<float> row(size_t(ci.Dp));
        double kmax2 = 0.0;
        if (ix) {
            const hsr::HeadIndex& xh = ix->heads[size_t(t / chunks)];
            if (p.sinks <= hsr::HeadIndex::kNormAfter) {
                kmax2 = double(xh.norm_after[p.sinks]) * xh.norm_after[p.sinks];
            } else {
                for (int64_t j = std::max(j0, p.sinks); j < j0 + n; ++j)
                    kmax2 = std::max(kmax2, double(xh.pnorm[size_t(j)]) * xh.pnorm[size_t(j)]);
            }
        } else {
            sketch_rows(*ci.kr, ci.planes, D, ci.Dp, h.k, j0, n, const_cast<uint64_t*>(h.sketch) + j0);
        }
        for (int64_t j = j0; j < j0 + n; ++j) {
            if (!ix) {
                ci.kr->load_rows(h.k, nullptr, j, 1, D, ci.Dp, row.data());
                const double n2 = ci.kr->sumsq(row.data(), ci.Dp);
                const_cast<float*>(h.knorm)[j] = float(std::sqrt(n2));
                if (j >= p.sinks) kmax2 = std::max(kmax2, n2);
            }
            if (norms_up_front) {
                ci.kr->load_rows(h.v, nullptr, j, 1, D, ci.Dp, row.data());
                const_cast<float*>(h.vnorm2)[j] = float(ci.kr->sumsq(row.data(), ci.Dp));
            }
        }
        chunk_kmax[size_t(t)] = kmax2;
    });
    if (st != HA_OK) return st;
    for (int64_t bh = 0; bh < heads; ++bh) {
        double k2 = 0.0;
        for (int64_t c = 0; c < chunks; ++c) k2 = std::max(k2, chunk_kmax[size_t(bh * chunks + c)]);
        hin[size_t(bh)].kmax = std::sqrt(k2) * (1.0 + 1e-6);
    }

    // Groups: up to 8 rows of one kv head — its query heads (in chunks of 8), times as many
    // consecutive positions as fit.
    const int64_t hchunk = std::min<int64_t>(G, 8);
    const int64_t nhc = (G + hchunk - 1) / hchunk;
    const int64_t P = std::max<int64_t>(1, 8 / hchunk);
    const int64_t npos = (Nq + P - 1) / P;
    const int64_t groups = heads * nhc * npos;
    std::vector<Scratch> scratch(size_t(std::max(1, pool_threads())));
    const int64_t rows_total = B * Hq * Nq;
    auto stat_index = [&](int64_t b, int64_t h, int64_t i) { return (b * Hq + h) * Nq + i; };

    st = parallel_for(groups, pool_threads(), [&](int64_t task, int slot) {
        Scratch& s = scratch[size_t(slot)];
        const int64_t bh = task / (nhc * npos);
        const int64_t hc = (task / npos) % nhc;
        const int64_t i0 = (task % npos) * P;
        const HeadInputs& hi = hin[size_t(bh)];
        GroupRows g;
        s.Q.assign(size_t(8 * ci.Dp), 0.f);
        const int64_t h0 = hi.hk * G + hc * hchunk, h1 = std::min(hi.hk * G + G, h0 + hchunk);
        for (int64_t i = i0; i < std::min(Nq, i0 + P); ++i)
            for (int64_t h = h0; h < h1; ++h) {
                int64_t pos = i + Nk - Nq;
                if (e.causal && (pos < 0 || Nk == 0)) {  // sees no key: 0 and -inf
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
        if (g.R == 0) return;
        // Rows whose estimate misses the target are solved again, on their own (a smaller
        // group costs less), with more draws and heavy keys, and at the last level exactly.
        GroupRows todo = g;
        std::vector<float> qsave(s.Q);
        Budget bud;
        bud.draws = p.samples;
        bud.heavy = default_budget(p, Nk);
        // Passes: the first budget, up to two refinements (reported as level 1), then exact.
        constexpr int kRefinePasses = 2;
        for (int pass = 0; todo.R > 0; ++pass) {
            const int level = pass == 0 ? 0 : pass <= kRefinePasses ? 1 : 2;
            RowResult res[8];
            bud.level = level;
            bud.pass = pass;
            solve_group(ci, hi, todo, bud, s, res);
            // The standard error falls as 1/sqrt(draws): ask for as many as the worst failing
            // row needs, with a margin, and twice the heavy keys (a far range that many draws
            // would cover is then computed exactly by solve_group itself).
            double worst = 0.0;
            for (int r = 0; r < todo.R; ++r)
                if (!(double(res[r].err) <= p.target)) worst = std::max(worst, double(res[r].err));
            const double grow = std::isfinite(worst) ? 1.3 * (worst / p.target) * (worst / p.target) : 1e30;
            bud.draws = int64_t(std::min(1e15, std::ceil(double(std::max<int64_t>(bud.draws, 16)) * grow)));
            bud.heavy *= 2;
            GroupRows again;
            std::vector<float> qnext(size_t(8 * ci.Dp), 0.f);
            for (int r = 0; r < todo.R; ++r) {
                if (p.target > 0.0 && level < 2 && !(double(res[r].err) <= p.target)) {
                    const int a = again.R++;
                    again.head[a] = todo.head[r];
                    again.row[a] = todo.row[r];
                    again.pos[a] = todo.pos[r];
                    std::copy(qsave.begin() + r * ci.Dp, qsave.begin() + (r + 1) * ci.Dp,
                              qnext.begin() + a * ci.Dp);
                    continue;
                }
                store_row(p, hi.b, todo.head[r], todo.row[r], D, s.O.data() + r * ci.Dp, res[r].lse);
                const int64_t si = stat_index(hi.b, todo.head[r], todo.row[r]);
                if (p.row_error) p.row_error[si] = res[r].err;
                if (p.tail_bound) p.tail_bound[si] = res[r].tail ? 1.f : 0.f;
                if (p.touched) p.touched[si] = res[r].touched;
                if (p.level) p.level[si] = level;
            }
            todo = again;
            qsave = qnext;
            s.Q = qnext;
        }
    });
    (void)rows_total;
    return st;
}

}  // namespace ha::cpu::approx
