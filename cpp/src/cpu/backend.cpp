// Entry points of the CPU backend: forward to the active instruction-set path, and make sure
// nothing thrown inside crosses back into the API layer.
#include <new>

#include "cpu/cpu_backend.h"
#include "cpu/huge_alloc.h"
#include "cpu/kernels.h"
#include "error.h"
#include "hyperattn.h"

namespace ha::cpu {

template <class F>
static int32_t no_throw(const char* what, F&& f) noexcept {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return fail(HA_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    } catch (...) {
        return fail(HA_ERR_INTERNAL, "%s: unexpected exception in the CPU backend", what);
    }
}

int32_t exact_forward(const ExactProblem& p) {
    return no_throw("attention", [&] {
        int32_t st = active_kernels().exact_forward(p);
        if (st == HA_ERR_OUT_OF_MEMORY) return fail(st, "attention: out of memory");
        if (st != HA_OK) return fail(st, "attention: internal error in the CPU kernel");
        return st;
    });
}

int32_t exact_pack(const ExactProblem& p, PackedKV& out) {
    return no_throw("attention", [&] {
        int32_t st = active_kernels().exact_pack(p, out);
        if (st == HA_ERR_OUT_OF_MEMORY) return fail(st, "attention: out of memory");
        if (st != HA_OK) return fail(st, "attention: internal error in the CPU kernel");
        return st;
    });
}

PackedKV::~PackedKV() { big_free(data, bytes); }

void* PackedKV::reserve(size_t b) {
    if (b > bytes) {
        big_free(data, bytes);
        data = nullptr;
        bytes = 0;
        data = big_alloc(b);
        bytes = b;
    }
    owner = nullptr;
    return data;
}

int32_t merge(const MergeProblem& p) {
    return no_throw("merge", [&] {
        int32_t st = active_kernels().merge(p);
        if (st == HA_ERR_OUT_OF_MEMORY) return fail(st, "merge: out of memory");
        if (st != HA_OK) return fail(st, "merge: internal error in the CPU kernel");
        return st;
    });
}

}  // namespace ha::cpu
