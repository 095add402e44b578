// The AVX-512 path: 512-bit vectors (F/BW/DQ/VL), FMA, F16C. Compiled with HA_FLAGS_AVX512.
// The vdpbf16ps kernels (AVX512-BF16, checked at run time) are in avx512_bf16.h.
#pragma once
#if !defined(__x86_64__)
#error "isa_avx512.h is an x86-64 path"
#endif

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/isa/intrin.h"
#include "cpu/isa/vmath.h"

namespace ha::cpu::isa {
namespace {

struct Avx512Bf16;  // avx512_bf16.h

struct Avx512 {
    static constexpr int level = 3;  // HA_CPU_ISA_AVX512
    static constexpr int W = 16;
    using vf = __m512;
    using vi = __m512i;
    static constexpr int MR = 6, NR = 4;  // 24 of 32 zmm accumulate, 4 hold B, 1 the broadcast
    // bf16 on vdpbf16ps where the CPU has it (cpu_features().avx512_bf16): Bf16's kernels.
    static constexpr bool kBf16Dot = true;
    using Bf16 = Avx512Bf16;
    static constexpr bool kTranspose = true;  // transpose_tile32 packs Kᵀ

    // In-place decode (kern/decode.h), blocked for 32 zmm.
    static constexpr bool kDecode = true;
    static constexpr int kDecScoreRows = 4;  // 16 of 32 zmm accumulate
    static constexpr int kDecPvRows = 4, kDecPvVecs = 4;  // 16 zmm, 64 columns per pass
    static constexpr bool kDecWidenBf16 = false;  // bf16 runs on vdpbf16ps (Bf16::dec_pv)
    static constexpr bool kDecPrefetchV = false;

