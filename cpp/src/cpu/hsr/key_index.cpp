// Building and extending the key index: 2-means bisection regroups keys into blocks, then each
// block gets its outward-rounded bounds (see key_index.h).
//
// Regrouping: a segment of keys is split recursively in two where two 2-means centroids meet
// (centroids found on a sample of <= 1024 keys, seeded by a diameter guess, kmeans_iters Lloyd
// passes), until every part holds at most block_size keys. Splitting where the data separates
// keeps distinct clusters out of each other's blocks (a mixed block's radius, hence its
// bound, would be as wide as the gap); only a sliver split of a large segment is replaced by a
// split at half, rounded to whole blocks, which bounds the recursion depth. Partitions stream
// rows through a second buffer (sequential reads and writes). The keys are clustered from a
// bf16 copy (only the grouping depends on it; the bounds come from the stored keys). The
// result depends on the data and the seed alone, so the index is the same for any thread
// count; heads are built in parallel, one per thread, within a memory budget.
#include "tensor_check.h"
#include "cpu/hsr/key_index.h"

#include "cpu/approx/sketch.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/numerics.h"
#include "cpu/thread_pool.h"
#include "error.h"
#include "hyperattn.h"

namespace ha::cpu::hsr {
namespace {

constexpr int64_t kSample = 1024;         // keys a 2-means split is trained on
constexpr int64_t kBuildBudget = 1 << 30; // bytes of clustering scratch alive at once

RowSrc head_src(const ha_key_index& x, bool values, int64_t b, int64_t h) {
    const int64_t* st = values ? x.vstr : x.kstr;
    const void* base = values ? x.vdata : x.kdata;
    const int64_t es = ha::dtype_size(x.dtype);
    // An empty K may have a NULL address: no offset is applied to it (UB on a null pointer).
    const char* row0 = static_cast<const char*>(base);
    if (row0) row0 += (b * st[0] + h * st[1]) * es;
    return RowSrc{row0, st[2], st[3], x.dtype == HA_DTYPE_BF16, x.dtype == HA_DTYPE_F16};
}

uint64_t mix(uint64_t x) {  // splitmix64
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

double norm_up(double sumsq, int64_t D) {
    return std::sqrt(sumsq * (1.0 + double(D + 8) * 0x1p-52)) * (1.0 + 0x1p-51);
}

constexpr size_t kHugePage = size_t(2) << 20;

int64_t key_bytes(const ha_key_index& x) { return x.D * ha::dtype_size(x.dtype); }

void ensure_blocks(const ha_key_index& x, HeadIndex& hi, int64_t nb) {
    const int64_t chunks = (nb + kChunkBlocks - 1) / kChunkBlocks;
    hi.cen.resize(size_t(chunks * x.D * kChunkBlocks), 0);
    hi.rho.resize(size_t(chunks * kChunkBlocks), 0.f);
    hi.maxnorm.resize(size_t(nb));
    hi.beta.resize(size_t(nb));
    hi.lo.resize(size_t(nb * x.Dp), 0);
    hi.hi.resize(size_t(nb * x.Dp), 0);
    hi.minpos.resize(size_t(nb));
    hi.maxpos.resize(size_t(nb));
    if (x.has_v) {
        hi.vlo.resize(size_t(nb * x.Dp), 0);
        hi.vhi.resize(size_t(nb * x.Dp), 0);
        if (hi.vmin.empty()) {
            hi.vmin.assign(size_t(x.D), INFINITY);
            hi.vmax.assign(size_t(x.D), -INFINITY);
        }
    }
}

// Room for a quarter more keys (at least 4096), so that decoding appends for a long while
// without a vector growing: a regrowth copies the index, a stall of milliseconds at 1M keys.
void reserve_headroom(const ha_key_index& x, HeadIndex& h) {
    const int64_t keys = x.N + std::max<int64_t>(x.N / 4, 4096);
    const int64_t blocks = h.nb + (keys - x.N) / x.opt.block_size + 1;
    const int64_t chunks = (blocks + kChunkBlocks - 1) / kChunkBlocks;
    h.perm.reserve(size_t(keys));
    h.knorm.reserve(size_t(keys));
    h.bstart.reserve(size_t(blocks + 1));
    h.cen.reserve(size_t(chunks * x.D * kChunkBlocks));
    h.rho.reserve(size_t(chunks * kChunkBlocks));
    for (auto* v : {&h.maxnorm, &h.beta}) v->reserve(size_t(blocks));
    for (auto* v : {&h.minpos, &h.maxpos}) v->reserve(size_t(blocks));
    for (auto* v : {&h.lo, &h.hi}) v->reserve(size_t(blocks * x.Dp));
    if (x.has_v)
        for (auto* v : {&h.vlo, &h.vhi}) v->reserve(size_t(blocks * x.Dp));
    // The copy is the big part: only a quarter more (regrowing a small copy is cheap). Its
    // room is written now (size, not just capacity), so that appending never takes the page
    // faults of fresh memory: on a virtual machine those cost several microseconds per token.
    if (x.opt.copy_keys) h.keys.resize(size_t((x.N + x.N / 4) * key_bytes(x)));
}

// Copies the keys of slots [s0, s1) (through perm) into h.keys, which grows (by a quarter, its
// room written) when it holds fewer than s1 rows.
void copy_keys(const ha_key_index& x, HeadIndex& h, const RowSrc& ks, int64_t s0, int64_t s1) {
    const int64_t rb = key_bytes(x), es = ha::dtype_size(x.dtype);
    if (h.keys.size() < size_t(s1 * rb))
        h.keys.resize(std::max(size_t(s1 * rb), h.keys.size() + h.keys.size() / 4));
    const char* base = static_cast<const char*>(ks.data);
    for (int64_t s = s0; s < s1; ++s) {
        const char* src = base + int64_t(h.perm[size_t(s)]) * ks.row * es;
        uint8_t* dst = h.keys.data() + s * rb;
        if (ks.col == 1) {
            std::memcpy(dst, src, size_t(rb));
        } else {
            for (int64_t d = 0; d < x.D; ++d) std::memcpy(dst + d * es, src + d * ks.col * es, size_t(es));
        }
    }
}

// Scratch of one sealing task.
struct SealScratch {
    std::vector<float> rows, vrows, cf;
    std::vector<double> sum;
    std::vector<float> lo, hi;
    void init(int64_t bs, int64_t Dp) {
        rows.resize(size_t(bs * Dp));
        vrows.resize(size_t(bs * Dp));
        cf.resize(size_t(Dp));
        sum.resize(size_t(Dp));
        lo.resize(size_t(Dp));
        hi.resize(size_t(Dp));
    }
};

// Computes block blk's bounds from its keys, perm[bstart[blk] .. bstart[blk+1]). Returns false
// (with *bad the position) on a non-finite key.
bool seal_block(const ha_key_index& x, HeadIndex& h, int64_t blk, const RowSrc& ks,
                const RowSrc* vs, SealScratch& w, int64_t* bad) {
    const Kernels& kr = active();
    const int64_t D = x.D, Dp = x.Dp;
    const int64_t s0 = h.bstart[size_t(blk)], bs = h.bstart[size_t(blk + 1)] - s0;
    const int32_t* pos = h.perm.data() + s0;
    float* rows = w.rows.data();
    kr.load_rows(ks, pos, 0, int(bs), D, Dp, rows);
    std::fill(w.sum.begin(), w.sum.end(), 0.0);
    std::fill(w.lo.begin(), w.lo.end(), INFINITY);
    std::fill(w.hi.begin(), w.hi.end(), -INFINITY);
    float mxn = 0.f;
    int32_t mnp = INT32_MAX, mxp = -1;
    for (int64_t t = 0; t < bs; ++t) {
        const float* r = rows + t * Dp;
        const double n2 = kr.sumsq(r, D);
        if (!std::isfinite(n2)) {
            *bad = pos[t];
            return false;
        }
        const float kn = round_up_f(norm_up(n2, D));
        h.knorm[size_t(s0 + t)] = kn;
        mxn = std::max(mxn, kn);
        for (int64_t d = 0; d < D; ++d) {
            w.sum[size_t(d)] += r[d];
            w.lo[size_t(d)] = std::min(w.lo[size_t(d)], r[d]);
            w.hi[size_t(d)] = std::max(w.hi[size_t(d)], r[d]);
        }
        mnp = std::min(mnp, pos[t]);
        mxp = std::max(mxp, pos[t]);
    }
    // Centre: the mean rounded to bf16. Any centre is valid; the radius is measured from the
    // rounded one.
    const int64_t chunk = blk / kChunkBlocks, lane = blk % kChunkBlocks;
    uint16_t* cen = h.cen.data() + chunk * D * kChunkBlocks + lane;
    std::fill(w.cf.begin(), w.cf.end(), 0.f);
    for (int64_t d = 0; d < D; ++d) {
        const uint16_t c = f32_to_bf16_nearest(static_cast<float>(w.sum[size_t(d)] / double(bs)));
        cen[d * kChunkBlocks] = c;
        w.cf[size_t(d)] = bf16_bits_to_f32(c);
    }
    double r2 = 0;
    for (int64_t t = 0; t < bs; ++t) r2 = std::max(r2, kr.dist2(rows + t * Dp, w.cf.data(), D));
    const double r = norm_up(r2, D), cn = norm_up(kr.sumsq(w.cf.data(), D), D);
    h.rho[size_t(blk)] = round_up_f((r + dot_err(D) * cn) * (1.0 + 0x1p-50));
    // Box, rounded outward to bf16.
    double m2 = 0;
    uint16_t* lo = h.lo.data() + blk * Dp;
    uint16_t* hi = h.hi.data() + blk * Dp;
    for (int64_t d = 0; d < D; ++d) {
        lo[d] = f32_to_bf16_down(w.lo[size_t(d)]);
        hi[d] = f32_to_bf16_up(w.hi[size_t(d)]);
        const double m = std::max(std::fabs(double(bf16_bits_to_f32(lo[d]))),
                                  std::fabs(double(bf16_bits_to_f32(hi[d]))));
        m2 += m * m;
    }
    h.beta[size_t(blk)] = round_up_f(dot_err(D) * norm_up(m2, D) * (1.0 + 0x1p-50));
    h.maxnorm[size_t(blk)] = mxn;
    h.minpos[size_t(blk)] = mnp;
    h.maxpos[size_t(blk)] = mxp;
    if (vs) {
        float* vr = w.vrows.data();
        kr.load_rows(*vs, pos, 0, int(bs), D, Dp, vr);
        uint16_t* vlo = h.vlo.data() + blk * Dp;
        uint16_t* vhi = h.vhi.data() + blk * Dp;
        for (int64_t d = 0; d < D; ++d) {
            float a = INFINITY, b = -INFINITY;
            bool finite = true;
            for (int64_t t = 0; t < bs; ++t) {
                const float v = vr[t * Dp + d];
                finite &= std::isfinite(v);
                a = std::min(a, v);
                b = std::max(b, v);
            }
            if (!finite) {  // a range that bounds nothing: error bounds become infinite
                a = -INFINITY;
                b = INFINITY;
            }
            vlo[d] = f32_to_bf16_down(a);
            vhi[d] = f32_to_bf16_up(b);
            h.vmin[size_t(d)] = std::min(h.vmin[size_t(d)], bf16_bits_to_f32(vlo[d]));
            h.vmax[size_t(d)] = std::max(h.vmax[size_t(d)], bf16_bits_to_f32(vhi[d]));
        }
    }
    return true;
}

// ---- regrouping --------------------------------------------------------------------------
struct Clusterer {
    const Kernels& kr = active();
    int64_t D = 0, Dp = 0, bs = 0;
    int32_t iters = 0;
    uint64_t seed = 0;
    std::vector<uint16_t> work;  // [m][Dp] bf16 copies, permuted along with ids
    std::vector<int32_t> ids;
    std::vector<float> proj, tmp, c0, c1, w, s0, s1;
    std::vector<uint16_t> sample;
    std::vector<int32_t> order;
    std::vector<uint8_t> side;
    std::vector<uint16_t> alt;  // partition scratch, same layout as work
    std::vector<int32_t> alt_ids;

    const uint16_t* row(int64_t i) const { return work.data() + i * Dp; }

    void load_f32(const uint16_t* r, float* dst) const {
        for (int64_t d = 0; d < Dp; ++d) dst[d] = bf16_bits_to_f32(r[d]);
    }

    // Direction that separates the segment [lo, lo+cnt) best: w = c1 - c0 of a 2-means, and
    // the projection where the two centroids are equidistant.
    float direction(int64_t lo, int64_t cnt) {
        const int64_t S = std::min(cnt, kSample);
        const uint16_t* rows;
        if (cnt <= kSample) {
            rows = row(lo);
        } else {
            sample.resize(size_t(S * Dp));
            const uint64_t off = mix(seed ^ uint64_t(lo) * 0x51ed27ull) % uint64_t(cnt / S);
            for (int64_t i = 0; i < S; ++i)
                std::memcpy(sample.data() + i * Dp, row(lo + i * (cnt / S) + int64_t(off)),
                            size_t(Dp) * 2);
            rows = sample.data();
        }
        tmp.resize(size_t(Dp));
        // Seeds: the two mutually farthest of up to 64 sample rows (a cheap diameter guess).
        const int64_t F = std::min<int64_t>(S, 64), fstep = S / F;
        auto farthest = [&](const float* from) {
            double best = -1;
            int64_t arg = 0;
            for (int64_t i = 0; i < S; i += fstep) {
                load_f32(rows + i * Dp, tmp.data());
                const double d2 = kr.dist2(tmp.data(), from, Dp);
                if (d2 > best) {  // NaN never wins: an overflowing row is skipped
                    best = d2;
                    arg = i;
                }
            }
            return arg;
        };
        c0.resize(size_t(Dp));
        c1.resize(size_t(Dp));
        load_f32(rows + int64_t(mix(seed + uint64_t(lo)) % uint64_t(S)) * Dp, c0.data());
        load_f32(rows + farthest(c0.data()) * Dp, c1.data());
        load_f32(rows + farthest(c1.data()) * Dp, c0.data());
        w.resize(size_t(Dp));
        s0.resize(size_t(Dp));
        s1.resize(size_t(Dp));
        proj.resize(std::max<size_t>(proj.size(), size_t(S)));
        for (int it = 0; it < iters; ++it) {
            double n1 = 0, n0 = 0;
            for (int64_t d = 0; d < Dp; ++d) {
                w[size_t(d)] = c1[size_t(d)] - c0[size_t(d)];
                n1 += double(c1[size_t(d)]) * c1[size_t(d)];
                n0 += double(c0[size_t(d)]) * c0[size_t(d)];
            }
            const float thr = static_cast<float>((n1 - n0) / 2);
            kr.scores(1, w.data(), Dp, Dp, RowSrc{rows, Dp, 1, true}, nullptr, 0, int(S),
                      proj.data(), S);
            std::fill(s0.begin(), s0.end(), 0.f);
            std::fill(s1.begin(), s1.end(), 0.f);
            int64_t m0 = 0, m1 = 0;
            kr.split_sums(rows, Dp, S, proj.data(), thr, s0.data(), s1.data(), &m0, &m1);
            if (m0 == 0 || m1 == 0) break;
            for (int64_t d = 0; d < Dp; ++d) {
                c0[size_t(d)] = s0[size_t(d)] / float(m0);
                c1[size_t(d)] = s1[size_t(d)] / float(m1);
            }
        }
        double n1 = 0, n0 = 0;
        for (int64_t d = 0; d < Dp; ++d) {
            w[size_t(d)] = c1[size_t(d)] - c0[size_t(d)];
            n1 += double(c1[size_t(d)]) * c1[size_t(d)];
            n0 += double(c0[size_t(d)]) * c0[size_t(d)];
        }
        return static_cast<float>((n1 - n0) / 2);
    }

    // Rows of [lo, lo+cnt) with side 0 first, then side 1, each in their old order: read in
    // sequence, written as two sequential streams into alt, copied back.
    void partition(int64_t lo, int64_t cnt, int64_t left) {
        int64_t a = lo, b = lo + left;
        for (int64_t t = 0; t < cnt; ++t) {
            const int64_t to = side[size_t(t)] ? b++ : a++;
            std::memcpy(alt.data() + to * Dp, row(lo + t), size_t(Dp) * 2);
            alt_ids[size_t(to)] = ids[size_t(lo + t)];
        }
        std::memcpy(work.data() + lo * Dp, alt.data() + lo * Dp, size_t(cnt * Dp) * 2);
        std::memcpy(ids.data() + lo, alt_ids.data() + lo, size_t(cnt) * 4);
    }

    // Regroups keys [p0, p0+m) into blocks of at most bs keys: writes their order to perm and
    // appends the block sizes, in order, to sizes.
    void run(const RowSrc& ks, int64_t p0, int64_t m, int32_t* perm, std::vector<int32_t>& sizes) {
        work.assign(size_t(m * Dp), 0);
        alt.resize(size_t(m * Dp));
        ids.resize(size_t(m));
        alt_ids.resize(size_t(m));
        std::vector<float> buf(static_cast<size_t>(64 * Dp));
        for (int64_t j0 = 0; j0 < m; j0 += 64) {
            const int n = int(std::min<int64_t>(64, m - j0));
            kr.load_rows(ks, nullptr, p0 + j0, n, D, Dp, buf.data());
            for (int64_t t = 0; t < n; ++t)
                for (int64_t d = 0; d < D; ++d) {
                    // Clamped so the copy stays finite (the largest floats round to bf16 inf).
                    const float f = std::clamp(buf[size_t(t * Dp + d)], -3.38e38f, 3.38e38f);
                    work[size_t((j0 + t) * Dp + d)] = f32_to_bf16_nearest(f);
                }
        }
        std::iota(ids.begin(), ids.end(), int32_t(p0));
        std::vector<std::pair<int64_t, int64_t>> stack{{0, m}};
        while (!stack.empty()) {
            const auto [lo, cnt] = stack.back();
            stack.pop_back();
            if (cnt <= bs) {
                sizes.push_back(int32_t(cnt));
                continue;
            }
            const float thr = direction(lo, cnt);
            proj.resize(std::max<size_t>(proj.size(), size_t(cnt)));
            kr.scores(1, w.data(), Dp, Dp, RowSrc{row(lo), Dp, 1, true}, nullptr, 0, int(cnt),
                      proj.data(), cnt);
            int64_t left = 0;
            side.resize(size_t(cnt));
            for (int64_t t = 0; t < cnt; ++t) {
                if (std::isnan(proj[size_t(t)])) proj[size_t(t)] = 0.f;
                side[size_t(t)] = proj[size_t(t)] > thr;
                left += !side[size_t(t)];
            }
            // Split where the two centroids meet, so that separate groups never share a block.
            // In a large segment a sliver means the 2-means found no real gap (an outlier, a
            // lopsided sample): split at the median instead, rounded to whole blocks, so the
            // recursion stays O(log n) deep.
            const int64_t sliver = cnt > 4 * bs ? cnt / 16 : 1;
            if (std::min(left, cnt - left) < sliver) {
                left = cnt <= 2 * bs ? bs : (cnt / 2 + bs / 2) / bs * bs;
                left = std::clamp<int64_t>(left, 1, cnt - 1);
                order.resize(size_t(cnt));
                std::iota(order.begin(), order.end(), 0);
                const float* pr = proj.data();
                std::nth_element(order.begin(), order.begin() + left, order.end(),
                                 [pr](int32_t x, int32_t y) {
                                     return pr[x] < pr[y] || (pr[x] == pr[y] && x < y);
                                 });
                for (int64_t t = 0; t < cnt; ++t) side[size_t(order[size_t(t)])] = t >= left;
            }
            partition(lo, cnt, left);
            stack.push_back({lo + left, cnt - left});
            stack.push_back({lo, left});
        }
        std::memcpy(perm, ids.data(), size_t(m) * 4);
    }
};

// Builds head g's index over the first x.N keys. Returns false with *bad on a bad key.
bool build_head(const ha_key_index& x, HeadIndex& h, int64_t g, int64_t* bad) {
    const int64_t b = g / x.H, hh = g % x.H, bs = x.opt.block_size;
    const RowSrc ks = head_src(x, false, b, hh);
    const RowSrc vsrc = x.has_v ? head_src(x, true, b, hh) : RowSrc{};
    const int64_t sealed = x.N / bs * bs;
    h.n_keys = x.N;
    h.perm.resize(size_t(sealed));
    h.knorm.assign(size_t(x.N), 0.f);
    std::vector<int32_t> sizes;
    if (x.opt.kmeans_iters > 0 && sealed >= 2 * bs) {
        Clusterer c;
        c.D = x.D;
        c.Dp = x.Dp;
        c.bs = bs;
        c.iters = x.opt.kmeans_iters;
        c.seed = mix(x.opt.seed ^ uint64_t(g));
        const int64_t seg = x.opt.segment > 0 ? std::max(bs, x.opt.segment / bs * bs) : sealed;
        for (int64_t p0 = 0; p0 < sealed; p0 += seg)
            c.run(ks, p0, std::min(seg, sealed - p0), h.perm.data() + p0, sizes);
    } else {
        std::iota(h.perm.begin(), h.perm.end(), 0);
        sizes.assign(size_t(sealed / bs), int32_t(bs));
    }
    h.nb = int64_t(sizes.size());
    h.bstart.resize(size_t(h.nb + 1));
    h.bstart[0] = 0;
    for (int64_t i = 0; i < h.nb; ++i) h.bstart[size_t(i + 1)] = h.bstart[size_t(i)] + sizes[size_t(i)];
    ensure_blocks(x, h, h.nb);
    reserve_headroom(x, h);
    SealScratch w;
    w.init(bs, x.Dp);
    for (int64_t blk = 0; blk < h.nb; ++blk)
        if (!seal_block(x, h, blk, ks, x.has_v ? &vsrc : nullptr, w, bad)) return false;
    if (x.opt.copy_keys) copy_keys(x, h, ks, 0, sealed);
    std::vector<float> r(static_cast<size_t>(x.Dp));
    for (int64_t j = sealed; j < x.N; ++j) {
        active().load_rows(ks, nullptr, j, 1, x.D, x.Dp, r.data());
        const double n2 = active().sumsq(r.data(), x.D);
        if (!std::isfinite(n2)) {
            *bad = j;
            return false;
        }
        h.knorm[size_t(j)] = round_up_f(norm_up(n2, x.D));
    }
    return true;
}

}  // namespace

double draw_u(uint64_t seed, int64_t g, int64_t j) {
    const uint64_t key = mix(seed ^ 0x64726177ull) ^ mix(uint64_t(g) * 0x9e3779b1ull + 7);
    return double(mix(key + uint64_t(j)) >> 11) * 0x1.0p-53;
}

namespace {

// Sketches, norms and draw levels of keys [j0, j1) by position (approximate attention reads
// them).
void sketch_keys(const ha_key_index& x, HeadIndex& h, int64_t g, const RowSrc& ks, int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
        const double u = draw_u(x.opt.seed, g, j);
        if (u < HeadIndex::kDrawBase) {
            h.draws[0].push_back(int32_t(j));
            continue;
        }
        int k = 1;
        while (k < HeadIndex::kDrawLevels && u >= HeadIndex::kDrawBase * std::ldexp(1.0, k)) ++k;
        if (k < HeadIndex::kDrawLevels) h.draws[k].push_back(int32_t(j));
    }
    h.sketch.resize(size_t(j1));
    h.pnorm.resize(size_t(j1));
    approx::sketch_rows(active(), x.sketch_planes.data(), x.D, x.Dp, ks, j0, j1 - j0,
                        h.sketch.data() + j0);
    std::vector<float> r(static_cast<size_t>(x.Dp));
    for (int64_t j = j0; j < j1; ++j) {
        active().load_rows(ks, nullptr, j, 1, x.D, x.Dp, r.data());
        h.pnorm[size_t(j)] = float(std::sqrt(active().sumsq(r.data(), x.D)));
        for (int64_t s = 0; s <= std::min<int64_t>(j, HeadIndex::kNormAfter); ++s)
            h.norm_after[s] = std::max(h.norm_after[s], h.pnorm[size_t(j)]);
    }
}

int32_t report_bad_key(const ha_key_index& x, const std::vector<int64_t>& bad) {
    for (size_t g = 0; g < bad.size(); ++g)
        if (bad[g] >= 0)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "k: non-finite value in the key at batch %lld, head %lld, position %lld "
                        "(an index needs finite keys)",
                        (long long)(int64_t(g) / x.H), (long long)(int64_t(g) % x.H),
                        (long long)bad[g]);
    return HA_OK;
}

void set_views(ha_key_index& x, const Tensor4& k, const Tensor4* v) {
    x.kdata = k.view.data;
    for (int i = 0; i < 4; ++i) x.kstr[i] = k.view.strides[i];
    x.has_v = v != nullptr;
    x.vdata = v ? v->view.data : nullptr;
    for (int i = 0; i < 4; ++i) x.vstr[i] = v ? v->view.strides[i] : 0;
}

}  // namespace

