// The softmax certificate's arithmetic (see hsr_certificate.h). Every rounding is directed
// or covered by an explicit margin: a bound here is never below the true value.
#include "cpu/hsr/hsr_certificate.h"

#include <algorithm>
#include <cmath>

#include "cpu/hsr/numerics.h"

namespace ha::cpu::hsr::detail {
namespace {

// The kTopDev heaviest dropped blocks are given their own value range: they carry most of the
// dropped mass, and the head's whole range is much wider than a block's.
constexpr int kTopDev = 16;

}  // namespace

Cert certificate(const Context& cx, const Unit& u, int r) {
    const UnitRow& row = u.rows[r];
    const double m = row.max_x;
    const double cu = row.top_bound >= 0 ? cx.log2_scale_d * (1 + 0x1p-50)
                                         : cx.log2_scale_d * (1 - 0x1p-50);
    const double cum = cu * row.top_bound;
    double a = cum - m;
    a += (std::fabs(cum) + std::fabs(m)) * 0x1p-50 + 1e-300;
    // Score error of the kept keys in log2 units, and the rounding of fl(s·c) − m and exp2.
    const double delta =
        cx.dot_rel_err * double(row.q_norm) * double(u.visited_max_knorm) + double(cx.dot_abs_err);
    const double err =
        4 * 0x1p-24 * (std::fabs(m) + 130) + cx.log2_scale_d * 1.01 * delta + 0x1p-20 / kLog2e;
    const double kappa = 80 * 0x1p-24 + double(u.n_visited + 8) * 0x1p-50;
    return Cert{a, row.weight_sum_d * (1 - kappa) * std::exp2(-err)};
}

bool certified_at(const Context& cx, const Unit& u, int r, int L, const Cert& ct, int64_t nb) {
    const double s = u.mass_from[size_t(r * (kNumLevels + 1) + L)];
    if (s == 0) return true;
    if (u.rows[r].max_x == -INFINITY || !(ct.s_low > 0)) return false;
    const double eps = cx.query.epsilon * (1 - 0x1p-20);
    const double log2R = ct.a + std::log2(s * (1 + double(nb + 80) * 0x1p-52));
    return log2R + std::log2(1 - eps) <= std::log2(eps) + std::log2(ct.s_low);
}

// The suffix sum of the row's levels from its current level on, minus the visited blocks
// there (exact floats), plus the rounding of both.
double unvisited_mass(const Unit& u, int r, int64_t nb) {
    const int L = u.rows[r].level;
    const double s = u.mass_from[size_t(r * (kNumLevels + 1) + L)];
    const uint8_t* lv = u.level_of.data() + r * nb;
    const float* e = u.mass.data() + r * nb;
    if (!std::isfinite(s)) {  // a must-visit block remains: add up exactly instead
        double t = 0;
        for (int64_t b = 0; b < nb; ++b)
            if (lv[b] != kExcluded && !u.visited[size_t(b)]) t += double(e[b]);
        return t * (1 + double(nb + 8) * 0x1p-52);
    }
    double v = 0;
    for (int32_t b : u.visited_blocks)
        if (lv[b] != kExcluded && lv[b] >= L) v += double(e[b]);
    return std::max(0.0, s - v) +
           double(nb + int64_t(u.visited_blocks.size()) + 80) * 0x1p-52 * s;
}

// Σ over dropped blocks of (mass bound) × (largest distance from ô_d to the block's value
// range). The kTopDev heaviest dropped blocks use their own value ranges (index built with v),
// the rest the range of all values of the head.
double error_bound(const Context& cx, const Unit& u, int r, const float* o, const Cert& ct,
                   double dropped_sum) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb, D = cx.D;
    const float *gmin, *gmax;
    if (cx.index.has_v) {
        gmin = h.vmin.data();
        gmax = h.vmax.data();
    } else {
        gmin = cx.value_min.data() + (u.batch * cx.Hkv + u.kv_head) * D;
        gmax = cx.value_max.data() + (u.batch * cx.Hkv + u.kv_head) * D;
    }
    auto dev = [&](const float* lo, const float* hi, const uint16_t* blo, const uint16_t* bhi) {
        double m = 0;
        for (int64_t d = 0; d < D; ++d) {
            const double l = blo ? double(bf16_bits_to_f32(blo[d])) : double(lo[d]);
            const double hgh = bhi ? double(bf16_bits_to_f32(bhi[d])) : double(hi[d]);
            m = std::max({m, hgh - o[d], o[d] - l});
        }
        return m;
    };
    const double dev_all = dev(gmin, gmax, nullptr, nullptr);
    const int32_t* ord = u.by_level.data() + r * nb;
    const int32_t* cnt = u.level_start.data() + r * (kNumLevels + 1);
    const float* e = u.mass.data() + r * nb;
    const double scale = std::exp2(ct.a) / ct.s_low * (1 + double(nb + 80) * 0x1p-52);
    double err = 0, own_mass = 0;
    int own = 0;
    if (cx.index.has_v)
        for (int32_t t = cnt[u.rows[r].level]; t < cnt[kNumLevels] && own < kTopDev; ++t) {
            const int32_t blk = ord[t];
            if (u.visited[size_t(blk)]) continue;
            ++own;
            own_mass += double(e[blk]);
            err += double(e[blk]) * dev(nullptr, nullptr, h.vlo.data() + blk * cx.Dp,
                                        h.vhi.data() + blk * cx.Dp);
        }
    const double rest = std::max(0.0, dropped_sum - own_mass * (1 - 0x1p-50));
    return (err + rest * dev_all) * scale * (1 + 0x1p-20);
}

}  // namespace ha::cpu::hsr::detail
