// How one HyperAttention call is cut into pieces, from the shapes alone.
//
// Non-causal: one sub-problem ("rect") covering all Nq queries and Nk keys.
// Causal (bottom-right aligned: row i sees keys j <= i + Nk - Nq):
//  * Nk > Nq: every row sees the first Nk - Nq keys, a non-causal rect; the last Nq keys
//    form a causal square with the queries.
//  * Nk < Nq: the first Nq - Nk rows see no key (output 0, lse -inf); the remaining rows
//    form a causal square with all keys.
//  * A causal square of n rows is exact when n <= min_seq_len (a "leaf"); otherwise its first
//    half and second half are squares of half the size, and the second-half rows times the
//    first-half keys is a non-causal rect.
// Every row then receives at most one rect per recursion level plus one leaf, over disjoint
// key sets whose union is exactly the keys it may see. Rects are always approximated (their
// own size is not compared with min_seq_len); the top-level call is exact when
// Nk <= min_seq_len.
//
// Inside a rect the queries, sorted by bucket rank, are cut into blocks of block_size (the
// last one shorter). Query block i attends exactly to a window of the sorted keys: the same
// fraction of the key order as the block is of the query order, so with Nq == Nk the windows
// are the blocks themselves, widened (centred, clamped to the ends) to at least
// min(block_size, Nk) keys, so no query sees fewer exact keys than the block size allows.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace ha::cpu::hyper {

struct Rect {
    int64_t q0, nq;  // query rows [q0, q0 + nq)
    int64_t k0, nk;  // key rows [k0, k0 + nk)
    int level;       // rects of one level touch disjoint rows
};

struct Leaf {
    int64_t q0, k0, n;  // exact causal square: row q0 + t sees keys k0 .. k0 + t
};

struct Plan {
    std::vector<Rect> rects;
    std::vector<Leaf> leaves;
    int levels = 0;          // rect levels (0 .. levels-1)
    int64_t empty_rows = 0;  // causal, Nq > Nk: rows [0, empty_rows) see no key
};

inline void plan_square(Plan& p, int64_t q0, int64_t k0, int64_t n, int level,
                        int64_t min_seq_len) {
    if (n <= min_seq_len) {
        p.leaves.push_back({q0, k0, n});
        return;
    }
    const int64_t h = n / 2;
    plan_square(p, q0, k0, h, level + 1, min_seq_len);
    p.rects.push_back({q0 + h, n - h, k0, h, level});
    p.levels = std::max(p.levels, level + 1);
    plan_square(p, q0 + h, k0 + h, n - h, level + 1, min_seq_len);
}

inline Plan make_plan(int64_t nq, int64_t nk, bool causal, int64_t min_seq_len) {
    Plan p;
    if (!causal) {
        p.rects.push_back({0, nq, 0, nk, 0});
        p.levels = 1;
        return p;
    }
    if (nk > nq) {
        p.rects.push_back({0, nq, 0, nk - nq, 0});
        p.levels = 1;
        plan_square(p, 0, nk - nq, nq, 1, min_seq_len);
    } else {
        p.empty_rows = nq - nk;
        plan_square(p, nq - nk, 0, nk, 0, min_seq_len);
    }
    return p;
}

inline int64_t block_count(int64_t nq, int64_t block) { return (nq + block - 1) / block; }

// Sorted-key window [lo, hi) of query block i (sorted queries [i*block, min(nq, (i+1)*block))).
inline void key_window(int64_t nq, int64_t nk, int64_t block, int64_t i, int64_t* lo,
                       int64_t* hi) {
    using u128 = unsigned __int128;
    const int64_t qa = i * block, qb = std::min(nq, qa + block);
    int64_t a = int64_t(u128(qa) * u128(nk) / u128(nq));
    int64_t b = int64_t(u128(qb) * u128(nk) / u128(nq));
    const int64_t w = std::min(block, nk);
    if (b - a < w) {
        a = std::clamp<int64_t>((a + b - w) / 2, 0, nk - w);
        b = a + w;
    }
    *lo = a;
    *hi = b;
}

}  // namespace ha::cpu::hyper
