// Where a query tile's rows come from and go to: each row's visible keys, and a finished
// tile's rows written to the outputs (or to a split-KV partial slot). Shared by the GEMM tile
// loop (forward.h) and decode (decode.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/kern/common.h"
#include "cpu/kern/pack.h"
#include "cpu/kern/shape.h"
#include "hyperattn.h"

namespace ha::cpu::kern {
namespace {

template <class I>
inline void write_row(const ExactProblem& p, int64_t b, int64_t h, int64_t i, const float* o,
                      float inv, int64_t D) {
    const int64_t off = row_off(p.out, b, h, i), sd = p.out.strides[3];
    if (p.dtype == HA_DTYPE_BF16 && !p.out_f32) {
        uint16_t* dst = static_cast<uint16_t*>(p.out.data) + off;
        for (int64_t d = 0; d < D; ++d) dst[d * sd] = f32_to_bf16(o[d] * inv);
    } else if (p.dtype == HA_DTYPE_F16 && !p.out_f32) {
        store_row_f16<I>(o, inv, D, static_cast<uint16_t*>(p.out.data) + off, sd);
    } else {
        float* dst = static_cast<float*>(p.out.data) + off;
        if (sd == 1)
            for (int64_t d = 0; d < D; ++d) dst[d] = o[d] * inv;
        else
            for (int64_t d = 0; d < D; ++d) dst[d * sd] = o[d] * inv;
    }
}

// Where one query tile's result goes: the output tensors, or a split-KV partial slot
// (unnormalised O, running max m in log2 units, denominator l).
struct PartialOut {
    float* O;  // [MQ][Dp]
    float* m;  // [MQ]
    float* l;  // [MQ]
};

// The keys [*lo, *hi) query row i may see: at position p = i + Nk - Nq (bottom-right
// aligned), p - window_left <= j <= p + window_right (causal: j <= p), within [0, Nk). A row
// that sees none gets [0, 0).
inline void key_range(const ExactProblem& p, const Shape& s, int64_t i, int64_t* lo,
                      int64_t* hi) {
    if (p.row_range) {
        *lo = p.row_range[2 * i];
        *hi = p.row_range[2 * i + 1];
        if (*hi <= *lo) *lo = *hi = 0;
        return;
    }
    const int64_t pos = i + s.Nk - s.Nq;
    int64_t a = 0, b = s.Nk;
    if (p.window_left >= 0) a = std::max<int64_t>(a, pos - p.window_left);
    int64_t right = p.window_right;
    if (p.causal) right = right < 0 ? 0 : std::min<int64_t>(right, 0);
    if (right >= 0) b = std::min<int64_t>(b, pos + right + 1);
    if (b <= a) a = b = 0;
    *lo = a;
    *hi = b;
}

// A finished row: O (unnormalised) divided by its softmax sum l goes to out, and the
// log-sum-exp, from m and l kept in log2 units, to lse. A row that saw no key (l = 0) writes
// zeros and -inf; a row whose sum is NaN (it saw a NaN or +inf score) writes NaN to both.
template <class I>
inline void finish_row(const ExactProblem& p, int64_t b, int64_t h, int64_t i, const float* o,
                       float m, float l, int64_t D, float xsum = 0.f) {
    const float inv = l > 0.f ? 1.f / l : l == 0.f ? 0.f : NAN;
    write_row<I>(p, b, h, i, o, inv, D);
    if (p.row_sum) p.row_sum[i * p.row_sum_stride] = xsum * inv;  // row_range: B = Hq = 1
    if (p.lse)
        p.lse[b * p.lse_strides[0] + h * p.lse_strides[1] + i * p.lse_strides[2]] =
            l == 0.f ? -INFINITY : (m + std::log2(l)) * kLn2;
}

// A finished query tile (rows of O ldo apart): into its split-KV partial slot as is, or
// through finish_row to the outputs.
template <class I>
inline void emit_tile(const ExactProblem& p, const Shape& s, int64_t b, int64_t hk, int64_t t,
                      int64_t rows, const float* O, int64_t ldo, const float* m, const float* l,
                      const PartialOut* partial, const float* xsum = nullptr) {
    if (partial) {
        for (int64_t r = 0; r < rows; ++r)
            std::memcpy(partial->O + r * s.Dp, O + r * ldo, sizeof(float) * size_t(s.D));
        std::memcpy(partial->m, m, sizeof(float) * size_t(rows));
        std::memcpy(partial->l, l, sizeof(float) * size_t(rows));
        return;
    }
    for (int64_t r = 0; r < rows; ++r) {
        int64_t g, i;
        tile_row<I>(s, t, r, &g, &i);
        finish_row<I>(p, b, hk * s.G + g, i, O + r * ldo, m[r], l[r], s.D, xsum ? xsum[r] : 0.f);
    }
}

}  // namespace
}  // namespace ha::cpu::kern
