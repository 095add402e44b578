// The AVX2 path: 256-bit vectors with FMA and F16C (cpu_features requires all three for this
// level). Compiled with HA_FLAGS_AVX2.
#pragma once
#if !defined(__x86_64__)
#error "isa_avx2.h is an x86-64 path"
#endif

#include <cmath>
#include <cstdint>

#include "cpu/isa/intrin.h"
#include "cpu/isa/vmath.h"

namespace ha::cpu::isa {
namespace {

struct Avx2 {
    static constexpr int level = 2;  // HA_CPU_ISA_AVX2
    static constexpr int W = 8;
    using vf = __m256;
    using vi = __m256i;
    static constexpr int MR = 6, NR = 2;  // GEMM register block: 12 of 16 ymm
    static constexpr bool kBf16Dot = false;
    static constexpr bool kTranspose = false;

    // In-place decode (kern/decode.h), blocked for 16 ymm: a score pass keeps rows × 4 keys
    // accumulators, a P·V pass rows × vectors of columns (plus the V vectors and a broadcast).
    static constexpr bool kDecode = true;
    static constexpr int kDecScoreRows = 2;  // 8 of 16 ymm accumulate; 4 rows would spill
    static constexpr int kDecPvRows = 4, kDecPvVecs = 2;  // 8 ymm, 16 columns per pass
    // No bf16 dot product: bf16 K/V are widened to fp32 in registers as they are read
    // (vbf16_even / vbf16_odd), which is exact; the products and P stay fp32.
    static constexpr bool kDecWidenBf16 = true;
    static constexpr bool kDecPrefetchV = true;  // see DecTile::step_rows

    static inline vf vzero() { return _mm256_setzero_ps(); }
    static inline vf vld(const float* p) { return _mm256_loadu_ps(p); }
    static inline void vst(float* p, vf a) { _mm256_storeu_ps(p, a); }
    static inline vf vset1(float x) { return _mm256_set1_ps(x); }
    static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
    static inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
    static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
    static inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
    static inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
    static inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
    static inline vf vabs(vf x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
    static inline float vhmax(vf a) {
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
        return _mm_cvtss_f32(m);
    }
    static inline float vhsum(vf a) {
        __m128 m = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
        return _mm_cvtss_f32(m);
    }
    static inline vi vround_i(vf a) { return _mm256_cvtps_epi32(a); }
    static inline vf vcvt_f(vi a) { return _mm256_cvtepi32_ps(a); }
    static inline vf vscale_pow2(vf p, vi n) {
        return _mm256_castsi256_ps(
            _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(n, 23)));
    }
    static inline vf vzero_where_lt(vf x, vf v, float lo) {
        return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_GE_OQ), v);
    }
    static inline vf vkeep_nan(vf x, vf r) {
        return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    }
    static inline vf vmask_tail(vf s, int n) {
        if (n >= W) return s;
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane));
        return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), s, keep);
    }
    static inline vf vmask_head(vf s, int n) {
        if (n <= 0) return s;
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256 keep =
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(n - 1)));
        return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), s, keep);
    }
    static inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
    static inline vf vand(vf a, vf b) { return _mm256_and_ps(a, b); }
    static inline vf vandnot(vf a, vf b) { return _mm256_andnot_ps(a, b); }
    static inline vf vor(vf a, vf b) { return _mm256_or_ps(a, b); }
    static inline vf vexp2(vf x) { return vec_exp2<Avx2>(x); }  // vmath.h
    static inline vf vtanh(vf x) { return vec_tanh<Avx2>(x); }
    // Decode's in-place scores: see Avx512::vfold4.
    static inline vf vfold4(vf a, vf b, vf c, vf d) {
        const vf ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
        const vf cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
        return _mm256_add_ps(_mm256_shuffle_ps(ab, cd, 0x44), _mm256_shuffle_ps(ab, cd, 0xEE));
    }
    // The full sums of four vectors, in out[0..3] (one fold instead of four reductions).
    static constexpr bool kSum4 = true;
    static inline void vsum4(vf a, vf b, vf c, vf d, float* out) {
        const vf f = vfold4(a, b, c, d);
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1)));
    }
    static inline vf vfold_quads(const vf* u) {  // two quads: add the 128-bit halves across
        return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20),
                             _mm256_permute2f128_ps(u[0], u[1], 0x31));
    }
    // 2W bf16 as W 32-bit pairs; bf16 -> fp32 is exact (the value is the high half): the even
    // elements shifted up, the odd ones with the low half cleared.
    static inline vi vld_bf16x2(const uint16_t* p) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    }
    static inline vf vbf16_even(vi w) { return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)); }
    static inline vf vbf16_odd(vi w) {
        return _mm256_castsi256_ps(_mm256_and_si256(w, _mm256_set1_epi32(int(0xffff0000u))));
    }

    // a * b + c for scalars with one rounding.
    static inline float fma_scalar(float a, float b, float c) {
        return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
    }
    // fp16 <-> fp32 through F16C (nearest even, overflow to ±inf, NaN stays NaN).
    static inline vf vld_f16(const uint16_t* p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static inline void vst_f16(uint16_t* p, vf a) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                         _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    static inline vf vld_bf16(const uint16_t* p) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
    }
    static inline void vld_bf16_pairs(const uint16_t* p, vf& even, vf& odd) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        even = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
        odd = _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32(int32_t(0xFFFF0000u))));
    }
    static inline void reduce4(vf a, vf b, vf c, vf d, float* out) {
        const __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1)));
    }
    static inline unsigned nonzero_bits(vf x) {
        return unsigned(_mm256_movemask_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ)));
    }
};

}  // namespace
}  // namespace ha::cpu::isa
