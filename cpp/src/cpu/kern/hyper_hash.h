// Angular LSH of rows: r projections on the hyperplanes, one sign bit each, bucket rank.
//
// The projections are summed in double over d = 0, 1, ..., D-1 in that order, from float
// inputs (bf16 widens exactly) and float hyperplanes, so every product is exact and the sum
// is the same whether or not the compiler fuses it into FMAs: a row's bucket is a pure
// function of its values, on every ISA path, and the tests can recompute it. Vectorised
// across planes (8 or 16 lanes of double) with 8 rows in flight to cover the FMA latency;
// the cost is far below the attention that follows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cpu/hyper/bucket_rank.h"
#include "cpu/hyper/hyper_kernels.h"
#include "cpu/kern/common.h"
#include "cpu/kern/pack.h"

namespace ha::cpu::kern {
namespace {

using hyper::HashJob;
using hyper::kMaxProjections;

constexpr int kHashRows = 8;
typedef double hash_v8d __attribute__((vector_size(64)));  // 8 planes; split as the ISA needs

template <class I, int NV>  // planes computed: 8 * NV (r rounded up)
void hash_rows_v(const HashJob& j) {
    const int64_t D = j.D;
    hash_v8d h[256 * NV];
    for (int64_t d = 0; d < D; ++d)
        for (int v = 0; v < NV; ++v)
            for (int p = 0; p < 8; ++p) h[d * NV + v][p] = double(j.planes[d * kMaxProjections + v * 8 + p]);
    alignas(64) float xr[kHashRows][256];
    for (int64_t i = 0; i < j.n; i += kHashRows) {
        const int rows = int(std::min<int64_t>(kHashRows, j.n - i));
        for (int r = 0; r < kHashRows; ++r) {
            if (r < rows)
                load_row_f32<I>(j.dtype, j.x.data, row_off(j.x, j.b, j.h, j.i0 + i + r),
                             j.x.strides[3], D, xr[r]);
            else
                std::memset(xr[r], 0, sizeof(float) * size_t(D));
        }
        hash_v8d acc[kHashRows][NV];
        for (int r = 0; r < kHashRows; ++r)
            for (int v = 0; v < NV; ++v) acc[r][v] = hash_v8d{} ;
        for (int64_t d = 0; d < D; ++d) {
#pragma GCC unroll 8
            for (int r = 0; r < kHashRows; ++r) {
                const double x = double(xr[r][d]);
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v) acc[r][v] += x * h[d * NV + v];
            }
        }
        for (int r = 0; r < rows; ++r) {
            uint32_t code = 0;
            for (int p = 0; p < j.r; ++p) code |= uint32_t(acc[r][p / 8][p % 8] > 0.0) << p;
            j.ranks[i + r] = uint16_t(hyper::bucket_rank(code));
        }
    }
}

template <class I>
void hash_rows(const HashJob& j) {
    if (j.r <= 8)
        hash_rows_v<I, 1>(j);
    else
        hash_rows_v<I, 2>(j);
}

}  // namespace
}  // namespace ha::cpu::kern
