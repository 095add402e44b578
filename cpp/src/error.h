// Thread-local last-error message and the status it travels with.
#pragma once
#include <cstdint>
#include <string>

namespace ha {

// Sets the calling thread's message (printf-style) and returns `status`, so call sites read
// `return fail(HA_ERR_INVALID_ARGUMENT, "q: ...", ...);`.
int32_t fail(int32_t status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error();
const char* last_error();  // the calling thread's message ("" when none)

}  // namespace ha
