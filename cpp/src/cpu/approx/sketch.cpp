#include "cpu/approx/sketch.h"

#include <algorithm>
#include <cmath>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cpu/cpu_backend.h"
#include "hyperattn.h"

#include "cpu/hyper/hyper_random.h"

namespace ha::cpu::approx {

std::vector<float> sketch_planes(uint64_t seed, int64_t D, int64_t Dp) {
    // A tag of its own keeps these planes independent of HyperAttention's for the same seed.
    const std::vector<float> h = hyper::hyperplanes(seed ^ 0x736b65746368ull, kSketchBits, D);
    std::vector<float> out(size_t(kSketchBits * Dp), 0.f);
    for (int t = 0; t < kSketchBits; ++t)
        std::copy(h.begin() + t * D, h.begin() + (t + 1) * D, out.begin() + t * Dp);
    return out;
}

void sketch_rows(const hsr::Kernels& kr, const float* planes, int64_t D, int64_t Dp,
                 const hsr::RowSrc& k, int64_t first, int64_t n, uint64_t* out) {
    std::vector<float> pt(static_cast<size_t>(D * kSketchBits));  // the planes transposed
    for (int t = 0; t < kSketchBits; ++t)
        for (int64_t d = 0; d < D; ++d) pt[size_t(d * kSketchBits + t)] = planes[t * Dp + d];
    constexpr int64_t kChunk = 1 << 20;
    for (int64_t j0 = 0; j0 < n; j0 += kChunk)
        kr.sketch64(pt.data(), D, k, first + j0, int(std::min(kChunk, n - j0)), out + j0);
}

#if defined(__x86_64__)
// x86-64 without POPCNT counts bits in software: the fast scans are compiled for it and chosen
// at run time.
#define HA_TARGET_POPCNT __attribute__((target("popcnt")))
bool have_popcnt() {
    static const bool yes = __builtin_cpu_supports("popcnt");
    return yes;
}
#else
// aarch64 counts bits with the baseline NEON cnt/addv: no target attribute, nothing to detect.
#define HA_TARGET_POPCNT
bool have_popcnt() { return true; }
#endif

#if defined(__x86_64__)
namespace {
bool have_vpopcnt() {
    static const bool yes = __builtin_cpu_supports("avx512f") &&
                            __builtin_cpu_supports("avx512vpopcntdq");
    return yes;
}
}  // namespace
#endif

namespace {
HA_TARGET_POPCNT void hamming_list_popcnt(uint64_t q, const uint64_t* ksk,
                                                           const int32_t* pos, size_t n, int* out) {
    for (size_t i = 0; i < n; ++i) out[i] = __builtin_popcountll(q ^ ksk[pos[i]]);
}
}  // namespace

void hamming_list(uint64_t q, const uint64_t* ksk, const int32_t* pos, size_t n, int* out) {
    if (have_popcnt()) return hamming_list_popcnt(q, ksk, pos, n, out);
    for (size_t i = 0; i < n; ++i) out[i] = __builtin_popcountll(q ^ ksk[pos[i]]);
}

namespace {

// Whether key j is outside the groups a row skips (see sketch_scan).
inline bool eligible(const uint8_t* grp, const uint8_t* skip, int r, int64_t j) {
    return !grp || (grp[j] != 0xff && grp[j] != skip[r]);
}

template <int R>
HA_TARGET_POPCNT bool scan_fixed(const uint64_t* ksk, const uint8_t* cls,
                                                  int64_t a, int64_t b, const uint64_t* qs,
                                                  const int* thr, const uint8_t* grp,
                                                  const uint8_t* skip, std::vector<int32_t>& hits,
                                                  size_t cap) {
    for (int64_t j = a; j < b; ++j) {
        const uint64_t kk = ksk[j];
        const int c = cls[j];
        bool hit = false;
        for (int r = 0; r < R; ++r)
            hit |= __builtin_popcountll(qs[r] ^ kk) <= thr[r * kNormClasses + c] && eligible(grp, skip, r, j);
        if (hit) {
            if (hits.size() >= cap) return false;
            hits.push_back(int32_t(j));
        }
    }
    return true;
}

void rank_scalar(const uint64_t* ksk, const float* knorm, const int32_t* hits, size_t n,
                 const uint64_t* qs, const float* cq, const float* cut, int R, const float* up,
                 const float* mid, float* rank) {
    for (size_t i = 0; i < n; ++i) {
        float best = -INFINITY;
        const float kn = knorm[hits[i]];
        for (int r = 0; r < R; ++r) {
            const int h = __builtin_popcountll(qs[r] ^ ksk[hits[i]]);
            const float a = cq[r] * kn;
            if (a * up[h] >= cut[r]) best = std::max(best, a * mid[h]);
        }
        rank[i] = best;
    }
}

// GCC 12's AVX-512 headers start some conversions from an "undefined" vector and then warn
// that it may be used uninitialised; the intrinsics define every lane.
#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Eight keys per step: per row one XOR, one vector popcount, the row's threshold for each key's
// norm class (one permute), a mask compare; the hits are taken from the mask (the common
// case, no hit, costs no branch per key).
__attribute__((target("avx512f,avx512vpopcntdq,popcnt"))) bool scan_avx512(
    const uint64_t* ksk, const uint8_t* cls, int64_t a, int64_t b, const uint64_t* qs,
    const int* thr, const uint8_t* grp, const uint8_t* skip, int R, std::vector<int32_t>& hits,
    size_t cap) {
    __m512i qv[8] = {}, tv[8] = {}, sv[8] = {};
    const __m512i none = _mm512_set1_epi64(0xff);
    for (int r = 0; r < R; ++r) {
        qv[r] = _mm512_set1_epi64(int64_t(qs[r]));
        sv[r] = _mm512_set1_epi64(skip ? int64_t(skip[r]) : 0xff);
        alignas(64) int64_t t[kNormClasses];
        for (int c = 0; c < kNormClasses; ++c) t[c] = thr[r * kNormClasses + c];
        tv[r] = _mm512_load_si512(t);
    }
    int64_t j = a;
    for (; j + 8 <= b; j += 8) {
        const __m512i k = _mm512_loadu_si512(ksk + j);
        const __m512i c = _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(cls + j)));
        __mmask8 hit = 0;
        if (grp) {
            const __m512i g = _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(grp + j)));
            const __mmask8 in = _mm512_cmpneq_epi64_mask(g, none);
            for (int r = 0; r < R; ++r)
                hit |= _mm512_mask_cmple_epi64_mask(_mm512_cmpneq_epi64_mask(g, sv[r]),
                                                    _mm512_popcnt_epi64(_mm512_xor_si512(k, qv[r])),
                                                    _mm512_permutexvar_epi64(c, tv[r]));
            hit &= in;
        } else {
            for (int r = 0; r < R; ++r)
                hit |= _mm512_cmple_epi64_mask(_mm512_popcnt_epi64(_mm512_xor_si512(k, qv[r])),
                                               _mm512_permutexvar_epi64(c, tv[r]));
        }
        while (hit) {
            if (hits.size() >= cap) return false;
            hits.push_back(int32_t(j + __builtin_ctz(hit)));
            hit &= __mmask8(hit - 1);
        }
    }
    for (; j < b; ++j) {
        bool h = false;
        for (int r = 0; r < R; ++r)
            h |= __builtin_popcountll(qs[r] ^ ksk[j]) <= thr[r * kNormClasses + cls[j]] &&
                 eligible(grp, skip, r, j);
        if (h) {
            if (hits.size() >= cap) return false;
            hits.push_back(int32_t(j));
        }
    }
    return true;
}

