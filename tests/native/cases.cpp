#include "cases.h"

#include <string>

namespace hat {

const char* layout_name(int layout) {
    switch (layout) {
        case BHSD: return "bhsd";
        case BSHD: return "bshd";
        case PADDED: return "padded";
        default: return "dmajor";
    }
}

HostTensor make_tensor(int32_t dtype, int64_t b, int64_t h, int64_t s, int64_t d, int layout) {
    static const int kBhsd[4] = {0, 1, 2, 3}, kBshd[4] = {0, 2, 1, 3}, kDmajor[4] = {0, 1, 3, 2};
    switch (layout) {
        case BHSD: return HostTensor::dense(dtype, b, h, s, d, kBhsd);
        case BSHD: return HostTensor::dense(dtype, b, h, s, d, kBshd);
        case DMAJOR: return HostTensor::dense(dtype, b, h, s, d, kDmajor);
        default: {
            const int64_t shape[4] = {b, h, s, d};
            const int64_t row = d + 3, head = s * row + 7, batch = h * head + 11;
            const int64_t strides[4] = {batch, head, row, 1};
            return HostTensor::make(dtype, shape, strides);
        }
    }
}

HostTensor make_lse(int64_t b, int64_t h, int64_t s, bool padded) {
    const int64_t shape[4] = {b, h, s, 1};
    const int64_t g = padded ? 2 : 1;
    const int64_t head = s * g + (padded ? 3 : 0);
    const int64_t strides[4] = {h * head + (padded ? 5 : 0), head, g, 1};
    return HostTensor::make(HA_DTYPE_F32, shape, strides);
}

std::string describe(const Problem& p, int32_t dtype, int layout) {
    return format("B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s %s scale=%g layout=%s",
                  (long long)p.B, (long long)p.Hq, (long long)p.Hkv, (long long)p.Nq,
                  (long long)p.Nk, (long long)p.D, p.causal ? "causal" : "full",
                  dtype_str(dtype), double(p.scale), layout_name(layout));
}

double out_tolerance(int32_t dtype, double max_abs_v) {
    if (dtype == HA_DTYPE_F32) return 5e-5 * std::max(1.0, max_abs_v);
    if (dtype == HA_DTYPE_F16) return std::ldexp(1.0, -10) * std::max(1.0, max_abs_v);
    return std::ldexp(1.0, -6) * std::max(1.0, max_abs_v);
}

double lse_tolerance(int32_t dtype) { return dtype == HA_DTYPE_BF16 ? 4e-3 : 1e-4; }

double max_abs(const HostTensor& t) {
    double m = 0;
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d)
                    m = std::max(m, std::fabs(double(t.get(b, h, s, d))));
    return m;
}

std::vector<int32_t> arch_isas() {
#if defined(__aarch64__)
    return {HA_CPU_ISA_GENERIC, HA_CPU_ISA_NEON};
#else
    return {HA_CPU_ISA_GENERIC, HA_CPU_ISA_AVX2, HA_CPU_ISA_AVX512};
#endif
}

bool cuda_backend_built() {
    int32_t n = 0;
    ha_cuda_device_count(&n);
    return std::string(ha_last_error()).find("this build has no CUDA backend") == std::string::npos;
}

std::vector<int32_t> supported_isas() {
    std::vector<int32_t> out;
    for (int32_t isa : arch_isas())
        if (ha_set_cpu_isa(isa) == HA_OK) out.push_back(isa);
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
    return out;
}

const char* isa_name(int32_t isa) {
    switch (isa) {
        case HA_CPU_ISA_GENERIC: return "generic";
        case HA_CPU_ISA_AVX2: return "avx2";
        case HA_CPU_ISA_AVX512: return "avx512";
        case HA_CPU_ISA_NEON: return "neon";
        default: return "auto";
    }
}

}  // namespace hat
