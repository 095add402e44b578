// The per-head layout of the tiled prefill: key and value copies with their extra float (the
// sinks and long keys at their head), buckets laid out by (bucket, position), key sketches,
// and the tail's importance-weighted draws, one set per bucket (by half, then position).
#include <cmath>

#include "cpu/approx/sketch.h"
#include "cpu/approx/tiled_state.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx::tiled {
namespace {

double draw_u(uint64_t key, int64_t j) { return double(mix(key + uint64_t(j)) >> 11) * 0x1.0p-53; }

// Importance sampling of the tail: in draw set s, key j is drawn with probability
//   pi = min(1, r (kFlat + (1 - kFlat) exp(lam_sj - top_s) / mean_s)),
// lam_sj = scale · (mean query of the set's rows) · k_j: keys that the set's typical query
// scores higher are drawn more often, and every draw carries the weight 1/pi (its score gains
// -ln(pi), the key's extra float; pi is recomputed from that float, so the weight the kernel
// applies is the one the probability was drawn with). kFlat keeps every key's chance at
// least that share of r: a query unlike its set's mean loses at most that factor of
// efficiency, never unbiasedness.
constexpr double kFlat = 0.3;

struct Draw {
    double pi;    // inclusion probability (after rounding)
    float bias;   // -ln(pi), as the kernel adds it
};

Draw draw_of(const Head& h, double r, int64_t s, int64_t Nk, int64_t j) {
    // (Float exponentials: every candidate key of every set takes one.)
    const float rho = std::exp(h.lam[size_t(s * Nk + j)] - float(h.lam_top[size_t(s)])) / float(h.lam_mean[size_t(s)]);
    const float pi = std::min(1.f, float(r) * (float(kFlat) + float(1 - kFlat) * rho));
    const float bias = -std::log(pi);
    return Draw{std::min(1.0, double(std::exp(-bias))), bias};
}

}  // namespace

