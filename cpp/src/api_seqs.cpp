// ha_attention_exact_seqs: a batch of sequences of different lengths (packed queries; packed,
// padded or paged keys). Everything is validated here, every offset and page index included
// (for CUDA tensors on copies of the device arrays read back to the host), then the CPU runs
// each sequence as one exact problem on sub-views of the caller's tensors, and the CUDA backend
// runs the whole batch in one launch per kernel; either way a sequence's rows are those of
// ha_attention_exact on that sequence alone.
#include <cinttypes>
#include <vector>

#include "api_common.h"

namespace {

using ha::fail;
using namespace ha::api;

// An int32 array of n elements the library reads: non-null, aligned, not inside an output.
int32_t check_int_array(const char* name, const int32_t* a, int64_t n, const ha::Span& out,
                        const ha::Span& lse) {
    if (!a) return fail(HA_ERR_INVALID_ARGUMENT, "seqs.%s: is NULL", name);
    if (reinterpret_cast<uintptr_t>(a) % alignof(int32_t) != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "seqs.%s: %p is not 4-byte aligned", name,
                    static_cast<const void*>(a));
    ha::Span s;
    s.lo = reinterpret_cast<uintptr_t>(a);
    s.hi = s.lo + uintptr_t(n) * sizeof(int32_t);
    if (n > 0 && (s.overlaps(out) || s.overlaps(lse)))
        return fail(HA_ERR_INVALID_ARGUMENT, "seqs.%s: overlaps out or lse, which are written",
                    name);
    return HA_OK;
}

// cu[0] == 0, non-decreasing, cu[count] <= total.
int32_t check_offsets(const char* name, const int32_t* cu, int64_t count, int64_t total,
                      const char* tensor) {
    if (cu[0] != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "seqs.%s[0]: must be 0, got %d", name, cu[0]);
    for (int64_t b = 0; b < count; ++b)
        if (cu[b + 1] < cu[b])
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "seqs.%s: offsets must not decrease, but [%" PRId64 "] = %d > [%" PRId64
                        "] = %d",
                        name, b, cu[b], b + 1, cu[b + 1]);
    if (cu[count] > total)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "seqs.%s[%" PRId64 "] = %d exceeds the %" PRId64 " rows of %s", name, count,
                    cu[count], total, tensor);
    return HA_OK;
}

const char* advance(const ha_tensor* t, int64_t rows_off, int dim) {
    // (A NULL data pointer of an empty tensor must not be offset: UB.)
    if (!t->data) return nullptr;
    return static_cast<const char*>(t->data) +
           rows_off * t->strides[dim] * ha::dtype_size(t->dtype);
}

// The int32 arrays as the host can read them: the caller's own memory for CPU tensors; for
// CUDA tensors (whose arrays are device memory) copies read back on params.stream, which the
// call waits for (hyperattn.h, ha_seqs).
struct HostArrays {
    bool on_cuda = false;
    int32_t device = 0;
    void* stream = nullptr;
    std::vector<int32_t> bufs[4];

    // rows x width values, rows `pitch` apart in src; *out points at them, rows `*out_pitch`
    // apart.
    int32_t read(int slot, const char* name, const int32_t* src, int64_t rows, int64_t width,
                 int64_t pitch, const int32_t** out, int64_t* out_pitch = nullptr) {
        if (!on_cuda) {
            *out = src;
            if (out_pitch) *out_pitch = pitch;
            return HA_OK;
        }
#ifdef HA_HAVE_CUDA
        std::vector<int32_t>& buf = bufs[slot];
        buf.assign(size_t(std::max<int64_t>(1, rows * width)), 0);
        HA_TRY(ha::cuda::read_device_ints(device, stream, name, src, rows, width, pitch,
                                          buf.data()));
        *out = buf.data();
        if (out_pitch) *out_pitch = width;
        return HA_OK;
#else
        return fail(HA_ERR_INTERNAL, "%s: CUDA memory reached a build without CUDA", name);
#endif
    }
};

