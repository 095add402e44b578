// The kernel table: one per instruction set, built by kernels_<isa>.cpp from the templated
// kernels of cpu/kern/ instantiated on that ISA's traits type (cpu/isa/). Those templates and
// their helpers have internal linkage, so nothing compiled with wider -m flags is a symbol the
// linker could hand to a narrower path (ODR; check_isa_objects.cmake checks it).
#pragma once
#include <cstdint>

#include "cpu/cpu_backend.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hyper/hyper_kernels.h"

namespace ha::cpu {

// Everything exact attention, merge, HyperAttention and HSR (with approximate attention on top
// of it) call per ISA. The hyper and hsr sections are declared beside their job types.
struct Kernels {
    int32_t (*exact_forward)(const ExactProblem& p);
    int32_t (*exact_pack)(const ExactProblem& p, PackedKV& out);
    int32_t (*merge)(const MergeProblem& p);
    hyper::Kernels hyper;
    hsr::Kernels hsr;
};

namespace generic { const Kernels& kernels(); }
#if defined(__x86_64__)
namespace avx2 { const Kernels& kernels(); }
namespace avx512 { const Kernels& kernels(); }
#elif defined(__aarch64__)
namespace neon { const Kernels& kernels(); }
#endif

// The table for the path chosen by set_isa (or the best one the CPU supports).
const Kernels& active_kernels();

}  // namespace ha::cpu
