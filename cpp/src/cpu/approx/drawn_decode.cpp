// Reading order: the online-softmax sums of a set of keys, the parts of a group of rows (exact
// keys, the two halves of the draws, heavy keys), their merge with the error estimate, the
// escalation towards a target, and the driver.
#include "cpu/approx/drawn_decode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/approx/row_io.h"
#include "cpu/approx/sketch.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/key_index.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx {
namespace {

using hsr::HeadIndex;

constexpr int kChunk = 256;                // keys per scores/P·V call
constexpr double kMinHalfDraws = 16.0;     // fewer expected draws per half: the tail is exact
constexpr double kHeavyShare = 1.0 / 64;   // a key that may carry this share is looked for
constexpr double kTailShare = 1.0 / 32;    // ... or this share of the sampled tail
constexpr int kMargin = 6;                 // sketch noise margin, in bits
constexpr int kProbeKeys = 64;
constexpr int64_t kCandidates = 32;        // keys a row's sketch scan admits, about
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Ctx {
    const Problem* p;
    const hsr::Kernels* kr;
    const ha_key_index* ix;
    int64_t Nq, Nk, D, Dp, G, S, W;
    float c;  // scale · log2(e)
    std::vector<uint8_t> one_class;  // every key in norm class 0 (the scan's thresholds use kmax)
};

// Online-softmax sums of up to 8 rows, in log2 units as the HSR kernels keep them.
struct Acc {
    int R = 0;
    float m[8], Z[8], alpha[8], bsum[8];
    double Sv[8];  // Σ 2^(x - m) ||v||²
    int64_t n = 0;  // keys added
    std::vector<float> O;  // [8][Dp]
    void init(int r, int64_t Dp) {
        R = r;
        n = 0;
        for (int i = 0; i < 8; ++i) {
            m[i] = kNegInf;
            Z[i] = 0.f;
            Sv[i] = 0.0;
        }
        O.assign(size_t(8 * Dp), 0.f);
    }
};

struct Scratch {
    std::vector<float> Q, S, P, row, vn;
    std::vector<int32_t> list, hits;
};

// Adds keys (positions pos[0..n), or first .. first + n) to the sums of every row.
void add_keys(const Ctx& c, const hsr::RowSrc& k, const hsr::RowSrc& v, Acc& a, const int32_t* pos,
              int64_t first, int64_t n, Scratch& s) {
    a.n += n;
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int m = int(std::min<int64_t>(kChunk, n - j0));
        const int32_t* pp = pos ? pos + j0 : nullptr;
        const int64_t f0 = first + j0;
        c.kr->scores(a.R, s.Q.data(), c.Dp, c.D, k, pp, f0, m, s.S.data(), kChunk);
        c.kr->softmax_weights(a.R, s.S.data(), kChunk, m, c.c, a.m, a.alpha, a.bsum, s.P.data(), kChunk);
        c.kr->pv(a.R, s.P.data(), kChunk, m, v, pp, f0, c.D, a.alpha, a.O.data(), c.Dp);
        for (int j = 0; j < m; ++j) {
            c.kr->load_rows(v, pp ? pp + j : nullptr, pp ? 0 : f0 + j, 1, c.D, c.Dp, s.row.data());
            s.vn[size_t(j)] = float(c.kr->sumsq(s.row.data(), c.Dp));
        }
        for (int r = 0; r < a.R; ++r) {
            double sv = 0.0;
            for (int j = 0; j < m; ++j) sv += double(s.P[size_t(r * kChunk + j)]) * s.vn[size_t(j)];
            a.Z[r] = a.Z[r] * a.alpha[r] + a.bsum[r];
            a.Sv[r] = a.Sv[r] * a.alpha[r] + sv;
        }
    }
}

// Row r of a part as sums relative to exp(ref): N[0..D) = Σ e^(s - ref) v, N[D] = the same
// with ||v||², returns Σ e^(s - ref) (the natural-log scores s).
double sums_of(const Ctx& c, const Acc& a, int r, double ref, double weight, double* N) {
    if (a.Z[r] == 0.f || a.m[r] == kNegInf) {
        std::fill(N, N + c.D + 1, 0.0);
        return 0.0;
    }
    const double z = weight * std::exp(double(a.m[r]) * M_LN2 - ref);  // 2^m relative to e^ref
    for (int64_t d = 0; d < c.D; ++d) N[d] = z * a.O[size_t(r * c.Dp + d)];
    N[c.D] = z * a.Sv[r];
    return z * a.Z[r];
}

