// HyperAttention on a CUDA device: the argument blocks and launchers of its kernels (hyper.cu),
// called by the host side (hyper.cpp). Plain C++, compiled by the host compiler too.
//
// Every kernel works on one "chunk" of the call: a sub-tensor of whole kv-head groups (whole
// batch entries, or a run of kv heads inside one batch entry), so its views are ordinary 4-D
// views [nb, Hq_c, N, D] / [nb, Hkv_c, N, D] and its local query head hl = b' * Hq_c + h'
// belongs to the local group hl / G (the CPU's group order).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda_backend.h"

namespace ha::cuda {

// The checks every kernel entry makes (ops.cpp), with the device guard held by the caller:
// compute capability, params.stream (resolved into *s) and the operands' device pointers.
int32_t prepare_call(const ExactProblem& p, cudaStream_t* s);

// The exact forward kernel on p's views (ops.cpp), enqueued on s: no pointer checks, no
// split-KV decode, no wait. HyperAttention's causal leaves.
cudaError_t launch_exact_view(const ExactProblem& p, cudaStream_t s);

struct HyperView {
    const void* data;
    int64_t strides[4];
    int B, H, N, D;  // the chunk's batch entries, heads, rows, head_dim
};

// Bucket ranks of every row of x: ranks[(b * H + h) * N + i]. planes: [r][D] floats.
cudaError_t launch_hyper_hash(int32_t dtype, const HyperView& x, const float* planes, int r,
                              uint16_t* ranks, cudaStream_t s);

// Any non-finite element in x sets *flag to 1 (flag is not cleared here).
cudaError_t launch_hyper_nonfinite(const HyperView& x, int32_t dtype, int32_t* flag,
                                   cudaStream_t s);

// One sub-problem's rows or keys inside the sorted arrays: rows [start, start + n) of a head,
// stored from offset off of that head's slice of `total` entries.
struct HyperSeg {
    int64_t start, n, off;
};

// Sort inputs: keys_in[hd * total + seg.off + x] = ranks[hd * N + seg.start + x], vals_in[...]
// = x, for every head hd < heads and every segment (segs sorted by off, contiguous from 0).
cudaError_t launch_hyper_gather_ranks(const uint16_t* ranks, int64_t N, const HyperSeg* segs,
                                      int nsegs, int64_t total, int64_t heads, uint16_t* keys_in,
                                      int32_t* vals_in, cudaStream_t s);

// Stable sort of each segment [begin[i], end[i]) by the low r bits of the keys, with values
// (CUB's segmented radix sort). temp == nullptr: *temp_bytes gets the size needed.
cudaError_t hyper_sort(void* temp, size_t* temp_bytes, const uint16_t* keys_in,
                       uint16_t* keys_out, const int32_t* vals_in, int32_t* vals_out, int items,
                       int segments, const int32_t* begin, const int32_t* end, int r,
                       cudaStream_t s);

// Per rect (kseg: its keys in the sorted arrays) and group: inv[g * ktotal + seg.off +
// perm[g * ktotal + seg.off + x]] = x; then for the rect's samples (soff, m):
// spos[g * stotal + soff + s] = inv[g * ktotal + seg.off + samp[g * stotal + soff + s]].
struct HyperSampleSeg {
    int64_t koff, soff, m;
};
cudaError_t launch_hyper_inverse(const int32_t* perm, const HyperSeg* ksegs, int nsegs,
                                 int64_t ktotal, int64_t groups, int32_t* inv, cudaStream_t s);
cudaError_t launch_hyper_sample_pos(const int32_t* inv, const int32_t* samp,
                                    const HyperSampleSeg* ss, int nss, int64_t ktotal,
                                    int64_t stotal, int64_t groups, int32_t* spos,
                                    cudaStream_t s);

// A rect (hyper_plan.h) as the attention kernel sees it.
struct HyperRect {
    int64_t q0, k0;
    int32_t nq, nk, m;     // rows, keys, samples (0: none)
    int32_t pad_;
    int64_t qoff, koff, soff;  // its slice of the sorted queries / keys / samples
    float bias_log2;           // log2(nk / m): each sample stands for nk/m keys
    int32_t pad2_;
};

// A CTA's work: rows [r0, r0 + rows) of sorted query block blk of rect ri (sorted positions
// blk * block + r0 ...), with the block's window [a, b) of sorted keys.
struct HyperTask {
    int32_t ri, pos0, rows, a, b, pad_;
};

constexpr int kHyperBM = 64;  // query rows per CTA of the rect kernel (4 warps x 16)

struct HyperRectArgs {
    const void* q;
    const void* k;
    const void* v;
    void* out;
    float* lse;  // nullable (finish only)
    int64_t qs[4], ks[4], vs[4], os[4], ls[3];
    int Hq, Hkv, G, Nq, D;
    int heads;        // local query heads of the chunk (B_c * Hq_c)
    float sl2;        // scale / qscale * log2(e): a score's log2 units
    float qscale;     // bf16: power of two applied to Q in shared memory (see FwdArgs)
    const HyperTask* tasks;
    int64_t ntasks;
    const HyperRect* rects;
    const int32_t* qperm;  // [hl][qtotal]
    int64_t qtotal;
    const int32_t* kperm;  // [lg][ktotal]
    int64_t ktotal;
    const int32_t* samp;   // [lg][stotal], key index within the rect
    const int32_t* spos;   // [lg][stotal], its sorted position
    int64_t stotal;
    float* st_o;  // causal: running state, [hl][Nq][D] unnormalised output
    float* st_ml; // [hl][Nq][2]: running max (log2 units) and sum; sum 0 = no state yet
    int finish;   // 1: write out (and lse); 0: load and store the state
};

// Chooses the variant (dtype, head_dim class, aligned gathers or element-wise) and launches
// grid ntasks x heads.
cudaError_t launch_hyper_rects(int32_t dtype, bool aligned, const HyperRectArgs& a,
                               cudaStream_t s);

// Causal: merges each row's rect state with the exact leaf already written to out (leaf_lse
// its log-sum-exp, [hl][Nq]) into out and lse; rows below empty_rows get 0 and -inf.
struct HyperFinishArgs {
    void* out;
    float* lse;  // nullable
    int64_t os[4], ls[3];
    int Hq, Nq, D, heads;
    int64_t empty_rows;
    const float* st_o;
    const float* st_ml;
    const float* leaf_lse;
};
cudaError_t launch_hyper_finish(int32_t dtype, const HyperFinishArgs& a, cudaStream_t s);

}  // namespace ha::cuda
