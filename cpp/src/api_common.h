// Helpers shared by the API translation units (api*.cpp): exception guard, view conversion,
// and small checks. Header-only so each entry-point file stays self-contained.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <exception>
#include <initializer_list>
#include <new>
#include <utility>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/thread_pool.h"
#include "error.h"
#include "hyperattn.h"
#include "tensor_check.h"
#ifdef HA_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

#define HA_TRY(expr)                   \
    do {                                      \
        int32_t ha_st_ = (expr);              \
        if (ha_st_ != HA_OK) return ha_st_;   \
    } while (0)

namespace ha::api {

// Runs an entry point's body; nothing thrown inside escapes the C ABI.
template <class F>
int32_t guarded(F&& body) noexcept {
    try {
        ha::clear_error();
        return body();
    } catch (const std::bad_alloc&) {
        return fail(HA_ERR_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        return fail(HA_ERR_INTERNAL, "internal error: %s", e.what());
    } catch (...) {
        return fail(HA_ERR_INTERNAL, "internal error: unknown exception");
    }
}

inline ha::cpu::View view_of(const ha_tensor* t) {
    ha::cpu::View v{};
    v.data = t->data;
    for (int i = 0; i < 4; ++i) {
        v.shape[i] = t->shape[i];
        v.strides[i] = t->strides[i];
    }
    return v;
}

inline void lse_strides(const ha_tensor* t, int64_t out[3]) {
    for (int i = 0; i < 3; ++i) out[i] = t ? t->strides[i] : 0;
}

inline int32_t check_backend_dtype(const char* name, const ha_tensor* t) {
    if (t->dtype == HA_DTYPE_F32 || t->dtype == HA_DTYPE_BF16 || t->dtype == HA_DTYPE_F16)
        return HA_OK;
    return fail(HA_ERR_UNSUPPORTED, "%s: dtype %s is not supported on the CPU (f32, bf16, f16)", name,
                ha::dtype_name(t->dtype));
}

inline int32_t check_disjoint(const char* out_name, const ha::Span& out, const char* in_name,
                              const ha::Span& in) {
    if (out.overlaps(in))
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: memory overlaps input %s", out_name, in_name);
    return HA_OK;
}

// params.scale of every attention operation: finite and >= 0, where 0 asks for 1/sqrt(D).
inline int32_t check_scale(float scale) {
    if (std::isfinite(scale) && scale >= 0.0f) return HA_OK;
    return fail(HA_ERR_INVALID_ARGUMENT,
                "params.scale: must be finite and > 0 (or 0 for 1/sqrt(head_dim)), got %g",
                static_cast<double>(scale));
}
inline float resolve_scale(float scale, int64_t head_dim) {
    return scale != 0.0f ? scale : static_cast<float>(1.0 / std::sqrt(double(head_dim)));
}

// The CPU exact problem over validated operands (also the base of HyperAttention's).
inline ha::cpu::ExactProblem cpu_exact_problem(const ha_tensor* q, const ha_tensor* k,
                                               const ha_tensor* v, const ha_tensor* out,
                                               const ha_tensor* lse, float scale, bool causal) {
    ha::cpu::ExactProblem prob{};
    prob.dtype = q->dtype;
    prob.q = view_of(q);
    prob.k = view_of(k);
    prob.v = view_of(v);
    prob.out = view_of(out);
    prob.lse = lse ? static_cast<float*>(lse->data) : nullptr;
    lse_strides(lse, prob.lse_strides);
    prob.scale = scale;
    prob.causal = causal;
    return prob;
}

// ha_exact_params beyond the operands: scale, causal, window, soft cap, reserved (both
// backends honour all of them).
inline int32_t check_exact_params(const ha_exact_params* p) {
    HA_TRY(check_scale(p->scale));
    if (p->causal != 0 && p->causal != 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.causal: must be 0 or 1, got %d", p->causal);
    if (p->window_left < -1)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "params.window_left: must be >= 0, or -1 for unbounded, got %d",
                    p->window_left);
    if (p->window_right < -1)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "params.window_right: must be >= 0, or -1 for unbounded, got %d",
                    p->window_right);
    if (!(std::isfinite(p->softcap) && p->softcap >= 0.0f))
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "params.softcap: must be finite and >= 0 (0 = off), got %g",
                    static_cast<double>(p->softcap));
    if (p->reserved != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.reserved: must be 0, got %d", p->reserved);
    return HA_OK;
}

// Exact attention and merge run where their operands live: the CPU backend (f32, bf16, f16) or the
// CUDA backend (f16, bf16).
inline int32_t check_dtype_for_device(const char* name, const ha_tensor* t) {
    if (t->device_type != HA_DEVICE_CUDA) return check_backend_dtype(name, t);
    if (t->dtype == HA_DTYPE_F16 || t->dtype == HA_DTYPE_BF16) return HA_OK;
    return fail(HA_ERR_UNSUPPORTED, "%s: dtype %s is not supported on CUDA (f16, bf16)", name,
                ha::dtype_name(t->dtype));
}

#ifdef HA_HAVE_CUDA
inline ha::cuda::View cuda_view(const ha_tensor* t) {
    ha::cuda::View v{};
    v.data = t->data;
    for (int i = 0; i < 4; ++i) {
        v.shape[i] = t->shape[i];
        v.strides[i] = t->strides[i];
    }
    return v;
}

// The CUDA kernels index sequences with 32-bit integers.
inline int32_t check_cuda_seq(const char* name, int64_t n) {
    if (n > (int64_t(1) << 30))
        return fail(HA_ERR_UNSUPPORTED, "%s: seq %lld exceeds 2^30, the CUDA backend's limit",
                    name, static_cast<long long>(n));
    return HA_OK;
}

// The CUDA problem of validated operands and parameters (scale resolved).
inline ha::cuda::ExactProblem cuda_exact_problem(const ha_tensor* q, const ha_tensor* k,
                                                 const ha_tensor* v, const ha_tensor* out,
                                                 const ha_tensor* lse, float scale,
                                                 const ha_exact_params* p) {
    ha::cuda::ExactProblem cp{};
    cp.dtype = q->dtype;
    cp.device = q->device_id;
    cp.q = cuda_view(q);
    cp.k = cuda_view(k);
    cp.v = cuda_view(v);
    cp.out = cuda_view(out);
    cp.lse = lse ? static_cast<float*>(lse->data) : nullptr;
    lse_strides(lse, cp.lse_strides);
    cp.scale = scale;
    cp.causal = p->causal != 0;
    cp.window_left = p->window_left;
    cp.window_right = p->window_right;
    cp.softcap = p->softcap;
    cp.stream = p->stream;
    return cp;
}
#endif
inline void set_mask_and_cap(ha::cpu::ExactProblem* prob, const ha_exact_params* p) {
    prob->window_left = p->window_left;
    prob->window_right = p->window_right;
    prob->softcap = p->softcap;
}

// ABI 5's trailing addresses (hyperattn.h): each must be the one its struct carries.
struct DataArg {
    const char* name;
    const void* in_struct;
    const void* arg;
};
inline const void* data_of(const ha_tensor* t) { return t ? t->data : nullptr; }
inline int32_t check_data_args(std::initializer_list<DataArg> args) {
    for (const DataArg& a : args)
        if (a.in_struct != a.arg)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "%s_data: %p differs from the address %p in %s (each address is passed "
                        "twice, in the struct and as a trailing argument)",
                        a.name, a.arg, a.in_struct, a.name);
    return HA_OK;
}

