#include "tensor_check.h"

#include <cinttypes>
#include <cstdio>
#include <utility>

#include "error.h"

namespace ha {

static const char* const kDims[4] = {"batch", "heads", "seq", "head_dim"};


const char* dtype_name(int32_t dtype) {
    switch (dtype) {
        case HA_DTYPE_F32: return "f32";
        case HA_DTYPE_BF16: return "bf16";
        case HA_DTYPE_F16: return "f16";
        default: return "unknown";
    }
}

namespace {

int32_t check_structure(const char* name, const ha_tensor* t, Span* span, bool allow_cuda) {
    if (t == nullptr) return fail(HA_ERR_INVALID_ARGUMENT, "%s: tensor descriptor is NULL", name);
    if (t->reserved != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: reserved field must be 0, got %d", name,
                    t->reserved);
    int64_t esize = dtype_size(t->dtype);
    if (esize == 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: unknown dtype %d", name, t->dtype);
    if (t->device_type == HA_DEVICE_CUDA) {
#ifdef HA_HAVE_CUDA
        if (!allow_cuda)
            return fail(HA_ERR_UNSUPPORTED,
                        "%s: device cuda:%d, but this operation runs on the CPU only", name,
                        t->device_id);
        if (t->device_id < 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: CUDA device_id must be >= 0, got %d",
                        name, t->device_id);
#else
        (void)allow_cuda;
        return fail(HA_ERR_UNSUPPORTED, "%s: device cuda:%d, but this build has no CUDA backend",
                    name, t->device_id);
#endif
    } else if (t->device_type != HA_DEVICE_CPU) {
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: unknown device type %d", name, t->device_type);
    } else if (t->device_id != 0) {
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: CPU tensors have device_id 0, got %d", name,
                    t->device_id);
    }
    bool empty = false;
    int64_t last = 0;  // largest element offset
    for (int i = 0; i < 4; ++i) {
        if (t->shape[i] < 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: %s extent is negative (%" PRId64 ")", name,
                        kDims[i], t->shape[i]);
        if (t->strides[i] < 0)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: %s stride is negative (%" PRId64 ")", name,
                        kDims[i], t->strides[i]);
        if (t->shape[i] == 0) empty = true;
    }
    if (!empty) {
        for (int i = 0; i < 4; ++i) {
            int64_t term;
            if (__builtin_mul_overflow(t->shape[i] - 1, t->strides[i], &term) ||
                __builtin_add_overflow(last, term, &last))
                return fail(HA_ERR_INVALID_ARGUMENT, "%s: shape x strides overflows 64 bits",
                            name);
        }
        int64_t bytes;
        if (__builtin_mul_overflow(last + 1, esize, &bytes))
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: shape x strides overflows 64 bits", name);
        if (t->data == nullptr)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: data is NULL for a non-empty tensor", name);
        uintptr_t lo = reinterpret_cast<uintptr_t>(t->data);
        if (lo % static_cast<uintptr_t>(esize) != 0)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "%s: data address %p is not aligned to its %" PRId64 "-byte %s elements",
                        name, t->data, esize, dtype_name(t->dtype));
        if (UINTPTR_MAX - lo < static_cast<uintptr_t>(bytes))
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: data + span wraps the address space", name);
        if (span) *span = Span{lo, lo + static_cast<uintptr_t>(bytes)};
    } else if (span) {
        *span = Span{};
    }
    return HA_OK;
}

int32_t check_lse_impl(const char* name, const ha_tensor* t, int64_t b, int64_t h, int64_t n,
                       Span* span, bool allow_cuda) {
    int32_t st = check_structure(name, t, span, allow_cuda);
    if (st != HA_OK) return st;
    if (t->dtype != HA_DTYPE_F32)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: log-sum-exp must be f32, got %s", name,
                    dtype_name(t->dtype));
    const int64_t want[4] = {b, h, n, 1};
    for (int i = 0; i < 4; ++i)
        if (t->shape[i] != want[i])
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "%s: shape must be [%" PRId64 ", %" PRId64 ", %" PRId64
                        ", 1] (batch, heads, seq, 1); %s is %" PRId64,
                        name, b, h, n, i < 3 ? kDims[i] : "last extent", t->shape[i]);
    return HA_OK;
}

}  // namespace

