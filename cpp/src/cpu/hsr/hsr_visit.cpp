// Visiting (see hsr_visit.h). Decoding is memory-bound and a visited block is a gather of
// scattered rows, so most of what is here beyond the kernels is prefetching.
#include "tensor_check.h"
#include "cpu/hsr/hsr_visit.h"

#include "cpu/prefetch.h"

#include <algorithm>
#include <cmath>

#include "cpu/hsr/numerics.h"

namespace ha::cpu::hsr::detail {
namespace {

void prefetch_item(const RowSrc& s, const Item& it, int64_t D) {
    if (!it.pos || s.col != 1) return;  // cache order: the hardware prefetcher follows
    const int64_t es = s.elem_bytes(), bytes = D * es;
    const char* base = static_cast<const char*>(s.data);
    for (int j = 0; j < it.n; ++j) {
        const char* r = base + int64_t(it.pos[j]) * s.row * es;
        for (int64_t o = 0; o < bytes; o += 64) HA_PREFETCH_L2(r + o);
    }
}

// Where an item's key rows are read: a sealed block from the index's copy (one contiguous
// run), anything else in place.
struct KeyRows {
    RowSrc src;
    const int32_t* pos;
    int64_t first;
};
KeyRows key_rows(const Context& cx, const HeadIndex& h, const RowSrc& ks, const Item& it) {
    if (it.block >= 0 && !h.keys.empty())
        return KeyRows{RowSrc{h.keys.data(), cx.D, 1, ks.bf16, ks.f16}, nullptr, it.slot0};
    return KeyRows{ks, it.pos, it.first};
}

// Requests an item's copied key rows into L2 ahead of use (crossing into the next block
// defeats the hardware prefetcher's ramp-up).
void prefetch_copied(const Context& cx, const HeadIndex& h, const Item& it) {
    if (it.block < 0 || h.keys.empty()) return;
    const int64_t rb = cx.D * ha::dtype_size(cx.query.k.dtype);
    const char* p = reinterpret_cast<const char*>(h.keys.data()) + it.slot0 * rb;
    for (int64_t o = 0; o < int64_t(it.n) * rb; o += 64) HA_PREFETCH_L2(p + o);
}

// Requests into L1 the value rows of an item's keys that carry weight in some row.
void prefetch_weighted(const RowSrc& v, const Item& it, int R, const float* P, int64_t ldp,
                       int64_t D) {
    if (!it.pos) return;  // cache order: the hardware prefetcher follows
    const int64_t es = v.elem_bytes(), bytes = (v.col == 1 ? D : (D - 1) * v.col + 1) * es;
    const char* base = static_cast<const char*>(v.data);
    for (int j = 0; j < it.n; ++j) {
        bool any = false;
        for (int r = 0; r < R && !any; ++r) any = P[r * ldp + j] != 0.f;
        if (!any) continue;
        const char* row = base + int64_t(it.pos[j]) * v.row * es;
        for (int64_t o = 0; o < bytes; o += 64) HA_PREFETCH_L1(row + o);
    }
}

// -inf for the keys at or past a row's causal limit (by cache position).
void mask_causal(const Unit& u, const Item& it, float* S, int64_t lds) {
    for (int r = 0; r < u.R; ++r)
        for (int j = 0; j < it.n; ++j) {
            const int64_t p = it.pos ? int64_t(it.pos[j]) : it.first + j;
            if (p >= u.rows[r].key_limit) S[r * lds + j] = -INFINITY;
        }
}

float item_maxnorm(const HeadIndex& h, const Item& it) {
    if (it.block >= 0) return h.maxnorm[size_t(it.block)];
    float m = 0.f;
    for (int j = 0; j < it.n; ++j) m = std::max(m, h.knorm[size_t(it.slot0 + j)]);
    return m;
}

// Adds to p.lists the keys of the item with q·k >= threshold: decided from the float score
// when it is further from the threshold than its error bound, otherwise in exact arithmetic.
void report_item(const Context& cx, const Unit& u, const HeadIndex& h, const Item& it,
                 const float* S, Scratch& w, Partial& p) {
    const RowSrc ks = cx.ksrc(u.batch, u.kv_head);
    const double t = cx.query.threshold;
    const int64_t lds = cx.score_stride;
    for (int r = 0; r < u.R; ++r) {
        if (!(it.rows >> r & 1u)) continue;  // its bound is below the threshold: none reported
        bool q_ready = false;
        // q·k_j >= t in exact arithmetic, from the stored values.
        auto exact_in = [&](int j) {
            if (!q_ready) {
                for (int64_t d = 0; d < cx.D; ++d) w.qd[size_t(d)] = u.q[size_t(r * cx.Dp + d)];
                q_ready = true;
            }
            if (it.pos)
                cx.kern.load_rows(ks, it.pos + j, 0, 1, cx.D, cx.Dp, w.krow.data());
            else
                cx.kern.load_rows(ks, nullptr, it.first + j, 1, cx.D, cx.Dp, w.krow.data());
            for (int64_t d = 0; d < cx.D; ++d) w.kd[size_t(d)] = w.krow[size_t(d)];
            return dot_at_least(w.qd.data(), w.kd.data(), cx.D, t);
        };
        for (int j = 0; j < it.n; ++j) {
            const float s = S[r * lds + j];
            const int64_t slot = it.slot0 + j;
            const double margin = cx.dot_rel_err * double(u.rows[r].q_norm) *
                                      double(h.knorm[size_t(slot)]) +
                                  double(cx.dot_abs_err);
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

// b^e by squaring: the ReLU rescale of merged partials, (x_old/x_new)^α.
inline float spow(float b, int32_t e) {
    float r = 1.f;
    while (e > 0) {
        if (e & 1) r *= b;
        e >>= 1;
        if (e) b *= b;
    }
    return r;
}

}  // namespace

void visit(const Context& cx, const Unit& u, const Item* items, int64_t n, Partial& p, Scratch& w) {
    const int R = u.R;
    const Query& q = cx.query;
    const int64_t lds = cx.score_stride;  // of S, P and each item's slice of Pq
    const HeadIndex& h = cx.head(u);
    const RowSrc ks = cx.ksrc(u.batch, u.kv_head);
    const RowSrc vs = q.mode == Mode::Report ? RowSrc{} : cx.vsrc(u.batch, u.kv_head);
    p.out.assign(size_t(R * cx.Dp), 0.f);
    for (int r = 0; r < R; ++r) {
        p.max_x[r] = -INFINITY;
        p.weight_sum[r] = 0.f;
        p.weight_sum_d[r] = 0.0;
        p.relu_top[r] = 0.f;
    }
    p.max_knorm = 0.f;
    if (q.mode == Mode::Report) p.lists.assign(size_t(R), {});
    float* S = w.S.data();
    float* P = w.P.data();
    const bool softmax = q.mode == Mode::Softmax;
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
            cx.kern.scores(R, u.q.data(), cx.Dp, cx.D, kr.src, kr.pos, kr.first, it.n, S, lds);
        } else {
            // Only the rows whose bound reaches the threshold, in runs of consecutive rows.
            for (int r = 0; r < R;) {
                if (!(need >> r & 1u)) {
                    std::fill(S + r * lds, S + r * lds + it.n, -INFINITY);
                    ++r;
                    continue;
                }
                int e = r + 1;
                while (e < R && (need >> e & 1u)) ++e;
                cx.kern.scores(e - r, u.q.data() + r * cx.Dp, cx.Dp, cx.D, kr.src, kr.pos,
                               kr.first, it.n, S + r * lds, lds);
                r = e;
            }
        }
        if (q.causal) mask_causal(u, it, S, lds);
        switch (q.mode) {
            case Mode::Report:
                report_item(cx, u, h, it, S, w, p);
                break;
            case Mode::Relu: {
                // Few keys carry weight and their value rows are scattered: request them now
                // and add them to O after the task's last scores (below).
                float bsum[kMaxRows];
                float* Pt = w.Pq.data() + t * kMaxRows * lds;
                cx.kern.relu_weights(R, S, lds, it.n, q.scale, q.bias, q.power, p.relu_top,
                                     relu_resc[t], bsum, Pt, lds);
                for (int r = 0; r < R; ++r)
                    p.weight_sum[r] = p.weight_sum[r] * relu_resc[t][r] + bsum[r];
                prefetch_weighted(vs, it, R, Pt, lds, cx.D);
                break;
            }
            case Mode::Softmax: {
                float alpha[kMaxRows], bsum[kMaxRows], m_old[kMaxRows];
                std::copy(p.max_x, p.max_x + R, m_old);
                cx.kern.softmax_weights(R, S, lds, it.n, cx.log2_scale, p.max_x, alpha, bsum, P, lds);
                cx.kern.pv(R, P, lds, it.n, vs, it.pos, it.first, cx.D, alpha, p.out.data(), cx.Dp);
                for (int r = 0; r < R; ++r) {
                    const double ad = m_old[r] == -INFINITY
                                          ? 0.0
                                          : std::exp2(double(m_old[r]) - double(p.max_x[r]));
                    p.weight_sum_d[r] = p.weight_sum_d[r] * ad + double(bsum[r]);
                    p.weight_sum[r] = p.weight_sum[r] * alpha[r] + bsum[r];
                }
                p.max_knorm = std::max(p.max_knorm, item_maxnorm(h, it));
                break;
            }
        }
    }
    if (q.mode == Mode::Relu)
        for (int64_t t = 0; t < n; ++t)  // in item order: O = O·resc_t + P_t·V_t
            cx.kern.pv(R, w.Pq.data() + t * kMaxRows * lds, lds, items[t].n, vs, items[t].pos,
                       items[t].first, cx.D, relu_resc[t], p.out.data(), cx.Dp);
}

void merge(const Context& cx, Unit& u, Partial* parts, int64_t n) {
    const int R = u.R;
    const int64_t Dp = cx.Dp;
    for (int64_t c = 0; c < n; ++c) {
        Partial& p = parts[c];
        for (int r = 0; r < R; ++r) {
            UnitRow& row = u.rows[r];
            float* O = u.out.data() + r * Dp;
            const float* Oc = p.out.data() + r * Dp;
            float a, b;
            if (cx.query.mode == Mode::Softmax) {
                const float M = std::max(row.max_x, p.max_x[r]);
                if (M == -INFINITY) continue;
                a = row.max_x == -INFINITY ? 0.f : std::exp2(row.max_x - M);
                b = p.max_x[r] == -INFINITY ? 0.f : std::exp2(p.max_x[r] - M);
                const double ad = row.max_x == -INFINITY ? 0.0 : std::exp2(double(row.max_x) - M);
                const double bd = p.max_x[r] == -INFINITY ? 0.0 : std::exp2(double(p.max_x[r]) - M);
                row.weight_sum_d = row.weight_sum_d * ad + p.weight_sum_d[r] * bd;
                row.max_x = M;
            } else if (cx.query.mode == Mode::Relu) {
                const float X = std::max(row.relu_top, p.relu_top[r]);
                if (X == 0.f) continue;
                const int32_t pw = cx.query.power;
                a = row.relu_top == 0.f ? 0.f : spow(std::min(row.relu_top / X, 1.f), pw);
                b = p.relu_top[r] == 0.f ? 0.f : spow(std::min(p.relu_top[r] / X, 1.f), pw);
                row.relu_top = X;
            } else {
                auto& l = u.lists[size_t(r)];
                l.insert(l.end(), p.lists[size_t(r)].begin(), p.lists[size_t(r)].end());
                continue;
            }
            row.weight_sum = row.weight_sum * a + p.weight_sum[r] * b;
            for (int64_t d = 0; d < Dp; ++d) O[d] = O[d] * a + Oc[d] * b;
        }
        u.visited_max_knorm = std::max(u.visited_max_knorm, p.max_knorm);
    }
}

}  // namespace ha::cpu::hsr::detail
