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
 *
 * Memory passed in descriptors stays alive (ABI 5): every operation that takes tensors (or a
 * stats struct) also takes, as its LAST arguments, each memory address those structs carry, in
 * parameter order, named <name>_data: the data of every ha_tensor parameter (NULL where the
 * tensor pointer is NULL), then the arrays of a stats or ha_seqs struct (NULL where the struct
 * pointer or the array is NULL). Each must equal the address in its struct, otherwise HA_ERR_INVALID_ARGUMENT.
 * The library accesses memory only through the structs; the copies exist so that runtimes which
 * keep memory alive only while it is a call's argument see it: Java's FFM keeps a segment's
 * arena open during a downcall when the segment itself is an argument, never when its address
 * sits inside a struct, so closing a shared arena in the middle of a call fails (the JDK's
 * IllegalStateException) instead of freeing memory in use. C++ callers may use the overloads
 * at the end of this header, which pass the addresses from the structs.
 *
 * Non-finite values (every operation, every CPU path, CUDA), as PyTorch's SDPA:
 *  - a NaN or +inf scaled score (from a NaN or infinite element of q or k, or from a score
 *    beyond the range below) makes its row's output and log-sum-exp NaN;
 *  - a -inf score is a masked key (weight 0); a row whose visible keys all score -inf, or that
 *    sees no key, gets output 0 and log-sum-exp -inf, and no other row does;
 *  - non-finite values in v are not checked: they reach every row that gives their key a
 *    nonzero weight, and may reach rows in the same tile of 64 keys that give it weight 0
 *    (0 * inf = NaN), as in PyTorch;
 *  - range: scores are computed as (s * q) . k with s the power of two at or below
 *    scale * log2(e), so every score is finite (and the result finite for finite v) when
 *    scale * sum_i |q_i * k_i| <= 1e38 for every visible key, even where the unscaled q . k
 *    overflows fp32. Beyond it a score may overflow to +inf (row NaN), never silently to 0.
 *  - exact attention with params.softcap > 0: the rules apply to the capped scores, in which
 *    +inf and -inf have become +softcap and -softcap; only a NaN score makes its row NaN.
 *  - ha_merge: a NaN or +inf lse_a or lse_b makes the row NaN; -inf is an empty side.
 *  - HyperAttention: a non-finite element in q or k makes the whole call exact attention, so
 *    rows follow the rules above exactly.
 *  - HSR (ha_attention_hsr): keys must be finite (the index rejects others at build or append,
 *    HA_ERR_INVALID_ARGUMENT naming the key); a query row with a non-finite element, and any
 *    row whose output is not finite, is NaN with dropped_mass and error_bound +inf (no
 *    certificate on a non-finite row). HSR computes q . k unscaled: its range is
 *    sum_i |q_i * k_i| <= 1e38. ha_hsr_report needs finite queries (HA_ERR_INVALID_ARGUMENT).
 *  - every storage dtype alike: bf16 and f16 inf/NaN widen to fp32 inf/NaN. f16's largest
 *    value, 65504, limits only what is stored: the CPU computes scores and sums in fp32, and
 *    only rounding an output to f16 can overflow (|value| >= 65520 is stored as +-inf).
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
#define HA_ABI_VERSION 6

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
    HA_DTYPE_F16 = 2  /* IEEE binary16; both backends. The CPU widens bf16 and f16 to fp32
                         exactly and rounds f16/bf16 outputs to nearest even */
};

/* ---- device types (int32_t) ------------------------------------------------------------ */
enum {
    HA_DEVICE_CPU = 0,
    HA_DEVICE_CUDA = 1
};

