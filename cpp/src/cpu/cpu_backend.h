// The CPU backend as seen from the API layer. The API layer (api.cpp) has already validated
// every argument; functions here may assume shapes agree, strides are non-negative, dtypes are
// F32, BF16 or F16 and pointers are non-null. They still return a status (out of memory, internal).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ha::cpu {

// A validated strided view; shape/strides as in ha_tensor (elements).
struct View {
    void* data;
    int64_t shape[4];
    int64_t strides[4];
    // Paged keys (exact attention only; null otherwise): key row j of head h lives at
    // pages[j / page_size] * strides[0] + h * strides[1] + (j % page_size) * strides[2], and
    // shape[0] is 1. Only the exact kernels' K/V reads (key_off) honour it.
    const int32_t* pages = nullptr;
    int64_t page_size = 0;
};

struct ExactProblem {
    int32_t dtype;     // HA_DTYPE_F32, _BF16 or _F16, shared by q, k, v, out
    View q, k, v, out; // q/out [B,Hq,Nq,D], k/v [B,Hkv,Nk,D]
    float* lse;        // nullable; float32 [B,Hq,Nq]
    int64_t lse_strides[3];
    float scale;       // already resolved (never 0)
    bool causal;       // bottom-right aligned: row i sees keys j <= i + Nk - Nq
    // Row i (position p = i + Nk - Nq) sees keys p - window_left <= j <= p + window_right;
    // -1 is unbounded. Exact attention only.
    int64_t window_left = -1, window_right = -1;
    float softcap = 0.f;  // > 0: scores s -> softcap * tanh(s / softcap)
    // Internal callers only (approximate attention's parts), never set by the API layer:
    // row_range[2i], row_range[2i+1] are query row i's visible keys [lo, hi), replacing causal
    // and window (B = Hq = Hkv = 1, so a row is its position); out_f32 writes out as float32
    // whatever dtype q, k and v have.
    const int64_t* row_range = nullptr;
    bool out_f32 = false;
    // Internal, with row_range only: key j's score gains key_bias[j] (natural-log units, so a
    // key stands for exp(key_bias[j]) keys), and row i's sum over its keys of p_ij key_sum[j]
    // (normalised like the output) goes to row_sum[i * row_sum_stride]. Either may be null.
    const float* key_bias = nullptr;
    const float* key_sum = nullptr;
    float* row_sum = nullptr;
    int64_t row_sum_stride = 1;
    // Internal, with row_range only: keys [0, head_end) are a head region (head_end a multiple
    // of kKeyTile, every row_range at or past it); row i also sees its first row_head[i] keys.
    // Two parts of a row (the sinks and its local window) in one call.
    const int64_t* row_head = nullptr;
    int64_t head_end = 0;
    // Internal, with row_range only: row i also sees [row_range2[2i], row_range2[2i+1]), a
    // second range disjoint from its first and from its head (a non-causal row's keys on both
    // sides of its local window). May be null.
    const int64_t* row_range2 = nullptr;
    // Internal, with row_range only: K/V as exact_pack left them for this problem's keys, so a
    // caller with several calls over the same keys packs them once (ignored, and packed as
    // usual, when another kernel path packed them).
    const struct PackedKV* packed = nullptr;
};

// K/V of one B = Hkv = 1 problem in the kernel's packed key tiles (exact_pack). Members are
// out of line (backend.cpp): the kernels that fill it are compiled per ISA.
struct PackedKV {
    void* data = nullptr;
    size_t bytes = 0;
    const void* owner = nullptr;  // the kernel path that packed it
    int64_t nk = 0, dk = 0, dp = 0;
    PackedKV() = default;
    PackedKV(const PackedKV&) = delete;
    PackedKV& operator=(const PackedKV&) = delete;
    ~PackedKV();
    void* reserve(size_t b);  // at least b bytes (contents not kept)
};

constexpr int64_t kKeyTile = 64;  // keys per tile of the exact kernel (kern::NT)

struct MergeProblem {
    int32_t dtype;           // of out_a, out_b, out
    View out_a, out_b, out;  // [B,H,N,D]; out may alias out_a or out_b exactly
    const float* lse_a; int64_t lse_a_strides[3];
    const float* lse_b; int64_t lse_b_strides[3];
    float* lse;         int64_t lse_strides[3];  // nullable; may alias lse_a or lse_b exactly
};

// HyperAttention (cpu/hyper/): the exact problem's operands plus the approximation's
// parameters, all validated by the API layer.
struct HyperProblem {
    ExactProblem base;       // operands, lse, resolved scale, causal
    int32_t lsh_projections; // 1..16
    int64_t block_size, sample_size, min_seq_len;  // >= 1
    uint64_t seed;
    float* row_error;        // nullable; B*Hq*Nq floats, row-major [b][h][i] (ha_hyper_stats)
};

int32_t exact_forward(const ExactProblem& p);
// Packs p's K/V (B = Hkv = 1) for later calls over the same keys (ExactProblem::packed).
int32_t exact_pack(const ExactProblem& p, PackedKV& out);
int32_t merge(const MergeProblem& p);
int32_t hyper_forward(const HyperProblem& p);

// Runtime settings (process-wide).
int32_t set_num_threads(int32_t n);  // 0 = hardware concurrency
int32_t get_num_threads();
int32_t set_isa(int32_t isa);        // HA_CPU_ISA_*; HA_ERR_UNSUPPORTED if the CPU lacks it
int32_t get_isa();                   // resolved, never AUTO

}  // namespace ha::cpu