    static inline vf vzero() { return _mm512_setzero_ps(); }
    static inline vf vld(const float* p) { return _mm512_loadu_ps(p); }
    static inline void vst(float* p, vf a) { _mm512_storeu_ps(p, a); }
    static inline vf vset1(float x) { return _mm512_set1_ps(x); }
    static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
    static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
    static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
    static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
    static inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
    static inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
    static inline vf vabs(vf x) { return _mm512_abs_ps(x); }
    // Hand-written reductions: GCC 12's _mm512_reduce_* trip -Wuninitialized in its own header.
    static inline float vhmax(vf a) {
        __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
        return _mm_cvtss_f32(m);
    }
    static inline float vhsum(vf a) {
        __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
        __m128 m = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
        return _mm_cvtss_f32(m);
    }
    static inline vi vround_i(vf a) { return _mm512_cvtps_epi32(a); }
    static inline vf vcvt_f(vi a) { return _mm512_cvtepi32_ps(a); }
    static inline vf vscale_pow2(vf p, vi n) {  // p * 2^n through the exponent field
        return _mm512_castsi512_ps(
            _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(n, 23)));
    }
    static inline vf vzero_where_lt(vf x, vf v, float lo) {  // v, lanes where x < lo set to 0
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_GE_OQ), v);
    }
    // NaN lanes of x replace those of r (IEEE propagation through the softmax).
    static inline vf vkeep_nan(vf x, vf r) {
        return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
    }
    // Lanes >= n (n in [0, W]) become -inf: keys past a row's causal limit or past n_k.
    static inline vf vmask_tail(vf s, int n) {
        const __mmask16 keep = n >= W ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
        return _mm512_mask_blend_ps(keep, _mm512_set1_ps(-INFINITY), s);
    }
    // Lanes < n (n in [0, W]) become -inf: keys before a row's sliding window.
    static inline vf vmask_head(vf s, int n) {
        const __mmask16 drop = n >= W ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
        return _mm512_mask_blend_ps(drop, s, _mm512_set1_ps(-INFINITY));
    }
    static inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
    static inline vf vand(vf a, vf b) { return _mm512_and_ps(a, b); }
    static inline vf vandnot(vf a, vf b) { return _mm512_andnot_ps(a, b); }  // ~a & b
    static inline vf vor(vf a, vf b) { return _mm512_or_ps(a, b); }
    static inline vf vexp2(vf x) { return vec_exp2<Avx512>(x); }  // vmath.h
    static inline vf vtanh(vf x) { return vec_tanh<Avx512>(x); }
    // Decode's in-place scores (kern/decode.h). vfold4: four keys' per-lane products -> one
    // vector whose lane l of 128-bit block b is key l's partial sum over block b.
    static inline vf vfold4(vf a, vf b, vf c, vf d) {
        const vf ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
        const vf cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
        return _mm512_add_ps(_mm512_shuffle_ps(ab, cd, 0x44), _mm512_shuffle_ps(ab, cd, 0xEE));
    }
    // The full sums of four vectors, in out[0..3] (one fold instead of four reductions).
    static constexpr bool kSum4 = true;
    static inline void vsum4(vf a, vf b, vf c, vf d, float* out) {
        const vf f = vfold4(a, b, c, d);
        const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(f),
                                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    // W/4 folded quads u[g] -> one vector whose lane 4g+l is key 4g+l's full sum.
    static inline vf vfold_quads(const vf* u) {
        const vf w01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x44),
                                     _mm512_shuffle_f32x4(u[0], u[1], 0xEE));
        const vf w23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x44),
                                     _mm512_shuffle_f32x4(u[2], u[3], 0xEE));
        return _mm512_add_ps(_mm512_shuffle_f32x4(w01, w23, 0x88),
                             _mm512_shuffle_f32x4(w01, w23, 0xDD));
    }
    // 2W bf16 as W 32-bit pairs; bf16 -> fp32 is exact (the value is the high half): the even
    // elements shifted up, the odd ones with the low half cleared.
    static inline vi vld_bf16x2(const uint16_t* p) { return _mm512_loadu_si512(p); }
    static inline vf vbf16_even(vi w) { return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)); }
    static inline vf vbf16_odd(vi w) {
        return _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(int(0xffff0000u))));
    }

    // a * b + c for scalars with one rounding.
    static inline float fma_scalar(float a, float b, float c) {
        return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
    }
    // fp16 <-> fp32 through F16C (nearest even, overflow to ±inf, NaN stays NaN).
    static inline vf vld_f16(const uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static inline void vst_f16(uint16_t* p, vf a) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                            _mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // W bf16 values widened to fp32 (exact).
    static inline vf vld_bf16(const uint16_t* p) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
    }
    static inline void vld_bf16_pairs(const uint16_t* p, vf& even, vf& odd) {
        const __m512i x = _mm512_loadu_si512(p);
        even = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
        odd = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(int32_t(0xFFFF0000u))));
    }
    static inline void reduce4(vf a, vf b, vf c, vf d, float* out) {
        const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
        const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
        const __m512 x =
            _mm512_add_ps(_mm512_shuffle_ps(ab, cd, 0x44), _mm512_shuffle_ps(ab, cd, 0xEE));
        const __m256 h = _mm256_add_ps(
            _mm512_castps512_ps256(x), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    static inline unsigned nonzero_bits(vf x) {
        return _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    }

    // ---- packing -----------------------------------------------------------------------
    // 16×16 transpose of 32-bit elements: rows[i][c] -> dst[c * ldd + i]. Used for fp32 Kᵀ
    // and for bf16 Kᵀ, whose d-pairs are 32-bit units.
    static inline void transpose16(const uint32_t* const* rows, int64_t col, uint32_t* dst,
                                   int64_t ldd) {
        __m512 r[16], t[16];
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(rows[i] + col);
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int g = 0; g < 4; ++g) {  // r[4g+m], 128-bit lane k: rows 4g..4g+3 of column 4k+m
            r[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
            r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
            r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
            r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
        }
        for (int m = 0; m < 4; ++m) {  // transpose the 4×4 grid of 128-bit lanes
            const __m512 a = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44);
            const __m512 b = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xEE);
            const __m512 c = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44);
            const __m512 d = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xEE);
            float* o = reinterpret_cast<float*>(dst);
            _mm512_storeu_ps(o + (0 + m) * ldd, _mm512_shuffle_f32x4(a, c, 0x88));
            _mm512_storeu_ps(o + (4 + m) * ldd, _mm512_shuffle_f32x4(a, c, 0xDD));
            _mm512_storeu_ps(o + (8 + m) * ldd, _mm512_shuffle_f32x4(b, d, 0x88));
            _mm512_storeu_ps(o + (12 + m) * ldd, _mm512_shuffle_f32x4(b, d, 0xDD));
        }
    }

    // dst[c][j] = rows[j][c] for a tile of NT rows and `cols` 32-bit columns; rows from
    // `valid` on are zeros (their pointers may point at a zero row).
    template <int NT>
    static inline void transpose_tile32(const uint32_t* const* rows, int64_t cols, uint32_t* dst,
                                        int64_t valid = NT) {
        // Row blocks outermost: 16 whole rows are read before moving on, which the hardware
        // prefetchers follow far better than 16 interleaved column streams.
        const int64_t full = cols / 16 * 16;
        for (int j = 0; j < NT; j += 16)
            for (int64_t c = 0; c < full; c += 16) transpose16(rows + j, c, dst + c * NT + j, NT);
        // memcpy, not a uint32_t load: bf16 rows may start on any 2-byte boundary (odd strides).
        for (int64_t c = full; c < cols; ++c) {
            for (int64_t j = 0; j < valid; ++j) std::memcpy(dst + c * NT + j, rows[j] + c, 4);
            if (valid < NT) std::memset(dst + c * NT + valid, 0, size_t(NT - valid) * 4);
        }
    }

    // Two bf16 rows of D elements (D a multiple of 16) zero-extended to 32 bits and merged:
    // dst holds the pairs (a[d], c[d]) in order.
    static inline void interleave_bf16_rows(const uint16_t* a, const uint16_t* c, int64_t D,
                                            uint16_t* dst) {
        for (int64_t d = 0; d < D; d += 16) {
            const __m512i lo = _mm512_cvtepu16_epi32(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + d)));
            const __m512i hi = _mm512_cvtepu16_epi32(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + d)));
            _mm512_storeu_si512(dst + 2 * d, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }

    // ---- HSR: bucket preparation and index statistics ------------------------------------
    // bucket_prep (kern/hsr_bounds.h) 16 blocks at a time, special bounds included; returns
    // the blocks done.
    static inline int64_t bucket_prep_blocks(const float* U, int64_t n, float top, float cl,
                                             const int32_t* bstart, float* e, uint8_t* lvl) {
        int64_t b = 0;
        const __m512 tv = _mm512_set1_ps(top), cv = _mm512_set1_ps(cl),
                     lo = _mm512_set1_ps(-120.f), infl = _mm512_set1_ps(1.f + 0x1p-14f),
                     ninf = _mm512_set1_ps(-INFINITY), pinf = _mm512_set1_ps(INFINITY);
        const __m512i cap = _mm512_set1_epi32(120);
        for (; b + 16 <= n; b += 16) {
            const __m512 u = _mm512_loadu_ps(U + b);
            const __m512 y = _mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(u, tv), cv), lo);
            const __m512i sz = _mm512_sub_epi32(_mm512_loadu_si512(bstart + b + 1),
                                                _mm512_loadu_si512(bstart + b));
            __m512 ev = _mm512_mul_ps(_mm512_mul_ps(vexp2(y), infl), _mm512_cvtepi32_ps(sz));
            __m512i lv = _mm512_min_epi32(
                _mm512_cvttps_epi32(_mm512_sub_ps(_mm512_setzero_ps(), y)), cap);
            const __mmask16 excl = _mm512_cmp_ps_mask(u, ninf, _CMP_EQ_OQ);
            const __mmask16 must = _mm512_cmp_ps_mask(u, pinf, _CMP_NLT_UQ);  // +inf or NaN
            ev = _mm512_mask_mov_ps(ev, excl, _mm512_setzero_ps());
            ev = _mm512_mask_mov_ps(ev, must, pinf);
            lv = _mm512_mask_mov_epi32(lv, excl, _mm512_set1_epi32(255));
            lv = _mm512_mask_mov_epi32(lv, must, _mm512_setzero_si512());
            _mm512_storeu_ps(e + b, ev);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(lvl + b), _mm512_cvtepi32_epi8(lv));
        }
        return b;
    }

    // Σ x², in double.
    static inline double sumsq(const float* x, int64_t n) {
        __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const __m512d u = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
            const __m512d w = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8));
            a0 = _mm512_fmadd_pd(u, u, a0);
            a1 = _mm512_fmadd_pd(w, w, a1);
        }
        alignas(64) double t[8];
        _mm512_store_pd(t, _mm512_add_pd(a0, a1));
        double s = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
        for (; i < n; ++i) s += double(x[i]) * double(x[i]);
        return s;
    }

    // Σ (x - c)², in double.
    static inline double dist2(const float* x, const float* c, int64_t n) {
        __m512d a0 = _mm512_setzero_pd();
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m512d u = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)),
                                            _mm512_cvtps_pd(_mm256_loadu_ps(c + i)));
            a0 = _mm512_fmadd_pd(u, u, a0);
        }
        alignas(64) double t[8];
        _mm512_store_pd(t, a0);
        double s = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
        for (; i < n; ++i) {
            const double u = double(x[i]) - double(c[i]);
            s += u * u;
        }
        return s;
    }
};

}  // namespace
}  // namespace ha::cpu::isa

#include "cpu/isa/avx512_bf16.h"  // completes Avx512::Bf16
