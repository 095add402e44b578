// Host replay of the CUDA HyperAttention pipeline's indexing (no GPU): the tables of
// cpu/cuda/hyper_tables.h exactly as hyper.cpp uploads them, then what each kernel does,
// written in plain C++ (double) from the kernels' own index expressions: hashing (double sums
// in d order, inverse Gray rank), per-segment stable sorts (std::stable_sort stands for CUB's
// stable segmented radix sort), inverse key permutations and sample positions, one rect task
// at a time (its rows via the query permutation, its window of sorted keys, its samples with
// weight log2(nk/m) and the in-window mask), the causal state carried across levels, the exact
// leaves and the finish merge. Compared with the CPU backend's ha_attention_hyper (f32) on the
// same inputs: a wrong window, sample, mask, weight, segment or merge shows as a difference far
// above fp32 rounding. Build and run (CPU-only library is enough):
//   c++ -O2 -std=c++17 -Icpp/include -Icpp/src -Icpp/cuda -I/usr/local/cuda/include
//       scripts/gpu/check_hyper_host.cpp -Ltarget/native -lhyperattn -o /tmp/check_hyper_host (one line)
//   LD_LIBRARY_PATH=target/native /tmp/check_hyper_host
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "cpu/hyper/bucket_rank.h"
#include "hyper_tables.h"
#include "hyperattn.h"

using namespace ha::cuda;
namespace hp = ha::cpu::hyper;

struct Case {
    int64_t B, Hq, Hkv, Nq, Nk, D;
    bool causal;
    int32_t block, samples, min_seq, r;
};

