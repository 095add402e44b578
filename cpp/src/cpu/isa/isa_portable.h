// The generic path on architectures other than x86-64 (on aarch64: HA_CPU_ISA_GENERIC beside
// the NEON path), in portable C++ with GCC vector extensions. Four lanes, the operations of
// x86's SSE2 generic path with the same semantics (separate multiply and add, maxps-style max),
// so the generic path computes the same way on every architecture; the compiler lowers it to
// whatever the target baseline has. The build passes -ffp-contract=off on these targets, so
// the compiler cannot fuse a multiply and an add behind our back.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/isa/vmath.h"
#include "half.h"

namespace ha::cpu::isa {
namespace {

typedef float portable_vf __attribute__((vector_size(16)));
typedef int32_t portable_vi __attribute__((vector_size(16)));

struct Portable {
    static constexpr int level = 1;  // HA_CPU_ISA_GENERIC
    static constexpr int W = 4;
    using vf = portable_vf;
    using vi = portable_vi;
    static constexpr int MR = 4, NR = 2;
    static constexpr bool kDecode = false;
    static constexpr bool kBf16Dot = false;
    static constexpr bool kTranspose = false;

    static inline vf vzero() { return vf{0.f, 0.f, 0.f, 0.f}; }
    static inline vf vld(const float* p) {
        vf a;
        std::memcpy(&a, p, sizeof a);  // unaligned
        return a;
    }
    static inline void vst(float* p, vf a) { std::memcpy(p, &a, sizeof a); }
    static inline vf vset1(float x) { return vf{x, x, x, x}; }
    static inline vf vfma(vf a, vf b, vf c) { return a * b + c; }  // two roundings, as on SSE2
    static inline vf vmul(vf a, vf b) { return a * b; }
    static inline vf vadd(vf a, vf b) { return a + b; }
    static inline vf vsub(vf a, vf b) { return a - b; }
    static inline vf vmax(vf a, vf b) { return a > b ? a : b; }  // maxps: a NaN operand yields b
    static inline vf vmin(vf a, vf b) { return a < b ? a : b; }  // minps likewise
    static inline float vhmax(vf m) {
        const float m02 = m[0] > m[2] ? m[0] : m[2], m13 = m[1] > m[3] ? m[1] : m[3];
        return m02 > m13 ? m02 : m13;
    }
    static inline float vhsum(vf m) { return (m[0] + m[2]) + (m[1] + m[3]); }
    static inline vi vround_i(vf a) {
        // Round to nearest even as cvtps2dq does; NaN and out-of-range lanes give INT32_MIN, as
        // there (a float -> int conversion out of range is undefined in C++).
        vi r;
        for (int i = 0; i < 4; ++i) {
            const float x = a[i];
            if (!(x > -2147483648.f && x < 2147483648.f)) {
                r[i] = INT32_MIN;
            } else {
                const float t = std::nearbyint(x);  // default rounding mode: to nearest even
                r[i] = int32_t(t);
            }
        }
        return r;
    }
    static inline vf vcvt_f(vi a) { return __builtin_convertvector(a, vf); }
    static inline vf vscale_pow2(vf p, vi n) {
        vi bits;
        std::memcpy(&bits, &p, sizeof bits);
        // Shift as unsigned: the exponent trick wraps negative n by design.
        typedef uint32_t vu __attribute__((vector_size(16)));
        const vu sum = (vu)bits + ((vu)n << 23);
        vf out;
        std::memcpy(&out, &sum, sizeof out);
        return out;
    }
    static inline vf vzero_where_lt(vf x, vf v, float lo) { return x >= vset1(lo) ? v : vzero(); }
    static inline vf vkeep_nan(vf x, vf r) { return x != x ? x : r; }
    static inline vf vmask_tail(vf s, int n) {
        if (n >= W) return s;
        const vi lane = {0, 1, 2, 3};
        return lane < n ? s : vset1(-INFINITY);
    }
    static inline vf vmask_head(vf s, int n) {
        if (n <= 0) return s;
        const vi lane = {0, 1, 2, 3};
        return lane >= n ? s : vset1(-INFINITY);
    }
    static inline vf vdiv(vf a, vf b) { return a / b; }
    static inline vi vbits(vf a) {
        vi r;
        std::memcpy(&r, &a, sizeof r);
        return r;
    }
    static inline vf vfloats(vi a) {
        vf r;
        std::memcpy(&r, &a, sizeof r);
        return r;
    }
    static inline vf vand(vf a, vf b) { return vfloats(vbits(a) & vbits(b)); }
    static inline vf vandnot(vf a, vf b) { return vfloats(~vbits(a) & vbits(b)); }
    static inline vf vor(vf a, vf b) { return vfloats(vbits(a) | vbits(b)); }
    static inline vf vexp2(vf x) { return vec_exp2<Portable>(x); }  // vmath.h
    static inline vf vtanh(vf x) { return vec_tanh<Portable>(x); }
    static inline vf vabs(vf x) { return vandnot(vset1(-0.0f), x); }

    // a * b + c with two roundings, as on baseline x86-64.
    static inline float fma_scalar(float a, float b, float c) {
        volatile float prod = a * b;
        return prod + c;
    }
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
    static inline float bf16f(uint16_t h) {
        uint32_t u = uint32_t(h) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    static inline vf vld_bf16(const uint16_t* p) {
        return vf{bf16f(p[0]), bf16f(p[1]), bf16f(p[2]), bf16f(p[3])};
    }
    static inline void vld_bf16_pairs(const uint16_t* p, vf& even, vf& odd) {
        even = vf{bf16f(p[0]), bf16f(p[2]), bf16f(p[4]), bf16f(p[6])};
        odd = vf{bf16f(p[1]), bf16f(p[3]), bf16f(p[5]), bf16f(p[7])};
    }
    static inline void reduce4(vf a, vf b, vf c, vf d, float* out) {
        out[0] = vhsum(a);
        out[1] = vhsum(b);
        out[2] = vhsum(c);
        out[3] = vhsum(d);
    }
    static inline unsigned nonzero_bits(vf x) {
        unsigned bits = 0;
        for (int i = 0; i < W; ++i)
            if (!(x[i] == 0.f)) bits |= 1u << i;
        return bits;
    }
};

}  // namespace
}  // namespace ha::cpu::isa
