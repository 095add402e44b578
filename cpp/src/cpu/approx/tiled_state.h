// Internal to the tiled prefill of approximate attention (tiled_prefill.h): the
// per-head state shared by its layout (tiled_layout.cpp), its parts (tiled_parts.cpp) and its
// driver (tiled_prefill.cpp).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/approx/approx.h"
#include "cpu/approx/buckets.h"
#include "cpu/huge_alloc.h"
#include "cpu/hsr/hsr_kernels.h"
#include "cpu/hsr/numerics.h"
#include "cpu/hyper/hyper_random.h"

namespace ha::cpu::approx::tiled {

inline constexpr int kBuckets = 64;  // k-means cells, before the cells of one cluster merge
inline constexpr double kLongRatio = 1.5;      // a key longer than 1.5x the median key is a long key
inline constexpr double kLongQuery = 1.25;     // a query longer than 1.25x the median is searched
inline constexpr int64_t kLongShare = 32;      // at most Nk/32 of them
inline constexpr double kMinHalfDraws = 16.0;  // a row is sampled only when each half expects this many
inline constexpr int64_t kRowChunk = 65536;    // rows per pass (bounds the working buffers)
inline constexpr int64_t kProbeRows = 512;
// Sampling serves a target only while its rate stays below this; above, the head is exact.
inline constexpr double kMaxRate = 0.25;
inline constexpr double kRefine = 4.0;  // rate multiplier for rows that missed the target
inline constexpr double kHeavyRows = 0.01;  // share of probe rows with heavy keys that turns the search on
inline constexpr double kHeavyRowsTarget = 0.002;  // the same for targets below kHeavyShare (2 of 512 probes)
inline constexpr double kHeavyShare = 1.0 / 64;    // a key that may carry this share of a row's mass is heavy
inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline uint64_t mix(uint64_t x) { return hyper::mix64(x); }

// A padding row's position in bpos and tpos: after every real one, so no cut reaches it.
inline constexpr int32_t kNoKey = std::numeric_limits<int32_t>::max();
// n rounded up to whole key tiles of the exact kernel (parts start on a tile).
inline int64_t tile_up(int64_t n) { return (n + kKeyTile - 1) / kKeyTile * kKeyTile; }

// Rows of D elements in the call's dtype (f32, bf16 or f16), what the exact kernel reads, and a
// float per row beside them (ExactProblem::key_bias / key_sum): values carry ||v||², so that
// every part also returns Σ p_j ||v_j||², the square of the unit the error is measured in; the
// tail's draws carry their log-weight -ln(pi) (tiled_layout.cpp); other keys and the queries
// carry nothing the kernel reads.
struct Store {
    int es = 4;
    bool f16 = false;  // 2-byte rows: fp16, else bf16
    int64_t Dw = 0;
    BigVec<char> buf;
    BigVec<float> extra;
    void init(int e, int64_t dw, int64_t n, bool half16) {
        es = e;
        f16 = half16;
        Dw = dw;
        buf.resize(size_t(std::max<int64_t>(n, 0) * dw * e));  // every row used is written whole
        extra.resize(size_t(std::max<int64_t>(n, 0)));
    }
    char* row(int64_t j) { return buf.data() + j * Dw * es; }
    const char* data() const { return buf.empty() ? nullptr : buf.data(); }
    void put(int64_t j, const float* x, int64_t D, float ex) {
        char* d = row(j);
        if (es == 2) {
            uint16_t* h = reinterpret_cast<uint16_t*>(d);
            if (f16)
                for (int64_t t = 0; t < D; ++t) h[t] = ha::f32_to_f16_bits(x[t]);
            else
                for (int64_t t = 0; t < D; ++t) h[t] = hsr::f32_to_bf16_nearest(x[t]);
        } else {
            std::memcpy(d, x, sizeof(float) * size_t(D));
        }
        extra[size_t(j)] = ex;
    }
    void set_extra(int64_t j, float x) { extra[size_t(j)] = x; }
    void zero_row(int64_t j) {
        std::memset(row(j), 0, size_t(Dw * es));
        extra[size_t(j)] = 0.f;
    }
    void copy_from(int64_t j, const Store& src, int64_t k) {
        std::memcpy(row(j), src.buf.data() + k * Dw * es, size_t(Dw * es));
        extra[size_t(j)] = src.extra[size_t(k)];
    }
};

// Working buffers of solve(), kept between its calls.
struct Work {
    BigVec<int64_t> cut, rcut, rg, rg2, lo, hd, order, na, nb, pos_of;
    BigVec<float> tmp, tl, ta, tal;
    BigVec<double> L;
    Store Q, Qp;
};

// Everything one (batch, kv head) keeps while its rows are computed (the object serves every
// head of a call in turn, so its buffers are allocated once).
struct Head {
    Work work;
    int64_t b = 0, hk = 0;
    hsr::RowSrc k{}, v{};
    // Rows [0, lpos.size()) of K and V: the sinks and long keys; position j at row lp + j.
    Store K, V;
    int64_t lp = 0;                 // a multiple of the kernel's key tile
    std::vector<int32_t> lpos;      // the sinks, then long keys, ascending
    Buckets bk;
    BigVec<uint8_t> kbucket;   // bucket of each position (0xff: sink or long key)
    std::vector<int64_t> bstart;    // bucket c's keys: bpos[bstart[c] .. bstart[c+1]), ascending, then kNoKey
    BigVec<int32_t> bpos;
    Store KB, VB;
    PackedKV PK, PKB;               // K/V and KB/VB in the exact kernel's tiles (pack_keys)
    // Heavy-key search (sketch.h): every key's 64-bit sign sketch, norm and norm class.
    std::vector<float> planes;
    BigVec<uint64_t> ksk;
    std::vector<float> knorm;
    BigVec<uint8_t> kcls;
    double kmax = 0;
    uint64_t draw_key = 0;          // the tail draws' hash key
    bool search = true;             // look for heavy keys (the probes decide for the head)
    double rate = 0;                // tail sampling rate
    // Importance of the draws, per draw set s (tiled_layout.cpp): set s < C serves the rows of
    // bucket s, set C the rows without one. qcen[s]: the mean query of the set's rows (set C:
    // of all rows); lam[s][j] = scale · qcen[s] · k_j; top and mean over the set's keys.
    std::vector<float> qcen;        // [C + 1][Dp]
    BigVec<float> lam;              // [C + 1][Nk]
    std::vector<double> lam_top, lam_mean;
    // The tail draws: set s, half hf is [tstart[2s + hf], tstart[2s + hf + 1]) of tpos/KT/VT,
    // by position. A set holds no key of its own bucket (the rows' bucket part has them
    // exactly), no sink and no long key. A copy per bucket costs r·Nk rows each, far less
    // than the attention its rows spend on it, and lets each bucket weigh its draws by its
    // own queries (the mean query of all rows is nearly zero where queries form clusters).
    std::vector<int64_t> tstart;
    BigVec<int32_t> tpos;
    Store KT, VT;
    PackedKV PKT;
};

struct Row {
    int64_t p;    // cache position
    int32_t g, i; // query head within the group, query row
    uint8_t bucket;
    bool long_q;  // a query much longer than the head's median: searched for heavy keys always
};

struct Ctx {
    const Problem* p;
    const hsr::Kernels* kr;
    int64_t Nq, Nk, D, Dp, Da, G, S, W;  // Da = D + 1: a result row (output, then Σ p ||v||²)
    int es;
    bool f16;  // the call's dtype is fp16 (es 2 is bf16 otherwise)
    bool causal;
};

inline int64_t count_upto(const int32_t* a, int64_t n, int64_t cut) {
    return std::upper_bound(a, a + n, cut) - a;
}
// Of positions a[0..n) (ascending, kNoKey padding last), those in [0, cut] ([0, k1)) and in
// [rcut, Nk) ([k2, kend); empty at k1 when rcut >= Nk, as for every causal row, which then
// pays one search, not three).
struct Split {
    int64_t k1, k2, kend;
    int64_t count() const { return k1 + kend - k2; }
};
inline Split split_at(const int32_t* a, int64_t n, int64_t cut, int64_t rcut, int64_t Nk) {
    const int64_t k1 = count_upto(a, n, cut);
    if (rcut >= Nk) return Split{k1, k1, k1};
    return Split{k1, count_upto(a, n, rcut - 1), count_upto(a, n, Nk - 1)};
}

struct Results {
    BigVec<float> O, lse, err;  // O: [M][Da]
    BigVec<int64_t> touched, drawn;  // keys scored; of them, tail draws
    BigVec<uint8_t> heavy;           // the row has a heavy key outside its exact parts
    BigVec<uint8_t> tail;
    BigVec<float> search;  // the heavy-key search's work on the row, in keys (find_heavy)
    // Rows whose estimate missed the target keep their exact parts (window, sinks and long
    // keys, bucket; before the heavy keys and the tail), so a second solve redraws only the
    // tail: part_O [M][Da], part_lse and part_touched, filled for those rows only.
    BigVec<float> part_O, part_lse;
    BigVec<int64_t> part_touched;
};

// The exact parts of rows solved before (Results::part_*), in the order of the rows given:
// O [rows][Da], lse and touched [rows].
struct Parts {
    const float* O;
    const float* lse;
    const int64_t* touched;
};


// tiled_layout.cpp
int32_t prepare_head(const Ctx& c, Head& h);     // key copies, long keys, buckets, sketches
int32_t score_keys(const Ctx& c, Head& h);       // the draws' importance (lam) from qcen
// The tail draws at rate r: every set (buckets true) or set C only; with upto, set s only up
// to position upto[s] (the rows that will read it see no further).
int32_t draw_tail(const Ctx& c, Head& h, double r, bool buckets, const std::vector<int64_t>* upto = nullptr);
// The half of set s that key j was drawn into: 0, 1, or -1 (not drawn); *w its weight 1/pi.
int draw_half(const Head& h, int64_t s, int64_t j, double* w);
// The keys a row at position pos sees: causal [0, pos], else all.
inline int64_t visible(const Ctx& c, int64_t pos) { return c.causal ? pos + 1 : c.Nk; }
// A sampled row's local window [win_lo, win_hi): causal the W keys up to its position, else
// |j - pos| <= W/2. The other parts cover its keys outside: [0, win_lo) and, not causal,
// [win_hi, Nk).
inline int64_t win_lo(const Ctx& c, int64_t pos) {
    return std::max<int64_t>(0, c.causal ? pos - c.W + 1 : pos - c.W / 2);
}
inline int64_t win_hi(const Ctx& c, int64_t pos) { return c.causal ? pos + 1 : std::min(c.Nk, pos + c.W / 2 + 1); }
// Keys past the sinks and outside the window: what the other parts share.
inline int64_t far_keys(const Ctx& c, int64_t pos) {
    return std::max<int64_t>(0, win_lo(c, pos) - c.S) + (c.causal ? 0 : c.Nk - win_hi(c, pos));
}
// Other rows are computed exactly: their tail would hold too few draws.
inline bool sampled(const Ctx& c, const Head& h, int64_t pos) {
    return double(far_keys(c, pos)) * h.rate * 0.5 >= kMinHalfDraws;
}

// tiled_parts.cpp
// rows sorted by position; each must be sampled() or exact by construction. pre: the rows'
// exact parts from an earlier solve (only the tail is drawn again).
int32_t solve(const Ctx& c, Head& h, const std::vector<Row>& rows, Results& res, const Parts* pre = nullptr);
void write_rows(const Ctx& c, const Head& h, const std::vector<Row>& rows, const Results& r, int level);
// K/V's first n rows packed once for the calls over them (ExactProblem::packed).
int32_t pack_keys(const Ctx& c, const Store& K, const Store& V, int64_t n, PackedKV& out);
int32_t exact_list(const Ctx& c, Head& h, const std::vector<Row>& rows);  // level 2, all keys

}  // namespace ha::cpu::approx::tiled
