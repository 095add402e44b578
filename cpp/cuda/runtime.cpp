// Devices, device memory, copies and streams; the runtime helpers of runtime.h. cudart is
// linked statically and finds the driver (libcuda.so.1) only when first called, so without a
// driver every entry point here answers HA_ERR_NO_DEVICE with CUDA's reason instead of the
// library failing to load.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

#if defined(__linux__)
#include <sys/uio.h>
#include <unistd.h>
#endif

#include "cuda_backend.h"
#include "error.h"
#include "runtime.h"

namespace ha::cuda {

// ---- errors, guard, checks -------------------------------------------------------------
int32_t device_error(const char* what, cudaError_t e) {
    cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    const int32_t st = e == cudaErrorMemoryAllocation ? HA_ERR_OUT_OF_MEMORY : HA_ERR_DEVICE;
    return fail(st, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

int32_t require_device(const char* what, int32_t id) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return fail(HA_ERR_NO_DEVICE, "%s: cuda:%d is not available: %s (%s)", what, id,
                    cudaGetErrorString(e), cudaGetErrorName(e));
    }
    if (id < 0 || id >= n)
        return fail(HA_ERR_NO_DEVICE, "%s: cuda:%d is not available: %d CUDA device%s visible",
                    what, id, n, n == 1 ? " is" : "s are");
    return HA_OK;
}

DeviceGuard::DeviceGuard(int id) {
    err_ = cudaGetDevice(&prev_);
    if (err_ == cudaSuccess && prev_ != id) {
        err_ = cudaSetDevice(id);
        changed_ = err_ == cudaSuccess;
    }
}

DeviceGuard::~DeviceGuard() {
    if (changed_) cudaSetDevice(prev_);
}

int32_t check_device_pointer(const char* name, const void* p, int id) {
    cudaPointerAttributes at{};
    const cudaError_t e = cudaPointerGetAttributes(&at, p);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: data %p is not CUDA memory: %s", name, p,
                    cudaGetErrorString(e));
    }
    if (at.type == cudaMemoryTypeManaged) return HA_OK;
    if (at.type != cudaMemoryTypeDevice)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: data %p is host memory, but the tensor says cuda:%d (copy it to the "
                    "device first)",
                    name, p, id);
    if (at.device != id)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: data %p is memory of cuda:%d, but the tensor says cuda:%d", name, p,
                    at.device, id);
    return HA_OK;
}

int32_t check_host_pointer(const char* name, const void* p) {
    cudaPointerAttributes at{};
    const cudaError_t e = cudaPointerGetAttributes(&at, p);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return HA_OK;  // unknown to CUDA: ordinary host memory
    }
    if (at.type == cudaMemoryTypeDevice)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: %p is memory of cuda:%d, but its device type says CPU", name, p,
                    at.device);
    return HA_OK;
}

namespace {

// Whether `bytes` bytes at p are mapped, readable memory of this process. A cudaStream_t is a
// pointer to the driver's stream object, which cudaStreamGetDevice reads: an arbitrary value
// there (a Java long holding garbage, a freed handle's page) would crash the process inside
// the driver instead of failing the call. process_vm_readv on our own pid fails with EFAULT
// for an unmapped address instead of faulting. It cannot tell a stream from other readable
// memory; the driver's check covers that.
bool readable(const void* p, size_t bytes) {
#if defined(__linux__)
    char buf[64];
    if (bytes > sizeof buf) bytes = sizeof buf;
    struct iovec local {buf, bytes}, remote {const_cast<void*>(p), bytes};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == ssize_t(bytes)) return true;
    // Only EFAULT says "not mapped"; where the call itself is refused (a seccomp filter:
    // EPERM, ENOSYS) nothing is known, and the driver's own check has to do.
    return errno != EFAULT;
#else
    (void)p;
    (void)bytes;
    return true;
#endif
}

}  // namespace

int32_t resolve_stream(const char* name, void* stream, int id, cudaStream_t* out) {
    if (!stream) {
        *out = cudaStreamPerThread;
        return HA_OK;
    }
    auto s = static_cast<cudaStream_t>(stream);
    // The runtime's two special handles are small integers, never dereferenced.
    if (s != cudaStreamLegacy && s != cudaStreamPerThread && !readable(stream, 16))
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: %p is not a CUDA stream (no readable memory at that address)", name,
                    stream);
    int dev = -1;
    const cudaError_t e = cudaStreamGetDevice(s, &dev);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: not a usable CUDA stream: %s (%s)", name,
                    cudaGetErrorString(e), cudaGetErrorName(e));
    }
    if (dev != id)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: the stream belongs to cuda:%d, but the tensors are on cuda:%d", name,
                    dev, id);
    *out = s;
    return HA_OK;
}

