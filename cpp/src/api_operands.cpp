// The operand checks every attention entry point shares (exact, HyperAttention): one place, so
// a rule added for one operation holds for all of them.
#include <cinttypes>

#include "api_common.h"

namespace ha::api {

int32_t check_heads_and_output(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                               const ha_tensor* out, const ha::Span& sq, const ha::Span& sk,
                               const ha::Span& sv, const ha::Span& so) {
    const int64_t Hq = q->shape[1], D = q->shape[3], Hkv = k->shape[1];
    if (Hq < 1) return fail(HA_ERR_INVALID_ARGUMENT, "q: heads must be >= 1, got %" PRId64, Hq);
    if (D < 1 || D > 256)
        return fail(HA_ERR_INVALID_ARGUMENT, "q: head_dim must be in 1..256, got %" PRId64, D);
    if (Hkv < 1) return fail(HA_ERR_INVALID_ARGUMENT, "k: heads must be >= 1, got %" PRId64, Hkv);
    if (k->shape[3] != D)
        return fail(HA_ERR_INVALID_ARGUMENT, "k: head_dim %" PRId64 " differs from q's %" PRId64,
                    k->shape[3], D);
    if (Hq % Hkv != 0)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "q: heads %" PRId64 " not divisible by kv heads %" PRId64
                    " (GQA needs a whole number of query heads per kv head)",
                    Hq, Hkv);
    return check_value_and_output(q, k, v, out, sq, sk, sv, so);
}

int32_t check_value_and_output(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                               const ha_tensor* out, const ha::Span& sq, const ha::Span& sk,
                               const ha::Span& sv, const ha::Span& so) {
    HA_TRY(ha::check_same_shape("v", v, "k", k));
    HA_TRY(ha::check_same_shape("out", out, "q", q));
    HA_TRY(ha::check_no_self_overlap("out", out));
    HA_TRY(check_disjoint("out", so, "q", sq));
    HA_TRY(check_disjoint("out", so, "k", sk));
    HA_TRY(check_disjoint("out", so, "v", sv));
    return HA_OK;
}

int32_t check_attention_operands(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                 const ha_tensor* out, const ha_tensor* lse, Placement where,
                                 DtypeCheck check_dtype) {
    const bool any_device = where == Placement::AnyDevice;
    auto structure = [&](const char* name, const ha_tensor* t, ha::Span* span) {
        return any_device ? ha::check_tensor_any_device(name, t, span)
                          : ha::check_tensor(name, t, span);
    };
    ha::Span sq, sk, sv, so, sl;
    HA_TRY(structure("q", q, &sq));
    HA_TRY(structure("k", k, &sk));
    HA_TRY(structure("v", v, &sv));
    HA_TRY(structure("out", out, &so));
    if (any_device) {
        HA_TRY(ha::check_same_device("k", k, "q", q));
        HA_TRY(ha::check_same_device("v", v, "q", q));
        HA_TRY(ha::check_same_device("out", out, "q", q));
    }
    for (auto [name, t] : {std::pair{"k", k}, {"v", v}, {"out", out}})
        if (t->dtype != q->dtype)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: dtype %s differs from q's %s", name,
                        ha::dtype_name(t->dtype), ha::dtype_name(q->dtype));
    HA_TRY(check_dtype("q", q));

    const int64_t B = q->shape[0], Hq = q->shape[1], Nq = q->shape[2];
    if (B < 1) return fail(HA_ERR_INVALID_ARGUMENT, "q: batch must be >= 1, got %" PRId64, B);
    if (k->shape[0] != B)
        return fail(HA_ERR_INVALID_ARGUMENT, "k: batch %" PRId64 " differs from q's %" PRId64,
                    k->shape[0], B);
    HA_TRY(check_heads_and_output(q, k, v, out, sq, sk, sv, so));
    if (lse) {
        if (any_device) {
            HA_TRY(ha::check_lse_any_device("lse", lse, B, Hq, Nq, &sl));
            HA_TRY(ha::check_same_device("lse", lse, "q", q));
        } else {
            HA_TRY(ha::check_lse("lse", lse, B, Hq, Nq, &sl));
        }
        HA_TRY(ha::check_no_self_overlap("lse", lse));
        HA_TRY(check_disjoint("lse", sl, "q", sq));
        HA_TRY(check_disjoint("lse", sl, "k", sk));
        HA_TRY(check_disjoint("lse", sl, "v", sv));
        HA_TRY(check_disjoint("lse", sl, "out", so));
    }
    return HA_OK;
}

}  // namespace ha::api
