// Entry points of HSR sparse attention and the key index (issue 4). Every argument is
// validated here, once; the CPU code in cpu/hsr/ may then assume well-formed inputs.
#include "tensor_check.h"
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "api_common.h"
#include "cpu/hsr/engine.h"
#include "cpu/hsr/key_index.h"
#include "cpu/hsr/numerics.h"

namespace {

using ha::fail;
using namespace ha::api;
namespace hsr = ha::cpu::hsr;

hsr::Tensor4 t4(const ha_tensor* t) { return hsr::Tensor4{view_of(t), t->dtype}; }

// A K (or V) operand of the index: [B, H, N, D], f32 or bf16, N < 2^31 (positions are int32).
int32_t check_cache(const char* name, const ha_tensor* t, ha::Span* span) {
    HA_TRY(ha::check_tensor(name, t, span));
    HA_TRY(check_backend_dtype(name, t));
    if (t->shape[0] < 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: batch must be >= 1, got %" PRId64, name, t->shape[0]);
    if (t->shape[1] < 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: heads must be >= 1, got %" PRId64, name, t->shape[1]);
    if (t->shape[3] < 1 || t->shape[3] > 256)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: head_dim must be in 1..256, got %" PRId64, name,
                    t->shape[3]);
    if (t->shape[2] > INT32_MAX)
        return fail(HA_ERR_INVALID_ARGUMENT, "%s: seq must be < 2^31 for an index, got %" PRId64,
                    name, t->shape[2]);
    return HA_OK;
}

// Queries of a kv cache k: same batch and head_dim, a whole number of heads per kv head.
int32_t check_queries(const ha_tensor* q, const ha_tensor* k) {
    if (q->shape[0] != k->shape[0])
        return fail(HA_ERR_INVALID_ARGUMENT, "q: batch %" PRId64 " differs from k's %" PRId64,
                    q->shape[0], k->shape[0]);
    if (q->shape[1] < 1) return fail(HA_ERR_INVALID_ARGUMENT, "q: heads must be >= 1, got %" PRId64, q->shape[1]);
    if (q->shape[3] != k->shape[3])
        return fail(HA_ERR_INVALID_ARGUMENT, "q: head_dim %" PRId64 " differs from k's %" PRId64,
                    q->shape[3], k->shape[3]);
    if (q->shape[1] % k->shape[1] != 0)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "q: heads %" PRId64 " not divisible by kv heads %" PRId64
                    " (GQA needs a whole number of query heads per kv head)",
                    q->shape[1], k->shape[1]);
    return HA_OK;
}

float element(const ha_tensor* t, int64_t b, int64_t h, int64_t s, int64_t d) {
    const int64_t off = b * t->strides[0] + h * t->strides[1] + s * t->strides[2] + d * t->strides[3];
    if (t->dtype == HA_DTYPE_BF16) {
        uint16_t u;
        std::memcpy(&u, static_cast<const uint16_t*>(t->data) + off, 2);
        return hsr::bf16_bits_to_f32(u);
    }
    if (t->dtype == HA_DTYPE_F16) {
        uint16_t u;
        std::memcpy(&u, static_cast<const uint16_t*>(t->data) + off, 2);
        return ha::f16_bits_to_f32(u);
    }
    float f;
    std::memcpy(&f, static_cast<const float*>(t->data) + off, 4);
    return f;
}

// Bounds and exact reporting need finite queries (q is small next to the cache).
int32_t check_finite_queries(const ha_tensor* q) {
    for (int64_t b = 0; b < q->shape[0]; ++b)
        for (int64_t h = 0; h < q->shape[1]; ++h)
            for (int64_t i = 0; i < q->shape[2]; ++i)
                for (int64_t d = 0; d < q->shape[3]; ++d)
                    if (!std::isfinite(element(q, b, h, i, d)))
                        return fail(HA_ERR_INVALID_ARGUMENT,
                                    "q: non-finite value at batch %" PRId64 ", head %" PRId64
                                    ", position %" PRId64 ", dim %" PRId64,
                                    b, h, i, d);
    return HA_OK;
}


int32_t create_impl(const ha_tensor* k, const ha_tensor* v, const ha_index_params* params,
                    ha_key_index** index) {
    if (!index) return fail(HA_ERR_INVALID_ARGUMENT, "index: the out-pointer must not be NULL");
    *index = nullptr;
    ha::Span sk, sv;
    HA_TRY(check_cache("k", k, &sk));
    if (v) {
        HA_TRY(ha::check_tensor("v", v, &sv));
        if (v->dtype != k->dtype)
            return fail(HA_ERR_INVALID_ARGUMENT, "v: dtype %s differs from k's %s",
                        ha::dtype_name(v->dtype), ha::dtype_name(k->dtype));
        HA_TRY(ha::check_same_shape("v", v, "k", k));
    }
    ha_index_params defaults;
    ha_index_params_init(&defaults);
    const ha_index_params* p = params ? params : &defaults;
    if (p->block_size < 8 || p->block_size > 1024)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.block_size: must be in 8..1024, got %d",
                    p->block_size);
    if (p->kmeans_iters < 0 || p->kmeans_iters > 64)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.kmeans_iters: must be in 0..64, got %d",
                    p->kmeans_iters);
    if (p->copy_keys != 0 && p->copy_keys != 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.copy_keys: must be 0 or 1, got %d",
                    p->copy_keys);
    if (p->reserved != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.reserved: must be 0, got %d", p->reserved);
    hsr::IndexOptions opt;
    opt.block_size = p->block_size;
    opt.kmeans_iters = p->kmeans_iters;
    opt.copy_keys = p->copy_keys != 0;
    opt.seed = p->seed;
    const hsr::Tensor4 tk = t4(k), tv = v ? t4(v) : hsr::Tensor4{};
    return hsr::index_build(tk, v ? &tv : nullptr, opt, index);
}

