#include "cpu/approx/approx.h"

#include "error.h"
#include "hyperattn.h"

namespace ha::cpu::approx {

int32_t run(const Problem&) {
    return ha::fail(HA_ERR_UNSUPPORTED, "ha_attention_approx: not implemented yet");
}

}  // namespace ha::cpu::approx
