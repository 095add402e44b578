// Helpers shared by the host side of the CUDA backend (runtime.cpp, ops.cpp): CUDA errors as
// ha::fail messages, the current-device guard, pointer and stream checks, scratch memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace ha::cuda {

// HA_ERR_DEVICE (HA_ERR_OUT_OF_MEMORY for allocation failures) with CUDA's name and text.
int32_t device_error(const char* what, cudaError_t e);

// Makes `id` the calling thread's current device for a scope and restores the previous one,
// so callers that juggle devices themselves (PyTorch, a Java runtime) see no change.
class DeviceGuard {
public:
    explicit DeviceGuard(int id);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;
    cudaError_t error() const { return err_; }

private:
    int prev_ = -1;
    bool changed_ = false;
    cudaError_t err_ = cudaSuccess;
};

// INVALID_ARGUMENT unless p is memory that device `id` can use directly (its own device
// memory, or managed memory).
int32_t check_device_pointer(const char* name, const void* p, int id);
// INVALID_ARGUMENT if p is CUDA device memory (a host pointer was promised).
int32_t check_host_pointer(const char* name, const void* p);

// NULL gives the per-thread default stream; a stream of another device is an error.
int32_t resolve_stream(const char* name, void* stream, int id, cudaStream_t* out);

// Stream-ordered scratch from a per-device pool that keeps its memory between calls (falls
// back to cudaMalloc + synchronisation where pools are unsupported).
class Scratch {
public:
    Scratch() = default;
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    int32_t allocate(int id, size_t bytes, cudaStream_t stream);
    void* get() const { return ptr_; }
    // Gives the memory back in stream order; returns the release's status.
    int32_t release();

private:
    void* ptr_ = nullptr;
    cudaStream_t stream_ = nullptr;
    bool pooled_ = false;
};

int sm_count(int id);        // multiprocessors of device `id` (0 on error); cached per device
size_t smem_optin(int id);   // largest dynamic shared memory a block may opt into (0 on error)
// UNSUPPORTED naming `what` unless device `id` has compute capability 8.0 or newer (the
// kernels' mma.sync and cp.async); every kernel entry of ops.cpp checks it.
int32_t require_sm80(const char* what, int32_t id);

}  // namespace ha::cuda
