// Kernel launchers of the CUDA backend and their argument blocks. Plain C++ (compiled by the
// host compiler too): the host side (ops.cpp) validates, picks a path and calls these; the
// kernels live in the .cu files. Each launcher returns the launch's cudaError_t.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ha::cuda {

// One attention problem on one device: q/out [B,Hq,Nq,D], k/v [B,Hkv,Nk,D], strides in
// elements (batch, heads, seq, head_dim), lse float32 [B,Hq,Nq] or null. Sequence lengths fit
// in int32 (the API checks).
struct FwdArgs {
    const void* q;
    const void* k;
    const void* v;
    void* out;
    float* lse;
    int64_t qs[4], ks[4], vs[4], os[4];
    int64_t ls[3];
    int B, Hq, Hkv, Nq, Nk, D;
    float scale;   // resolved, > 0
    int causal;    // bottom-right aligned
    float qscale;  // bf16: the power of two at or below scale*log2(e), applied to Q in shared
                   // memory (exactly) so q.k accumulates without fp32 overflow in the documented
                   // range (hyperattn.h); 1 for fp16, whose q.k cannot overflow fp32
};


// Forward kernel variants. The fast ones need D == 64 / 128, 16-byte aligned bases, row, head
// and batch strides that are multiples of 8 elements and head_dim stride 1 (cp.async tiles);
// Aligned256 takes any D % 8 == 0 up to 256 under the same alignment; Strided256 takes any D up
// to 256 and any strides (element-wise loads and stores).
enum class FwdPath { Fast64, Fast128, Aligned256, Strided256 };

cudaError_t launch_forward_f16(FwdPath path, const FwdArgs& a, cudaStream_t stream);
cudaError_t launch_forward_bf16(FwdPath path, const FwdArgs& a, cudaStream_t stream);

// Split-KV decoding (flash-decoding). The G = Hq/Hkv query heads of a kv head and the Nq query
// rows are packed as G*Nq rows, 16 per row group; grid = splits x row groups x (B*Hkv). Each
// CTA covers keys [split*chunk, (split+1)*chunk). With splits == 1 the result goes straight
// to out/lse; otherwise to partial_o [splits][B*Hq*Nq][D] (fp32, normalised) and partial_lse
// [splits][B*Hq*Nq] (natural log, -inf for an empty part), combined by launch_combine.
// Needs the fast-path alignment and D of 64 or 128.
struct DecodeArgs {
    FwdArgs f;
    int splits;
    int chunk;       // keys per split, a multiple of the key tile
    float* partial_o;
    float* partial_lse;
};

constexpr int kDecodeRowsPerGroup = 16;
constexpr int kDecodeKeyTile = 64;
constexpr int kMaxSplits = 128;

cudaError_t launch_decode(int32_t dtype, const DecodeArgs& a, cudaStream_t stream);
// Dynamic shared memory the decode kernel needs for head_dim D (64 or 128): 100 KiB at 128,
// over the 99 KiB opt-in limit of sm_86/sm_89 parts, where the forward kernel is used instead.
size_t decode_smem_bytes(int D);
cudaError_t launch_combine(int32_t dtype, const DecodeArgs& a, cudaStream_t stream);

// ha_merge on device: out = w_a out_a + w_b out_b by the rows' log-sum-exps, any strides; out
// may be out_a or out_b exactly and lse may be lse_a or lse_b exactly.
struct MergeArgs {
    const void* a;
    const void* b;
    void* out;
    const float* lse_a;
    const float* lse_b;
    float* lse;
    int64_t as[4], bs[4], os[4];
    int64_t las[3], lbs[3], ls[3];
    int64_t B, H, N, D;
};

cudaError_t launch_merge(int32_t dtype, const MergeArgs& a, cudaStream_t stream);

}  // namespace ha::cuda