int32_t append_impl(ha_key_index* x, const ha_tensor* k, const ha_tensor* v) {
    if (!x) return fail(HA_ERR_INVALID_ARGUMENT, "index: must not be NULL");
    ha::Span sk, sv;
    HA_TRY(check_cache("k", k, &sk));
    if (k->dtype != x->dtype)
        return fail(HA_ERR_INVALID_ARGUMENT, "k: dtype %s differs from the index's %s",
                    ha::dtype_name(k->dtype), ha::dtype_name(x->dtype));
    HA_TRY(check_same_layout("k", k, x->kdata, x->kstr, "keys"));
    if (k->shape[0] != x->B || k->shape[1] != x->H || k->shape[3] != x->D)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "k: shape [%" PRId64 ", %" PRId64 ", _, %" PRId64
                    "] differs from the index's [%" PRId64 ", %" PRId64 ", _, %" PRId64 "]",
                    k->shape[0], k->shape[1], k->shape[3], x->B, x->H, x->D);
    if (k->shape[2] < x->N)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "k: seq %" PRId64 " is shorter than the %" PRId64 " keys already indexed",
                    k->shape[2], x->N);
    if (x->has_v && !v)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "v: the index was built with values, so append needs the same v");
    if (!x->has_v && v)
        return fail(HA_ERR_INVALID_ARGUMENT, "v: must be NULL, the index was built without values");
    if (v) {
        HA_TRY(ha::check_tensor("v", v, &sv));
        if (v->dtype != k->dtype)
            return fail(HA_ERR_INVALID_ARGUMENT, "v: dtype %s differs from k's %s",
                        ha::dtype_name(v->dtype), ha::dtype_name(k->dtype));
        HA_TRY(ha::check_same_shape("v", v, "k", k));
        HA_TRY(check_same_layout("v", v, x->vdata, x->vstr, "values"));
    }
    const hsr::Tensor4 tk = t4(k), tv = v ? t4(v) : hsr::Tensor4{};
    return hsr::index_append(x, tk, v ? &tv : nullptr);
}

