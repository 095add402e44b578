// fp16 storage: the portable scalar conversions (cpp/src/half.h), which the generic path, the
// vector paths' tails and the harness itself use, against the hardware's (F16C on x86-64,
// fcvt on aarch64), bit for bit.
#include <cstring>

#include "cases.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace hat;

namespace {

#if defined(__x86_64__)
__attribute__((target("f16c"))) float hw_to_f32(uint16_t h) { return _cvtsh_ss(h); }
__attribute__((target("f16c"))) uint16_t hw_to_f16(float f) {
    return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
// The library's AVX2 path requires F16C (and the OS's AVX state), so its acceptance says the
// instructions run here; GCC 10 (the portable build's) has no __builtin_cpu_supports("f16c").
bool hw_available() {
    const bool ok = ha_set_cpu_isa(HA_CPU_ISA_AVX2) == HA_OK;
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);  // as every test leaves it
    return ok;
}
#elif defined(__aarch64__)
float hw_to_f32(uint16_t h) {
    __fp16 x;
    std::memcpy(&x, &h, 2);
    return float(x);
}
uint16_t hw_to_f16(float f) {
    const __fp16 x = __fp16(f);  // fcvt: round to nearest even (FPCR default)
    uint16_t h;
    std::memcpy(&h, &x, 2);
    return h;
}
bool hw_available() { return true; }
#else
float hw_to_f32(uint16_t) { return 0; }
uint16_t hw_to_f16(float) { return 0; }
bool hw_available() { return false; }
#endif

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
bool same_f16(uint16_t a, uint16_t b) {
    // NaN payloads may differ between implementations; both must be NaN of the same sign.
    const bool na = (a & 0x7c00u) == 0x7c00u && (a & 0x3ffu), nb = (b & 0x7c00u) == 0x7c00u && (b & 0x3ffu);
    if (na || nb) return na && nb && (a & 0x8000u) == (b & 0x8000u);
    return a == b;
}

}  // namespace

TEST(f16_scalar_conversion_matches_hardware) {
    if (!hw_available()) {
        skip_case("f16 conversions vs hardware", "no F16C on this CPU");
        return;
    }
    begin_case("f16 -> f32: all 65536 encodings (subnormals, ±inf, NaN)");
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float a = ha::f16_bits_to_f32(uint16_t(h)), b = hw_to_f32(uint16_t(h));
        const bool ok = std::isnan(a) ? std::isnan(b) && std::signbit(a) == std::signbit(b)
                                      : bits(a) == bits(b);
        if (!ok && bad++ < 5) CHECK(ok, "h=0x%04x: %a vs hardware %a", h, double(a), double(b));
    }
    CHECK(bad == 0, "%d encodings differ", bad);
    end_case();

    begin_case("f32 -> f16 (nearest even): every fp16 value, the midpoints and their neighbours");
    bad = 0;
    auto check = [&](float f) {
        const uint16_t a = ha::f32_to_f16_bits(f), b = hw_to_f16(f);
        if (!same_f16(a, b) && bad++ < 5)
            CHECK(false, "f=%a (0x%08x): 0x%04x vs hardware 0x%04x", double(f), bits(f), a, b);
    };
    for (uint32_t h = 0; h < 0x7c00u; ++h) {
        for (uint32_t s : {0u, 0x8000u}) {
            const float lo = ha::f16_bits_to_f32(uint16_t(h | s));
            const float hi = ha::f16_bits_to_f32(uint16_t((h + 1) | s));  // 0x7c00: inf
            const double mid = (double(lo) + double(hi)) / 2;  // exact in fp32 (except near inf)
            const float m = float(mid);
            for (float f : {lo, m, std::nextafter(m, 0.f), std::nextafter(m, INFINITY),
                            std::nextafter(m, -INFINITY), std::nextafter(lo, INFINITY),
                            std::nextafter(lo, -INFINITY)})
                check(f);
        }
    }
    // Ranges the loop above does not reach: fp32 subnormals, tiny normals, huge values, ±inf,
    // NaNs, and random bit patterns.
    for (uint32_t u : {0x00000001u, 0x007fffffu, 0x00800000u, 0x33000000u, 0x33000001u,
                       0x32ffffffu, 0x337fffffu, 0x33800000u, 0x477fefffu, 0x477ff000u,
                       0x477ff001u, 0x47800000u, 0x7f7fffffu, 0x7f800000u, 0x7fc00000u,
                       0x7f800001u, 0x7fbfffffu})
        for (uint32_t s : {0u, 0x80000000u}) check(from_bits(u | s));
    std::mt19937_64 g(12345);
    for (int i = 0; i < 2000000; ++i) check(from_bits(uint32_t(g())));
    CHECK(bad == 0, "%d values differ", bad);
    end_case();
}

