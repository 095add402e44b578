// Entry points of HyperAttention: operands validated exactly as for ha_attention_exact, then
// the parameters of the approximation, each rejection naming its field.
#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "api_common.h"
#include "tensor_check.h"

namespace {

using ha::fail;
using namespace ha::api;

int32_t check_params(const ha_hyper_params* p) {
    HA_TRY(check_scale(p->scale));
    if (p->causal != 0 && p->causal != 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.causal: must be 0 or 1, got %d", p->causal);
    if (p->lsh_projections < 1 || p->lsh_projections > 16)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.lsh_projections: must be in 1..16, got %d",
                    p->lsh_projections);
    if (p->block_size < 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.block_size: must be >= 1, got %d",
                    p->block_size);
    if (p->sample_size < 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.sample_size: must be >= 1, got %d",
                    p->sample_size);
    if (p->min_seq_len < 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.min_seq_len: must be >= 1, got %d",
                    p->min_seq_len);
    return HA_OK;
}

int32_t hyper_impl(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                   const ha_tensor* out, const ha_tensor* lse, const ha_hyper_params* params,
                   ha_hyper_stats* stats) {
    HA_TRY(check_attention_operands(q, k, v, out, lse, Placement::AnyDevice,
                                    check_dtype_for_device));
    ha_hyper_params defaults;
    ha_hyper_params_init(&defaults);
    const ha_hyper_params* p = params ? params : &defaults;
    HA_TRY(check_params(p));
    if (q->device_type == HA_DEVICE_CUDA) {
#ifdef HA_HAVE_CUDA
        // The per-row error estimates exist on the CPU only: never report one not computed.
        if (stats && stats->row_error)
            return fail(HA_ERR_UNSUPPORTED,
                        "stats.row_error: the error estimates are computed by the CPU backend "
                        "only; pass NULL with CUDA tensors");
        HA_TRY(check_cuda_seq("q", q->shape[2]));
        HA_TRY(check_cuda_seq("k", k->shape[2]));
        if (q->shape[0] * std::max(q->shape[1], k->shape[1]) > (int64_t(1) << 30))
            return fail(HA_ERR_UNSUPPORTED,
                        "q: batch x heads exceeds 2^30, the CUDA backend's limit");
        ha::cuda::HyperProblem hp{};
        hp.base.dtype = q->dtype;
        hp.base.device = q->device_id;
        hp.base.q = cuda_view(q);
        hp.base.k = cuda_view(k);
        hp.base.v = cuda_view(v);
        hp.base.out = cuda_view(out);
        hp.base.lse = lse ? static_cast<float*>(lse->data) : nullptr;
        lse_strides(lse, hp.base.lse_strides);
        hp.base.scale = resolve_scale(p->scale, q->shape[3]);
        hp.base.causal = p->causal != 0;
        hp.base.stream = p->stream;
        hp.lsh_projections = p->lsh_projections;
        hp.block_size = p->block_size;
        hp.sample_size = p->sample_size;
        hp.min_seq_len = p->min_seq_len;
        hp.seed = p->seed;
        return ha::cuda::hyper_forward(hp);
#else
        return fail(HA_ERR_INTERNAL, "q: CUDA tensor reached a build without CUDA");
#endif
    }
    if (p->stream)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.stream: must be NULL for CPU tensors");

    // Sorting, sampling and the causal recursion index positions with int32.
    if (q->shape[2] > INT32_MAX || k->shape[2] > INT32_MAX)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: seq must be < 2^31 for HyperAttention, got %" PRId64,
                    q->shape[2] > INT32_MAX ? "q" : "k",
                    q->shape[2] > INT32_MAX ? q->shape[2] : k->shape[2]);
    if (stats && stats->row_error) {  // B*Hq*Nq floats, overlapping no operand
        const int64_t rows = q->shape[0] * q->shape[1] * q->shape[2];
        const uintptr_t a = reinterpret_cast<uintptr_t>(stats->row_error);
        if (a % 4 != 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "stats.row_error: not aligned to its element size 4");
        const ha::Span sr{a, a + uintptr_t(rows * 4)};
        const ha_tensor* ops[5] = {q, k, v, out, lse};
        static const char* const names[5] = {"q", "k", "v", "out", "lse"};
        for (int i = 0; i < 5; ++i) {
            if (!ops[i] || rows == 0) continue;
            ha::Span so;
            HA_TRY(ha::check_tensor(names[i], ops[i], &so));
            if (sr.overlaps(so))
                return fail(HA_ERR_INVALID_ARGUMENT, "stats.row_error: memory overlaps %s %s",
                            i < 3 ? "input" : "output", names[i]);
        }
    }

    if (q->shape[2] == 0) return HA_OK;
    ha::cpu::HyperProblem prob{};
    prob.base = cpu_exact_problem(q, k, v, out, lse, resolve_scale(p->scale, q->shape[3]),
                                  p->causal != 0);
    // Exact attention answers a short call (at or below min_seq_len keys) and, by the
    // non-finite policy (hyperattn.h: a NaN or +inf score makes its row NaN), a call with a
    // non-finite q or k element: an approximation computes only some scores, so its rows could
    // not follow the policy (O(n_q n_k): rare inputs only; a short call is not scanned). Its
    // estimates are 0, +inf on a row whose output is not finite.
    if (k->shape[2] <= p->min_seq_len || !all_finite(q) || !all_finite(k)) {
        HA_TRY(ha::cpu::exact_forward(prob.base));
        mark_nonfinite_rows(out, stats ? stats->row_error : nullptr, nullptr, true);
        return HA_OK;
    }
    prob.lsh_projections = p->lsh_projections;
    prob.block_size = p->block_size;
    prob.sample_size = p->sample_size;
    prob.min_seq_len = p->min_seq_len;
    prob.seed = p->seed;
    if (stats) prob.row_error = stats->row_error;
    // (The approximate path gives a non-finite output row its +inf estimate as it writes it.)
    return ha::cpu::hyper_forward(prob);
}

}  // namespace

extern "C" {

HA_API void ha_hyper_params_init(ha_hyper_params* params) {
    if (!params) return;
    params->scale = 0.0f;
    params->causal = 0;
    params->lsh_projections = 7;
    params->block_size = 256;
    params->sample_size = 256;
    params->min_seq_len = 4096;
    params->seed = 0;
    params->stream = nullptr;
}

HA_API int32_t ha_attention_hyper(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_hyper_params* params, ha_hyper_stats* stats,
                                  const void* q_data, const void* k_data, const void* v_data,
                                  void* out_data, void* lse_data, float* row_error_data) {
    return guarded([&] {
        HA_TRY(check_data_args({{"q", data_of(q), q_data}, {"k", data_of(k), k_data},
                                {"v", data_of(v), v_data}, {"out", data_of(out), out_data},
                                {"lse", data_of(lse), lse_data},
                                {"stats.row_error", stats ? stats->row_error : nullptr,
                                 row_error_data}}));
        return hyper_impl(q, k, v, out, lse, params, stats);
    });
}

}  // extern "C"
