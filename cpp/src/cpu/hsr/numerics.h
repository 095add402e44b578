// Rounding-safe arithmetic of HSR: directed float rounding, the error coefficients that make
// the block bounds and float scores provably conservative, and an exact sign of q·k − t.
// Header-only (baseline code and white-box tests include it); nothing here may be compiled
// with FMA contraction or fast-math, which would break the error-free transformations.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "half.h"

namespace ha::cpu::hsr {

// |fl(q·k) − q·k| <= dot_err(D) · Σ|q_d k_d| + dot_eta(D) for a float dot product of D
// terms evaluated in any order, with or without FMA (every path through the summation tree
// sees at most D + 32 roundings for D <= 256; γ_n = n·u/(1 − n·u) < 1.01·n·u here). The
// absolute term covers results that fall below the normal range: 2^-150 per rounding, or
// 2^-126 when a caller runs with flush-to-zero, so it is sized for the latter.
inline double dot_err(int64_t D) { return double(D + 32) * 0x1p-24 * 1.01; }
inline double dot_eta(int64_t D) { return double(2 * D + 64) * 0x1p-126; }

inline float round_up_f(double x) {
    if (std::isnan(x)) return INFINITY;
    float f = static_cast<float>(x);
    if (double(f) < x) f = std::nextafter(f, INFINITY);
    return f;
}
inline float round_down_f(double x) {
    if (std::isnan(x)) return -INFINITY;
    float f = static_cast<float>(x);
    if (double(f) > x) f = std::nextafter(f, -INFINITY);
    return f;
}

inline float bf16_bits_to_f32(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint16_t f32_to_bf16_nearest(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}
// bf16 values that bracket f: down(f) <= f <= up(f) (overflow goes to ±inf, NaN to the
// infinity that makes any range containing it unbounded). Truncating to the upper 16 bits
// moves toward zero, so one step away from zero fixes the other side.
inline uint16_t f32_to_bf16_down(float f) {
    if (std::isnan(f)) return 0xff80;  // -inf
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint16_t h = uint16_t(u >> 16);
    return (bf16_bits_to_f32(h) != f && f < 0) ? uint16_t(h + 1) : h;
}
inline uint16_t f32_to_bf16_up(float f) {
    if (std::isnan(f)) return 0x7f80;  // +inf
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint16_t h = uint16_t(u >> 16);
    return (bf16_bits_to_f32(h) != f && f > 0) ? uint16_t(h + 1) : h;
}

// x moved up past the rounding of the one float operation that produced it: valid when the
// true value y satisfies |x − y| <= 2^-23·|x| + eta (eta >= the absolute underflow error).
// NaN stays NaN (callers treat NaN bounds as "must visit").
inline float guard_up(float x, float eta) {
    const float rel = std::fabs(x) * 0x1p-20f;
    return (x + rel) + eta;
}

// ---- exact sign of Σ q_d·k_d − t -----------------------------------------------------------
// Products of two floats are exact in double (48 significant bits); Shewchuk's expansion
// arithmetic then sums them with no error at all. Only used for keys whose float and double
// scores are both too close to t to decide.
inline void two_sum(double a, double b, double& x, double& y) {
    x = a + b;
    const double bv = x - a, av = x - bv;
    y = (a - av) + (b - bv);
}

// e (length n, nonoverlapping, increasing magnitude) += b, zero components dropped.
inline int grow_expansion(const double* e, int n, double b, double* h) {
    double q = b;
    int m = 0;
    for (int i = 0; i < n; ++i) {
        double s, t;
        two_sum(q, e[i], s, t);
        if (t != 0) h[m++] = t;
        q = s;
    }
    if (q != 0 || m == 0) h[m++] = q;
    return m;
}

// Sign (-1, 0, +1) of Σ_d q[d]·k[d] − t in real arithmetic; q, k given as floats widened to
// double. D <= 256.
inline int exact_dot_sign(const double* q, const double* k, int64_t D, double t) {
    double a[300], b[300];
    double* e = a;
    double* h = b;
    int n = 0;
    e[n++] = -t;
    for (int64_t d = 0; d < D; ++d) {
        const double p = q[d] * k[d];  // exact
        if (p == 0) continue;
        n = grow_expansion(e, n, p, h);
        double* tmp = e;
        e = h;
        h = tmp;
    }
    // Nonoverlapping components in increasing magnitude: the last nonzero decides.
    for (int i = n - 1; i >= 0; --i)
        if (e[i] != 0) return e[i] > 0 ? 1 : -1;
    return 0;
}

// q·k >= t decided exactly. The double sum settles almost every call; the expansion is the
// last resort.
inline bool dot_at_least(const double* q, const double* k, int64_t D, double t) {
    double s = 0, a = std::fabs(t);
    for (int64_t d = 0; d < D; ++d) {
        const double p = q[d] * k[d];
        s += p;
        a += std::fabs(p);
    }
    const double diff = s - t;
    const double err = double(D + 4) * 0x1p-52 * a;
    if (diff > err) return true;
    if (diff < -err) return false;
    return exact_dot_sign(q, k, D, t) >= 0;
}

}  // namespace ha::cpu::hsr