int32_t info_impl(const ha_key_index* x, ha_key_index_info* info) {
    if (!x) return fail(HA_ERR_INVALID_ARGUMENT, "index: must not be NULL");
    if (!info) return fail(HA_ERR_INVALID_ARGUMENT, "info: must not be NULL");
    info->batch = x->B;
    info->heads = x->H;
    info->keys = x->N;
    info->head_dim = x->D;
    info->blocks = 0;
    for (const hsr::HeadIndex& h : x->heads) info->blocks = std::max(info->blocks, h.nb);
    info->sealed_keys = x->heads.empty() || x->heads[0].bstart.empty() ? 0 : x->heads[0].bstart[size_t(x->heads[0].nb)];
    info->bytes = hsr::index_bytes(*x);
    info->dtype = x->dtype;
    info->block_size = x->opt.block_size;
    return HA_OK;
}

int32_t report_impl(const ha_key_index* index, const ha_tensor* k, const ha_tensor* q,
                    float threshold, int64_t* counts, int32_t* indices, int64_t capacity,
                    int64_t* total) {
    ha::Span sk, sq;
    HA_TRY(check_cache("k", k, &sk));
    HA_TRY(ha::check_tensor("q", q, &sq));
    HA_TRY(check_backend_dtype("q", q));
    HA_TRY(check_queries(q, k));
    if (!std::isfinite(threshold))
        return fail(HA_ERR_INVALID_ARGUMENT, "threshold: must be finite, got %g", double(threshold));
    if (!counts) return fail(HA_ERR_INVALID_ARGUMENT, "counts: must not be NULL");
    if (!total) return fail(HA_ERR_INVALID_ARGUMENT, "total: must not be NULL");
    if (capacity < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "capacity: must be >= 0, got %" PRId64, capacity);
    if (index) HA_TRY(check_index_for(index, k, nullptr, false));
    const int64_t rows = q->shape[0] * q->shape[1] * q->shape[2];
    const std::vector<std::pair<const char*, ha::Span>> inputs{{"q", sq}, {"k", sk}};
    HA_TRY(check_stats_array("counts", counts, rows, 8, inputs));
    HA_TRY(check_stats_array("indices", indices, capacity, 4, inputs));
    HA_TRY(check_stats_array("total", total, 1, 8, inputs));
    if (indices && capacity > 0) {
        const ha::Span sc{reinterpret_cast<uintptr_t>(counts),
                          reinterpret_cast<uintptr_t>(counts) + uintptr_t(rows * 8)};
        HA_TRY(check_stats_array("indices", indices, capacity, 4, {{"counts", sc}}));
    }
    HA_TRY(check_finite_queries(q));

    std::vector<std::vector<int32_t>> lists(static_cast<size_t>(rows));
    if (rows > 0) {
        hsr::Query query;
        query.mode = hsr::Mode::Report;
        query.q = t4(q);
        query.k = t4(k);
        query.index = index;
        query.threshold = threshold;
        query.lists = &lists;
        HA_TRY(hsr::run_query(query));
    }
    int64_t sum = 0;
    for (int64_t r = 0; r < rows; ++r) {
        counts[r] = int64_t(lists[size_t(r)].size());
        sum += counts[r];
    }
    *total = sum;
    if (!indices) return HA_OK;
    if (capacity < sum)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "indices: capacity %" PRId64 " is less than the %" PRId64
                    " reported keys (counts and total are filled; call again with a larger buffer)",
                    capacity, sum);
    int64_t at = 0;
    for (const auto& l : lists) {
        if (!l.empty()) std::memcpy(indices + at, l.data(), l.size() * 4);
        at += int64_t(l.size());
    }
    return HA_OK;
}