int32_t prepare_head(const Ctx& c, Head& h) {
    h.lpos.clear();
    h.search = true;
    h.kmax = 0;
    const Problem& p = *c.p;
    const int64_t Nk = c.Nk, D = c.D;
    // K and V by position past a head of lp rows that will hold the sinks and long keys (at
    // most S + Nk/kLongShare of them), so one call serves a row's window and its long keys.
    h.lp = (c.S + Nk / kLongShare + kKeyTile - 1) / kKeyTile * kKeyTile;
    const int64_t lp = h.lp;
    h.K.init(c.es, c.D, lp + Nk, c.f16);
    h.V.init(c.es, c.D, lp + Nk, c.f16);
    std::vector<float> knorm(static_cast<size_t>(Nk));
    constexpr int64_t kChunk = 1024;
    int32_t st = parallel_for((Nk + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        std::vector<float> row(size_t(c.Dp));
        for (int64_t j = t * kChunk; j < std::min(Nk, (t + 1) * kChunk); ++j) {
            c.kr->load_rows(h.k, nullptr, j, 1, D, c.Dp, row.data());
            knorm[size_t(j)] = float(std::sqrt(c.kr->sumsq(row.data(), c.Dp)));
            h.K.put(lp + j, row.data(), D, 0.f);
            c.kr->load_rows(h.v, nullptr, j, 1, D, c.Dp, row.data());
            h.V.put(lp + j, row.data(), D, float(c.kr->sumsq(row.data(), c.Dp)));
        }
    });
    if (st != HA_OK) return st;

    h.planes = sketch_planes(p.seed, D, c.Dp);
    h.ksk.assign(size_t(Nk), 0);
    h.kcls.assign(size_t(Nk), 0);
    st = parallel_for((Nk + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        const int64_t j0 = t * kChunk;
        sketch_rows(*c.kr, h.planes.data(), D, c.Dp, h.k, j0, std::min(kChunk, Nk - j0), h.ksk.data() + j0);
    });
    if (st != HA_OK) return st;
    for (int64_t j = c.S; j < Nk; ++j) h.kmax = std::max(h.kmax, double(knorm[size_t(j)]));
    h.kmax *= 1.0 + 1e-6;
    {
        float floor_of[kNormClasses - 1];
        for (int k = 0; k < kNormClasses - 1; ++k) floor_of[k] = float(class_norm(k + 1, h.kmax));
        for (int64_t j = 0; j < Nk; ++j) {
            int k = 0;
            for (int i = 0; i < kNormClasses - 1; ++i) k += knorm[size_t(j)] <= floor_of[i];
            h.kcls[size_t(j)] = uint8_t(k);
        }
    }
    h.knorm = knorm;

    // Long keys: above kLongRatio x the median norm past the sinks, at most Nk/kLongShare.
    h.kbucket.assign(size_t(Nk), 0xff);
    std::vector<float> nn(knorm.begin() + c.S, knorm.end());
    float thr = std::numeric_limits<float>::infinity();
    if (!nn.empty()) {
        std::nth_element(nn.begin(), nn.begin() + nn.size() / 2, nn.end());
        thr = float(kLongRatio * nn[nn.size() / 2]);
        const size_t cap = size_t(Nk / kLongShare);
        const size_t above = size_t(std::count_if(nn.begin(), nn.end(), [&](float x) { return x > thr; }));
        if (above > cap) {  // keep the cap longest
            if (cap == 0) {
                thr = std::numeric_limits<float>::infinity();
            } else {
                std::nth_element(nn.begin(), nn.begin() + (nn.size() - cap), nn.end());
                thr = std::max(thr, nn[nn.size() - cap]);
                // ties at the threshold stay out: ">" below
                thr = std::nextafter(thr, -std::numeric_limits<float>::infinity());
            }
        }
    }
    std::vector<int32_t> rest;
    for (int64_t j = 0; j < c.S; ++j) h.lpos.push_back(int32_t(j));
    for (int64_t j = c.S; j < Nk; ++j)
        (knorm[size_t(j)] > thr ? h.lpos : rest).push_back(int32_t(j));
    // The head: the long keys, then zeros (the kernel reads whole tiles; a masked key's value
    // must still be finite).
    for (size_t t = 0; t < h.lpos.size(); ++t) {
        h.K.copy_from(int64_t(t), h.K, lp + h.lpos[t]);
        h.V.copy_from(int64_t(t), h.V, lp + h.lpos[t]);
    }
    for (int64_t t = int64_t(h.lpos.size()); t < lp; ++t) {
        h.K.zero_row(t);
        h.V.zero_row(t);
    }

    // Buckets of the other keys, laid out by (bucket, position).
    std::vector<uint8_t> id;
    h.bk = cluster_keys(*c.kr, h.k, rest, D, kBuckets, std::max<int64_t>(1, int64_t(rest.size()) / 16), mix(p.seed ^ uint64_t(h.b * 1000003 + h.hk)), id);
    const int C = h.bk.C;
    // Each bucket starts on a key tile of the kernel (a row's range then starts at a tile's
    // first key, not partway into one); the gaps hold zero rows at position "never"
    // (kNoKey), past any cut.
    std::vector<int64_t> size(size_t(C + 1), 0);
    for (size_t t = 0; t < rest.size(); ++t) {
        h.kbucket[size_t(rest[t])] = id[t];
        ++size[size_t(id[t])];
    }
    h.bstart.assign(size_t(C + 2), 0);  // bucket C: none (a row without one samples every key)
    for (int b = 0; b <= C; ++b) h.bstart[size_t(b + 1)] = h.bstart[size_t(b)] + tile_up(size[size_t(b)]);
    const int64_t nb = h.bstart[size_t(C + 1)];
    h.bpos.assign(size_t(nb), kNoKey);
    {
        std::vector<int64_t> fill(h.bstart.begin(), h.bstart.end() - 1);
        for (int32_t j : rest) h.bpos[size_t(fill[h.kbucket[size_t(j)]]++)] = j;
    }
    h.KB.init(c.es, c.D, nb, c.f16);
    h.VB.init(c.es, c.D, nb, c.f16);
    parallel_for((nb + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        for (int64_t o = t * kChunk; o < std::min(nb, (t + 1) * kChunk); ++o) {
            if (h.bpos[size_t(o)] == kNoKey) {
                h.KB.zero_row(o);
                h.VB.zero_row(o);
                continue;
            }
            h.KB.copy_from(o, h.K, lp + h.bpos[size_t(o)]);
            h.VB.copy_from(o, h.V, lp + h.bpos[size_t(o)]);
        }
    });
    return HA_OK;
}

// The half of set s that key j was drawn into, found in the set's draws (so the weight is the
// one the kernel applied).
int draw_half(const Head& h, int64_t s, int64_t j, double* w) {
    for (int hf = 0; hf < 2; ++hf) {
        const int32_t* a = h.tpos.data() + h.tstart[size_t(2 * s + hf)];
        const int32_t* z = h.tpos.data() + h.tstart[size_t(2 * s + hf + 1)];
        const int32_t* f = std::lower_bound(a, z, int32_t(j));
        if (f != z && *f == j) {
            *w = std::exp(double(h.KT.extra[size_t(f - h.tpos.data())]));
            return hf;
        }
    }
    *w = 0;
    return -1;
}