int32_t seqs_impl(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                  const ha_tensor* out, const ha_tensor* lse, const ha_seqs* seqs,
                  const ha_exact_params* params) {
    if (!seqs) return fail(HA_ERR_INVALID_ARGUMENT, "seqs: is NULL (required)");
    ha_exact_params defaults;
    ha_exact_params_init(&defaults);
    const ha_exact_params* p = params ? params : &defaults;

    ha::Span sq, sk, sv, so, sl;
    HA_TRY(ha::check_tensor_any_device("q", q, &sq));
    HA_TRY(ha::check_tensor_any_device("k", k, &sk));
    HA_TRY(ha::check_tensor_any_device("v", v, &sv));
    HA_TRY(ha::check_tensor_any_device("out", out, &so));
    HA_TRY(ha::check_same_device("k", k, "q", q));
    HA_TRY(ha::check_same_device("v", v, "q", q));
    HA_TRY(ha::check_same_device("out", out, "q", q));
    for (auto [name, t] : {std::pair{"k", k}, {"v", v}, {"out", out}})
        if (t->dtype != q->dtype)
            return fail(HA_ERR_INVALID_ARGUMENT, "%s: dtype %s differs from q's %s", name,
                        ha::dtype_name(t->dtype), ha::dtype_name(q->dtype));
    HA_TRY(check_dtype_for_device("q", q));
    HA_TRY(check_exact_params(p));
    const bool on_cuda = q->device_type == HA_DEVICE_CUDA;
    if (p->stream && !on_cuda)
        return fail(HA_ERR_INVALID_ARGUMENT, "params.stream: must be NULL for CPU tensors");
    if (seqs->reserved != 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "seqs.reserved: must be 0, got %d", seqs->reserved);
    const int64_t count = seqs->count;
    if (count < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "seqs.count: must be >= 0, got %" PRId64, count);
    if (seqs->page_size < 0)
        return fail(HA_ERR_INVALID_ARGUMENT, "seqs.page_size: must be >= 0 (0: not paged), got %d",
                    seqs->page_size);

    const int64_t Hq = q->shape[1], D = q->shape[3];
    HA_TRY(check_heads_and_output(q, k, v, out, sq, sk, sv, so));

    // Query rows.
    const bool packed_q = seqs->cu_seqlens_q != nullptr;
    if (packed_q && q->shape[0] != 1)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "q: batch must be 1 with seqs.cu_seqlens_q (packed rows [1, H, total, D]), "
                    "got %" PRId64,
                    q->shape[0]);
    if (!packed_q && q->shape[0] != count)
        return fail(HA_ERR_INVALID_ARGUMENT,
                    "q: batch %" PRId64 " differs from seqs.count %" PRId64
                    " (without cu_seqlens_q every sequence has q's n_q rows)",
                    q->shape[0], count);
    if (lse) {
        if (on_cuda) {
            HA_TRY(ha::check_lse_any_device("lse", lse, q->shape[0], Hq, q->shape[2], &sl));
            HA_TRY(ha::check_same_device("lse", lse, "q", q));
        } else {
            HA_TRY(ha::check_lse("lse", lse, q->shape[0], Hq, q->shape[2], &sl));
        }
        HA_TRY(ha::check_no_self_overlap("lse", lse));
        HA_TRY(check_disjoint("lse", sl, "q", sq));
        HA_TRY(check_disjoint("lse", sl, "k", sk));
        HA_TRY(check_disjoint("lse", sl, "v", sv));
        HA_TRY(check_disjoint("lse", sl, "out", so));
    }
    const bool paged = seqs->page_size > 0;
    const int64_t ps = seqs->page_size;
#ifdef HA_HAVE_CUDA
    if (on_cuda) {
        HA_TRY(check_cuda_seq("q", q->shape[2]));
        HA_TRY(check_cuda_seq("k", k->shape[2]));
        if (count * std::max(Hq, k->shape[1]) > (int64_t(1) << 30))
            return fail(HA_ERR_UNSUPPORTED,
                        "seqs.count: sequences x heads exceeds 2^30, the CUDA backend's limit");
        // Everything below reads the arrays, which needs the device.
        HA_TRY(ha::cuda::require_device("q", q->device_id));
    }