int32_t attention_impl(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                       const ha_tensor* out, const ha_key_index* index,
                       const ha_hsr_params* params, ha_hsr_stats* stats) {
    ha::Span sq, sk, sv, so;
    HA_TRY(ha::check_tensor("q", q, &sq));
    HA_TRY(check_cache("k", k, &sk));
    HA_TRY(ha::check_tensor("v", v, &sv));
    HA_TRY(ha::check_tensor("out", out, &so));
    for (auto [name, t] : {std::pair{"k", k}, {"v", v}, {"out", out}})
        if (t->dtype != q->dtype)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: dtype %s differs from q's %s", name,
                        ha::dtype_name(t->dtype), ha::dtype_name(q->dtype));
    HA_TRY(check_queries(q, k));
    HA_TRY(check_value_and_output(q, k, v, out, sq, sk, sv, so));

    ha_hsr_params defaults;
    ha_hsr_params_init(&defaults);
    const ha_hsr_params* p = params ? params : &defaults;
    if (p->mode != HA_HSR_RELU && p->mode != HA_HSR_SOFTMAX)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "params.mode: must be HA_HSR_RELU (0) or HA_HSR_SOFTMAX (1), got %d", p->mode);
    if (p->alpha < 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.alpha: must be >= 1, got %d", p->alpha);
    if (!std::isfinite(p->bias))
        return fail(HA_ERR_INVALID_ARGUMENT, "params.bias: must be finite, got %g", double(p->bias));
    HA_TRY(check_scale(p->scale));
    if (!(p->epsilon > 0.0 && p->epsilon < 1.0))
        return fail(HA_ERR_INVALID_ARGUMENT, "params.epsilon: must be in (0, 1), got %g", p->epsilon);
    if (p->causal != 0 && p->causal != 1)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.causal: must be 0 or 1, got %d", p->causal);
    if (p->reserved != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.reserved: must be 0, got %d", p->reserved);
    if (p->stream)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.stream: must be NULL for CPU tensors");
    if (index) HA_TRY(check_index_for(index, k, v, true));

    const int64_t rows = q->shape[0] * q->shape[1] * q->shape[2];
    if (stats) {
        const std::vector<std::pair<const char*, ha::Span>> others{
            {"q", sq}, {"k", sk}, {"v", sv}, {"out", so}};
        HA_TRY(check_stats_array("stats.dropped_mass", stats->dropped_mass, rows, 4, others));
        HA_TRY(check_stats_array("stats.error_bound", stats->error_bound, rows, 4, others));
        HA_TRY(check_stats_array("stats.keys_touched", stats->keys_touched, rows, 8, others));
    }
    if (rows == 0) return HA_OK;

    // Non-finite policy (hyperattn.h): a query row with a non-finite element gets a NaN output
    // and no certificate (+inf bounds). The bounds and reporting need finite queries, so such
    // rows run as zero rows of a private copy of q and are overwritten afterwards.
    const int64_t Hq = q->shape[1], Nq = q->shape[2], D = q->shape[3];
    std::vector<unsigned char> bad_row(size_t(rows), 0);
    bool any_bad = false;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = r / (Hq * Nq), h = (r / Nq) % Hq, i = r % Nq;
        for (int64_t d = 0; d < D; ++d)
            if (!std::isfinite(element(q, b, h, i, d))) {
                bad_row[size_t(r)] = 1;
                any_bad = true;
                break;
            }
    }
    ha_tensor q_clean = *q;
    std::vector<float> q_copy;
    if (any_bad) {
        const int64_t es = ha::dtype_size(q->dtype);
        q_copy.assign(size_t((rows * D * es + 3) / 4), 0.f);
        q_clean.data = q_copy.data();
        q_clean.strides[3] = 1;
        q_clean.strides[2] = D;
        q_clean.strides[1] = Nq * D;
        q_clean.strides[0] = Hq * Nq * D;
        for (int64_t r = 0; r < rows; ++r) {
            if (bad_row[size_t(r)]) continue;
            const int64_t b = r / (Hq * Nq), h = (r / Nq) % Hq, i = r % Nq;
            const int64_t src = b * q->strides[0] + h * q->strides[1] + i * q->strides[2];
            for (int64_t d = 0; d < D; ++d)
                std::memcpy(reinterpret_cast<unsigned char*>(q_copy.data()) + (r * D + d) * es,
                            static_cast<const unsigned char*>(q->data) + (src + d * q->strides[3]) * es,
                            size_t(es));
        }
    }

    hsr::Query query;
    query.mode = p->mode == HA_HSR_RELU ? hsr::Mode::Relu : hsr::Mode::Softmax;
    query.q = t4(&q_clean);
    query.k = t4(k);
    query.v = t4(v);
    query.out = t4(out);
    query.index = index;
    query.scale = resolve_scale(p->scale, q->shape[3]);
    query.bias = p->bias;
    query.power = p->alpha;
    query.epsilon = p->epsilon;
    query.causal = p->causal != 0;
    if (stats) {
        query.dropped = stats->dropped_mass;
        query.error_bound = stats->error_bound;
        query.touched = stats->keys_touched;
    }
    HA_TRY(hsr::run_query(query));
    // No certificate on a non-finite output: such a row (a bad query row, or scores beyond
    // the documented range) becomes NaN with +inf dropped mass and error bound.
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t b = r / (Hq * Nq), h = (r / Nq) % Hq, i = r % Nq;
        bool finite = !bad_row[size_t(r)];
        for (int64_t d = 0; d < D && finite; ++d) finite = std::isfinite(element(out, b, h, i, d));
        if (finite) continue;
        const int64_t off = b * out->strides[0] + h * out->strides[1] + i * out->strides[2];
        for (int64_t d = 0; d < D; ++d) {
            const int64_t e = off + d * out->strides[3];
            if (out->dtype == HA_DTYPE_BF16)
                static_cast<uint16_t*>(out->data)[e] = 0x7fc0;
            else if (out->dtype == HA_DTYPE_F16)
                static_cast<uint16_t*>(out->data)[e] = 0x7e00;  // quiet NaN
            else
                static_cast<float*>(out->data)[e] = NAN;
        }
        if (stats) {
            if (stats->dropped_mass) stats->dropped_mass[r] = INFINITY;
            if (stats->error_bound) stats->error_bound[r] = INFINITY;
            if (stats->keys_touched && bad_row[size_t(r)]) stats->keys_touched[r] = 0;
        }
    }
    return HA_OK;
}

}  // namespace