int32_t index_build(const Tensor4& k, const Tensor4* v, const IndexOptions& opt,
                    ha_key_index** out) {
    auto x = std::make_unique<ha_key_index>();
    x->dtype = k.dtype;
    x->B = k.view.shape[0];
    x->H = k.view.shape[1];
    x->N = k.view.shape[2];
    x->D = k.view.shape[3];
    x->Dp = (x->D + 15) / 16 * 16;
    set_views(*x, k, v);
    x->opt = opt;
    const int64_t groups = x->B * x->H;
    x->heads.resize(size_t(groups));
    std::vector<int64_t> bad(static_cast<size_t>(groups), -1);
    const int64_t seg = opt.segment > 0 ? std::min(opt.segment, x->N) : x->N;
    const int64_t per_group = std::max<int64_t>(1, seg * (x->Dp * 2 + 16));
    const int slots = int(std::clamp<int64_t>(kBuildBudget / per_group, 1, pool_threads()));
    x->sketch_planes = approx::sketch_planes(opt.seed, x->D, x->Dp);
    int32_t st = parallel_for(groups, slots, [&](int64_t g, int) {
        if (build_head(*x, x->heads[size_t(g)], g, &bad[size_t(g)]))
            sketch_keys(*x, x->heads[size_t(g)], g, head_src(*x, false, g / x->H, g % x->H), 0, x->N);
    });
    if (st != HA_OK)
        return fail(st, "ha_key_index_create: %s",
                    st == HA_ERR_OUT_OF_MEMORY ? "out of memory" : "internal error");
    if (int32_t e = report_bad_key(*x, bad); e != HA_OK) return e;
    *out = x.release();
    return HA_OK;
}

