// Results: a finished unit's normalised output rows, report lists and per-row stats.
#pragma once

#include "cpu/hsr/hsr_state.h"

namespace ha::cpu::hsr::detail {

// Writes the unit's rows (a dense unit: only its stats; the dense kernel writes the rows).
void finish(const Context& cx, Unit& u);

}  // namespace ha::cpu::hsr::detail
