// Approximate decoding over an indexed cache (a few query rows against many keys): the sinks
// and the local window exactly, heavy keys found through the index's key sketches exactly,
// and the rest from the index's standing Bernoulli draws (HeadIndex::draws), read level by
// level: a step at a higher rate reads more levels, never a new random sample. The two halves
// of the sample give the row's error estimate; with a target the rate doubles until it is met
// (or the rows are computed exactly).
#pragma once
#include "cpu/approx/approx.h"

namespace ha::cpu::approx {

bool drawn_decode_serves(const Problem& p);

int32_t run_drawn_decode(const Problem& p);

}  // namespace ha::cpu::approx
