// Input families for approximate attention (issue 10): deterministic from a seed, header-only,
// shared by the native tests (tests/native/test_approx.cpp) and the benchmark
// (bench/approx_bench.cpp). Each produces dense float vectors
//   q [B, Hq, Nq, D]   k, v [B, Hkv, Nk, D]   (row-major, the last index fastest)
// that callers copy into tensors of any layout (and round to bf16 when they need it: use
// round_inputs_to_bf16 first so that a float64 reference sees exactly the stored values).
// Query row i sits at cache position p_i = i + Nk - Nq (bottom-right aligned, as the library's
// causal mask), so every family works for Nq != Nk; GQA: query head h belongs to kv head
// h / (Hq / Hkv), and structure (clusters, content, needles) is per (batch, kv head), shared by
// the query heads of a group. Any D >= 1 works; the constants are tuned for D = 64 and 128 with
// the default scale 1/sqrt(D). Every random draw comes from a counter-based stream keyed by
// (seed, purpose, batch, head), so the data do not depend on the order of generation.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace hafam {

enum Family { DIFFUSE = 0, CLUSTERED = 1, LLM = 2, NEEDLE = 3, NUM_FAMILIES = 4 };

inline const char* family_name(int f) {
    static const char* const n[] = {"diffuse", "clustered", "llm", "needle"};
    return f >= 0 && f < NUM_FAMILIES ? n[f] : "?";
}
inline int family_from_name(const std::string& s) {
    for (int f = 0; f < NUM_FAMILIES; ++f)
        if (s == family_name(f)) return f;
    return -1;
}

struct Shape {
    int64_t B = 1, Hq = 1, Hkv = 1, Nq = 0, Nk = 0, D = 64;
    bool causal = false;  // only decides where needles may be planted (visible to their rows)
};

struct Inputs {
    Shape s;
    std::vector<float> q, k, v;
    // Per query row [b][h][i]: the key position planted for it (llm and needle families), or -1.
    std::vector<int64_t> needle_key;
    int64_t sinks = 0;  // llm: keys 0..sinks-1 are attention sinks

    float* qrow(int64_t b, int64_t h, int64_t i) {
        return &q[size_t(((b * s.Hq + h) * s.Nq + i) * s.D)];
    }
    float* krow(int64_t b, int64_t h, int64_t j) {
        return &k[size_t(((b * s.Hkv + h) * s.Nk + j) * s.D)];
    }
    float* vrow(int64_t b, int64_t h, int64_t j) {
        return &v[size_t(((b * s.Hkv + h) * s.Nk + j) * s.D)];
    }
    const float* qrow(int64_t b, int64_t h, int64_t i) const {
        return &q[size_t(((b * s.Hq + h) * s.Nq + i) * s.D)];
    }
    const float* krow(int64_t b, int64_t h, int64_t j) const {
        return &k[size_t(((b * s.Hkv + h) * s.Nk + j) * s.D)];
    }
    const float* vrow(int64_t b, int64_t h, int64_t j) const {
        return &v[size_t(((b * s.Hkv + h) * s.Nk + j) * s.D)];
    }
};

// ---- random numbers ---------------------------------------------------------------------------
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// splitmix64 stream; normals by Box-Muller (both halves used).
struct Rng {
    uint64_t st;
    bool has_spare = false;
    double spare = 0;
    explicit Rng(uint64_t seed) : st(mix64(seed ^ 0x6a09e667f3bcc909ull)) {}
    uint64_t next() {
        st += 0x9e3779b97f4a7c15ull;
        return mix64(st);
    }
    double uniform() { return double(next() >> 11) * 0x1p-53; }            // [0, 1)
    int64_t below(int64_t n) { return n <= 0 ? 0 : int64_t(next() % uint64_t(n)); }
    double normal() {
        if (has_spare) {
            has_spare = false;
            return spare;
        }
        const double u1 = 1.0 - uniform(), u2 = uniform();  // u1 in (0, 1]
        const double r = std::sqrt(-2.0 * std::log(u1)), a = 6.283185307179586 * u2;
        spare = r * std::sin(a);
        has_spare = true;
        return r * std::cos(a);
    }
};

