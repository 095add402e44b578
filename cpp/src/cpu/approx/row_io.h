// Reading query rows and writing output rows and per-row statistics of approximate
// attention, shared by its two drivers (row groups, tiled prefill).
#pragma once
#include <cstdint>

#include "cpu/approx/approx.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/numerics.h"
#include "hyperattn.h"

namespace ha::cpu::approx {

inline hsr::RowSrc rows_of(const View& t, int32_t dtype, int64_t b, int64_t h) {
    const int64_t es = dtype == HA_DTYPE_BF16 ? 2 : 4;
    // An empty tensor (n = 0) may have no data at all: no offset from a null pointer.
    const char* base = t.data ? static_cast<const char*>(t.data) + (b * t.strides[0] + h * t.strides[1]) * es
                              : nullptr;
    return hsr::RowSrc{base, t.strides[2], t.strides[3], dtype == HA_DTYPE_BF16};
}

inline void load_query(const Problem& p, int64_t b, int64_t h, int64_t i, int64_t D, float* dst) {
    const View& q = p.base.q;
    const int64_t off = b * q.strides[0] + h * q.strides[1] + i * q.strides[2];
    for (int64_t d = 0; d < D; ++d) {
        const int64_t e = off + d * q.strides[3];
        dst[d] = p.base.dtype == HA_DTYPE_BF16
                     ? hsr::bf16_bits_to_f32(static_cast<const uint16_t*>(q.data)[e])
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

}  // namespace ha::cpu::approx