static double run(const Case& c) {
    const int64_t G = c.Hq / c.Hkv;
    std::mt19937 rng(uint32_t(c.Nq * 131 + c.Nk * 7 + c.D));
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> q(size_t(c.B * c.Hq * c.Nq * c.D)), k(size_t(c.B * c.Hkv * c.Nk * c.D)),
        v(k.size());
    for (auto* t : {&q, &k, &v})
        for (float& x : *t) x = nd(rng);
    const float scale = float(1.0 / std::sqrt(double(c.D)));
    const uint64_t seed = 99;

    // The CPU backend.
    std::vector<float> out_cpu(q.size()), lse_cpu(size_t(c.B * c.Hq * c.Nq));
    auto desc = [](void* p, int64_t b, int64_t h, int64_t s, int64_t d) {
        ha_tensor t{};
        t.data = p;
        t.dtype = HA_DTYPE_F32;
        t.shape[0] = b; t.shape[1] = h; t.shape[2] = s; t.shape[3] = d;
        t.strides[3] = 1; t.strides[2] = d; t.strides[1] = s * d; t.strides[0] = h * s * d;
        return t;
    };
    ha_tensor tq = desc(q.data(), c.B, c.Hq, c.Nq, c.D), tk = desc(k.data(), c.B, c.Hkv, c.Nk, c.D),
              tv = desc(v.data(), c.B, c.Hkv, c.Nk, c.D), to = desc(out_cpu.data(), c.B, c.Hq, c.Nq, c.D),
              tl = desc(lse_cpu.data(), c.B, c.Hq, c.Nq, 1);
    ha_hyper_params p;
    ha_hyper_params_init(&p);
    p.causal = c.causal;
    p.block_size = c.block;
    p.sample_size = c.samples;
    p.min_seq_len = c.min_seq;
    p.lsh_projections = c.r;
    p.seed = seed;
    if (ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p) != HA_OK) {
        std::printf("CPU hyper failed: %s\n", ha_last_error());
        return INFINITY;
    }

    // The device pipeline, replayed (one chunk: every group).
    const HyperTables t = hyper_tables(c.B, c.Hkv, c.Nq, c.Nk, c.causal, c.block, c.samples, c.min_seq, seed);
    const std::vector<float> planes = hp::hyperplanes(seed, c.r, c.D);
    auto hash = [&](const float* x) {  // hash_kernel
        uint32_t code = 0;
        for (int pl = 0; pl < c.r; ++pl) {
            double acc = 0;
            for (int64_t d = 0; d < c.D; ++d) acc = std::fma(double(x[d]), double(planes[size_t(pl * c.D + d)]), acc);
            code |= uint32_t(acc > 0.0) << pl;
        }
        return uint16_t(hp::bucket_rank(code));
    };
    const int64_t heads = c.B * c.Hq, groups = c.B * c.Hkv;
    std::vector<uint16_t> kr(size_t(groups * c.Nk)), qr(size_t(heads * c.Nq));
    for (int64_t i = 0; i < groups * c.Nk; ++i) kr[size_t(i)] = hash(k.data() + i * c.D);
    for (int64_t i = 0; i < heads * c.Nq; ++i) qr[size_t(i)] = hash(q.data() + i * c.D);
    // gather_ranks + stable segmented sort: values = local index, ordered by rank.
    auto sorted = [&](const std::vector<uint16_t>& ranks, int64_t N, const std::vector<HyperSeg>& segs,
                      int64_t total, int64_t hs) {
        std::vector<int32_t> perm(size_t(hs * total));
        for (int64_t hd = 0; hd < hs; ++hd)
            for (const HyperSeg& sg : segs) {
                int32_t* pp = perm.data() + hd * total + sg.off;
                for (int64_t x = 0; x < sg.n; ++x) pp[x] = int32_t(x);
                std::stable_sort(pp, pp + sg.n, [&](int32_t a, int32_t b) {
                    return ranks[size_t(hd * N + sg.start + a)] < ranks[size_t(hd * N + sg.start + b)];
                });
            }
        return perm;
    };
    const std::vector<int32_t> kperm = sorted(kr, c.Nk, t.ksegs, t.ktotal, groups);
    const std::vector<int32_t> qperm = sorted(qr, c.Nq, t.qsegs, t.qtotal, heads);
    std::vector<int32_t> inv(kperm.size()), spos(size_t(groups * t.stotal));
    for (int64_t g = 0; g < groups; ++g)  // inverse_kernel
        for (const HyperSeg& sg : t.ksegs)
            for (int64_t x = 0; x < sg.n; ++x)
                inv[size_t(g * t.ktotal + sg.off + kperm[size_t(g * t.ktotal + sg.off + x)])] = int32_t(x);
    for (int64_t g = 0; g < groups; ++g)  // sample_pos_kernel
        for (const HyperSampleSeg& ss : t.ssegs)
            for (int64_t x = 0; x < ss.m; ++x)
                spos[size_t(g * t.stotal + ss.soff + x)] =
                    inv[size_t(g * t.ktotal + ss.koff + t.samp[size_t(g * t.stotal + ss.soff + x)])];

    const double sl2 = double(scale) * 1.4426950408889634;
    std::vector<double> st_o(size_t(heads * c.Nq * c.D), 0.0), st_m(size_t(heads * c.Nq), 0.0),
        st_l(size_t(heads * c.Nq), 0.0);
    std::vector<double> out(q.size(), NAN), lse(size_t(heads * c.Nq), NAN);
    auto dot = [&](const float* a, const float* b) {
        double s = 0;
        for (int64_t d = 0; d < c.D; ++d) s += double(a[d]) * double(b[d]);
        return s;
    };
    for (int level = 0; level < t.plan.levels; ++level)
        for (int64_t ti = t.level_begin[size_t(level)]; ti < t.level_begin[size_t(level) + 1]; ++ti)
            for (int64_t hl = 0; hl < heads; ++hl) {  // one CTA of rect_kernel
                const HyperTask tk = t.tasks[size_t(ti)];
                const HyperRect rc = t.rects[size_t(tk.ri)];
                const int64_t b = hl / c.Hq, h = hl % c.Hq, lg = hl / G, kvh = h / G;
                const int32_t* qp = qperm.data() + hl * t.qtotal + rc.qoff + tk.pos0;
                const int32_t* kp = kperm.data() + lg * t.ktotal + rc.koff;
                const int32_t* sp = t.samp.data() + lg * t.stotal + rc.soff;
                const int32_t* spp = spos.data() + lg * t.stotal + rc.soff;
                // key list: (key row, weight)
                std::vector<std::pair<int64_t, double>> keys;
                for (int j = tk.a; j < tk.b; ++j) keys.push_back({rc.k0 + kp[j], 0.0});
                for (int x = 0; x < rc.m; ++x) {
                    const int ps = spp[x];
                    if (ps >= tk.a && ps < tk.b) continue;
                    keys.push_back({rc.k0 + sp[x], double(rc.bias_log2)});
                }
                for (int rl = 0; rl < tk.rows; ++rl) {
                    const int64_t i = rc.q0 + qp[rl];
                    const int64_t si = hl * c.Nq + i;
                    double m = -INFINITY, l = 0;
                    std::vector<double> o(size_t(c.D), 0.0);
                    if (c.causal && st_l[size_t(si)] != 0) {
                        m = st_m[size_t(si)];
                        l = st_l[size_t(si)];
                        for (int64_t d = 0; d < c.D; ++d) o[size_t(d)] = st_o[size_t(si * c.D + d)];
                    }
                    const float* qrow = q.data() + ((b * c.Hq + h) * c.Nq + i) * c.D;
                    for (const auto& [key, w] : keys) {
                        const int64_t kr_ = (b * c.Hkv + kvh) * c.Nk + key;
                        const double s = dot(qrow, k.data() + kr_ * c.D) * sl2 + w;
                        const double mn = std::max(m, s);
                        const double al = m == -INFINITY ? 0 : std::exp2(m - mn), pr = std::exp2(s - mn);
                        for (int64_t d = 0; d < c.D; ++d)
                            o[size_t(d)] = o[size_t(d)] * al + pr * double(v[size_t(kr_ * c.D + d)]);
                        l = l * al + pr;
                        m = mn;
                    }
                    if (!c.causal) {
                        for (int64_t d = 0; d < c.D; ++d) out[size_t(si * c.D + d)] = o[size_t(d)] / l;
                        lse[size_t(si)] = m * std::log(2.0) + std::log(l);
                    } else {
                        st_m[size_t(si)] = m;
                        st_l[size_t(si)] = l;
                        for (int64_t d = 0; d < c.D; ++d) st_o[size_t(si * c.D + d)] = o[size_t(d)];
                    }
                }
            }
    if (c.causal) {
        for (int64_t hl = 0; hl < heads; ++hl) {
            const int64_t b = hl / c.Hq, h = hl % c.Hq, kvh = h / G;
            for (int64_t i = 0; i < t.plan.empty_rows; ++i) {
                for (int64_t d = 0; d < c.D; ++d) out[size_t((hl * c.Nq + i) * c.D + d)] = 0;
                lse[size_t(hl * c.Nq + i)] = -INFINITY;
            }
            for (const hp::Leaf& lf : t.plan.leaves)
                for (int64_t r = 0; r < lf.n; ++r) {  // exact leaf row, then finish_kernel
                    const int64_t i = lf.q0 + r, si = hl * c.Nq + i;
                    const float* qrow = q.data() + si * c.D;
                    std::vector<double> s(size_t(r + 1));
                    double mx = -INFINITY;
                    for (int64_t j = 0; j <= r; ++j) {
                        s[size_t(j)] = dot(qrow, k.data() + ((b * c.Hkv + kvh) * c.Nk + lf.k0 + j) * c.D) * scale;
                        mx = std::max(mx, s[size_t(j)]);
                    }
                    double den = 0;
                    std::vector<double> leaf(size_t(c.D), 0.0);
                    for (int64_t j = 0; j <= r; ++j) {
                        const double e = std::exp(s[size_t(j)] - mx);
                        den += e;
                        for (int64_t d = 0; d < c.D; ++d)
                            leaf[size_t(d)] += e * double(v[size_t(((b * c.Hkv + kvh) * c.Nk + lf.k0 + j) * c.D + d)]);
                    }
                    const double lleaf = mx + std::log(den);
                    const double l = st_l[size_t(si)];
                    const double ls = l > 0 ? st_m[size_t(si)] * std::log(2.0) + std::log(l) : -INFINITY;
                    const double M = std::max(ls, lleaf);
                    const double ws = ls == -INFINITY ? 0 : std::exp(ls - M), wl = std::exp(lleaf - M);
                    for (int64_t d = 0; d < c.D; ++d)
                        out[size_t(si * c.D + d)] = ((l > 0 ? st_o[size_t(si * c.D + d)] / l * ws : 0) +
                                                     leaf[size_t(d)] / den * wl) / (ws + wl);
                    lse[size_t(si)] = M + std::log(ws + wl);
                }
        }
    }
    double worst = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        const double e = std::abs(out[i] - double(out_cpu[i]));
        worst = std::isnan(e) ? INFINITY : std::max(worst, e);
    }
    for (size_t i = 0; i < lse.size(); ++i) {
        const double a = lse[i], b = lse_cpu[i];
        const double e = (std::isinf(a) && std::isinf(b) && a == b) ? 0 : std::abs(a - b);
        worst = std::isnan(e) ? INFINITY : std::max(worst, e);
    }
    return worst;
}

