// Reading order: the per-head layout (key copies with a |v|² column, long keys, buckets, the
// sampled tail), the parts of a set of rows and their merge with the error estimate, then the
// driver (probes that set the sampling rate against a target, chunks, fallbacks).
#include "cpu/approx/tiled_prefill.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/approx/buckets.h"
#include "cpu/approx/row_io.h"
#include "cpu/approx/sketch.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/numerics.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx {
namespace {


constexpr int kBuckets = 64;  // k-means cells, before the cells of one cluster merge
constexpr double kLongRatio = 1.5;      // a key longer than 1.5x the median key is a long key
constexpr double kLongQuery = 1.25;     // a query longer than 1.25x the median is searched
constexpr int64_t kLongShare = 32;      // at most Nk/32 of them
constexpr double kMinHalfDraws = 16.0;  // a row is sampled only when each half expects this many
constexpr int64_t kRowChunk = 65536;    // rows per pass (bounds the working buffers)
constexpr int64_t kProbeRows = 512;
// Sampling serves a target only while its rate stays below this; above, the head is exact.
constexpr double kMaxRate = 0.25;
constexpr double kRefine = 4.0;  // rate multiplier for rows that missed the target
constexpr double kHeavyRows = 0.01;  // share of probe rows with heavy keys that turns the search on
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Rows of Da elements in the call's dtype (bf16 or f32): what the exact kernel reads. Keys and
// queries carry a zero in column D; values carry ||v||², so that every part's output column D
// is Σ p_j ||v_j||², the square of the unit the error is measured in.
struct Store {
    int es = 4;
    int64_t Da = 0;
    std::vector<char> buf;
    void init(int e, int64_t da, int64_t n) {
        es = e;
        Da = da;
        buf.resize(size_t(std::max<int64_t>(n, 0) * da * e));  // every row used is written whole
    }
    char* row(int64_t j) { return buf.data() + j * Da * es; }
    const char* data() const { return buf.empty() ? nullptr : buf.data(); }
    void put(int64_t j, const float* x, int64_t D, float extra) {
        char* d = row(j);
        if (es == 2) {
            uint16_t* h = reinterpret_cast<uint16_t*>(d);
            for (int64_t t = 0; t < D; ++t) h[t] = hsr::f32_to_bf16_nearest(x[t]);
            h[D] = hsr::f32_to_bf16_nearest(extra);
        } else {
            float* f = reinterpret_cast<float*>(d);
            std::memcpy(f, x, sizeof(float) * size_t(D));
            f[D] = extra;
        }
    }
    void set_extra(int64_t j, float x) {  // column D of row j (x already representable)
        if (es == 2)
            reinterpret_cast<uint16_t*>(row(j))[Da - 1] = hsr::f32_to_bf16_nearest(x);
        else
            reinterpret_cast<float*>(row(j))[Da - 1] = x;
    }
    void copy_from(int64_t j, const Store& src, int64_t k) {
        std::memcpy(row(j), src.buf.data() + k * Da * es, size_t(Da * es));
    }
};

// Working buffers of solve(), kept between its calls.
struct Work {
    std::vector<int64_t> cut, rg, lo, order, na, nb, pos_of;
    std::vector<float> tmp, tl, ta, tal;
    std::vector<double> L;
    Store Q, Qp;
};

// Everything one (batch, kv head) keeps while its rows are computed (the object serves every
// head of a call in turn, so its buffers are allocated once).
struct Head {
    Work work;
    int64_t b = 0, hk = 0;
    hsr::RowSrc k{}, v{};
    Store K, V;                     // by position
    std::vector<int32_t> lpos;      // the sinks, then long keys, ascending
    Store KL, VL;
    Buckets bk;
    std::vector<uint8_t> kbucket;   // bucket of each position (0xff: sink or long key)
    std::vector<int64_t> bstart;    // bucket c's keys: bpos[bstart[c] .. bstart[c+1]), ascending
    std::vector<int32_t> bpos;
    Store KB, VB;
    // Heavy-key search (sketch.h): every key's 64-bit sign sketch, norm and norm class.
    std::vector<float> planes;
    std::vector<uint64_t> ksk;
    std::vector<float> knorm;
    std::vector<uint8_t> kcls;
    double kmax = 0;
    uint64_t draw_key = 0;          // the tail draws' hash key
    bool search = true;             // look for heavy keys (the probes decide for the head)
    double rate = 0;                // tail sampling rate
    std::vector<float> qcen;        // [C+1][Dp] mean query of each bucket; C: of all rows
    std::vector<float> lam;         // [C+1][Nk] scale · qcen_b · k_j
    std::vector<double> lam_top, lam_mean;
    std::vector<int64_t> tstart;    // region 2c + half: the draws of that half outside bucket c
                                    // (c = C, no bucket: all of them)
    std::vector<int32_t> tpos;
    Store KT, VT;
};

struct Row {
    int64_t p;    // cache position
    int32_t g, i; // query head within the group, query row
    uint8_t bucket;
    bool long_q;  // a query much longer than the head's median: searched for heavy keys always
};

struct Ctx {
    const Problem* p;
    const hsr::Kernels* kr;
    int64_t Nq, Nk, D, Dp, Da, G, S, W;
    int es;
};

int64_t count_upto(const int32_t* a, int64_t n, int64_t cut) {
    return std::upper_bound(a, a + n, cut) - a;
}

// One exact-attention call: rows of Q against keys [0, n) of K/V, row m seeing
// [ranges[2m], ranges[2m+1]); writes fp32 outputs (Da columns) and the natural-log lse.
int32_t call_part(const Ctx& c, const Store& Q, int64_t M, const Store& K, const Store& V,
                  int64_t n, const std::vector<int64_t>& ranges, float* O, float* lse) {
    bool any = false;
    for (int64_t m = 0; m < M && !any; ++m) any = ranges[size_t(2 * m + 1)] > ranges[size_t(2 * m)];
    if (!any || n == 0) {
        std::fill(O, O + M * c.Da, 0.f);
        std::fill(lse, lse + M, kNegInf);
        return HA_OK;
    }
    auto view = [&](const void* d, int64_t rows) {
        View w{};
        w.data = const_cast<void*>(d);
        w.shape[0] = w.shape[1] = 1;
        w.shape[2] = rows;
        w.shape[3] = c.Da;
        w.strides[0] = w.strides[1] = rows * c.Da;
        w.strides[2] = c.Da;
        w.strides[3] = 1;
        return w;
    };
    ExactProblem e{};
    e.dtype = c.p->base.dtype;
    e.q = view(Q.data(), M);
    e.k = view(K.data(), n);
    e.v = view(V.data(), n);
    e.out = view(O, M);
    e.lse = lse;
    e.lse_strides[0] = e.lse_strides[1] = M;
    e.lse_strides[2] = 1;
    e.scale = c.p->base.scale;
    e.causal = false;
    e.row_range = ranges.data();
    e.out_f32 = true;
    return exact_forward(e);
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
    const double z = wa + wb;
    for (int64_t d = 0; d < Da; ++d) acc[d] = float((wa * acc[d] + wb * o[d]) / z);
    accl = float(m + std::log(z));
}

// ---- layout --------------------------------------------------------------------------------------

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

// Rows at or below this position are computed exactly: their tail would hold too few draws.
bool sampled(const Ctx& c, const Head& h, int64_t pos) {
    return double(pos - c.W - c.S + 1) * h.rate * 0.5 >= kMinHalfDraws;
}

// ---- the parts of a set of rows -------------------------------------------------------------------

struct Results {
    std::vector<float> O, lse, err;  // O: [M][Da]
    std::vector<int64_t> touched, drawn;  // keys scored; of them, tail draws
    std::vector<uint8_t> heavy;           // the row has a heavy key outside its exact parts
    std::vector<uint8_t> tail;
};

void load_rows_q(const Ctx& c, const Head& h, const std::vector<Row>& rows, const int64_t* order,
                 Store& Q) {
    const int64_t M = int64_t(rows.size());
    Q.init(c.es, c.Da, M);
    constexpr int64_t kChunk = 2048;
    parallel_for((M + kChunk - 1) / kChunk, pool_threads(), [&](int64_t t, int) {
        std::vector<float> x(size_t(c.Dp));
        for (int64_t m = t * kChunk; m < std::min(M, (t + 1) * kChunk); ++m) {
            const Row& r = rows[size_t(order ? order[m] : m)];
            load_query(*c.p, h.b, h.hk * c.G + r.g, r.i, c.D, x.data());
            Q.put(m, x.data(), c.D, 1.f);  // meets the tail draws' weight column
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
constexpr double kHeavyShare = 1.0 / 64;
constexpr int kMargin = 6;  // sketch noise: ~1.5 standard deviations of the Hamming distance near 90°
constexpr int kProbeKeys = 64;
constexpr int64_t kCandidates = 32;  // keys a row's scan admits, about

struct Heavy {
    int64_t row;  // index into the rows of the solve
    int32_t key;
    float score;  // natural-log units
};

// rows[first..last) (position order), each with its estimated log-denominator L[row] and cut.
void find_heavy(const Ctx& c, const Head& h, const std::vector<Row>& rows, const int64_t* idx, int64_t n,
                const std::vector<double>& L, const std::vector<int64_t>& cut, std::vector<Heavy>& out) {
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
            hi = std::max(hi, cut[size_t(idx[g0 + r])] + 1);
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
            const int64_t ct = cut[size_t(idx[g0 + r])], own = rows[size_t(idx[g0 + r])].bucket;
            const int64_t span = ct - c.S + 1;
            if (span > 0 && std::isfinite(T[r])) {
                int32_t probe[kProbeKeys];
                int hs[kProbeKeys];
                float sup[kProbeKeys];
                int np = 0;
                for (int i = 0; i < kProbeKeys; ++i) {
                    const int64_t j = c.S + int64_t((double(i) + 0.5) * double(span) / kProbeKeys);
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
                if (cut[size_t(idx[g0 + r])] >= c.S && std::isfinite(T[r]))
                    while (t < kSketchBits && top * up_tab[t + 1] >= T[r]) ++t;
                thr[r * kNormClasses + k] = t;
                any |= t >= 0;
            }
        }
        if (!any) continue;
        for (;;) {  // at most 4096 candidates a group: past that, tighter thresholds
            hits.clear();
            if (sketch_scan(h.ksk.data(), h.kcls.data(), c.S, hi, qs, thr, R, hits, 4096, h.kbucket.data(), own))
                break;
            for (int i = 0; i < R * kNormClasses; ++i) thr[i] -= 2;
        }
        for (size_t a = 0; a < hits.size(); a += kScoreChunk) {
            const int n = int(std::min<size_t>(kScoreChunk, hits.size() - a));
            c.kr->scores(R, Q.data(), c.Dp, c.D, h.k, hits.data() + a, 0, n, S.data(), kScoreChunk);
            for (int r = 0; r < R; ++r) {
                const int64_t t = idx[g0 + r], ct = cut[size_t(t)], own = rows[size_t(t)].bucket;
                for (int i = 0; i < n; ++i) {
                    const int32_t j = hits[a + size_t(i)];
                    const uint8_t kb = h.kbucket[size_t(j)];
                    if (j > ct || kb == 0xff || kb == own) continue;  // not in this row's tail
                    const float sc = c.p->base.scale * S[size_t(r * kScoreChunk + i)];
                    if (double(sc) >= rel[r]) out.push_back(Heavy{t, j, sc});
                }
            }
        }
    }
}

// rows sorted by position. Every row of the set must be sampled() or exact by construction.
int32_t solve(const Ctx& c, Head& h, const std::vector<Row>& rows, Results& res) {
    const int64_t M = int64_t(rows.size()), Da = c.Da, D = c.D;
    res.O.assign(size_t(M * Da), 0.f);
    res.lse.assign(size_t(M), kNegInf);
    res.err.assign(size_t(M), 0.f);
    res.touched.assign(size_t(M), 0);
    res.drawn.assign(size_t(M), 0);
    res.heavy.assign(size_t(M), 0);
    res.tail.assign(size_t(M), 0);
    Work& w = h.work;  // buffers kept between calls: a fresh one per call costs page faults
    std::vector<int64_t>& cut = w.cut;
    std::vector<int64_t>& rg = w.rg;
    std::vector<float>& tmp = w.tmp;
    std::vector<float>& tl = w.tl;
    cut.assign(size_t(M), 0);
    rg.assign(size_t(2 * M), 0);
    tmp.resize(size_t(M * Da));
    tl.resize(size_t(M));
    auto add = [&](int64_t m, int64_t a, int64_t b) {
        rg[size_t(2 * m)] = a;
        rg[size_t(2 * m + 1)] = b;
        res.touched[size_t(m)] += std::max<int64_t>(0, b - a);
    };
    Store& Q = w.Q;
    load_rows_q(c, h, rows, nullptr, Q);

    // The local window (everything, for a row that is not sampled), then the sinks, then the
    // long keys, in position order.
    std::vector<int64_t>& lo = w.lo;
    lo.assign(size_t(M), 0);
    for (int64_t m = 0; m < M; ++m) {
        const int64_t pos = rows[size_t(m)].p;
        const bool smp = sampled(c, h, pos);
        lo[size_t(m)] = smp ? std::max<int64_t>(0, pos - c.W + 1) : 0;
        cut[size_t(m)] = smp ? pos - c.W : -1;  // keys in [sinks, cut] go to the other parts
        add(m, lo[size_t(m)], pos + 1);
    }
    if (int32_t st = call_part(c, Q, M, h.K, h.V, c.Nk, rg, res.O.data(), res.lse.data()); st != HA_OK) return st;
    auto merge_tmp = [&](const int64_t* map) {
        constexpr int64_t kChunk = 2048;
        parallel_for((M + kChunk - 1) / kChunk, pool_threads(), [&](int64_t k, int) {
            for (int64_t m = k * kChunk; m < std::min(M, (k + 1) * kChunk); ++m) {
                const int64_t t = map ? map[m] : m;
                merge_into(&res.O[size_t(t * Da)], res.lse[size_t(t)], &tmp[size_t(m * Da)], tl[size_t(m)], Da);
            }
        });
    };
    // A sampled row's window starts past the sinks; an exact row's local part holds them.
    const int64_t nl = int64_t(h.lpos.size());
    for (int64_t m = 0; m < M; ++m) add(m, 0, cut[size_t(m)] < 0 ? 0 : count_upto(h.lpos.data(), nl, cut[size_t(m)]));
    if (int32_t st = call_part(c, Q, M, h.KL, h.VL, nl, rg, tmp.data(), tl.data()); st != HA_OK) return st;
    merge_tmp(nullptr);

    // Rows by bucket (stable: by position within one) for the bucket and tail parts.
    std::vector<int64_t>& order = w.order;
    order.resize(size_t(M));
    for (int64_t m = 0; m < M; ++m) order[size_t(m)] = m;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return rows[size_t(a)].bucket < rows[size_t(b)].bucket; });
    bool any_cut = false;
    for (int64_t m = 0; m < M; ++m) any_cut |= cut[size_t(m)] >= c.S;
    if (!any_cut) return HA_OK;
    Store& Qp = w.Qp;
    load_rows_q(c, h, rows, order.data(), Qp);
    for (int64_t m = 0; m < M; ++m) {
        const int64_t t = order[size_t(m)], b = rows[size_t(t)].bucket;
        const int64_t a = h.bstart[size_t(b)], n = h.bstart[size_t(b + 1)] - a;
        rg[size_t(2 * m)] = a;
        rg[size_t(2 * m + 1)] = a + count_upto(h.bpos.data() + a, n, cut[size_t(t)]);
        res.touched[size_t(t)] += rg[size_t(2 * m + 1)] - a;
    }
    if (int32_t st = call_part(c, Qp, M, h.KB, h.VB, int64_t(h.bpos.size()), rg, tmp.data(), tl.data()); st != HA_OK)
        return st;
    merge_tmp(order.data());

    // The two halves of the tail sample.
    std::vector<float>& ta = w.ta;
    std::vector<float>& tal = w.tal;
    std::vector<int64_t>& na = w.na;
    std::vector<int64_t>& nb = w.nb;
    ta.resize(size_t(M * Da));
    tal.resize(size_t(M));
    na.assign(size_t(M), 0);
    nb.assign(size_t(M), 0);
    for (int hf = 0; hf < 2; ++hf) {
        for (int64_t m = 0; m < M; ++m) {
            const int64_t t = order[size_t(m)], b = rows[size_t(t)].bucket;
            const int64_t a = h.tstart[size_t(2 * b + hf)], n = h.tstart[size_t(2 * b + hf + 1)] - a;
            const int64_t k = count_upto(h.tpos.data() + a, n, cut[size_t(t)]);
            rg[size_t(2 * m)] = a;
            rg[size_t(2 * m + 1)] = a + k;
            (hf == 0 ? na : nb)[size_t(t)] = k;
        }
        float* dst = hf == 0 ? ta.data() : tmp.data();
        float* dl = hf == 0 ? tal.data() : tl.data();
        if (int32_t st = call_part(c, Qp, M, h.KT, h.VT, int64_t(h.tpos.size()), rg, dst, dl); st != HA_OK)
            return st;
    }

    // Each sampled row's estimated log-denominator, then its heavy keys (in position order of
    // the rows, so the list is the same for any thread count).
    std::vector<int64_t>& pos_of = w.pos_of;  // row -> its place in the bucket order
    pos_of.resize(size_t(M));
    for (int64_t m = 0; m < M; ++m) pos_of[size_t(order[size_t(m)])] = m;
    std::vector<double>& L = w.L;
    L.assign(size_t(M), -std::numeric_limits<double>::infinity());
    for (int64_t t = 0; t < M; ++t) {
        if (cut[size_t(t)] < c.S) continue;
        const int64_t m = pos_of[size_t(t)];
        double z = 0, ref = std::max({double(res.lse[size_t(t)]), double(tal[size_t(m)]), double(tl[size_t(m)])});
        if (!std::isfinite(ref)) continue;
        z = std::exp(double(res.lse[size_t(t)]) - ref) + std::exp(double(tal[size_t(m)]) - ref) +
            std::exp(double(tl[size_t(m)]) - ref);
        L[size_t(t)] = ref + std::log(z);
    }
    std::vector<Heavy> heavy;
    std::vector<int64_t> look;  // the rows searched: all (the probes asked), or the long queries
    for (int64_t t = 0; t < M; ++t)
        if (cut[size_t(t)] >= c.S && (h.search || rows[size_t(t)].long_q)) look.push_back(t);
    if (!look.empty()) {
        constexpr int64_t kSpan = 256;  // rows per task
        const int64_t nl2 = int64_t(look.size()), tasks = (nl2 + kSpan - 1) / kSpan;
        std::vector<std::vector<Heavy>> found(static_cast<size_t>(tasks));
        int32_t st = parallel_for(tasks, pool_threads(), [&](int64_t k, int) {
            find_heavy(c, h, rows, look.data() + k * kSpan, std::min(nl2 - k * kSpan, kSpan), L, cut, found[size_t(k)]);
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
    std::vector<float> vrow(static_cast<size_t>(Da));
    const int64_t t0 = task * kMergeChunk;
    size_t hv = size_t(std::lower_bound(heavy.begin(), heavy.end(), t0,
                                        [](const Heavy& x, int64_t r) { return x.row < r; }) - heavy.begin());
    for (int64_t t = t0; t < std::min(M, t0 + kMergeChunk); ++t) {
        const int64_t m = pos_of[size_t(t)];
        const int64_t ct = cut[size_t(t)];
        const size_t hv0 = hv;
        while (hv < heavy.size() && heavy[hv].row == t) ++hv;
        if (ct < c.S) continue;
        const int64_t b = rows[size_t(t)].bucket;
        const int64_t in_tail = (ct + 1) - count_upto(h.lpos.data(), nlong, ct) -
                                count_upto(h.bpos.data() + h.bstart[size_t(b)],
                                           h.bstart[size_t(b + 1)] - h.bstart[size_t(b)], ct);
        res.touched[size_t(t)] += na[size_t(t)] + nb[size_t(t)] + int64_t(hv - hv0);
        res.heavy[size_t(t)] = hv > hv0;
        res.drawn[size_t(t)] = na[size_t(t)] + nb[size_t(t)];
        if (in_tail <= 0) continue;
        res.tail[size_t(t)] = 1;
        float* acc = &res.O[size_t(t * Da)];
        const double ref = L[size_t(t)];
        if (!std::isfinite(ref)) {  // NaN scores: the row is NaN
            const float la = tal[size_t(m)], lb = tl[size_t(m)];
            merge_into(acc, res.lse[size_t(t)], &ta[size_t(m * Da)], la, Da);
            merge_into(acc, res.lse[size_t(t)], &tmp[size_t(m * Da)], lb, Da);
            res.err[size_t(t)] = std::numeric_limits<float>::infinity();
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
            const char* src = h.V.buf.data() + int64_t(j) * Da * c.es;
            for (int64_t d = 0; d < Da; ++d)
                vrow[size_t(d)] = c.es == 2 ? hsr::bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(src)[d])
                                            : reinterpret_cast<const float*>(src)[d];
            double pi = 1;
            const int half = draw_half(c, h, int(b), j, &pi);
            const double xw = x / pi;  // what the draw added to its half
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
        double d2 = 0;
        for (int64_t d = 0; d < Da; ++d) {
            acc[d] = float((NE[size_t(d)] + NA[size_t(d)] + NB[size_t(d)]) / Z);
            if (d < D) {
                const double x = (NE[size_t(d)] + 2 * NA[size_t(d)]) / Za - (NE[size_t(d)] + 2 * NB[size_t(d)]) / Zb;
                d2 += x * x;
            }
        }
        res.lse[size_t(t)] = float(ref + std::log(Z));
        const double r2 = acc[D];
        float e;
        if (na[size_t(t)] == 0 || nb[size_t(t)] == 0)
            e = std::numeric_limits<float>::infinity();  // one half saw nothing: no spread to read
        else
            e = r2 > 0 ? float(std::sqrt(d2 / r2)) : (d2 > 0 ? std::numeric_limits<float>::infinity() : 0.f);
        res.err[size_t(t)] = e;
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

// Rows computed exactly over every visible key [0, p] (level 2).
int32_t exact_list(const Ctx& c, Head& h, const std::vector<Row>& rows) {
    if (rows.empty()) return HA_OK;
    const int64_t M = int64_t(rows.size());
    Store Q;
    load_rows_q(c, h, rows, nullptr, Q);
    std::vector<int64_t> rg(size_t(2 * M));
    Results r;
    r.O.assign(size_t(M * c.Da), 0.f);
    r.lse.assign(size_t(M), kNegInf);
    r.err.assign(size_t(M), 0.f);
    r.touched.assign(size_t(M), 0);
    r.drawn.assign(size_t(M), 0);
    r.tail.assign(size_t(M), 0);
    for (int64_t m = 0; m < M; ++m) {
        rg[size_t(2 * m)] = 0;
        rg[size_t(2 * m + 1)] = rows[size_t(m)].p + 1;
        r.touched[size_t(m)] = rows[size_t(m)].p + 1;
    }
    if (int32_t st = call_part(c, Q, M, h.K, h.V, c.Nk, rg, r.O.data(), r.lse.data()); st != HA_OK) return st;
    write_rows(c, h, rows, r, 2);
    return HA_OK;
}

// Every row of kv head hk of batch b by the tiled exact kernel on the operands themselves (one
// causal call for all its query heads), level 2.
int32_t exact_head(const Ctx& c, int64_t b, int64_t hk) {
    const Problem& p = *c.p;
    const ExactProblem& e = p.base;
    const int64_t es = e.dtype == HA_DTYPE_BF16 ? 2 : 4;
    ExactProblem sub = e;
    auto slice = [&](View& v, int64_t head, int64_t heads_n) {
        v.data = static_cast<char*>(v.data) + (b * v.strides[0] + head * v.strides[1]) * es;
        v.shape[0] = 1;
        v.shape[1] = heads_n;
    };
    slice(sub.q, hk * c.G, c.G);
    slice(sub.out, hk * c.G, c.G);
    slice(sub.k, hk, 1);
    slice(sub.v, hk, 1);
    if (e.lse) sub.lse = e.lse + b * e.lse_strides[0] + hk * c.G * e.lse_strides[1];
    if (int32_t st = exact_forward(sub); st != HA_OK) return st;
    const int64_t Hq = e.q.shape[1];
    for (int64_t h = hk * c.G; h < hk * c.G + c.G; ++h)
        for (int64_t i = 0; i < c.Nq; ++i)
            exact_row_stats(p, (b * Hq + h) * c.Nq + i, std::max<int64_t>(0, i + c.Nk - c.Nq + 1));
    return HA_OK;
}

}  // namespace

bool tiled_serves(const Problem& p) {
    const ExactProblem& e = p.base;
    const int64_t Nq = e.q.shape[2], Nk = e.k.shape[2];
    return e.causal && p.heavy_budget == 0 && p.samples > 0 && Nk >= 8192 && Nq >= 1024 &&
           Nk - p.window - p.sinks >= 4096;
}

int32_t run_tiled(const Problem& p) {
    const ExactProblem& e = p.base;
    Ctx c{};
    c.p = &p;
    c.kr = &hsr::active();
    c.Nq = e.q.shape[2];
    c.Nk = e.k.shape[2];
    c.D = e.q.shape[3];
    c.Dp = (c.D + 15) / 16 * 16;
    c.Da = c.D + 1;
    c.G = e.q.shape[1] / e.k.shape[1];
    c.S = std::min<int64_t>(p.sinks, c.Nk);
    c.W = p.window;
    c.es = e.dtype == HA_DTYPE_BF16 ? 2 : 4;
    const int64_t B = e.q.shape[0], Hkv = e.k.shape[1], Hq = e.q.shape[1];
    const double r0 = std::min(1.0, 2.0 * double(p.samples) / double(c.Nk));

    Head h;
    Results results;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hk = 0; hk < Hkv; ++hk) {
            h.b = b;
            h.hk = hk;
            h.k = rows_of(e.k, e.dtype, b, hk);
            h.v = rows_of(e.v, e.dtype, b, hk);
            h.draw_key = mix(p.seed ^ 0x7a11ull) ^ mix(uint64_t(b) * 0x9e3779b1ull + uint64_t(hk));
            if (int32_t st = prepare_head(c, h); st != HA_OK) return st;
            h.rate = r0;

            // The rows by position; those before position 0 see no key.
            std::vector<Row> rows;
            rows.reserve(size_t(c.Nq * c.G));
            std::vector<float> qb(size_t(8 * c.Dp));
            for (int64_t i = 0; i < c.Nq; ++i) {
                const int64_t pos = i + c.Nk - c.Nq;
                for (int32_t g = 0; g < c.G; ++g) {
                    if (pos < 0) {
                        std::vector<float> zero(size_t(c.D), 0.f);
                        store_row(p, b, hk * c.G + g, i, c.D, zero.data(), kNegInf);
                        exact_row_stats(p, (b * Hq + hk * c.G + g) * c.Nq + i, 0);
                        if (p.level) p.level[(b * Hq + hk * c.G + g) * c.Nq + i] = 0;
                        continue;
                    }
                    rows.push_back(Row{pos, g, int32_t(i), 0, false});
                }
            }
            // Each row's bucket (8 rows at a time) and query norm.
            std::vector<float> qnorm(rows.size(), 0.f);
            int32_t st = parallel_for((int64_t(rows.size()) + 255) / 256, pool_threads(), [&](int64_t t, int) {
                std::vector<float> q(size_t(8 * c.Dp), 0.f);
                uint8_t out[8];
                const int64_t a = t * 256, z = std::min<int64_t>(int64_t(rows.size()), a + 256);
                for (int64_t m = a; m < z; m += 8) {
                    const int R = int(std::min<int64_t>(8, z - m));
                    std::fill(q.begin(), q.end(), 0.f);
                    for (int r = 0; r < R; ++r)
                        load_query(p, b, hk * c.G + rows[size_t(m + r)].g, rows[size_t(m + r)].i, c.D, q.data() + r * c.Dp);
                    best_buckets(*c.kr, h.bk, q.data(), R, c.Dp, c.D, e.scale, out);
                    for (int r = 0; r < R; ++r) {
                        rows[size_t(m + r)].bucket = out[r];
                        qnorm[size_t(m + r)] = float(std::sqrt(c.kr->sumsq(q.data() + r * c.Dp, c.Dp)));
                    }
                }
            });
            if (st != HA_OK) return st;
            // A score can only stand out where a norm does: long keys are exact already, long
            // queries (a planted match adds to both) are searched whatever the probes say.
            if (!qnorm.empty()) {
                std::vector<float> sorted(qnorm);
                std::nth_element(sorted.begin(), sorted.begin() + long(sorted.size() / 2), sorted.end());
                const float med = sorted[sorted.size() / 2];
                for (size_t m = 0; m < rows.size(); ++m) rows[m].long_q = qnorm[m] > float(kLongQuery) * med;
            }

            // Mean query of each bucket (and of all rows, for "none"), for the tail's
            // importance weights.
            {
                const int C = h.bk.C;
                std::vector<double> sum(size_t(C + 1) * size_t(c.Dp), 0.0);
                std::vector<int64_t> cnt(size_t(C + 1), 0);
                std::vector<float> x(size_t(c.Dp));
                for (const Row& r : rows) {
                    load_query(p, b, hk * c.G + r.g, r.i, c.D, x.data());
                    for (int64_t d = 0; d < c.D; ++d) {
                        sum[size_t(r.bucket) * size_t(c.Dp) + size_t(d)] += x[size_t(d)];
                        sum[size_t(C) * size_t(c.Dp) + size_t(d)] += x[size_t(d)];
                    }
                    ++cnt[r.bucket];
                    ++cnt[size_t(C)];
                }
                h.qcen.assign(size_t(C + 1) * size_t(c.Dp), 0.f);
                for (int k = 0; k <= C; ++k)
                    if (cnt[size_t(k)] > 0)
                        for (int64_t d = 0; d < c.D; ++d)
                            h.qcen[size_t(k) * size_t(c.Dp) + size_t(d)] =
                                float(sum[size_t(k) * size_t(c.Dp) + size_t(d)] / double(cnt[size_t(k)]));
                if (int32_t s2 = score_regions(c, h); s2 != HA_OK) return s2;
            }

            // Probe rows first, each solved twice: with its bucket and with none (all but the
            // local, sink and long keys sampled). Buckets pay where a row's mass sits in a
            // cluster of contents; where it sits near the row (RoPE heads), they cost keys
            // and buy nothing. The cheaper configuration by the probes serves the head. With
            // a target, the rate follows the 90th percentile of the probes' estimates (the
            // standard error falls as 1/sqrt(rate)); past kMaxRate the head is exact.
            bool head_exact = false, buckets = true;
            draw_tail(c, h, r0);
            {
                std::vector<Row> cand, probe;
                for (const Row& r : rows)
                    if (sampled(c, h, r.p)) cand.push_back(r);
                const int64_t step = std::max<int64_t>(1, int64_t(cand.size()) / kProbeRows);
                for (size_t t = size_t(step / 2); t < cand.size(); t += size_t(step)) probe.push_back(cand[t]);
                if (!probe.empty()) {
                    double cost[2], rate[2], mean_est[2], visible = 0;
                    int64_t heavy_rows[2] = {0, 0};
                    for (const Row& r : probe) visible += double(r.p + 1);
                    visible /= double(probe.size());
                    for (int k = 0; k < 2; ++k) {
                        std::vector<Row> pk(probe);
                        if (k == 1)
                            for (Row& r : pk) r.bucket = uint8_t(h.bk.C);
                        Results pr;
                        if (int32_t s2 = solve(c, h, pk, pr); s2 != HA_OK) return s2;
                        double fixed = 0, drawn = 0, em = 0;
                        int64_t hr = 0;
                        for (size_t m = 0; m < pk.size(); ++m) hr += pr.heavy[m];
                        heavy_rows[k] = hr;
                        for (size_t m = 0; m < pk.size(); ++m) {
                            fixed += double(pr.touched[m] - pr.drawn[m]);
                            drawn += double(pr.drawn[m]);
                            em += std::isfinite(pr.err[m]) ? double(pr.err[m]) : 1e3;
                        }
                        fixed /= double(pk.size());
                        drawn /= double(pk.size());
                        mean_est[k] = em / double(pk.size());
                        rate[k] = r0;
                        cost[k] = fixed + drawn;
                        if (p.target > 0.0) {
                            // The rate of least expected cost per row: the draws, plus the
                            // visible keys of a row whose estimate (falling as 1/sqrt(rate))
                            // still misses the target and is computed exactly.
                            cost[k] = visible;
                            rate[k] = 2.0;
                            for (double f : {1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0}) {
                                const double r = r0 * f;
                                if (r > kMaxRate) break;
                                double miss = 0;  // visible keys of the rows that would still miss
                                for (size_t m = 0; m < pk.size(); ++m)
                                    if (!(double(pr.err[m]) / std::sqrt(f) <= p.target)) miss += double(pk[m].p + 1);
                                const double ck = fixed + drawn * f + miss / double(pk.size());
                                if (ck < cost[k]) {
                                    cost[k] = ck;
                                    rate[k] = r;
                                }
                            }
                        }
                    }
                    // Without a target the fixed budget runs; buckets stay unless dropping them
                    // is cheaper at about the same estimated error.
                    buckets = p.target > 0.0 ? cost[0] <= cost[1]
                                             : !(cost[1] < cost[0] && mean_est[1] <= 1.25 * mean_est[0]);
                    const int k = buckets ? 0 : 1;
                    // The search for heavy keys costs a scan of every row's sketches: it runs
                    // where more than kHeavyRows of the probes had one. Elsewhere a row whose
                    // heavy key was neither in its exact parts nor drawn goes unseen: the probes
                    // bound their share to about that.
                    h.search = double(heavy_rows[k]) > kHeavyRows * double(probe.size());
                    // A key of the parts costs about 1.4 keys of one exact call (shorter
                    // ranges, more calls, the merge): past that the head is exact.
                    if (rate[k] > kMaxRate || 1.4 * cost[k] > visible)
                        head_exact = true;
                    else if (rate[k] > r0)
                        draw_tail(c, h, rate[k]);
                }
            }
            if (!buckets)
                for (Row& r : rows) r.bucket = uint8_t(h.bk.C);
            if (head_exact) {
                if (int32_t s2 = exact_head(c, b, hk); s2 != HA_OK) return s2;
                continue;
            }

            std::vector<Row> miss;
            Results& r = results;
            for (size_t a = 0; a < rows.size(); a += size_t(kRowChunk)) {
                std::vector<Row> part(rows.begin() + long(a), rows.begin() + long(std::min(rows.size(), a + size_t(kRowChunk))));
                if (int32_t s2 = solve(c, h, part, r); s2 != HA_OK) return s2;
                // Rows whose estimate misses the target are computed exactly below (and
                // written twice: the exact rows are few, filtering the others costs a copy).
                if (p.target > 0.0)
                    for (size_t m = 0; m < part.size(); ++m)
                        if (!(double(r.err[m]) <= p.target)) miss.push_back(part[m]);
                write_rows(c, h, part, r, 0);
            }
            // Rows that missed: drawn again at kRefine times the rate (their standard error
            // halves) when that stays within kMaxRate; what still misses is computed exactly.
            // Refining costs a new draw of every region at the higher rate (copied and packed
            // once per call): worth it only when the missed rows' keys outweigh that.
            double miss_keys = 0;
            for (const Row& r : miss) miss_keys += double(r.p + 1);
            const double refine_keys = 3.0 * double(h.bk.C + 1) * std::min(kMaxRate, kRefine * h.rate) * double(c.Nk);
            if (!miss.empty() && h.rate < kMaxRate && miss_keys > refine_keys) {
                draw_tail(c, h, std::min(kMaxRate, kRefine * h.rate));
                std::vector<Row> again;
                for (size_t a = 0; a < miss.size(); a += size_t(kRowChunk)) {
                    std::vector<Row> part(miss.begin() + long(a), miss.begin() + long(std::min(miss.size(), a + size_t(kRowChunk))));
                    Results r;
                    if (int32_t s2 = solve(c, h, part, r); s2 != HA_OK) return s2;
                    std::vector<Row> ok;
                    Results keep;
                    for (size_t m = 0; m < part.size(); ++m) {
                        if (!(double(r.err[m]) <= p.target)) {
                            again.push_back(part[m]);
                            continue;
                        }
                        ok.push_back(part[m]);
                        keep.O.insert(keep.O.end(), r.O.begin() + long(m * size_t(c.Da)), r.O.begin() + long((m + 1) * size_t(c.Da)));
                        keep.lse.push_back(r.lse[m]);
                        keep.err.push_back(r.err[m]);
                        keep.touched.push_back(r.touched[m]);
                        keep.tail.push_back(r.tail[m]);
                    }
                    write_rows(c, h, ok, keep, 1);
                }
                miss.swap(again);
            }
            for (size_t a = 0; a < miss.size(); a += size_t(kRowChunk)) {
                std::vector<Row> part(miss.begin() + long(a), miss.begin() + long(std::min(miss.size(), a + size_t(kRowChunk))));
                if (int32_t s2 = exact_list(c, h, part); s2 != HA_OK) return s2;
            }
        }
    return HA_OK;
}

}  // namespace ha::cpu::approx
