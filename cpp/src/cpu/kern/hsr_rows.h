// HSR's view of key and value rows (hsr::RowSrc): addressing, widening, element kinds.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/hsr/hsr_kernels.h"
#include "cpu/kern/common.h"
#include "half.h"

namespace ha::cpu::kern {
namespace {

using hsr::RowSrc;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline float fmaxf_(float a, float b) { return a > b ? a : b; }


// Row element kinds of the fast kernels' template parameter BF: fp32, bf16, fp16. (Only bf16
// is read in pairs: fp16 widens in natural order, as fp32 loads.)
constexpr int kF32 = 0, kBf16 = 1, kF16 = 2;
template <class I, int BF>
inline typename I::vf vld_row(const void* row, int64_t d) {
    if constexpr (BF == kBf16)
        return I::vld_bf16(static_cast<const uint16_t*>(row) + d);
    else if constexpr (BF == kF16)
        return I::vld_f16(static_cast<const uint16_t*>(row) + d);
    else
        return I::vld(static_cast<const float*>(row) + d);
}
inline int kind_of(const RowSrc& s) { return s.bf16 ? kBf16 : s.f16 ? kF16 : kF32; }

inline const void* row_ptr(const RowSrc& s, const int32_t* pos, int64_t first, int64_t j) {
    const int64_t p = pos ? int64_t(pos[j]) : first + j;
    return static_cast<const char*>(s.data) + p * s.row * s.elem_bytes();
}

inline void load_src_row(const RowSrc& s, const void* row, int64_t D, int64_t ldd, float* dst) {
    if (s.bf16) {
        const uint16_t* r = static_cast<const uint16_t*>(row);
        for (int64_t d = 0; d < D; ++d) dst[d] = bf16_to_f32(r[d * s.col]);
    } else if (s.f16) {
        const uint16_t* r = static_cast<const uint16_t*>(row);
        for (int64_t d = 0; d < D; ++d) dst[d] = ha::f16_bits_to_f32(r[d * s.col]);
    } else {
        const float* r = static_cast<const float*>(row);
        if (s.col == 1)
            std::memcpy(dst, r, size_t(D) * 4);
        else
            for (int64_t d = 0; d < D; ++d) dst[d] = r[d * s.col];
    }
    for (int64_t d = D; d < ldd; ++d) dst[d] = 0.f;
}

// The load_rows entry of the table (no vector code: the same for every ISA).
inline void load_rows(const RowSrc& src, const int32_t* pos, int64_t first, int n, int64_t D,
                      int64_t ldd, float* dst) {
    for (int j = 0; j < n; ++j) load_src_row(src, row_ptr(src, pos, first, j), D, ldd, dst + j * ldd);
}

}  // namespace
}  // namespace ha::cpu::kern
