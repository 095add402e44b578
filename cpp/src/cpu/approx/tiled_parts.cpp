// The parts of a set of rows of the tiled prefill — the local window with the sinks and long
// keys, the row's bucket, the two halves of the tail — each one call of the exact kernel, the
// heavy keys the parts may miss, and their merge into the output and the error estimate; the
// outputs.
#include <cmath>

#include "cpu/approx/row_io.h"
#include "cpu/approx/sketch.h"
#include "cpu/approx/tiled_state.h"
#include "cpu/prefetch.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx::tiled {
namespace {

// A view of rows of D elements, ld apart (B = H = 1).
View rows_view(const Ctx& c, const void* d, int64_t rows, int64_t ld) {
    View w{};
    w.data = const_cast<void*>(d);
    w.shape[0] = w.shape[1] = 1;
    w.shape[2] = rows;
    w.shape[3] = c.D;
    w.strides[0] = w.strides[1] = rows * ld;
    w.strides[2] = ld;
    w.strides[3] = 1;
    return w;
}

// One exact-attention call: rows of Q against keys [0, n) of K/V, row m seeing
// [ranges[2m], ranges[2m+1]); writes fp32 outputs (Da columns: the output, then Σ p ||v||²)
// and the natural-log lse. weighted: K's extra floats are the keys' log-weights (the draws).
// head: row m also sees keys [0, head[m]) of the head region [0, head_end). ranges2 (not
// causal): row m also sees [ranges2[2m], ranges2[2m+1]). packed: K/V as pack_keys left them.
int32_t call_part(const Ctx& c, const Store& Q, int64_t M, const Store& K, const Store& V,
                  int64_t n, const int64_t* ranges, const int64_t* ranges2, float* O, float* lse,
                  bool weighted = false, const int64_t* head = nullptr, int64_t head_end = 0,
                  const PackedKV* packed = nullptr) {
    bool any = false;
    for (int64_t m = 0; m < M && !any; ++m)
        any = ranges[size_t(2 * m + 1)] > ranges[size_t(2 * m)] || (head && head[m] > 0) ||
              (ranges2 && ranges2[size_t(2 * m + 1)] > ranges2[size_t(2 * m)]);
    if (!any || n == 0) {
        std::fill(O, O + M * c.Da, 0.f);
        std::fill(lse, lse + M, kNegInf);
        return HA_OK;
    }
    ExactProblem e{};
    e.dtype = c.p->base.dtype;
    e.q = rows_view(c, Q.data(), M, c.D);
    e.k = rows_view(c, K.data(), n, c.D);
    e.v = rows_view(c, V.data(), n, c.D);
    e.out = rows_view(c, O, M, c.Da);
    e.lse = lse;
    e.lse_strides[0] = e.lse_strides[1] = M;
    e.lse_strides[2] = 1;
    e.scale = c.p->base.scale;
    e.causal = false;
    e.row_range = ranges;
    e.row_range2 = ranges2;
    e.out_f32 = true;
    e.key_bias = weighted ? K.extra.data() : nullptr;
    e.key_sum = V.extra.data();
    e.row_sum = O + c.D;
    e.row_sum_stride = c.Da;
    e.row_head = head;
    e.head_end = head ? head_end : 0;
    e.packed = packed;
    return exact_forward(e);
}

// Asks for the cache lines of a row about to be read at a scattered place, kAhead rows early.
constexpr int64_t kAhead = 8;
inline void prefetch_row(const void* x, int64_t bytes) {
    const char* p = static_cast<const char*>(x);
    for (int64_t o = 0; o < bytes; o += 64) HA_PREFETCH_L1(p + o);
    HA_PREFETCH_L1(p + bytes - 1);
}

// acc <- acc ⊕ (o, l): two normalised outputs with their log-sum-exps, merged.
void merge_into(float* acc, float& accl, const float* o, float l, int64_t Da) {
    if (l == kNegInf) return;
    if (std::isnan(l) || std::isnan(accl)) {
        std::fill(acc, acc + Da, NAN);
        accl = NAN;
        return;
    }
    if (accl == kNegInf) {
        std::copy(o, o + Da, acc);
        accl = l;
        return;
    }
    const double m = std::max(accl, l), wa = std::exp(double(accl) - m), wb = std::exp(double(l) - m);
    const double z = wa + wb, ca = wa / z, cb = wb / z;
    for (int64_t d = 0; d < Da; ++d) acc[d] = float(ca * acc[d] + cb * o[d]);
    accl = float(m + std::log(z));
}

void load_rows_q(const Ctx& c, const Head& h, const std::vector<Row>& rows, Store& Q) {
    const int64_t M = int64_t(rows.size());
    Q.init(c.es, c.D, M, c.f16);
    constexpr int64_t kChunk = 2048;
    parallel_for((M + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        std::vector<float> x(size_t(c.Dp));
        for (int64_t m = t * kChunk; m < std::min(M, (t + 1) * kChunk); ++m) {
            const Row& r = rows[size_t(m)];
            load_query(*c.p, h.b, h.hk * c.G + r.g, r.i, c.D, x.data());
            Q.put(m, x.data(), c.D, 0.f);
        }
    });
}

// ---- heavy keys the parts may have missed ---------------------------------------------------------
// A key outside a row's exact parts that carries a noticeable share of the row's mass is
// sampled with probability r only: when it is missed, both halves agree and the estimate
// cannot see the error. Such keys are looked for through the sketches: a key is a candidate
// when its score could reach kHeavyShare of the row's estimated denominator (its norm times
// the row's, times the cosine of the sketch angle less a noise margin); candidates are scored
// exactly, and those that do reach it join the row's exact part (and leave its sample).
constexpr int kMargin = 6;  // sketch noise: ~1.5 standard deviations of the Hamming distance near 90°
constexpr int kProbeKeys = 64;
constexpr int64_t kCandidates = 32;  // keys a row's scan admits, about

struct Heavy {
    int64_t row;  // index into the rows of the solve
    int32_t key;
    float score;  // natural-log units
};

// The search's cost in keys of an exact call (what the plan prices it at). A candidate is
// gathered, scored 8 rows at a time and filtered in scalar code: about 4 keys of the tiled
// exact kernel; a sketch compare (8 bytes, a popcount, per row) about 0.6. (Measured on the
// Zen 5 VM, diffuse 32k d = 64 heads, where the sketches admit ~3000 candidates a row: the
// search took 630 ms, 4.3x what one key each would have cost.)
constexpr double kCandidateKey = 4.0, kScanKey = 0.6;

// rows[first..last) (position order), each with its estimated log-denominator L[row] and its
// tail's span (cut, rcut: solve); each row's search work (in those units) is added to work[row].
void find_heavy(const Ctx& c, const Head& h, const std::vector<Row>& rows, const int64_t* idx, int64_t n,
                const BigVec<double>& L, const BigVec<int64_t>& cut, const BigVec<int64_t>& rcut,
                std::vector<Heavy>& out, float* work) {
    float up_tab[kSketchBits + 1];
    for (int t = 0; t <= kSketchBits; ++t)
        up_tab[t] = float(std::cos(M_PI * std::max(0, t - kMargin) / kSketchBits));
    std::vector<float> Q(size_t(8 * c.Dp));
    std::vector<float> dots(size_t(8 * kSketchBits));
    std::vector<int32_t> hits;
    constexpr int kScoreChunk = 256;
    std::vector<float> S(size_t(8 * kScoreChunk));
    const hsr::RowSrc planes{h.planes.data(), c.Dp, 1, false};
    for (int64_t g0 = 0; g0 < n; g0 += 8) {
        const int R = int(std::min<int64_t>(8, n - g0));
        std::fill(Q.begin(), Q.end(), 0.f);
        int64_t hi = 0;
        for (int r = 0; r < R; ++r) {
            const Row& w = rows[size_t(idx[g0 + r])];
            load_query(*c.p, h.b, h.hk * c.G + w.g, w.i, c.D, Q.data() + r * c.Dp);
            const int64_t t = idx[g0 + r];
            hi = std::max(hi, rcut[size_t(t)] < c.Nk ? c.Nk : cut[size_t(t)] + 1);
        }
        c.kr->scores(R, Q.data(), c.Dp, c.D, planes, nullptr, 0, kSketchBits, dots.data(), kSketchBits);
        uint64_t qs[8];
        uint8_t own[8];
        for (int r = 0; r < R; ++r) own[r] = rows[size_t(idx[g0 + r])].bucket;
        int thr[8 * kNormClasses];
        double T[8], rel[8];
        bool any = false;
        for (int r = 0; r < R; ++r) {
            qs[r] = 0;
            for (int t = 0; t < kSketchBits; ++t)
                if (dots[size_t(r * kSketchBits + t)] > 0.f) qs[r] |= uint64_t(1) << t;
            const double cq = double(c.p->base.scale) * std::sqrt(c.kr->sumsq(Q.data() + r * c.Dp, c.Dp));
            T[r] = L[size_t(idx[g0 + r])] + std::log(kHeavyShare);
            rel[r] = T[r];
            // The bound that about kCandidates of the row's tail keys exceed, from a strided
            // probe of them: the scan then admits about that many (the relevance cut T is
            // far looser than the bounds of typical keys wherever scores spread little).
            const int64_t ct = cut[size_t(idx[g0 + r])], rc = rcut[size_t(idx[g0 + r])];
            const int64_t own = rows[size_t(idx[g0 + r])].bucket;
            const int64_t left = std::max<int64_t>(0, ct - c.S + 1), span = left + (c.Nk - rc);
            if (span > 0 && std::isfinite(T[r])) {
                int32_t probe[kProbeKeys];
                int hs[kProbeKeys];
                float sup[kProbeKeys];
                int np = 0;
                for (int i = 0; i < kProbeKeys; ++i) {
                    const int64_t x = int64_t((double(i) + 0.5) * double(span) / kProbeKeys);
                    const int64_t j = x < left ? c.S + x : rc + (x - left);
                    const uint8_t kb = h.kbucket[size_t(j)];
                    if (kb != 0xff && kb != own) probe[np++] = int32_t(j);
                }
                hamming_list(qs[r], h.ksk.data(), probe, size_t(np), hs);
                for (int i = 0; i < np; ++i) sup[i] = float(cq * h.knorm[size_t(probe[i])] * up_tab[hs[i]]);
                const int64_t allowed = std::min<int64_t>(np - 1, kCandidates * np / span);
                if (np > 0 && allowed < np - 1) {
                    std::nth_element(sup, sup + (np - 1 - allowed), sup + np);
                    T[r] = std::max(T[r], double(sup[np - 1 - allowed]));
                }
            }
            for (int k = 0; k < kNormClasses; ++k) {
                const double top = cq * class_norm(k, h.kmax);
                int t = -1;
                if (span > 0 && std::isfinite(T[r]))
                    while (t < kSketchBits && top * up_tab[t + 1] >= T[r]) ++t;
                thr[r * kNormClasses + k] = t;
                any |= t >= 0;
            }
        }
        if (!any) continue;
        int scans = 0;
        for (;;) {  // at most 4096 candidates a group: past that, tighter thresholds
            hits.clear();
            ++scans;
            if (sketch_scan(h.ksk.data(), h.kcls.data(), c.S, hi, qs, thr, R, hits, 4096, h.kbucket.data(), own))
                break;
            for (int i = 0; i < R * kNormClasses; ++i) thr[i] -= 2;
        }
        for (int r = 0; r < R; ++r)
            work[idx[g0 + r]] += float(kCandidateKey * double(hits.size()) + kScanKey * double(scans) * double(hi - c.S) / R);
        for (size_t a = 0; a < hits.size(); a += kScoreChunk) {
            const int n = int(std::min<size_t>(kScoreChunk, hits.size() - a));
            c.kr->scores(R, Q.data(), c.Dp, c.D, h.k, hits.data() + a, 0, n, S.data(), kScoreChunk);
            for (int r = 0; r < R; ++r) {
                const int64_t t = idx[g0 + r], ct = cut[size_t(t)], rc = rcut[size_t(t)], own = rows[size_t(t)].bucket;
                for (int i = 0; i < n; ++i) {
                    const int32_t j = hits[a + size_t(i)];
                    const uint8_t kb = h.kbucket[size_t(j)];
                    if ((j > ct && j < rc) || kb == 0xff || kb == own) continue;  // not in this row's tail
                    const float sc = c.p->base.scale * S[size_t(r * kScoreChunk + i)];
                    if (double(sc) >= rel[r]) out.push_back(Heavy{t, j, sc});
                }
            }
        }
    }
}

}  // namespace

