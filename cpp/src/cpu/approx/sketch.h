// 64-bit sign sketches of key and query rows (SimHash): bit t is set when the row lies on the
// positive side of random hyperplane t. The Hamming distance h between two sketches estimates
// their angle (θ ≈ π·h/64), which is how approximate attention finds heavy-key candidates
// without a dot product per key: one XOR and one popcount per (row, key).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/hsr/hsr_kernels.h"

namespace ha::cpu::approx {

constexpr int kSketchBits = 64;

// The hyperplanes, [64][Dp] fp32, zero-padded from D to Dp (a multiple of 16): a pure function
// of the seed and D.
std::vector<float> sketch_planes(uint64_t seed, int64_t D, int64_t Dp);

// Sketches of keys [first, first + n) of one (batch, kv head) (k.data points at its row 0).
// planes as from sketch_planes; out[j] for j < n.
void sketch_rows(const hsr::Kernels& kr, const float* planes, int64_t D, int64_t Dp,
                 const hsr::RowSrc& k, int64_t first, int64_t n, uint64_t* out);

// out[i] = Hamming distance between q and ksk[pos[i]], i < n.
void hamming_list(uint64_t q, const uint64_t* ksk, const int32_t* pos, size_t n, int* out);

// True when this CPU has the POPCNT instruction (every x86-64-v2 CPU).
bool have_popcnt();

// Keys fall into norm classes: class c holds norms in (kmax·2^-(c+1)/2, kmax·2^-c/2], the last
// class everything shorter. A key's score can reach ||q||·||k||·cos θ, so the Hamming
// distance that still lets a key matter depends on its length: long keys (needles often are)
// are admitted at larger angles.
constexpr int kNormClasses = 8;
// The largest norm of class c.
inline double class_norm(int c, double kmax) { return kmax * std::exp2(-0.5 * c); }

// Appends to `hits` every position j of [a, b) whose sketch is within
// thr[r * kNormClasses + cls[j]] bits of the query sketch qs[r] for at least one r < R
// (a negative threshold admits nothing), stopping after `cap` hits in total. Returns false
// when it stopped at the cap. With grp, key j counts for row r only when grp[j] is neither
// 0xff nor skip[r] (keys a row already computes exactly).
bool sketch_scan(const uint64_t* ksk, const uint8_t* cls, int64_t a, int64_t b,
                 const uint64_t* qs, const int* thr, int R, std::vector<int32_t>& hits,
                 size_t cap, const uint8_t* grp = nullptr, const uint8_t* skip = nullptr);

// Scores of scan hits as the sketches estimate them, for rows r < R (R <= 8):
// est_r(j) = cq[r]·knorm[j]·tab(h_r(j)), h_r the Hamming distance to qs[r]. A hit is relevant to
// row r when est_r with the optimistic table `up` (the angle less the sketch's noise margin)
// reaches cut[r]; rank[i] is the best est_r with the table `mid` over the rows it is relevant
// to, -inf when none. Tables have kSketchBits + 1 entries. The AVX-512 path and the scalar one
// give the same floats (the same operations in the same order).
void rank_hits(const uint64_t* ksk, const float* knorm, const int32_t* hits, size_t n,
               const uint64_t* qs, const float* cq, const float* cut, int R, const float* up,
               const float* mid, float* rank);

}  // namespace ha::cpu::approx
