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
const Field kExactFields[] = {HA_FIELD(ha_exact_params, scale),
                              HA_FIELD(ha_exact_params, causal),
                              HA_FIELD(ha_exact_params, stream),
                              HA_FIELD(ha_exact_params, window_left),
                              HA_FIELD(ha_exact_params, window_right),
                              HA_FIELD(ha_exact_params, softcap),
                              HA_FIELD(ha_exact_params, reserved)};
const Field kSeqsFields[] = {HA_FIELD(ha_seqs, count),         HA_FIELD(ha_seqs, page_size),
                             HA_FIELD(ha_seqs, cu_seqlens_q),  HA_FIELD(ha_seqs, cu_seqlens_k),
                             HA_FIELD(ha_seqs, seqlens_k),     HA_FIELD(ha_seqs, block_table),
                             HA_FIELD(ha_seqs, block_table_stride),
                             HA_FIELD(ha_seqs, max_pages),     HA_FIELD(ha_seqs, reserved)};
const Field kHyperFields[] = {
    HA_FIELD(ha_hyper_params, scale),       HA_FIELD(ha_hyper_params, causal),
    HA_FIELD(ha_hyper_params, lsh_projections), HA_FIELD(ha_hyper_params, block_size),
    HA_FIELD(ha_hyper_params, sample_size), HA_FIELD(ha_hyper_params, min_seq_len),
    HA_FIELD(ha_hyper_params, seed),        HA_FIELD(ha_hyper_params, stream)};
const Field kHsrFields[] = {HA_FIELD(ha_hsr_params, mode),    HA_FIELD(ha_hsr_params, alpha),
                            HA_FIELD(ha_hsr_params, bias),    HA_FIELD(ha_hsr_params, scale),
                            HA_FIELD(ha_hsr_params, epsilon), HA_FIELD(ha_hsr_params, causal),
                            HA_FIELD(ha_hsr_params, reserved), HA_FIELD(ha_hsr_params, stream)};
const Field kStatsFields[] = {HA_FIELD(ha_hsr_stats, dropped_mass),
                              HA_FIELD(ha_hsr_stats, error_bound),
                              HA_FIELD(ha_hsr_stats, keys_touched)};
const Field kApproxFields[] = {
    HA_FIELD(ha_approx_params, scale),        HA_FIELD(ha_approx_params, causal),
    HA_FIELD(ha_approx_params, sinks),        HA_FIELD(ha_approx_params, window),
    HA_FIELD(ha_approx_params, samples),      HA_FIELD(ha_approx_params, heavy_budget),
    HA_FIELD(ha_approx_params, target_error), HA_FIELD(ha_approx_params, seed),
    HA_FIELD(ha_approx_params, stream)};
const Field kApproxStatsFields[] = {
    HA_FIELD(ha_approx_stats, row_error), HA_FIELD(ha_approx_stats, tail_mass_bound),
    HA_FIELD(ha_approx_stats, keys_touched), HA_FIELD(ha_approx_stats, level)};
const Field kIndexParamsFields[] = {HA_FIELD(ha_index_params, block_size),
                                    HA_FIELD(ha_index_params, kmeans_iters),
                                    HA_FIELD(ha_index_params, seed),
                                    HA_FIELD(ha_index_params, copy_keys),
                                    HA_FIELD(ha_index_params, reserved)};
const Field kIndexInfoFields[] = {
    HA_FIELD(ha_key_index_info, batch),       HA_FIELD(ha_key_index_info, heads),
    HA_FIELD(ha_key_index_info, keys),        HA_FIELD(ha_key_index_info, head_dim),
    HA_FIELD(ha_key_index_info, sealed_keys), HA_FIELD(ha_key_index_info, blocks),
    HA_FIELD(ha_key_index_info, bytes),       HA_FIELD(ha_key_index_info, dtype),
    HA_FIELD(ha_key_index_info, block_size)};
const Field kPropsFields[] = {
    HA_FIELD(ha_device_props, name),          HA_FIELD(ha_device_props, total_memory),
    HA_FIELD(ha_device_props, compute_major), HA_FIELD(ha_device_props, compute_minor),
    HA_FIELD(ha_device_props, multiprocessors), HA_FIELD(ha_device_props, reserved)};
const Field kHyperStatsFields[] = {HA_FIELD(ha_hyper_stats, row_error)};
#undef HA_FIELD

#define HA_STRUCT(S, F) \
    Struct{#S, sizeof(S), alignof(S), F, static_cast<int>(sizeof(F) / sizeof(F[0]))}
const Struct kStructs[] = {HA_STRUCT(ha_tensor, kTensorFields),
                           HA_STRUCT(ha_exact_params, kExactFields),
                           HA_STRUCT(ha_seqs, kSeqsFields),
                           HA_STRUCT(ha_hyper_params, kHyperFields),
                           HA_STRUCT(ha_hsr_params, kHsrFields),
                           HA_STRUCT(ha_hsr_stats, kStatsFields),
                           HA_STRUCT(ha_index_params, kIndexParamsFields),
                           HA_STRUCT(ha_key_index_info, kIndexInfoFields),
                           HA_STRUCT(ha_device_props, kPropsFields),
                           HA_STRUCT(ha_approx_params, kApproxFields),
                           HA_STRUCT(ha_approx_stats, kApproxStatsFields),
                           HA_STRUCT(ha_hyper_stats, kHyperStatsFields)};
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
