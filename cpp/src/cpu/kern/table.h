// The kernel table of one instruction set: every kernel header instantiated on the traits
// type I. Included only by the instantiation files kernels_<isa>.cpp, one per ISA, each
// compiled with that ISA's flags.
#pragma once

#include "cpu/kern/forward.h"
#include "cpu/kern/hsr_bounds.h"
#include "cpu/kern/hsr_pv.h"
#include "cpu/kern/hsr_rows.h"
#include "cpu/kern/hsr_scores.h"
#include "cpu/kern/hsr_sketch.h"
#include "cpu/kern/hsr_stats.h"
#include "cpu/kern/hsr_weights.h"
#include "cpu/kern/hyper_gather.h"
#include "cpu/kern/hyper_hash.h"
#include "cpu/kern/hyper_rows.h"
#include "cpu/kern/merge.h"
#include "cpu/kernels.h"

namespace ha::cpu::kern {
namespace {

template <class I>
Kernels make_table() {
    Kernels k{};
    k.exact_forward = exact_forward<I>;
    k.exact_pack = exact_pack<I>;
    k.merge = merge<I>;

    k.hyper.hash_rows = hash_rows<I>;
    k.hyper.tile_keys = NT;
    k.hyper.tile_bytes = tile_bytes<I>;
    k.hyper.pack_keys = pack_keys<I>;
    k.hyper.rows_scratch_bytes = rows_scratch_bytes<I>;
    k.hyper.run_rows = run_rows<I>;
    k.hyper.value_norms = value_norms<I>;

    k.hsr.scores = scores<I>;
    k.hsr.pv = pv<I>;
    k.hsr.softmax_weights = softmax_weights<I>;
    k.hsr.relu_weights = relu_weights<I>;
    k.hsr.ball_bounds = ball_bounds<I>;
    k.hsr.box_sum = box_sum<I>;
    k.hsr.exp2v = exp2v<I>;
    k.hsr.bucket_prep = bucket_prep<I>;
    k.hsr.load_rows = load_rows;
    k.hsr.sketch64 = sketch64<I>;
    k.hsr.sumsq = sumsq<I>;
    k.hsr.dist2 = dist2<I>;
    k.hsr.split_sums = split_sums<I>;
    return k;
}

}  // namespace
}  // namespace ha::cpu::kern
