// ha_abi_layout: the native side of the bindings' drift test. Listing every struct and field
// here means a layout change the Java MemoryLayouts did not follow fails a test, not a call.
#include <cstddef>
#include <cstring>

#include "error.h"
#include "hyperattn.h"

namespace {

struct Field {
    const char* name;
    int64_t offset;
};
struct Struct {
    const char* name;
    int64_t size, align;
    const Field* fields;
    int nfields;
};

#define HA_FIELD(S, f) Field{#f, static_cast<int64_t>(offsetof(S, f))}
const Field kTensorFields[] = {HA_FIELD(ha_tensor, data),      HA_FIELD(ha_tensor, dtype),
                               HA_FIELD(ha_tensor, device_type), HA_FIELD(ha_tensor, device_id),
                               HA_FIELD(ha_tensor, reserved),  HA_FIELD(ha_tensor, shape),
                               HA_FIELD(ha_tensor, strides)};
const Field kExactFields[] = {HA_FIELD(ha_exact_params, scale), HA_FIELD(ha_exact_params, causal),
                              HA_FIELD(ha_exact_params, stream)};
#undef HA_FIELD

#define HA_STRUCT(S, F) \
    Struct{#S, sizeof(S), alignof(S), F, static_cast<int>(sizeof(F) / sizeof(F[0]))}
const Struct kStructs[] = {HA_STRUCT(ha_tensor, kTensorFields),
                           HA_STRUCT(ha_exact_params, kExactFields)};
#undef HA_STRUCT

}  // namespace

extern "C" HA_API int32_t ha_abi_layout(const char* struct_name, const char* field, int64_t* out) {
    if (!struct_name) return ha::fail(HA_ERR_INVALID_ARGUMENT, "struct_name: is NULL");
    if (!out) return ha::fail(HA_ERR_INVALID_ARGUMENT, "out: is NULL");
    for (const Struct& s : kStructs) {
        if (std::strcmp(s.name, struct_name) != 0) continue;
        if (!field || !*field) {
            *out = s.size;
            return HA_OK;
        }
        if (std::strcmp(field, "#align") == 0) {
            *out = s.align;
            return HA_OK;
        }
        for (int i = 0; i < s.nfields; ++i)
            if (std::strcmp(s.fields[i].name, field) == 0) {
                *out = s.fields[i].offset;
                return HA_OK;
            }
        return ha::fail(HA_ERR_INVALID_ARGUMENT, "field: %s has no field '%s'", struct_name,
                        field);
    }
    return ha::fail(HA_ERR_INVALID_ARGUMENT, "struct_name: unknown ABI struct '%s'", struct_name);
}