double log_total(const Acc& a, int r, double weight) {
    if (a.Z[r] == 0.f || a.m[r] == kNegInf) return -std::numeric_limits<double>::infinity();
    return double(a.m[r]) * M_LN2 + std::log(double(a.Z[r]) * weight);
}

// The draws at rate kDrawBase·2^k among positions [lo, hi]: half 0 is levels 0..k-1, half 1
// level k.
void drawn(const HeadIndex& hx, int k, int half, int64_t lo, int64_t hi, std::vector<int32_t>& out) {
    out.clear();
    const int a = half == 0 ? 0 : k, b = half == 0 ? k : k + 1;
    for (int l = a; l < b; ++l) {
        const auto& d = hx.draws[l];
        auto i0 = std::lower_bound(d.begin(), d.end(), int32_t(lo));
        auto i1 = std::upper_bound(d.begin(), d.end(), int32_t(hi));
        out.insert(out.end(), i0, i1);
    }
    std::sort(out.begin(), out.end());
}

// Heavy keys in [lo, hi] for the rows: candidates by their sketches, scored exactly; a key is
// heavy when it reaches kHeavyShare of some row's estimated denominator L[r].
// Also heavy: a key that may carry kTailShare of the row's estimated tail Lt[r]. A tail
// concentrated on a few keys (the ones just past the window, under RoPE locality) is
// estimated badly by a sample that misses them, and both halves then agree: the estimate
// would not see it.
void find_heavy(const Ctx& c, const HeadIndex& hx, const hsr::RowSrc& k, int R, const double* L,
                const double* Lt, int64_t lo, int64_t hi, Scratch& s, std::vector<int32_t>& heavy) {
    heavy.clear();
    float up_tab[kSketchBits + 1];
    for (int t = 0; t <= kSketchBits; ++t)
        up_tab[t] = float(std::cos(M_PI * std::max(0, t - kMargin) / kSketchBits));
    std::vector<float> dots(size_t(8 * kSketchBits));
    const hsr::RowSrc planes{c.ix->sketch_planes.data(), c.Dp, 1, false};
    c.kr->scores(R, s.Q.data(), c.Dp, c.D, planes, nullptr, 0, kSketchBits, dots.data(), kSketchBits);
    const double kmax = double(hx.norm_after[std::min<int64_t>(c.S, HeadIndex::kNormAfter)]) * (1 + 1e-6);
    uint64_t qs[8];
    int thr[8 * kNormClasses];
    double T[8];
    bool any = false;
    const int64_t span = hi - lo + 1;
    for (int r = 0; r < R; ++r) {
        qs[r] = 0;
        for (int t = 0; t < kSketchBits; ++t)
            if (dots[size_t(r * kSketchBits + t)] > 0.f) qs[r] |= uint64_t(1) << t;
        const double cq = double(c.p->base.scale) * std::sqrt(c.kr->sumsq(s.Q.data() + r * c.Dp, c.Dp));
        T[r] = std::min(L[r] + std::log(kHeavyShare), Lt[r] + std::log(kTailShare));
        double cutoff = T[r];
        if (span > kProbeKeys && std::isfinite(T[r])) {  // about kCandidates admitted, from a probe
            int32_t probe[kProbeKeys];
            int hs[kProbeKeys];
            float sup[kProbeKeys];
            for (int i = 0; i < kProbeKeys; ++i) probe[i] = int32_t(lo + int64_t((i + 0.5) * double(span) / kProbeKeys));
            hamming_list(qs[r], hx.sketch.data(), probe, kProbeKeys, hs);
            for (int i = 0; i < kProbeKeys; ++i) sup[i] = float(cq * hx.pnorm[size_t(probe[i])] * up_tab[hs[i]]);
            const int64_t allowed = std::min<int64_t>(kProbeKeys - 1, kCandidates * kProbeKeys / span);
            std::nth_element(sup, sup + (kProbeKeys - 1 - allowed), sup + kProbeKeys);
            cutoff = std::max(cutoff, double(sup[kProbeKeys - 1 - allowed]));
        }
        int t = -1;
        if (std::isfinite(cutoff))
            while (t < kSketchBits && cq * kmax * up_tab[t + 1] >= cutoff) ++t;
        for (int cl = 0; cl < kNormClasses; ++cl) thr[r * kNormClasses + cl] = t;
        any |= t >= 0;
    }
    if (!any) return;
    for (;;) {
        s.hits.clear();
        if (sketch_scan(hx.sketch.data(), c.one_class.data(), lo, hi + 1, qs, thr, R, s.hits, 4096)) break;
        for (int i = 0; i < R * kNormClasses; ++i) thr[i] -= 2;
    }
    for (size_t a = 0; a < s.hits.size(); a += kChunk) {
        const int n = int(std::min<size_t>(kChunk, s.hits.size() - a));
        c.kr->scores(R, s.Q.data(), c.Dp, c.D, k, s.hits.data() + a, 0, n, s.S.data(), kChunk);
        for (int i = 0; i < n; ++i) {
            bool h = false;
            for (int r = 0; r < R; ++r)
                h |= double(c.p->base.scale) * s.S[size_t(r * kChunk + i)] >= T[r];
            if (h) heavy.push_back(s.hits[a + size_t(i)]);
        }
    }
}

