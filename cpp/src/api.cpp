// The C ABI entry points: every argument is validated here, once, before a backend runs.
// Backends may then assume well-formed views. Nothing thrown inside escapes (guarded()).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <new>

#include "api_common.h"
#include "cpu/huge_alloc.h"

namespace {

using ha::fail;
using namespace ha::api;

int32_t exact_impl(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                   const ha_tensor* out, const ha_tensor* lse, const ha_exact_params* params) {
    HA_TRY(check_attention_operands(q, k, v, out, lse, Placement::AnyDevice,
                                    check_dtype_for_device));
    const bool on_cuda = q->device_type == HA_DEVICE_CUDA;
    const int64_t Nq = q->shape[2], D = q->shape[3];

    ha_exact_params defaults;
    ha_exact_params_init(&defaults);
    const ha_exact_params* p = params ? params : &defaults;
    HA_TRY(check_exact_params(p));
    const float scale = resolve_scale(p->scale, D);

    if (on_cuda) {
#ifdef HA_HAVE_CUDA
        HA_TRY(check_cuda_seq("q", Nq));
        HA_TRY(check_cuda_seq("k", k->shape[2]));
        if (q->shape[0] * std::max(q->shape[1], k->shape[1]) > (int64_t(1) << 30))
            return fail(HA_ERR_UNSUPPORTED,
                        "q: batch x heads exceeds 2^30, the CUDA backend's limit");
        return ha::cuda::exact_forward(cuda_exact_problem(q, k, v, out, lse, scale, p));
#else
        return fail(HA_ERR_INTERNAL, "q: CUDA tensor reached a build without CUDA");
#endif
    }
    if (p->stream)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.stream: must be NULL for CPU tensors");

    if (Nq == 0) return HA_OK;
    ha::cpu::ExactProblem prob = cpu_exact_problem(q, k, v, out, lse, scale, p->causal != 0);
    set_mask_and_cap(&prob, p);
    return ha::cpu::exact_forward(prob);
}

// In-place merging is allowed only onto exactly the same view; any other overlap is an error.
int32_t check_merge_alias(const char* out_name, const ha_tensor* out, const ha::Span& so,
                          const char* in_name, const ha_tensor* in, const ha::Span& si) {
    if (ha::same_view(out, in)) return HA_OK;
    if (so.overlaps(si))
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: overlaps %s without being the same view (in-place merging must pass the "
                    "identical tensor)",
                    out_name, in_name);
    return HA_OK;
}

int32_t merge_impl(const ha_tensor* out_a, const ha_tensor* lse_a, const ha_tensor* out_b,
                   const ha_tensor* lse_b, const ha_tensor* out, const ha_tensor* lse,
                   void* stream) {
    ha::Span sa, sb, so, sla, slb, sl;
    HA_TRY(ha::check_tensor_any_device("out_a", out_a, &sa));
    HA_TRY(ha::check_tensor_any_device("out_b", out_b, &sb));
    HA_TRY(ha::check_tensor_any_device("out", out, &so));
    HA_TRY(ha::check_same_device("out_b", out_b, "out_a", out_a));
    HA_TRY(ha::check_same_device("out", out, "out_a", out_a));
    const bool on_cuda = out_a->device_type == HA_DEVICE_CUDA;
    if (stream && !on_cuda)
        return fail(HA_ERR_INVALID_ARGUMENT, "stream: must be NULL for CPU tensors");
    for (auto [name, t] : {std::pair{"out_b", out_b}, {"out", out}})
        if (t->dtype != out_a->dtype)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: dtype %s differs from out_a's %s", name,
                        ha::dtype_name(t->dtype), ha::dtype_name(out_a->dtype));
    HA_TRY(check_dtype_for_device("out_a", out_a));
    HA_TRY(ha::check_same_shape("out_b", out_b, "out_a", out_a));
    HA_TRY(ha::check_same_shape("out", out, "out_a", out_a));
    const int64_t B = out_a->shape[0], H = out_a->shape[1], N = out_a->shape[2];
    HA_TRY(ha::check_lse_any_device("lse_a", lse_a, B, H, N, &sla));
    HA_TRY(ha::check_same_device("lse_a", lse_a, "out_a", out_a));
    HA_TRY(ha::check_lse_any_device("lse_b", lse_b, B, H, N, &slb));
    HA_TRY(ha::check_same_device("lse_b", lse_b, "out_a", out_a));
    HA_TRY(ha::check_no_self_overlap("out", out));
    HA_TRY(check_merge_alias("out", out, so, "out_a", out_a, sa));
    HA_TRY(check_merge_alias("out", out, so, "out_b", out_b, sb));
    HA_TRY(check_disjoint("out", so, "lse_a", sla));
    HA_TRY(check_disjoint("out", so, "lse_b", slb));
    if (lse) {
        HA_TRY(ha::check_lse_any_device("lse", lse, B, H, N, &sl));
        HA_TRY(ha::check_same_device("lse", lse, "out_a", out_a));
        HA_TRY(ha::check_no_self_overlap("lse", lse));
        HA_TRY(check_merge_alias("lse", lse, sl, "lse_a", lse_a, sla));
        HA_TRY(check_merge_alias("lse", lse, sl, "lse_b", lse_b, slb));
        HA_TRY(check_disjoint("lse", sl, "out_a", sa));
        HA_TRY(check_disjoint("lse", sl, "out_b", sb));
        HA_TRY(check_disjoint("lse", sl, "out", so));
    }
    if (on_cuda) {
#ifdef HA_HAVE_CUDA
        ha::cuda::MergeProblem mp{};
        mp.dtype = out_a->dtype;
        mp.device = out_a->device_id;
        mp.out_a = cuda_view(out_a);
        mp.out_b = cuda_view(out_b);
        mp.out = cuda_view(out);
        mp.lse_a = static_cast<const float*>(lse_a->data);
        lse_strides(lse_a, mp.lse_a_strides);
        mp.lse_b = static_cast<const float*>(lse_b->data);
        lse_strides(lse_b, mp.lse_b_strides);
        mp.lse = lse ? static_cast<float*>(lse->data) : nullptr;
        lse_strides(lse, mp.lse_strides);
        mp.stream = stream;
        return ha::cuda::merge(mp);
#else
        return fail(HA_ERR_INTERNAL, "out_a: CUDA tensor reached a build without CUDA");
#endif
    }
    if (so.empty()) return HA_OK;

