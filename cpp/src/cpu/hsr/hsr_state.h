// The state that the stages of an HSR query share (internal to cpp/src/cpu/hsr): the call's
// context, a work unit and its rows, the items a round visits, a visit task's partial result.
// The stages, in the order a query runs them: hsr_driver.cpp (units, rounds, the dense
// decision), hsr_plan.cpp (which blocks to visit), hsr_visit.cpp (scores, weights, P·V),
// hsr_results.cpp (outputs and stats, with hsr_certificate.cpp), hsr_fallback.cpp (dense rows).
#pragma once
#include "tensor_check.h"
#include <cstdint>
#include <vector>

#include "cpu/hsr/engine.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/key_index.h"
#include "hyperattn.h"

namespace ha::cpu::hsr::detail {

// Softmax buckets blocks by how far their bound lies below the row's top bound, one bucket
// per factor of 2, so that the mass of "everything below level L" is a suffix sum.
constexpr int kLevels = 120;             // buckets of one factor of 2 below a row's top bound
constexpr int kNumLevels = kLevels + 1;  // ... plus one for everything further down
constexpr uint8_t kExcluded = 255;       // level of a block with no key the row may see (causal)
constexpr int kChunkItems = 16;          // items per visit task: the unit of merge order
constexpr double kLog2e = 1.4426950408889634;

// A stretch of keys that a visit task scores for every row of a unit: a sealed block, the
// recent tail, or (dense scan) a run of the cache.
struct Item {
    const int32_t* pos;  // key positions, or nullptr for first + [0, n)
    int64_t first;
    int32_t n;
    int32_t block;       // sealed block, or -1 (tail, cache-order scan)
    int64_t slot0;       // storage slot of the first key when pos == nullptr
    uint8_t rows = 0xFF; // bit r: row r needs these scores (ReLU, reporting: its bound may
                         // reach the threshold); the other rows get -inf without computing
};

// One query row of a unit. The accumulated sums have the meaning of Partial's.
struct UnitRow {
    int64_t head = 0;       // query head: where q is read and the output written
    int64_t pos = 0;        // query position: the output row, and the causal limit below
    int64_t key_limit = 0;  // keys at cache position >= this are hidden from the row (causal)
    float q_norm = 0.f;     // ||q|| rounded up: bounds and score error margins scale with it
    // Softmax planning.
    double top_bound = 0;    // the row's top refined bound: levels and the certificate's
                             // prefactor 2^(c·top − m) are measured from it
    int level = 0;           // first level with unvisited blocks: what the certificate still
                             // has to cover starts here
    bool certified = false;  // dropped mass proven <= eps: the row needs no further round
    // Accumulated over the visited items.
    float max_x = 0.f;
    float weight_sum = 0.f;
    double weight_sum_d = 0.0;
    float relu_top = 0.f;
};

// Query rows of one (batch, kv head) that share every key read (see hsr_driver.cpp).
struct Unit {
    int64_t batch = 0, kv_head = 0;
    int64_t first_row = 0;  // index of rows[0] among the kv head's G·Nq rows (position-major):
                            // consecutive units cover consecutive rows, so dense runs merge
    int R = 0;              // rows in use (the last unit of a kv head may have fewer)
    UnitRow rows[kMaxRows];
    std::vector<float> q;       // [R][Dp] fp32 query rows: the kernels' operand layout
    std::vector<float> bounds;  // [R][blocks padded to kChunkBlocks]: upper bound of q·k per
                                // block (guarded ball, box-refined where it matters)
    // Softmax planning, per row over the blocks ([R][nb] unless noted).
    std::vector<float> mass;           // bound of the block's mass 2^(c(U_b − top))·n_b
                                       // (+inf: must visit): what dropping the block may cost
    std::vector<uint8_t> level_of;     // the block's bucket (kExcluded: hidden from the row)
    std::vector<int32_t> by_level;     // blocks by level, then id: a level is a contiguous run
    std::vector<int32_t> level_start;  // [R][kNumLevels + 1]: where each level starts in by_level
    std::vector<double> mass_from;     // [R][kNumLevels + 1]: Σ mass over levels >= L, so the
                                       // certificate for "drop everything from L on" is O(1)
    // Blocks visited so far (any row): each is read once however many rows or rounds want it.
    std::vector<uint8_t> visited;             // [nb]: membership test while planning
    std::vector<int32_t> visited_blocks;      // the same as a list: what the stats walk
    std::vector<uint8_t> visited_row_masks;   // ReLU, reporting: Item::rows of visited_blocks,
                                              // so keys_touched counts only the rows' own blocks
    std::vector<int32_t> block_scratch;       // planning's band of candidates and block marks,
                                              // kept to reuse its memory across calls
    int64_t n_visited = 0;     // blocks: the certificate's rounding margin grows with them
    int64_t visited_keys = 0;  // compared with the dense share to decide the fallback
    std::vector<Item> items;  // this round's, in block order (the tail first)
    bool active = false;  // has items to visit this round
    bool dense = false;   // its rows go to the dense exact kernel (softmax fallback)
    bool scan = false;    // ReLU fallback: every key scanned in cache order
    std::vector<float> out;       // [R][Dp] output before normalisation: the sum is only
                                  // final after the last round
    float visited_max_knorm = 0.f;  // largest ||k|| visited: scales the certificate's score error
    std::vector<std::vector<int32_t>> lists;  // reporting: keys found per row
    int64_t first_task = 0, n_tasks = 0;      // this round's visit tasks
};

// The result of one visit task (up to kChunkItems items) for a unit's rows, merged into the
// unit in task order so that results do not depend on the thread count. The per-row arrays
// are the kernels' in/out operands.
struct Partial {
    std::vector<float> out;      // [R][Dp], relative to max_x (softmax) or relu_top (ReLU)
    float max_x[kMaxRows];       // softmax: running max of x = c·s (log2 units); the weights
                                 // are 2^(x − max_x), which cannot overflow
    float weight_sum[kMaxRows];  // Σ weights in float: the output's normaliser
    double weight_sum_d[kMaxRows];  // softmax: the same in double, for the certificate, whose
                                    // margin for float sums would be much wider
    float relu_top[kMaxRows];    // ReLU: largest x = scale·s − bias; the weights are
                                 // (x/relu_top)^α, which keeps large powers finite
    float max_knorm = 0.f;       // softmax: largest ||k|| scored, for the certificate's error
    std::vector<std::vector<int32_t>> lists;  // reporting: keys found per row, in item order
};

// Per-thread buffers of visit tasks, sized once per call: a task allocates nothing.
struct Scratch {
    std::vector<float> S, P;  // one item's scores and softmax weights, [kMaxRows][score_stride]
    // ReLU: the weights of all the task's items, [kChunkItems][kMaxRows][score_stride]: their
    // value rows are added after the last scores, once their prefetches have landed.
    std::vector<float> Pq;
    std::vector<float> krow;     // reporting: a key row for the exact test ...
    std::vector<double> qd, kd;  // ... which runs on the row and the key in double
};

// What every stage needs to know about the call.
struct Context {
    Context(const Query& q, const ha_key_index& x, const Kernels& k)
        : query(q), index(x), kern(k) {}
    const Query& query;
    const ha_key_index& index;
    const Kernels& kern;
    int64_t B = 0, Hq = 0, Hkv = 0, Nq = 0, Nk = 0, D = 0;  // as in the C API
    int64_t Dp = 0;            // D padded to 16: the kernels' row length
    int64_t G = 0;             // query heads per kv head
    int64_t block_size = 0;    // the index's: most keys per item
    int64_t score_stride = 0;  // block_size padded to 16: the kernels' row stride for scores
    int64_t rows_per_unit = 0, units_per_kv_head = 0;
    bool force_scan = false;   // ReLU: scan every key (the probe found most units dense)
    float log2_scale = 0;      // c = scale·log2(e): softmax in base 2, as the kernels take it
    double log2_scale_d = 0;   // c in double, for the certificate's arithmetic
    double dot_rel_err = 0;    // |fl(q·k) − q·k| <= dot_rel_err·||q||·||k|| + dot_abs_err
    float dot_abs_err = 0;
    double dense_share = 0;    // share of the keys beyond which a unit goes dense
    double relu_threshold = 0; // q·k below which a key has no ReLU weight, rounded down
    // Per (batch, kv head) value ranges for the error bound when the index has none.
    std::vector<float> value_min, value_max;