struct RowOut {
    float err = 0.f;
    float lse = kNegInf;
    bool tail = false;
};

// One group: R rows (query heads of kv head hk at query row i), all at position pos.
void solve_group(const Ctx& c, int64_t b, int64_t hk, int64_t h0, int R, int64_t i, Scratch& s) {
    const Problem& p = *c.p;
    const ExactProblem& e = p.base;
    const int64_t g = b * e.k.shape[1] + hk;
    const HeadIndex& hx = c.ix->heads[size_t(g)];
    const hsr::RowSrc k = rows_of(e.k, e.dtype, b, hk), v = rows_of(e.v, e.dtype, b, hk);
    const int64_t pos = i + c.Nk - c.Nq;
    const int64_t Hq = e.q.shape[1];
    s.Q.assign(size_t(8 * c.Dp), 0.f);
    for (int r = 0; r < R; ++r) load_query(p, b, h0 + r, i, c.D, s.Q.data() + r * c.Dp);

    // The exact keys: sinks and window.
    const int64_t cut = pos - c.W;
    Acc E;
    E.init(R, c.Dp);
    const int64_t sink_end = std::min<int64_t>(c.S, std::max<int64_t>(0, cut + 1));
    const int64_t win0 = std::max<int64_t>(0, cut + 1);
    add_keys(c, k, v, E, nullptr, 0, sink_end, s);
    add_keys(c, k, v, E, nullptr, win0, pos + 1 - win0, s);
    const int64_t n_tail = cut - c.S + 1;

    std::vector<double> NE(size_t(c.D + 1)), NA(size_t(c.D + 1)), NB(size_t(c.D + 1));
    std::vector<float> out(size_t(8 * c.D));
    RowOut ro[8];
    int level = 0;
    int64_t touched = 0;
    bool exact = n_tail <= 0;
    // The rate: the lowest level whose draws reach `samples` (and kMinHalfDraws a half).
    int kl = 1;
    if (!exact) {
        const double want = std::max(double(p.samples), 2 * kMinHalfDraws);
        while (kl < HeadIndex::kDrawLevels - 1 && HeadIndex::kDrawBase * std::ldexp(1.0, kl) * double(n_tail) < want) ++kl;
        if (HeadIndex::kDrawBase * std::ldexp(1.0, kl) * double(n_tail) < want) exact = true;
    }
    std::vector<int32_t> heavy;
    bool searched = false;
    while (!exact) {
        const double rate = HeadIndex::kDrawBase * std::ldexp(1.0, kl);
        Acc A, B, H;
        A.init(R, c.Dp);
        B.init(R, c.Dp);
        H.init(R, c.Dp);
        for (int half = 0; half < 2; ++half) {
            drawn(hx, kl, half, c.S, cut, s.list);
            if (!heavy.empty()) {  // a heavy key is counted exactly, not as a draw
                std::vector<int32_t> keep;
                for (int32_t j : s.list)
                    if (!std::binary_search(heavy.begin(), heavy.end(), j)) keep.push_back(j);
                s.list.swap(keep);
            }
            add_keys(c, k, v, half == 0 ? A : B, s.list.data(), 0, int64_t(s.list.size()), s);
        }
        if (!searched) {
            double L[8], Lt[8];
            for (int r = 0; r < R; ++r) {
                const double l[3] = {log_total(E, r, 1.0), log_total(A, r, 1.0 / rate), log_total(B, r, 1.0 / rate)};
                const double m = std::max({l[0], l[1], l[2]});
                L[r] = std::isfinite(m) ? m + std::log(std::exp(l[0] - m) + std::exp(l[1] - m) + std::exp(l[2] - m)) : m;
                const double mt = std::max(l[1], l[2]);
                Lt[r] = std::isfinite(mt) ? mt + std::log(std::exp(l[1] - mt) + std::exp(l[2] - mt)) : L[r];
            }
            find_heavy(c, hx, k, R, L, Lt, c.S, cut, s, heavy);
            searched = true;
            std::sort(heavy.begin(), heavy.end());
            if (!heavy.empty()) continue;  // redo the halves without them
        }
        H.init(R, c.Dp);
        add_keys(c, k, v, H, heavy.data(), 0, int64_t(heavy.size()), s);
        bool miss = false;
        for (int r = 0; r < R; ++r) {
            const double l[4] = {log_total(E, r, 1.0), log_total(H, r, 1.0), log_total(A, r, 1.0 / rate),
                                 log_total(B, r, 1.0 / rate)};
            const double ref = std::max({l[0], l[1], l[2], l[3]});
            if (!std::isfinite(ref)) {  // NaN, or no key at all
                ro[r].err = std::isnan(ref) ? std::numeric_limits<float>::infinity() : 0.f;
                ro[r].lse = float(ref);
                for (int64_t d = 0; d < c.D; ++d) out[size_t(r * c.D + d)] = std::isnan(ref) ? NAN : 0.f;
                continue;
            }
            std::vector<double> Nh(size_t(c.D + 1));
            const double ZE = sums_of(c, E, r, ref, 1.0, NE.data()) + sums_of(c, H, r, ref, 1.0, Nh.data());
            for (int64_t d = 0; d <= c.D; ++d) NE[size_t(d)] += Nh[size_t(d)];
            const double ZA = sums_of(c, A, r, ref, 1.0 / rate, NA.data());
            const double ZB = sums_of(c, B, r, ref, 1.0 / rate, NB.data());
            const double Z = ZE + ZA + ZB, Za = ZE + 2 * ZA, Zb = ZE + 2 * ZB;
            double d2 = 0;
            for (int64_t d = 0; d < c.D; ++d) {
                out[size_t(r * c.D + d)] = float((NE[size_t(d)] + NA[size_t(d)] + NB[size_t(d)]) / Z);
                const double x = (NE[size_t(d)] + 2 * NA[size_t(d)]) / Za - (NE[size_t(d)] + 2 * NB[size_t(d)]) / Zb;
                d2 += x * x;
            }
            const double r2 = (NE[size_t(c.D)] + NA[size_t(c.D)] + NB[size_t(c.D)]) / Z;
            ro[r].lse = float(ref + std::log(Z));
            ro[r].tail = true;
            ro[r].err = (A.n == 0 || B.n == 0) ? std::numeric_limits<float>::infinity()
                        : r2 > 0 ? float(std::sqrt(d2 / r2))
                                 : (d2 > 0 ? std::numeric_limits<float>::infinity() : 0.f);
            miss |= p.target > 0.0 && !(double(ro[r].err) <= p.target);
        }
        touched = E.n + H.n + A.n + B.n;
        if (!miss) break;
        // Four times the rate halves the standard error; past the top level, exact.
        if (kl + 2 >= HeadIndex::kDrawLevels) {
            exact = true;
            break;
        }
        kl += 2;
        level = 1;
    }
    if (exact) {
        Acc X;
        X.init(R, c.Dp);
        add_keys(c, k, v, X, nullptr, 0, pos + 1, s);
        for (int r = 0; r < R; ++r) {
            const float inv = X.Z[r] > 0.f ? 1.f / X.Z[r] : (X.Z[r] == 0.f ? 0.f : NAN);
            for (int64_t d = 0; d < c.D; ++d) out[size_t(r * c.D + d)] = X.O[size_t(r * c.Dp + d)] * inv;
            ro[r].lse = X.Z[r] == 0.f ? kNegInf : float(log_total(X, r, 1.0));
            ro[r].err = 0.f;
            ro[r].tail = false;
        }
        touched = pos + 1;
        level = n_tail <= 0 ? 0 : 2;
    }
    for (int r = 0; r < R; ++r) {
        const int64_t h = h0 + r;
        store_row(p, b, h, i, c.D, out.data() + r * c.D, ro[r].lse);
        const int64_t si = (b * Hq + h) * c.Nq + i;
        if (p.row_error) p.row_error[si] = ro[r].err;
        if (p.tail_bound) p.tail_bound[si] = ro[r].tail ? 1.f : 0.f;
        if (p.touched) p.touched[si] = touched;
        if (p.level) p.level[si] = level;
    }
}

}  // namespace

