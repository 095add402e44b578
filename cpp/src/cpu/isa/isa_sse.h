// The generic x86-64 path: what baseline x86-64 guarantees, SSE2 and nothing more (no FMA, no
// blendv, no round). Compiled with the baseline flags (HA_FLAGS_GENERIC).
#pragma once
#if !defined(__x86_64__)
#error "isa_sse.h is the x86-64 generic path; other targets use isa_portable.h"
#endif

#include <cmath>
#include <cstdint>

#include "cpu/isa/intrin.h"
#include "cpu/isa/vmath.h"
#include "half.h"

namespace ha::cpu::isa {
namespace {

struct Sse {
    static constexpr int level = 1;  // HA_CPU_ISA_GENERIC
    static constexpr int W = 4;      // floats per vector
    using vf = __m128;
    using vi = __m128i;
    // GEMM register block (kern/microkernels.h): 8 of 16 xmm, leaving room for the separate
    // multiply and add.
    static constexpr int MR = 4, NR = 2;
    static constexpr bool kDecode = false;  // decode runs on the GEMM path
    static constexpr bool kBf16Dot = false;
    static constexpr bool kTranspose = false;

    static inline vf vzero() { return _mm_setzero_ps(); }
    static inline vf vld(const float* p) { return _mm_loadu_ps(p); }
    static inline void vst(float* p, vf a) { _mm_storeu_ps(p, a); }
    static inline vf vset1(float x) { return _mm_set1_ps(x); }
    static inline vf vfma(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
    static inline vf vmul(vf a, vf b) { return _mm_mul_ps(a, b); }
    static inline vf vadd(vf a, vf b) { return _mm_add_ps(a, b); }
    static inline vf vsub(vf a, vf b) { return _mm_sub_ps(a, b); }
    static inline vf vmax(vf a, vf b) { return _mm_max_ps(a, b); }
    static inline vf vmin(vf a, vf b) { return _mm_min_ps(a, b); }
    static inline vf vabs(vf x) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), x); }
    static inline float vhmax(vf m) {
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
        return _mm_cvtss_f32(m);
    }
    static inline float vhsum(vf m) {
        m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
        return _mm_cvtss_f32(m);
    }
    static inline vi vround_i(vf a) { return _mm_cvtps_epi32(a); }
    static inline vf vcvt_f(vi a) { return _mm_cvtepi32_ps(a); }
    static inline vf vscale_pow2(vf p, vi n) {  // p * 2^n through the exponent field
        return _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(p), _mm_slli_epi32(n, 23)));
    }
    static inline vf vzero_where_lt(vf x, vf v, float lo) {  // v, lanes where x < lo set to 0
        return _mm_and_ps(_mm_cmpge_ps(x, _mm_set1_ps(lo)), v);
    }
    // NaN lanes of x replace those of r (IEEE propagation through the softmax).
    static inline vf vkeep_nan(vf x, vf r) {
        const vf nan = _mm_cmpunord_ps(x, x);
        return _mm_or_ps(_mm_and_ps(nan, x), _mm_andnot_ps(nan, r));
    }
    // Lanes >= n (n in [0, W]) become -inf: keys past a row's causal limit or past n_k.
    static inline vf vmask_tail(vf s, int n) {
        if (n >= W) return s;
        const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
        const __m128 keep = _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32(n), lane));
        return _mm_or_ps(_mm_and_ps(keep, s), _mm_andnot_ps(keep, _mm_set1_ps(-INFINITY)));
    }
    // Lanes < n (n in [0, W]) become -inf: keys before a row's sliding window.
    static inline vf vmask_head(vf s, int n) {
        if (n <= 0) return s;
        const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
        const __m128 keep = _mm_castsi128_ps(_mm_cmpgt_epi32(lane, _mm_set1_epi32(n - 1)));
        return _mm_or_ps(_mm_and_ps(keep, s), _mm_andnot_ps(keep, _mm_set1_ps(-INFINITY)));
    }
    static inline vf vdiv(vf a, vf b) { return _mm_div_ps(a, b); }
    static inline vf vand(vf a, vf b) { return _mm_and_ps(a, b); }
    static inline vf vandnot(vf a, vf b) { return _mm_andnot_ps(a, b); }  // ~a & b
    static inline vf vor(vf a, vf b) { return _mm_or_ps(a, b); }
    static inline vf vexp2(vf x) { return vec_exp2<Sse>(x); }  // vmath.h
    static inline vf vtanh(vf x) { return vec_tanh<Sse>(x); }

    // a * b + c for scalars with two roundings (baseline x86-64 has no FMA): spelled out so
    // that the compiler's contraction choice never decides the bits of a result.
    static inline float fma_scalar(float a, float b, float c) {
        volatile float prod = a * b;  // keep the product rounded
        return prod + c;
    }

    // W fp16 values widened to W floats (exact), and W floats rounded to fp16 (nearest even):
    // no F16C in the baseline, so through the scalar conversions of half.h.
    static inline vf vld_f16(const uint16_t* p) {
        alignas(16) float t[W];
        for (int i = 0; i < W; ++i) t[i] = ha::f16_bits_to_f32(p[i]);
        return vld(t);
    }
    static inline void vst_f16(uint16_t* p, vf a) {
        alignas(16) float t[W];
        vst(t, a);
        for (int i = 0; i < W; ++i) p[i] = ha::f32_to_f16_bits(t[i]);
    }
    // W bf16 values widened to fp32 (exact: the value is the high half).
    static inline vf vld_bf16(const uint16_t* p) {
        return _mm_castsi128_ps(_mm_unpacklo_epi16(
            _mm_setzero_si128(), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
    // 2W bf16 values as two fp32 vectors (exact): lane i of `even` is element 2i, of `odd`
    // element 2i+1.
    static inline void vld_bf16_pairs(const uint16_t* p, vf& even, vf& odd) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        even = _mm_castsi128_ps(_mm_slli_epi32(x, 16));
        odd = _mm_castsi128_ps(_mm_and_si128(x, _mm_set1_epi32(int32_t(0xFFFF0000u))));
    }
    // Four vectors -> their four horizontal sums, in out[0..4).
    static inline void reduce4(vf a, vf b, vf c, vf d, float* out) {
        _MM_TRANSPOSE4_PS(a, b, c, d);
        _mm_storeu_ps(out, _mm_add_ps(_mm_add_ps(a, b), _mm_add_ps(c, d)));
    }
    // Bit i set where lane i of x is not 0 (NaN included).
    static inline unsigned nonzero_bits(vf x) {
        return unsigned(_mm_movemask_ps(_mm_cmpneq_ps(x, _mm_setzero_ps())));
    }
};

}  // namespace
}  // namespace ha::cpu::isa
