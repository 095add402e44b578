// HSR queries over a key index: half-space reporting, ReLU^alpha attention and softmax
// attention with a certified dropped mass. Called by api_hsr.cpp after validation.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/hsr/key_index.h"

namespace ha::cpu::hsr {

enum class Mode { Report, Relu, Softmax };

struct Query {
    Mode mode = Mode::Softmax;
    Tensor4 q{}, k{}, v{}, out{};       // v and out: attention only
    const ha_key_index* index = nullptr;  // nullptr: a temporary index is built
    float scale = 1.f;                    // resolved (> 0)
    float bias = 0.f;                     // ReLU
    int32_t power = 1;                    // ReLU alpha
    double epsilon = 1e-3;                // softmax
    bool causal = false;
    float threshold = 0.f;                // report: q·k >= threshold
    float* dropped = nullptr;             // optional per-row stats, [b][h][i]
    float* error_bound = nullptr;
    int64_t* touched = nullptr;
    std::vector<std::vector<int32_t>>* lists = nullptr;  // report: one ascending list per row
};

int32_t run_query(const Query& q);

}  // namespace ha::cpu::hsr
