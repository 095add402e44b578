// A kernel's dynamic shared-memory limit above 48 KiB must be raised per device before its
// first launch there. The raise is a driver call (a few microseconds), so it is made once per
// kernel and device instead of on every call.
#pragma once
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>

namespace ha::cuda {

template <auto Kernel>
cudaError_t raise_smem_limit(int bytes) {
    static std::atomic<uint64_t> raised{0};  // bit d: done on device d (devices 0..63)
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return e;
    const uint64_t bit = dev >= 0 && dev < 64 ? uint64_t(1) << dev : 0;
    if (bit && (raised.load(std::memory_order_acquire) & bit)) return cudaSuccess;
    e = cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess && bit) raised.fetch_or(bit, std::memory_order_acq_rel);
    return e;
}

}  // namespace ha::cuda
