// Entry points of HSR sparse attention and the key index (issue 4). Stub until it lands.
#include "api_common.h"

using ha::fail;
using namespace ha::api;

extern "C" {

HA_API void ha_index_params_init(ha_index_params* params) {
    if (!params) return;
    params->block_size = 64;
    params->kmeans_iters = 4;
    params->seed = 0;
}

HA_API void ha_hsr_params_init(ha_hsr_params* params) {
    if (!params) return;
    params->mode = HA_HSR_SOFTMAX;
    params->alpha = 1;
    params->bias = 0.0f;
    params->scale = 0.0f;
    params->epsilon = 1e-3;
    params->causal = 0;
    params->reserved = 0;
    params->stream = nullptr;
}

HA_API int32_t ha_key_index_create(const ha_tensor* k, const ha_tensor* v,
                                   const ha_index_params* params, ha_key_index** index) {
    return guarded([&] { return fail(HA_ERR_UNSUPPORTED, "ha_key_index_create: not built yet"); });
}

HA_API int32_t ha_key_index_append(ha_key_index* index, const ha_tensor* k, const ha_tensor* v) {
    return guarded([&] { return fail(HA_ERR_UNSUPPORTED, "ha_key_index_append: not built yet"); });
}

HA_API int32_t ha_key_index_get_info(const ha_key_index* index, ha_key_index_info* info) {
    return guarded([&] { return fail(HA_ERR_UNSUPPORTED, "ha_key_index_get_info: not built yet"); });
}

HA_API void ha_key_index_destroy(ha_key_index* index) {}

HA_API int32_t ha_hsr_report(const ha_key_index* index, const ha_tensor* k, const ha_tensor* q,
                             float threshold, int64_t* counts, int32_t* indices,
                             int64_t capacity, int64_t* total) {
    return guarded([&] { return fail(HA_ERR_UNSUPPORTED, "ha_hsr_report: not built yet"); });
}

HA_API int32_t ha_attention_hsr(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                const ha_tensor* out, const ha_key_index* index,
                                const ha_hsr_params* params, ha_hsr_stats* stats) {
    return guarded([&] { return fail(HA_ERR_UNSUPPORTED, "ha_attention_hsr: not built yet"); });
}

}  // extern "C"
