// The aarch64 Advanced SIMD (NEON) path: one float32x4_t per vector. Advanced SIMD is part of
// the aarch64 baseline, so this path shares the generic path's flags. The microkernels are
// sized for aarch64's 32 vector registers, so four-wide vectors do not starve the FMA pipes
// for lack of accumulators. FMA is fused (fmla); where x86 semantics differ from the plain
// NEON instruction (max with a NaN operand) the x86 behaviour is reproduced, so the non-finite
// policy in hyperattn.h holds on every path alike.
#pragma once
#if !defined(__aarch64__)
#error "isa_neon.h is the aarch64 path"
#endif

#include <cmath>
#include <cstdint>

#include "cpu/isa/intrin.h"
#include "cpu/isa/vmath.h"

namespace ha::cpu::isa {
namespace {

struct Neon {
    static constexpr int level = 1;  // x86 levels: none of the AVX-only kernels
    static constexpr int W = 4;
    using vf = float32x4_t;
    using vi = int32x4_t;
    // The A elements are used from a register lane (fmla by element), but GCC loads all R of
    // them before the FMAs, one register each: 6 rows x 4 would want 24 accumulators + 4 B +
    // 6 A = 34 and spilled two accumulators to the stack every iteration (seen in the
    // disassembly), so 5 x 4: 20 + 4 + 5 = 29 live, no spill. Per k step: 20 fmla, 2 ldp (B) +
    // 5 A loads. NR·W = 16 divides the 64-key tile, as on the other paths.
    static constexpr int MR = 5, NR = 4;
    static constexpr bool kDecode = false;
    static constexpr bool kBf16Dot = false;
    static constexpr bool kTranspose = false;

    static inline vf vzero() { return vdupq_n_f32(0.f); }
    static inline vf vld(const float* p) { return vld1q_f32(p); }
    static inline void vst(float* p, vf a) { vst1q_f32(p, a); }
    static inline vf vset1(float x) { return vdupq_n_f32(x); }
    static inline vf vfma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }  // one rounding
    static inline vf vmul(vf a, vf b) { return vmulq_f32(a, b); }
    static inline vf vadd(vf a, vf b) { return vaddq_f32(a, b); }
    static inline vf vsub(vf a, vf b) { return vsubq_f32(a, b); }
    // x86 maxps: a > b ? a : b, so a NaN in either operand yields b (fmax would yield NaN). The
    // running row max and vexp2's clamp rely on it the same way on every path.
    static inline vf vmax(vf a, vf b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
    static inline vf vmin(vf a, vf b) { return vbslq_f32(vcltq_f32(a, b), a, b); }  // minps
    static inline vf vabs(vf x) { return vabsq_f32(x); }
    static inline float vhmax(vf a) {
        // Pairwise, as the x86 reductions fold: NaN lanes behave as in maxps above.
        const float x0 = vgetq_lane_f32(a, 0), x1 = vgetq_lane_f32(a, 1),
                    x2 = vgetq_lane_f32(a, 2), x3 = vgetq_lane_f32(a, 3);
        const float m02 = x0 > x2 ? x0 : x2, m13 = x1 > x3 ? x1 : x3;
        return m02 > m13 ? m02 : m13;
    }
    static inline float vhsum(vf a) { return vaddvq_f32(a); }
    static inline vi vround_i(vf a) { return vcvtnq_s32_f32(a); }  // to nearest, ties to even
    static inline vf vcvt_f(vi a) { return vcvtq_f32_s32(a); }
    static inline vf vscale_pow2(vf p, vi n) {  // p * 2^n through the exponent field
        return vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), vshlq_n_s32(n, 23)));
    }
    static inline vf vzero_where_lt(vf x, vf v, float lo) {  // v, lanes where x < lo set to 0
        return vreinterpretq_f32_u32(
            vandq_u32(vcgeq_f32(x, vdupq_n_f32(lo)), vreinterpretq_u32_f32(v)));
    }
    // NaN lanes of x replace those of r (IEEE propagation through the softmax).
    static inline vf vkeep_nan(vf x, vf r) { return vbslq_f32(vceqq_f32(x, x), r, x); }
    static inline uint32x4_t vlane_index() {
        static constexpr uint32_t kLanes[4] = {0, 1, 2, 3};
        return vld1q_u32(kLanes);
    }
    // Lanes >= n (n in [0, W]) become -inf: keys past a row's causal limit or past n_k.
    static inline vf vmask_tail(vf s, int n) {
        if (n >= W) return s;
        const uint32x4_t keep = vcltq_u32(vlane_index(), vdupq_n_u32(uint32_t(n < 0 ? 0 : n)));
        return vbslq_f32(keep, s, vdupq_n_f32(-INFINITY));
    }
    // Lanes < n (n in [0, W]) become -inf: keys before a row's sliding window.
    static inline vf vmask_head(vf s, int n) {
        if (n <= 0) return s;
        const uint32x4_t keep = vcgeq_u32(vlane_index(), vdupq_n_u32(uint32_t(n)));
        return vbslq_f32(keep, s, vdupq_n_f32(-INFINITY));
    }
    static inline vf vdiv(vf a, vf b) { return vdivq_f32(a, b); }
    static inline vf vand(vf a, vf b) {
        return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
    }
    static inline vf vandnot(vf a, vf b) {  // ~a & b
        return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(b), vreinterpretq_u32_f32(a)));
    }
    static inline vf vor(vf a, vf b) {
        return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
    }
    static inline vf vexp2(vf x) { return vec_exp2<Neon>(x); }  // vmath.h
    static inline vf vtanh(vf x) { return vec_tanh<Neon>(x); }

    static inline float fma_scalar(float a, float b, float c) {
        return __builtin_fmaf(a, b, c);  // fmadd: every aarch64 core has it
    }
    // fp16 <-> fp32 through fcvtl / fcvtn (nearest even, overflow to ±inf, NaN stays NaN).
    static inline vf vld_f16(const uint16_t* p) {
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
    }
    static inline void vst_f16(uint16_t* p, vf a) {
        vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(a)));
    }
    static inline vf vld_bf16(const uint16_t* p) {
        return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
    }
    static inline void vld_bf16_pairs(const uint16_t* p, vf& even, vf& odd) {
        const uint32x4_t x = vreinterpretq_u32_u16(vld1q_u16(p));
        even = vreinterpretq_f32_u32(vshlq_n_u32(x, 16));
        odd = vreinterpretq_f32_u32(vandq_u32(x, vdupq_n_u32(0xFFFF0000u)));
    }
    static inline void reduce4(vf a, vf b, vf c, vf d, float* out) {
        // Pairwise adds: faddp folds neighbours, two rounds give the four sums in lane order.
        vst1q_f32(out, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)));
    }
    static inline unsigned nonzero_bits(vf x) {
        // Lane i's all-ones compare result keeps bit i of {1, 2, 4, 8}; the sum is the mask.
        static constexpr uint32_t kBit[4] = {1, 2, 4, 8};
        const uint32x4_t nz = vmvnq_u32(vceqq_f32(x, vdupq_n_f32(0.f)));  // != 0, NaN too
        return vaddvq_u32(vandq_u32(nz, vld1q_u32(kBit)));
    }
};

}  // namespace
}  // namespace ha::cpu::isa
