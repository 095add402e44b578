// Prefill of approximate attention on the tiled exact kernel. Per kv head, the keys are
// split into: the sinks, each row's local window, long keys (norm outliers, where needles
// tend to live), the keys of the row's bucket (k-means of the keys), and the rest, of which a
// Bernoulli sample in two independent halves stands for the whole. Every part is an exact
// attention call over a contiguous key range per row (two when not causal: the keys on
// either side of the window; rows sorted by bucket, keys by bucket and position), so each key
// read is shared by a tile of rows at the kernel's full speed; the parts are merged by
// log-sum-exp. The two halves give two estimates of the output whose
// difference is the row's error estimate.
#pragma once
#include "cpu/approx/approx.h"

namespace ha::cpu::approx {

// Whether this path serves the call (prefill long enough, automatic heavy budget).
bool tiled_serves(const Problem& p);

int32_t run_tiled(const Problem& p);

}  // namespace ha::cpu::approx
