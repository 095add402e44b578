// Merge of two partial attention results by their log-sum-exp (ha_merge): memory-bound, so
// plain row loops over the pack.h row conversions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/kern/common.h"
#include "cpu/kern/pack.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::kern {
namespace {

template <class I>
inline void write_row_view(int32_t dtype, const View& v, int64_t b, int64_t h, int64_t i,
                           const float* src, int64_t D) {
    const int64_t off = row_off(v, b, h, i), sd = v.strides[3];
    if (dtype == HA_DTYPE_BF16) {
        uint16_t* dst = static_cast<uint16_t*>(v.data) + off;
        for (int64_t d = 0; d < D; ++d) dst[d * sd] = f32_to_bf16(src[d]);
    } else if (dtype == HA_DTYPE_F16) {
        store_row_f16<I>(src, 1.f, D, static_cast<uint16_t*>(v.data) + off, sd);
    } else {
        float* dst = static_cast<float*>(v.data) + off;
        if (sd == 1)
            std::memcpy(dst, src, size_t(D) * 4);
        else
            for (int64_t d = 0; d < D; ++d) dst[d * sd] = src[d];
    }
}

template <class I>
int32_t merge(const MergeProblem& p) {
    const int64_t B = p.out.shape[0], H = p.out.shape[1], N = p.out.shape[2], D = p.out.shape[3];
    const int64_t rows = B * H * N;
    const int64_t rows_per_task = std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1));
    const int64_t tasks = (rows + rows_per_task - 1) / rows_per_task;
    return parallel_for(tasks, pool_threads(), [&](int64_t task, int) {
        AlignedBuf buf;
        float* ra = buf.get<float>(size_t(3 * D));
        float *rb = ra + D, *ro = rb + D;
        for (int64_t r = task * rows_per_task; r < std::min(rows, (task + 1) * rows_per_task);
             ++r) {
            const int64_t i = r % N, h = (r / N) % H, b = r / (N * H);
            const float la = p.lse_a[b * p.lse_a_strides[0] + h * p.lse_a_strides[1] +
                                     i * p.lse_a_strides[2]];
            const float lb = p.lse_b[b * p.lse_b_strides[0] + h * p.lse_b_strides[1] +
                                     i * p.lse_b_strides[2]];
            const float mx = std::max(la, lb);
            float wa, wb, lse;
            if (std::isnan(la) || std::isnan(lb) || la == INFINITY || lb == INFINITY) {
                // A NaN (or +inf: only a +inf score gives one) log-sum-exp: the row is NaN.
                wa = wb = lse = NAN;
            } else if (mx == -INFINITY) {
                wa = wb = 0.f;
                lse = -INFINITY;
            } else {
                // Exactly one side -inf gives weight exp(-inf) = 0 and lse = the other side.
                const float ea = std::exp(la - mx), eb = std::exp(lb - mx);
                const float sum = ea + eb;
                wa = ea / sum;
                wb = eb / sum;
                lse = mx + std::log(sum);
                // One side empty: the other passes through verbatim (weight exactly 1).
                if (la == -INFINITY) { wa = 0.f; wb = 1.f; lse = lb; }
                if (lb == -INFINITY) { wb = 0.f; wa = 1.f; lse = la; }
            }
            // Both rows are read before the output row is written: out may alias either.
            load_row_f32<I>(p.dtype, p.out_a.data, row_off(p.out_a, b, h, i), p.out_a.strides[3], D, ra);
            load_row_f32<I>(p.dtype, p.out_b.data, row_off(p.out_b, b, h, i), p.out_b.strides[3], D, rb);
            // A zero weight drops its side entirely, so an inf/nan there cannot leak in as nan.
            if (std::isnan(lse))
                for (int64_t d = 0; d < D; ++d) ro[d] = NAN;
            else if (lse == -INFINITY)  // both sides empty: 0, whatever the partial rows hold
                for (int64_t d = 0; d < D; ++d) ro[d] = 0.f;
            else if (wb == 0.f)
                for (int64_t d = 0; d < D; ++d) ro[d] = wa * ra[d];
            else if (wa == 0.f)
                for (int64_t d = 0; d < D; ++d) ro[d] = wb * rb[d];
            else
                for (int64_t d = 0; d < D; ++d) ro[d] = wa * ra[d] + wb * rb[d];
            write_row_view<I>(p.dtype, p.out, b, h, i, ro, D);
            if (p.lse)
                p.lse[b * p.lse_strides[0] + h * p.lse_strides[1] + i * p.lse_strides[2]] = lse;
        }
    });
}

}  // namespace
}  // namespace ha::cpu::kern
