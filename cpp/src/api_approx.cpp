// Entry point of error-controlled approximate attention: operands validated as for exact
// attention (CPU), then the index and the parameters, each rejection naming its field.
#include <cinttypes>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "api_common.h"
#include "cpu/approx/approx.h"

namespace {

using ha::fail;
using namespace ha::api;

int32_t check_params(const ha_approx_params* p) {
    HA_TRY(check_scale(p->scale));
    if (p->causal != 0 && p->causal != 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.causal: must be 0 or 1, got %d", p->causal);
    if (p->sinks < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.sinks: must be >= 0, got %d", p->sinks);
    if (p->window < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.window: must be >= 0, got %d", p->window);
    if (p->samples < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.samples: must be >= 0, got %d", p->samples);
    if (p->heavy_budget < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.heavy_budget: must be >= 0, got %d",
                    p->heavy_budget);
    if (!(p->target_error == 0.0 || (p->target_error > 0.0 && p->target_error < 1.0)))
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "params.target_error: must be 0 (none) or in (0, 1), got %g", p->target_error);
    if (p->stream)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "params.stream: must be NULL (approximate attention runs on the CPU only)");
    return HA_OK;
}

int32_t approx_impl(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                    const ha_tensor* out, const ha_tensor* lse, const ha_key_index* index,
                    const ha_approx_params* params, ha_approx_stats* stats) {
    HA_TRY(check_attention_operands(q, k, v, out, lse, Placement::CpuOnly, check_backend_dtype));
    ha_approx_params defaults;
    ha_approx_params_init(&defaults);
    const ha_approx_params* p = params ? params : &defaults;
    HA_TRY(check_params(p));
    if (k->shape[2] > INT32_MAX)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "k: seq must be < 2^31 for approximate attention, got %" PRId64, k->shape[2]);
    if (index) HA_TRY(check_index_for(index, k, v, true));

    const int64_t rows = q->shape[0] * q->shape[1] * q->shape[2];
    if (stats) {
        // (Spans only: the tensors were checked above.)
        ha::Span sq, sk, sv, so, sl;
        HA_TRY(ha::check_tensor("q", q, &sq));
        HA_TRY(ha::check_tensor("k", k, &sk));
        HA_TRY(ha::check_tensor("v", v, &sv));
        HA_TRY(ha::check_tensor("out", out, &so));
        std::vector<std::pair<const char*, ha::Span>> others{
            {"q", sq}, {"k", sk}, {"v", sv}, {"out", so}};
        if (lse) {
            HA_TRY(ha::check_tensor("lse", lse, &sl));
            others.push_back({"lse", sl});
        }
        HA_TRY(check_stats_array("stats.row_error", stats->row_error, rows, 4, others));
        HA_TRY(check_stats_array("stats.tail_mass_bound", stats->tail_mass_bound, rows, 4, others));
        HA_TRY(check_stats_array("stats.keys_touched", stats->keys_touched, rows, 8, others));
        HA_TRY(check_stats_array("stats.level", stats->level, rows, 4, others));
    }
    if (rows == 0) return HA_OK;

    ha::cpu::approx::Problem prob{};
    // An index holds only finite keys (it rejects others at build and append), so a decoding
    // step over one scans q alone, not the whole cache.
    const bool finite_inputs = all_finite(q) && (index != nullptr || all_finite(k));
    prob.base = cpu_exact_problem(q, k, v, out, lse, resolve_scale(p->scale, q->shape[3]),
                                  p->causal != 0);
    prob.index = index;
    prob.sinks = p->sinks;
    prob.window = p->window;
    prob.samples = p->samples;
    prob.heavy_budget = p->heavy_budget;
    prob.target = p->target_error;
    prob.seed = p->seed;
    if (stats) {
        prob.row_error = stats->row_error;
        prob.tail_bound = stats->tail_mass_bound;
        prob.touched = stats->keys_touched;
        prob.level = stats->level;
    }
    // The non-finite policy (README): the estimator computes only some scores, so with a
    // non-finite q or k element the call is exact attention, whose rows follow the policy
    // exactly; a row whose output is not finite carries no estimate or bound (+inf).
    float* err = stats ? stats->row_error : nullptr;
    float* bound = stats ? stats->tail_mass_bound : nullptr;
    if (!finite_inputs) {
        HA_TRY(ha::cpu::exact_forward(prob.base));
        mark_nonfinite_rows(out, err, bound, true);
        const int64_t Nq = q->shape[2], Nk = k->shape[2];
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t i = r % Nq;
            if (stats && stats->keys_touched)
                stats->keys_touched[r] = p->causal ? std::max<int64_t>(0, std::min(Nk, i + Nk - Nq + 1)) : Nk;
            if (stats && stats->level) stats->level[r] = 2;
        }
        return HA_OK;
    }
    HA_TRY(ha::cpu::approx::run(prob));
    mark_nonfinite_rows(out, err, bound, false);
    return HA_OK;
}

}  // namespace

extern "C" {

HA_API void ha_approx_params_init(ha_approx_params* params) {
    if (!params) return;
    params->scale = 0.0f;
    params->causal = 0;
    params->sinks = 4;
    params->window = 256;
    params->samples = 256;
    params->heavy_budget = 0;
    params->target_error = 0.0;
    params->seed = 0;
    params->stream = nullptr;
}

HA_API int32_t ha_attention_approx(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                   const ha_tensor* out, const ha_tensor* lse,
                                   const ha_key_index* index, const ha_approx_params* params,
                                   ha_approx_stats* stats, const void* q_data,
                                   const void* k_data, const void* v_data, void* out_data,
                                   void* lse_data, float* row_error_data,
                                   float* tail_mass_bound_data, int64_t* keys_touched_data,
                                   int32_t* level_data) {
    return guarded([&] {
        HA_TRY(check_data_args(
            {{"q", data_of(q), q_data}, {"k", data_of(k), k_data}, {"v", data_of(v), v_data},
             {"out", data_of(out), out_data}, {"lse", data_of(lse), lse_data},
             {"stats.row_error", stats ? stats->row_error : nullptr, row_error_data},
             {"stats.tail_mass_bound", stats ? stats->tail_mass_bound : nullptr, tail_mass_bound_data},
             {"stats.keys_touched", stats ? stats->keys_touched : nullptr, keys_touched_data},
             {"stats.level", stats ? stats->level : nullptr, level_data}}));
        return approx_impl(q, k, v, out, lse, index, params, stats);
    });
}

}  // extern "C"
