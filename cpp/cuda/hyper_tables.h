// The host-built tables of a device HyperAttention call (hyper.cpp), from the plan of
// cpu/hyper/hyper_plan.h and the draws of cpu/hyper/hyper_random.h: per rect its slices of the
// sorted arrays and its sample count and weight, the CUB segments, the per-level task lists
// (a task = up to kHyperBM rows of one sorted query block with that block's key window) and
// the sampled keys of every (batch, kv head, rect). Header-only and free of device code, so
// scripts/gpu/check_hyper_host.cpp can replay the kernels' indexing on the host with exactly
// these tables.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/hyper/hyper_plan.h"
#include "cpu/hyper/hyper_random.h"
#include "hyper_launch.h"

namespace ha::cuda {

struct HyperTables {
    ha::cpu::hyper::Plan plan;
    std::vector<HyperRect> rects;
    std::vector<HyperSeg> qsegs, ksegs;
    std::vector<HyperSampleSeg> ssegs;  // the rects with samples, by soff
    std::vector<HyperTask> tasks;
    std::vector<int64_t> level_begin;   // tasks of level L: [level_begin[L], level_begin[L+1])
    std::vector<int32_t> samp;          // [b * Hkv + hk][stotal]: key index within the rect
    int64_t qtotal = 0, ktotal = 0, stotal = 0;
};

inline HyperTables hyper_tables(int64_t B, int64_t Hkv, int64_t Nq, int64_t Nk, bool causal,
                                int64_t block, int64_t sample_size, int64_t min_seq_len,
                                uint64_t seed) {
    namespace hp = ha::cpu::hyper;
    HyperTables t;
    t.plan = hp::make_plan(Nq, Nk, causal, min_seq_len);
    for (const hp::Rect& rc : t.plan.rects) {
        // Every window already holds every key when one block or one window spans all.
        const bool sampled = rc.nq > block && rc.nk > block;
        const int64_t m = sampled ? std::min<int64_t>(sample_size, rc.nk) : 0;
        HyperRect x{};
        x.q0 = rc.q0;
        x.k0 = rc.k0;
        x.nq = int32_t(rc.nq);
        x.nk = int32_t(rc.nk);
        x.m = int32_t(m);
        x.qoff = t.qtotal;
        x.koff = t.ktotal;
        x.soff = t.stotal;
        x.bias_log2 = m > 0 ? float(std::log2(double(rc.nk) / double(m))) : 0.f;
        t.rects.push_back(x);
        t.qsegs.push_back({rc.q0, rc.nq, t.qtotal});
        t.ksegs.push_back({rc.k0, rc.nk, t.ktotal});
        if (m > 0) t.ssegs.push_back({t.ktotal, t.stotal, m});
        t.qtotal += rc.nq;
        t.ktotal += rc.nk;
        t.stotal += m;
    }
    const int nrects = int(t.plan.rects.size());
    for (int level = 0; level < t.plan.levels; ++level) {
        t.level_begin.push_back(int64_t(t.tasks.size()));
        for (int ri = 0; ri < nrects; ++ri) {
            const hp::Rect& rc = t.plan.rects[size_t(ri)];
            if (rc.level != level) continue;
            for (int64_t blk = 0; blk < hp::block_count(rc.nq, block); ++blk) {
                int64_t a, b;
                hp::key_window(rc.nq, rc.nk, block, blk, &a, &b);
                const int64_t rows = std::min(block, rc.nq - blk * block);
                for (int64_t r0 = 0; r0 < rows; r0 += kHyperBM)
                    t.tasks.push_back({ri, int32_t(blk * block + r0),
                                       int32_t(std::min<int64_t>(kHyperBM, rows - r0)),
                                       int32_t(a), int32_t(b), 0});
            }
        }
    }
    t.level_begin.push_back(int64_t(t.tasks.size()));
    t.samp.assign(size_t(B * Hkv * t.stotal), 0);
    for (int64_t grp = 0; grp < B * Hkv && t.stotal > 0; ++grp)
        for (const HyperRect& x : t.rects) {
            if (x.m == 0) continue;
            const std::vector<int64_t> drawn =
                hp::sample_keys(seed, grp / Hkv, grp % Hkv, x.q0, x.k0, x.nk, x.m);
            for (int64_t i = 0; i < x.m; ++i)
                t.samp[size_t(grp * t.stotal + x.soff + i)] = int32_t(drawn[size_t(i)]);
        }
    return t;
}

}  // namespace ha::cuda
