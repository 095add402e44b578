// Packing of strided q/k/v tiles into the contiguous layouts the microkernels stream.
// Any element strides work (including 0 for broadcast inputs); the unit-stride head_dim case,
// which both [b,h,s,d] and [b,s,h,d] have, takes the contiguous row loops.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/kern/common.h"
#include "half.h"
#include "hyperattn.h"

namespace ha::cpu::kern {
namespace {

// One head_dim row of a tensor, as fp32, into dst[0..D).
template <class I>
inline void load_row_f32(int32_t dtype, const void* base, int64_t off, int64_t sd, int64_t D,
                         float* dst) {
    constexpr int W = I::W;
    if (dtype == HA_DTYPE_BF16) {
        const uint16_t* s = static_cast<const uint16_t*>(base) + off;
        if (sd == 1)
            for (int64_t d = 0; d < D; ++d) dst[d] = bf16_to_f32(s[d]);
        else
            for (int64_t d = 0; d < D; ++d) dst[d] = bf16_to_f32(s[d * sd]);
    } else if (dtype == HA_DTYPE_F16) {
        const uint16_t* s = static_cast<const uint16_t*>(base) + off;
        if (sd == 1) {
            int64_t d = 0;
            for (; d + W <= D; d += W) I::vst(dst + d, I::vld_f16(s + d));
            for (; d < D; ++d) dst[d] = ha::f16_bits_to_f32(s[d]);
        } else {
            for (int64_t d = 0; d < D; ++d) dst[d] = ha::f16_bits_to_f32(s[d * sd]);
        }
    } else {
        const float* s = static_cast<const float*>(base) + off;
        if (sd == 1)
            std::memcpy(dst, s, size_t(D) * 4);
        else
            for (int64_t d = 0; d < D; ++d) dst[d] = s[d * sd];
    }
}

// dst[d * sd] = fp16(src[d] * mul), rounded once (nearest even; beyond 65504 it is ±inf).
template <class I>
inline void store_row_f16(const float* src, float mul, int64_t D, uint16_t* dst, int64_t sd) {
    constexpr int W = I::W;
    int64_t d = 0;
    if (sd == 1)
        for (; d + W <= D; d += W) I::vst_f16(dst + d, I::vmul(I::vld(src + d), I::vset1(mul)));
    for (; d < D; ++d) dst[d * sd] = ha::f32_to_f16_bits(src[d] * mul);
}

inline void load_row_bf16(const void* base, int64_t off, int64_t sd, int64_t D, uint16_t* dst) {
    const uint16_t* s = static_cast<const uint16_t*>(base) + off;
    if (sd == 1)
        std::memcpy(dst, s, size_t(D) * 2);
    else
        for (int64_t d = 0; d < D; ++d) dst[d] = s[d * sd];
}

// Kᵀ tile, fp32: Kt[d][j] for j < NT (zero past `valid`). The transpose goes through a small
// row buffer so the strided source is read along its contiguous dimension.
template <class I>
inline void pack_k_f32(int32_t dtype, const View& k, int64_t b, int64_t hk, int64_t j0,
                       int64_t valid, int64_t D, float* Kt, float* rowbuf) {
    if constexpr (I::kTranspose) {
        if (dtype == HA_DTYPE_F32 && k.strides[3] == 1) {
            std::memset(rowbuf, 0, size_t(D) * 4);  // stands in for the rows past `valid`
            const uint32_t* rows[NT];
            for (int64_t j = 0; j < NT; ++j)
                rows[j] = j < valid ? static_cast<const uint32_t*>(k.data) + key_off(k, b, hk, j0 + j)
                                    : reinterpret_cast<const uint32_t*>(rowbuf);
            I::template transpose_tile32<NT>(rows, D, reinterpret_cast<uint32_t*>(Kt), valid);
            return;
        }
    }
    for (int64_t j = 0; j < NT; ++j) {
        if (j < valid) {
            load_row_f32<I>(dtype, k.data, key_off(k, b, hk, j0 + j), k.strides[3], D, rowbuf);
            for (int64_t d = 0; d < D; ++d) Kt[d * NT + j] = rowbuf[d];
        } else {
            for (int64_t d = 0; d < D; ++d) Kt[d * NT + j] = 0.f;
        }
    }
}

// V tile, fp32: Vt[j][d] for d < Dp (zero past D and past `valid`).
template <class I>
inline void pack_v_f32(int32_t dtype, const View& v, int64_t b, int64_t hk, int64_t j0,
                       int64_t valid, int64_t D, int64_t Dp, float* Vt) {
    for (int64_t j = 0; j < valid; ++j) {
        float* dst = Vt + j * Dp;
        load_row_f32<I>(dtype, v.data, key_off(v, b, hk, j0 + j), v.strides[3], D, dst);
        for (int64_t d = D; d < Dp; ++d) dst[d] = 0.f;
    }
    if (valid < NT) std::memset(Vt + valid * Dp, 0, size_t((NT - valid) * Dp) * 4);
}

// Kᵀ tile as bf16 pairs along d: Kt2[d/2][j][d%2] (Dk = D rounded up to even).
template <class I>
inline void pack_k_bf16(const View& k, int64_t b, int64_t hk, int64_t j0, int64_t valid,
                        int64_t D, int64_t Dk, uint16_t* Kt2, uint16_t* rowbuf) {
    if constexpr (I::kTranspose) {
        if (k.strides[3] == 1 && D % 2 == 0) {
            std::memset(rowbuf, 0, size_t(D) * 2);
            const uint32_t* rows[NT];
            for (int64_t j = 0; j < NT; ++j)
                rows[j] = j < valid ? reinterpret_cast<const uint32_t*>(
                                          static_cast<const uint16_t*>(k.data) + key_off(k, b, hk, j0 + j))
                                    : reinterpret_cast<const uint32_t*>(rowbuf);
            I::template transpose_tile32<NT>(rows, D / 2, reinterpret_cast<uint32_t*>(Kt2), valid);
            return;
        }
    }
    for (int64_t j = 0; j < NT; ++j) {
        if (j < valid) {
            load_row_bf16(k.data, key_off(k, b, hk, j0 + j), k.strides[3], D, rowbuf);
            if (Dk > D) rowbuf[D] = 0;
            const uint32_t* pairs = reinterpret_cast<const uint32_t*>(rowbuf);
            uint32_t* dst = reinterpret_cast<uint32_t*>(Kt2);
            for (int64_t p = 0; p < Dk / 2; ++p) dst[p * NT + j] = pairs[p];
        } else {
            uint32_t* dst = reinterpret_cast<uint32_t*>(Kt2);
            for (int64_t p = 0; p < Dk / 2; ++p) dst[p * NT + j] = 0;
        }
    }
}

// V tile as bf16 pairs along keys: V2[j/2][d][j%2] for d < Dp.
template <class I>
inline void pack_v_bf16(const View& v, int64_t b, int64_t hk, int64_t j0, int64_t valid,
                        int64_t D, int64_t Dp, uint16_t* V2, uint16_t* rowbuf) {
    if constexpr (I::kTranspose) {
        if (v.strides[3] == 1 && D % 16 == 0) {
            // Two key rows zero-extended to 32 bits and merged: pair (v[j][d], v[j+1][d]).
            std::memset(rowbuf, 0, size_t(D) * 2);
            const uint16_t* zero = rowbuf;
            const uint16_t* src = static_cast<const uint16_t*>(v.data);
            for (int64_t j = 0; j < NT; j += 2) {
                const uint16_t* a = j < valid ? src + key_off(v, b, hk, j0 + j) : zero;
                const uint16_t* c = j + 1 < valid ? src + key_off(v, b, hk, j0 + j + 1) : zero;
                uint16_t* dst = V2 + j * Dp;
                I::interleave_bf16_rows(a, c, D, dst);
                for (int64_t d = D; d < Dp; ++d) dst[2 * d] = dst[2 * d + 1] = 0;
            }
            return;
        }
    }
    for (int64_t j = 0; j < NT; ++j) {
        uint16_t* dst = V2 + (j >> 1) * 2 * Dp + (j & 1);
        if (j < valid) {
            load_row_bf16(v.data, key_off(v, b, hk, j0 + j), v.strides[3], D, rowbuf);
            for (int64_t d = 0; d < D; ++d) dst[2 * d] = rowbuf[d];
            for (int64_t d = D; d < Dp; ++d) dst[2 * d] = 0;
        } else {
            for (int64_t d = 0; d < Dp; ++d) dst[2 * d] = 0;
        }
    }
}

}  // namespace
}  // namespace ha::cpu::kern