#endif
    HostArrays host;
    host.on_cuda = on_cuda;
    host.device = q->device_id;
    host.stream = p->stream;
    const int32_t* cu_q = nullptr;
    if (packed_q) {
        HA_TRY(check_int_array("cu_seqlens_q", seqs->cu_seqlens_q, count + 1, so, sl));
        HA_TRY(host.read(0, "seqs.cu_seqlens_q", seqs->cu_seqlens_q, 1, count + 1, count + 1,
                         &cu_q));
        HA_TRY(check_offsets("cu_seqlens_q", cu_q, count, q->shape[2], "q"));
    }

    // Keys.
    const int32_t* cu_k = nullptr;
    const int32_t* lens = nullptr;
    if (paged) {
        if (seqs->cu_seqlens_k)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "seqs.cu_seqlens_k: must be NULL with a paged cache (page_size %" PRId64
                        ")",
                        ps);
        if (k->shape[2] != ps)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "k: seq extent %" PRId64 " differs from seqs.page_size %" PRId64
                        " (paged keys are [num_pages, Hkv, page_size, D])",
                        k->shape[2], ps);
        if (seqs->max_pages < 1)
            return fail(HA_ERR_INVALID_ARGUMENT, "seqs.max_pages: must be >= 1, got %d",
                        seqs->max_pages);
        if (seqs->block_table_stride > (int64_t(1) << 31))
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "seqs.block_table_stride: %" PRId64 " exceeds 2^31",
                        seqs->block_table_stride);
        if (seqs->block_table_stride < seqs->max_pages)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "seqs.block_table_stride: %" PRId64 " is less than max_pages %d",
                        seqs->block_table_stride, seqs->max_pages);
        if (!seqs->seqlens_k)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "seqs.seqlens_k: is NULL (a paged cache needs each sequence's length)");
        if (count > 0) {
            HA_TRY(check_int_array("seqlens_k", seqs->seqlens_k, count, so, sl));
            HA_TRY(check_int_array("block_table", seqs->block_table,
                                   (count - 1) * seqs->block_table_stride + seqs->max_pages, so,
                                   sl));
            HA_TRY(host.read(2, "seqs.seqlens_k", seqs->seqlens_k, 1, count, count, &lens));
        }
        // Every length first, then the table entries they use (only those are read back).
        int64_t used_pages = 0;
        for (int64_t b = 0; b < count; ++b) {
            const int64_t n = lens[b];
            if (n < 0 || n > int64_t(seqs->max_pages) * ps)
                return fail(HA_ERR_INVALID_ARGUMENT,
                            "seqs.seqlens_k[%" PRId64 "]: %" PRId64
                            " is outside 0..max_pages * page_size = %" PRId64,
                            b, n, int64_t(seqs->max_pages) * ps);
            used_pages = std::max(used_pages, (n + ps - 1) / ps);
        }
        const int32_t* table = nullptr;
        int64_t table_pitch = 0;
        if (used_pages > 0)
            HA_TRY(host.read(3, "seqs.block_table", seqs->block_table, count, used_pages,
                             seqs->block_table_stride, &table, &table_pitch));
        const int64_t num_pages = k->shape[0];
        for (int64_t b = 0; b < count; ++b) {
            const int32_t* row = table + b * table_pitch;
            for (int64_t j = 0; j < (lens[b] + ps - 1) / ps; ++j)
                if (row[j] < 0 || row[j] >= num_pages)
                    return fail(HA_ERR_INVALID_ARGUMENT,
                                "seqs.block_table[%" PRId64 "][%" PRId64 "]: page %d is outside "
                                "0..%" PRId64 " (k has %" PRId64 " pages)",
                                b, j, row[j], num_pages - 1, num_pages);
        }
    } else {
        if (seqs->block_table)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "seqs.block_table: given, but page_size is 0 (not paged)");
        const bool packed_k = seqs->cu_seqlens_k != nullptr;
        if (packed_k && k->shape[0] != 1)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "k: batch must be 1 with seqs.cu_seqlens_k (packed keys [1, Hkv, total, "
                        "D]), got %" PRId64,
                        k->shape[0]);
        if (!packed_k && k->shape[0] != count)
            return fail(HA_ERR_INVALID_ARGUMENT,
                        "k: batch %" PRId64 " differs from seqs.count %" PRId64
                        " (a dense cache holds one row of keys per sequence)",
                        k->shape[0], count);
        if (packed_k) {
            HA_TRY(check_int_array("cu_seqlens_k", seqs->cu_seqlens_k, count + 1, so, sl));
            HA_TRY(host.read(1, "seqs.cu_seqlens_k", seqs->cu_seqlens_k, 1, count + 1,
                             count + 1, &cu_k));
            HA_TRY(check_offsets("cu_seqlens_k", cu_k, count, k->shape[2], "k"));
        }
        if (seqs->seqlens_k && count > 0) {
            HA_TRY(check_int_array("seqlens_k", seqs->seqlens_k, count, so, sl));
            HA_TRY(host.read(2, "seqs.seqlens_k", seqs->seqlens_k, 1, count, count, &lens));
            for (int64_t b = 0; b < count; ++b) {
                const int64_t extent = packed_k ? int64_t(cu_k[b + 1]) - cu_k[b] : k->shape[2];
                if (lens[b] < 0 || lens[b] > extent)
                    return fail(HA_ERR_INVALID_ARGUMENT,
                                "seqs.seqlens_k[%" PRId64 "]: %d is outside 0..%" PRId64
                                " (the sequence's keys)",
                                b, lens[b], extent);
            }
        }
    }
    if (count == 0) return HA_OK;

    // Each sequence's rows and keys.
    std::vector<int32_t> nq(static_cast<size_t>(count)), nk(static_cast<size_t>(count));
    for (int64_t b = 0; b < count; ++b) {
        nq[size_t(b)] = packed_q ? cu_q[b + 1] - cu_q[b] : int32_t(q->shape[2]);
        nk[size_t(b)] = lens ? lens[b] : cu_k ? cu_k[b + 1] - cu_k[b] : int32_t(k->shape[2]);
    }
    const float scale = resolve_scale(p->scale, D);

    if (on_cuda) {
#ifdef HA_HAVE_CUDA
        for (int64_t b = 0; b < count; ++b)
            if (nk[size_t(b)] > (int64_t(1) << 30))
                return fail(HA_ERR_UNSUPPORTED,
                            "seqs.seqlens_k[%" PRId64 "]: %d keys exceed 2^30, the CUDA "
                            "backend's limit",
                            b, nk[size_t(b)]);
        ha::cuda::SeqsProblem sp{};
        sp.base = cuda_exact_problem(q, k, v, out, lse, scale, p);
        sp.count = int32_t(count);
        sp.cu_seqlens_q = seqs->cu_seqlens_q;
        sp.cu_seqlens_k = paged ? nullptr : seqs->cu_seqlens_k;
        sp.seqlens_k = seqs->seqlens_k;
        sp.block_table = paged ? seqs->block_table : nullptr;
        sp.block_table_stride = seqs->block_table_stride;
        sp.page_size = int32_t(ps);
        sp.nq = nq.data();
        sp.nk = nk.data();
        return ha::cuda::exact_seqs(sp);
#else
        return fail(HA_ERR_INTERNAL, "q: CUDA tensor reached a build without CUDA");
#endif
    }

    std::vector<ha::cpu::ExactProblem> probs;
    std::vector<double> work;
    probs.reserve(size_t(count));
    for (int64_t b = 0; b < count; ++b) {
        const int64_t q0 = packed_q ? cu_q[b] : 0;
        const int64_t n_q = nq[size_t(b)];
        if (n_q == 0) continue;
        ha_tensor qb = *q, ob = *out, lb{};
        const int qdim = packed_q ? 2 : 0;
        const int64_t qoff = packed_q ? q0 : b;
        qb.data = const_cast<char*>(advance(q, qoff, qdim));
        ob.data = const_cast<char*>(advance(out, qoff, qdim));
        qb.shape[0] = ob.shape[0] = 1;
        qb.shape[2] = ob.shape[2] = n_q;
        if (lse) {
            lb = *lse;
            lb.data = static_cast<float*>(lse->data) + qoff * lse->strides[qdim];
            lb.shape[0] = 1;
            lb.shape[2] = n_q;
        }
        ha_tensor kb = *k, vb = *v;
        kb.shape[0] = vb.shape[0] = 1;
        kb.shape[2] = vb.shape[2] = nk[size_t(b)];
        if (!paged) {
            const int kdim = cu_k ? 2 : 0;
            const int64_t koff = cu_k ? cu_k[b] : b;
            kb.data = const_cast<char*>(advance(k, koff, kdim));
            vb.data = const_cast<char*>(advance(v, koff, kdim));
        }
        ha::cpu::ExactProblem prob =
            cpu_exact_problem(&qb, &kb, &vb, &ob, lse ? &lb : nullptr, scale, p->causal != 0);
        set_mask_and_cap(&prob, p);
        if (paged) {
            const int32_t* table = seqs->block_table + b * seqs->block_table_stride;
            prob.k.pages = prob.v.pages = table;
            prob.k.page_size = prob.v.page_size = ps;
        }
        probs.push_back(prob);
        work.push_back(double(n_q) * double(std::max<int64_t>(kb.shape[2], 1)));
    }

    // A sequence with at least a thread's share of the work runs alone on every thread; the
    // others run side by side, one per thread (a nested parallel_for runs on its caller), the
    // largest first. Each sequence's arithmetic depends on its own shape only, so the results
    // are the same whichever way it runs.
    double total = 0;
    for (double w : work) total += w;
    // A batch this small (under ~2M multiply-adds: a decode step over short caches) finishes
    // before a sleeping pool thread would wake up: run it on the caller.
    const double mads = total * double(Hq) * double(D);
    const int threads = mads < double(1 << 21) ? 1 : std::max(1, ha::cpu::pool_threads());
    std::vector<size_t> shared;
    for (size_t i = 0; i < probs.size(); ++i) {
        if (threads > 1 && work[i] * threads >= total && probs.size() > 1) {
            HA_TRY(ha::cpu::exact_forward(probs[i]));
        } else if (threads == 1 || probs.size() == 1) {
            HA_TRY(ha::cpu::exact_forward(probs[i]));
        } else {
            shared.push_back(i);
        }
    }
    std::stable_sort(shared.begin(), shared.end(),
                     [&](size_t a, size_t b) { return work[a] > work[b]; });
    std::vector<int32_t> status(shared.size(), HA_OK);
    HA_TRY(ha::cpu::parallel_for(int64_t(shared.size()), threads, [&](int64_t t, int) {
        status[size_t(t)] = ha::cpu::exact_forward(probs[shared[size_t(t)]]);
    }));
    for (size_t t = 0; t < shared.size(); ++t)
        if (status[t] != HA_OK)
            return fail(status[t], "sequence %zu: %s", shared[t],
                        status[t] == HA_ERR_OUT_OF_MEMORY ? "out of memory" : "internal error");
    return HA_OK;
}

}  // namespace

