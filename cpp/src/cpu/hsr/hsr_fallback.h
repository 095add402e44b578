// The dense fallback: softmax rows for which a sparse pass would not pay go to the exact
// (FlashAttention-2) kernel, which gives dropped mass 0.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/hsr/hsr_state.h"

namespace ha::cpu::hsr::detail {

// Consecutive rows [r0, r1) of one (batch, kv head), numbered as Unit::first_row: adjacent
// dense units are merged into one run so that the exact kernel gets whole position blocks.
struct FallbackRun {
    int64_t b, hk, r0, r1;
};

// Dense exact attention for the listed rows; total_rows == 0 asks for every row.
int32_t run_fallbacks(const Context& cx, std::vector<FallbackRun>& runs, int64_t total_rows);

// The stats of every row when all of them go to the dense kernel.
void dense_stats(const Context& cx);

}  // namespace ha::cpu::hsr::detail
