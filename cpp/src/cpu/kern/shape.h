// The shape of one exact-attention call as the kernels see it, and which query rows form a
// tile. Work decomposition (all chosen from the problem shape alone, so every output element
// is computed by the same sequence of operations whatever the thread count):
//  * The query rows sharing one kv head (a "group": G = Hq/Hkv heads × Nq rows) are cut into
//    tiles. With Nq >= MQ a tile is MQ consecutive rows of one head; with short Nq (decode)
//    the rows of all G heads are packed together, so K/V are read once per kv head.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ha::cpu::kern {
namespace {

template <class I>
constexpr int kMQ = I::MR * 8;  // query rows per tile

struct Shape {
    int64_t B, Hq, Hkv, Nq, Nk, D, G;
    int64_t Dk, Dp;          // packed widths: S reduction dim, O/V columns (multiple of W)
    int64_t n_kt;            // key tiles
    bool head_major;         // query tiles hold rows of one head (else: rows of all G heads)
    int64_t tiles_per_head;  // head_major only
    int64_t n_qt;            // query tiles per group
    float c;                 // scale · log2(e) / qs: scores go straight to exp2
    float qs = 1.f;          // power of two applied to q while packing (split_scale)
    // Logit soft-capping: a raw score x becomes cl · tanh(x · tc) in log2 units
    // (tc = scale / (qs · cap), cl = cap · log2(e)).
    bool capped = false;
    float tc = 0.f, cl = 0.f;
};

// Query row r of tile t, as (head within the group, position).
template <class I>
inline void tile_row(const Shape& s, int64_t t, int64_t r, int64_t* g, int64_t* i) {
    constexpr int MQ = kMQ<I>;
    if (s.head_major) {
        *g = t / s.tiles_per_head;
        *i = (t % s.tiles_per_head) * MQ + r;
    } else {
        const int64_t rr = t * MQ + r;  // position-major, so a tile spans few positions
        *g = rr % s.G;
        *i = rr / s.G;
    }
}

template <class I>
inline int64_t tile_rows(const Shape& s, int64_t t) {
    constexpr int MQ = kMQ<I>;
    if (s.head_major) return std::min<int64_t>(MQ, s.Nq - (t % s.tiles_per_head) * MQ);
    return std::min<int64_t>(MQ, s.G * s.Nq - t * MQ);
}

}  // namespace
}  // namespace ha::cpu::kern
