#include "error.h"

#include <cstdarg>
#include <cstdio>

namespace ha {

namespace {
thread_local std::string t_last_error;
}

int32_t fail(int32_t status, const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    try {
        t_last_error.assign(buf);
    } catch (...) {
        // Out of memory while reporting: keep whatever message was there.
    }
    return status;
}

void clear_error() { t_last_error.clear(); }

const char* last_error() { return t_last_error.c_str(); }

}  // namespace ha
