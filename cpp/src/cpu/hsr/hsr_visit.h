// Visiting: a task scores up to kChunkItems items for every row of a unit and accumulates
// their weighted values into a Partial; merge() folds the tasks' partials into the unit in
// task order, so that results never depend on the thread count.
#pragma once
#include <cstdint>

#include "cpu/hsr/hsr_state.h"

namespace ha::cpu::hsr::detail {

// Visits items[0..n), n <= kChunkItems, into p (overwritten).
void visit(const Context& cx, const Unit& u, const Item* items, int64_t n, Partial& p, Scratch& w);

// Folds parts[0..n) into the unit, in order.
void merge(const Context& cx, Unit& u, Partial* parts, int64_t n);

}  // namespace ha::cpu::hsr::detail
