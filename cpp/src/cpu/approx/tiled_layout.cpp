// The per-head layout of the tiled prefill: key and value copies with their extra column,
// long keys, buckets laid out by (bucket, position), key sketches, and the tail's
// importance-weighted draws, region by region.
#include <cmath>

#include "cpu/approx/sketch.h"
#include "cpu/approx/tiled_state.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx::tiled {
namespace {

double draw_u(uint64_t key, int64_t j) { return double(mix(key + uint64_t(j)) >> 11) * 0x1.0p-53; }

// The value stored for x in a row of the call's dtype (the weight column must be exactly what
// the kernel reads).
double stored(int es, double x) {
    return es == 2 ? double(hsr::bf16_bits_to_f32(hsr::f32_to_bf16_nearest(float(x)))) : double(float(x));
}

// Importance sampling of region b's tail: key j is drawn with probability
//   pi = min(1, r (kFlat + (1 - kFlat) exp(lam_bj - top_b) / mean_b)),
// lam_bj = scale · (mean query of bucket b) · k_j: keys that the bucket's typical query scores
// higher are drawn more often, and every draw carries the weight 1/pi (in the key's extra
// column, as -ln(pi)/scale against the queries' 1; pi is rounded so that this column holds it
// exactly). kFlat keeps every key's chance at least that share of r: a query unlike its
// bucket's mean loses at most that factor of efficiency, never unbiasedness.
constexpr double kFlat = 0.3;

struct Draw {
    double pi;      // inclusion probability (after rounding)
    double column;  // -ln(pi) / scale as stored
};

Draw draw_of(const Ctx& c, const Head& h, int b, int64_t j) {
    const double rho = std::exp(double(h.lam[size_t(b) * size_t(c.Nk) + size_t(j)]) - h.lam_top[size_t(b)]) / h.lam_mean[size_t(b)];
    const double pi = std::min(1.0, h.rate * (kFlat + (1 - kFlat) * rho));
    const double scale = double(c.p->base.scale);
    const double col = stored(c.es, -std::log(pi) / scale);
    return Draw{std::min(1.0, std::exp(-col * scale)), col};
}

}  // namespace

int32_t prepare_head(const Ctx& c, Head& h) {
    h.lpos.clear();
    h.search = true;
    h.kmax = 0;
    const Problem& p = *c.p;
    const int64_t Nk = c.Nk, D = c.D;
    h.K.init(c.es, c.Da, Nk);
    h.V.init(c.es, c.Da, Nk);
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
    h.KL.init(c.es, c.Da, int64_t(h.lpos.size()));
    h.VL.init(c.es, c.Da, int64_t(h.lpos.size()));
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
    h.KB.init(c.es, c.Da, int64_t(rest.size()));
    h.VB.init(c.es, c.Da, int64_t(rest.size()));
    for (size_t t = 0; t < h.bpos.size(); ++t) {
        h.KB.copy_from(int64_t(t), h.K, h.bpos[t]);
        h.VB.copy_from(int64_t(t), h.V, h.bpos[t]);
    }
    return HA_OK;
}

// The half of region b's sample key j belongs to: 0, 1, or -1 (not drawn), and its weight.
int draw_half(const Ctx& c, const Head& h, int b, int64_t j, double* pi) {
    const double u = draw_u(h.draw_key, j);
    const Draw d = draw_of(c, h, b, j);
    *pi = d.pi;
    return u < 0.5 * d.pi ? 0 : u < d.pi ? 1 : -1;
}

