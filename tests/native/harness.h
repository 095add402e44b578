// A test harness with no framework: tests register themselves, checks count, main() prints
// "N passed, N failed, N skipped". Kept tiny so it builds wherever the library builds,
// including GPU machines without Java.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "half.h"
#include "hyperattn.h"

namespace hat {

struct Registry {
    struct Test {
        const char* name;
        std::function<void()> fn;
    };
    static std::vector<Test>& tests() {
        static std::vector<Test> t;
        return t;
    }
};

struct Registrar {
    Registrar(const char* name, std::function<void()> fn) {
        Registry::tests().push_back({name, std::move(fn)});
    }
};

#define HAT_CAT2(a, b) a##b
#define HAT_CAT(a, b) HAT_CAT2(a, b)
#define TEST(name)                                                             \
    static void name();                                                        \
    static ::hat::Registrar HAT_CAT(hat_reg_, name)(#name, name);              \
    static void name()

// One "case" is one assertion group; a failed check marks the current case failed and prints.
struct Counts {
    int passed = 0, failed = 0, skipped = 0;
};
Counts& counts();
void begin_case(const std::string& label);
void fail_case(const char* file, int line, const std::string& msg);
void end_case();
void skip_case(const std::string& label, const std::string& why);

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) ::hat::fail_case(__FILE__, __LINE__,                                \
                                      std::string(#cond " — ") + ::hat::format(__VA_ARGS__)); \
    } while (0)

// ---- data helpers ------------------------------------------------------------------------
inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
    return static_cast<uint16_t>(u >> 16);
}
// fp16 through the library's own scalar conversions (cpp/src/half.h), which the test
// f16_scalar_conversion_matches_hardware checks bit for bit against F16C / NEON on all 2^16
// inputs and on fp32 values around every rounding boundary.
inline float f16_to_f32(uint16_t h) { return ha::f16_bits_to_f32(h); }
inline uint16_t f32_to_f16(float f) { return ha::f32_to_f16_bits(f); }
inline const char* dtype_str(int32_t dt) {
    return dt == HA_DTYPE_F32 ? "f32" : dt == HA_DTYPE_BF16 ? "bf16" : "f16";
}

inline float bf16_to_f32(uint16_t h) {
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

std::mt19937_64& rng();  // seeded once per run; the seed is printed at start

// A host tensor with its own storage, any strides, poisonable.
struct HostTensor {
    int32_t dtype = HA_DTYPE_F32;
    int64_t shape[4] = {0, 0, 0, 0};
    int64_t strides[4] = {0, 0, 0, 0};
    std::vector<unsigned char> storage;  // span plus 64 bytes so data can be offset if asked
    size_t offset = 0;

    static HostTensor make(int32_t dtype, const int64_t shape[4], const int64_t strides[4]);
    // Dense in the axis order given (perm[0] outermost), e.g. {0,2,1,3} is [b,s,h,d].
    static HostTensor dense(int32_t dtype, int64_t b, int64_t h, int64_t s, int64_t d,
                            const int perm[4]);
    int64_t esize() const { return dtype == HA_DTYPE_F32 ? 4 : 2; }
    int64_t elements() const { return shape[0] * shape[1] * shape[2] * shape[3]; }
    void* data() { return storage.data() + offset; }
    int64_t index(int64_t b, int64_t h, int64_t s, int64_t d) const {
        return b * strides[0] + h * strides[1] + s * strides[2] + d * strides[3];
    }
    float get(int64_t b, int64_t h, int64_t s, int64_t d) const;
    void set(int64_t b, int64_t h, int64_t s, int64_t d, float x);
    void poison();  // every byte of the storage, gaps included, becomes NaN
    void fill_normal(float stddev);
    bool byte_is_poison_at(size_t byte) const;
    ha_tensor desc();
};

}  // namespace hat