extern "C" {

HA_API void ha_index_params_init(ha_index_params* params) {
    if (!params) return;
    params->block_size = 64;
    params->kmeans_iters = 4;
    params->seed = 0;
    params->copy_keys = 1;
    params->reserved = 0;
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
                                   const ha_index_params* params, ha_key_index** index,
                                   const void* k_data, const void* v_data) {
    return guarded([&] {
        HA_TRY(check_data_args({{"k", data_of(k), k_data}, {"v", data_of(v), v_data}}));
        return create_impl(k, v, params, index);
    });
}

HA_API int32_t ha_key_index_append(ha_key_index* index, const ha_tensor* k, const ha_tensor* v,
                                   const void* k_data, const void* v_data) {
    return guarded([&] {
        HA_TRY(check_data_args({{"k", data_of(k), k_data}, {"v", data_of(v), v_data}}));
        return append_impl(index, k, v);
    });
}

HA_API int32_t ha_key_index_get_info(const ha_key_index* index, ha_key_index_info* info) {
    return guarded([&] { return info_impl(index, info); });
}

HA_API void ha_key_index_destroy(ha_key_index* index) { delete index; }

HA_API int32_t ha_hsr_report(const ha_key_index* index, const ha_tensor* k, const ha_tensor* q,
                             float threshold, int64_t* counts, int32_t* indices,
                             int64_t capacity, int64_t* total, const void* k_data,
                             const void* q_data) {
    return guarded([&] {
        HA_TRY(check_data_args({{"k", data_of(k), k_data}, {"q", data_of(q), q_data}}));
        return report_impl(index, k, q, threshold, counts, indices, capacity, total);
    });
}

HA_API int32_t ha_attention_hsr(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                const ha_tensor* out, const ha_key_index* index,
                                const ha_hsr_params* params, ha_hsr_stats* stats,
                                const void* q_data, const void* k_data, const void* v_data,
                                void* out_data, float* dropped_mass_data,
                                float* error_bound_data, int64_t* keys_touched_data) {
    return guarded([&] {
        HA_TRY(check_data_args(
            {{"q", data_of(q), q_data}, {"k", data_of(k), k_data}, {"v", data_of(v), v_data},
             {"out", data_of(out), out_data},
             {"stats.dropped_mass", stats ? stats->dropped_mass : nullptr, dropped_mass_data},
             {"stats.error_bound", stats ? stats->error_bound : nullptr, error_bound_data},
             {"stats.keys_touched", stats ? stats->keys_touched : nullptr, keys_touched_data}}));
        return attention_impl(q, k, v, out, index, params, stats);
    });
}

}  // extern "C"
