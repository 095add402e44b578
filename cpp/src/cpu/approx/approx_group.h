// One group of query rows of approximate attention: up to 8 rows that share a kv head (GQA
// heads and/or consecutive positions), and therefore share one exact key set and one sample.
// Sharing is what makes the estimator cheap: every key row read is used by all rows at once.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/approx/approx.h"
#include "cpu/hsr/hsr_kernels.h"

namespace ha::cpu::approx {

// Read-only inputs of one (batch, kv head), prepared once per call.
struct HeadInputs {
    hsr::RowSrc k, v;             // rows of this (batch, kv head)
    const uint64_t* sketch;       // [Nk] key sketches by position
    const float* knorm;           // [Nk] key norms by position
    const uint8_t* ncls;          // [Nk] norm classes by position (sketch.h)
    const float* vnorm2;          // [Nk] ||v_j||^2 by position, or nullptr (computed per use)
    double kmax;                  // largest key norm: bounds every score from the sketches
    int64_t b, hk;
};

// What the whole call shares.
struct CallInputs {
    const Problem* p;
    const hsr::Kernels* kr;
    const float* planes;          // [64][Dp] sketch hyperplanes
    int64_t Nq, Nk, D, Dp;
    float c;                      // scale * log2(e): scores in log2 units
};

// The rows of a group: query row i of head h, at cache position pos = i + Nk - Nq.
struct GroupRows {
    int R = 0;
    int64_t head[8], row[8], pos[8];
};

// Per-row results before they are written out.
struct RowResult {
    float lse;        // natural log of the estimated denominator
    float err;        // estimated e_i
    int64_t touched;  // keys scored exactly for this row
    bool tail;        // part of the row's keys was sampled (else the row is exact)
};

struct Scratch {
    std::vector<float> Q, O, OT, OC, S, P, buf, cbuf, row, vo, vnb, vnc;
    // Far-range draws, heavy keys, the other candidates, their draws (ascending positions).
    std::vector<int32_t> spos, heavy, cand, cpos;
    std::vector<float> rank, cut;   // heavy candidates' estimated scores, a copy to select from
    std::vector<float> svn;
};

// What one pass over a group may spend: draws from the far keys, heavy candidates scored
// exactly, or everything exactly. `level` (0 first budget, 1 refined, 2 exact) keys the
// draws' random stream and is reported per row.
struct Budget {
    int64_t draws = 0, heavy = 0;
    int level = 0;
    int pass = 0;  // keys the draws' random stream: each pass draws afresh
};

// Heavy keys per group at level 0 (params.heavy_budget, or automatic).
int64_t default_budget(const Problem& p, int64_t Nk);

// Computes the group with the given budget. Writes the normalised output rows into s.O
// ([R][Dp] fp32) and the per-row results.
void solve_group(const CallInputs& ci, const HeadInputs& hi, const GroupRows& g,
                 const Budget& bud, Scratch& s, RowResult* res);

}  // namespace ha::cpu::approx
