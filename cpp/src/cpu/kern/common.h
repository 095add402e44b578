// What every kernel shares whatever the instruction set: the key tile size, bf16 conversions,
// addressing of strided and paged views, the scale split, aligned scratch. These are in an
// unnamed namespace like the kernels themselves: each ISA object compiles its own copy with its
// own flags, and none is a symbol the linker could hand to another path (ODR).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "cpu/huge_alloc.h"
#include "cpu/cpu_backend.h"
#include "cpu/prefetch.h"

namespace ha::cpu::kern {
namespace {

constexpr int NT = 64;  // keys per tile
static_assert(NT == kKeyTile, "cpu_backend.h names the key tile for internal callers");
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

inline float bf16_to_f32(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // keep NaN a NaN
    u += 0x7fffu + ((u >> 16) & 1u);                                        // nearest even
    return uint16_t(u >> 16);
}

inline int64_t row_off(const View& v, int64_t b, int64_t h, int64_t s) {
    return b * v.strides[0] + h * v.strides[1] + s * v.strides[2];
}

// A key or value row: as row_off, or through the page table of a paged cache (View::pages).
inline int64_t key_off(const View& v, int64_t b, int64_t h, int64_t s) {
    if (!v.pages) return row_off(v, b, h, s);
    return int64_t(v.pages[s / v.page_size]) * v.strides[0] + h * v.strides[1] +
           (s % v.page_size) * v.strides[2];
}

// Splits c = scale·log2(e) into a power of two qs, applied exactly to q as it is packed, and
// the rest (in [1, 2)), applied to the scores: q·k is accumulated as (qs·q)·k, so a score stays
// finite whenever scale·sum_i |q_i k_i| does (the range stated in hyperattn.h), even where the
// unscaled q·k would overflow fp32.
inline void split_scale(float c, float* qs, float* rest) {
    int e;
    const float f = std::frexp(c, &e);
    *qs = std::ldexp(1.f, e - 1);
    *rest = 2.f * f;
}
inline void scale_row(float* r, int64_t n, float qs) {
    if (qs != 1.f)
        for (int64_t i = 0; i < n; ++i) r[i] *= qs;
}
inline void scale_row(uint16_t* r, int64_t n, float qs) {
    if (qs != 1.f)
        for (int64_t i = 0; i < n; ++i) r[i] = f32_to_bf16(bf16_to_f32(r[i]) * qs);
}

// Pulls a key tile toward L2 while the current one is computed: in streaming mode (decode)
// the kernel is otherwise latency-bound on K/V reads.
inline void prefetch_tile(const View& t, int64_t es, int64_t b, int64_t hk, int64_t j0,
                          int64_t valid, int64_t D) {
    if (t.strides[3] != 1) return;
    const char* base = static_cast<const char*>(t.data);
    for (int64_t j = 0; j < valid; ++j) {
        const char* row = base + key_off(t, b, hk, j0 + j) * es;
        for (int64_t x = 0; x < D * es; x += 64) HA_PREFETCH_L2(row + x);
    }
}

// 64-byte aligned scratch that grows on demand. A type of this namespace rather than a
// std::vector, whose members instantiated on a shared type would be weak symbols.
struct AlignedBuf {
    void* p = nullptr;
    size_t n = 0;
    AlignedBuf() = default;
    AlignedBuf(const AlignedBuf&) = delete;
    AlignedBuf& operator=(const AlignedBuf&) = delete;
    ~AlignedBuf() { release(); }
    void release() {
        big_free(p, n);
        p = nullptr;
        n = 0;
    }
    // A packed K/V buffer of a long call is tens of MB, fresh each call: on huge pages, and
    // reused by the next call, it costs no page faults (huge_alloc.h).
    template <class T>
    T* get(size_t count) {
        const size_t bytes = count * sizeof(T);
        if (bytes > n) {
            release();
            p = big_alloc(bytes);
            n = bytes;
        }
        return static_cast<T*>(p);
    }
};

}  // namespace
}  // namespace ha::cpu::kern