extern "C" {

HA_API void ha_seqs_init(ha_seqs* seqs) {
    if (!seqs) return;
    *seqs = ha_seqs{};
}

HA_API int32_t ha_attention_exact_seqs(const ha_tensor* q, const ha_tensor* k,
                                       const ha_tensor* v, const ha_tensor* out,
                                       const ha_tensor* lse, const ha_seqs* seqs,
                                       const ha_exact_params* params, const void* q_data,
                                       const void* k_data, const void* v_data, void* out_data,
                                       void* lse_data, const int32_t* cu_seqlens_q_data,
                                       const int32_t* cu_seqlens_k_data,
                                       const int32_t* seqlens_k_data,
                                       const int32_t* block_table_data) {
    return guarded([&] {
        HA_TRY(check_data_args(
            {{"q", data_of(q), q_data},
             {"k", data_of(k), k_data},
             {"v", data_of(v), v_data},
             {"out", data_of(out), out_data},
             {"lse", data_of(lse), lse_data},
             {"cu_seqlens_q", seqs ? seqs->cu_seqlens_q : nullptr, cu_seqlens_q_data},
             {"cu_seqlens_k", seqs ? seqs->cu_seqlens_k : nullptr, cu_seqlens_k_data},
             {"seqlens_k", seqs ? seqs->seqlens_k : nullptr, seqlens_k_data},
             {"block_table", seqs ? seqs->block_table : nullptr, block_table_data}}));
        return seqs_impl(q, k, v, out, lse, seqs, params);
    });
}

}  // extern "C"