/* ---- CPU instruction-set paths (int32_t) ----------------------------------------------- */
enum {
    HA_CPU_ISA_AUTO = 0,    /* best the running CPU supports */
    HA_CPU_ISA_GENERIC = 1, /* portable C++, any x86-64 or aarch64 CPU */
    HA_CPU_ISA_AVX2 = 2,    /* AVX2 + FMA + F16C (x86-64) */
    HA_CPU_ISA_AVX512 = 3,  /* AVX-512 F/BW/DQ/VL, plus AVX512-BF16 when present (x86-64) */
    HA_CPU_ISA_NEON = 4     /* Advanced SIMD (aarch64); an x86 path there, or NEON on x86-64,
                               is HA_ERR_UNSUPPORTED */
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

/* Parameters of exact attention. Initialise with ha_exact_params_init().
 * Positions are bottom-right aligned: query row i of a sequence with n_q rows and n_k keys sits
 * at key position p = i + n_k - n_q. Row i sees the keys j with
 *   p - window_left <= j <= p + window_right   (a bound of -1 is unbounded; causal: j <= p),
 * 0 <= j < n_k. A query row that sees no key gets output 0 and log-sum-exp -infinity.
 * Both backends honour every field. The CUDA kernels skip key tiles outside every row's window
 * and evaluate the soft cap's tanh as 1 - 2 / (e^(2|x|) + 1) by the special-function unit
 * (absolute error about 1e-7, so about softcap * 1e-7 on a logit). */
typedef struct ha_exact_params {
    float scale;          /* softmax scale; 0 means 1/sqrt(head_dim) */
    int32_t causal;       /* 0 or 1 (the same as window_right = 0) */
    void* stream;         /* device tensors: a stream from ha_stream_create, or NULL to finish
                             before returning; must be NULL for CPU tensors */
    int32_t window_left;  /* keys before the row's position it may see, >= -1; default -1
                             (unbounded). Sliding-window models (Mistral: 4095) */
    int32_t window_right; /* keys after the row's position it may see, >= -1; default -1 */
    float softcap;        /* >= 0, finite; 0 (default): off. > 0: each scaled score s becomes
                             softcap * tanh(s / softcap) before the softmax (Gemma 2: 50). With
                             it, +-inf scores become +-softcap (tanh's limits); a NaN score
                             still makes its row NaN */
    int32_t reserved;     /* must be 0 */
} ha_exact_params;

/* How the rows and keys of one ha_attention_exact_seqs call split into sequences (a batch of
 * sequences of different lengths, FlashAttention's varlen and paged-KV interfaces).
 * Initialise with ha_seqs_init().
 * Where the int32 arrays live: with CPU tensors in host memory; with CUDA tensors in DEVICE
 * memory of the tensors' device (cudaMalloc'd or managed; anything else is
 * HA_ERR_INVALID_ARGUMENT naming the array), as FlashAttention and vLLM keep them. Every offset,
 * length and used page index is validated before anything runs, on the host: for CUDA tensors
 * the call copies the arrays it needs (cu_seqlens_q/k, seqlens_k, then only the table entries
 * the lengths use) to the host on params.stream and waits for that copy, so the call is
 * synchronous with respect to the host up to the kernel launches (they are then enqueued on the
 * stream as usual, or finished before returning when params.stream is NULL), and it cannot be
 * captured in a CUDA graph. Chosen over validating in a kernel because a kernel could only
 * report a bad index after the call returned, never as this call's status naming the element;
 * the copy is a few bytes per sequence. The arrays must not change until the call returns.
 * Query rows (exactly one of):
 *   cu_seqlens_q != NULL: q and out are packed [1, Hq, total_q, D] (a [total, H, D] buffer:
 *       shape {1, H, total, D}, strides {0, D, H*D, 1}); sequence b owns rows
 *       cu_seqlens_q[b] .. cu_seqlens_q[b+1]-1 (int32, count+1 values, non-decreasing, first 0,
 *       last <= total_q); lse, when given, is [1, Hq, total_q, 1]. Rows of no sequence are not
 *       written.
 *   cu_seqlens_q == NULL: q and out are [count, Hq, n_q, D], every sequence n_q rows (decoding:
 *       n_q = 1).
 * Keys (exactly one of):
 *   page_size >= 1 (paged cache): k and v are pages [num_pages, Hkv, page_size, D] (a
 *       [num_pages, page_size, Hkv, D] buffer: strides {page_size*Hkv*D, D, Hkv*D, 1}; any
 *       strides work). Sequence b's key j lives in page block_table[b*block_table_stride +
 *       j / page_size] at row j % page_size; seqlens_k[b] (required) is its cache length,
 *       <= max_pages * page_size; only the first ceil(seqlens_k[b] / page_size) entries of its
 *       table row are read (each in [0, num_pages)). cu_seqlens_k must be NULL.
 *   cu_seqlens_k != NULL (packed keys): k and v are [1, Hkv, total_k, D]; sequence b's keys
 *       are rows cu_seqlens_k[b] .. cu_seqlens_k[b+1]-1, of which it sees the first
 *       seqlens_k[b] when seqlens_k is given.
 *   otherwise (dense cache): k and v are [count, Hkv, n_k, D]; sequence b sees its first
 *       seqlens_k[b] keys (<= n_k), or all n_k when seqlens_k is NULL.
 * Every sequence is then one attention problem (causal and the window bottom-right aligned to
 * its own lengths), and its rows equal those of ha_attention_exact called on that sequence
 * alone, bit for bit (the paged layout included: keys are visited in the same order).
 * CUDA: one launch of the forward kernel for the whole batch (grid: sequences x heads x query
 * tiles of the longest one), plus one split-KV decode launch and one combine for the
 * decode-shaped sequences (keys, and (Hq/Hkv) * rows <= 64), with each sequence given the
 * kernel, tiles and split plan ha_attention_exact would give it alone; so the bit-for-bit
 * equality holds when the per-sequence call would choose the same kernel variant, which it
 * does whenever q, k, v and out are 16-byte aligned with batch, head and row strides that are
 * multiples of 8 elements and unit head_dim stride (the alone call's views are then aligned
 * too; a paged cache is compared with such a contiguous copy). Layouts outside that rule still
 * give the exact result within rounding. */
typedef struct ha_seqs {
    int32_t count;                /* sequences, >= 0 */
    int32_t page_size;            /* 0: keys not paged; >= 1: keys per page */
    const int32_t* cu_seqlens_q;  /* [count + 1] or NULL */
    const int32_t* cu_seqlens_k;  /* [count + 1] or NULL */
    const int32_t* seqlens_k;     /* [count] or NULL */
    const int32_t* block_table;   /* paged: [count][block_table_stride], page indices */
    int64_t block_table_stride;   /* elements between two sequences' rows, >= max_pages */
    int32_t max_pages;            /* paged: pages each row of block_table holds, >= 1 */
    int32_t reserved;             /* must be 0 */
} ha_seqs;

/* Parameters of HyperAttention (Han et al. 2023). Initialise with ha_hyper_params_init().
 * What each trades (default in brackets):
 *   lsh_projections [7]  2^r buckets of the angular LSH: more tell dissimilar keys apart better
 *                        but split near neighbours more often; the cost barely changes.
 *   block_size [256]     keys each query attends to exactly (its block of the sorted order):
 *                        cost and accuracy grow with it; >= Nq or >= Nk is exact attention.
 *   sample_size [256]    uniformly sampled keys that estimate the rest: the error falls about
 *                        as 1/sqrt(m), the cost grows with m; >= Nk samples every key (exact).
 *   min_seq_len [4096]   at or below this many keys the call is exact attention; causal
 *                        problems are halved down to squares of at most this many rows, which
 *                        are exact (so a larger value is slower and more accurate).
 * Cost: O((Nq + Nk) * (block_size + sample_size) * head_dim) plus hashing and sorting, and the
 * exact causal squares: Nq * min_seq_len / 2 * head_dim. */
typedef struct ha_hyper_params {
    float scale;             /* softmax scale; 0 means 1/sqrt(head_dim) */
    int32_t causal;          /* 0 or 1, bottom-right aligned as in ha_exact_params */
    int32_t lsh_projections; /* random hyperplanes of the angular LSH, 1..16; default 7 */
    int32_t block_size;      /* queries (and keys) per diagonal block after sorting, >= 1;
                                default 256 */
    int32_t sample_size;     /* uniformly sampled keys for the off-diagonal residual, >= 1;
                                default 256 */
    int32_t min_seq_len;     /* at or below this many keys attention is exact, >= 1; default
                                4096. Causal problems are halved recursively down to it. */
    uint64_t seed;           /* hyperplanes and samples are a pure function of the seed, so
                                results are bit-identical for any thread count */
    void* stream;            /* CUDA tensors: as in ha_exact_params (NULL: finished before
                                returning); must be NULL for CPU tensors */
} ha_hyper_params;

/* Optional per-query output of ha_attention_hyper. A non-NULL array holds B*Hq*Nq values in
 * row-major [b][h][i] order (it must not overlap q, k, v, out or lse). */
typedef struct ha_hyper_stats {
    float* row_error; /* estimated error of each row, about two standard errors, in units of the
                         attention-weighted RMS norm of the values: the true error is
                         e_i = ||o^_i - o_i||_2 / sqrt(sum_j p_ij ||v_j||_2^2) (p the exact
                         softmax), and row_error[i] = 2 SE(o^_i) / sqrt(sum_j p_ij ||v_j||^2)^,
                         both estimated from the row's own computation. Only the uniformly
                         sampled residual keys add variance; by the delta method on the ratio
                         o^ = N^/Z^, with a_s = (Nk/m) e^{s_s} (0 for a sample inside the row's
                         window) and y_s = a_s (v_s - o^), a sampled piece (m draws without
                         replacement from n keys) adds (1 - m/n) m/(m-1) sum_s ||y_s - ybar||^2
                         to Z^2 Var(o^); the pieces of a causal row are independent and add, all
                         at the final o^. To stay cheap, ||v_s - o^|| is bounded by
                         ||v_s - c|| + ||o^ - c|| (c: a value centre of the kv head) and the
                         cross term of its square by Cauchy-Schwarz, and the
                         first and last tiles of each sampled piece's window also count, at half
                         weight, as if sampled (a prior for the sorted neighbours just outside
                         the window),
                         so the estimate leans high. The denominator: exact keys exactly plus
                         the weighted samples. It covers the sampling variance of the residual,
                         not a heavy key that no sample hit (the residual estimator is unbiased
                         over every key outside the window). 0 for rows computed exactly
                         (Nk <= min_seq_len, a block spanning the keys, rows that see no key);
                         +inf (no estimate) for a row whose output is not finite, or whose
                         sums overflow fp32 (values near fp32's largest) */
} ha_hyper_stats;

/* Weighting of HSR sparse attention (int32_t). */
enum {
    HA_HSR_RELU = 0,   /* w = ReLU(scale*q.k - bias)^alpha, exact */
    HA_HSR_SOFTMAX = 1 /* softmax over the keys above a per-query threshold, with a certified
                          bound on the dropped probability mass */
};

/* Parameters of HSR sparse attention (Chen et al. 2024). Initialise with ha_hsr_params_init(). */
typedef struct ha_hsr_params {
    int32_t mode;     /* HA_HSR_RELU or HA_HSR_SOFTMAX; default HA_HSR_SOFTMAX */
    int32_t alpha;    /* ReLU power, >= 1; default 1 */
    float bias;       /* ReLU bias b (in scaled-score units), finite; default 0 */
    float scale;      /* score scale; 0 means 1/sqrt(head_dim) */
    double epsilon;   /* softmax: guaranteed upper bound on the dropped probability mass of
                         every row, in (0, 1) (checked in both modes); default 1e-3 */
    int32_t causal;   /* 0 or 1, bottom-right aligned */
    int32_t reserved; /* must be 0 */
    void* stream;     /* must be NULL (CPU only) */
} ha_hsr_params;

/* Optional per-query outputs of ha_attention_hsr. Each non-NULL array holds B*Hq*Nq values in
 * row-major [b][h][i] order. */
typedef struct ha_hsr_stats {
    float* dropped_mass;   /* softmax: certified upper bound on the probability mass of the
                              keys left out (0 when none were), always <= epsilon; ReLU: 0 */
    float* error_bound;    /* softmax: certified bound on max_d |o_d - o_exact_d| caused by the
                              keys left out: sum over the dropped blocks of (their mass bound)
                              x max_d max(vmax_d - o_d, o_d - vmin_d), [vmin, vmax] the value
                              range of the block (or of all values of the head). (A bound by
                              dropped_mass * (max - min over the dropped values) alone would be
                              wrong when o lies outside that range.) Arithmetic rounding, the
                              same as the exact kernel's, comes on top. ReLU: 0 */
    int64_t* keys_touched; /* keys whose exact score was computed for the row (the keys of the
                              blocks visited and the recent tail that the row may see) */
} ha_hsr_stats;

/* Build options of a key index. Initialise with ha_index_params_init(). */
typedef struct ha_index_params {
    int32_t block_size;   /* most keys per block, 8..1024; default 64 */
    int32_t kmeans_iters; /* 0..64: Lloyd passes of the 2-means that split the keys, recursively,
                             into blocks of similar keys (separate clusters never share a block,
                             so blocks may hold fewer than block_size keys); 0 keeps the cache
                             order in full blocks; default 4 */
    uint64_t seed;        /* 2-means initialisation; the index is a pure function of the keys
                             and the seed (any thread count) */
    int32_t copy_keys;    /* 1 (default): the index keeps its own copy of the sealed keys in
                             block order, so a visited block is one contiguous read: about 1.25x
                             the bytes of the indexed K (a quarter more is room for appending,
                             written at build so that appends take no page faults); 0: keys are
                             read in place through the block permutation (no copy; each key row
                             is a random access: ReLU decoding about 1.4x slower at 1M keys) */
    int32_t reserved;     /* must be 0 */
} ha_index_params;

/* A half-space reporting index over the keys of a [B, Hkv, N, D] tensor, one per
 * (batch, kv head). Opaque; owned by the caller through create/destroy. */
typedef struct ha_key_index ha_key_index;

typedef struct ha_key_index_info {
    int64_t batch, heads, keys, head_dim; /* the indexed K view's shape */
    int64_t sealed_keys;  /* keys inside sealed blocks; the rest form the exact recent tail */
    int64_t blocks;       /* sealed blocks per (batch, kv head), the largest over the heads */
    int64_t bytes;        /* native memory the index holds (reserved room included) */
    int32_t dtype;        /* of the indexed keys */
    int32_t block_size;
} ha_key_index_info;

/* Properties of a CUDA device. */
typedef struct ha_device_props {
    char name[256];          /* NUL-terminated */
    int64_t total_memory;    /* bytes */
    int32_t compute_major;   /* compute capability */
    int32_t compute_minor;
    int32_t multiprocessors;
    int32_t reserved;
} ha_device_props;

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
/* Threads used by CPU operations, 0..1024 (more is HA_ERR_INVALID_ARGUMENT); n == 0 restores
 * the default (the CPUs this process may run on, at most 1024). */
HA_API int32_t ha_set_num_threads(int32_t n);
HA_API int32_t ha_get_num_threads(void);
/* Forces an instruction-set path (HA_CPU_ISA_*), mainly for tests; fails with
 * HA_ERR_UNSUPPORTED if the running CPU lacks it. Process-wide. */
HA_API int32_t ha_set_cpu_isa(int32_t isa);
/* The path in use now (never HA_CPU_ISA_AUTO). */
HA_API int32_t ha_get_cpu_isa(void);
/* Large working buffers (approximate attention's, the packed keys of long calls) are mapped on
 * huge pages and, once released, kept for the next call up to this many bytes in all (default
 * 1 GiB), so that calls do not pay for fresh pages each time. Kept buffers are marked free to
 * the kernel (MADV_FREE): under memory pressure it takes them back. 0 keeps none; setting a
 * lower limit releases what is above it at once. bytes < 0 is HA_ERR_INVALID_ARGUMENT. */
HA_API int32_t ha_set_buffer_cache_limit(int64_t bytes);
HA_API int64_t ha_get_buffer_cache_limit(void);

/* ---- operations ------------------------------------------------------------------------ */
HA_API void ha_exact_params_init(ha_exact_params* params);

/*
 * Exact attention forward by the FlashAttention-2 algorithm (tiled, online softmax, O(n)
 * extra memory).
 *   q   [B, Hq,  Nq, D]   k, v [B, Hkv, Nk, D]   out [B, Hq, Nq, D]
 *   lse [B, Hq,  Nq, 1] float32, natural log of the softmax denominator of each row
 *       (scaled scores), or NULL.
 * Hq must be a multiple of Hkv (GQA/MQA: query head h reads kv head h / (Hq/Hkv)).
 * q, k, v and out share one dtype (CPU: f32, bf16, f16; CUDA: f16, bf16); D in 1..256.
 * out must not overlap the inputs. params may be NULL for the defaults (ha_exact_params_init).
 */
HA_API int32_t ha_attention_exact(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_exact_params* params, const void* q_data,
                                  const void* k_data, const void* v_data, void* out_data,
                                  void* lse_data);

HA_API void ha_seqs_init(ha_seqs* seqs);

/*
 * Exact attention over a batch of sequences of different lengths (see ha_seqs): packed
 * queries, packed or paged or padded keys, each sequence its own causal and window alignment.
 * Operands and dtypes as in ha_attention_exact (CPU: f32, bf16, f16; CUDA: f16, bf16, every operand
 * on one device and seqs' arrays in its memory). seqs is required; params may be NULL. A call
 * with seqs->count == 0 does nothing (CUDA tensors: after checking that the device exists). Trailing addresses: the data of q, k, v,
 * out, lse, then seqs' arrays cu_seqlens_q, cu_seqlens_k, seqlens_k, block_table (NULL where
 * the struct has NULL).
 */
HA_API int32_t ha_attention_exact_seqs(const ha_tensor* q, const ha_tensor* k,
                                       const ha_tensor* v, const ha_tensor* out,
                                       const ha_tensor* lse, const ha_seqs* seqs,
                                       const ha_exact_params* params, const void* q_data,
                                       const void* k_data, const void* v_data, void* out_data,
                                       void* lse_data, const int32_t* cu_seqlens_q_data,
                                       const int32_t* cu_seqlens_k_data,
                                       const int32_t* seqlens_k_data,
                                       const int32_t* block_table_data);

/*
 * Merges two partial attention results over disjoint key sets A and B into the result over
 * A ∪ B:  lse = log(e^lse_a + e^lse_b),  out = e^(lse_a-lse) out_a + e^(lse_b-lse) out_b.
 * out_a, out_b, out: [B, H, N, D] of one dtype; lse_a, lse_b: [B, H, N, 1] float32;
 * lse (the merged log-sum-exp) may be NULL. out may be out_a or out_b exactly (in place), and
 * lse may be lse_a or lse_b exactly. A row whose lse_a and lse_b are both -infinity merges to
 * out 0 and lse -infinity. stream: for device tensors, NULL = finish before returning; must be
 * NULL for CPU tensors.
 */
HA_API int32_t ha_merge(const ha_tensor* out_a, const ha_tensor* lse_a, const ha_tensor* out_b,
                        const ha_tensor* lse_b, const ha_tensor* out, const ha_tensor* lse,
                        void* stream, const void* out_a_data, const void* lse_a_data,
                        const void* out_b_data, const void* lse_b_data, void* out_data,
                        void* lse_data);

/* ---- HyperAttention (CPU and CUDA) ----------------------------------------------------- */
HA_API void ha_hyper_params_init(ha_hyper_params* params);

/*
 * Approximate attention in near-linear time: angular-LSH sort, block-diagonal exact attention
 * on the sorted order, uniformly sampled keys for the rest, merged by log-sum-exp; causal
 * problems by recursive halving. Operands as in ha_attention_exact (f32, bf16 or f16, GQA without
 * expanding K/V, Nq and Nk < 2^31); lse may be NULL. Exact when Nk <= min_seq_len (the same
 * bytes as ha_attention_exact), and when q or k holds a non-finite element (the non-finite
 * policy at the top).
 *
 * Non-causal, per (batch, head): queries and keys are hashed with the same r hyperplanes
 * (sign bits, ranked by the inverse Gray code so neighbouring buckets differ in one bit) and
 * stably sorted by bucket (keys once per kv head). Sorted query block i (block_size queries,
 * the last one shorter) attends exactly to a window of the sorted keys: the same fraction of
 * the key order as the block is of the query order (with Nq == Nk, key block i itself),
 * widened around its centre to at least min(block_size, Nk) keys. sample_size distinct keys
 * per (batch, kv head) are drawn uniformly; each query also attends to those outside its own
 * window, each standing for Nk/m keys. Nothing is padded: short blocks are just shorter.
 * Causal (row i sees keys j <= i + Nk - Nq): with Nk > Nq every row also sees the first
 * Nk - Nq keys, a non-causal piece as above; with Nq > Nk the first Nq - Nk rows see no key
 * (output 0, lse -inf). The square part is exact when it has at most min_seq_len rows;
 * otherwise its two diagonal halves are solved the same way and the second-half rows attend
 * to the first-half keys as a non-causal piece (always approximated, whatever its size).
 * lse, when given, is the log of the estimated softmax denominator. stats may be NULL (no
 * extra work); with stats->row_error, every row also gets its error estimate (see
 * ha_hyper_stats). out and lse are the same bytes with or without stats.
 * CUDA tensors (f16, bf16; f32 is HA_ERR_UNSUPPORTED as for exact attention): the same plan,
 * hyperplanes, buckets (projections summed in double in the same order, so the same bits) and
 * sampled keys as the CPU backend for the same seed, so both compute the same estimator and
 * differ by rounding only (the device rounds P to the storage type before P.V, as its exact
 * kernel does, and a causal row's exact leaf is rounded to the storage type once before it is
 * merged with the row's other pieces). params.stream as in ha_exact_params (NULL: finished
 * before returning). When Nk > min_seq_len the call scans q and k for non-finite elements on
 * the device and reads that flag back (one synchronisation of the stream), so it is
 * synchronous with the host up to the kernel launches and cannot be captured in a CUDA graph.
 * stats->row_error is not computed on CUDA: a non-NULL one with CUDA tensors is
 * HA_ERR_UNSUPPORTED (stats itself, or stats with row_error NULL, is accepted). Scratch comes
 * from the device's memory pool (about (G * (Nq * (4 * D + 14) + 12 * Nq * levels) + 12 * Nk *
 * levels) bytes per kv head for causal calls; heads are processed in chunks of at most 3 GiB).
 */
HA_API int32_t ha_attention_hyper(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_hyper_params* params, ha_hyper_stats* stats,
                                  const void* q_data, const void* k_data, const void* v_data,
                                  void* out_data, void* lse_data, float* row_error_data);

/* ---- HSR sparse attention (CPU) -------------------------------------------------------- */
HA_API void ha_index_params_init(ha_index_params* params);
HA_API void ha_hsr_params_init(ha_hsr_params* params);

/* Builds an index over k [B, Hkv, N, D] (f32, bf16 or f16, any strides, N may be 0, N < 2^31,
 * D <= 256). v (same shape and dtype as k) may be NULL; when given, the index also keeps
 * per-block value ranges, which make the softmax error bound cheap: without them a call that
 * asks for error_bound reads all values once. The index keeps the address, strides and shape of
 * k (and v) and reads them in place (with copy_keys, visited sealed blocks come from the
 * index's own copy): they must stay alive and their first N rows unchanged while the index is
 * used. Keys must be finite (otherwise HA_ERR_INVALID_ARGUMENT naming the key). The floor(N / block_size) * block_size oldest keys are sealed into blocks, the rest
 * form the recent tail. Room for N/4 more keys is reserved for appending. params may be
 * NULL. */
HA_API int32_t ha_key_index_create(const ha_tensor* k, const ha_tensor* v,
                                   const ha_index_params* params, ha_key_index** index,
                                   const void* k_data, const void* v_data);

/* Extends the index to a longer view of the same cache: k (and v, NULL exactly when the index
 * was built without v) have the index's addresses, strides, batch, heads and head_dim, and
 * N >= the indexed count. New keys join the exact recent tail; each time the tail holds
 * block_size keys they are sealed as one block in cache order (no regrouping), so appending
 * costs O(new keys). The index is unchanged when a new key is not finite. */
HA_API int32_t ha_key_index_append(ha_key_index* index, const ha_tensor* k, const ha_tensor* v,
                                   const void* k_data, const void* v_data);

HA_API int32_t ha_key_index_get_info(const ha_key_index* index, ha_key_index_info* info);

/* Frees the index; NULL is ignored. */
HA_API void ha_key_index_destroy(ha_key_index* index);

/*
 * Half-space reporting: for every query row of q [B, Hq, Nq, D], the keys j of its kv head with
 * q.k_j >= threshold (raw dot product, no scale), with exactly 100% recall: q.k_j is compared
 * with threshold in exact real arithmetic on the stored values (ties included). q is f32,
 * bf16 or f16 (independently of k) and finite; threshold is finite.
 *   counts  [B*Hq*Nq] int64, row-major [b][h][i]: reported keys per row (required);
 *   indices concatenation of every row's key positions, ascending within a row, or NULL to
 *           count only; capacity is its length in elements;
 *   total   the sum of counts (required).
 * index may be NULL (a temporary one is built). When indices is not NULL and capacity < total,
 * counts and total are filled, indices is left untouched and HA_ERR_INVALID_ARGUMENT is
 * returned.
 */
HA_API int32_t ha_hsr_report(const ha_key_index* index, const ha_tensor* k, const ha_tensor* q,
                             float threshold, int64_t* counts, int32_t* indices,
                             int64_t capacity, int64_t* total, const void* k_data,
                             const void* q_data);

/*
 * Sparse attention over the keys that half-space reporting finds (HA_HSR_RELU: exact up to
 * float rounding; a row with no key above the bias outputs zeros) or that a per-query
 * threshold keeps (HA_HSR_SOFTMAX: blocks visited in descending order of their bound until the
 * certified dropped mass is <= epsilon). Operands as in ha_attention_exact (CPU, f32, bf16 or f16,
 * a query row with a non-finite element: NaN output, +inf bounds); causal is bottom-right aligned. index: NULL (a temporary one is built: regrouped
 * only when many query rows share it, within segments of 1024 keys when causal), or built over
 * exactly this k (same address, strides, shape, dtype, key count), and over this v when it was
 * built with one. stats may be NULL.
 * Dense fallback: when the keys to visit exceed a share of the cache (30% when decoding, 20%
 * when prefilling), softmax rows go to the dense exact kernel (dropped mass 0) and ReLU rows
 * scan every key in cache order (values read only for keys of nonzero weight). Results are
 * identical for any thread count.
 */
HA_API int32_t ha_attention_hsr(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                const ha_tensor* out, const ha_key_index* index,
                                const ha_hsr_params* params, ha_hsr_stats* stats,
                                const void* q_data, const void* k_data, const void* v_data,
                                void* out_data, float* dropped_mass_data,
                                float* error_bound_data, int64_t* keys_touched_data);

/* ---- error-controlled approximate attention (CPU) ---------------------------------------- */

/* Parameters of ha_attention_approx. Initialise with ha_approx_params_init(). */
typedef struct ha_approx_params {
    float scale;          /* softmax scale; 0 means 1/sqrt(head_dim) */
    int32_t causal;       /* 0 or 1, bottom-right aligned as in ha_exact_params */
    int32_t sinks;        /* the first `sinks` keys are always exact, >= 0; default 4 */
    int32_t window;       /* local keys computed exactly, >= 0; default 256. A query at cache
                             position p (p = i + Nk - Nq) sees keys p-window < j <= p exactly
                             (not causal: |j - p| <= window/2) */
    int32_t samples;      /* keys sampled from the remaining tail per group of query rows,
                             >= 0; default 256. 0 drops the tail (the estimate is then only
                             finite where a certified tail bound exists) */
    int32_t heavy_budget; /* most heavy keys (found by the key sketches, then scored exactly)
                             per group of query rows, >= 0; 0 = automatic (max(128, Nk/256)) */
    double target_error;  /* 0: fixed budget, estimates still returned; in (0, 1): a few probe
                             groups per head measure the estimates and set the head's draws
                             (or send the head to the exact kernel when sampling would not be
                             clearly cheaper); rows whose estimate still exceeds the target are
                             solved again with the draws they need, then exactly, so every
                             returned estimate is <= it */
    uint64_t seed;        /* sketches and samples are a pure function of the seed: results are
                             bit-identical for any thread count */
    void* stream;         /* must be NULL (CPU only) */
} ha_approx_params;

/* Optional per-row outputs of ha_attention_approx, each B*Hq*Nq values in row-major [b][h][i]
 * order, or NULL. Error unit (the same for the target): e_i = ||o^_i - o_i||_2 /
 * sqrt(sum_j p_ij ||v_j||_2^2), the error relative to the attention-weighted RMS norm of the
 * values. */
typedef struct ha_approx_stats {
    float* row_error;       /* estimated e_i (about two standard errors of the sampled tail's
                               ratio estimator; 0 for a row computed exactly); +inf where no
                               estimate exists (samples 0 and no certificate) */
    float* tail_mass_bound; /* certified upper bound on the probability mass of the keys that
                               were not computed exactly (from the index's block bounds); 1 when
                               nothing better is certified; 0 for an exact row */
    int64_t* keys_touched;  /* keys whose exact score was computed for the row */
    int32_t* level;         /* 0: first budget, 1: refined (more draws and heavy keys),
                               2: recomputed exactly because of the target */
} ha_approx_stats;

HA_API void ha_approx_params_init(ha_approx_params* params);

/*
 * Softmax attention as an exact part plus a sampled tail, with a per-row error estimate.
 * Operands as in ha_attention_exact (CPU, f32, bf16 or f16, GQA without expanding K/V, Nq != Nk,
 * causal bottom-right); lse may be NULL (when given: log of the estimated denominator).
 * Exact part: the first `sinks` keys, the local window, and heavy keys: candidates whose
 * estimated score (64-bit sign sketch of the key: angle from the Hamming distance, times the
 * norms) may carry a large share of the mass, the best `heavy_budget` of them scored exactly.
 * Tail: every other visible key, estimated from `samples`
 * keys drawn uniformly (stratified) per group of query rows, each weighted by the keys it
 * stands for; merged with the exact part by log-sum-exp.
 * index: NULL (the key sketches are made for this call from params.seed: O(Nk * D * 64) work),
 * or built over exactly this k (as for ha_attention_hsr), for example a decoding cache kept
 * current with ha_key_index_append: every index keeps the 64-bit sketch and norm of each key
 * (12 bytes a key, hyperplanes from the index's seed), so a decoding step reads 8 bytes of
 * sketch per key instead of the key. stats may be NULL.
 */
HA_API int32_t ha_attention_approx(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                   const ha_tensor* out, const ha_tensor* lse,
                                   const ha_key_index* index, const ha_approx_params* params,
                                   ha_approx_stats* stats, const void* q_data,
                                   const void* k_data, const void* v_data, void* out_data,
                                   void* lse_data, float* row_error_data,
                                   float* tail_mass_bound_data, int64_t* keys_touched_data,
                                   int32_t* level_data);

/* ---- devices (CUDA) -------------------------------------------------------------------- */
/* Number of visible CUDA devices. *count is always written (0 when none); when there is none
 * the status is HA_ERR_NO_DEVICE and ha_last_error() gives CUDA's own reason (or says that the
 * build has no CUDA backend). */
HA_API int32_t ha_cuda_device_count(int32_t* count);
HA_API int32_t ha_cuda_device_props(int32_t device_id, ha_device_props* props);

/* Device memory. device_type HA_DEVICE_CUDA; bytes >= 0 (0 gives NULL). */
HA_API int32_t ha_device_alloc(int32_t device_type, int32_t device_id, int64_t bytes,
                               void** ptr);
/* NULL is ignored. */
HA_API int32_t ha_device_free(int32_t device_type, int32_t device_id, void* ptr);

/* Copies bytes between any two of host and CUDA memory (host->device, device->host,
 * device->device, host->host). stream NULL: finished before returning; otherwise enqueued. */
HA_API int32_t ha_memcpy(void* dst, int32_t dst_device_type, int32_t dst_device_id,
                         const void* src, int32_t src_device_type, int32_t src_device_id,
                         int64_t bytes, void* stream);

/* Streams of a CUDA device (a cudaStream_t). */
HA_API int32_t ha_stream_create(int32_t device_id, void** stream);
HA_API int32_t ha_stream_synchronize(int32_t device_id, void* stream);
HA_API int32_t ha_stream_destroy(int32_t device_id, void* stream);

#ifdef __cplusplus
}

