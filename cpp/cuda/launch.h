// Kernel launchers of the CUDA backend and their argument blocks. Plain C++ (compiled by the
// host compiler too): the host side (ops.cpp) validates, picks a path and calls these; the
// kernels live in the .cu files. Each launcher returns the launch's cudaError_t.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ha::cuda {

#if defined(__CUDACC__)
#define HA_HD __host__ __device__ __forceinline__
#else
#define HA_HD inline
#endif

// One attention call on one device: q/out [B,Hq,Nq,D], k/v [B,Hkv,Nk,D], strides in elements
// (batch, heads, seq, head_dim), lse float32 [B,Hq,Nq] or null. Sequence lengths fit in int32
// (the API checks: at most 2^30).
//
// Batches of sequences (ha_attention_exact_seqs) use the same arguments with B = the sequence
// count and the int32 arrays below (device memory, validated on the host beforehand); with all
// of them null, batch entry b is sequence b with Nq rows and Nk keys (ha_attention_exact).
//   cu_q:  sequence b owns rows cu_q[b] .. cu_q[b+1]-1 of batch entry 0 of q/out/lse; Nq is
//          then only the grid's row count (the longest sequence the kernel serves).
//   cu_k:  its keys are rows cu_k[b] .. of batch entry 0 of k/v (seqlens_k[b] of them when
//          given, else cu_k[b+1] - cu_k[b]).
//   pages: paged keys: key j of sequence b is row j % page_size of page
//          pages[b * page_stride + j / page_size] (ks[0]/vs[0] step pages), seqlens_k[b] keys.
//   neither: a dense cache, batch entry b, seqlens_k[b] keys when given (else Nk).
// Each sequence is computed exactly as a call on it alone would be (same tiles, same key order,
// same split-KV plan), which is what makes the batch bit-identical to per-sequence calls.
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
    // Row i of a sequence with nq rows and nk keys sits at position p = i + nk - nq and sees
    // the keys p - wl <= j <= p + wr in [0, nk); -1 is unbounded. Causal is wr = 0 (the API's
    // window_right capped at 0).
    int wl, wr;
    float softcap;  // 0: off; > 0: each scaled score s becomes softcap * tanh(s / softcap)
    float qscale;  // bf16: the power of two at or below scale*log2(e), applied to Q in shared
                   // memory (exactly) so q.k accumulates without fp32 overflow in the documented
                   // range (hyperattn.h); 1 for fp16, whose q.k cannot overflow fp32
    // Sequences (see above); all null for a dense call.
    const int32_t* cu_q;
    const int32_t* cu_k;
    const int32_t* seqlens_k;
    const int32_t* pages;
    int64_t page_stride;
    int page_size;
    // 1 in a batch of sequences: the decode kernel serves the decode-shaped sequences
    // (decode_shaped below) and the forward kernel the others, each skipping the rest. 0: the
    // host chose one kernel for the whole call.
    int decode_route;
    // Split-KV plan (decode_plan): multiprocessors, and the multiplier of the per-sequence work
    // (B for a dense call, whose batch entries share one plan; 1 for a batch of sequences,
    // each planned as if alone).
    int sms;
    int plan_batch;
};

// ---- per-row key ranges and the split-KV plan, shared by the host and the kernels --------
constexpr int kDecodeRowsPerGroup = 16;
constexpr int kDecodeKeyTile = 64;
constexpr int kDecodeMaxRows = 4 * kDecodeRowsPerGroup;  // G * nq at most, for split-KV
constexpr int kMaxSplits = 128;

// The visible keys [*lo, *hi) of row i of a sequence with nq rows and nk keys, both clamped to
// [0, nk]; *hi <= *lo means none. Both are non-decreasing in i, so the keys a block of rows
// needs lie in [lo(first row), hi(last row)).
HA_HD void key_bounds(int64_t i, int nq, int nk, int wl, int wr, int* lo, int* hi) {
    const int64_t pos = i + nk - nq;
    int64_t a = wl >= 0 ? pos - wl : 0, b = wr >= 0 ? pos + wr + 1 : nk;
    a = a < 0 ? 0 : a > nk ? nk : a;
    b = b < 0 ? 0 : b > nk ? nk : b;
    *lo = int(a);
    *hi = int(b);
}

