// What the running CPU (and the OS, for the wider register state) supports.
#pragma once

namespace ha::cpu {

struct CpuFeatures {
    bool avx2_fma = false;     // AVX2 + FMA + F16C + OS-enabled YMM state
    bool avx512 = false;       // F/BW/DQ/VL + OS-enabled ZMM/opmask state
    bool avx512_bf16 = false;  // vdpbf16ps, on top of avx512
    bool neon = false;         // aarch64 Advanced SIMD (part of every aarch64 Linux ABI)
};

const CpuFeatures& cpu_features();  // detected once

}  // namespace ha::cpu