int32_t check_tensor(const char* name, const ha_tensor* t, Span* span) {
    return check_structure(name, t, span, false);
}

int32_t check_tensor_any_device(const char* name, const ha_tensor* t, Span* span) {
    return check_structure(name, t, span, true);
}

const char* device_label(const ha_tensor* t, char* buf, int size) {
    if (t->device_type == HA_DEVICE_CUDA)
        std::snprintf(buf, size_t(size), "cuda:%d", t->device_id);
    else
        std::snprintf(buf, size_t(size), "the CPU");
    return buf;
}

int32_t check_same_device(const char* name, const ha_tensor* t, const char* ref_name,
                          const ha_tensor* ref) {
    if (t->device_type == ref->device_type && t->device_id == ref->device_id) return HA_OK;
    char a[32], b[32];
    if (t->device_type == HA_DEVICE_CUDA)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "%s: device %s, but %s is on %s (all operands must be on one device)", name,
                    device_label(t, a, sizeof a), ref_name, device_label(ref, b, sizeof b));
    return fail(HA_ERR_INVALID_ARGUMENT,
                "%s: on the CPU, but %s is on %s (all operands must be on one device)", name,
                ref_name, device_label(ref, b, sizeof b));
}

int32_t check_no_self_overlap(const char* name, const ha_tensor* t) {
    // Sort the dimensions with more than one element by stride; the view is one-to-one iff
    // each stride exceeds the largest offset reachable with the smaller ones.
    int idx[4];
    int n = 0;
    for (int i = 0; i < 4; ++i) {
        if (t->shape[i] == 0) return HA_OK;
        if (t->shape[i] > 1) idx[n++] = i;
    }
    for (int a = 1; a < n; ++a)  // insertion sort: at most four entries
        for (int b = a; b > 0 && t->strides[idx[b]] < t->strides[idx[b - 1]]; --b)
            std::swap(idx[b], idx[b - 1]);
    int64_t reach = 0;  // largest offset spanned by the dimensions seen so far
    for (int j = 0; j < n; ++j) {
        int i = idx[j];
        if (t->strides[i] <= reach)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "%s: strides make distinct elements share memory (%s stride %" PRId64
                        "); an output needs a one-to-one layout",
                        name, kDims[i], t->strides[i]);
        reach += (t->shape[i] - 1) * t->strides[i];
    }
    return HA_OK;
}

int32_t check_same_shape(const char* name, const ha_tensor* t, const char* ref_name,
                         const ha_tensor* ref) {
    for (int i = 0; i < 4; ++i)
        if (t->shape[i] != ref->shape[i])
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: %s %" PRId64 " differs from %s's %" PRId64,
                        name, kDims[i], t->shape[i], ref_name, ref->shape[i]);
    return HA_OK;
}

bool same_view(const ha_tensor* a, const ha_tensor* b) {
    if (a->data != b->data || a->dtype != b->dtype) return false;
    for (int i = 0; i < 4; ++i)
        if (a->shape[i] != b->shape[i] || (a->shape[i] > 1 && a->strides[i] != b->strides[i]))
            return false;
    return true;
}

int32_t check_lse(const char* name, const ha_tensor* t, int64_t b, int64_t h, int64_t n,
                  Span* span) {
    return check_lse_impl(name, t, b, h, n, span, false);
}

int32_t check_lse_any_device(const char* name, const ha_tensor* t, int64_t b, int64_t h,
                             int64_t n, Span* span) {
    return check_lse_impl(name, t, b, h, n, span, true);
}

}  // namespace ha
