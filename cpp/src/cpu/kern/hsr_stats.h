// Key-index statistics for HSR: sums of squares and distances in double, and the split sums
// of bf16 rows that build the index's tree.
#pragma once

#include <cstdint>

#include "cpu/kern/hsr_rows.h"

namespace ha::cpu::kern {
namespace {

template <class I>
double sumsq(const float* x, int64_t n) {
    if constexpr (I::level >= 3) return I::sumsq(x, n);  // 16 lanes of double
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += double(x[i]) * double(x[i]);
        s1 += double(x[i + 1]) * double(x[i + 1]);
        s2 += double(x[i + 2]) * double(x[i + 2]);
        s3 += double(x[i + 3]) * double(x[i + 3]);
    }
    for (; i < n; ++i) s0 += double(x[i]) * double(x[i]);
    return (s0 + s1) + (s2 + s3);
}

template <class I>
double dist2(const float* x, const float* c, int64_t n) {
    if constexpr (I::level >= 3) return I::dist2(x, c, n);
    double s0 = 0, s1 = 0;
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
        const double u = double(x[i]) - double(c[i]), w = double(x[i + 1]) - double(c[i + 1]);
        s0 += u * u;
        s1 += w * w;
    }
    for (; i < n; ++i) {
        const double u = double(x[i]) - double(c[i]);
        s0 += u * u;
    }
    return s0 + s1;
}

template <class I>
void split_sums(const uint16_t* rows, int64_t ld, int64_t n, const float* proj, float thr,
                float* sum0, float* sum1, int64_t* n0, int64_t* n1) {
    constexpr int W = I::W;
    int64_t c0 = 0, c1 = 0;
    for (int64_t j = 0; j < n; ++j) {
        const uint16_t* row = rows + j * ld;
        float* dst;
        if (proj[j] > thr) {
            dst = sum1;
            ++c1;
        } else {
            dst = sum0;
            ++c0;
        }
        for (int64_t d = 0; d < ld; d += W) I::vst(dst + d, I::vadd(I::vld(dst + d), I::vld_bf16(row + d)));
    }
    *n0 += c0;
    *n1 += c1;
}

}  // namespace
}  // namespace ha::cpu::kern
