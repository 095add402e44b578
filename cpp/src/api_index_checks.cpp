// Checks shared by the operations that take a key index (HSR, approx) and per-row stats arrays.
#include <cinttypes>
#include <cstdint>

#include "api_common.h"
#include "cpu/hsr/key_index.h"

namespace ha::api {

using ha::fail;

int32_t check_same_layout(const char* name, const ha_tensor* t, const void* data,
                          const int64_t* strides, const char* what) {
    if (t->data != data)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "index: built for other %s (%s's data address differs from the indexed one)",
                    what, name);
    for (int i = 0; i < 4; ++i)
        if (t->strides[i] != strides[i])
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "index: built for other %s (%s's stride %d is %" PRId64
                        ", the indexed view's is %" PRId64 ")",
                        what, name, i, t->strides[i], strides[i]);
    return HA_OK;
}

// The index describes exactly this k: address, strides, shape, dtype and key count. For
// attention (check_v) the values too, when the index was built with them.
int32_t check_index_for(const ha_key_index* x, const ha_tensor* k, const ha_tensor* v, bool check_v) {
    if (k->dtype != x->dtype)
        return fail(HA_ERR_INVALID_ARGUMENT, "index: built for %s keys, k is %s",
                    ha::dtype_name(x->dtype), ha::dtype_name(k->dtype));
    HA_TRY(check_same_layout("k", k, x->kdata, x->kstr, "keys"));
    const int64_t shape[4] = {x->B, x->H, x->N, x->D};
    static const char* const dims[4] = {"batch", "heads", "seq", "head_dim"};
    for (int i = 0; i < 4; ++i)
        if (k->shape[i] != shape[i]) {
            if (i == 2)
                return fail(HA_ERR_INVALID_ARGUMENT,
                            "index: indexes %" PRId64 " keys but k has %" PRId64
                            " (ha_key_index_append the new keys first)",
                            shape[2], k->shape[2]);
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "index: built for other keys (k's %s is %" PRId64 ", the index's %" PRId64 ")",
                        dims[i], k->shape[i], shape[i]);
        }
    if (check_v && x->has_v) HA_TRY(check_same_layout("v", v, x->vdata, x->vstr, "values"));
    return HA_OK;
}

int32_t check_stats_array(const char* name, const void* p, int64_t n, int64_t es,
                          const std::vector<std::pair<const char*, ha::Span>>& others) {
    if (!p || n == 0) return HA_OK;
    if (reinterpret_cast<uintptr_t>(p) % uintptr_t(es) != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: not aligned to its element size %" PRId64, name, es);
    ha::Span s{reinterpret_cast<uintptr_t>(p), reinterpret_cast<uintptr_t>(p) + uintptr_t(n * es)};
    for (const auto& [other, span] : others) HA_TRY(check_disjoint(name, s, other, span));
    return HA_OK;
}

}  // namespace ha::api
