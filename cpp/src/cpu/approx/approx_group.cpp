// The estimator of one group of rows. Reading order: the key sets (sinks, window, far range),
// the exact accumulation, heavy-key candidates from the sketches, the sampled tail, and the
// ratio estimate with its delta-method standard error.
#include "cpu/approx/approx_group.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cpu/approx/sketch.h"
#include "cpu/hyper/hyper_random.h"

namespace ha::cpu::approx {
namespace {

constexpr int kChunk = 256;  // keys per scores/P·V call (P·V takes at most 1024)
// The reported estimate in standard errors of the ratio estimator: the error of a row is a
// norm over head_dim coordinates, so it concentrates near one standard error; 2 leaves room
// for the standard error's own sampling noise (1.5 let 1% of rows exceed a 0.05 target on
// the llm family, 2 none).
constexpr double kErrorScale = 2.0;
constexpr int kPilot = 256;  // strided probe of the far range that sets the sketch thresholds

// Online-softmax state of the exact part, per row, in log2 units (as the HSR kernels use):
// the output is O / Z with scores x = c·q·k, all relative to the running max m.
struct ExactAcc {
    float m[8], Z[8], Sv[8];  // Sv: Σ 2^(x-m)·||v||², for the RMS norm the error is relative to
    float alpha[8], bsum[8];
    int64_t touched[8];
};

// The far keys: [a1, b1) and [a2, b2) (the second only when not causal), visible to every row
// of the group and outside the sinks and the window.
struct FarRange {
    int64_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
    int64_t size() const { return (b1 - a1) + (b2 - a2); }
    int64_t at(int64_t t) const { return t < b1 - a1 ? a1 + t : a2 + (t - (b1 - a1)); }
};

// ||v_j||² for n keys (positions pos[j], or first + j).
void value_norms(const CallInputs& ci, const HeadInputs& hi, const int32_t* pos, int64_t first,
                 int n, Scratch& s, float* out) {
    if (hi.vnorm2) {
        for (int j = 0; j < n; ++j) out[j] = hi.vnorm2[pos ? pos[j] : first + j];
        return;
    }
    s.row.resize(size_t(ci.Dp));
    for (int j = 0; j < n; ++j) {
        ci.kr->load_rows(hi.v, pos ? pos + j : nullptr, pos ? 0 : first + j, 1, ci.D, ci.Dp,
                         s.row.data());
        out[j] = float(ci.kr->sumsq(s.row.data(), ci.Dp));
    }
}

// Adds keys (a range, or a position list) to the exact part. With mask, a key after a row's
// own position is invisible to that row (causal rows of one group sit at different positions).
void exact_keys(const CallInputs& ci, const HeadInputs& hi, const GroupRows& g, Scratch& s,
                ExactAcc& acc, const int32_t* pos, int64_t first, int64_t n, bool mask,
                int r0 = 0, int nr = -1) {
    const int R = nr < 0 ? g.R - r0 : nr;
    float* S = s.S.data();
    float* P = s.P.data();
    float* vn = s.svn.data();
    const float* Q = s.Q.data() + r0 * ci.Dp;
    float* O = s.O.data() + r0 * ci.Dp;
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int m = int(std::min<int64_t>(kChunk, n - j0));
        const int32_t* pp = pos ? pos + j0 : nullptr;
        const int64_t f0 = first + j0;
        ci.kr->scores(R, Q, ci.Dp, ci.D, hi.k, pp, f0, m, S, kChunk);
        for (int r = 0; r < R; ++r) {
            if (!mask) {
                acc.touched[r0 + r] += m;
                continue;
            }
            float* sr = S + r * kChunk;
            int64_t seen = 0;
            for (int j = 0; j < m; ++j) {
                const int64_t kp = pp ? pp[j] : f0 + j;
                if (kp > g.pos[r0 + r])
                    sr[j] = -INFINITY;
                else
                    ++seen;
            }
            acc.touched[r0 + r] += seen;
        }
        ci.kr->softmax_weights(R, S, kChunk, m, ci.c, acc.m + r0, acc.alpha + r0, acc.bsum + r0,
                               P, kChunk);
        ci.kr->pv(R, P, kChunk, m, hi.v, pp, f0, ci.D, acc.alpha + r0, O, ci.Dp);
        value_norms(ci, hi, pp, f0, m, s, vn);
        for (int r = 0; r < R; ++r) {
            double sv = 0.0;
            for (int j = 0; j < m; ++j) sv += double(P[r * kChunk + j]) * vn[j];
            const int q = r0 + r;
            acc.Z[q] = acc.Z[q] * acc.alpha[q] + acc.bsum[q];
            acc.Sv[q] = float(acc.Sv[q] * acc.alpha[q] + sv);
        }
    }
}

// The sketch of a query row: its dot products with the 64 hyperplanes, as one scores call.
uint64_t query_sketch(const CallInputs& ci, const float* q, Scratch& s) {
    const hsr::RowSrc planes{ci.planes, ci.Dp, 1, false};
    float dots[kSketchBits];
    ci.kr->scores(1, q, ci.Dp, ci.Dp, planes, nullptr, 0, kSketchBits, dots, kSketchBits);
    uint64_t out = 0;
    for (int t = 0; t < kSketchBits; ++t)
        if (dots[t] > 0.f) out |= uint64_t(1) << t;
    return out;
}

// Heavy-key candidates among the far keys, shared by the rows of the group (scored for all of
// them at once, which keeps the kernels at their widest):
//  1. per row, a Hamming threshold: the tighter of (a) what admits about 8x the row's share
//     of the budget on a strided probe of the far range, and (b) relevance with the longest
//     key: a key can only matter to the sampled estimate if one draw of it, standing for nF/m
//     keys, would carry a noticeable share of the row's mass; its score is at most
//     c·||q||·kmax·cos(θ), and θ is at least the sketch angle minus a noise margin;
//  2. one scan over the sketches for the whole group;
//  3. the relevance test again with each hit's own norm, then the best `budget` hits by
//     estimated score ||q||·||k||·cos(π h / 64), best over the rows (the Hamming distance
//     alone would rank a long key, a needle, like any other).
// The candidates are scored exactly; whatever the sketches miss stays in the sampled tail,
// whose estimator is unbiased over every non-candidate far key.
// log2_total: each row's estimated log2 denominator (exact part plus the draws).
void find_heavy(const CallInputs& ci, const HeadInputs& hi, const GroupRows& g,
                const FarRange& far, int64_t budget, int64_t m, const double* log2_total,
                Scratch& s) {
    constexpr double kShare = 0.1;   // one draw may carry this share of the row's mass
    constexpr int kMargin = 8;       // sketch noise: ~2 standard deviations of h near θ = π/2
    std::vector<int32_t>& hits = s.heavy;
    hits.clear();
    s.cand.clear();
    const int R = g.R;
    const int64_t nF = far.size();
    const int64_t per_row = std::max<int64_t>(1, budget / R);
    const int np = int(std::min<int64_t>(kPilot, nF));
    int32_t probe[kPilot];
    int hs[kPilot];
    float cos_tab[kSketchBits + 1], up_tab[kSketchBits + 1];
    for (int h = 0; h <= kSketchBits; ++h) {
        cos_tab[h] = float(std::cos(M_PI * h / kSketchBits));
        up_tab[h] = float(std::cos(M_PI * std::max(0, h - kMargin) / kSketchBits));
    }
    for (int i = 0; i < np; ++i) probe[i] = int32_t(far.at(int64_t((double(i) + 0.5) * double(nF) / np)));
    uint64_t qs[8];
    int thr[8 * kNormClasses];
    double cq[8], cut[8];
    bool any_row = false;
    float sup[kPilot];
    for (int r = 0; r < R; ++r) {
        const float* q = s.Q.data() + r * ci.Dp;
        qs[r] = query_sketch(ci, q, s);
        double qn = 0.0;
        for (int64_t d = 0; d < ci.D; ++d) qn += double(q[d]) * q[d];
        cq[r] = double(ci.c) * std::sqrt(qn);  // log2 units per unit of ||k||·cos
        // (a) budget: the score bound that about 8x the row's share of the probe exceeds.
        hamming_list(qs[r], hi.sketch, probe, size_t(np), hs);
        for (int i = 0; i < np; ++i) sup[i] = float(cq[r] * hi.knorm[probe[i]] * up_tab[hs[i]]);
        const int64_t allowed = std::min<int64_t>(np - 1, 8 * per_row * np / nF);
        std::nth_element(sup, sup + (np - 1 - allowed), sup + np);
        double c = sup[np - 1 - allowed];
        if (allowed == 0) c = std::nextafter(c, double(INFINITY));
        // (b) relevance: what one draw standing for nF/m keys may carry.
        if (std::isfinite(log2_total[r]) && m > 0)
            c = std::max(c, log2_total[r] + std::log2(kShare * double(m) / double(nF)));
        cut[r] = c;
        // Per norm class, the largest Hamming distance whose bound still reaches the cut.
        for (int k = 0; k < kNormClasses; ++k) {
            const double top = cq[r] * class_norm(k, hi.kmax);
            int t = -1;
            while (t < kSketchBits && top * up_tab[t + 1] >= c) ++t;
            thr[r * kNormClasses + k] = t;
            any_row |= t >= 0;
        }
    }
    if (!any_row) return;
    const size_t cap = size_t(64 * budget);
    for (;;) {
        hits.clear();
        if (sketch_scan(hi.sketch, hi.ncls, far.a1, far.b1, qs, thr, R, hits, cap) &&
            sketch_scan(hi.sketch, hi.ncls, far.a2, far.b2, qs, thr, R, hits, cap))
            break;
        for (int i = 0; i < R * kNormClasses; ++i) thr[i] -= 2;
    }
    // Relevance with each hit's own norm, and its best estimated score over the rows.
    float cqf[8], cutf[8];
    for (int r = 0; r < R; ++r) {
        cqf[r] = float(cq[r]);
        cutf[r] = float(cut[r]);
    }
    s.rank.resize(hits.size());
    rank_hits(hi.sketch, hi.knorm, hits.data(), hits.size(), qs, cqf, cutf, R, up_tab, cos_tab,
              s.rank.data());
    size_t kept = 0;
    for (size_t i = 0; i < hits.size(); ++i)
        if (s.rank[i] > -INFINITY) {
            hits[kept] = hits[i];
            s.rank[kept++] = s.rank[i];
        }
    hits.resize(kept);
    s.cand.clear();
    if (int64_t(kept) > budget) {  // the best `budget` by estimated score, in cache order
        s.cut.assign(s.rank.begin(), s.rank.begin() + kept);
        std::nth_element(s.cut.begin(), s.cut.begin() + (kept - budget), s.cut.end());
        const float cutoff = s.cut[size_t(kept - budget)];
        int64_t above = 0;
        for (size_t i = 0; i < kept; ++i) above += s.rank[i] > cutoff;
        int64_t ties = budget - above;
        size_t o = 0;
        for (size_t i = 0; i < kept; ++i) {
            if (s.rank[i] > cutoff || (s.rank[i] == cutoff && ties-- > 0))
                hits[o++] = hits[i];
            else
                s.cand.push_back(hits[i]);
        }
        hits.resize(o);
    }
}

// Scores of the rows Q ([R][Dp]) against rows `pos[0..n)` of src, times mul, into
// out[r * ld + j].
void draw_scores(const CallInputs& ci, const float* Q, int R, const hsr::RowSrc& src,
                 const int32_t* pos, int64_t n, float mul, Scratch& s, float* out, int64_t ld) {
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int c = int(std::min<int64_t>(kChunk, n - j0));
        ci.kr->scores(R, Q, ci.Dp, ci.D, src, pos + j0, 0, c, s.S.data(), kChunk);
        for (int r = 0; r < R; ++r)
            for (int j = 0; j < c; ++j) out[r * ld + j0 + j] = s.S[r * kChunk + j] * mul;
    }
}