// A stream for one purpose of one (batch, head): independent of generation order.
inline Rng stream(uint64_t seed, uint64_t purpose, int64_t b, int64_t h) {
    return Rng(mix64(seed * 0x100000001b3ull + purpose) ^ mix64(uint64_t(b) * 0x9e3779b1ull + uint64_t(h) * 0x85ebca77ull + 17));
}

enum Purpose : uint64_t { P_Q = 1, P_K, P_V, P_CENTRES, P_ASSIGN_Q, P_ASSIGN_K, P_CONTENT, P_SINK,
                          P_NEEDLE, P_VMEAN };

inline void fill_normal(float* x, int64_t n, Rng& r, double sd = 1.0) {
    for (int64_t i = 0; i < n; ++i) x[i] = float(sd * r.normal());
}

inline void random_unit(std::vector<double>& u, int64_t D, Rng& r) {
    u.assign(size_t(D), 0.0);
    double n2 = 0;
    for (auto& x : u) {
        x = r.normal();
        n2 += x * x;
    }
    const double inv = 1.0 / std::sqrt(std::max(n2, 1e-300));
    for (auto& x : u) x *= inv;
}

// x <- x - (x.u) u   (u a unit vector)
inline void project_out(float* x, const std::vector<double>& u) {
    double dot = 0;
    for (size_t d = 0; d < u.size(); ++d) dot += double(x[d]) * u[d];
    for (size_t d = 0; d < u.size(); ++d) x[d] = float(double(x[d]) - dot * u[d]);
}

inline float bf16_round(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return f;
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    float r;
    std::memcpy(&r, &u, 4);
    return r;
}
inline void round_to_bf16(std::vector<float>& x) {
    for (float& f : x) f = bf16_round(f);
}
inline void round_inputs_to_bf16(Inputs& in) {
    round_to_bf16(in.q);
    round_to_bf16(in.k);
    round_to_bf16(in.v);
}

// RoPE (base 10000): the pair (2t, 2t+1) is rotated by the angle pos * 10000^(-2t/D); with odd D
// the last element is left as it is.
inline std::vector<double> rope_thetas(int64_t D) {
    std::vector<double> th;
    for (int64_t t = 0; 2 * t + 1 < D; ++t) th.push_back(std::pow(10000.0, -2.0 * double(t) / double(D)));
    return th;
}
inline void rope(float* x, const std::vector<double>& theta, int64_t pos) {
    for (size_t t = 0; t < theta.size(); ++t) {
        const double a = double(pos) * theta[t], c = std::cos(a), s = std::sin(a);
        const double x0 = x[2 * t], x1 = x[2 * t + 1];
        x[2 * t] = float(c * x0 - s * x1);
        x[2 * t + 1] = float(s * x0 + c * x1);
    }
}

// ---- diffuse ------------------------------------------------------------------------------------
// diffuse: q, k and v are i.i.d. N(0, 1). With the default scale every score is about N(0, 1),
// so every row spreads its mass almost evenly over all visible keys: no key, window or cluster
// carries a noticeable share, and only sampling can approximate the tail. This is the hardest
// case for any sparse or sampled method (the error of a uniform sample of m keys falls only as
// 1/sqrt(m)) and the easiest one for the trivial estimator (the mean of the values), which is
// therefore printed beside it.
inline void make_diffuse(Inputs& in, uint64_t seed) {
    const Shape& s = in.s;
    for (int64_t b = 0; b < s.B; ++b) {
        for (int64_t h = 0; h < s.Hq; ++h) {
            Rng r = stream(seed, P_Q, b, h);
            fill_normal(in.qrow(b, h, 0), s.Nq * s.D, r);
        }
        for (int64_t h = 0; h < s.Hkv; ++h) {
            Rng rk = stream(seed, P_K, b, h), rv = stream(seed, P_V, b, h);
            fill_normal(in.krow(b, h, 0), s.Nk * s.D, rk);
            fill_normal(in.vrow(b, h, 0), s.Nk * s.D, rv);
        }
    }
}