int32_t check_device_array(const char* name, const void* p, int32_t id) {
    cudaPointerAttributes at{};
    const cudaError_t e = cudaPointerGetAttributes(&at, p);
    if (e != cudaSuccess) cudaGetLastError();
    if (e == cudaSuccess && at.type == cudaMemoryTypeManaged) return HA_OK;
    if (e != cudaSuccess || at.type != cudaMemoryTypeDevice)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: %p is not device memory; with CUDA tensors the ha_seqs arrays live in "
                    "the memory of the tensors' device (cuda:%d)",
                    name, p, id);
    if (at.device != id)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: %p is memory of cuda:%d, but the tensors are on cuda:%d", name, p,
                    at.device, id);
    return HA_OK;
}

int32_t read_device_ints(int32_t id, void* stream, const char* name, const int32_t* src,
                         int64_t rows, int64_t width, int64_t pitch, int32_t* dst) {
    int32_t st = require_device("q", id);
    if (st != HA_OK) return st;
    if (rows <= 0 || width <= 0) return HA_OK;
    DeviceGuard guard(id);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = resolve_stream("params.stream", stream, id, &s)) != HA_OK) return st;
    if ((st = check_device_array(name, src, id)) != HA_OK) return st;
    const size_t w = size_t(width) * sizeof(int32_t), sp = size_t(pitch) * sizeof(int32_t);
    cudaError_t e = cudaSuccess;
    if (rows == 1 || pitch == width) {
        e = cudaMemcpyAsync(dst, src, w * size_t(rows), cudaMemcpyDeviceToHost, s);
    } else if (sp <= (size_t(1) << 30)) {
        e = cudaMemcpy2DAsync(dst, w, src, sp, w, size_t(rows), cudaMemcpyDeviceToHost, s);
    } else {  // a pitch beyond what cudaMemcpy2D takes: one copy per row
        for (int64_t r = 0; r < rows && e == cudaSuccess; ++r)
            e = cudaMemcpyAsync(dst + r * width, src + r * pitch, w, cudaMemcpyDeviceToHost, s);
    }
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) {
        char what[96];
        std::snprintf(what, sizeof what, "%s: reading it back for validation", name);
        return device_error(what, e);
    }
    return HA_OK;
}

// ---- per-device facts, read once ---------------------------------------------------------
// Attribute queries cost a driver call each; every exact call needs the multiprocessor count
// and the shared-memory limit, so they are read on a device's first use and kept.
namespace {

// Devices 0 .. kMaxDevices - 1 get cached facts and a pool; others are served uncached.
constexpr int kMaxDevices = 64;
struct DeviceInfo {
    int sms = 0;
    size_t smem_optin = 0;
    int major = 0, minor = 0;
};
std::mutex g_info_mutex;
DeviceInfo g_info[kMaxDevices];
bool g_info_read[kMaxDevices];

DeviceInfo read_info(int id) {
    DeviceInfo d;
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, id) == cudaSuccess) d.sms = v;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, id) == cudaSuccess)
        d.smem_optin = static_cast<size_t>(v);
    if (cudaDeviceGetAttribute(&v, cudaDevAttrComputeCapabilityMajor, id) == cudaSuccess) d.major = v;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrComputeCapabilityMinor, id) == cudaSuccess) d.minor = v;
    cudaGetLastError();
    return d;
}

DeviceInfo info(int id) {
    if (id < 0 || id >= kMaxDevices) return read_info(id);
    std::lock_guard<std::mutex> lock(g_info_mutex);
    if (!g_info_read[id]) {
        g_info[id] = read_info(id);
        // A failed read (all zeros) is tried again next time rather than kept.
        g_info_read[id] = g_info[id].sms > 0;
    }
    return g_info[id];
}

}  // namespace

int sm_count(int id) { return info(id).sms; }

size_t smem_optin(int id) { return info(id).smem_optin; }

int32_t require_sm80(const char* what, int32_t id) {
    const DeviceInfo d = info(id);
    if (d.major < 8)
        return fail(HA_ERR_UNSUPPORTED,
                    "%s: cuda:%d has compute capability %d.%d; the CUDA kernels need 8.0 or newer "
                    "(mma.sync bf16 and cp.async)",
                    what, id, d.major, d.minor);
    return HA_OK;
}