// Whether a sequence of a batch goes to the split-KV decode kernel (when the layout allows it
// at all): it has keys and its G * nq packed rows fill at most four row groups. The same rule
// picks the kernel of ha_attention_exact, so a sequence takes the same kernel either way.
HA_HD bool decode_shaped(int nq, int nk, int G) {
    return nk > 0 && nq > 0 && int64_t(G) * nq <= kDecodeMaxRows;
}

// The split-KV plan of one sequence: its key tiles [t_lo, t_lo + tiles) of kDecodeKeyTile keys
// (from the first row's lower bound to the last row's upper one), cut into `splits` chunks of
// chunk_tiles tiles. At most two CTAs per multiprocessor, at least 4 tiles a split.
struct DecodePlan {
    int splits;
    int chunk_tiles;
    int t_lo;  // first tile
    int k_hi;  // keys end (the last row's upper bound)
};

HA_HD DecodePlan decode_plan(int nq, int nk, int G, int Hkv, int wl, int wr, int64_t batch,
                             int sms) {
    int lo0, hi0, lo1, hi1;
    key_bounds(0, nq, nk, wl, wr, &lo0, &hi0);
    key_bounds(int64_t(nq) - 1, nq, nk, wl, wr, &lo1, &hi1);
    DecodePlan p;
    p.t_lo = lo0 / kDecodeKeyTile;
    p.k_hi = hi1;
    const int64_t tiles =
        hi1 > lo0 ? (int64_t(hi1) + kDecodeKeyTile - 1) / kDecodeKeyTile - p.t_lo : 0;
    const int64_t groups = (int64_t(G) * nq + kDecodeRowsPerGroup - 1) / kDecodeRowsPerGroup;
    const int64_t work = batch * Hkv * (groups > 0 ? groups : 1);
    const int64_t m = sms > 1 ? sms : 1;
    // As many splits as fit two CTAs per multiprocessor, rounded down: rounding up would
    // leave a short last wave (B = 4, Hkv = 8 on 132 SMs: 9 splits = 288 CTAs, 24 of them
    // alone in a second wave; 8 splits = 256 CTAs in one).
    int64_t splits = 2 * m / work;
    if (splits > kMaxSplits) splits = kMaxSplits;
    const int64_t cap = tiles / 4 > 1 ? tiles / 4 : 1;
    if (splits > cap) splits = cap;
    if (splits < 1) splits = 1;
    const int64_t chunk = tiles > 0 ? (tiles + splits - 1) / splits : 1;
    p.chunk_tiles = int(chunk);
    p.splits = tiles > 0 ? int((tiles + chunk - 1) / chunk) : 1;
    return p;
}

// Forward kernel variants. The fast ones need D == 64 / 128, 16-byte aligned bases, row, head
// and batch strides that are multiples of 8 elements and head_dim stride 1 (cp.async tiles);
// Aligned256 takes any D % 8 == 0 up to 256 under the same alignment; Strided256 takes any D up
// to 256 and any strides (element-wise loads and stores).
enum class FwdPath { Fast64, Fast128, Aligned256, Strided256 };

cudaError_t launch_forward_f16(FwdPath path, const FwdArgs& a, cudaStream_t stream);
cudaError_t launch_forward_bf16(FwdPath path, const FwdArgs& a, cudaStream_t stream);

// Split-KV decoding (flash-decoding). The G = Hq/Hkv query heads of a kv head and a
// sequence's nq query rows are packed as G*nq rows, 16 per row group; grid = (splits x B*Hkv)
// x row groups. The CTA of split s covers the sequence's key tiles [t_lo + s*chunk_tiles, ...)
// of its decode_plan. A sequence with one split writes out/lse directly; otherwise its splits
// go to partial_o [splits][B*Hq*part_nq][D] (fp32, normalised) and partial_lse
// [splits][B*Hq*part_nq] (natural log, -inf for an empty part), rows indexed
// (b*Hq + h)*part_nq + i, combined by launch_combine. Needs the fast-path alignment and D of 64
// or 128.
struct DecodeArgs {
    FwdArgs f;
    int grid_splits;  // the largest plan's splits: blockIdx.x = (b*Hkv + kvh)*grid_splits + s
    int part_nq;      // rows per sequence in the partial buffers (>= every decoded nq)
    float* partial_o;
    float* partial_lse;
};

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