int32_t pack_keys(const Ctx& c, const Store& K, const Store& V, int64_t n, PackedKV& out) {
    if (n == 0) return HA_OK;
    ExactProblem e{};
    e.dtype = c.p->base.dtype;
    e.q = rows_view(c, K.data(), 1, c.D);
    e.k = rows_view(c, K.data(), n, c.D);
    e.v = rows_view(c, V.data(), n, c.D);
    e.out = e.q;
    e.scale = c.p->base.scale;
    return exact_pack(e, out);
}

// rows sorted by position. Every row of the set must be sampled() or exact by construction.
int32_t solve(const Ctx& c, Head& h, const std::vector<Row>& rows, Results& res, const Parts* pre) {
    const int64_t M = int64_t(rows.size()), Da = c.Da, D = c.D;
    res.O.assign(size_t(M * Da), 0.f);
    res.lse.assign(size_t(M), kNegInf);
    res.err.assign(size_t(M), 0.f);
    res.touched.assign(size_t(M), 0);
    res.drawn.assign(size_t(M), 0);
    res.heavy.assign(size_t(M), 0);
    res.tail.assign(size_t(M), 0);
    res.search.assign(size_t(M), 0.f);
    const bool keep_parts = c.p->target > 0.0 && !pre;
    if (keep_parts) {
        res.part_O.resize(size_t(M * Da));
        res.part_lse.resize(size_t(M));
        res.part_touched.resize(size_t(M));
    }
    Work& w = h.work;  // buffers kept between calls: a fresh one per call costs page faults
    auto& cut = w.cut;
    auto& rcut = w.rcut;
    auto& rg = w.rg;
    auto& rg2 = w.rg2;
    auto& tmp = w.tmp;
    auto& tl = w.tl;
    cut.assign(size_t(M), 0);
    rcut.assign(size_t(M), c.Nk);
    rg.assign(size_t(2 * M), 0);
    rg2.assign(size_t(2 * M), 0);
    tmp.resize(size_t(M * Da));
    tl.resize(size_t(M));
    // Row m's keys in a part: [a, b) and [a2, b2) of its rows (the second only when not causal).
    auto add = [&](int64_t m, int64_t a, int64_t b, int64_t a2 = 0, int64_t b2 = 0) {
        rg[size_t(2 * m)] = a;
        rg[size_t(2 * m + 1)] = b;
        rg2[size_t(2 * m)] = a2;
        rg2[size_t(2 * m + 1)] = b2;
        res.touched[size_t(m)] += std::max<int64_t>(0, b - a) + std::max<int64_t>(0, b2 - a2);
    };
    const int64_t* second = c.causal ? nullptr : rg2.data();
    // The row has keys for the bucket and tail parts: [S, cut] and [rcut, Nk).
    auto far = [&](int64_t t) { return cut[size_t(t)] >= c.S || rcut[size_t(t)] < c.Nk; };
    Store& Q = w.Q;
    load_rows_q(c, h, rows, Q);

    // One call: the local window (everything visible, for a row that is not sampled) and,
    // from the head of K/V, the sinks and long keys outside it: those before it as the head,
    // those after it (not causal) as the second range. (A window that reaches the sinks holds
    // them.)
    auto& lo = w.lo;
    auto& hd = w.hd;
    lo.assign(size_t(M), 0);
    hd.assign(size_t(M), 0);
    const int64_t nl = int64_t(h.lpos.size());
    for (int64_t m = 0; m < M; ++m) {
        const int64_t pos = rows[size_t(m)].p;
        const bool smp = sampled(c, h, pos);
        lo[size_t(m)] = smp ? win_lo(c, pos) : 0;
        const int64_t hi = smp ? win_hi(c, pos) : visible(c, pos);
        cut[size_t(m)] = smp ? lo[size_t(m)] - 1 : -1;  // keys in [sinks, cut] and [rcut, Nk)
        rcut[size_t(m)] = smp && !c.causal ? hi : c.Nk;  // go to the other parts
        const Split l = split_at(h.lpos.data(), nl, cut[size_t(m)], rcut[size_t(m)], c.Nk);
        hd[size_t(m)] = smp ? l.k1 : 0;
        add(m, h.lp + lo[size_t(m)], h.lp + hi, smp ? l.k2 : 0, smp ? l.kend : 0);
        res.touched[size_t(m)] += hd[size_t(m)];
    }
    if (pre) {
        std::copy(pre->O, pre->O + M * Da, res.O.begin());
        std::copy(pre->lse, pre->lse + M, res.lse.begin());
    } else if (int32_t st = call_part(c, Q, M, h.K, h.V, h.lp + c.Nk, rg.data(), second, res.O.data(), res.lse.data(), false,
                                      hd.data(), h.lp, &h.PK);
               st != HA_OK) {
        return st;
    }
    auto merge_tmp = [&](const int64_t* map) {
        constexpr int64_t kChunk = 2048;
        parallel_for((M + kChunk - 1) / kChunk, pool_threads(), [&](int64_t k, int) {
            const int64_t end = std::min(M, (k + 1) * kChunk);
            for (int64_t m = k * kChunk; m < end; ++m) {
                const int64_t t = map ? map[m] : m;
                // Rows by bucket land at scattered places: fetch a few rows ahead.
                if (map && m + kAhead < end) prefetch_row(&res.O[size_t(map[m + kAhead] * Da)], Da * 4);
                merge_into(&res.O[size_t(t * Da)], res.lse[size_t(t)], &tmp[size_t(m * Da)], tl[size_t(m)], Da);
            }
        });
    };

    // Rows by bucket (stable: by position within one) for the bucket and tail parts.
    // (A counting sort: buckets are bytes, and it keeps position order within one.)
    auto& order = w.order;
    order.resize(size_t(M));
    {
        int64_t start[257] = {};
        for (int64_t m = 0; m < M; ++m) ++start[size_t(rows[size_t(m)].bucket) + 1];
        for (int k = 0; k < 256; ++k) start[k + 1] += start[k];
        for (int64_t m = 0; m < M; ++m) order[size_t(start[rows[size_t(m)].bucket]++)] = m;
    }
    bool any_far = false;
    for (int64_t m = 0; m < M; ++m) any_far |= far(m);
    if (!any_far) {
        if (pre) std::copy(pre->touched, pre->touched + M, res.touched.begin());
        return HA_OK;
    }
    // The same rows in bucket order: copied from Q (the same bits as loading them again).
    Store& Qp = w.Qp;
    Qp.init(c.es, c.D, M, c.f16);
    {
        constexpr int64_t kChunk = 2048;
        parallel_for((M + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
            const int64_t end = std::min(M, (t + 1) * kChunk);
            for (int64_t m = t * kChunk; m < end; ++m) {
                if (m + kAhead < end) prefetch_row(Q.buf.data() + order[size_t(m + kAhead)] * Q.Dw * Q.es, Q.Dw * Q.es);
                Qp.copy_from(m, Q, order[size_t(m)]);
            }
        });
    }
    for (int64_t m = 0; m < M; ++m) {
        const int64_t t = order[size_t(m)], b = rows[size_t(t)].bucket;
        const int64_t a = h.bstart[size_t(b)], n = h.bstart[size_t(b + 1)] - a;
        const Split sp = split_at(h.bpos.data() + a, n, cut[size_t(t)], rcut[size_t(t)], c.Nk);
        rg[size_t(2 * m)] = a;
        rg[size_t(2 * m + 1)] = a + sp.k1;
        rg2[size_t(2 * m)] = a + sp.k2;
        rg2[size_t(2 * m + 1)] = a + sp.kend;
        res.touched[size_t(t)] += sp.count();
    }
    if (pre) {
        std::copy(pre->touched, pre->touched + M, res.touched.begin());
    } else {
        if (int32_t st = call_part(c, Qp, M, h.KB, h.VB, int64_t(h.bpos.size()), rg.data(), second, tmp.data(), tl.data(), false,
                                   nullptr, 0, &h.PKB);
            st != HA_OK)
            return st;
        merge_tmp(order.data());
    }

    // The two halves of the tail: the draws of the row's set (its bucket's, or set C) up to
    // its cut, rows by bucket.
    auto& ta = w.ta;
    auto& tal = w.tal;
    auto& na = w.na;
    auto& nb = w.nb;
    ta.resize(size_t(M * Da));
    tal.resize(size_t(M));
    na.assign(size_t(M), 0);
    nb.assign(size_t(M), 0);
    for (int hf = 0; hf < 2; ++hf) {
        auto& cnt = hf == 0 ? na : nb;
        for (int64_t m = 0; m < M; ++m) {
            const int64_t t = order[size_t(m)], s = rows[size_t(t)].bucket;
            const int64_t a = h.tstart[size_t(2 * s + hf)], n = h.tstart[size_t(2 * s + hf + 1)] - a;
            const Split sp = split_at(h.tpos.data() + a, n, cut[size_t(t)], rcut[size_t(t)], c.Nk);
            rg[size_t(2 * m)] = a;
            rg[size_t(2 * m + 1)] = a + sp.k1;
            rg2[size_t(2 * m)] = a + sp.k2;
            rg2[size_t(2 * m + 1)] = a + sp.kend;
            cnt[size_t(t)] = sp.count();
        }
        if (int32_t st = call_part(c, Qp, M, h.KT, h.VT, int64_t(h.tpos.size()), rg.data(), second, hf == 0 ? ta.data() : tmp.data(),
                                   hf == 0 ? tal.data() : tl.data(), true, nullptr, 0, &h.PKT);
            st != HA_OK)
            return st;
    }

    // Each sampled row's estimated log-denominator, then its heavy keys (in position order of
    // the rows, so the list is the same for any thread count).
    auto& pos_of = w.pos_of;  // row -> its place in the bucket order
    pos_of.resize(size_t(M));
    for (int64_t m = 0; m < M; ++m) pos_of[size_t(order[size_t(m)])] = m;
    auto& L = w.L;
    L.assign(size_t(M), -std::numeric_limits<double>::infinity());
    {
        constexpr int64_t kChunk = 4096;
        parallel_for((M + kChunk - 1) / kChunk, pool_threads(), [&](int64_t k, int) {
            for (int64_t t = k * kChunk; t < std::min(M, (k + 1) * kChunk); ++t) {
                if (!far(t)) continue;
                const int64_t m = pos_of[size_t(t)];
                const double ref = std::max({double(res.lse[size_t(t)]), double(tal[size_t(m)]), double(tl[size_t(m)])});
                if (!std::isfinite(ref)) continue;
                const double z = std::exp(double(res.lse[size_t(t)]) - ref) + std::exp(double(tal[size_t(m)]) - ref) +
                                 std::exp(double(tl[size_t(m)]) - ref);
                L[size_t(t)] = ref + std::log(z);
            }
        });
    }
    std::vector<Heavy> heavy;
    std::vector<int64_t> look;  // the rows searched: all (the probes asked), or the long queries
    for (int64_t t = 0; t < M; ++t)
        if (far(t) && (h.search || rows[size_t(t)].long_q)) look.push_back(t);
    if (!look.empty()) {
        constexpr int64_t kSpan = 256;  // rows per task
        const int64_t nl2 = int64_t(look.size()), tasks = (nl2 + kSpan - 1) / kSpan;
        std::vector<std::vector<Heavy>> found(static_cast<size_t>(tasks));
        int32_t st = parallel_for(tasks, pool_threads(), [&](int64_t k, int) {
            find_heavy(c, h, rows, look.data() + k * kSpan, std::min(nl2 - k * kSpan, kSpan), L, cut, rcut, found[size_t(k)],
                       res.search.data());
        });
        if (st != HA_OK) return st;
        for (auto& f : found) heavy.insert(heavy.end(), f.begin(), f.end());
        std::sort(heavy.begin(), heavy.end(), [](const Heavy& x, const Heavy& y) {
            return x.row != y.row ? x.row < y.row : x.key < y.key;
        });
    }

    // Merge, in sums relative to the row's estimated denominator: the exact parts and the heavy
    // keys, plus both halves of the sample at weight 1/r (a heavy key drawn into a half leaves
    // it: it is counted exactly). Each half alone at weight 2/r is an independent estimate; the
    // two differ by about twice the standard error of their mean.
    const int64_t nlong = nl;
    constexpr int64_t kMergeChunk = 1024;
    int32_t mst = parallel_for((M + kMergeChunk - 1) / kMergeChunk, pool_threads(), [&](int64_t task, int) {
    std::vector<double> NE(static_cast<size_t>(Da)), NA(static_cast<size_t>(Da)), NB(static_cast<size_t>(Da));
    std::vector<float> vrow(static_cast<size_t>(Da)), stash(static_cast<size_t>(Da));
    // A row that misses the target keeps its exact parts for the second solve.
    auto keep = [&](int64_t t, float parts_lse, int64_t parts_touched) {
        if (!keep_parts || double(res.err[size_t(t)]) <= c.p->target) return;
        std::copy(stash.begin(), stash.end(), &res.part_O[size_t(t * Da)]);
        res.part_lse[size_t(t)] = parts_lse;
        res.part_touched[size_t(t)] = parts_touched;
    };
    const int64_t t0 = task * kMergeChunk;
    size_t hv = size_t(std::lower_bound(heavy.begin(), heavy.end(), t0,
                                        [](const Heavy& x, int64_t r) { return x.row < r; }) - heavy.begin());
    const int64_t t1 = std::min(M, t0 + kMergeChunk);
    for (int64_t t = t0; t < t1; ++t) {
        const int64_t m = pos_of[size_t(t)];
        const int64_t ct = cut[size_t(t)], rc = rcut[size_t(t)];
        if (t + kAhead < t1) {  // the halves' rows, by bucket, are at scattered places
            const int64_t ma = pos_of[size_t(t + kAhead)];
            prefetch_row(&ta[size_t(ma * Da)], Da * 4);
            prefetch_row(&tmp[size_t(ma * Da)], Da * 4);
        }
        const size_t hv0 = hv;
        while (hv < heavy.size() && heavy[hv].row == t) ++hv;
        if (!far(t)) continue;
        const int64_t b = rows[size_t(t)].bucket;
        const int64_t in_tail = (ct + 1) + (c.Nk - rc) - split_at(h.lpos.data(), nlong, ct, rc, c.Nk).count() -
                                split_at(h.bpos.data() + h.bstart[size_t(b)], h.bstart[size_t(b + 1)] - h.bstart[size_t(b)],
                                         ct, rc, c.Nk).count();
        const int64_t parts_touched = res.touched[size_t(t)];
        res.touched[size_t(t)] += na[size_t(t)] + nb[size_t(t)] + int64_t(hv - hv0);
        res.heavy[size_t(t)] = hv > hv0;
        res.drawn[size_t(t)] = na[size_t(t)] + nb[size_t(t)];
        if (in_tail <= 0) continue;
        res.tail[size_t(t)] = 1;
        float* acc = &res.O[size_t(t * Da)];
        const float parts_lse = res.lse[size_t(t)];
        if (keep_parts) std::copy(acc, acc + Da, stash.begin());
        const double ref = L[size_t(t)];
        if (!std::isfinite(ref)) {  // NaN scores: the row is NaN
            const float la = tal[size_t(m)], lb = tl[size_t(m)];
            merge_into(acc, res.lse[size_t(t)], &ta[size_t(m * Da)], la, Da);
            merge_into(acc, res.lse[size_t(t)], &tmp[size_t(m * Da)], lb, Da);
            res.err[size_t(t)] = std::numeric_limits<float>::infinity();
            keep(t, parts_lse, parts_touched);
            continue;
        }
        auto load = [&](std::vector<double>& N, const float* o, double l) {
            const double z = std::exp(l - ref);
            for (int64_t d = 0; d < Da; ++d) N[size_t(d)] = z * double(o[d]);
            return z;
        };
        double ZE = load(NE, acc, res.lse[size_t(t)]);
        double ZA = load(NA, &ta[size_t(m * Da)], tal[size_t(m)]);
        double ZB = load(NB, &tmp[size_t(m * Da)], tl[size_t(m)]);
        for (size_t k = hv0; k < hv; ++k) {
            const int32_t j = heavy[k].key;
            const double x = std::exp(double(heavy[k].score) - ref);
            const char* src = h.V.buf.data() + (h.lp + j) * D * c.es;
            for (int64_t d = 0; d < D; ++d)
                vrow[size_t(d)] = c.es == 2 ? (c.f16 ? ha::f16_bits_to_f32(reinterpret_cast<const uint16_t*>(src)[d])
                                                     : hsr::bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(src)[d]))
                                            : reinterpret_cast<const float*>(src)[d];
            vrow[size_t(D)] = h.V.extra[size_t(h.lp + j)];
            double wt = 0;
            const int half = draw_half(h, b, j, &wt);
            const double xw = x * wt;  // what the draw added to its half
            for (int64_t d = 0; d < Da; ++d) {
                NE[size_t(d)] += x * vrow[size_t(d)];
                if (half == 0) NA[size_t(d)] -= xw * vrow[size_t(d)];
                if (half == 1) NB[size_t(d)] -= xw * vrow[size_t(d)];
            }
            ZE += x;
            if (half == 0) ZA = std::max(0.0, ZA - xw);
            if (half == 1) ZB = std::max(0.0, ZB - xw);
        }
        // The halves' sums carry the draws' weights 1/pi: together they estimate the tail,
        // each alone (doubled) too.
        const double Z = ZE + ZA + ZB, Za = ZE + 2 * ZA, Zb = ZE + 2 * ZB;
        const double iz = 1.0 / Z, iza = 1.0 / Za, izb = 1.0 / Zb;
        double d2 = 0;
        const double *ne = NE.data(), *na_ = NA.data(), *nb_ = NB.data();
        for (int64_t d = 0; d < D; ++d) {
            acc[d] = float((ne[d] + na_[d] + nb_[d]) * iz);
            const double x = (ne[d] + 2 * na_[d]) * iza - (ne[d] + 2 * nb_[d]) * izb;
            d2 += x * x;
        }
        acc[D] = float((ne[D] + na_[D] + nb_[D]) * iz);
        res.lse[size_t(t)] = float(ref + std::log(Z));
        const double r2 = acc[D];
        float e;
        if (na[size_t(t)] == 0 || nb[size_t(t)] == 0)
            e = std::numeric_limits<float>::infinity();  // one half saw nothing: no spread to read
        else
            e = r2 > 0 ? float(std::sqrt(d2 / r2)) : (d2 > 0 ? std::numeric_limits<float>::infinity() : 0.f);
        res.err[size_t(t)] = e;
        keep(t, parts_lse, parts_touched);
    }
    });
    if (mst != HA_OK) return mst;
    return HA_OK;
}

