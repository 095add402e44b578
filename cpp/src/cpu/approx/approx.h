// Error-controlled approximate attention (ha_attention_approx): an exact part (sinks, local
// window, heavy keys found through the index's key sketches) plus a sampled tail, with a
// per-row error estimate and an optional error target. Called by api_approx.cpp after
// validation.
#pragma once
#include <cstdint>

#include "cpu/cpu_backend.h"

struct ha_key_index;

namespace ha::cpu::approx {

struct Problem {
    ExactProblem base;                   // operands, lse, resolved scale, causal
    const ha_key_index* index = nullptr; // nullptr: a temporary one is built
    int64_t sinks = 4, window = 256, samples = 256, heavy_budget = 0;
    double target = 0.0;                 // 0: none
    uint64_t seed = 0;
    float* row_error = nullptr;          // optional per-row outputs, [b][h][i]
    float* tail_bound = nullptr;
    int64_t* touched = nullptr;
    int32_t* level = nullptr;
};

int32_t run(const Problem& p);

}  // namespace ha::cpu::approx
