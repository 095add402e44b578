// Exact attention and the LSE merge on a CUDA device: runtime checks, the choice of kernel
// (fast tiles, wide/strided tiles, split-KV decoding), scratch, launch and, for the NULL stream,
// the wait for completion.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cuda_backend.h"
#include "error.h"
#include "hyper_launch.h"
#include "launch.h"
#include "runtime.h"

namespace ha::cuda {
namespace {

void copy_strides(const View& v, int64_t out[4]) {
    for (int i = 0; i < 4; ++i) out[i] = v.strides[i];
}

// cp.async tiles move 16-byte chunks: the base and every row/head/batch step must keep that
// alignment, and head_dim must be contiguous. Extents of 1 never step, so their strides are
// free (PyTorch gives such dims arbitrary strides).
bool tile_aligned(const View& v) {
    if (reinterpret_cast<uintptr_t>(v.data) % 16 != 0) return false;
    for (int i = 0; i < 3; ++i)
        if (v.shape[i] > 1 && v.strides[i] % 8 != 0) return false;
    return v.shape[3] <= 1 || v.strides[3] == 1;
}

int32_t check_operands(const ExactProblem& p) {
    const struct {
        const char* name;
        const void* data;
        const int64_t* shape;
    } ops[] = {{"q", p.q.data, p.q.shape},
               {"k", p.k.data, p.k.shape},
               {"v", p.v.data, p.v.shape},
               {"out", p.out.data, p.out.shape}};
    for (const auto& o : ops) {
        if (o.shape[0] * o.shape[1] * o.shape[2] * o.shape[3] == 0) continue;
        int32_t st = check_device_pointer(o.name, o.data, p.device);
        if (st != HA_OK) return st;
    }
    if (p.lse && p.q.shape[0] * p.q.shape[1] * p.q.shape[2] > 0)
        return check_device_pointer("lse", p.lse, p.device);
    return HA_OK;
}

int32_t finish(const char* what, cudaError_t launch, cudaStream_t s, bool wait) {
    if (launch != cudaSuccess) return device_error(what, launch);
    if (wait) {
        const cudaError_t e = cudaStreamSynchronize(s);
        if (e != cudaSuccess) return device_error(what, e);
    }
    return HA_OK;
}

// The kernels' arguments for one problem's tensors (a dense call; the seqs fields null).
FwdArgs make_args(const ExactProblem& p) {
    FwdArgs a{};
    a.q = p.q.data;
    a.k = p.k.data;
    a.v = p.v.data;
    a.out = p.out.data;
    a.lse = p.lse;
    copy_strides(p.q, a.qs);
    copy_strides(p.k, a.ks);
    copy_strides(p.v, a.vs);
    copy_strides(p.out, a.os);
    for (int i = 0; i < 3; ++i) a.ls[i] = p.lse_strides[i];
    a.B = int(p.q.shape[0]);
    a.Hq = int(p.q.shape[1]);
    a.Nq = int(p.q.shape[2]);
    a.D = int(p.q.shape[3]);
    a.Hkv = int(p.k.shape[1]);
    a.Nk = int(p.k.shape[2]);
    a.scale = p.scale;
    // Causal is a right bound of 0 (hyperattn.h: causal caps window_right at 0).
    a.wl = p.window_left;
    a.wr = p.causal ? 0 : p.window_right;
    a.softcap = p.softcap;
    a.qscale = 1.f;
    if (p.dtype == HA_DTYPE_BF16) {  // see FwdArgs::qscale
        int e;
        std::frexp(p.scale * 1.4426950408889634f, &e);
        a.qscale = std::ldexp(1.f, e - 1);
    }
    a.page_size = 1;
    a.plan_batch = a.B;
    return a;
}

bool layout_aligned(const ExactProblem& p) {
    return p.q.shape[3] % 8 == 0 && tile_aligned(p.q) && tile_aligned(p.k) && tile_aligned(p.v) &&
           tile_aligned(p.out);
}

// Whether the split-KV decode kernel can serve this layout at all (per problem, the rows and
// keys decide: decode_shaped).
bool decode_layout(const ExactProblem& p, bool aligned) {
    const int64_t D = p.q.shape[3];
    return aligned && (D == 64 || D == 128) && smem_optin(p.device) >= decode_smem_bytes(int(D));
}

FwdPath forward_path(const FwdArgs& a, bool aligned) {
    return !aligned        ? FwdPath::Strided256
           : a.D == 64     ? FwdPath::Fast64
           : a.D == 128    ? FwdPath::Fast128
                           : FwdPath::Aligned256;
}

cudaError_t launch_forward(int32_t dtype, FwdPath path, const FwdArgs& a, cudaStream_t s) {
    return dtype == HA_DTYPE_F16 ? launch_forward_f16(path, a, s) : launch_forward_bf16(path, a, s);
}

// Split-KV decoding of d (its plan's largest split count in grid_splits), the combine when a
// sequence has more than one split, scratch from the pool.
int32_t run_decode(int32_t dtype, int32_t device, DecodeArgs d, cudaStream_t s) {
    Scratch scratch;
    int32_t st;
    if (d.grid_splits > 1) {
        const int64_t rows = int64_t(d.f.B) * d.f.Hq * d.part_nq;
        const size_t bytes =
            size_t(d.grid_splits) * size_t(rows) * size_t(d.f.D + 1) * sizeof(float);
        if ((st = scratch.allocate(device, bytes, s)) != HA_OK) return st;
        d.partial_o = static_cast<float*>(scratch.get());
        d.partial_lse = d.partial_o + d.grid_splits * rows * d.f.D;
    }
    cudaError_t e = launch_decode(dtype, d, s);
    if (e == cudaSuccess && d.grid_splits > 1) e = launch_combine(dtype, d, s);
    if (e != cudaSuccess) return device_error("split-KV decode launch", e);
    return scratch.release();
}

}  // namespace

int32_t prepare_call(const ExactProblem& p, cudaStream_t* s) {
    int32_t st;
    if ((st = require_sm80("q", p.device)) != HA_OK) return st;
    if ((st = resolve_stream("params.stream", p.stream, p.device, s)) != HA_OK) return st;
    return check_operands(p);
}

cudaError_t launch_exact_view(const ExactProblem& p, cudaStream_t s) {
    const FwdArgs a = make_args(p);
    if (a.Nq == 0 || a.B * a.Hq == 0) return cudaSuccess;
    return launch_forward(p.dtype, forward_path(a, layout_aligned(p)), a, s);
}

int32_t exact_forward(const ExactProblem& p) {
    int32_t st = require_device("q", p.device);
    if (st != HA_OK) return st;
    DeviceGuard guard(p.device);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = prepare_call(p, &s)) != HA_OK) return st;

    FwdArgs a = make_args(p);
    if (a.Nq == 0) return HA_OK;
    const bool wait = p.stream == nullptr;
    const bool aligned = layout_aligned(p);
    const int G = a.Hq / a.Hkv;
    if (decode_layout(p, aligned) && decode_shaped(a.Nq, a.Nk, G)) {
        a.sms = std::max(1, sm_count(p.device));
        DecodeArgs d{};
        d.f = a;
        d.grid_splits =
            decode_plan(a.Nq, a.Nk, G, a.Hkv, a.wl, a.wr, a.plan_batch, a.sms).splits;
        d.part_nq = a.Nq;
        if ((st = run_decode(p.dtype, p.device, d, s)) != HA_OK) return st;
        return finish("split-KV decode", cudaSuccess, s, wait);
    }
    return finish("attention kernel", launch_forward(p.dtype, forward_path(a, aligned), a, s), s,
                  wait);
}