// ---- clustered ------------------------------------------------------------------------------------
// clustered: per (batch, kv head) C = 32 centres with N(0, 1) entries; every key and every
// query picks one of them uniformly at random and is x = 0.8 centre + 0.6 N(0, I) (unit variance
// per entry); v is i.i.d. N(0, 1). With the default scale a query scores about 0.64 sqrt(D)
// (5.1 at D = 64, 7.2 at D = 128) against the keys of its own cluster and about N(0, 1) against
// the others, so each row puts nearly all its mass on ~Nk/32 keys scattered uniformly over the
// cache: nothing local, found only by score (sketches, heavy keys), and too many keys to be
// called a needle.
inline void make_clustered(Inputs& in, uint64_t seed) {
    const Shape& s = in.s;
    const int64_t C = 32, D = s.D, G = s.Hq / s.Hkv;
    std::vector<float> cen(size_t(C * D));
    for (int64_t b = 0; b < s.B; ++b)
        for (int64_t hk = 0; hk < s.Hkv; ++hk) {
            Rng rc = stream(seed, P_CENTRES, b, hk);
            fill_normal(cen.data(), C * D, rc);
            Rng ra = stream(seed, P_ASSIGN_K, b, hk), rk = stream(seed, P_K, b, hk),
                rv = stream(seed, P_V, b, hk);
            for (int64_t j = 0; j < s.Nk; ++j) {
                const float* c = &cen[size_t(ra.below(C) * D)];
                float* x = in.krow(b, hk, j);
                for (int64_t d = 0; d < D; ++d) x[d] = float(0.8 * c[d] + 0.6 * rk.normal());
            }
            fill_normal(in.vrow(b, hk, 0), s.Nk * D, rv);
            for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
                Rng rq = stream(seed, P_Q, b, h), raq = stream(seed, P_ASSIGN_Q, b, h);
                for (int64_t i = 0; i < s.Nq; ++i) {
                    const float* c = &cen[size_t(raq.below(C) * D)];
                    float* x = in.qrow(b, h, i);
                    for (int64_t d = 0; d < D; ++d) x[d] = float(0.8 * c[d] + 0.6 * rq.normal());
                }
            }
        }
}

// ---- llm ------------------------------------------------------------------------------------------
// Constants of the llm family (scores in units of the default scale 1/sqrt(D)).
struct LlmConstants {
    int64_t sinks = 4;          // sink keys at positions 0..sinks-1
    double sink_share = 0.30;   // share of a typical (last-position) row's mass on the sinks
    double peak = 14.0;         // mean score of a query against the key at its own position
    double alpha2 = 0.95;       // share of q's and k's variance that is content (the rest noise)
    double corr_len = 64;       // correlation length of the content, in positions
    double needle_rate = 0.01;  // share of query rows with a planted long-range match
    int64_t needle_min_dist = 1024;
    double v_mean = 0.25;       // |entries| of the shared value mean, ~N(0, v_mean^2)
};

// Expected softmax weight sum of the content part of a row (before sinks and needles) over
// `visible` keys behind it, for the construction below: the score of the key at distance t is
// about N(mu_t, var_t) with r_t = alpha2 rho^t kappa(t), mu_t = g sqrt(D) r_t (= peak r_t /
// alpha2), var_t = g^2 (1 - r_t^2) (the part of the noise that differs from key to key),
// kappa(t) the mean over RoPE pairs of cos(t theta).
inline double llm_content_mass(const LlmConstants& c, int64_t D, int64_t visible) {
    const double g = c.peak / (c.alpha2 * std::sqrt(double(D)));
    const double rho = std::exp(-1.0 / c.corr_len);
    const int64_t pairs = std::max<int64_t>(1, D / 2);
    double m = 0;
    double rt = 1.0;
    int64_t t = 0;
    for (; t < visible && rt > 1e-6; ++t) {
        rt = std::pow(rho, double(t));
        double kap = 0;
        for (int64_t p = 0; p < pairs; ++p)
            kap += std::cos(double(t) * std::pow(10000.0, -2.0 * double(p) / double(D)));
        kap /= double(pairs);
        const double r = c.alpha2 * rt * kap;
        const double mu = g * std::sqrt(double(D)) * r, var = g * g * (1 - r * r);
        m += std::exp(mu + var / 2);
    }
    m += double(visible - t) * std::exp(g * g / 2);
    return m;
}