    ha::cpu::MergeProblem prob{};
    prob.dtype = out_a->dtype;
    prob.out_a = view_of(out_a);
    prob.out_b = view_of(out_b);
    prob.out = view_of(out);
    prob.lse_a = static_cast<const float*>(lse_a->data);
    lse_strides(lse_a, prob.lse_a_strides);
    prob.lse_b = static_cast<const float*>(lse_b->data);
    lse_strides(lse_b, prob.lse_b_strides);
    prob.lse = lse ? static_cast<float*>(lse->data) : nullptr;
    lse_strides(lse, prob.lse_strides);
    return ha::cpu::merge(prob);
}

}  // namespace

extern "C" {

HA_API int32_t ha_abi_version(void) { return HA_ABI_VERSION; }

HA_API const char* ha_version_string(void) { return HA_VERSION_STRING; }

HA_API const char* ha_last_error(void) { return ha::last_error(); }

HA_API int32_t ha_set_num_threads(int32_t n) {
    return guarded([&] {
        if (n < 0 || n > 1024)
            return fail(HA_ERR_INVALID_ARGUMENT, "n: thread count must be in 0..1024, got %d", n);
        return ha::cpu::set_num_threads(n);
    });
}

HA_API int32_t ha_get_num_threads(void) { return ha::cpu::get_num_threads(); }

HA_API int32_t ha_set_buffer_cache_limit(int64_t bytes) {
    return guarded([&] {
        if (bytes < 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "bytes: buffer cache limit must be >= 0, got %lld",
                        (long long)bytes);
        ha::cpu::set_huge_cache_limit(size_t(bytes));
        return int32_t(HA_OK);
    });
}

HA_API int64_t ha_get_buffer_cache_limit(void) { return int64_t(ha::cpu::huge_cache_limit()); }

HA_API int32_t ha_set_cpu_isa(int32_t isa) {
    return guarded([&] {
        if (isa < HA_CPU_ISA_AUTO || isa > HA_CPU_ISA_NEON)
            return fail(HA_ERR_INVALID_ARGUMENT, "isa: unknown HA_CPU_ISA value %d", isa);
        return ha::cpu::set_isa(isa);
    });
}

HA_API int32_t ha_get_cpu_isa(void) { return ha::cpu::get_isa(); }

HA_API void ha_exact_params_init(ha_exact_params* params) {
    if (!params) return;
    params->scale = 0.0f;
    params->causal = 0;
    params->stream = nullptr;
    params->window_left = -1;
    params->window_right = -1;
    params->softcap = 0.0f;
    params->reserved = 0;
}

HA_API int32_t ha_attention_exact(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_exact_params* params, const void* q_data,
                                  const void* k_data, const void* v_data, void* out_data,
                                  void* lse_data) {
    return guarded([&] {
        HA_TRY(check_data_args({{"q", data_of(q), q_data}, {"k", data_of(k), k_data},
                                {"v", data_of(v), v_data}, {"out", data_of(out), out_data},
                                {"lse", data_of(lse), lse_data}}));
        return exact_impl(q, k, v, out, lse, params);
    });
}

HA_API int32_t ha_merge(const ha_tensor* out_a, const ha_tensor* lse_a, const ha_tensor* out_b,
                        const ha_tensor* lse_b, const ha_tensor* out, const ha_tensor* lse,
                        void* stream, const void* out_a_data, const void* lse_a_data,
                        const void* out_b_data, const void* lse_b_data, void* out_data,
                        void* lse_data) {
    return guarded([&] {
        HA_TRY(check_data_args({{"out_a", data_of(out_a), out_a_data},
                                {"lse_a", data_of(lse_a), lse_a_data},
                                {"out_b", data_of(out_b), out_b_data},
                                {"lse_b", data_of(lse_b), lse_b_data},
                                {"out", data_of(out), out_data}, {"lse", data_of(lse), lse_data}}));
        return merge_impl(out_a, lse_a, out_b, lse_b, out, lse, stream);
    });
}

}  // extern "C"
