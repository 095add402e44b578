// Entry point of error-controlled approximate attention: operands validated as for exact
// attention (CPU), then the index and the parameters, each rejection naming its field.
#include <cinttypes>
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
        ha::Span sq, sk, sv, so;
        HA_TRY(ha::check_tensor("q", q, &sq));
        HA_TRY(ha::check_tensor("k", k, &sk));
        HA_TRY(ha::check_tensor("v", v, &sv));
        HA_TRY(ha::check_tensor("out", out, &so));
        const std::vector<std::pair<const char*, ha::Span>> others{
            {"q", sq}, {"k", sk}, {"v", sv}, {"out", so}};
        HA_TRY(check_stats_array("stats.row_error", stats->row_error, rows, 4, others));
        HA_TRY(check_stats_array("stats.tail_mass_bound", stats->tail_mass_bound, rows, 4, others));
        HA_TRY(check_stats_array("stats.keys_touched", stats->keys_touched, rows, 8, others));
        HA_TRY(check_stats_array("stats.level", stats->level, rows, 4, others));
    }
    if (rows == 0) return HA_OK;

    ha::cpu::approx::Problem prob{};
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
    return ha::cpu::approx::run(prob);
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
                                   ha_approx_stats* stats) {
    return guarded([&] { return approx_impl(q, k, v, out, lse, index, params, stats); });
}

}  // extern "C"
