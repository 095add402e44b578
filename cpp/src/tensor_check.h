// Validation of ha_tensor views shared by every entry point. Each check names the argument
// (e.g. "k") in its message so a Java user sees which tensor is wrong and why.
#pragma once
#include <cstdint>

#include "hyperattn.h"

namespace ha {

// Byte range [lo, hi) a strided view can touch; empty when any extent is 0.
struct Span {
    uintptr_t lo = 0, hi = 0;
    bool empty() const { return lo == hi; }
    bool overlaps(const Span& o) const { return !empty() && !o.empty() && lo < o.hi && o.lo < hi; }
};

// Bytes per stored element, 0 for an unknown dtype. Inline: the kernels size rows with it too.
inline int64_t dtype_size(int32_t dtype) {
    switch (dtype) {
        case HA_DTYPE_F32: return 4;
        case HA_DTYPE_BF16: return 2;
        case HA_DTYPE_F16: return 2;
        default: return 0;
    }
}
const char* dtype_name(int32_t dtype);

// Structural checks of one tensor: non-null descriptor, reserved == 0, known dtype, CPU device,
// non-negative extents and strides, no int64 overflow of its byte span, data non-null and
// element-aligned when non-empty. Fills *span. For operations that run on the CPU only: a CUDA
// tensor is HA_ERR_UNSUPPORTED ("runs on the CPU only", or "this build has no CUDA backend").
int32_t check_tensor(const char* name, const ha_tensor* t, Span* span);

// The same structural checks, but a CUDA tensor (device_id >= 0) is accepted too, for the
// operations with a CUDA backend (exact attention, merge). Whether the device exists and the
// data is its memory is checked by the backend. In a build without CUDA this is check_tensor.
int32_t check_tensor_any_device(const char* name, const ha_tensor* t, Span* span);

// INVALID_ARGUMENT unless t is on the same device as ref ("k: device cuda:1, but q is on
// cuda:0 (...)"). Call after both passed check_tensor_any_device.
int32_t check_same_device(const char* name, const ha_tensor* t, const char* ref_name,
                          const ha_tensor* ref);

// "cpu" or "cuda:N" into buf.
const char* device_label(const ha_tensor* t, char* buf, int size);

// The tensor's elements never share memory (needed for anything written).
int32_t check_no_self_overlap(const char* name, const ha_tensor* t);

// Shape equality with a message naming both tensors and the differing dimension.
int32_t check_same_shape(const char* name, const ha_tensor* t, const char* ref_name,
                         const ha_tensor* ref);

// True when two descriptors view exactly the same elements (allowed in-place aliasing).
bool same_view(const ha_tensor* a, const ha_tensor* b);

// An LSE tensor: float32, shape [b, h, n, 1]. CPU only (as check_tensor).
int32_t check_lse(const char* name, const ha_tensor* t, int64_t b, int64_t h, int64_t n,
                  Span* span);
// The same, on any device (as check_tensor_any_device).
int32_t check_lse_any_device(const char* name, const ha_tensor* t, int64_t b, int64_t h,
                             int64_t n, Span* span);

}  // namespace ha
