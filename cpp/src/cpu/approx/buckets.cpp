#include "cpu/approx/buckets.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/hyper/hyper_random.h"
#include "cpu/thread_pool.h"

namespace ha::cpu::approx {
namespace {

uint64_t mix(uint64_t x) { return hyper::mix64(x); }

constexpr int64_t kRowsPerTask = 512;  // a multiple of 8 (nearest() takes 8 rows at a time)

// Nearest centre of R rows by  x·c - |c|²/2  (the squared distance less |x|²/2).
void nearest(const hsr::Kernels& kr, const Buckets& bk, const float* X, int R, int64_t D,
             float* S, int* best, float* bestv) {
    const hsr::RowSrc cen{bk.cen.data(), bk.Dp, 1, false};
    kr.scores(R, X, bk.Dp, D, cen, nullptr, 0, bk.C, S, bk.C);
    for (int r = 0; r < R; ++r) {
        int b = 0;
        float v = -std::numeric_limits<float>::infinity();
        for (int c = 0; c < bk.C; ++c) {
            const float s = S[r * bk.C + c] - bk.half_n2[size_t(c)];
            if (s > v) {
                v = s;
                b = c;
            }
        }
        best[r] = b;
        bestv[r] = v;
    }
}

void set_half_norms(Buckets& bk) {
    for (int c = 0; c < bk.C; ++c) {
        double s = 0;
        for (int64_t d = 0; d < bk.Dp; ++d) s += double(bk.cen[size_t(c * bk.Dp + d)]) * bk.cen[size_t(c * bk.Dp + d)];
        bk.half_n2[size_t(c)] = float(0.5 * s);
    }
}

}  // namespace

Buckets cluster_keys(const hsr::Kernels& kr, const hsr::RowSrc& k, const std::vector<int32_t>& pos,
                     int64_t D, int C, int64_t max_size, uint64_t seed, std::vector<uint8_t>& id) {
    Buckets bk;
    const int64_t n = int64_t(pos.size());
    bk.Dp = (D + 15) / 16 * 16;
    bk.C = int(std::max<int64_t>(1, std::min<int64_t>(C, n)));
    id.assign(size_t(n), 0);
    bk.cen.assign(size_t(bk.C * bk.Dp), 0.f);
    bk.half_n2.assign(size_t(bk.C), 0.f);
    bk.log_size.assign(size_t(bk.C), -std::numeric_limits<float>::infinity());
    bk.spread.assign(size_t(bk.C), 0.f);
    if (n == 0) return bk;

    // A subsample for the iterations: evenly spaced from a seeded offset, at most kSub rows.
    constexpr int64_t kSub = 8192;
    const int64_t ns = std::min(n, kSub);
    std::vector<int32_t> sub(static_cast<size_t>(ns));
    const uint64_t off = mix(seed) % uint64_t(n);
    for (int64_t t = 0; t < ns; ++t) sub[size_t(t)] = pos[size_t((off + uint64_t(t * n / ns)) % uint64_t(n))];
    std::vector<float> X(size_t(ns * bk.Dp));
    kr.load_rows(k, sub.data(), 0, int(ns), D, bk.Dp, X.data());

    // k-means++ seeding: each next centre drawn with probability ∝ its squared distance to the
    // nearest centre so far.
    std::vector<double> d2(size_t(ns), std::numeric_limits<double>::infinity()), x2(static_cast<size_t>(ns));
    for (int64_t t = 0; t < ns; ++t) x2[size_t(t)] = kr.sumsq(&X[size_t(t * bk.Dp)], bk.Dp);
    const hsr::RowSrc xs{X.data(), bk.Dp, 1, false};
    uint64_t rng = mix(seed ^ 0x5eedull);
    int64_t pick = int64_t(mix(rng) % uint64_t(ns));
    for (int c = 0; c < bk.C; ++c) {
        const float* cc = &bk.cen[size_t(c * bk.Dp)];
        std::copy_n(&X[size_t(pick * bk.Dp)], bk.Dp, &bk.cen[size_t(c * bk.Dp)]);
        const double c2 = kr.sumsq(cc, bk.Dp);
        parallel_for((ns + kRowsPerTask - 1) / kRowsPerTask, pool_threads(), [&](int64_t k, int) {
            const int64_t t0 = k * kRowsPerTask, m = std::min(ns - t0, kRowsPerTask);
            float S[kRowsPerTask];
            kr.scores(1, cc, bk.Dp, D, xs, nullptr, t0, int(m), S, kRowsPerTask);
            for (int64_t t = 0; t < m; ++t)  // |x - c|² = |x|² - 2 x·c + |c|²
                d2[size_t(t0 + t)] = std::min(d2[size_t(t0 + t)], std::max(0.0, x2[size_t(t0 + t)] - 2.0 * double(S[t]) + c2));
        });
        double total = 0;
        for (int64_t t = 0; t < ns; ++t) total += d2[size_t(t)];
        rng = mix(rng);
        double u = double(rng >> 11) * 0x1.0p-53 * total;
        pick = ns - 1;
        for (int64_t t = 0; t < ns; ++t) {
            u -= d2[size_t(t)];
            if (u < 0) {
                pick = t;
                break;
            }
        }
    }
    set_half_norms(bk);

    // Lloyd iterations on the subsample: the nearest centres in parallel, the sums in order
    // (the same floats for any thread count).
    std::vector<int> best(static_cast<size_t>(ns));
    for (int it = 0; it < 6; ++it) {
        parallel_for((ns + kRowsPerTask - 1) / kRowsPerTask, pool_threads(), [&](int64_t k, int) {
            std::vector<float> S(size_t(8 * bk.C));
            float bv[8];
            for (int64_t t = k * kRowsPerTask; t < std::min(ns, (k + 1) * kRowsPerTask); t += 8) {
                const int R = int(std::min<int64_t>(8, ns - t));
                nearest(kr, bk, &X[size_t(t * bk.Dp)], R, D, S.data(), &best[size_t(t)], bv);
            }
        });
        std::vector<double> sum(size_t(bk.C * bk.Dp), 0.0);
        std::vector<int64_t> cnt(size_t(bk.C), 0);
        for (int64_t t = 0; t < ns; ++t) {
            const int c = best[size_t(t)];
            ++cnt[size_t(c)];
            for (int64_t d = 0; d < D; ++d) sum[size_t(c * bk.Dp + d)] += X[size_t(t * bk.Dp + d)];
        }
        for (int c = 0; c < bk.C; ++c)
            if (cnt[size_t(c)] > 0)  // an empty bucket keeps its centre
                for (int64_t d = 0; d < D; ++d)
                    bk.cen[size_t(c * bk.Dp + d)] = float(sum[size_t(c * bk.Dp + d)] / double(cnt[size_t(c)]));
        set_half_norms(bk);
    }

    // Every key to its nearest centre, in fixed chunks; the spread sums are added in chunk order.
    constexpr int64_t kChunk = 2048;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> csum(size_t(chunks * bk.C), 0.0);
    std::vector<int64_t> ccnt(size_t(chunks * bk.C), 0);
    parallel_for(chunks, pool_threads(), [&](int64_t ch, int) {
        const int64_t a = ch * kChunk, b = std::min(n, a + kChunk);
        std::vector<float> rows(size_t(8 * bk.Dp)), s(size_t(8 * bk.C));
        int bst[8];
        float v[8];
        for (int64_t t = a; t < b; t += 8) {
            const int R = int(std::min<int64_t>(8, b - t));
            kr.load_rows(k, pos.data() + t, 0, R, D, bk.Dp, rows.data());
            nearest(kr, bk, rows.data(), R, D, s.data(), bst, v);
            for (int r = 0; r < R; ++r) {
                id[size_t(t + r)] = uint8_t(bst[r]);
                // |x - c|² = |x|² - 2 (x·c - |c|²/2)
                const double x2 = kr.sumsq(rows.data() + r * bk.Dp, bk.Dp);
                csum[size_t(ch * bk.C + bst[r])] += std::max(0.0, x2 - 2.0 * double(v[r]));
                ++ccnt[size_t(ch * bk.C + bst[r])];
            }
        }
    });
    std::vector<int64_t> size(size_t(bk.C), 0);
    std::vector<double> spread(size_t(bk.C), 0.0);
    for (int c = 0; c < bk.C; ++c) {
        double s = 0;
        int64_t m = 0;
        for (int64_t ch = 0; ch < chunks; ++ch) {
            s += csum[size_t(ch * bk.C + c)];
            m += ccnt[size_t(ch * bk.C + c)];
        }
        size[size_t(c)] = m;
        spread[size_t(c)] = m > 0 ? s / double(m) : 0.0;
    }

    // k-means splits a compact cluster as readily as it separates two: buckets whose centres
    // lie closer than half the smaller one's radius are one cluster cut in two, and are merged
    // (closest pairs first, up to max_size keys a bucket) so that a query's bucket holds its
    // whole cluster.
    std::vector<int> parent(size_t(bk.C));
    for (int c = 0; c < bk.C; ++c) parent[size_t(c)] = c;
    auto root = [&](int c) {
        while (parent[size_t(c)] != c) c = parent[size_t(c)] = parent[size_t(parent[size_t(c)])];
        return c;
    };
    struct Pair {
        double ratio;
        int a, b;
    };
    std::vector<Pair> pairs;
    for (int a = 0; a < bk.C; ++a)
        for (int b = a + 1; b < bk.C; ++b) {
            if (size[size_t(a)] == 0 || size[size_t(b)] == 0) continue;
            const double d2 = kr.dist2(&bk.cen[size_t(a * bk.Dp)], &bk.cen[size_t(b * bk.Dp)], bk.Dp);
            const double r = d2 / std::max(1e-30, std::min(spread[size_t(a)], spread[size_t(b)]));
            if (r < 0.5) pairs.push_back({r, a, b});
        }
    std::sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) {
        return x.ratio != y.ratio ? x.ratio < y.ratio : (x.a != y.a ? x.a < y.a : x.b < y.b);
    });
    // Merged statistics: sizes, centres (weighted means) and spreads (E|k - centre|²).
    std::vector<double> cen(bk.cen.begin(), bk.cen.end());
    for (const Pair& pr : pairs) {
        const int a = root(pr.a), b = root(pr.b);
        if (a == b || size[size_t(a)] + size[size_t(b)] > max_size) continue;
        const double na = double(size[size_t(a)]), nb = double(size[size_t(b)]), n2 = na + nb;
        double da = 0, db = 0;
        std::vector<double> m(size_t(bk.Dp));
        for (int64_t d = 0; d < bk.Dp; ++d) {
            m[size_t(d)] = (na * cen[size_t(a * bk.Dp + d)] + nb * cen[size_t(b * bk.Dp + d)]) / n2;
            da += (cen[size_t(a * bk.Dp + d)] - m[size_t(d)]) * (cen[size_t(a * bk.Dp + d)] - m[size_t(d)]);
            db += (cen[size_t(b * bk.Dp + d)] - m[size_t(d)]) * (cen[size_t(b * bk.Dp + d)] - m[size_t(d)]);
        }
        spread[size_t(a)] = (na * (spread[size_t(a)] + da) + nb * (spread[size_t(b)] + db)) / n2;
        std::copy(m.begin(), m.end(), cen.begin() + a * bk.Dp);
        size[size_t(a)] += size[size_t(b)];
        size[size_t(b)] = 0;
        parent[size_t(b)] = a;
    }
    // Renumber the roots 0..C'-1 in order.
    std::vector<int> newid(size_t(bk.C), -1);
    int C2 = 0;
    for (int c = 0; c < bk.C; ++c)
        if (root(c) == c) newid[size_t(c)] = C2++;
    Buckets out;
    out.C = C2;
    out.Dp = bk.Dp;
    out.cen.assign(size_t(C2 * bk.Dp), 0.f);
    out.half_n2.assign(size_t(C2), 0.f);
    out.log_size.assign(size_t(C2), -std::numeric_limits<float>::infinity());
    out.spread.assign(size_t(C2), 0.f);
    for (int c = 0; c < bk.C; ++c) {
        if (root(c) != c) continue;
        const int t = newid[size_t(c)];
        for (int64_t d = 0; d < bk.Dp; ++d) out.cen[size_t(t * bk.Dp + d)] = float(cen[size_t(c * bk.Dp + d)]);
        if (size[size_t(c)] > 0) out.log_size[size_t(t)] = float(std::log(double(size[size_t(c)])));
        out.spread[size_t(t)] = float(spread[size_t(c)]);
    }
    set_half_norms(out);
    for (auto& x : id) x = uint8_t(newid[size_t(root(x))]);
    return out;
}

void best_buckets(const hsr::Kernels& kr, const Buckets& bk, const float* Q, int R, int64_t ldq,
                  int64_t D, float scale, uint8_t* out) {
    float S[8 * 256];
    const hsr::RowSrc cen{bk.cen.data(), bk.Dp, 1, false};
    kr.scores(R, Q, ldq, D, cen, nullptr, 0, bk.C, S, bk.C);
    for (int r = 0; r < R; ++r) {
        const float q2 = float(kr.sumsq(Q + r * ldq, ldq));
        int b = 0;
        float v = -std::numeric_limits<float>::infinity();
        for (int c = 0; c < bk.C; ++c) {
            const float m = scale * S[r * bk.C + c] + bk.log_size[size_t(c)] +
                            scale * scale * q2 * bk.spread[size_t(c)] / float(2 * D);
            if (m > v) {
                v = m;
                b = c;
            }
        }
        out[r] = uint8_t(b);
    }
}

}  // namespace ha::cpu::approx
