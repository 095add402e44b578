// Planning: which blocks a unit visits next, from the per-block bounds of its rows
// (Unit::bounds). Sets Unit::items, or marks the unit dense or done.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/hsr/hsr_state.h"

namespace ha::cpu::hsr::detail {

// ReLU and reporting: every block whose bound reaches q·k >= t for some row, and the tail; or,
// when those are a large share of the keys, a dense scan in cache order (ReLU).
void plan_threshold(const Context& cx, Unit& u, double t);

// Softmax, first round: buckets the bounds; goes dense at once when even the most favourable
// kept mass could not certify a small set; otherwise the tail and each row's top blocks.
void plan_softmax_init(const Context& cx, Unit& u);

// Softmax, after a round: certifies rows, or chooses the next levels (growing at most
// geometrically), or goes dense. mark/epoch: per-thread block marks reused across units.
void plan_softmax_next(const Context& cx, Unit& u, std::vector<int32_t>& mark, int32_t& epoch);

}  // namespace ha::cpu::hsr::detail