// fp16's range on every path: elements up to 65504 and down to the subnormal 2^-24 are exact
// inputs; scores are fp32 (65504² · D would overflow fp16 but not fp32), so a prefill and a
// decode (in place on AVX2 / AVX-512) over such inputs match the float64 reference, and an
// output equal to 65504 stays finite (only |o| >= 65520 would round to inf).
TEST(f16_extreme_values_on_every_isa) {
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int64_t nq : {1, 40}) {
            const int64_t H = 4, Hkv = 2, nk = 300, D = 64;
            begin_case(format("[%s] f16 extremes nq=%lld", isa_name(isa), (long long)nq));
            HostTensor q = make_tensor(HA_DTYPE_F16, 1, H, nq, D, BSHD);
            HostTensor k = make_tensor(HA_DTYPE_F16, 1, Hkv, nk, D, BHSD);
            HostTensor v = make_tensor(HA_DTYPE_F16, 1, Hkv, nk, D, BSHD);
            HostTensor out = make_tensor(HA_DTYPE_F16, 1, H, nq, D, PADDED);
            HostTensor lse = make_lse(1, H, nq, true);
            std::uniform_int_distribution<int> pick(0, 5);
            auto& g = rng();
            for (int64_t h = 0; h < Hkv; ++h)
                for (int64_t j = 0; j < nk; ++j)
                    for (int64_t d = 0; d < D; ++d) {
                        // Keys: mostly subnormal or tiny, a few huge; values: ±65504 or subnormal.
                        const int c = pick(g);
                        k.set(0, h, j, d, c == 0 ? 65504.f : c == 1 ? -0x1p-24f : c == 2 ? 0x1p-20f : 1e-3f * float(c));
                        v.set(0, h, j, d, c < 3 ? (d % 2 ? 65504.f : -65504.f) : 0x1p-24f * float(c));
                    }
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < nq; ++i)
                    for (int64_t d = 0; d < D; ++d) q.set(0, h, i, d, pick(g) == 0 ? 60000.f : 1e-4f);
            out.poison();
            lse.poison();
            ha_exact_params p;
            ha_exact_params_init(&p);
            p.scale = 1e-9f;  // scores up to ~1e-9 · 64 · 65504 · 60000: finite, not saturating
            ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
            const int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &p);
            CHECK(st == HA_OK, "%s", ha_last_error());
            const RefResult ref = reference_attention(q, k, v, 1e-9, false);
            compare_output(out, ref, out_tolerance(HA_DTYPE_F16, max_abs(v)), &lse,
                           lse_tolerance(HA_DTYPE_F16));
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < nq; ++i)
                    for (int64_t d = 0; d < D; ++d)
                        if (!std::isfinite(out.get(0, h, i, d))) {
                            CHECK(false, "h=%lld i=%lld d=%lld not finite", (long long)h, (long long)i,
                                  (long long)d);
                            h = H;
                            i = nq;
                            break;
                        }
            end_case();

            begin_case(format("[%s] f16 output 65504 stays finite nq=%lld", isa_name(isa), (long long)nq));
            HostTensor v2 = make_tensor(HA_DTYPE_F16, 1, Hkv, nk, D, BHSD);
            for (int64_t h = 0; h < Hkv; ++h)
                for (int64_t j = 0; j < nk; ++j)
                    for (int64_t d = 0; d < D; ++d) v2.set(0, h, j, d, d % 2 ? 65504.f : -65504.f);
            out.poison();
            ha_tensor tv2 = v2.desc();
            CHECK(ha_attention_exact(&tq, &tk, &tv2, &to, nullptr, &p) == HA_OK, "%s", ha_last_error());
            int bad = 0;
            for (int64_t h = 0; h < H; ++h)
                for (int64_t i = 0; i < nq; ++i)
                    for (int64_t d = 0; d < D; ++d)
                        bad += out.get(0, h, i, d) != (d % 2 ? 65504.f : -65504.f);
            CHECK(bad == 0, "%d outputs differ from ±65504", bad);
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}
