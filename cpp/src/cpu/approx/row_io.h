// Reading query rows and writing output rows and per-row statistics of approximate
// attention, shared by its two drivers (row groups, tiled prefill).
#pragma once
#include "tensor_check.h"
#include <cstdint>

#include "cpu/approx/approx.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/numerics.h"
#include "hyperattn.h"

namespace ha::cpu::approx {

inline hsr::RowSrc rows_of(const View& t, int32_t dtype, int64_t b, int64_t h) {
    const int64_t es = ha::dtype_size(dtype);
    // An empty tensor (n = 0) may have no data at all: no offset from a null pointer.
    const char* base = t.data ? static_cast<const char*>(t.data) + (b * t.strides[0] + h * t.strides[1]) * es
                              : nullptr;
    return hsr::RowSrc{base, t.strides[2], t.strides[3], dtype == HA_DTYPE_BF16, dtype == HA_DTYPE_F16};
}

inline void load_query(const Problem& p, int64_t b, int64_t h, int64_t i, int64_t D, float* dst) {
    const View& q = p.base.q;
    const int64_t off = b * q.strides[0] + h * q.strides[1] + i * q.strides[2];
    for (int64_t d = 0; d < D; ++d) {
        const int64_t e = off + d * q.strides[3];
        dst[d] = p.base.dtype == HA_DTYPE_BF16
                     ? hsr::bf16_bits_to_f32(static_cast<const uint16_t*>(q.data)[e])
                 : p.base.dtype == HA_DTYPE_F16
                     ? ha::f16_bits_to_f32(static_cast<const uint16_t*>(q.data)[e])
                     : static_cast<const float*>(q.data)[e];
    }
}

inline void store_row(const Problem& p, int64_t b, int64_t h, int64_t i, int64_t D, const float* o,
               float lse) {
    const View& t = p.base.out;
    const int64_t off = b * t.strides[0] + h * t.strides[1] + i * t.strides[2];
    for (int64_t d = 0; d < D; ++d) {
        const int64_t e = off + d * t.strides[3];
        if (p.base.dtype == HA_DTYPE_BF16)
            static_cast<uint16_t*>(t.data)[e] = hsr::f32_to_bf16_nearest(o[d]);
        else if (p.base.dtype == HA_DTYPE_F16)
            static_cast<uint16_t*>(t.data)[e] = ha::f32_to_f16_bits(o[d]);
        else
            static_cast<float*>(t.data)[e] = o[d];
    }
    if (p.base.lse)
        p.base.lse[b * p.base.lse_strides[0] + h * p.base.lse_strides[1] +
                   i * p.base.lse_strides[2]] = lse;
}

// The statistics of a row computed exactly (level 2): no estimate, no tail.
inline void exact_row_stats(const Problem& p, int64_t si, int64_t touched) {
    if (p.row_error) p.row_error[si] = 0.f;
    if (p.tail_bound) p.tail_bound[si] = 0.f;
    if (p.touched) p.touched[si] = touched;
    if (p.level) p.level[si] = 2;
}

// Query rows a..last of every query head of kv head hk (batch b) by the tiled exact kernel on
// the operands themselves, all of a kv head's query heads in one call so K and V are read
// once (causal: keys up to the last row's position); statistics at level 2.
inline int32_t exact_span(const Problem& p, int64_t b, int64_t hk, int64_t a, int64_t last) {
    const ExactProblem& e = p.base;
    const int64_t Hq = e.q.shape[1], Nq = e.q.shape[2], Nk = e.k.shape[2], G = Hq / e.k.shape[1];
    const int64_t es = ha::dtype_size(e.dtype);
    const int64_t n = last - a + 1;
    ExactProblem sub = e;
    auto slice = [&](View& v, int64_t head, int64_t heads_n, int64_t row0) {
        if (v.data)  // NULL for an empty K or V: no offset
            v.data = static_cast<char*>(v.data) +
                     (b * v.strides[0] + head * v.strides[1] + row0 * v.strides[2]) * es;
        v.shape[0] = 1;
        v.shape[1] = heads_n;
    };
    slice(sub.q, hk * G, G, a);
    sub.q.shape[2] = n;
    slice(sub.out, hk * G, G, a);
    sub.out.shape[2] = n;
    slice(sub.k, hk, 1, 0);
    slice(sub.v, hk, 1, 0);
    if (e.causal) {  // row a + t sees keys <= a + t + Nk - Nq
        const int64_t keys = last + Nk - Nq + 1;
        sub.k.shape[2] = keys;
        sub.v.shape[2] = keys;
    }
    if (e.lse)
        sub.lse = e.lse + b * e.lse_strides[0] + hk * G * e.lse_strides[1] + a * e.lse_strides[2];
    if (int32_t st = exact_forward(sub); st != HA_OK) return st;
    for (int64_t h = hk * G; h < hk * G + G; ++h)
        for (int64_t t = a; t <= last; ++t)
            exact_row_stats(p, (b * Hq + h) * Nq + t,
                            e.causal ? std::max<int64_t>(0, t + Nk - Nq + 1) : Nk);
    return HA_OK;
}

}  // namespace ha::cpu::approx
