// Packing of keys into the exact kernel's tile layout (Kᵀ tile of NT keys, then the V tile;
// pack.h's formats) from any list of key rows (sorted windows, samples) or a contiguous
// range (causal leaves): the same transposes as pack.h, fed with row addresses.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_features.h"
#include "cpu/hyper/hyper_kernels.h"
#include "cpu/kern/common.h"
#include "cpu/kern/pack.h"
#include "cpu/kern/paths.h"
#include "hyperattn.h"
#include "tensor_check.h"

namespace ha::cpu::kern {
namespace {

// The storage the microkernels use for this dtype: bf16 stays bf16 where vdpbf16ps exists.
template <class I>
inline bool bf16_storage(int32_t dtype) {
    if constexpr (I::kBf16Dot) return dtype == HA_DTYPE_BF16 && cpu_features().avx512_bf16;
    (void)dtype;
    return false;
}

inline int64_t padded_dp(int64_t D) { return (D + 15) / 16 * 16; }

template <class Path>
int64_t tile_elems(int64_t D) {
    return NT * Path::dk(D) + NT * padded_dp(D);
}

template <class I>
size_t tile_bytes(int32_t dtype, int64_t D) {
    if constexpr (I::kBf16Dot)
        if (bf16_storage<I>(dtype)) return size_t(tile_elems<Bf16Path<I>>(D)) * 2;
    return size_t(tile_elems<F32Path<I>>(D)) * 4;
}

// Kᵀ, fp32: Kt[d][j] for j < NT, zero past `valid`. offs: element offsets of the rows.
template <class I>
inline void gpack_k_f32(int32_t dtype, const View& k, const int64_t* offs, int64_t valid,
                        int64_t D, float* Kt, float* rowbuf) {
    if constexpr (I::kTranspose) {
        if (dtype == HA_DTYPE_F32 && k.strides[3] == 1) {
            std::memset(rowbuf, 0, size_t(D) * 4);
            const uint32_t* rows[NT];
            for (int64_t j = 0; j < NT; ++j)
                rows[j] = j < valid ? static_cast<const uint32_t*>(k.data) + offs[j]
                                    : reinterpret_cast<const uint32_t*>(rowbuf);
            I::template transpose_tile32<NT>(rows, D, reinterpret_cast<uint32_t*>(Kt));
            return;
        }
    }
    for (int64_t j = 0; j < NT; ++j) {
        if (j < valid) {
            load_row_f32<I>(dtype, k.data, offs[j], k.strides[3], D, rowbuf);
            for (int64_t d = 0; d < D; ++d) Kt[d * NT + j] = rowbuf[d];
        } else {
            for (int64_t d = 0; d < D; ++d) Kt[d * NT + j] = 0.f;
        }
    }
}

// A gathered row is a few cache lines: copied inline rather than through memcpy's call.
template <class I>
inline void copy_row(const float* __restrict src, float* __restrict dst, int64_t D) {
    constexpr int W = I::W;
    int64_t d = 0;
    for (; d + W <= D; d += W) I::vst(dst + d, I::vld(src + d));
    for (; d < D; ++d) dst[d] = src[d];
}

// One row as fp32 (load_row_f32 without the call for the common unit-stride fp32 case).
template <class I>
inline void gather_row_f32(int32_t dtype, const View& x, int64_t off, int64_t D, float* dst) {
    if (dtype == HA_DTYPE_F32 && x.strides[3] == 1)
        copy_row<I>(static_cast<const float*>(x.data) + off, dst, D);
    else
        load_row_f32<I>(dtype, x.data, off, x.strides[3], D, dst);
}

// Asks for the rows' cache lines ahead of their use (gathered rows defeat the prefetchers).
inline void prefetch_rows(const View& x, int64_t es, const int64_t* offs, int64_t n, int64_t D) {
    if (x.strides[3] != 1) return;
    const char* base = static_cast<const char*>(x.data);
    for (int64_t j = 0; j < n; ++j)
        for (int64_t c = 0; c < D * es; c += 64) HA_PREFETCH_L1(base + offs[j] * es + c);
}

// V, fp32: Vt[j][d] for d < Dp, zero past D and past `valid`.
template <class I>
inline void gpack_v_f32(int32_t dtype, const View& v, const int64_t* offs, int64_t valid,
                        int64_t D, int64_t Dp, float* Vt) {
    for (int64_t j = 0; j < NT; ++j) {
        float* dst = Vt + j * Dp;
        if (j < valid) {
            gather_row_f32<I>(dtype, v, offs[j], D, dst);
            for (int64_t d = D; d < Dp; ++d) dst[d] = 0.f;
        } else {
            for (int64_t d = 0; d < Dp; ++d) dst[d] = 0.f;
        }
    }
}

// Kᵀ as bf16 pairs along d: Kt2[d/2][j][d%2]. (Bf16Path only: Isa::kTranspose holds.)
template <class I>
inline void gpack_k_bf16(const View& k, const int64_t* offs, int64_t valid, int64_t D,
                         int64_t Dk, uint16_t* Kt2, uint16_t* rowbuf) {
    const uint16_t* base = static_cast<const uint16_t*>(k.data);
    // Pairs are read as 32-bit units: every row must start 4-byte aligned.
    const bool pairs_aligned = reinterpret_cast<uintptr_t>(base) % 4 == 0 && k.strides[0] % 2 == 0 &&
                               k.strides[1] % 2 == 0 && k.strides[2] % 2 == 0;
    if (k.strides[3] == 1 && D % 2 == 0 && pairs_aligned) {
        std::memset(rowbuf, 0, size_t(D) * 2);
        const uint32_t* rows[NT];
        for (int64_t j = 0; j < NT; ++j)
            rows[j] = reinterpret_cast<const uint32_t*>(j < valid ? base + offs[j] : rowbuf);
        I::template transpose_tile32<NT>(rows, D / 2, reinterpret_cast<uint32_t*>(Kt2));
        return;
    }
    uint32_t* dst = reinterpret_cast<uint32_t*>(Kt2);
    for (int64_t j = 0; j < NT; ++j) {
        if (j < valid) {
            load_row_bf16(k.data, offs[j], k.strides[3], D, rowbuf);
            if (Dk > D) rowbuf[D] = 0;
            uint32_t pair;
            for (int64_t p = 0; p < Dk / 2; ++p) {
                std::memcpy(&pair, rowbuf + 2 * p, 4);
                dst[p * NT + j] = pair;
            }
        } else {
            for (int64_t p = 0; p < Dk / 2; ++p) dst[p * NT + j] = 0;
        }
    }
}

// V as bf16 pairs along keys: V2[j/2][d][j%2] for d < Dp.
template <class I>
inline void gpack_v_bf16(const View& v, const int64_t* offs, int64_t valid, int64_t D,
                         int64_t Dp, uint16_t* V2, uint16_t* rowbuf) {
    const uint16_t* src = static_cast<const uint16_t*>(v.data);
    if (v.strides[3] == 1 && D % 16 == 0) {
        std::memset(rowbuf, 0, size_t(D) * 2);
        for (int64_t j = 0; j < NT; j += 2) {
            const uint16_t* a = j < valid ? src + offs[j] : rowbuf;
            const uint16_t* c = j + 1 < valid ? src + offs[j + 1] : rowbuf;
            uint16_t* dst = V2 + j * Dp;
            I::interleave_bf16_rows(a, c, D, dst);
            for (int64_t d = D; d < Dp; ++d) dst[2 * d] = dst[2 * d + 1] = 0;
        }
        return;
    }
    for (int64_t j = 0; j < NT; ++j) {
        uint16_t* dst = V2 + (j >> 1) * 2 * Dp + (j & 1);
        if (j < valid) {
            load_row_bf16(v.data, offs[j], v.strides[3], D, rowbuf);
            for (int64_t d = 0; d < D; ++d) dst[2 * d] = rowbuf[d];
            for (int64_t d = D; d < Dp; ++d) dst[2 * d] = 0;
        } else {
            for (int64_t d = 0; d < Dp; ++d) dst[2 * d] = 0;
        }
    }
}

// Tile of keys t0 .. t0+valid-1 of the list (k0 + idx[t], or k0 + t without idx) into Kt and
// the V tile after it. rowbuf: Dp + 16 floats.
template <class Path>
void gpack_tile(int32_t dtype, const View& k, const View& v, int64_t b, int64_t hk,
                const int32_t* idx, int64_t k0, int64_t t0, int64_t valid, int64_t D,
                typename Path::T* tile, void* rowbuf) {
    using I = typename Path::Isa;
    int64_t ko[NT], vo[NT];
    for (int64_t j = 0; j < valid; ++j) {
        const int64_t key = k0 + (idx ? int64_t(idx[t0 + j]) : t0 + j);
        ko[j] = row_off(k, b, hk, key);
        vo[j] = row_off(v, b, hk, key);
    }

    const int64_t Dk = Path::dk(D), Dp = padded_dp(D);
    typename Path::T* Vt = tile + NT * Dk;
    if constexpr (std::is_same_v<typename Path::T, float>) {
        gpack_k_f32<I>(dtype, k, ko, valid, D, tile, static_cast<float*>(rowbuf));
        gpack_v_f32<I>(dtype, v, vo, valid, D, Dp, Vt);
    } else {
        gpack_k_bf16<I>(k, ko, valid, D, Dk, tile, static_cast<uint16_t*>(rowbuf));
        gpack_v_bf16<I>(v, vo, valid, D, Dp, Vt, static_cast<uint16_t*>(rowbuf));
    }
}

template <class Path>
void pack_keys_t(const hyper::PackJob& j) {
    using T = typename Path::T;
    alignas(64) float rowbuf[256 + 16];
    const int64_t te = tile_elems<Path>(j.D);
    T* tiles = static_cast<T*>(j.tiles);
    const int64_t es = ha::dtype_size(j.dtype);
    int64_t offs[NT];
    for (int64_t t0 = 0, t = 0; t0 < j.count; t0 += NT, ++t) {
        // Gathered rows defeat the hardware prefetchers: ask for the next tile's rows now.
        const int64_t n0 = t0 + NT, nn = std::min<int64_t>(NT, j.count - n0);
        if (j.idx && nn > 0) {
            for (int64_t x = 0; x < nn; ++x) offs[x] = row_off(j.k, j.b, j.hk, j.k0 + j.idx[n0 + x]);
            prefetch_rows(j.k, es, offs, nn, j.D);
            for (int64_t x = 0; x < nn; ++x) offs[x] = row_off(j.v, j.b, j.hk, j.k0 + j.idx[n0 + x]);
            prefetch_rows(j.v, es, offs, nn, j.D);
        }
        gpack_tile<Path>(j.dtype, j.k, j.v, j.b, j.hk, j.idx, j.k0, t0,
                         std::min<int64_t>(NT, j.count - t0), j.D, tiles + t * te, rowbuf);
    }
}

template <class I>
void pack_keys(const hyper::PackJob& j) {
    if constexpr (I::kBf16Dot)
        if (bf16_storage<I>(j.dtype)) return pack_keys_t<Bf16Path<I>>(j);
    pack_keys_t<F32Path<I>>(j);
}

// ---- error estimates: value norms of packed keys ----------------------------------------
template <class Path>
void value_norms_t(const void* tiles_v, int64_t count, int64_t D, const float* centre, float* n2,
                   float* dist) {
    using T = typename Path::T;
    using I = typename Path::Isa;
    using vf = typename I::vf;
    constexpr int W = I::W;
    const T* tiles = static_cast<const T*>(tiles_v);
    const int64_t te = tile_elems<Path>(D), Dk = Path::dk(D), Dp = padded_dp(D);
    const int64_t ntile = (count + NT - 1) / NT;
    for (int64_t t = 0; t < ntile; ++t) {
        const T* Vt = tiles + t * te + NT * Dk;
        for (int64_t j = 0; j < NT; ++j) {
            const int64_t x = t * NT + j;
            if (x >= count) {
                n2[x] = 0.f;
                if (dist) dist[x] = 0.f;
                continue;
            }
            if constexpr (std::is_same_v<T, float>) {
                const float* row = Vt + j * Dp;  // zeros past D, like the padded centre
                vf s = I::vzero(), c2 = I::vzero();
                for (int64_t d = 0; d < Dp; d += W) {
                    const vf v = I::vld(row + d);
                    s = I::vfma(v, v, s);
                    if (dist) {
                        const vf u = I::vsub(v, I::vld(centre + d));
                        c2 = I::vfma(u, u, c2);
                    }
                }
                n2[x] = I::vhsum(s);
                if (dist) dist[x] = std::sqrt(I::vhsum(c2));
            } else {
                // bf16 pairs along keys: V2[j/2][d][j%2]
                const T* base = Vt + (j >> 1) * 2 * Dp + (j & 1);
                float s = 0.f, c2 = 0.f;
                for (int64_t d = 0; d < D; ++d) {
                    const uint32_t bits = uint32_t(base[2 * d]) << 16;
                    float v;
                    std::memcpy(&v, &bits, 4);
                    s += v * v;
                    if (dist) c2 += (v - centre[d]) * (v - centre[d]);
                }
                n2[x] = s;
                if (dist) dist[x] = std::sqrt(c2);
            }
        }
    }
}

template <class I>
void value_norms(int32_t dtype, const void* tiles, int64_t count, int64_t D,
                 const float* centre, float* n2, float* dist) {
    if constexpr (I::kBf16Dot)
        if (bf16_storage<I>(dtype))
            return value_norms_t<Bf16Path<I>>(tiles, count, D, centre, n2, dist);
    value_norms_t<F32Path<I>>(tiles, count, D, centre, n2, dist);
}

}  // namespace
}  // namespace ha::cpu::kern
