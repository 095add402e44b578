// Helpers the benchmarks share: bf16 conversion of their inputs, and the machine line each
// prints beside its figures (CPU model, the ISA path the library chose).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "hyperattn.h"

namespace habench {

// Round to nearest even (finite inputs).
inline uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

inline float from_bf16(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline const char* isa_name(int32_t isa) {
    switch (isa) {
        case HA_CPU_ISA_GENERIC: return "generic";
        case HA_CPU_ISA_AVX2: return "avx2";
        case HA_CPU_ISA_AVX512: return "avx512";
        default: return "?";
    }
}

// lscpu's "Model name", else /proc/cpuinfo's, else "unknown".
inline std::string cpu_model() {
    std::string model;
    if (FILE* f = popen("lscpu 2>/dev/null", "r")) {
        char line[512];
        while (std::fgets(line, sizeof line, f))
            if (std::strncmp(line, "Model name:", 11) == 0) {
                model = line + 11;
                break;
            }
        pclose(f);
    }
    if (model.empty())
        if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
            char line[512];
            while (std::fgets(line, sizeof line, f))
                if (std::strncmp(line, "model name", 10) == 0) {
                    const char* c = std::strchr(line, ':');
                    model = c ? c + 1 : line;
                    break;
                }
            std::fclose(f);
        }
    const size_t a = model.find_first_not_of(" \t"), b = model.find_last_not_of(" \t\n");
    return a == std::string::npos ? std::string("unknown") : model.substr(a, b - a + 1);
}

}  // namespace habench
