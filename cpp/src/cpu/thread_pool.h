// A persistent worker pool shared by all CPU operations. No OpenMP: the library ships inside
// a jar and must load on machines whose OpenMP runtime we do not control.
#pragma once
#include <cstdint>
#include <functional>

namespace ha::cpu {

// Calls fn(task, slot) for every task in [0, n_tasks) using at most `max_slots` threads
// (the caller included). `slot` is in [0, max_slots) and unique among threads running at the
// same time, so callers can index per-thread scratch by it. Results must not depend on which
// slot runs a task. If the pool is busy with another caller's job (another Java thread, or a
// nested call) the tasks run on the calling thread instead of queueing: no deadlock, no mixing.
// Returns HA_OK, or the status of an exception thrown by fn (bad_alloc -> out of memory).
int32_t parallel_for(int64_t n_tasks, int max_slots,
                     const std::function<void(int64_t task, int slot)>& fn);

void pool_set_threads(int n);  // n >= 1; takes effect at the next parallel_for
int pool_threads();

}  // namespace ha::cpu