bool drawn_decode_serves(const Problem& p) {
    const ExactProblem& e = p.base;
    const int64_t Nq = e.q.shape[2], Nk = e.k.shape[2];
    return p.index != nullptr && e.causal && p.heavy_budget == 0 && p.samples > 0 && Nq <= 16 &&
           Nk >= 1024 && Nk >= Nq;
}

int32_t run_drawn_decode(const Problem& p) {
    const ExactProblem& e = p.base;
    Ctx c{};
    c.p = &p;
    c.kr = &hsr::active();
    c.ix = p.index;
    c.Nq = e.q.shape[2];
    c.Nk = e.k.shape[2];
    c.D = e.q.shape[3];
    c.Dp = (c.D + 15) / 16 * 16;
    c.G = e.q.shape[1] / e.k.shape[1];
    c.S = std::min<int64_t>(p.sinks, c.Nk);
    c.W = p.window;
    c.c = float(double(e.scale) * 1.4426950408889634);
    c.one_class.assign(size_t(c.Nk) + 8, 0);
    const int64_t B = e.q.shape[0], Hkv = e.k.shape[1];
    const int64_t hchunks = (c.G + 7) / 8;
    const int64_t tasks = B * Hkv * c.Nq * hchunks;
    const int slots = std::max(1, pool_threads());
    std::vector<Scratch> scratch(static_cast<size_t>(slots));
    for (auto& s : scratch) {
        s.S.assign(size_t(8 * kChunk), 0.f);
        s.P.assign(size_t(8 * kChunk), 0.f);
        s.row.assign(size_t(c.Dp), 0.f);
        s.vn.assign(size_t(kChunk), 0.f);
    }
    return parallel_for(tasks, slots, [&](int64_t t, int slot) {
        const int64_t hc = t % hchunks, i = (t / hchunks) % c.Nq, hk = (t / hchunks / c.Nq) % Hkv,
                      b = t / hchunks / c.Nq / Hkv;
        const int64_t h0 = hk * c.G + hc * 8;
        const int R = int(std::min<int64_t>(8, hk * c.G + c.G - h0));
        const int64_t pos = i + c.Nk - c.Nq;
        if (pos < 0) {  // sees no key
            std::vector<float> zero(size_t(c.D), 0.f);
            for (int r = 0; r < R; ++r) {
                store_row(p, b, h0 + r, i, c.D, zero.data(), kNegInf);
                exact_row_stats(p, (b * e.q.shape[1] + h0 + r) * c.Nq + i, 0);
                if (p.level) p.level[(b * e.q.shape[1] + h0 + r) * c.Nq + i] = 0;
            }
            return;
        }
        solve_group(c, b, hk, h0, R, i, scratch[size_t(slot)]);
    });
}

}  // namespace ha::cpu::approx