// lam of every set for every key, and each set's normaliser over its keys (neither sink nor
// long, nor of its bucket). A set's mean query: of its bucket's rows (tiled_prefill.cpp). One
// pass over the keys: each (set, chunk) keeps its own top and sum, combined afterwards in
// chunk order (float exponentials through the vector path: sets x keys of them).
int32_t score_keys(const Ctx& c, Head& h) {
    const int64_t sets = h.bk.C + 1, Nk = c.Nk;
    h.lam.assign(size_t(sets * Nk), 0.f);
    h.lam_top.assign(size_t(sets), 0.0);
    h.lam_mean.assign(size_t(sets), 1.0);
    constexpr int64_t kChunk = 1024;
    constexpr int R8 = hsr::kMaxRows;
    const int64_t groups = (sets + R8 - 1) / R8, chunks = (Nk + kChunk - 1) / kChunk;
    std::vector<float> ctop(size_t(sets * chunks), -std::numeric_limits<float>::infinity());
    std::vector<double> csum(size_t(sets * chunks), 0.0);
    std::vector<int64_t> cnt(size_t(sets * chunks), 0);
    int32_t st = parallel_for(groups * chunks, pool_threads(), [&](int64_t t, int) {
        const int64_t s0 = (t / chunks) * R8, ch = t % chunks, j0 = ch * kChunk, n = std::min(kChunk, Nk - j0);
        const int R = int(std::min<int64_t>(R8, sets - s0));
        std::vector<float> S(static_cast<size_t>(R8 * kChunk)), e(static_cast<size_t>(kChunk));
        c.kr->scores(R, h.qcen.data() + s0 * c.Dp, c.Dp, c.D, h.k, nullptr, j0, int(n), S.data(), kChunk);
        const float sc = c.p->base.scale;
        for (int r = 0; r < R; ++r) {
            const int64_t s = s0 + r;
            float* y = S.data() + r * kChunk;
            float* lam = h.lam.data() + s * Nk + j0;
            // y: the set's keys' lam, -inf for the others (sinks, long keys, the bucket's own)
            float top = -std::numeric_limits<float>::infinity();
            int64_t k = 0;
            for (int64_t j = 0; j < n; ++j) {
                lam[j] = sc * y[j];
                const uint8_t kb = h.kbucket[size_t(j0 + j)];
                const bool in = j0 + j >= c.S && kb != 0xff && kb != s;
                y[j] = in ? lam[j] : -std::numeric_limits<float>::infinity();
                top = std::max(top, y[j]);
                k += in;
            }
            if (k == 0 || !std::isfinite(top)) continue;
            for (int64_t j = 0; j < n; ++j) y[j] = std::max(-200.f, (y[j] - top) * float(1.4426950408889634));
            c.kr->exp2v(y, e.data(), n);
            double sum = 0;
            for (int64_t j = 0; j < n; ++j) sum += double(e[size_t(j)]);
            ctop[size_t(s * chunks + ch)] = top;
            csum[size_t(s * chunks + ch)] = sum;
            cnt[size_t(s * chunks + ch)] = k;
        }
    });
    if (st != HA_OK) return st;
    for (int64_t s = 0; s < sets; ++s) {
        float top = -std::numeric_limits<float>::infinity();
        int64_t n = 0;
        for (int64_t ch = 0; ch < chunks; ++ch) {
            top = std::max(top, ctop[size_t(s * chunks + ch)]);
            n += cnt[size_t(s * chunks + ch)];
        }
        if (n == 0 || !std::isfinite(top)) continue;
        double sum = 0;
        for (int64_t ch = 0; ch < chunks; ++ch)
            if (cnt[size_t(s * chunks + ch)] > 0)
                sum += csum[size_t(s * chunks + ch)] * std::exp(double(ctop[size_t(s * chunks + ch)]) - double(top));
        h.lam_top[size_t(s)] = top;
        h.lam_mean[size_t(s)] = sum / double(n);
    }
    return HA_OK;
}

