// Exact attention and the LSE merge on a CUDA device: runtime checks, the choice of kernel
// (fast tiles, wide/strided tiles, split-KV decoding), scratch, launch and, for the NULL stream,
// the wait for completion.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cuda_backend.h"
#include "error.h"
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

}  // namespace

int32_t exact_forward(const ExactProblem& p) {
    int32_t st = require_device("q", p.device);
    if (st != HA_OK) return st;
    DeviceGuard guard(p.device);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    if ((st = resolve_stream("params.stream", p.stream, p.device, &s)) != HA_OK) return st;
    if ((st = check_operands(p)) != HA_OK) return st;

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
    a.causal = p.causal ? 1 : 0;
    a.qscale = 1.f;
    if (p.dtype == HA_DTYPE_BF16) {  // see FwdArgs::qscale
        int e;
        std::frexp(p.scale * 1.4426950408889634f, &e);
        a.qscale = std::ldexp(1.f, e - 1);
    }
    if (a.Nq == 0) return HA_OK;
    const bool wait = p.stream == nullptr;

    const bool aligned = a.D % 8 == 0 && tile_aligned(p.q) && tile_aligned(p.k) &&
                         tile_aligned(p.v) && tile_aligned(p.out);
    const int G = a.Hq / a.Hkv;
    const int64_t packed = int64_t(G) * a.Nq;
    const int64_t groups = (packed + kDecodeRowsPerGroup - 1) / kDecodeRowsPerGroup;
    const int64_t kv_heads = int64_t(a.B) * a.Hkv;
    const bool decode = aligned && (a.D == 64 || a.D == 128) && a.Nk > 0 &&
                        packed <= 4 * kDecodeRowsPerGroup && kv_heads <= 65535 &&
                        smem_optin(p.device) >= decode_smem_bytes(a.D);
    if (decode) {
        // Enough CTAs for about two per multiprocessor, at least 4 key tiles per split.
        const int sms = std::max(1, sm_count(p.device));
        const int64_t tiles = (int64_t(a.Nk) + kDecodeKeyTile - 1) / kDecodeKeyTile;
        const int64_t work = kv_heads * groups;
        int64_t splits = (2 * int64_t(sms) + work - 1) / work;
        splits = std::min<int64_t>({splits, int64_t(kMaxSplits), std::max<int64_t>(1, tiles / 4)});
        splits = std::max<int64_t>(1, splits);
        const int64_t chunk_tiles = (tiles + splits - 1) / splits;
        const int64_t chunk = chunk_tiles * kDecodeKeyTile;
        splits = (a.Nk + chunk - 1) / chunk;

        DecodeArgs d{};
        d.f = a;
        d.splits = int(splits);
        d.chunk = int(chunk);
        Scratch scratch;
        if (splits > 1) {
            const int64_t rows = int64_t(a.B) * a.Hq * a.Nq;
            const size_t bytes = size_t(splits) * size_t(rows) * size_t(a.D + 1) * sizeof(float);
            if ((st = scratch.allocate(p.device, bytes, s)) != HA_OK) return st;
            d.partial_o = static_cast<float*>(scratch.get());
            d.partial_lse = d.partial_o + splits * rows * a.D;
        }
        cudaError_t e = launch_decode(p.dtype, d, s);
        if (e == cudaSuccess && splits > 1) e = launch_combine(p.dtype, d, s);
        if (e != cudaSuccess) return device_error("split-KV decode launch", e);
        if ((st = scratch.release()) != HA_OK) return st;
        return finish("split-KV decode", cudaSuccess, s, wait);
    }

    const FwdPath path = !aligned        ? FwdPath::Strided256
                         : a.D == 64     ? FwdPath::Fast64
                         : a.D == 128    ? FwdPath::Fast128
                                         : FwdPath::Aligned256;
    const cudaError_t e = p.dtype == HA_DTYPE_F16 ? launch_forward_f16(path, a, s)
                                                  : launch_forward_bf16(path, a, s);
    return finish("attention kernel", e, s, wait);
}

int32_t merge(const MergeProblem& p) {
    int32_t st = require_device("out_a", p.device);
    if (st != HA_OK) return st;
    DeviceGuard guard(p.device);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
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