// Whether every element of a CPU tensor (f32, bf16 or f16) is finite: rows in parallel, each a
// branch-free loop over the exponent bits (vectorised for unit-stride rows).
// Whether row r (of B*H*S) of t holds a non-finite element (the exponent field all ones:
// ±inf or NaN, in t's dtype).
inline bool row_nonfinite(const ha_tensor* t, int64_t r) {
    const int64_t H = t->shape[1], S = t->shape[2], D = t->shape[3];
    const int64_t b = r / (H * S), h = (r / S) % H, s = r % S;
    const int64_t off = b * t->strides[0] + h * t->strides[1] + s * t->strides[2];
    const int64_t sd = t->strides[3];
    uint32_t hit = 0;
    if (t->dtype != HA_DTYPE_F32) {
        const uint16_t emask = t->dtype == HA_DTYPE_BF16 ? 0x7f80u : 0x7c00u;
        const uint16_t* x = static_cast<const uint16_t*>(t->data) + off;
        if (sd == 1)
            for (int64_t d = 0; d < D; ++d) hit |= uint32_t((x[d] & emask) == emask);
        else
            for (int64_t d = 0; d < D; ++d) hit |= uint32_t((x[d * sd] & emask) == emask);
    } else {
        const uint32_t* x = static_cast<const uint32_t*>(t->data) + off;
        if (sd == 1)
            for (int64_t d = 0; d < D; ++d) hit |= uint32_t((x[d] & 0x7f800000u) == 0x7f800000u);
        else
            for (int64_t d = 0; d < D; ++d) hit |= uint32_t((x[d * sd] & 0x7f800000u) == 0x7f800000u);
    }
    return hit != 0;
}