// ---- scratch ----------------------------------------------------------------------------
namespace {

std::mutex g_pool_mutex;
cudaMemPool_t g_pools[kMaxDevices];
bool g_pool_tried[kMaxDevices];

// The device's private pool, created on first use; null where pools are unsupported.
cudaMemPool_t pool_for(int id) {
    if (id < 0 || id >= kMaxDevices) return nullptr;
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    if (g_pool_tried[id]) return g_pools[id];
    g_pool_tried[id] = true;
    int supported = 0;
    if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, id) != cudaSuccess ||
        !supported) {
        cudaGetLastError();
        return nullptr;
    }
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = id;
    cudaMemPool_t pool = nullptr;
    if (cudaMemPoolCreate(&pool, &props) != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
    }
    // Keep up to 256 MiB cached across synchronisations: split-KV scratch is reused by every
    // decoding step, and returning it to the driver each time would cost a remap per call.
    // Where the threshold cannot be set the pool still works, only returning memory at each
    // synchronisation; that is a speed matter, not an error of the call.
    uint64_t keep = uint64_t(256) << 20;
    if (cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep) != cudaSuccess)
        cudaGetLastError();
    g_pools[id] = pool;
    return pool;
}

}  // namespace

int32_t Scratch::allocate(int id, size_t bytes, cudaStream_t stream) {
    stream_ = stream;
    if (cudaMemPool_t pool = pool_for(id)) {
        const cudaError_t e = cudaMallocFromPoolAsync(&ptr_, bytes, pool, stream);
        if (e != cudaSuccess) {
            ptr_ = nullptr;
            return device_error("split-KV scratch allocation", e);
        }
        pooled_ = true;
        return HA_OK;
    }
    const cudaError_t e = cudaMalloc(&ptr_, bytes);
    if (e != cudaSuccess) {
        ptr_ = nullptr;
        return device_error("split-KV scratch allocation", e);
    }
    pooled_ = false;
    return HA_OK;
}

int32_t Scratch::release() {
    if (!ptr_) return HA_OK;
    void* p = ptr_;
    ptr_ = nullptr;
    cudaError_t e;
    if (pooled_) {
        e = cudaFreeAsync(p, stream_);
    } else {
        e = cudaStreamSynchronize(stream_);  // the kernels reading it must be done
        const cudaError_t e2 = cudaFree(p);
        if (e == cudaSuccess) e = e2;
    }
    return e == cudaSuccess ? HA_OK : device_error("split-KV scratch release", e);
}

Scratch::~Scratch() {
    if (ptr_) {
        const int32_t st = release();
        (void)st;  // an error path is already being reported
    }
}

// ---- devices ----------------------------------------------------------------------------
int32_t device_count(int32_t* count) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        *count = 0;
        return fail(HA_ERR_NO_DEVICE, "no CUDA device: %s (%s)", cudaGetErrorString(e),
                    cudaGetErrorName(e));
    }
    *count = n;
    if (n == 0) return fail(HA_ERR_NO_DEVICE, "no CUDA device: none is visible");
    return HA_OK;
}

int32_t device_props(int32_t id, ha_device_props* props) {
    int32_t st = require_device("device_id", id);
    if (st != HA_OK) return st;
    cudaDeviceProp p{};
    const cudaError_t e = cudaGetDeviceProperties(&p, id);
    if (e != cudaSuccess) return device_error("cudaGetDeviceProperties", e);
    std::memset(props, 0, sizeof *props);
    std::snprintf(props->name, sizeof props->name, "%s", p.name);
    props->total_memory = static_cast<int64_t>(p.totalGlobalMem);
    props->compute_major = p.major;
    props->compute_minor = p.minor;
    props->multiprocessors = p.multiProcessorCount;
    return HA_OK;
}

// ---- memory -----------------------------------------------------------------------------
int32_t alloc(int32_t id, int64_t bytes, void** ptr) {
    *ptr = nullptr;
    int32_t st = require_device("device_id", id);
    if (st != HA_OK) return st;
    if (bytes == 0) return HA_OK;
    DeviceGuard guard(id);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, static_cast<size_t>(bytes));
    if (e != cudaSuccess) {
        cudaGetLastError();
        if (e == cudaErrorMemoryAllocation)
            return fail(HA_ERR_OUT_OF_MEMORY,
                        "bytes: cudaMalloc of %" PRId64 " bytes on cuda:%d failed: %s", bytes,
                        id, cudaGetErrorString(e));
        return device_error("cudaMalloc", e);
    }
    *ptr = p;
    return HA_OK;
}