int main() {
    const Case cases[] = {
        {1, 4, 2, 300, 300, 64, true, 32, 16, 64, 7},   {2, 4, 1, 257, 301, 32, true, 32, 16, 64, 7},
        {1, 2, 2, 350, 200, 16, true, 32, 16, 64, 5},   {1, 6, 2, 190, 333, 24, false, 32, 16, 64, 7},
        {1, 2, 1, 211, 129, 8, false, 32, 16, 64, 16},  {1, 2, 2, 150, 170, 40, true, 16, 8, 40, 1},
        {1, 2, 1, 20, 300, 16, false, 32, 16, 64, 7},   {1, 2, 2, 97, 200, 16, false, 32, 300, 64, 7},
        {1, 2, 1, 3, 1000, 16, true, 32, 16, 64, 7},    {1, 2, 1, 1000, 1100, 16, true, 64, 32, 100, 7},
    };
    int bad = 0;
    for (const Case& c : cases) {
        const double e = run(c);
        const bool ok = e < 2e-4;
        bad += !ok;
        std::printf("%s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s block=%d m=%d min=%d r=%d: max |replay - CPU| %.3g\n",
                    ok ? "ok  " : "FAIL", (long long)c.B, (long long)c.Hq, (long long)c.Hkv, (long long)c.Nq,
                    (long long)c.Nk, (long long)c.D, c.causal ? "causal" : "full", c.block, c.samples, c.min_seq, c.r, e);
    }
    return bad == 0 ? 0 : 1;
}