// A batch of sequences: at most one forward launch (the sequences that are not
// decode-shaped), one decode launch and one combine, whatever the count. Each sequence takes
// the kernel, tiles and split plan that ha_attention_exact would give it alone.
int32_t exact_seqs(const SeqsProblem& p) {
    int32_t st = require_device("q", p.base.device);
    if (st != HA_OK) return st;
    DeviceGuard guard(p.base.device);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = prepare_call(p.base, &s)) != HA_OK) return st;

    FwdArgs a = make_args(p.base);
    a.B = p.count;
    a.cu_q = p.cu_seqlens_q;
    a.cu_k = p.cu_seqlens_k;
    a.seqlens_k = p.seqlens_k;
    a.pages = p.block_table;
    a.page_stride = p.block_table_stride;
    a.page_size = p.block_table ? p.page_size : 1;
    a.plan_batch = 1;  // each sequence is planned as if alone
    a.sms = std::max(1, sm_count(p.base.device));
    const bool aligned = layout_aligned(p.base);
    const bool decode_ok = decode_layout(p.base, aligned);
    a.decode_route = decode_ok ? 1 : 0;
    const int G = a.Hq / a.Hkv;

    int fwd_nq = 0, dec_nq = 0, splits = 1;
    for (int32_t b = 0; b < p.count; ++b) {
        const int nq = p.nq[b], nk = p.nk[b];
        if (nq == 0) continue;
        if (decode_ok && decode_shaped(nq, nk, G)) {
            dec_nq = std::max(dec_nq, nq);
            splits = std::max(splits, decode_plan(nq, nk, G, a.Hkv, a.wl, a.wr, 1, a.sms).splits);
        } else {
            fwd_nq = std::max(fwd_nq, nq);
        }
    }
    // Without cu_seqlens_q every sequence has q's rows, which the kernels read from Nq.
    if (fwd_nq > 0) {
        FwdArgs f = a;
        if (f.cu_q) f.Nq = fwd_nq;  // the grid's rows
        const cudaError_t e = launch_forward(p.base.dtype, forward_path(f, aligned), f, s);
        if (e != cudaSuccess) return device_error("attention kernel", e);
    }
    if (dec_nq > 0 && int64_t(splits) * p.count * a.Hkv > 0x7fffffff)
        return fail(HA_ERR_UNSUPPORTED,
                    "seqs.count: %d sequences x %d kv heads x %d splits exceed the CUDA grid",
                    p.count, a.Hkv, splits);
    if (dec_nq > 0) {
        DecodeArgs d{};
        d.f = a;
        if (d.f.cu_q) d.f.Nq = dec_nq;  // the grid's row groups
        d.grid_splits = splits;
        d.part_nq = d.f.Nq;
        if ((st = run_decode(p.base.dtype, p.base.device, d, s)) != HA_OK) return st;
    }
    return finish("attention kernels", cudaSuccess, s, p.base.stream == nullptr);
}

