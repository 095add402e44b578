// Register-blocked GEMM microkernel shared by both products of a tile:
//   S   = Q · Kᵀ : A = packed Q rows, B = packed Kᵀ tile [d][key], K = head_dim
//   O  += P · V  : A = probabilities,   B = packed V tile [key][d],  K = keys in the tile
// C[R][NR·W] = (alpha ? diag(alpha)·C : 0) + A[R][K] · B[K][NR·W]. One A element is
// broadcast against NR vector loads of B, so the R·NR accumulators stay in registers for the
// whole K loop; folding the online-softmax rescale (alpha) into the load of C saves a pass.
// The register block (Isa::MR rows × Isa::NR vectors) is the traits type's; the bf16 variant
// is Isa::Bf16::mk (isa/avx512_bf16.h).
#pragma once

#include <cstdint>

namespace ha::cpu::kern {
namespace {

template <class I, int R, int N>
inline void mk_f32(int64_t K, const float* __restrict A, int64_t lda, const float* __restrict B,
                   int64_t ldb, float* __restrict C, int64_t ldc, const float* alpha) {
    using vf = typename I::vf;
    constexpr int W = I::W;
    vf acc[R][N];
    if (alpha) {
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const vf a = I::vset1(alpha[r]);
#pragma GCC unroll 8
            for (int n = 0; n < N; ++n) acc[r][n] = I::vmul(a, I::vld(C + r * ldc + n * W));
        }
    } else {
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
            for (int n = 0; n < N; ++n) acc[r][n] = I::vzero();
    }
    for (int64_t k = 0; k < K; ++k) {
        vf b[N];
#pragma GCC unroll 8
        for (int n = 0; n < N; ++n) b[n] = I::vld(B + k * ldb + n * W);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const vf a = I::vset1(A[r * lda + k]);
#pragma GCC unroll 8
            for (int n = 0; n < N; ++n) acc[r][n] = I::vfma(a, b[n], acc[r][n]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int n = 0; n < N; ++n) I::vst(C + r * ldc + n * W, acc[r][n]);
}

}  // namespace
}  // namespace ha::cpu::kern