constexpr int64_t kScanRowsPerTask = 256;

inline bool all_finite(const ha_tensor* t) {
    const int64_t rows = t->shape[0] * t->shape[1] * t->shape[2];
    if (rows <= 0 || t->shape[3] <= 0) return true;
    std::atomic<bool> bad{false};
    ha::cpu::parallel_for((rows + kScanRowsPerTask - 1) / kScanRowsPerTask, ha::cpu::pool_threads(),
                          [&](int64_t task, int) {
        bool hit = false;
        for (int64_t r = task * kScanRowsPerTask; r < std::min(rows, (task + 1) * kScanRowsPerTask) && !hit; ++r)
            hit = row_nonfinite(t, r);
        if (hit) bad.store(true, std::memory_order_relaxed);
    });
    return !bad.load();
}

// Rows of out holding a non-finite value get +inf in a and b (the per-row estimate arrays,
// either may be null); with set_others, the other rows get `exact`. Rows in parallel (a
// serial pass over a long output was 1% of a HyperAttention call).
inline void mark_nonfinite_rows(const ha_tensor* out, float* a, float* b, bool set_others,
                                float exact = 0.f) {
    if (!a && !b) return;
    const int64_t rows = out->shape[0] * out->shape[1] * out->shape[2];
    if (rows <= 0) return;
    ha::cpu::parallel_for((rows + kScanRowsPerTask - 1) / kScanRowsPerTask, ha::cpu::pool_threads(),
                          [&](int64_t task, int) {
        for (int64_t r = task * kScanRowsPerTask; r < std::min(rows, (task + 1) * kScanRowsPerTask); ++r) {
            if (row_nonfinite(out, r)) {
                if (a) a[r] = INFINITY;
                if (b) b[r] = INFINITY;
            } else if (set_others) {
                if (a) a[r] = exact;
                if (b) b[r] = exact;
            }
        }
    });
}

// Where an operation's operands may live: the CPU only (HyperAttention, HSR) or any device,
// all operands on one (exact attention).
enum class Placement { CpuOnly, AnyDevice };
using DtypeCheck = int32_t (*)(const char* name, const ha_tensor* t);

// q, k, v, out and the optional lse of an attention call: structure, one device, one dtype
// (whose support check_dtype decides), agreeing shapes, GQA divisibility, head_dim 1..256, and
// outputs that overlap neither each other nor any input. Defined in api_operands.cpp.
int32_t check_attention_operands(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                 const ha_tensor* out, const ha_tensor* lse, Placement where,
                                 DtypeCheck check_dtype);
// The part of those checks that does not involve the batch (shared with batches of sequences,
// whose q, k and out batch extents mean other things): heads, GQA divisibility, head_dim, v
// shaped as k, out as q, out overlapping nothing. Defined in api_operands.cpp.
int32_t check_heads_and_output(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                               const ha_tensor* out, const ha::Span& sq, const ha::Span& sk,
                               const ha::Span& sv, const ha::Span& so);
// v has k's shape, out has q's, and out overlaps neither itself nor an input.
int32_t check_value_and_output(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                               const ha_tensor* out, const ha::Span& sq, const ha::Span& sk,
                               const ha::Span& sv, const ha::Span& so);

// The index was built over a tensor with t's data address and strides (what: "keys"/"values").
int32_t check_same_layout(const char* name, const ha_tensor* t, const void* data,
                          const int64_t* strides, const char* what);
// The index describes exactly this k (address, strides, shape, dtype, key count) and, when
// check_v and the index was built with values, this v. Defined in api_index_checks.cpp.
int32_t check_index_for(const ha_key_index* x, const ha_tensor* k, const ha_tensor* v,
                        bool check_v);
// An optional per-row output array of n elements of es bytes: aligned, disjoint from others.
int32_t check_stats_array(const char* name, const void* p, int64_t n, int64_t es,
                          const std::vector<std::pair<const char*, ha::Span>>& others);

}  // namespace ha::api
