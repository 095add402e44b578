// IEEE binary16 (fp16) <-> fp32 in portable scalar code: the generic paths, the tails of the
// vector conversions, and the API layer's checks. Both directions are exact where they can
// be: every fp16 value (subnormals, ±inf, NaN) is an fp32 value, and fp32 -> fp16 rounds to
// nearest even, as F16C's and NEON's conversions do under the default rounding mode, so
// every ISA path writes the same bits.
#pragma once
#include <cstdint>
#include <cstring>

namespace ha {

inline float f16_bits_to_f32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t u;
    if (e == 0x1f) {
        u = sign | 0x7f800000u | (m << 13);  // ±inf, or NaN with its payload
    } else if (e != 0) {
        u = sign | ((e + 112u) << 23) | (m << 13);  // rebias 15 -> 127
    } else {
        // Zero or subnormal m·2^-24: m < 2^10, so the product is exact (and a normal fp32).
        const float f = float(m) * 0x1p-24f;
        std::memcpy(&u, &f, 4);
        u |= sign;
    }
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline uint16_t f32_to_f16_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // quiet NaN
    // 65520 = 65504 + half an fp16 ulp: from there up (ties to the even 2^16) it is ±inf.
    if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
    if (a >= 0x38800000u) {  // >= 2^-14: a normal fp16
        uint32_t v = a - 0x38000000u;             // rebias 127 -> 15
        v += 0xfffu + ((v >> 13) & 1u);           // nearest even; a carry bumps the exponent
        return uint16_t(sign | (v >> 13));
    }
    const uint32_t e = a >> 23;
    if (e < 102) return sign;  // below 2^-25: rounds to zero (this includes fp32 subnormals)
    // A multiple of 2^-24: the 24-bit significand shifted right, rounded to nearest even.
    const uint32_t mant = (a & 0x7fffffu) | 0x800000u, shift = 126u - e;  // 14..24
    uint32_t q = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q;  // 0x400 is the smallest normal: right
    return uint16_t(sign | q);
}

inline bool f16_bits_finite(uint16_t h) { return (h & 0x7c00u) != 0x7c00u; }

}  // namespace ha