int32_t free_memory(int32_t id, void* ptr) {
    int32_t st = require_device("device_id", id);
    if (st != HA_OK) return st;
    if ((st = check_device_pointer("ptr", ptr, id)) != HA_OK) return st;
    DeviceGuard guard(id);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    const cudaError_t e = cudaFree(ptr);
    return e == cudaSuccess ? HA_OK : device_error("cudaFree", e);
}

int32_t copy(void* dst, int32_t dst_type, int32_t dst_id, const void* src, int32_t src_type,
             int32_t src_id, int64_t bytes, void* stream) {
    if (bytes == 0) return HA_OK;
    const bool dst_dev = dst_type == HA_DEVICE_CUDA, src_dev = src_type == HA_DEVICE_CUDA;
    if (!dst_dev && !src_dev && !stream) {
        std::memmove(dst, src, static_cast<size_t>(bytes));
        return HA_OK;
    }
    int32_t st;
    if (dst_dev && (st = require_device("dst_device_id", dst_id)) != HA_OK) return st;
    if (src_dev && (st = require_device("src_device_id", src_id)) != HA_OK) return st;
    // The device that runs the copy: the source's (or the destination's, or the stream's).
    int dev = src_dev ? src_id : dst_dev ? dst_id : -1;
    if (dev < 0) {  // host to host on a stream
        if (cudaStreamGetDevice(static_cast<cudaStream_t>(stream), &dev) != cudaSuccess) {
            cudaGetLastError();
            return fail(HA_ERR_INVALID_ARGUMENT, "stream: not a usable CUDA stream");
        }
    }
    if (dst_dev) {
        if ((st = check_device_pointer("dst", dst, dst_id)) != HA_OK) return st;
    } else if ((st = check_host_pointer("dst", dst)) != HA_OK) {
        return st;
    }
    if (src_dev) {
        if ((st = check_device_pointer("src", src, src_id)) != HA_OK) return st;
    } else if ((st = check_host_pointer("src", src)) != HA_OK) {
        return st;
    }
    // A stream of either device involved may carry a device-to-device copy between two.
    int stream_dev = dev;
    if (stream && dst_dev && src_dev && src_id != dst_id) {
        int sd = -1;
        if (cudaStreamGetDevice(static_cast<cudaStream_t>(stream), &sd) == cudaSuccess &&
            sd == dst_id)
            stream_dev = dst_id;
        cudaGetLastError();
    }
    DeviceGuard guard(stream_dev);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = resolve_stream("stream", stream, stream_dev, &s)) != HA_OK) return st;
    const size_t n = static_cast<size_t>(bytes);
    cudaError_t e = dst_dev && src_dev && src_id != dst_id
                        ? cudaMemcpyPeerAsync(dst, dst_id, src, src_id, n, s)
                        : cudaMemcpyAsync(dst, src, n, cudaMemcpyDefault, s);
    if (e != cudaSuccess) return device_error("cudaMemcpyAsync", e);
    if (!stream && (e = cudaStreamSynchronize(s)) != cudaSuccess)
        return device_error("cudaStreamSynchronize after the copy", e);
    return HA_OK;
}

// ---- streams ----------------------------------------------------------------------------
int32_t stream_create(int32_t id, void** stream) {
    *stream = nullptr;
    int32_t st = require_device("device_id", id);
    if (st != HA_OK) return st;
    DeviceGuard guard(id);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    const cudaError_t e = cudaStreamCreate(&s);
    if (e != cudaSuccess) return device_error("cudaStreamCreate", e);
    *stream = s;
    return HA_OK;
}

int32_t stream_synchronize(int32_t id, void* stream) {
    int32_t st = require_device("device_id", id);
    if (st != HA_OK) return st;
    DeviceGuard guard(id);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = resolve_stream("stream", stream, id, &s)) != HA_OK) return st;
    const cudaError_t e = cudaStreamSynchronize(s);
    return e == cudaSuccess ? HA_OK : device_error("cudaStreamSynchronize", e);
}

int32_t stream_destroy(int32_t id, void* stream) {
    if (!stream) return HA_OK;
    int32_t st = require_device("device_id", id);
    if (st != HA_OK) return st;
    DeviceGuard guard(id);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = resolve_stream("stream", stream, id, &s)) != HA_OK) return st;
    const cudaError_t e = cudaStreamDestroy(s);
    return e == cudaSuccess ? HA_OK : device_error("cudaStreamDestroy", e);
}

}  // namespace ha::cuda