    RowSrc src(const View& v, int32_t dtype, int64_t b, int64_t h) const {
        const int64_t es = ha::dtype_size(dtype);
        const char* row0 = static_cast<const char*>(v.data);  // NULL for an empty K: no offset
        if (row0) row0 += (b * v.strides[0] + h * v.strides[1]) * es;
        return RowSrc{row0, v.strides[2], v.strides[3], dtype == HA_DTYPE_BF16, dtype == HA_DTYPE_F16};
    }
    RowSrc ksrc(int64_t b, int64_t hk) const { return src(query.k.view, query.k.dtype, b, hk); }
    RowSrc vsrc(int64_t b, int64_t hk) const { return src(query.v.view, query.v.dtype, b, hk); }
    const HeadIndex& head(const Unit& u) const {
        return index.heads[size_t(u.batch * Hkv + u.kv_head)];
    }
    // The row's place in the stats arrays ([b][h][i]).
    int64_t row_id(const Unit& u, int r) const {
        return (u.batch * Hq + u.rows[r].head) * Nq + u.rows[r].pos;
    }
};

inline int64_t sealed_keys(const HeadIndex& h) {
    return h.bstart.empty() ? 0 : h.bstart[size_t(h.nb)];
}
inline int32_t block_size(const HeadIndex& h, int64_t blk) {
    return h.bstart[size_t(blk + 1)] - h.bstart[size_t(blk)];
}
// Blocks rounded up to whole centre chunks: the row stride of Unit::bounds.
inline int64_t padded_blocks(const HeadIndex& h) {
    return (h.nb + kChunkBlocks - 1) / kChunkBlocks * kChunkBlocks;
}
inline bool block_visible(const HeadIndex& h, int32_t blk, int64_t key_limit) {
    return h.minpos[size_t(blk)] < key_limit;
}
inline Item tail_item(const Context& cx, const HeadIndex& h) {
    const int64_t sealed = sealed_keys(h);
    return Item{nullptr, sealed, int32_t(cx.Nk - sealed), -1, sealed};
}
inline Item block_item(const HeadIndex& h, int32_t blk) {
    const int64_t s0 = h.bstart[size_t(blk)];
    return Item{h.perm.data() + s0, 0, block_size(h, blk), blk, s0};
}

}  // namespace ha::cpu::hsr::detail
