/*
 * hyperattn.h — the C ABI of the hyperattn native library, and its only contract.
 *
 * Rules that keep the ABI bindable by jextract (or by hand) and safe to call from a JVM:
 *  - fixed-width integer types, plain structs passed by pointer, enums as int32_t constants;
 *  - every operation returns an int32_t status (HA_OK = 0); on failure ha_last_error() returns a
 *    thread-local, NUL-terminated message naming the offending argument and what was expected;
 *  - nothing crosses the ABI by C++ exception, abort() or exit().
 *
 * Tensors are DLPack-like views: a data pointer, dtype, device, a rank-4 shape
 * [batch, heads, seq, head_dim] and strides counted in elements, so [b,h,s,d] and [b,s,h,d]
 * buffers (and other strided views) are used in place without copies.
 */
#ifndef HYPERATTN_H
#define HYPERATTN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define HA_API __declspec(dllexport)
#else
#define HA_API __attribute__((visibility("default")))
#endif

/* Bumped whenever a struct layout or a function signature changes. */
#define HA_ABI_VERSION 1

/* ---- status codes (int32_t) ------------------------------------------------------------ */
enum {
    HA_OK = 0,
    HA_ERR_INVALID_ARGUMENT = 1, /* a tensor or parameter is wrong; the message says which */
    HA_ERR_UNSUPPORTED = 2,      /* valid request this build or machine cannot serve */
    HA_ERR_OUT_OF_MEMORY = 3,
    HA_ERR_NO_DEVICE = 4,        /* the requested device is absent */
    HA_ERR_DEVICE = 5,           /* a device runtime call failed */
    HA_ERR_INTERNAL = 6          /* a bug: please report the message */
};

/* ---- element types (int32_t) ----------------------------------------------------------- */
enum {
    HA_DTYPE_F32 = 0,
    HA_DTYPE_BF16 = 1,
    HA_DTYPE_F16 = 2  /* reserved for the CUDA backend */
};

/* ---- device types (int32_t) ------------------------------------------------------------ */
enum {
    HA_DEVICE_CPU = 0,
    HA_DEVICE_CUDA = 1
};

/* ---- CPU instruction-set paths (int32_t) ----------------------------------------------- */
enum {
    HA_CPU_ISA_AUTO = 0,    /* best the running CPU supports */
    HA_CPU_ISA_GENERIC = 1, /* portable C++, any x86-64 */
    HA_CPU_ISA_AVX2 = 2,    /* AVX2 + FMA */
    HA_CPU_ISA_AVX512 = 3   /* AVX-512 F/BW/DQ/VL, plus AVX512-BF16 when present */
};

/*
 * A strided view of a rank-4 tensor. Attention operands use the shape
 * [batch, heads, seq, head_dim]; log-sum-exp tensors use [batch, heads, seq, 1] (the last
 * extent is 1 and its stride is ignored). Strides are in elements, non-negative.
 */
typedef struct ha_tensor {
    void* data;
    int32_t dtype;       /* HA_DTYPE_* */
    int32_t device_type; /* HA_DEVICE_* */
    int32_t device_id;   /* 0 for the CPU */
    int32_t reserved;    /* must be 0 */
    int64_t shape[4];
    int64_t strides[4];
} ha_tensor;

/* Parameters of exact attention. Initialise with ha_exact_params_init(). */
typedef struct ha_exact_params {
    float scale;       /* softmax scale; 0 means 1/sqrt(head_dim) */
    int32_t causal;    /* 0 or 1; causal is bottom-right aligned: query i sees keys
                          j <= i + n_k - n_q. A query row that sees no key gets output 0 and
                          log-sum-exp -infinity. */
    void* stream;      /* device stream for device tensors; NULL = synchronous default */
} ha_exact_params;

/* ---- library information --------------------------------------------------------------- */
HA_API int32_t ha_abi_version(void);
HA_API const char* ha_version_string(void);

/* The last error message of the calling thread ("" when none). Valid until the next call
 * into the library from this thread. */
HA_API const char* ha_last_error(void);

/*
 * Size, alignment or field offset of an ABI struct, so bindings can check their layouts.
 * field == NULL or "" asks for sizeof(struct) (alignof when field is "#align").
 * Writes *out and returns HA_OK, or HA_ERR_INVALID_ARGUMENT for unknown names.
 */
HA_API int32_t ha_abi_layout(const char* struct_name, const char* field, int64_t* out);

/* ---- CPU runtime ----------------------------------------------------------------------- */
/* Threads used by CPU operations; n == 0 restores the default (all hardware threads). */
HA_API int32_t ha_set_num_threads(int32_t n);
HA_API int32_t ha_get_num_threads(void);
/* Forces an instruction-set path (HA_CPU_ISA_*), mainly for tests; fails with
 * HA_ERR_UNSUPPORTED if the running CPU lacks it. Process-wide. */
HA_API int32_t ha_set_cpu_isa(int32_t isa);
/* The path in use now (never HA_CPU_ISA_AUTO). */
HA_API int32_t ha_get_cpu_isa(void);

/* ---- operations ------------------------------------------------------------------------ */
HA_API void ha_exact_params_init(ha_exact_params* params);

/*
 * Exact attention forward by the FlashAttention-2 algorithm (tiled, online softmax, O(n)
 * extra memory).
 *   q   [B, Hq,  Nq, D]   k, v [B, Hkv, Nk, D]   out [B, Hq, Nq, D]
 *   lse [B, Hq,  Nq, 1] float32, natural log of the softmax denominator of each row
 *       (scaled scores), or NULL.
 * Hq must be a multiple of Hkv (GQA/MQA: query head h reads kv head h / (Hq/Hkv)).
 * q, k, v and out share one dtype; D in 1..256. out must not overlap the inputs.
 * params may be NULL for the defaults (ha_exact_params_init).
 */
HA_API int32_t ha_attention_exact(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_exact_params* params);

/*
 * Merges two partial attention results over disjoint key sets A and B into the result over
 * A ∪ B:  lse = log(e^lse_a + e^lse_b),  out = e^(lse_a-lse) out_a + e^(lse_b-lse) out_b.
 * out_a, out_b, out: [B, H, N, D] of one dtype; lse_a, lse_b: [B, H, N, 1] float32;
 * lse (the merged log-sum-exp) may be NULL. out may be out_a or out_b exactly (in place), and
 * lse may be lse_a or lse_b exactly. A row whose lse_a and lse_b are both -infinity merges to
 * out 0 and lse -infinity.
 */
HA_API int32_t ha_merge(const ha_tensor* out_a, const ha_tensor* lse_a, const ha_tensor* out_b,
                        const ha_tensor* lse_b, const ha_tensor* out, const ha_tensor* lse);

#ifdef __cplusplus
}
#endif

#endif /* HYPERATTN_H */