// m stratified-uniform draws from the list `from` (size n, ascending): one per stratum of n/m
// entries, at the offset u in [0, 1) shared by all strata.
void stratified_draws(const int32_t* from, int64_t n, int64_t m, double u, std::vector<int32_t>& out) {
    out.resize(size_t(m));
    for (int64_t t = 0; t < m; ++t)
        out[size_t(t)] = from[std::min<int64_t>(n - 1, int64_t((double(t) + u) * double(n) / double(m)))];
}

}  // namespace

int64_t default_budget(const Problem& p, int64_t Nk) {
    return p.heavy_budget > 0 ? p.heavy_budget : std::max<int64_t>(128, Nk / 256);
}

void solve_group(const CallInputs& ci, const HeadInputs& hi, const GroupRows& g,
                 const Budget& bud, Scratch& s, RowResult* res) {
    const int level = bud.level;
    const Problem& p = *ci.p;
    const int R = g.R;
    const int64_t Dp = ci.Dp, Nk = ci.Nk;
    s.O.assign(size_t(8 * Dp), 0.f);
    s.OT.assign(size_t(8 * Dp), 0.f);
    s.S.resize(size_t(8 * kChunk));
    s.P.resize(size_t(8 * kChunk));
    s.svn.resize(size_t(kChunk));
    ExactAcc acc;
    for (int r = 0; r < R; ++r) {
        acc.m[r] = -INFINITY;
        acc.Z[r] = 0.f;
        acc.Sv[r] = 0.f;
        acc.touched[r] = 0;
    }

    // Key sets. Causal: row r sees keys j <= pos[r]; the far keys lie before the window of
    // the group's first row, so every row sees all of them.
    const bool causal = p.base.causal;
    int64_t pmin = g.pos[0], pmax = g.pos[0];
    for (int r = 1; r < R; ++r) {
        pmin = std::min(pmin, g.pos[r]);
        pmax = std::max(pmax, g.pos[r]);
    }
    const int64_t end = causal ? pmax + 1 : Nk;  // keys any row of the group may see
    const int64_t sink_end = std::min(p.sinks, end);
    int64_t wlo, whi;
    if (causal) {
        wlo = std::max(sink_end, pmin - p.window + 1);
        whi = end;
    } else {
        wlo = std::max(sink_end, pmin - p.window / 2);
        whi = std::max(wlo, std::min(Nk, pmax + p.window / 2 + 1));
    }
    FarRange far;
    far.a1 = sink_end;
    far.b1 = std::max(sink_end, wlo);
    if (!causal) {
        far.a2 = whi;
        far.b2 = Nk;
    }
    const int64_t nF = far.size();

    exact_keys(ci, hi, g, s, acc, nullptr, 0, sink_end, causal);
    exact_keys(ci, hi, g, s, acc, nullptr, wlo, whi - wlo, causal);

    const int64_t m = std::min<int64_t>(nF, bud.draws);
    const int64_t budget = bud.heavy;
    // A far range not much larger than what sampling would touch is cheaper done exactly.
    const bool far_exact = level >= 2 || nF <= 2 * m;
    const bool tail = nF > 0 && !far_exact;

    if (nF > 0 && far_exact) {
        exact_keys(ci, hi, g, s, acc, nullptr, far.a1, far.b1 - far.a1, false);
        exact_keys(ci, hi, g, s, acc, nullptr, far.a2, far.b2 - far.a2, false);
    }
    // The sampled tail, in two strata.
    //  B, the far range: m draws, one from each of m equal slices of it (so the sample follows
    //    the position structure of the cache), each standing for nF/m keys. They are scored
    //    first: their sum tells how much mass the tail holds, which decides which far keys are
    //    worth a closer look (find_heavy).
    //  C, the candidates find_heavy found beyond its budget: enumerated when few, else sampled
    //    on their own (mc draws, each standing for nC/mc keys). Keys that look alike to the
    //    sketches (a cluster around the query) are then sampled densely among themselves
    //    instead of sparsely among all far keys, where each would stand for nF/m keys.
    // Draws of B that are heavy or candidate keys weigh 0 (another part covers them), so the
    // estimate is unbiased over every far key.
    float M[8], mb[8], mcx[8];
    for (int r = 0; r < R; ++r) {
        M[r] = acc.m[r];
        mb[r] = -INFINITY;
        mcx[r] = -INFINITY;
    }
    const int64_t mpad = (m + 15) / 16 * 16;
    std::vector<float>& SB = s.buf;   // [R][mpad] B's draw scores (log2 units), then weights
    std::vector<float>& SC = s.cbuf;  // [R][mcpad] C's
    int64_t mc = 0, mcpad = 0, nC = 0;
    float wC = 0.f;
    if (tail) {
        hyper::Stream rng{0x617070726f78ull, p.seed, uint64_t(hi.b), uint64_t(hi.hk),
                          uint64_t(g.head[0]), uint64_t(g.row[0]), uint64_t(bud.pass)};
        const double u = rng.unit() - 0x1p-53;  // [0, 1)
        s.spos.resize(size_t(m));
        for (int64_t t = 0; t < m; ++t)
            s.spos[size_t(t)] = int32_t(far.at(std::min<int64_t>(
                nF - 1, int64_t((double(t) + u) * double(nF) / double(m)))));
        SB.assign(size_t(R * mpad), -INFINITY);
        draw_scores(ci, s.Q.data(), R, hi.k, s.spos.data(), m, ci.c, s, SB.data(), mpad);
        // Each row's draws relative to their own max (one vector exp), and the row's estimated
        // log2 denominator from the exact part plus the draws.
        double l2tot[8] = {};
        const double wB = double(nF) / double(m);
        for (int r = 0; r < R; ++r) {
            float* x = SB.data() + r * mpad;
            float mx = -INFINITY;
            for (int64_t j = 0; j < m; ++j) mx = std::max(mx, x[j]);
            mb[r] = mx;
            if (mx == -INFINITY) {
                std::fill(x, x + mpad, 0.f);
            } else {
                for (int64_t j = 0; j < m; ++j) x[j] -= mx;
                ci.kr->exp2v(x, x, m);
            }
            double z = 0.0;
            for (int64_t j = 0; j < m; ++j) z += x[j];
            const double ze = acc.Z[r], zt = wB * z;
            const double top = std::max(double(acc.m[r]), double(mx));
            const double tot = (ze > 0.0 ? ze * std::exp2(acc.m[r] - top) : 0.0) +
                               (zt > 0.0 ? zt * std::exp2(mx - top) : 0.0);
            l2tot[r] = tot > 0.0 ? top + std::log2(tot) : -INFINITY;
        }
        find_heavy(ci, hi, g, far, budget, m, l2tot, s);
        exact_keys(ci, hi, g, s, acc, s.heavy.data(), 0, int64_t(s.heavy.size()), false);
        nC = int64_t(s.cand.size());
        const int64_t mc_max = std::max<int64_t>(2, m / 2);
        if (nC > 0 && nC <= 2 * mc_max) {
            exact_keys(ci, hi, g, s, acc, s.cand.data(), 0, nC, false);
        } else if (nC > 0) {
            mc = mc_max;
            mcpad = (mc + 15) / 16 * 16;
            wC = float(double(nC) / double(mc));
            hyper::Stream crng{0x63616e64ull, p.seed, uint64_t(hi.b), uint64_t(hi.hk),
                               uint64_t(g.head[0]), uint64_t(g.row[0]), uint64_t(bud.pass)};
            stratified_draws(s.cand.data(), nC, mc, crng.unit() - 0x1p-53, s.cpos);
            SC.assign(size_t(R * mcpad), -INFINITY);
            draw_scores(ci, s.Q.data(), R, hi.k, s.cpos.data(), mc, ci.c, s, SC.data(), mcpad);
            for (int r = 0; r < R; ++r)
                for (int64_t j = 0; j < mc; ++j) mcx[r] = std::max(mcx[r], SC[size_t(r * mcpad + j)]);
        }
        // B's draws that another part covers weigh 0 (all three lists ascend: merge walks).
        for (const std::vector<int32_t>* ex : {&s.heavy, &s.cand}) {
            size_t h = 0;
            for (int64_t j = 0; j < m && h < ex->size(); ++j) {
                while (h < ex->size() && (*ex)[h] < s.spos[size_t(j)]) ++h;
                if (h < ex->size() && (*ex)[h] == s.spos[size_t(j)])
                    for (int r = 0; r < R; ++r) SB[size_t(r * mpad + j)] = 0.f;
            }
        }
        // One frame for every part: the largest of the exact max and the draws' maxima.
        for (int r = 0; r < R; ++r) {
            const float mx = std::max(acc.m[r], std::max(mb[r], mcx[r]));
            M[r] = mx;
            const float f = acc.m[r] == -INFINITY ? 0.f : std::exp2(acc.m[r] - mx);
            if (f != 1.f) {
                for (int64_t d = 0; d < Dp; ++d) s.O[size_t(r * Dp + d)] *= f;
                acc.Z[r] *= f;
                acc.Sv[r] *= f;
            }
            const float fb = mb[r] == -INFINITY ? 0.f : float(wB) * std::exp2(mb[r] - mx);
            float* x = SB.data() + r * mpad;
            for (int64_t j = 0; j < m; ++j) x[j] *= fb;
            std::fill(x + m, x + mpad, 0.f);
            if (mc > 0) {
                float* y = SC.data() + r * mcpad;
                if (mx == -INFINITY) {
                    std::fill(y, y + mcpad, 0.f);
                } else {
                    for (int64_t j = 0; j < mc; ++j) y[j] -= mx;
                    ci.kr->exp2v(y, y, mc);
                    for (int64_t j = 0; j < mc; ++j) y[j] *= wC;
                    std::fill(y + mc, y + mcpad, 0.f);
                }
            }
        }
    }
    // The sampled strata's P·V sums, weight sums and Σ p·||v||²: OT/Zt/Svt for B, OC/Zc/Svc
    // for C.
    float Zt[8] = {}, Svt[8] = {}, Zc[8] = {}, Svc[8] = {};
    s.OC.assign(size_t(8 * Dp), 0.f);
    auto sampled_part = [&](const std::vector<float>& X, int64_t n, int64_t ld,
                            const std::vector<int32_t>& pos, std::vector<float>& vn,
                            float* OT, float* Zs, float* Svs) {
        vn.resize(size_t(n));
        value_norms(ci, hi, pos.data(), 0, int(n), s, vn.data());
        for (int64_t j0 = 0; j0 < n; j0 += 1024) {
            const int c = int(std::min<int64_t>(1024, n - j0));
            ci.kr->pv(R, X.data() + j0, ld, c, hi.v, pos.data() + j0, 0, ci.D, nullptr, OT, Dp);
        }
        for (int r = 0; r < R; ++r) {
            double z = 0.0, sv = 0.0;
            for (int64_t j = 0; j < n; ++j) {
                const double pj = X[size_t(r * ld + j)];
                z += pj;
                sv += pj * vn[size_t(j)];
            }
            Zs[r] = float(z);
            Svs[r] = float(sv);
        }
    };
    if (tail && m > 0) sampled_part(SB, m, mpad, s.spos, s.vnb, s.OT.data(), Zt, Svt);
    if (mc > 0) sampled_part(SC, mc, mcpad, s.cpos, s.vnc, s.OC.data(), Zc, Svc);

    // Ratio estimate o = (O + OT + OC) / (Z + Zt + Zc); normalised rows go back into s.O.
    float Zh[8];
    for (int r = 0; r < R; ++r) {
        Zh[r] = acc.Z[r] + Zt[r] + Zc[r];
        float* o = s.O.data() + r * Dp;
        const float* ot = s.OT.data() + r * Dp;
        const float* oc = s.OC.data() + r * Dp;
        const float inv = Zh[r] > 0.f ? 1.f / Zh[r] : 0.f;
        for (int64_t d = 0; d < Dp; ++d) o[d] = (o[d] + ot[d] + oc[d]) * inv;
        res[r].lse = Zh[r] > 0.f ? float((double(M[r]) + std::log2(double(Zh[r]))) * 0.6931471805599453)
                                 : -INFINITY;
        // Draws may repeat a key: what a row touched never exceeds the keys it sees.
        const int64_t visible = ci.p->base.causal ? std::min<int64_t>(ci.Nk, g.pos[r] + 1) : ci.Nk;
        res[r].touched = std::min<int64_t>(visible, acc.touched[r] + (tail ? m + mc : 0));
        res[r].err = 0.f;
        res[r].tail = tail;
    }
    if (!tail) return;
    if (m < 2) {  // no sample variance to speak of: the tail is unknown
        for (int r = 0; r < R; ++r) res[r].err = INFINITY;
        return;
    }

    // Delta method for the ratio, per stratum: with y_k = x_k·(v_k - o) (x_k the draw's weight
    // in the frame, 0 for a covered draw), o - o_true ≈ Σ y / Z, and a stratum of n draws adds
    // (n·Σ||y_k||² - ||Σ y_k||²) / (n - 1) to Z²·Var. ||y_k||² = x_k²(||v_k||² - 2 v_k·o +
    // ||o||²), and v_k·o is one more scores call with the output rows as queries; Σ y_k is
    // that stratum's P·V sum less o times its weight sum.
    double var[8] = {};
    auto stratum_variance = [&](const std::vector<float>& X, int64_t n, int64_t ld,
                                const std::vector<int32_t>& pos, const std::vector<float>& vn,
                                const float* OT, const float* Zs) {
        s.vo.assign(size_t(R * ld), 0.f);
        draw_scores(ci, s.O.data(), R, hi.v, pos.data(), n, 1.f, s, s.vo.data(), ld);
        for (int r = 0; r < R; ++r) {
            const float* o = s.O.data() + r * Dp;
            const float* ot = OT + r * Dp;
            double on2 = 0.0, ub2 = 0.0;
            for (int64_t d = 0; d < ci.D; ++d) {
                on2 += double(o[d]) * o[d];
                const double ub = double(ot[d]) - double(o[d]) * Zs[r];
                ub2 += ub * ub;
            }
            double sy2 = 0.0;
            for (int64_t j = 0; j < n; ++j) {
                const double x = X[size_t(r * ld + j)];
                sy2 += x * x * (double(vn[size_t(j)]) - 2.0 * s.vo[size_t(r * ld + j)] + on2);
            }
            var[r] += std::max(0.0, double(n) * sy2 - ub2) / double(n - 1);
        }
    };
    stratum_variance(SB, m, mpad, s.spos, s.vnb, s.OT.data(), Zt);
    if (mc > 0) stratum_variance(SC, mc, mcpad, s.cpos, s.vnc, s.OC.data(), Zc);
    for (int r = 0; r < R; ++r) {
        const double v = var[r] / (double(Zh[r]) * double(Zh[r]));
        const double rms2 = (double(acc.Sv[r]) + Svt[r] + Svc[r]) / double(Zh[r]);
        res[r].err = rms2 > 0.0 ? float(kErrorScale * std::sqrt(v / rms2)) : 0.f;
    }
}

}  // namespace ha::cpu::approx
