// Entry points of HyperAttention (issue 3). Stub until the implementation lands.
#include "api_common.h"

using ha::fail;
using namespace ha::api;

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
                                  const ha_hyper_params* params) {
    return guarded([&] { return fail(HA_ERR_UNSUPPORTED, "ha_attention_hyper: not built yet"); });
}

}  // extern "C"
