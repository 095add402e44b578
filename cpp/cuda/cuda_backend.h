// The CUDA backend as seen from the API layer (api.cpp, api_device.cpp), built only with
// HA_HAVE_CUDA. Plain C++: no CUDA header leaks into the API files. The API layer has checked
// the tensors' structure, shapes and dtypes (f16/bf16) and that every operand names the same
// device; functions here check what needs the CUDA runtime (device present, pointers that are
// memory of that device, the stream's device) and set the message with ha::fail.
#pragma once
#include <cstdint>

#include "hyperattn.h"

namespace ha::cuda {

struct View {
    void* data;
    int64_t shape[4];
    int64_t strides[4];
};

struct ExactProblem {
    int32_t dtype;   // HA_DTYPE_F16 or HA_DTYPE_BF16
    int32_t device;  // CUDA device id of every operand
    View q, k, v, out;
    float* lse;      // nullable, [B,Hq,Nq]
    int64_t lse_strides[3];
    float scale;     // resolved, > 0
    bool causal;
    int32_t window_left = -1, window_right = -1;  // ha_exact_params' (-1 unbounded)
    float softcap = 0.f;                          // 0: off
    void* stream;    // NULL: per-thread default stream, finished before returning
};

// ha_attention_exact_seqs on device: base holds the whole tensors (q/out [1 or count, Hq, *,
// D], k/v as ha_seqs describes them), lse, scale, mask, cap and stream. The arrays are device
// memory of base.device that the API layer has read back (read_seq_arrays) and validated; nq
// and nk are the host's copies of each sequence's rows and keys, for planning the launch.
struct SeqsProblem {
    ExactProblem base;
    int32_t count;
    const int32_t* cu_seqlens_q;  // device, or null
    const int32_t* cu_seqlens_k;  // device, or null
    const int32_t* seqlens_k;     // device, or null
    const int32_t* block_table;   // device, or null (not paged)
    int64_t block_table_stride;
    int32_t page_size;
    const int32_t* nq;  // host, [count]
    const int32_t* nk;  // host, [count]
};

struct MergeProblem {
    int32_t dtype;
    int32_t device;
    View out_a, out_b, out;
    const float* lse_a; int64_t lse_a_strides[3];
    const float* lse_b; int64_t lse_b_strides[3];
    float* lse;         int64_t lse_strides[3];  // nullable
    void* stream;
};

// HA_ERR_NO_DEVICE naming `what` when device `id` is absent, with CUDA's own reason.
int32_t require_device(const char* what, int32_t id);

int32_t device_count(int32_t* count);
int32_t device_props(int32_t id, ha_device_props* props);
int32_t alloc(int32_t id, int64_t bytes, void** ptr);
int32_t free_memory(int32_t id, void* ptr);
// Either side may be the host (device type HA_DEVICE_CPU) or a CUDA device.
int32_t copy(void* dst, int32_t dst_type, int32_t dst_id, const void* src, int32_t src_type,
             int32_t src_id, int64_t bytes, void* stream);
int32_t stream_create(int32_t id, void** stream);
int32_t stream_synchronize(int32_t id, void* stream);
int32_t stream_destroy(int32_t id, void* stream);

int32_t exact_forward(const ExactProblem& p);
int32_t exact_seqs(const SeqsProblem& p);

// ha_attention_hyper on device (hyper.cpp): base holds the operands, the resolved scale, causal
// and the stream (no window, no cap); the rest are ha_hyper_params' validated fields.
struct HyperProblem {
    ExactProblem base;
    int32_t lsh_projections, block_size, sample_size, min_seq_len;
    uint64_t seed;
};
int32_t hyper_forward(const HyperProblem& p);

// INVALID_ARGUMENT naming `name` unless p is device (or managed) memory of device `id`: the
// int32 arrays of ha_seqs with CUDA tensors.
int32_t check_device_array(const char* name, const void* p, int32_t id);
// Copies rows x width int32 values from device memory (row r at src + r * pitch elements) to
// dst (dense rows of width), ordered on `stream` (NULL: the per-thread default stream), and
// waits for them: the host-side validation of ha_seqs' arrays. Also checks that the device is
// present and the stream is one of its own.
int32_t read_device_ints(int32_t id, void* stream, const char* name, const int32_t* src,
                         int64_t rows, int64_t width, int64_t pitch, int32_t* dst);
int32_t merge(const MergeProblem& p);

}  // namespace ha::cuda