/* C++ overloads without the trailing addresses (taken from the structs; see the top). */
inline void* ha_data_of(const ha_tensor* t) { return t ? t->data : nullptr; }
inline int32_t ha_attention_exact(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_exact_params* params) {
    return ha_attention_exact(q, k, v, out, lse, params, ha_data_of(q), ha_data_of(k),
                              ha_data_of(v), ha_data_of(out), ha_data_of(lse));
}
inline int32_t ha_attention_exact_seqs(const ha_tensor* q, const ha_tensor* k,
                                       const ha_tensor* v, const ha_tensor* out,
                                       const ha_tensor* lse, const ha_seqs* seqs,
                                       const ha_exact_params* params) {
    return ha_attention_exact_seqs(q, k, v, out, lse, seqs, params, ha_data_of(q), ha_data_of(k),
                                   ha_data_of(v), ha_data_of(out), ha_data_of(lse),
                                   seqs ? seqs->cu_seqlens_q : nullptr,
                                   seqs ? seqs->cu_seqlens_k : nullptr,
                                   seqs ? seqs->seqlens_k : nullptr,
                                   seqs ? seqs->block_table : nullptr);
}
inline int32_t ha_merge(const ha_tensor* out_a, const ha_tensor* lse_a, const ha_tensor* out_b,
                        const ha_tensor* lse_b, const ha_tensor* out, const ha_tensor* lse,
                        void* stream) {
    return ha_merge(out_a, lse_a, out_b, lse_b, out, lse, stream, ha_data_of(out_a),
                    ha_data_of(lse_a), ha_data_of(out_b), ha_data_of(lse_b), ha_data_of(out),
                    ha_data_of(lse));
}
inline int32_t ha_attention_hyper(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                  const ha_tensor* out, const ha_tensor* lse,
                                  const ha_hyper_params* params, ha_hyper_stats* stats = nullptr) {
    return ha_attention_hyper(q, k, v, out, lse, params, stats, ha_data_of(q), ha_data_of(k),
                              ha_data_of(v), ha_data_of(out), ha_data_of(lse),
                              stats ? stats->row_error : nullptr);
}
inline int32_t ha_key_index_create(const ha_tensor* k, const ha_tensor* v,
                                   const ha_index_params* params, ha_key_index** index) {
    return ha_key_index_create(k, v, params, index, ha_data_of(k), ha_data_of(v));
}
inline int32_t ha_key_index_append(ha_key_index* index, const ha_tensor* k, const ha_tensor* v) {
    return ha_key_index_append(index, k, v, ha_data_of(k), ha_data_of(v));
}
inline int32_t ha_hsr_report(const ha_key_index* index, const ha_tensor* k, const ha_tensor* q,
                             float threshold, int64_t* counts, int32_t* indices,
                             int64_t capacity, int64_t* total) {
    return ha_hsr_report(index, k, q, threshold, counts, indices, capacity, total, ha_data_of(k),
                         ha_data_of(q));
}
inline int32_t ha_attention_hsr(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                const ha_tensor* out, const ha_key_index* index,
                                const ha_hsr_params* params, ha_hsr_stats* stats) {
    return ha_attention_hsr(q, k, v, out, index, params, stats, ha_data_of(q), ha_data_of(k),
                            ha_data_of(v), ha_data_of(out), stats ? stats->dropped_mass : nullptr,
                            stats ? stats->error_bound : nullptr,
                            stats ? stats->keys_touched : nullptr);
}
inline int32_t ha_attention_approx(const ha_tensor* q, const ha_tensor* k, const ha_tensor* v,
                                   const ha_tensor* out, const ha_tensor* lse,
                                   const ha_key_index* index, const ha_approx_params* params,
                                   ha_approx_stats* stats) {
    return ha_attention_approx(q, k, v, out, lse, index, params, stats, ha_data_of(q),
                               ha_data_of(k), ha_data_of(v), ha_data_of(out), ha_data_of(lse),
                               stats ? stats->row_error : nullptr,
                               stats ? stats->tail_mass_bound : nullptr,
                               stats ? stats->keys_touched : nullptr,
                               stats ? stats->level : nullptr);
}
#endif

#endif /* HYPERATTN_H */