// Eight hits per step: their sketches and norms are gathered once, then per row one XOR,
// one popcount and two table gathers.
__attribute__((target("avx512f,avx512vl,avx512vpopcntdq,popcnt"))) void rank_avx512(
    const uint64_t* ksk, const float* knorm, const int32_t* hits, size_t n, const uint64_t* qs,
    const float* cq, const float* cut, int R, const float* up, const float* mid, float* rank) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hits + i));
        const __m512i k = _mm512_i32gather_epi64(idx, reinterpret_cast<const long long*>(ksk), 8);
        const __m256 kn = _mm256_i32gather_ps(knorm, idx, 4);
        __m256 best = _mm256_set1_ps(-INFINITY);
        for (int r = 0; r < R; ++r) {
            const __m256i h = _mm512_cvtepi64_epi32(
                _mm512_popcnt_epi64(_mm512_xor_si512(k, _mm512_set1_epi64(int64_t(qs[r])))));
            const __m256 a = _mm256_mul_ps(_mm256_set1_ps(cq[r]), kn);
            const __m256 hi = _mm256_mul_ps(a, _mm256_i32gather_ps(up, h, 4));
            const __m256 est = _mm256_mul_ps(a, _mm256_i32gather_ps(mid, h, 4));
            const __mmask8 ok = _mm256_cmp_ps_mask(hi, _mm256_set1_ps(cut[r]), _CMP_GE_OQ);
            best = _mm256_mask_max_ps(best, ok, best, est);
        }
        _mm256_storeu_ps(rank + i, best);
    }
    rank_scalar(ksk, knorm, hits + i, n - i, qs, cq, cut, R, up, mid, rank + i);
}

