// Key buckets for approximate prefill: a few Lloyd iterations of k-means over one kv head's
// keys. Keys that land in a query's bucket are scored exactly, so a bucket should hold the
// keys that score alike against any query: a cluster of contents, or of nearby positions
// under RoPE. Buckets are an accelerator, not a certificate: what a query's bucket misses is
// sampled, and the sample's spread is what the row's error estimate reports.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/hsr/hsr_kernels.h"

namespace ha::cpu::approx {

struct Buckets {
    int C = 0;
    int64_t Dp = 0;
    std::vector<float> cen;       // [C][Dp] centres, zero-padded
    std::vector<float> half_n2;   // |centre|² / 2
    std::vector<float> log_size;  // ln(keys in the bucket), -inf when empty
    std::vector<float> spread;    // mean |k - centre|² over the bucket's keys
};

// Clusters the keys at positions pos[0..n) of `k` (D columns) into at most C buckets (C <= 255),
// merging k-means cells that split one cluster up to max_size keys a bucket; id[t] is the
// bucket of pos[t]. A pure function of the inputs and the seed (the thread count only splits
// the work).
Buckets cluster_keys(const hsr::Kernels& kr, const hsr::RowSrc& k, const std::vector<int32_t>& pos,
                     int64_t D, int C, int64_t max_size, uint64_t seed, std::vector<uint8_t>& id);

// The bucket where the query row x (fp32, Dp columns, unscaled) expects the most softmax
// mass: argmax_c  scale·x·centre_c + ln|c| + scale²·|x|²·spread_c / (2D), the log of a
// Gaussian bucket's expected Σ exp(score). Rows of Q are R <= 8 at a time, ldq apart.
void best_buckets(const hsr::Kernels& kr, const Buckets& bk, const float* Q, int R, int64_t ldq,
                  int64_t D, float scale, uint8_t* out);

}  // namespace ha::cpu::approx
