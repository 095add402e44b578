// Entry points for devices, device memory and streams (issue 5). Stub: no CUDA backend yet.
#include "api_common.h"

using ha::fail;
using namespace ha::api;

extern "C" {

HA_API int32_t ha_cuda_device_count(int32_t* count) {
    return guarded([&] {
        if (count) *count = 0;
        return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend");
    });
}

HA_API int32_t ha_cuda_device_props(int32_t device_id, ha_device_props* props) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

HA_API int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes,
                               void** ptr) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

HA_API int32_t ha_device_free(int32_t device_type, int32_t device_id, void* ptr) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

HA_API int32_t ha_memcpy(void* dst, int32_t dst_device_type, int32_t dst_device_id,
                         const void* src, int32_t src_device_type, int32_t src_device_id,
                         int64_t bytes, void* stream) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

HA_API int32_t ha_stream_create(int32_t device_id, void** stream) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

HA_API int32_t ha_stream_synchronize(int32_t device_id, void* stream) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

HA_API int32_t ha_stream_destroy(int32_t device_id, void* stream) {
    return guarded([&] { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); });
}

}  // extern "C"
