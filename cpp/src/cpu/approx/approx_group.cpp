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
                ExactAcc& acc, const int32_t* pos, int64_t first, int64_t n, bool mask) {
    const int R = g.R;
    float* S = s.S.data();
    float* P = s.P.data();
    float* vn = s.svn.data();
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int m = int(std::min<int64_t>(kChunk, n - j0));
        const int32_t* pp = pos ? pos + j0 : nullptr;
        const int64_t f0 = first + j0;
        ci.kr->scores(R, s.Q.data(), ci.Dp, ci.D, hi.k, pp, f0, m, S, kChunk);
        for (int r = 0; r < R; ++r) {
            if (!mask) {
                acc.touched[r] += m;
                continue;
            }
            float* sr = S + r * kChunk;
            int64_t seen = 0;
            for (int j = 0; j < m; ++j) {
                const int64_t kp = pp ? pp[j] : f0 + j;
                if (kp > g.pos[r])
                    sr[j] = -INFINITY;
                else
                    ++seen;
            }
            acc.touched[r] += seen;
        }
        ci.kr->softmax_weights(R, S, kChunk, m, ci.c, acc.m, acc.alpha, acc.bsum, P, kChunk);
        ci.kr->pv(R, P, kChunk, m, hi.v, pp, f0, ci.D, acc.alpha, s.O.data(), ci.Dp);
        value_norms(ci, hi, pp, f0, m, s, vn);
        for (int r = 0; r < R; ++r) {
            double sv = 0.0;
            for (int j = 0; j < m; ++j) sv += double(P[r * kChunk + j]) * vn[j];
            acc.Z[r] = acc.Z[r] * acc.alpha[r] + acc.bsum[r];
            acc.Sv[r] = float(acc.Sv[r] * acc.alpha[r] + sv);
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

// Heavy-key candidates among the far keys. Per row, a Hamming threshold that is the tighter
// of two: (1) budget — a strided probe of the far range sets it so that about budget/R keys
// pass; (2) relevance — a key can only matter to the sampled estimate if one draw of it,
// standing for nF/m keys, would carry a noticeable share of the exact part's mass; its score is
// at most c·||q||·kmax·cos(θ), and θ is at least the sketch angle minus a noise margin. Then
// one scan over the sketches. The candidates are scored exactly; whatever the sketches miss
// stays in the sampled tail, whose estimator is unbiased over every non-candidate far key.
// log2_total: the row's estimated log2 denominator (exact part plus the draws).
void find_heavy(const CallInputs& ci, const HeadInputs& hi, const GroupRows& g,
                const FarRange& far, int64_t budget, int64_t m, const double* log2_total,
                Scratch& s) {
    constexpr double kShare = 0.1;   // one draw may carry this share of the exact mass
    constexpr int kMargin = 8;       // sketch noise: ~2 standard deviations of h near θ = π/2
    s.heavy.clear();
    const int R = g.R;
    const int64_t nF = far.size();
    const int64_t per_row = std::max<int64_t>(1, budget / R);
    const int np = int(std::min<int64_t>(kPilot, nF));
    uint64_t qs[8];
    int thr[8];
    int64_t probe[kPilot];
    int hs[kPilot];
    for (int i = 0; i < np; ++i) probe[i] = far.at(int64_t((double(i) + 0.5) * double(nF) / np));
    for (int r = 0; r < R; ++r) {
        const float* q = s.Q.data() + r * ci.Dp;
        qs[r] = query_sketch(ci, q, s);
        // (1) budget: the smallest h whose probe count exceeds the allowance, minus one.
        hamming_many(qs[r], hi.sketch, probe, np, hs);
        int count[kSketchBits + 2] = {0};
        for (int i = 0; i < np; ++i) ++count[hs[i]];
        const int64_t allowed = per_row * np / nF;
        int t_budget = -1;
        for (int64_t c = 0; t_budget < kSketchBits && c + count[t_budget + 1] <= allowed;)
            c += count[++t_budget];
        // (2) relevance, in log2 units like the accumulators.
        double qn = 0.0;
        for (int64_t d = 0; d < ci.D; ++d) qn += double(q[d]) * q[d];
        const double top = double(ci.c) * std::sqrt(qn) * hi.kmax;  // largest possible score
        int t_rel = kSketchBits;
        if (std::isfinite(log2_total[r]) && top > 0.0 && m > 0) {
            const double tau = log2_total[r] + std::log2(kShare * double(m) / double(nF));
            const double gamma = tau / top;
            if (gamma > 1.0)
                t_rel = -1;
            else if (gamma > -1.0)
                t_rel = std::min(kSketchBits, int(std::acos(gamma) * (kSketchBits / M_PI)) + kMargin);
        }
        thr[r] = std::min(t_budget, t_rel);
    }
    // Keep the `budget` candidates that clear their row's threshold by the most bits. The scan
    // collects up to 8x that; past it, every threshold is tightened by a bit and it runs again.
    const size_t cap = size_t(8 * budget);
    for (;;) {
        s.heavy.clear();
        if (sketch_scan(hi.sketch, far.a1, far.b1, qs, thr, R, s.heavy, cap) &&
            sketch_scan(hi.sketch, far.a2, far.b2, qs, thr, R, s.heavy, cap))
            break;
        for (int r = 0; r < R; ++r) --thr[r];
    }
    if (s.heavy.size() > size_t(budget)) {
        std::vector<std::pair<int, int32_t>> ranked(s.heavy.size());
        for (size_t i = 0; i < s.heavy.size(); ++i) {
            int best = -1000;
            for (int r = 0; r < R; ++r)
                best = std::max(best, thr[r] - __builtin_popcountll(qs[r] ^ hi.sketch[s.heavy[i]]));
            ranked[i] = {-best, s.heavy[i]};
        }
        std::nth_element(ranked.begin(), ranked.begin() + budget, ranked.end());
        s.heavy.resize(size_t(budget));
        for (int64_t i = 0; i < budget; ++i) s.heavy[size_t(i)] = ranked[size_t(i)].second;
        std::sort(s.heavy.begin(), s.heavy.end());
    }
}

}  // namespace

int64_t default_budget(const Problem& p, int64_t Nk) {
    return p.heavy_budget > 0 ? p.heavy_budget : std::max<int64_t>(64, Nk / 512);
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
    // The sampled tail: m draws, one from each of m equal strata of the far range (so the
    // sample follows the position structure of the cache), each standing for nF/m keys. They
    // are scored first: their sum tells how much mass the tail holds, which decides which
    // far keys are worth scoring exactly. Draws that turn out to be heavy keys then count
    // with weight 0 (they are in the exact part).
    float M[8], Zt[8], Svt[8];
    int64_t ms = 0;  // draws that are not heavy keys
    const float w = tail && m > 0 ? float(double(nF) / double(m)) : 0.f;
    for (int r = 0; r < R; ++r) {
        M[r] = -INFINITY;
        Zt[r] = 0.f;
        Svt[r] = 0.f;
    }
    const int64_t mpad = (m + 15) / 16 * 16;
    std::vector<float>& SS = s.buf;  // [R][mpad] draw scores (log2 units), then weights
    if (tail && m > 0) {
        hyper::Stream rng{0x617070726f78ull, p.seed, uint64_t(hi.b), uint64_t(hi.hk),
                          uint64_t(g.head[0]), uint64_t(g.row[0]), uint64_t(level)};
        const double u = rng.unit() - 0x1p-53;  // [0, 1)
        s.spos.resize(size_t(m));
        for (int64_t t = 0; t < m; ++t)
            s.spos[size_t(t)] = int32_t(far.at(std::min<int64_t>(
                nF - 1, int64_t((double(t) + u) * double(nF) / double(m)))));
        SS.assign(size_t(R * mpad), -INFINITY);
        for (int64_t j0 = 0; j0 < m; j0 += kChunk) {
            const int n = int(std::min<int64_t>(kChunk, m - j0));
            ci.kr->scores(R, s.Q.data(), Dp, ci.D, hi.k, s.spos.data() + j0, 0, n, s.S.data(), kChunk);
            for (int r = 0; r < R; ++r)
                for (int j = 0; j < n; ++j) SS[size_t(r * mpad + j0 + j)] = s.S[r * kChunk + j] * ci.c;
        }
    }
    if (tail) {
        double l2tot[8];
        for (int r = 0; r < R; ++r) {
            double mx = acc.m[r];
            for (int64_t j = 0; j < m; ++j) mx = std::max(mx, double(SS[size_t(r * mpad + j)]));
            double z = acc.m[r] == -INFINITY ? 0.0 : double(acc.Z[r]) * std::exp2(acc.m[r] - mx);
            for (int64_t j = 0; j < m; ++j) z += double(w) * std::exp2(SS[size_t(r * mpad + j)] - mx);
            l2tot[r] = z > 0.0 ? mx + std::log2(z) : -INFINITY;
        }
        find_heavy(ci, hi, g, far, budget, m, l2tot, s);
        exact_keys(ci, hi, g, s, acc, s.heavy.data(), 0, int64_t(s.heavy.size()), false);
        // Drop the draws that are heavy keys (their columns too); m still counts them.
        int64_t keep = 0;
        for (int64_t j = 0; j < m; ++j) {
            if (std::binary_search(s.heavy.begin(), s.heavy.end(), s.spos[size_t(j)])) continue;
            s.spos[size_t(keep)] = s.spos[size_t(j)];
            for (int r = 0; r < R; ++r) SS[size_t(r * mpad + keep)] = SS[size_t(r * mpad + j)];
            ++keep;
        }
        ms = keep;
        s.spos.resize(size_t(ms));
    }
    for (int r = 0; r < R; ++r) M[r] = acc.m[r];
    if (tail && m > 0) {
        for (int r = 0; r < R; ++r) {
            float mx = acc.m[r];
            for (int64_t j = 0; j < ms; ++j) mx = std::max(mx, SS[size_t(r * mpad + j)]);
            M[r] = mx;
            const float f = acc.m[r] == -INFINITY ? 0.f : std::exp2(acc.m[r] - mx);
            if (f != 1.f) {
                for (int64_t d = 0; d < Dp; ++d) s.O[size_t(r * Dp + d)] *= f;
                acc.Z[r] *= f;
                acc.Sv[r] *= f;
            }
            for (int64_t j = 0; j < mpad; ++j) {
                float& x = SS[size_t(r * mpad + j)];
                x = (j < ms && mx != -INFINITY) ? w * std::exp2(x - mx) : 0.f;
            }
        }
        std::vector<float> vn(static_cast<size_t>(ms));
        value_norms(ci, hi, s.spos.data(), 0, int(ms), s, vn.data());
        for (int64_t j0 = 0; j0 < ms; j0 += 1024) {
            const int n = int(std::min<int64_t>(1024, ms - j0));
            ci.kr->pv(R, SS.data() + j0, mpad, n, hi.v, s.spos.data() + j0, 0, ci.D, nullptr,
                      s.OT.data(), Dp);
        }
        for (int r = 0; r < R; ++r) {
            double z = 0.0, sv = 0.0;
            for (int64_t j = 0; j < ms; ++j) {
                const double pj = SS[size_t(r * mpad + j)];
                z += pj;
                sv += pj * vn[size_t(j)];
            }
            Zt[r] = float(z);
            Svt[r] = float(sv);
        }
        s.svn.swap(vn);  // keep the draws' norms for the variance below
    }

    // Ratio estimate o = (O + OT) / (Z + Zt); normalised rows go back into s.O.
    float Zh[8];
    for (int r = 0; r < R; ++r) {
        Zh[r] = acc.Z[r] + Zt[r];
        float* o = s.O.data() + r * Dp;
        const float* ot = s.OT.data() + r * Dp;
        const float inv = Zh[r] > 0.f ? 1.f / Zh[r] : 0.f;
        for (int64_t d = 0; d < Dp; ++d) o[d] = (o[d] + ot[d]) * inv;
        res[r].lse = Zh[r] > 0.f ? float((double(M[r]) + std::log2(double(Zh[r]))) * 0.6931471805599453)
                                 : -INFINITY;
        res[r].touched = acc.touched[r] + (tail ? int64_t(s.heavy.size()) + ms : 0);
        res[r].err = 0.f;
        res[r].tail = tail;
    }
    if (!tail) return;
    if (m < 2) {  // no sample variance to speak of: the tail is unknown
        for (int r = 0; r < R; ++r) res[r].err = INFINITY;
        return;
    }

    // Delta method for the ratio: with u_k = nF·x_k·(v_k - o) (x_k the draw's weight in the
    // frame, 0 for heavy draws), o - o_true ≈ mean(u) / Z, so Var ≈ Σ||u_k - ū||² / (m(m-1)Z²).
    // ||u_k||² expands to (m·P_k)²(||v_k||² - 2 v_k·o + ||o||²), and v_k·o is one more scores
    // call with the output rows as queries.
    std::vector<float> VO(size_t(R * mpad), 0.f);
    for (int64_t j0 = 0; j0 < ms; j0 += kChunk) {
        const int n = int(std::min<int64_t>(kChunk, ms - j0));
        ci.kr->scores(R, s.O.data(), Dp, ci.D, hi.v, s.spos.data() + j0, 0, n, s.S.data(), kChunk);
        for (int r = 0; r < R; ++r)
            for (int j = 0; j < n; ++j) VO[size_t(r * mpad + j0 + j)] = s.S[r * kChunk + j];
    }
    for (int r = 0; r < R; ++r) {
        const float* o = s.O.data() + r * Dp;
        const float* ot = s.OT.data() + r * Dp;
        double on2 = 0.0, ub2 = 0.0;
        for (int64_t d = 0; d < ci.D; ++d) {
            on2 += double(o[d]) * o[d];
            const double ub = double(ot[d]) - double(o[d]) * Zt[r];
            ub2 += ub * ub;
        }
        double su2 = 0.0;
        for (int64_t j = 0; j < ms; ++j) {
            const double mp = double(m) * SS[size_t(r * mpad + j)];
            su2 += mp * mp * (double(s.svn[size_t(j)]) - 2.0 * VO[size_t(r * mpad + j)] + on2);
        }
        const double var = std::max(0.0, su2 - double(m) * ub2) /
                           (double(m) * double(m - 1) * double(Zh[r]) * double(Zh[r]));
        const double rms2 = (double(acc.Sv[r]) + Svt[r]) / double(Zh[r]);
        res[r].err = rms2 > 0.0 ? float(2.0 * std::sqrt(var / rms2)) : 0.f;
    }
}

}  // namespace ha::cpu::approx