int32_t merge(const MergeProblem& p) {
    int32_t st = require_device("out_a", p.device);
    if (st != HA_OK) return st;
    DeviceGuard guard(p.device);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = require_sm80("out_a", p.device)) != HA_OK) return st;
    if ((st = resolve_stream("stream", p.stream, p.device, &s)) != HA_OK) return st;
    const int64_t* sh = p.out.shape;
    if (sh[0] * sh[1] * sh[2] * sh[3] == 0) return HA_OK;
    const struct {
        const char* name;
        const void* data;
    } ptrs[] = {{"out_a", p.out_a.data}, {"out_b", p.out_b.data}, {"out", p.out.data},
                {"lse_a", p.lse_a},      {"lse_b", p.lse_b},      {"lse", p.lse}};
    for (const auto& x : ptrs)
        if (x.data && (st = check_device_pointer(x.name, x.data, p.device)) != HA_OK) return st;

    MergeArgs a{};
    a.a = p.out_a.data;
    a.b = p.out_b.data;
    a.out = p.out.data;
    a.lse_a = p.lse_a;
    a.lse_b = p.lse_b;
    a.lse = p.lse;
    copy_strides(p.out_a, a.as);
    copy_strides(p.out_b, a.bs);
    copy_strides(p.out, a.os);
    for (int i = 0; i < 3; ++i) {
        a.las[i] = p.lse_a_strides[i];
        a.lbs[i] = p.lse_b_strides[i];
        a.ls[i] = p.lse_strides[i];
    }
    a.B = sh[0];
    a.H = sh[1];
    a.N = sh[2];
    a.D = sh[3];
    return finish("merge kernel", launch_merge(p.dtype, a, s), s, p.stream == nullptr);
}

}  // namespace ha::cuda