#pragma GCC diagnostic pop
#endif  // __x86_64__

bool scan_generic(const uint64_t* ksk, const uint8_t* cls, int64_t a, int64_t b,
                  const uint64_t* qs, const int* thr, const uint8_t* grp, const uint8_t* skip,
                  int R, std::vector<int32_t>& hits, size_t cap) {
    for (int64_t j = a; j < b; ++j) {
        bool hit = false;
        for (int r = 0; r < R; ++r)
            hit |= __builtin_popcountll(qs[r] ^ ksk[j]) <= thr[r * kNormClasses + cls[j]] &&
                   eligible(grp, skip, r, j);
        if (hit) {
            if (hits.size() >= cap) return false;
            hits.push_back(int32_t(j));
        }
    }
    return true;
}

}  // namespace

void rank_hits(const uint64_t* ksk, const float* knorm, const int32_t* hits, size_t n,
               const uint64_t* qs, const float* cq, const float* cut, int R, const float* up,
               const float* mid, float* rank) {
#if defined(__x86_64__)
    if (get_isa() == HA_CPU_ISA_AVX512 && have_vpopcnt())
        return rank_avx512(ksk, knorm, hits, n, qs, cq, cut, R, up, mid, rank);
#endif
    rank_scalar(ksk, knorm, hits, n, qs, cq, cut, R, up, mid, rank);
}

bool sketch_scan(const uint64_t* ksk, const uint8_t* cls, int64_t a, int64_t b,
                 const uint64_t* qs, const int* thr, int R, std::vector<int32_t>& hits,
                 size_t cap, const uint8_t* grp, const uint8_t* skip) {
    if (a >= b) return true;
#if defined(__x86_64__)
    if (get_isa() == HA_CPU_ISA_AVX512 && have_vpopcnt())
        return scan_avx512(ksk, cls, a, b, qs, thr, grp, skip, R, hits, cap);
#endif
    if (!have_popcnt()) return scan_generic(ksk, cls, a, b, qs, thr, grp, skip, R, hits, cap);
    switch (R) {
        case 1: return scan_fixed<1>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        case 2: return scan_fixed<2>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        case 3: return scan_fixed<3>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        case 4: return scan_fixed<4>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        case 5: return scan_fixed<5>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        case 6: return scan_fixed<6>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        case 7: return scan_fixed<7>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
        default: return scan_fixed<8>(ksk, cls, a, b, qs, thr, grp, skip, hits, cap);
    }
}

}  // namespace ha::cpu::approx
