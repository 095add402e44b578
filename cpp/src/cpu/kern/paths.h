// The storage the GEMM microkernels run on, a type parameter of the tile loops: F32Path (fp32
// inputs, or bf16 / fp16 converted while packing) on every ISA, Bf16Path (bf16 kept, both
// products on vdpbf16ps) where the traits type has a bf16 dot product (Isa::kBf16Dot) and the
// CPU has AVX512-BF16. The products are inlined into the tile steps by force (always_inline
// here, flatten on the Bf16Path steps): with exact, HyperAttention and HSR in one translation
// unit per ISA, GCC otherwise kept some of them out of line, a call per row block and tile.
#pragma once

#include <cstdint>

#include "cpu/cpu_backend.h"
#include "cpu/isa/intrin.h"
#include "cpu/kern/common.h"
#include "cpu/kern/microkernels.h"
#include "cpu/kern/pack.h"

namespace ha::cpu::kern {
namespace {

template <class I>
struct F32Path {
    using Isa = I;
    using T = float;
    static int64_t dk(int64_t D) { return D; }
    static void pack_q(int32_t dtype, const View& q, int64_t off, int64_t D, int64_t, T* dst) {
        load_row_f32<I>(dtype, q.data, off, q.strides[3], D, dst);
    }
    static void pack_k(int32_t dtype, const View& k, int64_t b, int64_t hk, int64_t j0,
                       int64_t valid, int64_t D, int64_t, T* Kt, void* rowbuf) {
        pack_k_f32<I>(dtype, k, b, hk, j0, valid, D, Kt, static_cast<float*>(rowbuf));
    }
    static void pack_v(int32_t dtype, const View& v, int64_t b, int64_t hk, int64_t j0,
                       int64_t valid, int64_t D, int64_t Dp, T* Vt, void*) {
        pack_v_f32<I>(dtype, v, b, hk, j0, valid, D, Dp, Vt);
    }
    static void store_p(T* dst, typename I::vf p) { I::vst(dst, p); }

    template <int R>
    static inline __attribute__((always_inline)) void s_product(int64_t Dk, const T* Q,
                                                                const T* Kt, float* S) {
        constexpr int W = I::W, NR = I::NR;
        for (int c = 0; c < NT; c += NR * W)
            mk_f32<I, R, NR>(Dk, Q, Dk, Kt + c, NT, S + c, NT, nullptr);
    }
    template <int R>
    static inline __attribute__((always_inline)) void pv_product(int64_t Dp, const T* P,
                                                                 const T* Vt, int64_t ldv,
                                                                 float* O, const float* alpha) {
        constexpr int W = I::W, NR = I::NR;
        int64_t c = 0;
        for (; c + NR * W <= Dp; c += NR * W)
            mk_f32<I, R, NR>(NT, P, NT, Vt + c, ldv, O + c, Dp, alpha);
        switch ((Dp - c) / W) {
            case 1: mk_f32<I, R, 1>(NT, P, NT, Vt + c, ldv, O + c, Dp, alpha); break;
            case 2: if constexpr (NR > 2) mk_f32<I, R, 2>(NT, P, NT, Vt + c, ldv, O + c, Dp, alpha); break;
            case 3: if constexpr (NR > 3) mk_f32<I, R, 3>(NT, P, NT, Vt + c, ldv, O + c, Dp, alpha); break;
            default: break;
        }
    }
};

// bf16 stays bf16: Q·Kᵀ and P·V both run on vdpbf16ps. P is rounded to bf16 for the second
// product (as FlashAttention does on GPUs); the softmax denominator is summed in fp32.
template <class I>
struct Bf16Path {
    using Isa = I;
    using T = uint16_t;
    static int64_t dk(int64_t D) { return (D + 1) & ~int64_t(1); }
    static void pack_q(int32_t, const View& q, int64_t off, int64_t D, int64_t Dk, T* dst) {
        load_row_bf16(q.data, off, q.strides[3], D, dst);
        if (Dk > D) dst[D] = 0;
    }
    static void pack_k(int32_t, const View& k, int64_t b, int64_t hk, int64_t j0, int64_t valid,
                       int64_t D, int64_t, T* Kt, void* rowbuf) {
        pack_k_bf16<I>(k, b, hk, j0, valid, D, dk(D), Kt, static_cast<uint16_t*>(rowbuf));
    }
    static void pack_v(int32_t, const View& v, int64_t b, int64_t hk, int64_t j0, int64_t valid,
                       int64_t D, int64_t Dp, T* Vt, void* rowbuf) {
        pack_v_bf16<I>(v, b, hk, j0, valid, D, Dp, Vt, static_cast<uint16_t*>(rowbuf));
    }
    HA_TARGET_BF16 static void store_p(T* dst, typename I::vf p) { I::Bf16::store_p(dst, p); }
    // (Inlined by the callers' flatten: always_inline cannot cross into the step bodies,
    // which are not compiled for AVX512-BF16 themselves.)
    template <int R>
    HA_TARGET_BF16 static void s_product(int64_t Dk, const T* Q, const T* Kt, float* S) {
        I::Bf16::template mk<R, 4>(Dk / 2, Q, Dk, Kt, 2 * NT, S, NT, nullptr);
    }
    template <int R>
    HA_TARGET_BF16 static void pv_product(int64_t Dp, const T* P, const T* Vt, int64_t,
                                          float* O, const float* alpha) {
        using B = typename I::Bf16;
        int64_t c = 0;
        for (; c + 64 <= Dp; c += 64)
            B::template mk<R, 4>(NT / 2, P, NT, Vt + 2 * c, 2 * Dp, O + c, Dp, alpha);
        switch ((Dp - c) / 16) {
            case 1: B::template mk<R, 1>(NT / 2, P, NT, Vt + 2 * c, 2 * Dp, O + c, Dp, alpha); break;
            case 2: B::template mk<R, 2>(NT / 2, P, NT, Vt + 2 * c, 2 * Dp, O + c, Dp, alpha); break;
            case 3: B::template mk<R, 3>(NT / 2, P, NT, Vt + 2 * c, 2 * Dp, O + c, Dp, alpha); break;
            default: break;
        }
    }
};

}  // namespace
}  // namespace ha::cpu::kern
