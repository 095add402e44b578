// The half-space reporting index: per (batch, kv head), the sealed keys grouped in blocks of
// block_size with bounds that hold for every key inside, plus the exact recent tail.
//
// Storage slots: sealed keys are numbered by block (block b holds slots bstart[b] ..
// bstart[b+1], at most block_size of them); perm[s] is the key's position in the cache. With
// copy_keys the sealed keys are also copied by slot (HeadIndex::keys); otherwise they are read
// in place through perm (each row a random access: about a third of the streaming rate).
// Slots at and past bstart[nb] are the tail, in cache order (slot == position). Regrouping
// keeps separate clusters in separate blocks, so blocks may be smaller than block_size; blocks
// sealed by appending are full.
//
// Bounds of block b (all computed in double from the stored keys and rounded outward, so a
// bound evaluated in float and widened by guard_up() is never below the true q·k):
//  * ball: centre c_b (bf16 values), rho_b >= max_k ||k - c_b|| + dot_err(D)·||c_b||, so
//    q·k <= fl(q·c_b) + ||q||·rho_b + dot_eta(D);
//  * box: lo_b <= k <= hi_b per dimension (bf16, rounded outward), beta_b >= dot_err(D)·||m_b||
//    with m_b = max(|lo_b|, |hi_b|), so q·k <= fl(Σ max(q·lo, q·hi)) + ||q||·beta_b + eta.
// With values, per-block value ranges vlo/vhi bound every value of the block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "cpu/cpu_backend.h"

namespace ha::cpu::hsr {

// Storage for the key copy: cache-line aligned (a visited block is read as whole lines), and
// large copies on transparent huge pages where the system offers them (a 4 KiB page per
// quarter block would cost a TLB miss per visited block).
void* alloc_key_copy(size_t bytes);
void free_key_copy(void* p, size_t bytes);
template <class T>
struct LineAllocator {
    using value_type = T;
    LineAllocator() = default;
    template <class U>
    LineAllocator(const LineAllocator<U>&) {}
    T* allocate(size_t n) { return static_cast<T*>(alloc_key_copy(n * sizeof(T))); }
    void deallocate(T* p, size_t n) { free_key_copy(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const LineAllocator<U>&) const { return true; }
};

struct HeadIndex {
    int64_t n_keys = 0;             // keys indexed (sealed + tail)
    int64_t nb = 0;                 // sealed blocks
    std::vector<int32_t> bstart;    // [nb + 1] first slot of each block
    std::vector<int32_t> perm;      // [bstart[nb]] slot -> position
    std::vector<float> knorm;       // [n_keys] by slot: ||k|| rounded up
    // With copy_keys: the sealed keys by slot, D elements of the key dtype each, so a block is
    // one contiguous run (bytes [bstart[nb] * D * element size]).
    std::vector<uint8_t, LineAllocator<uint8_t>> keys;
    std::vector<uint16_t> cen;      // [ceil(nb/16)][D][16] bf16 centres
    std::vector<float> rho;         // [ceil(nb/16)*16]
    std::vector<float> maxnorm;     // [nb] max knorm of the block
    std::vector<float> beta;        // [nb]
    std::vector<uint16_t> lo, hi;   // [nb][Dp] bf16 box (zero-padded past D)
    std::vector<int32_t> minpos, maxpos;  // [nb] smallest / largest position inside
    std::vector<uint16_t> vlo, vhi; // [nb][Dp] bf16 value ranges (index built with v)
    std::vector<float> vmin, vmax;  // [D] value range over all sealed keys (with v)
    // For approximate attention (cpu/approx): every key's 64-bit sign sketch and norm, by
    // position (sealed and tail alike), kept current by append.
    std::vector<uint64_t> sketch;
    std::vector<float> pnorm;
    // norm_after[s] = the largest key norm at positions >= s, for s <= kNormAfter: sink keys are
    // often much longer than the rest, and a decoding step must not rescan every norm.
    static constexpr int kNormAfter = 64;
    float norm_after[kNormAfter + 1] = {};
    // Tail draws for approximate decoding (cpu/approx/drawn_decode.cpp): key j, with its hash
    // u_j uniform in [0, 1) (draw_u), sits in level 0 when u_j < kDrawBase, in level k >= 1
    // when kDrawBase·2^(k-1) <= u_j < kDrawBase·2^k, in none past the top. Levels 0..k are the
    // Bernoulli sample at rate kDrawBase·2^k, split at half that rate into levels 0..k-1 and
    // level k. Positions ascend within a level (append keeps them current).
    static constexpr double kDrawBase = 1.0 / 8192;
    static constexpr int kDrawLevels = 13;  // rates up to kDrawBase·2^12 = 1/2
    std::vector<int32_t> draws[kDrawLevels];
};

// u_j of key j of head g (= b * H + h) of an index built with `seed`.
double draw_u(uint64_t seed, int64_t g, int64_t j);

// A validated (batch, heads, seq, head_dim) view with its element type.
struct Tensor4 {
    View view;
    int32_t dtype;
};

struct IndexOptions {
    int32_t block_size = 64;
    int32_t kmeans_iters = 4;
    uint64_t seed = 0;
    bool copy_keys = true;  // sealed keys copied in block order (HeadIndex::keys)
    int64_t segment = 0;  // clustering never mixes keys of different segments (0: one segment)
};

}  // namespace ha::cpu::hsr

// The opaque handle of the C ABI.
struct ha_key_index {
    int32_t dtype = 0;
    int64_t B = 0, H = 0, N = 0, D = 0, Dp = 0;
    const void* kdata = nullptr;
    int64_t kstr[4] = {0, 0, 0, 0};
    bool has_v = false;
    const void* vdata = nullptr;
    int64_t vstr[4] = {0, 0, 0, 0};
    ha::cpu::hsr::IndexOptions opt;
    std::vector<ha::cpu::hsr::HeadIndex> heads;  // [B*H]
    std::vector<float> sketch_planes;  // [64][Dp] hyperplanes of the key sketches (from opt.seed)
};

namespace ha::cpu::hsr {

// Builds over every key of k (and value ranges from v when given). Fails with
// HA_ERR_INVALID_ARGUMENT (message naming the key) on a non-finite key.
int32_t index_build(const Tensor4& k, const Tensor4* v, const IndexOptions& opt,
                    ha_key_index** out);
// Extends to k's longer seq extent (same buffers); new keys form the tail, full tail blocks
// are sealed in cache order.
int32_t index_append(ha_key_index* idx, const Tensor4& k, const Tensor4* v);
int64_t index_bytes(const ha_key_index& idx);

}  // namespace ha::cpu::hsr