// ---- outputs ---------------------------------------------------------------------------------------

void write_rows(const Ctx& c, const Head& h, const std::vector<Row>& rows, const Results& r, int level) {
    const Problem& p = *c.p;
    const int64_t Hq = p.base.q.shape[1];
    constexpr size_t kChunk = 2048;
    parallel_for(int64_t((rows.size() + kChunk - 1) / kChunk), pool_threads(), [&](int64_t k, int) {
        for (size_t m = size_t(k) * kChunk; m < std::min(rows.size(), size_t(k + 1) * kChunk); ++m) {
            const Row& w = rows[m];
            const int64_t hq = h.hk * c.G + w.g;
            store_row(p, h.b, hq, w.i, c.D, &r.O[m * size_t(c.Da)], r.lse[m]);
            const int64_t si = (h.b * Hq + hq) * c.Nq + w.i;
            if (p.row_error) p.row_error[si] = r.err[m];
            if (p.tail_bound) p.tail_bound[si] = r.tail[m] ? 1.f : 0.f;
            if (p.touched) p.touched[si] = r.touched[m];
            if (p.level) p.level[si] = level;
        }
    });
}

// Rows computed exactly over every visible key (level 2).
int32_t exact_list(const Ctx& c, Head& h, const std::vector<Row>& rows) {
    if (rows.empty()) return HA_OK;
    const int64_t M = int64_t(rows.size());
    Store Q;
    load_rows_q(c, h, rows, Q);
    std::vector<int64_t> rg(size_t(2 * M));
    Results r;
    r.O.assign(size_t(M * c.Da), 0.f);
    r.lse.assign(size_t(M), kNegInf);
    r.err.assign(size_t(M), 0.f);
    r.touched.assign(size_t(M), 0);
    r.drawn.assign(size_t(M), 0);
    r.tail.assign(size_t(M), 0);
    for (int64_t m = 0; m < M; ++m) {
        rg[size_t(2 * m)] = h.lp;
        rg[size_t(2 * m + 1)] = h.lp + visible(c, rows[size_t(m)].p);
        r.touched[size_t(m)] = visible(c, rows[size_t(m)].p);
    }
    if (int32_t st = call_part(c, Q, M, h.K, h.V, h.lp + c.Nk, rg.data(), nullptr, r.O.data(), r.lse.data(), false, nullptr, 0, &h.PK);
        st != HA_OK)
        return st;
    write_rows(c, h, rows, r, 2);
    return HA_OK;
}


}  // namespace ha::cpu::approx::tiled
