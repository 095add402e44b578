// The per-head layout of the tiled prefill: key and value copies with their extra float,
// long keys, buckets laid out by (bucket, position), key sketches, and the tail's
// importance-weighted draws (by position, and by bucket for their subtraction).
#include <cmath>

#include "cpu/approx/sketch.h"
#include "cpu/approx/tiled_state.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx::tiled {
namespace {

double draw_u(uint64_t key, int64_t j) { return double(mix(key + uint64_t(j)) >> 11) * 0x1.0p-53; }

// Importance sampling of the tail: key j is drawn with probability
//   pi = min(1, r (kFlat + (1 - kFlat) exp(lam_j - top) / mean)),
// lam_j = scale · (mean query of the head's rows) · k_j: keys that the typical query scores
// higher are drawn more often, and every draw carries the weight 1/pi (its score gains
// -ln(pi), the key's extra float; pi is recomputed from that float, so the weight the kernel
// applies is the one the probability was drawn with). kFlat keeps every key's chance at
// least that share of r: a query unlike the mean loses at most that factor of efficiency,
// never unbiasedness. (The draws serve every row, so
// the weights cannot follow a row's bucket: per-bucket draws cost a copy of the tail each.)
constexpr double kFlat = 0.3;

struct Draw {
    double pi;    // inclusion probability (after rounding)
    float bias;   // -ln(pi), as the kernel adds it
};

Draw draw_of(const Head& h, int64_t j) {
    const double rho = std::exp(double(h.lam[size_t(j)]) - h.lam_top) / h.lam_mean;
    const double pi = std::min(1.0, h.rate * (kFlat + (1 - kFlat) * rho));
    const float bias = float(-std::log(pi));
    return Draw{std::min(1.0, std::exp(-double(bias))), bias};
}

}  // namespace

