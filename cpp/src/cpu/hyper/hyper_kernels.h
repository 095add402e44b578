// The per-instruction-set half of HyperAttention: hashing rows to bucket ranks, packing
// gathered keys into the exact kernel's tile format, and running query rows through the
// exact kernel's microkernels and online softmax over windows of sorted keys, sampled keys
// and the contiguous keys of causal leaves.
// The kernels are templates in cpu/kern/hyper_*.h, instantiated once per ISA into the hyper
// section of the kernel table (cpu/kernels.h); the scheduling, sorting and sampling
// (hyper_forward.cpp) is baseline code that calls through the table of the active path.
// Everything here works on raw pointers owned by the caller: no allocation, no std
// containers inside the ISA objects.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu/cpu_backend.h"

namespace ha::cpu::hyper {

constexpr int kMaxProjections = 16;

// Bucket ranks of rows [i0, i0 + n) of head h of batch entry b of x.
struct HashJob {
    int32_t dtype;
    View x;
    int64_t b, h, i0, n, D;
    int32_t r;             // projections, 1..16
    const float* planes;   // [D][16]: plane j's coordinate d at d*16 + j (zero for j >= r)
    uint16_t* ranks;       // n ranks out
};

// Keys k0 + idx[t] (t < count) of (b, hk), packed into tiles ready for run_rows.
struct PackJob {
    int32_t dtype;
    View k, v;
    int64_t b, hk, D;
    const int32_t* idx;
    int64_t k0, count;
    void* tiles;           // ceil(count / tile_keys) * tile_bytes(dtype, D) bytes, 64-aligned
};

// Keys packed ahead of the jobs that share them (a window of sorted keys, the samples), each
// standing for 2^bias_log2 keys; keys [hole_lo, hole_hi) of the set are masked.
struct PackedSet {
    const void* tiles;
    int64_t count;
    float bias_log2;
    int64_t hole_lo, hole_hi;
    // Error estimates (RowsJob::stats) only: per key of the set (read in whole tiles, so
    // zero-padded to a multiple of tile_keys), ||v||^2 and, for samples, ||v - centre||.
    const float* vnorm2;
    const float* vdist;
    float est_c;           // samples: (1 - m/n) m/(m-1) (the variance factor); 0: exact keys
    float edge_c;          // window of a sampled rect: (n/m - 1)/2 (its edge tiles' factor); else 0
};

// Per-row error-estimate state kept between the pieces of a causal problem (see
// cpu/kern/hyper_rows.h): D floats of sum c/m A1 U1, then E, SQ, SA, SU, SA1.
constexpr int64_t stats_floats(int64_t D) { return D + 5; }

// Per-row online-softmax state kept between the pieces of a causal problem: D floats of
// unnormalised output, then the running max (log2 units of scaled scores) and the sum.
inline int64_t state_floats(int64_t D) { return D + 2; }

// Query rows q0 + (q_idx ? q_idx[r] : r), r < n_rows (at most kMaxJobRows), of (b, h) attend,
// in this order, to keys k0 .. k0 + n_keys - 1 of (b, hk) (packed by the job; causal: row i
// sees k0 + t only for t <= i - cq0), then to the prepacked sets. Their state starts empty or
// from acc, and ends in acc or as output.
constexpr int64_t kMaxJobRows = 1024;
struct RowsJob {
    int32_t dtype;
    View q, k, v;
    int64_t b, h, hk, D;
    float scale;
    const int32_t* q_idx;
    int64_t q0, n_rows;
    int64_t k0, n_keys;
    bool causal;
    int64_t cq0;
    PackedSet sets[2];
    int n_sets;
    float* acc;                // state rows, row i at acc + (i - acc0) * state_floats(D)
    uint8_t* has_state;        // per acc row: 0 until a job stores its state (rows never
                               // written start empty, so acc needs no initialisation pass)
    int64_t acc0;
    bool load;                 // start from acc where has_state (else empty)
    bool store;                // end in acc (else normalise into out and lse)
    View out;
    float* lse;                // nullable
    int64_t lse_strides[3];
    void* scratch;             // rows_scratch_bytes(dtype, D), 64-byte aligned
    // Error estimates (ha_hyper_stats), only when stats: sacc rows next to acc rows
    // (stats_floats(D) each), the value centre of (b, hk) (D floats), and the output
    // row_error [b][h][i] of Hq x Nq.
    bool stats;
    float* sacc;
    const float* vcentre;
    float* row_error;
    int64_t Hq, Nq;
};

// The hyper section of the kernel table (cpu::Kernels::hyper).
struct Kernels {
    void (*hash_rows)(const HashJob& j);
    int64_t tile_keys;                                   // keys per packed tile
    size_t (*tile_bytes)(int32_t dtype, int64_t D);
    void (*pack_keys)(const PackJob& j);
    size_t (*rows_scratch_bytes)(int32_t dtype, int64_t D);
    void (*run_rows)(const RowsJob& j);
    // Error estimates: ||v||^2 and, with centre (padded to a multiple of 16 floats with zeros),
    // ||v - centre|| of the first `count` keys of packed tiles, zeros up to whole tiles.
    void (*value_norms)(int32_t dtype, const void* tiles, int64_t count, int64_t D,
                        const float* centre, float* n2, float* dist);
};

}  // namespace ha::cpu::hyper