// llm: LLM-like heads. Per (batch, kv head) a content vector c(p) (unit-variance entries)
// drifts slowly along the cache (AR(1), correlation length 64 positions, each row rescaled to
// norm sqrt(D)); a key at position j is RoPE_j(sqrt(0.95) c(j) + sqrt(0.05) noise) and a query
// at position p is g RoPE_p(sqrt(0.95) c(p) + sqrt(0.05) noise) with RoPE base 10000 on pairs of
// dims and the gain g chosen so that a query scores 14 on average against the key at its own
// position (g = 1.84 at D = 64, 1.30 at D = 128): nearby keys score high (content correlation
// times the RoPE decay), far keys about N(0, g^2), i.e. strong locality. Four sink keys at positions 0..3 lie
// along a shared sink direction that every query has a component on (all other keys and the
// queries' content are orthogonal to it), at a score set from the expected mass of the rest of
// the row so that they take about 30% of the mass of a row at the end of the cache. About 1%
// of the queries get a long-range needle: a random direction added to the query and to one key
// at least 1024 positions back (causal; any key 1024 away otherwise) with a score set from the
// expected mass of the row, so that it carries most of its row's mass (median ~70%, from ~15% to
// ~95% between the 10th and 90th percentile). v is i.i.d. N(0, 1) plus a small mean shared by the
// head (entries N(0, 0.25^2)). Measured median shares of a causal row near the end of the cache
// (default scale, 512 rows of the last 512 positions; approx_bench --shares prints them): 32k
// keys: sinks 37% / 32%, last 256 keys 58% / 66%, far tail 4.4% / 2.3% (D = 64 / 128); 131k
// keys: sinks 38% / 32%, last 256 46% / 60%, far tail 16% / 7.5%; the tail grows with the
// cache, as it does in trained models.
inline void make_llm(Inputs& in, uint64_t seed, const LlmConstants& c = LlmConstants()) {
    const Shape& s = in.s;
    const int64_t D = s.D, G = s.Hq / s.Hkv, Nq = s.Nq, Nk = s.Nk;
    const double g = c.peak / (c.alpha2 * std::sqrt(double(D)));
    const double a = std::sqrt(c.alpha2), be = std::sqrt(1 - c.alpha2);
    const double rho = std::exp(-1.0 / c.corr_len), inno = std::sqrt(1 - rho * rho);
    const int64_t sinks = std::min<int64_t>(c.sinks, Nk);
    const std::vector<double> thetas = rope_thetas(D);
    in.sinks = sinks;
    // Sink score: share/(1-share) of the expected content mass of a last-position row.
    const double m_content = llm_content_mass(c, D, std::max<int64_t>(1, Nk - sinks));
    const double sink_score =
        std::log(c.sink_share / (1 - c.sink_share) * m_content / double(std::max<int64_t>(1, sinks)));
    // The needle's query component (norm g sqrt(D)) adds g^2 to the variance of the row's other
    // scores, raising its mass by about e^(g^2/2): the needle's score is raised by as much.
    const double needle_score = std::log(m_content / (1 - c.sink_share)) + g * g / 2;
    const double qs = g * std::sqrt(double(D)) * 0.5;      // |query component| on the sink direction
    const double ks = sink_score * std::sqrt(double(D)) / qs;  // |sink key| along it
    const double nq = g * std::sqrt(double(D));            // |query component| on a needle direction
    const double nk = needle_score * std::sqrt(double(D)) / nq;
    // positions of content: min(0, Nk - Nq) .. Nk - 1
    const int64_t p0 = std::min<int64_t>(0, Nk - Nq), P = Nk - p0;
    std::vector<float> content(size_t(P * D));
    std::vector<double> sdir, u;
    for (int64_t b = 0; b < s.B; ++b)
        for (int64_t hk = 0; hk < s.Hkv; ++hk) {
            Rng rc = stream(seed, P_CONTENT, b, hk);
            fill_normal(content.data(), D, rc);
            for (int64_t p = 1; p < P; ++p)
                for (int64_t d = 0; d < D; ++d)
                    content[size_t(p * D + d)] =
                        float(rho * content[size_t((p - 1) * D + d)] + inno * rc.normal());
            for (int64_t p = 0; p < P; ++p) {  // every content row gets the norm sqrt(D)
                float* x = &content[size_t(p * D)];
                double n2 = 0;
                for (int64_t d = 0; d < D; ++d) n2 += double(x[d]) * x[d];
                const double f = std::sqrt(double(D) / std::max(n2, 1e-300));
                for (int64_t d = 0; d < D; ++d) x[d] = float(x[d] * f);
            }
            Rng rs = stream(seed, P_SINK, b, hk);
            random_unit(sdir, D, rs);
            Rng rk = stream(seed, P_K, b, hk), rv = stream(seed, P_V, b, hk),
                rm = stream(seed, P_VMEAN, b, hk);
            for (int64_t j = 0; j < Nk; ++j) {
                float* x = in.krow(b, hk, j);
                if (j < sinks) {
                    for (int64_t d = 0; d < D; ++d) x[d] = float(0.1 * rk.normal());
                    project_out(x, sdir);
                    for (int64_t d = 0; d < D; ++d) x[d] += float(ks * sdir[size_t(d)]);
                    continue;
                }
                const float* cv = &content[size_t((j - p0) * D)];
                for (int64_t d = 0; d < D; ++d) x[d] = float(a * cv[d] + be * rk.normal());
                rope(x, thetas, j);
                project_out(x, sdir);
            }
            std::vector<double> vmean(static_cast<size_t>(D));
            for (auto& m : vmean) m = c.v_mean * rm.normal();
            for (int64_t j = 0; j < Nk; ++j) {
                float* x = in.vrow(b, hk, j);
                for (int64_t d = 0; d < D; ++d) x[d] = float(vmean[size_t(d)] + rv.normal());
            }
            for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
                Rng rq = stream(seed, P_Q, b, h);
                for (int64_t i = 0; i < Nq; ++i) {
                    const int64_t p = i + Nk - Nq;
                    const float* cv = &content[size_t((p - p0) * D)];
                    float* x = in.qrow(b, h, i);
                    for (int64_t d = 0; d < D; ++d) x[d] = float(g * (a * cv[d] + be * rq.normal()));
                    rope(x, thetas, std::max<int64_t>(p, 0));
                    project_out(x, sdir);
                    for (int64_t d = 0; d < D; ++d) x[d] += float(qs * sdir[size_t(d)]);
                }
            }
            // Needles: ~1% of the query rows of each query head of this kv head.
            Rng rn = stream(seed, P_NEEDLE, b, hk);
            for (int64_t h = hk * G; h < (hk + 1) * G; ++h)
                for (int64_t i = 0; i < Nq; ++i) {
                    if (!(rn.uniform() < c.needle_rate)) continue;
                    const int64_t p = i + Nk - Nq;
                    // candidate keys: sinks excluded; causal: j <= p - dist; else |j - p| >= dist
                    const int64_t lo = sinks, back_hi = p - c.needle_min_dist;  // [lo, back_hi]
                    const int64_t fwd_lo = p + c.needle_min_dist;                // [fwd_lo, Nk)
                    const int64_t nb = std::max<int64_t>(0, back_hi - lo + 1);
                    const int64_t nf = s.causal ? 0 : std::max<int64_t>(0, Nk - std::max(fwd_lo, lo));
                    if (nb + nf == 0) continue;
                    const int64_t r = rn.below(nb + nf);
                    const int64_t j = r < nb ? lo + r : std::max(fwd_lo, lo) + (r - nb);
                    random_unit(u, D, rn);
                    {
                        double dot = 0;
                        for (int64_t d = 0; d < D; ++d) dot += u[size_t(d)] * sdir[size_t(d)];
                        double n2 = 0;
                        for (int64_t d = 0; d < D; ++d) {
                            u[size_t(d)] -= dot * sdir[size_t(d)];
                            n2 += u[size_t(d)] * u[size_t(d)];
                        }
                        const double inv = 1 / std::sqrt(std::max(n2, 1e-300));
                        for (auto& x : u) x *= inv;
                    }
                    float* qx = in.qrow(b, h, i);
                    float* kx = in.krow(b, hk, j);
                    for (int64_t d = 0; d < D; ++d) {
                        qx[d] += float(nq * u[size_t(d)]);
                        kx[d] += float(nk * u[size_t(d)]);
                    }
                    in.needle_key[size_t((b * s.Hq + h) * Nq + i)] = j;
                }
        }
}