// The tail draws at rate r, per set and half, by the key's hash u_j: u_j < pi/2, pi/2 <= u_j <
// pi. The hash is a pure function of the seed and the position.
int32_t draw_tail(const Ctx& c, Head& h, double r, bool buckets, const std::vector<int64_t>* upto) {
    h.rate = r;
    const int64_t C = h.bk.C, sets = C + 1, Nk = c.Nk;
    constexpr int64_t kChunk = 8192;
    const int64_t chunks = (Nk + kChunk - 1) / kChunk;
    // pos/col[(s * chunks + t) * 2 + hf]: set s's draws of half hf in chunk t
    std::vector<std::vector<int32_t>> pos(size_t(2 * sets * chunks));
    std::vector<std::vector<float>> col(size_t(2 * sets * chunks));
    const int64_t s_first = buckets ? 0 : C;
    // A key is a candidate in set s when r (kFlat + (1 - kFlat) rho) may exceed u/1.05 (the
    // unrounded probability, with room for the log-weight's rounding), i.e. when
    // lam - top - ln(mean) > cap_j = ln((u_j / 1.05r - kFlat) / (1 - kFlat)): a logarithm per
    // key for all sets, and the exact probability only for the candidates.
    std::vector<double> u(static_cast<size_t>(Nk));
    std::vector<float> cap(static_cast<size_t>(Nk));
    int32_t st = parallel_for(chunks, pool_threads(), [&](int64_t t, int) {
        for (int64_t j = t * kChunk; j < std::min(Nk, (t + 1) * kChunk); ++j) {
            u[size_t(j)] = draw_u(h.draw_key, j);
            const double x = (u[size_t(j)] / (1.05 * r) - kFlat) / (1 - kFlat);
            cap[size_t(j)] = x <= 0 ? -std::numeric_limits<float>::infinity() : float(std::log(x));
        }
    });
    if (st != HA_OK) return st;
    st = parallel_for((sets - s_first) * chunks, pool_threads(), [&](int64_t task, int) {
        const int64_t s = s_first + task / chunks, t = task % chunks;
        const float* lam = h.lam.data() + s * Nk;
        const double off = h.lam_top[size_t(s)] + std::log(h.lam_mean[size_t(s)]);
        const int64_t end = upto ? std::min(Nk, (*upto)[size_t(s)] + 1) : Nk;
        for (int64_t j = std::max(c.S, t * kChunk); j < std::min(end, (t + 1) * kChunk); ++j) {
            const uint8_t kb = h.kbucket[size_t(j)];
            if (kb == 0xff || kb == s) continue;
            if (!(double(lam[j]) - off > double(cap[size_t(j)]) - 1e-6)) continue;
            const Draw d = draw_of(h, r, s, Nk, j);
            if (u[size_t(j)] < d.pi) {
                const size_t g = size_t((s * chunks + t) * 2 + (u[size_t(j)] < 0.5 * d.pi ? 0 : 1));
                pos[g].push_back(int32_t(j));
                col[g].push_back(d.bias);
            }
        }
    });
    if (st != HA_OK) return st;
    // Set-major, then half, then position; each (set, half) starts on a key tile, the gaps
    // hold zero rows at position kNoKey.
    std::vector<int64_t> at(size_t(2 * sets * chunks + 1), 0);
    h.tstart.assign(size_t(2 * sets + 1), 0);
    {
        int64_t o = 0, g = 0;
        for (int64_t s = 0; s < sets; ++s)
            for (int hf = 0; hf < 2; ++hf) {
                h.tstart[size_t(2 * s + hf)] = o;
                for (int64_t t = 0; t < chunks; ++t, ++g) {
                    at[size_t(g)] = o;
                    o += int64_t(pos[size_t((s * chunks + t) * 2 + hf)].size());
                }
                o = h.tstart[size_t(2 * s + hf)] + tile_up(o - h.tstart[size_t(2 * s + hf)]);
            }
        h.tstart[size_t(2 * sets)] = o;
        at[size_t(g)] = o;
    }
    const int64_t total = h.tstart.back();
    h.tpos.assign(size_t(total), kNoKey);
    h.KT.init(c.es, c.D, total, c.f16);
    h.VT.init(c.es, c.D, total, c.f16);
    st = parallel_for(2 * sets * chunks, pool_threads(), [&](int64_t g, int) {
        const int64_t s = g / (2 * chunks), hf = (g / chunks) % 2, t = g % chunks;
        const auto& ps = pos[size_t((s * chunks + t) * 2 + hf)];
        const auto& cs = col[size_t((s * chunks + t) * 2 + hf)];
        int64_t o = at[size_t(g)];
        for (size_t i = 0; i < ps.size(); ++i, ++o) {
            const int32_t j = ps[i];
            h.tpos[size_t(o)] = j;
            h.KT.copy_from(o, h.K, h.lp + j);
            h.KT.set_extra(o, cs[i]);
            h.VT.copy_from(o, h.V, h.lp + j);
        }
        // this region's padding (after the last chunk of a (set, half))
        if (t == chunks - 1)
            for (int64_t q = o; q < h.tstart[size_t(2 * s + hf + 1)]; ++q) {
                h.KT.zero_row(q);
                h.VT.zero_row(q);
            }
    });
    if (st != HA_OK) return st;
    // Packed once: every solve over these draws (probes, chunks of rows) reads them.
    return pack_keys(c, h.KT, h.VT, total, h.PKT);
}

}  // namespace ha::cpu::approx::tiled
