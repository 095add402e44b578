// Results (see hsr_results.h).
#include "cpu/hsr/hsr_results.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/hsr/hsr_certificate.h"
#include "cpu/hsr/numerics.h"

namespace ha::cpu::hsr::detail {
namespace {

void write_row(const Context& cx, const Unit& u, int r, const float* o, float inv) {
    const View& v = cx.query.out.view;
    const int64_t off =
        u.batch * v.strides[0] + u.rows[r].head * v.strides[1] + u.rows[r].pos * v.strides[2];
    const int64_t sd = v.strides[3];
    if (cx.query.out.dtype == HA_DTYPE_BF16) {
        uint16_t* dst = static_cast<uint16_t*>(v.data) + off;
        for (int64_t d = 0; d < cx.D; ++d) dst[d * sd] = f32_to_bf16_nearest(o[d] * inv);
    } else if (cx.query.out.dtype == HA_DTYPE_F16) {
        uint16_t* dst = static_cast<uint16_t*>(v.data) + off;
        for (int64_t d = 0; d < cx.D; ++d) dst[d * sd] = ha::f32_to_f16_bits(o[d] * inv);
    } else {
        float* dst = static_cast<float*>(v.data) + off;
        for (int64_t d = 0; d < cx.D; ++d) dst[d * sd] = o[d] * inv;
    }
}

// keys_touched: the keys of the tail and of the blocks visited for this row that it may see.
int64_t visible_keys(const Context& cx, const Unit& u, int r) {
    const HeadIndex& h = cx.head(u);
    const int64_t sealed = sealed_keys(h), lim = u.rows[r].key_limit;
    int64_t n = std::max<int64_t>(0, std::min(lim, cx.Nk) - sealed);  // tail
    if (u.scan) return n + std::min(lim, sealed);
    const bool by_row = u.visited_row_masks.size() == u.visited_blocks.size();
    for (size_t c = 0; c < u.visited_blocks.size(); ++c) {
        const int32_t blk = u.visited_blocks[c];
        if (by_row && !(u.visited_row_masks[c] >> r & 1u)) continue;
        if (h.maxpos[size_t(blk)] < lim) {
            n += block_size(h, blk);
        } else if (h.minpos[size_t(blk)] < lim) {
            const int32_t* pos = h.perm.data() + h.bstart[size_t(blk)];
            for (int32_t t = 0; t < block_size(h, blk); ++t) n += pos[t] < lim;
        }
    }
    return n;
}

}  // namespace

void finish(const Context& cx, Unit& u) {
    const Query& q = cx.query;
    const HeadIndex& h = cx.head(u);
    for (int r = 0; r < u.R; ++r) {
        const int64_t row = cx.row_id(u, r);
        if (q.mode == Mode::Report) {
            auto& l = u.lists[size_t(r)];
            std::sort(l.begin(), l.end());
            (*q.lists)[size_t(row)] = std::move(l);
            continue;
        }
        if (u.dense) {  // the dense kernel writes this row; dropped mass 0
            if (q.dropped) q.dropped[row] = 0.f;
            if (q.error_bound) q.error_bound[row] = 0.f;
            if (q.touched) q.touched[row] = u.rows[r].key_limit;
            continue;
        }
        const float* O = u.out.data() + r * cx.Dp;
        const float inv = u.rows[r].weight_sum > 0.f ? 1.f / u.rows[r].weight_sum : 0.f;
        write_row(cx, u, r, O, inv);
        if (q.touched) q.touched[row] = visible_keys(cx, u, r);
        float dropped = 0.f, errb = 0.f;
        if (q.mode == Mode::Softmax) {
            const int64_t nb = h.nb;
            const double s = unvisited_mass(u, r, nb);
            if (s > 0) {
                const Cert ct = certificate(cx, u, r);
                const double R = std::exp2(ct.a) * s * (1 + double(nb + 80) * 0x1p-52);
                const double pd = ct.s_low > 0 ? R / (ct.s_low + R) : 1.0;
                dropped = round_up_f(std::min(1.0, pd * (1 + 0x1p-40)));
                if (q.error_bound) {
                    std::vector<float> o(static_cast<size_t>(cx.D));
                    for (int64_t d = 0; d < cx.D; ++d) o[size_t(d)] = O[d] * inv;
                    errb = round_up_f(error_bound(cx, u, r, o.data(), ct, s));
                }
            }
        }
        if (q.dropped) q.dropped[row] = dropped;
        if (q.error_bound) q.error_bound[row] = errb;
    }
}

}  // namespace ha::cpu::hsr::detail
