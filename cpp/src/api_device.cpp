// Entry points for devices, device memory and streams. Arguments are validated here; what
// needs the CUDA runtime is in cpp/cuda/runtime.cpp. A build without CUDA answers every call
// with HA_ERR_NO_DEVICE "this build has no CUDA backend".
#include <cinttypes>

#include "api_common.h"
#ifdef HA_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

using ha::fail;
using namespace ha::api;

namespace {

#ifdef HA_HAVE_CUDA
int32_t check_id(const char* name, int32_t id) {
    if (id < 0) return fail(HA_ERR_INVALID_ARGUMENT, "%s: must be >= 0, got %d", name, id);
    return HA_OK;
}

int32_t check_device_type(const char* name, int32_t type, int32_t id, const char* id_name) {
    if (type == HA_DEVICE_CUDA) return check_id(id_name, id);
    if (type == HA_DEVICE_CPU) {
        if (id != 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: must be 0 for the CPU, got %d", id_name, id);
        return HA_OK;
    }
    return fail(HA_ERR_INVALID_ARGUMENT, "%s: unknown device type %d", name, type);
}

int32_t require_cuda_type(const char* name, int32_t type) {
    if (type == HA_DEVICE_CUDA) return HA_OK;
    if (type == HA_DEVICE_CPU)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: must be HA_DEVICE_CUDA (host memory is the caller's own)", name);
    return fail(HA_ERR_INVALID_ARGUMENT, "%s: unknown device type %d", name, type);
}
#else
int32_t no_cuda() { return fail(HA_ERR_NO_DEVICE, "this build has no CUDA backend"); }
#endif

}  // namespace

extern "C" {

HA_API int32_t ha_cuda_device_count(int32_t* count) {
    return guarded([&] {
        if (count) *count = 0;
#ifdef HA_HAVE_CUDA
        if (!count) return fail(HA_ERR_INVALID_ARGUMENT, "count: must not be NULL");
        return ha::cuda::device_count(count);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_cuda_device_props(int32_t device_id, ha_device_props* props) {
    return guarded([&] {
#ifdef HA_HAVE_CUDA
        if (!props) return fail(HA_ERR_INVALID_ARGUMENT, "props: must not be NULL");
        HA_TRY(check_id("device_id", device_id));
        return ha::cuda::device_props(device_id, props);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes,
                               void** ptr) {
    return guarded([&] {
        if (ptr) *ptr = nullptr;
#ifdef HA_HAVE_CUDA
        if (!ptr) return fail(HA_ERR_INVALID_ARGUMENT, "ptr: must not be NULL");
        HA_TRY(require_cuda_type("device_type", device_type));
        HA_TRY(check_id("device_id", device_id));
        if (bytes < 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "bytes: must be >= 0, got %" PRId64, bytes);
        return ha::cuda::alloc(device_id, bytes, ptr);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_device_free(int32_t device_type, int32_t device_id, void* ptr) {
    return guarded([&] {
#ifdef HA_HAVE_CUDA
        HA_TRY(require_cuda_type("device_type", device_type));
        HA_TRY(check_id("device_id", device_id));
        if (!ptr) return int32_t(HA_OK);
        return ha::cuda::free_memory(device_id, ptr);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_memcpy(void* dst, int32_t dst_device_type, int32_t dst_device_id,
                         const void* src, int32_t src_device_type, int32_t src_device_id,
                         int64_t bytes, void* stream) {
    return guarded([&] {
#ifdef HA_HAVE_CUDA
        HA_TRY(check_device_type("dst_device_type", dst_device_type, dst_device_id,
                                 "dst_device_id"));
        HA_TRY(check_device_type("src_device_type", src_device_type, src_device_id,
                                 "src_device_id"));
        if (bytes < 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "bytes: must be >= 0, got %" PRId64, bytes);
        if (bytes > 0 && !dst) return fail(HA_ERR_INVALID_ARGUMENT, "dst: NULL for %" PRId64 " bytes", bytes);
        if (bytes > 0 && !src) return fail(HA_ERR_INVALID_ARGUMENT, "src: NULL for %" PRId64 " bytes", bytes);
        if (bytes > 0 && dst_device_type == src_device_type && dst_device_id == src_device_id) {
            const auto d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
            const auto n = static_cast<uintptr_t>(bytes);
            if (d < s + n && s < d + n)
                return fail(HA_ERR_INVALID_ARGUMENT, "dst: overlaps src");
        }
        return ha::cuda::copy(dst, dst_device_type, dst_device_id, src, src_device_type,
                              src_device_id, bytes, stream);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_stream_create(int32_t device_id, void** stream) {
    return guarded([&] {
        if (stream) *stream = nullptr;
#ifdef HA_HAVE_CUDA
        if (!stream) return fail(HA_ERR_INVALID_ARGUMENT, "stream: must not be NULL");
        HA_TRY(check_id("device_id", device_id));
        return ha::cuda::stream_create(device_id, stream);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_stream_synchronize(int32_t device_id, void* stream) {
    return guarded([&] {
#ifdef HA_HAVE_CUDA
        HA_TRY(check_id("device_id", device_id));
        return ha::cuda::stream_synchronize(device_id, stream);
#else
        return no_cuda();
#endif
    });
}

HA_API int32_t ha_stream_destroy(int32_t device_id, void* stream) {
    return guarded([&] {
#ifdef HA_HAVE_CUDA
        HA_TRY(check_id("device_id", device_id));
        return ha::cuda::stream_destroy(device_id, stream);
#else
        return no_cuda();
#endif
    });
}

}  // extern "C"