int32_t index_append(ha_key_index* x, const Tensor4& k, const Tensor4* v) {
    const int64_t N = k.view.shape[2];
    if (N == x->N) return HA_OK;
    const int64_t groups = x->B * x->H, bs = x->opt.block_size, add = N - x->N;
    // Decoding appends a key or a few at a time: threads only pay off for large appends.
    const int slots = add * groups >= 4096 ? pool_threads() : 1;
    // First the new keys' norms, so a bad key leaves the index untouched.
    std::vector<float> norms(static_cast<size_t>(groups * add));
    std::vector<int64_t> bad(static_cast<size_t>(groups), -1);
    int32_t st = parallel_for(groups, slots, [&](int64_t g, int) {
        const RowSrc ks = head_src(*x, false, g / x->H, g % x->H);
        float r[256];
        for (int64_t j = x->N; j < N; ++j) {
            active().load_rows(ks, nullptr, j, 1, x->D, x->Dp, r);
            const double n2 = active().sumsq(r, x->D);
            if (!std::isfinite(n2)) {
                bad[size_t(g)] = j;
                return;
            }
            norms[size_t(g * add + j - x->N)] = round_up_f(norm_up(n2, x->D));
        }
    });
    if (st != HA_OK)
        return fail(st, "ha_key_index_append: %s",
                    st == HA_ERR_OUT_OF_MEMORY ? "out of memory" : "internal error");
    if (int32_t e = report_bad_key(*x, bad); e != HA_OK) return e;
    st = parallel_for(groups, slots, [&](int64_t g, int) {
        HeadIndex& h = x->heads[size_t(g)];
        h.knorm.insert(h.knorm.end(), norms.begin() + g * add, norms.begin() + (g + 1) * add);
        sketch_keys(*x, h, g, head_src(*x, false, g / x->H, g % x->H), x->N, N);
        if (h.bstart.empty()) h.bstart.assign(1, 0);
        if (N - h.bstart[size_t(h.nb)] < bs) {
            h.n_keys = N;
            return;
        }
        const RowSrc ks = head_src(*x, false, g / x->H, g % x->H);
        const RowSrc vs = x->has_v ? head_src(*x, true, g / x->H, g % x->H) : RowSrc{};
        SealScratch w;
        w.init(bs, x->Dp);
        while (N - h.bstart[size_t(h.nb)] >= bs) {
            const int64_t blk = h.nb, s0 = h.bstart[size_t(blk)];
            h.perm.resize(size_t(s0 + bs));
            std::iota(h.perm.begin() + s0, h.perm.end(), int32_t(s0));
            h.bstart.push_back(int32_t(s0 + bs));
            ensure_blocks(*x, h, blk + 1);
            int64_t unused = -1;
            seal_block(*x, h, blk, ks, x->has_v ? &vs : nullptr, w, &unused);
            if (x->opt.copy_keys) copy_keys(*x, h, ks, s0, s0 + bs);
            h.nb = blk + 1;
        }
        h.n_keys = N;
    });
    if (st != HA_OK)
        return fail(st, "ha_key_index_append: %s",
                    st == HA_ERR_OUT_OF_MEMORY ? "out of memory" : "internal error");
    x->N = N;
    (void)v;
    return HA_OK;
}

