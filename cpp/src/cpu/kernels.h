// The per-ISA implementations. kernels_impl.inc is compiled once per instruction set, each
// time inside its own namespace, so no inline function or template compiled with wider
// -m flags can be picked by the linker for a narrower path (ODR).
#pragma once
#include <cstdint>

#include "cpu/cpu_backend.h"

namespace ha::cpu {

struct Kernels {
    int32_t (*exact_forward)(const ExactProblem& p);
    int32_t (*merge)(const MergeProblem& p);
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
