// The AVX512-BF16 kernels of the AVX-512 path: vdpbf16ps does 32 bf16 multiply-adds into 16
// fp32 sums (products of bf16 are exact in fp32), twice the work of an fp32 FMA. Every
// function carries HA_TARGET_BF16, and the kernels call them only where
// cpu_features().avx512_bf16 holds.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/isa/intrin.h"
#include "cpu/isa/isa_avx512.h"

namespace ha::cpu::isa {
namespace {

struct Avx512Bf16 {
    // The GEMM microkernel (kern/microkernels.h) with bf16 operands stored as pairs along K:
    // A[r][2k], A[r][2k+1] are adjacent and B holds, for each k-pair, [column][2].
    template <int R, int N>
    HA_TARGET_BF16 static inline void mk(int64_t K2, const uint16_t* __restrict A, int64_t lda,
                                         const uint16_t* __restrict B, int64_t ldb,
                                         float* __restrict C, int64_t ldc, const float* alpha) {
        __m512 acc[R][N];
        if (alpha) {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 8
                for (int n = 0; n < N; ++n)
                    acc[r][n] = _mm512_mul_ps(a, _mm512_loadu_ps(C + r * ldc + n * 16));
            }
        } else {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
                for (int n = 0; n < N; ++n) acc[r][n] = _mm512_setzero_ps();
        }
        for (int64_t k = 0; k < K2; ++k) {
            __m512bh b[N];
#pragma GCC unroll 8
            for (int n = 0; n < N; ++n) b[n] = (__m512bh)_mm512_loadu_si512(B + k * ldb + n * 32);
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                uint32_t pair;
                std::memcpy(&pair, A + r * lda + 2 * k, 4);
                const __m512bh a = (__m512bh)_mm512_set1_epi32(int(pair));
#pragma GCC unroll 8
                for (int n = 0; n < N; ++n) acc[r][n] = _mm512_dpbf16_ps(acc[r][n], a, b[n]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
            for (int n = 0; n < N; ++n) _mm512_storeu_ps(C + r * ldc + n * 16, acc[r][n]);
    }

    // 16 probabilities rounded to bf16 (nearest even), for the P·V product.
    HA_TARGET_BF16 static inline void store_p(uint16_t* dst, __m512 p) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), (__m256i)_mm512_cvtneps_pbh(p));
    }

    // Decode scores for bf16 rows (kern/decode.h, dec_scores_f32's order): vdpbf16ps on
    // d-pairs, which is the natural order of a K row. D is a multiple of 16; an odd
    // 16-element tail is zero-extended to a full pair vector.
    template <int R, class Rows>
    HA_TARGET_BF16 static inline void dec_scores(int64_t D, const uint16_t* Q, int64_t ldq,
                                                 const Rows& krows, int n, float* S,
                                                 int64_t lds) {
        __m512 u[R][4];
        const int64_t Dfull = D & ~int64_t(31);
        for (int g = 0; g < 4; ++g) {
            const uint16_t* kr[4];
            for (int i = 0; i < 4; ++i) kr[i] = krows(4 * g + i < n - 1 ? 4 * g + i : n - 1);
            __m512 acc[R][4];
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i) acc[r][i] = _mm512_setzero_ps();
            if (4 * g < n) {
#pragma GCC unroll 4
                for (int i = 0; i < 4; ++i)
                    for (int64_t c = 0; c < Dfull; c += 32) {
                        const __m512bh kv = (__m512bh)_mm512_loadu_si512(kr[i] + c);
#pragma GCC unroll 4
                        for (int r = 0; r < R; ++r)
                            acc[r][i] = _mm512_dpbf16_ps(
                                acc[r][i], (__m512bh)_mm512_loadu_si512(Q + r * ldq + c), kv);
                    }
                if (Dfull < D) {
                    __m512bh kv[4];
#pragma GCC unroll 4
                    for (int i = 0; i < 4; ++i)
                        kv[i] = (__m512bh)_mm512_zextsi256_si512(
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kr[i] + Dfull)));
#pragma GCC unroll 4
                    for (int r = 0; r < R; ++r) {
                        const __m512bh q = (__m512bh)_mm512_zextsi256_si512(_mm256_loadu_si256(
                            reinterpret_cast<const __m256i*>(Q + r * ldq + Dfull)));
#pragma GCC unroll 4
                        for (int i = 0; i < 4; ++i)
                            acc[r][i] = _mm512_dpbf16_ps(acc[r][i], q, kv[i]);
                    }
                }
            }
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r)
                u[r][g] = Avx512::vfold4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) _mm512_storeu_ps(S + r * lds, Avx512::vfold_quads(u[r]));
    }

    // Decode P·V on key pairs, two keys per instruction: unpacking rows j and j+1 gives the
    // (v_j[d], v_j+1[d]) pairs for d = 8b+0..3 (lo) and 8b+4..7 (hi) of each 128-bit block b,
    // so the accumulators hold the columns in that permuted order (undone once, in
    // DecTile::unpermute). Half the multiply-add instructions of widening V to fp32, at the
    // cost of P rounded to bf16 (as the prefill path does). N blocks of 32 columns; P2 holds
    // probabilities as bf16, zero past n.
    template <int R, int N, class Rows>
    HA_TARGET_BF16 static inline void dec_pv(int n, const uint16_t* P2, int64_t ldp,
                                             const Rows& V, float* O, int64_t ldo,
                                             const float* alpha) {
        __m512 acc[R][2 * N];
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 4
            for (int c = 0; c < 2 * N; ++c)
                acc[r][c] = _mm512_mul_ps(a, _mm512_loadu_ps(O + r * ldo + 16 * c));
        }
        for (int j = 0; j < n; j += 2) {
            const uint16_t* va = V(j);
            const uint16_t* vb = j + 1 < n ? V(j + 1) : nullptr;
            __m512bh lo[N], hi[N];
#pragma GCC unroll 4
            for (int c = 0; c < N; ++c) {
                const __m512i a = _mm512_loadu_si512(va + 32 * c);
                const __m512i b = vb ? _mm512_loadu_si512(vb + 32 * c) : _mm512_setzero_si512();
                lo[c] = (__m512bh)_mm512_unpacklo_epi16(a, b);
                hi[c] = (__m512bh)_mm512_unpackhi_epi16(a, b);
            }
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) {
                uint32_t pair;
                std::memcpy(&pair, P2 + r * ldp + j, 4);
                const __m512bh pr = (__m512bh)_mm512_set1_epi32(int(pair));
#pragma GCC unroll 4
                for (int c = 0; c < N; ++c) {
                    acc[r][2 * c] = _mm512_dpbf16_ps(acc[r][2 * c], pr, lo[c]);
                    acc[r][2 * c + 1] = _mm512_dpbf16_ps(acc[r][2 * c + 1], pr, hi[c]);
                }
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
            for (int c = 0; c < 2 * N; ++c) _mm512_storeu_ps(O + r * ldo + 16 * c, acc[r][c]);
    }

    // n floats (a multiple of 16) rounded to bf16.
    HA_TARGET_BF16 static inline void round(const float* src, uint16_t* dst, int n) {
        for (int i = 0; i < n; i += 16)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                                (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
    }
};

}  // namespace
}  // namespace ha::cpu::isa