// lam for every region and key, and each region's normaliser over its tail keys.
int32_t score_regions(const Ctx& c, Head& h) {
    const int C = h.bk.C, R = C + 1;
    h.lam.assign(size_t(R) * size_t(c.Nk), 0.f);
    constexpr int64_t kChunk = 1024;
    const hsr::RowSrc qc{h.qcen.data(), c.Dp, 1, false};
    (void)qc;
    int32_t st = parallel_for((c.Nk + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        const int64_t j0 = t * kChunk, n = std::min(kChunk, c.Nk - j0);
        std::vector<float> S(size_t(8 * kChunk));
        for (int b0 = 0; b0 < R; b0 += 8) {
            const int rr = std::min(8, R - b0);
            c.kr->scores(rr, h.qcen.data() + size_t(b0) * size_t(c.Dp), c.Dp, c.D, h.k, nullptr, j0, int(n), S.data(), kChunk);
            for (int r = 0; r < rr; ++r)
                for (int64_t j = 0; j < n; ++j)
                    h.lam[size_t(b0 + r) * size_t(c.Nk) + size_t(j0 + j)] = c.p->base.scale * S[size_t(r * kChunk + j)];
        }
    });
    if (st != HA_OK) return st;
    h.lam_top.assign(size_t(R), -std::numeric_limits<double>::infinity());
    h.lam_mean.assign(size_t(R), 1.0);
    for (int b = 0; b < R; ++b) {
        const float* l = &h.lam[size_t(b) * size_t(c.Nk)];
        double top = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t n = 0;
        for (int64_t j = c.S; j < c.Nk; ++j) {
            const uint8_t kb = h.kbucket[size_t(j)];
            if (kb == 0xff || kb == b) continue;
            top = std::max(top, double(l[j]));
        }
        for (int64_t j = c.S; j < c.Nk; ++j) {
            const uint8_t kb = h.kbucket[size_t(j)];
            if (kb == 0xff || kb == b) continue;
            sum += std::exp(double(l[j]) - top);
            ++n;
        }
        if (n > 0 && std::isfinite(top)) {
            h.lam_top[size_t(b)] = top;
            h.lam_mean[size_t(b)] = sum / double(n);
        }
    }
    return HA_OK;
}

// The tail draws at rate r, region by region (region b: the keys outside bucket b, neither
// sink nor long), in two halves by the key's hash u_j: u_j < pi/2, pi/2 <= u_j < pi. The hash
// is a pure function of the seed and the position, so a larger rate keeps every draw of a
// smaller one.
void draw_tail(const Ctx& c, Head& h, double r) {
    h.rate = r;
    const int C = h.bk.C;
    h.tstart.assign(size_t(2 * (C + 1) + 1), 0);
    std::vector<std::vector<int32_t>> pos(size_t(2 * (C + 1)));
    std::vector<std::vector<float>> col(size_t(2 * (C + 1)));
    parallel_for(C + 1, pool_threads(), [&](int64_t b, int) {
        for (int64_t j = c.S; j < c.Nk; ++j) {
            const uint8_t kb = h.kbucket[size_t(j)];
            if (kb == 0xff || kb == b) continue;
            const double u = draw_u(h.draw_key, j);
            // Most keys are rejected on the unrounded probability (rounding the weight column
            // moves it by far less than 5%).
            const double rho = std::exp(double(h.lam[size_t(b) * size_t(c.Nk) + size_t(j)]) - h.lam_top[size_t(b)]) /
                               h.lam_mean[size_t(b)];
            if (u >= 1.05 * r * (kFlat + (1 - kFlat) * rho)) continue;
            const Draw d = draw_of(c, h, int(b), j);
            if (u < d.pi) {
                const int hf = u < 0.5 * d.pi ? 0 : 1;
                pos[size_t(2 * b + hf)].push_back(int32_t(j));
                col[size_t(2 * b + hf)].push_back(float(d.column));
            }
        }
    });
    for (int g = 0; g < 2 * (C + 1); ++g) h.tstart[size_t(g + 1)] = h.tstart[size_t(g)] + int64_t(pos[size_t(g)].size());
    const int64_t total = h.tstart.back();
    h.tpos.assign(size_t(total), 0);
    h.KT.init(c.es, c.Da, total);
    h.VT.init(c.es, c.Da, total);
    parallel_for(2 * (C + 1), pool_threads(), [&](int64_t g, int) {
        int64_t o = h.tstart[size_t(g)];
        for (size_t t = 0; t < pos[size_t(g)].size(); ++t, ++o) {
            const int32_t j = pos[size_t(g)][t];
            h.tpos[size_t(o)] = j;
            h.KT.copy_from(o, h.K, j);
            h.KT.set_extra(o, col[size_t(g)][t]);
            h.VT.copy_from(o, h.V, j);
        }
    });
}

}  // namespace ha::cpu::approx::tiled
