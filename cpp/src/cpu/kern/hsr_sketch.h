// 64-bit sign sketches of key rows: bit t of a key's sketch is set where its dot product with
// hyperplane t is positive. The planes come transposed ([D][64]), so each key element
// multiplies a whole row of plane coefficients: 64 dot products without a horizontal sum.
#pragma once

#include <cstdint>

#include "cpu/kern/hsr_rows.h"

namespace ha::cpu::kern {
namespace {

template <class I>
void sketch64(const float* planes_t, int64_t D, const RowSrc& k, int64_t first, int n, uint64_t* out) {
    using vf = typename I::vf;
    constexpr int W = I::W, V = 64 / W;
    static_assert(64 % W == 0, "a sketch is whole vectors");
    alignas(64) float x[256];  // one key row as floats (D <= 256)
    for (int j = 0; j < n; ++j) {
        const void* row = row_ptr(k, nullptr, first, j);
        const float* xr;
        if (!k.bf16 && !k.f16 && k.col == 1) {
            xr = static_cast<const float*>(row);
        } else {
            load_src_row(k, row, D, D, x);
            xr = x;
        }
        vf acc[V];
        for (int v = 0; v < V; ++v) acc[v] = I::vzero();
        for (int64_t d = 0; d < D; ++d) {
            const vf b = I::vset1(xr[d]);
            for (int v = 0; v < V; ++v) acc[v] = I::vfma(b, I::vld(planes_t + d * 64 + v * W), acc[v]);
        }
        // max(s, 0) is nonzero exactly where s > 0 (a NaN dot product gives 0: no bit)
        uint64_t bits = 0;
        for (int v = 0; v < V; ++v) bits |= uint64_t(I::nonzero_bits(I::vmax(acc[v], I::vzero()))) << (v * W);
        out[j] = bits;
    }
}

}  // namespace
}  // namespace ha::cpu::kern