void* alloc_key_copy(size_t bytes) {
    const size_t align = bytes >= 2 * kHugePage ? kHugePage : 64;
    void* p = ::operator new(bytes, std::align_val_t(align));
#ifdef __linux__
    if (align == kHugePage) madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // a hint only
#endif
    return p;
}

void free_key_copy(void* p, size_t bytes) {
    ::operator delete(p, std::align_val_t(bytes >= 2 * kHugePage ? kHugePage : 64));
}

int64_t index_bytes(const ha_key_index& x) {
    int64_t n = int64_t(sizeof(ha_key_index)) + int64_t(x.heads.capacity() * sizeof(HeadIndex));
    for (const HeadIndex& h : x.heads) {
        n += int64_t(h.perm.capacity() * 4 + h.bstart.capacity() * 4 + h.knorm.capacity() * 4 + h.cen.capacity() * 2 +
                     h.rho.capacity() * 4 + h.maxnorm.capacity() * 4 + h.beta.capacity() * 4 +
                     h.lo.capacity() * 2 + h.hi.capacity() * 2 + h.minpos.capacity() * 4 +
                     h.maxpos.capacity() * 4 + h.vlo.capacity() * 2 + h.vhi.capacity() * 2 +
                     h.vmin.capacity() * 4 + h.vmax.capacity() * 4 + h.keys.capacity() +
                     h.sketch.capacity() * 8 + h.pnorm.capacity() * 4);
        for (const auto& d : h.draws) n += int64_t(d.capacity() * 4);
    }
    return n + int64_t(x.sketch_planes.capacity() * 4);
}

}  // namespace ha::cpu::hsr