int32_t prepare_head(const Ctx& c, Head& h) {
    h.lpos.clear();
    h.search = true;
    h.kmax = 0;
    const Problem& p = *c.p;
    const int64_t Nk = c.Nk, D = c.D;
    h.K.init(c.es, c.D, Nk, c.f16);
    h.V.init(c.es, c.D, Nk, c.f16);
    std::vector<float> knorm(static_cast<size_t>(Nk));
    constexpr int64_t kChunk = 1024;
    int32_t st = parallel_for((Nk + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        std::vector<float> row(size_t(c.Dp));
        for (int64_t j = t * kChunk; j < std::min(Nk, (t + 1) * kChunk); ++j) {
            c.kr->load_rows(h.k, nullptr, j, 1, D, c.Dp, row.data());
            knorm[size_t(j)] = float(std::sqrt(c.kr->sumsq(row.data(), c.Dp)));
            h.K.put(j, row.data(), D, 0.f);
            c.kr->load_rows(h.v, nullptr, j, 1, D, c.Dp, row.data());
            h.V.put(j, row.data(), D, float(c.kr->sumsq(row.data(), c.Dp)));
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
    h.KL.init(c.es, c.D, int64_t(h.lpos.size()), c.f16);
    h.VL.init(c.es, c.D, int64_t(h.lpos.size()), c.f16);
    for (size_t t = 0; t < h.lpos.size(); ++t) {
        h.KL.copy_from(int64_t(t), h.K, h.lpos[t]);
        h.VL.copy_from(int64_t(t), h.V, h.lpos[t]);
    }

    // Buckets of the other keys, laid out by (bucket, position).
    std::vector<uint8_t> id;
    h.bk = cluster_keys(*c.kr, h.k, rest, D, kBuckets, std::max<int64_t>(1, int64_t(rest.size()) / 16), mix(p.seed ^ uint64_t(h.b * 1000003 + h.hk)), id);
    const int C = h.bk.C;
    h.bstart.assign(size_t(C + 2), 0);  // bucket C: none (a row without one samples every key)
    for (size_t t = 0; t < rest.size(); ++t) {
        h.kbucket[size_t(rest[t])] = id[t];
        ++h.bstart[size_t(id[t]) + 1];
    }
    for (int b = 0; b <= C; ++b) h.bstart[size_t(b + 1)] += h.bstart[size_t(b)];
    h.bpos.assign(rest.size(), 0);
    {
        std::vector<int64_t> fill(h.bstart.begin(), h.bstart.end() - 2);
        for (int32_t j : rest) h.bpos[size_t(fill[h.kbucket[size_t(j)]]++)] = j;
    }
    h.KB.init(c.es, c.D, int64_t(rest.size()), c.f16);
    h.VB.init(c.es, c.D, int64_t(rest.size()), c.f16);
    for (size_t t = 0; t < h.bpos.size(); ++t) {
        h.KB.copy_from(int64_t(t), h.K, h.bpos[t]);
        h.VB.copy_from(int64_t(t), h.V, h.bpos[t]);
    }
    return HA_OK;
}

// The half of the tail key j belongs to: 0, 1, or -1 (not drawn), and its weight.
int draw_half(const Ctx& c, const Head& h, int64_t j, double* pi) {
    const double u = draw_u(h.draw_key, j);
    const Draw d = draw_of(h, j);
    *pi = d.pi;
    return u < 0.5 * d.pi ? 0 : u < d.pi ? 1 : -1;
}

// lam for every key, and the normaliser over the tail keys (neither sink nor long).
int32_t score_keys(const Ctx& c, Head& h) {
    h.lam.assign(size_t(c.Nk), 0.f);
    constexpr int64_t kChunk = 1024;
    int32_t st = parallel_for((c.Nk + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        const int64_t j0 = t * kChunk, n = std::min(kChunk, c.Nk - j0);
        std::vector<float> S(static_cast<size_t>(kChunk));
        c.kr->scores(1, h.qcen.data(), c.Dp, c.D, h.k, nullptr, j0, int(n), S.data(), kChunk);
        for (int64_t j = 0; j < n; ++j) h.lam[size_t(j0 + j)] = c.p->base.scale * S[size_t(j)];
    });
    if (st != HA_OK) return st;
    double top = -std::numeric_limits<double>::infinity(), sum = 0;
    int64_t n = 0;
    for (int64_t j = c.S; j < c.Nk; ++j)
        if (h.kbucket[size_t(j)] != 0xff) top = std::max(top, double(h.lam[size_t(j)]));
    for (int64_t j = c.S; j < c.Nk; ++j)
        if (h.kbucket[size_t(j)] != 0xff) {
            sum += std::exp(double(h.lam[size_t(j)]) - top);
            ++n;
        }
    h.lam_top = 0;
    h.lam_mean = 1;
    if (n > 0 && std::isfinite(top)) {
        h.lam_top = top;
        h.lam_mean = sum / double(n);
    }
    return HA_OK;
}

// The tail draws at rate r (the keys neither sink nor long), in two halves by the key's hash
// u_j: u_j < pi/2, pi/2 <= u_j < pi. The hash is a pure function of the seed and the position,
// so a larger rate keeps every draw of a smaller one. Then the same draws by (bucket, half).
void draw_tail(const Ctx& c, Head& h, double r) {
    h.rate = r;
    constexpr int64_t kChunk = 8192;
    const int64_t chunks = (c.Nk + kChunk - 1) / kChunk;
    std::vector<std::vector<int32_t>> pos(size_t(2 * chunks));
    std::vector<std::vector<float>> col(size_t(2 * chunks));
    parallel_for(chunks, pool_threads(), [&](int64_t t, int) {
        for (int64_t j = std::max(c.S, t * kChunk); j < std::min(c.Nk, (t + 1) * kChunk); ++j) {
            if (h.kbucket[size_t(j)] == 0xff) continue;
            const double u = draw_u(h.draw_key, j);
            // Most keys are rejected on the unrounded probability (rounding the log-weight to
            // a float moves it by far less than 5%).
            const double rho = std::exp(double(h.lam[size_t(j)]) - h.lam_top) / h.lam_mean;
            if (u >= 1.05 * r * (kFlat + (1 - kFlat) * rho)) continue;
            const Draw d = draw_of(h, j);
            if (u < d.pi) {
                const int hf = u < 0.5 * d.pi ? 0 : 1;
                pos[size_t(2 * t + hf)].push_back(int32_t(j));
                col[size_t(2 * t + hf)].push_back(d.bias);
            }
        }
    });
    // Half-major, position order within a half.
    std::vector<int64_t> at(size_t(2 * chunks + 1), 0);
    for (int hf = 0, g = 0; hf < 2; ++hf)
        for (int64_t t = 0; t < chunks; ++t, ++g) at[size_t(g + 1)] = at[size_t(g)] + int64_t(pos[size_t(2 * t + hf)].size());
    const int64_t total = at.back();
    h.tstart = {0, at[size_t(chunks)], total};
    h.tpos.assign(size_t(total), 0);
    h.KT.init(c.es, c.D, total, c.f16);
    h.VT.init(c.es, c.D, total, c.f16);
    // By bucket (C + 1 of them: the last, "none", holds nothing), half, position.
    const int C = h.bk.C;
    h.ostart.assign(size_t(2 * (C + 1) + 1), 0);
    for (int hf = 0; hf < 2; ++hf)
        for (int64_t t = 0; t < chunks; ++t)
            for (int32_t j : pos[size_t(2 * t + hf)]) ++h.ostart[size_t(2 * h.kbucket[size_t(j)] + hf + 1)];
    for (size_t g = 0; g + 1 < h.ostart.size(); ++g) h.ostart[g + 1] += h.ostart[g];
    h.opos.assign(size_t(total), 0);
    h.KO.init(c.es, c.D, total, c.f16);
    h.VO.init(c.es, c.D, total, c.f16);
    std::vector<int64_t> fill(h.ostart.begin(), h.ostart.end() - 1);
    std::vector<int64_t> odst(static_cast<size_t>(total));
    for (int hf = 0, g = 0; hf < 2; ++hf)
        for (int64_t t = 0; t < chunks; ++t, ++g) {
            int64_t o = at[size_t(g)];
            for (int32_t j : pos[size_t(2 * t + hf)]) odst[size_t(o++)] = fill[size_t(2 * h.kbucket[size_t(j)] + hf)]++;
        }
    parallel_for(2 * chunks, pool_threads(), [&](int64_t g, int) {
        const int hf = int(g / chunks);
        const int64_t t = g % chunks;
        int64_t o = at[size_t(g)];
        const auto& ps = pos[size_t(2 * t + hf)];
        const auto& cs = col[size_t(2 * t + hf)];
        for (size_t i = 0; i < ps.size(); ++i, ++o) {
            const int32_t j = ps[i];
            h.tpos[size_t(o)] = j;
            h.KT.copy_from(o, h.K, j);
            h.KT.set_extra(o, cs[i]);
            h.VT.copy_from(o, h.V, j);
            const int64_t q = odst[size_t(o)];
            h.opos[size_t(q)] = j;
            h.KO.copy_from(q, h.KT, o);
            h.VO.copy_from(q, h.V, j);
        }
    });
}

}  // namespace ha::cpu::approx::tiled
