// The generic path, baseline flags (HA_FLAGS_GENERIC): SSE2 on x86-64 (isa::Sse), portable
// vector extensions elsewhere (isa::Portable).
#if defined(__x86_64__)
#include "cpu/isa/isa_sse.h"
#else
#include "cpu/isa/isa_portable.h"
#endif
#include "cpu/kern/table.h"

namespace ha::cpu::generic {
const Kernels& kernels() {
#if defined(__x86_64__)
    static const Kernels k = kern::make_table<isa::Sse>();
#else
    static const Kernels k = kern::make_table<isa::Portable>();
#endif
    return k;
}
}  // namespace ha::cpu::generic
