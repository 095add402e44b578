// Bucket ranks of the angular LSH. A key's code holds one sign bit per random hyperplane;
// sorting by the code itself would put buckets that differ only in their top bit far apart.
// Ranking codes by the inverse Gray code (prefix XOR) makes the code of rank t+1 differ from
// the code of rank t in exactly one bit, so neighbouring buckets in the sorted order are
// neighbouring cells of the hyperplane arrangement. (The forward Gray code, applied to codes,
// gives that property to only about three quarters of the neighbours.)
// Header-only: the CPU engine, the CUDA hash kernel (hyper.cu) and the white-box tests share it.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define HA_BUCKET_RANK_HD __host__ __device__
#else
#define HA_BUCKET_RANK_HD
#endif

namespace ha::cpu::hyper {

// The code whose rank is `rank`: the ordinary (reflected binary) Gray code.
HA_BUCKET_RANK_HD constexpr uint32_t code_of_rank(uint32_t rank) { return rank ^ (rank >> 1); }

// The rank of `code`: the inverse Gray code, bit i of the rank = XOR of the code's bits >= i.
HA_BUCKET_RANK_HD constexpr uint32_t bucket_rank(uint32_t code) {
    code ^= code >> 16;
    code ^= code >> 8;
    code ^= code >> 4;
    code ^= code >> 2;
    code ^= code >> 1;
    return code;
}

}  // namespace ha::cpu::hyper
