// The dense fallback (see hsr_fallback.h).
#include "tensor_check.h"
#include "cpu/hsr/hsr_fallback.h"

#include <algorithm>

#include "cpu/cpu_backend.h"

namespace ha::cpu::hsr::detail {
namespace {

View sub_view(const View& v, int32_t dtype, int64_t b, int64_t h, int64_t i, int64_t nh,
              int64_t ni) {
    const int64_t es = ha::dtype_size(dtype);
    View s = v;
    if (v.data)  // NULL for an empty K or V: no offset
        s.data = static_cast<char*>(v.data) + (b * v.strides[0] + h * v.strides[1] + i * v.strides[2]) * es;
    s.shape[0] = 1;
    s.shape[1] = nh;
    s.shape[2] = ni;
    return s;
}

// Query heads [h0, h0 + nh) at positions [i0, i0 + ni) of kv head hk, with the keys the last
// of those positions may see (the exact kernel applies the causal mask itself).
int32_t dense_rows(const Context& cx, int64_t b, int64_t hk, int64_t h0, int64_t nh, int64_t i0,
                   int64_t ni) {
    const Query& q = cx.query;
    const int64_t nk = q.causal ? std::clamp<int64_t>(i0 + ni + cx.Nk - cx.Nq, 0, cx.Nk) : cx.Nk;
    ExactProblem p{};
    p.dtype = q.q.dtype;
    p.q = sub_view(q.q.view, q.q.dtype, b, h0, i0, nh, ni);
    p.out = sub_view(q.out.view, q.out.dtype, b, h0, i0, nh, ni);
    p.k = sub_view(q.k.view, q.k.dtype, b, hk, 0, 1, nk);
    p.v = sub_view(q.v.view, q.v.dtype, b, hk, 0, 1, nk);
    p.lse = nullptr;
    p.scale = q.scale;
    p.causal = q.causal;
    return exact_forward(p);
}

}  // namespace

int32_t run_fallbacks(const Context& cx, std::vector<FallbackRun>& runs, int64_t total_rows) {
    int64_t rows = 0;
    for (const FallbackRun& f : runs) rows += f.r1 - f.r0;
    if (rows == 0 && total_rows != 0) return HA_OK;
    if (rows == total_rows) {  // everything: one call, the dense kernel's own parallelism
        ExactProblem p{};
        p.dtype = cx.query.q.dtype;
        p.q = cx.query.q.view;
        p.k = cx.query.k.view;
        p.v = cx.query.v.view;
        p.out = cx.query.out.view;
        p.scale = cx.query.scale;
        p.causal = cx.query.causal;
        return exact_forward(p);
    }
    for (const FallbackRun& f : runs) {
        // Whole positions (all G heads) in one call; otherwise per position.
        int64_t rr = f.r0;
        while (rr < f.r1) {
            const int64_t i = rr / cx.G, g = rr % cx.G;
            if (g == 0 && f.r1 - rr >= cx.G) {
                const int64_t ni = (f.r1 - rr) / cx.G;
                const int32_t st = dense_rows(cx, f.b, f.hk, f.hk * cx.G, cx.G, i, ni);
                if (st != HA_OK) return st;
                rr += ni * cx.G;
            } else {
                const int64_t nh = std::min(cx.G - g, f.r1 - rr);
                int32_t st = dense_rows(cx, f.b, f.hk, f.hk * cx.G + g, nh, i, 1);
                if (st != HA_OK) return st;
                rr += nh;
            }
        }
    }
    return HA_OK;
}

void dense_stats(const Context& cx) {
    const Query& q = cx.query;
    for (int64_t b = 0; b < cx.B; ++b)
        for (int64_t h = 0; h < cx.Hq; ++h)
            for (int64_t i = 0; i < cx.Nq; ++i) {
                const int64_t row = (b * cx.Hq + h) * cx.Nq + i;
                if (q.dropped) q.dropped[row] = 0.f;
                if (q.error_bound) q.error_bound[row] = 0.f;
                if (q.touched)
                    q.touched[row] = q.causal ? std::clamp<int64_t>(i + cx.Nk - cx.Nq + 1, 0, cx.Nk) : cx.Nk;
            }
}

}  // namespace ha::cpu::hsr::detail