// ---- needle ---------------------------------------------------------------------------------------
// needle: a diffuse background (q, k, v i.i.d. N(0, 1)) with planted long-range matches. Per
// (batch, kv head), the query rows come in groups of 32 consecutive positions; each group g has
// a random unit direction u_g, and its queries are q = n - (n.u_g) u_g + (sqrt(D)/2) u_g (n
// noise). One key per group, at a random position far back (causal: at least 1024 positions
// before the group's first query; not causal: at least 1024 positions from every query of the
// group; groups with no such key get no needle), is set to m u_g with m chosen so that its
// score exceeds the typical background score (0) by ln(Nk) + 1.5 nats: its weight e^(ln Nk +
// 1.5) is about 4.5 Nk against about 1.9 Nk for the whole background, so the needle carries
// about 70% of its rows' mass, and missing it is an O(1) error. Neither locality nor sinks help:
// only a score-driven search (sketches / heavy keys) finds the needle.
inline void make_needle(Inputs& in, uint64_t seed) {
    make_diffuse(in, seed);
    const Shape& s = in.s;
    const int64_t D = s.D, G = s.Hq / s.Hkv, Nq = s.Nq, Nk = s.Nk, gs = 32, dist = 1024;
    const double aq = 0.5 * std::sqrt(double(D));
    const double score = std::log(double(std::max<int64_t>(Nk, 1))) + 1.5;
    const double m = score * std::sqrt(double(D)) / aq;
    std::vector<double> u;
    for (int64_t b = 0; b < s.B; ++b)
        for (int64_t hk = 0; hk < s.Hkv; ++hk) {
            Rng rn = stream(seed, P_NEEDLE, b, hk);
            std::vector<char> used(size_t(Nk), 0);
            for (int64_t g0 = 0; g0 < Nq; g0 += gs) {
                const int64_t g1 = std::min(Nq, g0 + gs);
                const int64_t pf = g0 + Nk - Nq, pl = g1 - 1 + Nk - Nq;
                random_unit(u, D, rn);
                const int64_t back_hi = std::min<int64_t>(pf - dist, Nk - 1);  // [0, back_hi]
                const int64_t fwd_lo = std::max<int64_t>(pl + dist, 0);        // [fwd_lo, Nk)
                const int64_t nb = std::max<int64_t>(0, back_hi + 1);
                const int64_t nf = s.causal ? 0 : std::max<int64_t>(0, Nk - fwd_lo);
                int64_t j = -1;
                for (int tries = 0; tries < 16 && nb + nf > 0; ++tries) {
                    const int64_t r = rn.below(nb + nf);
                    const int64_t c = r < nb ? r : fwd_lo + (r - nb);
                    if (!used[size_t(c)]) {
                        j = c;
                        break;
                    }
                }
                if (j >= 0) {
                    used[size_t(j)] = 1;
                    float* kx = in.krow(b, hk, j);
                    for (int64_t d = 0; d < D; ++d) kx[d] = float(m * u[size_t(d)]);
                }
                for (int64_t h = hk * G; h < (hk + 1) * G; ++h)
                    for (int64_t i = g0; i < g1; ++i) {
                        float* qx = in.qrow(b, h, i);
                        project_out(qx, u);
                        for (int64_t d = 0; d < D; ++d) qx[d] += float(aq * u[size_t(d)]);
                        if (j >= 0) in.needle_key[size_t((b * s.Hq + h) * Nq + i)] = j;
                    }
            }
        }
}

// ---- entry point ----------------------------------------------------------------------------------
inline Inputs make_inputs(int family, const Shape& s, uint64_t seed) {
    Inputs in;
    in.s = s;
    in.q.assign(size_t(s.B * s.Hq * s.Nq * s.D), 0.f);
    in.k.assign(size_t(s.B * s.Hkv * s.Nk * s.D), 0.f);
    in.v.assign(size_t(s.B * s.Hkv * s.Nk * s.D), 0.f);
    in.needle_key.assign(size_t(s.B * s.Hq * s.Nq), -1);
    if (s.Hkv <= 0 || s.Hq % s.Hkv != 0) return in;
    switch (family) {
        case DIFFUSE: make_diffuse(in, seed); break;
        case CLUSTERED: make_clustered(in, seed); break;
        case LLM: make_llm(in, seed); break;
        case NEEDLE: make_needle(in, seed); break;
        default: break;
    }
    return in;
}

}  // namespace hafam
