// HyperAttention on the CPU: the baseline half (planning, scheduling, sorting, sampling,
// memory) around the per-ISA kernels of cpu/kern/hyper_*.h (the hyper section of the kernel
// table, cpu/kernels.h).
//
// One call runs in phases separated by parallel_for barriers. Key-side phases work per
// (batch, kv head) "group": bucket ranks of every key, then per sub-problem ("rect", see
// hyper_plan.h) a stable counting sort, and the sampled keys, drawn and packed once.
// Query-side phases work per (batch, query head): ranks and per-rect sorts, then the dense
// work, one phase per recursion level (a task packs the sorted keys its run of blocks needs
// and runs those blocks for every query head of the group) and a last one for the exact causal
// leaves. Every task owns its rows for the phase, every random draw is keyed by coordinates,
// and a row's pieces are always visited in the same order (levels ascending, then its leaf),
// so results do not depend on the thread count or on how blocks are grouped into tasks.
// Groups, and heads within them, are processed in chunks that bound the extra memory.
#include "tensor_check.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/cpu_backend.h"
#include "half.h"
#include "cpu/hyper/hyper_kernels.h"
#include "cpu/kernels.h"
#include "cpu/hyper/hyper_memory.h"
#include "cpu/hyper/hyper_plan.h"
#include "cpu/hyper/hyper_random.h"
#include "cpu/thread_pool.h"
#include "error.h"
#include "hyperattn.h"

namespace ha::cpu::hyper {
namespace {

#define HA_TRY_(expr)                         \
    do {                                      \
        const int32_t st_ = (expr);           \
        if (st_ != HA_OK) return st_;         \
    } while (0)

struct Slot {
    Buffer rows;                // run_rows scratch
    Buffer window;              // packed sorted keys of a run of blocks
    std::vector<int64_t> hist;  // counting sort
    std::vector<int32_t> inv;   // inverse of a key permutation
    // Error estimates: ||v||^2 and ||v - centre|| of a packed window. Taken from the huge-page
    // cache whatever its size, so that it is reused across calls: as two std::vectors (128 KiB
    // each at 32k keys) their fresh pages faulted on every call, ~1% of a call on the Zen 5 VM.
    Buffer norms;
};

constexpr size_t kBudget = size_t(256) << 20;  // extra memory per chunk of groups / heads
constexpr int64_t kHashChunk = 8192;           // rows per hashing task
// Rows per job: a rect job is a block (or a part of a large one); a leaf job is a slice of
// a leaf's rows, large so that the leaf's keys are packed few times.
constexpr int64_t kRectJobRows = 384, kLeafJobRows = 1024;
static_assert(kRectJobRows <= kMaxJobRows && kLeafJobRows <= kMaxJobRows);

// Stable: equal ranks keep their original order.
void counting_sort(const uint16_t* ranks, int64_t n, int r, int32_t* perm,
                   std::vector<int64_t>& hist) {
    const size_t nb = size_t(1) << r;
    hist.assign(nb + 1, 0);
    for (int64_t i = 0; i < n; ++i) ++hist[size_t(ranks[i]) + 1];
    for (size_t b = 0; b < nb; ++b) hist[b + 1] += hist[b];
    for (int64_t i = 0; i < n; ++i) perm[hist[ranks[i]]++] = int32_t(i);
}

struct Head {
    int64_t b, h;
};

class Call {
public:
    explicit Call(const HyperProblem& hp)
        : hp_(hp), p_(hp.base), K_(cpu::active_kernels().hyper) {
        B_ = p_.q.shape[0];
        Hq_ = p_.q.shape[1];
        Nq_ = p_.q.shape[2];
        D_ = p_.q.shape[3];
        Hkv_ = p_.k.shape[1];
        Nk_ = p_.k.shape[2];
        G_ = Hq_ / Hkv_;
        SF_ = state_floats(D_);
        block_ = hp.block_size;
        r_ = hp.lsh_projections;
        stats_ = hp.row_error != nullptr;
        Dc_ = (D_ + 15) / 16 * 16;  // a value centre, zero-padded like the packed values
    }

    int32_t run() {
        plan_ = make_plan(Nq_, Nk_, p_.causal, hp_.min_seq_len);
        causal_ = p_.causal;
        const std::vector<float> h = hyperplanes(hp_.seed, r_, D_);
        planes_.assign(size_t(D_) * kMaxProjections, 0.f);
        for (int j = 0; j < r_; ++j)
            for (int64_t d = 0; d < D_; ++d)
                planes_[size_t(d) * kMaxProjections + size_t(j)] = h[size_t(j) * size_t(D_) + size_t(d)];

        const size_t tile_bytes = K_.tile_bytes(p_.dtype, D_);
        for (const Rect& rc : plan_.rects) {
            koff_.push_back(ktotal_);
            qoff_.push_back(qtotal_);
            ktotal_ += rc.nk;
            qtotal_ += rc.nq;
            // Every window already holds every key when one block or one window spans all.
            const bool sampled = rc.nq > block_ && rc.nk > block_;
            const int64_t m = sampled ? std::min(hp_.sample_size, rc.nk) : 0;
            m_.push_back(m);
            soff_.push_back(stotal_);
            toff_.push_back(tbytes_);
            sxoff_.push_back(sxtotal_);
            sxtotal_ += (m + 63) / 64 * 64 + 64;
            stotal_ += m;
            tbytes_ += size_t((m + K_.tile_keys - 1) / K_.tile_keys) * tile_bytes;
            bias_.push_back(m > 0 ? float(std::log2(double(rc.nk) / double(m))) : 0.f);
        }
        tile_bytes_ = tile_bytes;
        slots_.resize(size_t(std::max(1, pool_threads())));
        rows_bytes_ = K_.rows_scratch_bytes(p_.dtype, D_);

        write_empty_rows();

        const int64_t groups = B_ * Hkv_;
        const size_t per_group = size_t(Nk_) * 2 + size_t(ktotal_) * 4 + size_t(stotal_) * 12 +
                                 tbytes_ + 64 +
                                 (stats_ ? size_t(Dc_) * 4 + size_t(sxtotal_) * 8 : 0);
        const int64_t gpc = std::clamp<int64_t>(int64_t(kBudget / per_group), 1, groups);
        for (int64_t g0 = 0; g0 < groups; g0 += gpc) {
            HA_TRY_(key_side(g0, std::min(gpc, groups - g0)));
            const int64_t nheads = ng_ * G_;
            const size_t per_head = size_t(Nq_) * 2 + size_t(qtotal_) * 4 +
                                    (causal_ ? size_t(Nq_) * (size_t(SF_) * 4 + 1) : 0) +
                                    (causal_ && stats_ ? size_t(Nq_) * size_t(stats_floats(D_)) * 4 : 0) + 64;
            const int64_t hpc = std::clamp<int64_t>(int64_t(kBudget / per_head), 1, nheads);
            for (int64_t h0 = 0; h0 < nheads; h0 += hpc) {
                heads_.clear();
                for (int64_t x = h0; x < std::min(nheads, h0 + hpc); ++x) {
                    const int64_t grp = g0_ + x / G_;
                    heads_.push_back({grp / Hkv_, (grp % Hkv_) * G_ + x % G_});
                }
                HA_TRY_(query_side());
            }
        }
        return HA_OK;
    }

private:
    int32_t par(int64_t n, const std::function<void(int64_t, int)>& fn) {
        return parallel_for(n, int(slots_.size()), fn);
    }

    // Causal with Nq > Nk: the first rows see no key at all.
    void write_empty_rows() {
        if (plan_.empty_rows == 0) return;
        const int64_t es = ha::dtype_size(p_.dtype);
        for (int64_t b = 0; b < B_; ++b)
            for (int64_t h = 0; h < Hq_; ++h)
                for (int64_t i = 0; i < plan_.empty_rows; ++i) {
                    char* row = static_cast<char*>(p_.out.data) +
                                (b * p_.out.strides[0] + h * p_.out.strides[1] + i * p_.out.strides[2]) * es;
                    for (int64_t d = 0; d < D_; ++d) std::memset(row + d * p_.out.strides[3] * es, 0, size_t(es));
                    if (p_.lse)
                        p_.lse[b * p_.lse_strides[0] + h * p_.lse_strides[1] + i * p_.lse_strides[2]] = -INFINITY;
                    if (stats_) hp_.row_error[(b * Hq_ + h) * Nq_ + i] = 0.f;
                }
    }

    // Ranks of the keys, their per-rect sorted order, and the samples of groups [g0, g0+ng).
    int32_t key_side(int64_t g0, int64_t ng) {
        g0_ = g0;
        ng_ = ng;
        kranks_.resize(size_t(ng * Nk_));
        kperm_.resize(size_t(ng * ktotal_));
        spos_.resize(size_t(ng * stotal_));
        sidx_.resize(size_t(ng * stotal_));
        tiles_.get(size_t(ng) * tbytes_);

        const int64_t chunks = (Nk_ + kHashChunk - 1) / kHashChunk;
        if (stats_) {
            vcentre_.resize(size_t(ng * Dc_));
            snv2_.resize(size_t(ng * sxtotal_));
            snd_.resize(size_t(ng * sxtotal_));
        }
        HA_TRY_(par(ng * chunks, [&](int64_t t, int) {
            const int64_t gl = t / chunks, c = t % chunks, grp = g0 + gl;
            HashJob j{};
            j.dtype = p_.dtype;
            j.x = p_.k;
            j.b = grp / Hkv_;
            j.h = grp % Hkv_;
            j.i0 = c * kHashChunk;
            j.n = std::min(kHashChunk, Nk_ - j.i0);
            j.D = D_;
            j.r = r_;
            j.planes = planes_.data();
            j.ranks = kranks_.data() + gl * Nk_ + j.i0;
            K_.hash_rows(j);
        }));

        const int64_t nr = int64_t(plan_.rects.size());
        HA_TRY_(par(ng * nr, [&](int64_t t, int slot) {
            const int64_t gl = t / nr, ri = t % nr, grp = g0 + gl;
            const Rect& rc = plan_.rects[size_t(ri)];
            int32_t* perm = kperm_.data() + gl * ktotal_ + koff_[size_t(ri)];
            Slot& s = slots_[size_t(slot)];
            counting_sort(kranks_.data() + gl * Nk_ + rc.k0, rc.nk, r_, perm, s.hist);
            const int64_t m = m_[size_t(ri)];
            if (m == 0) return;
            s.inv.resize(size_t(rc.nk));
            for (int64_t x = 0; x < rc.nk; ++x) s.inv[size_t(perm[x])] = int32_t(x);
            const int64_t b = grp / Hkv_, hk = grp % Hkv_;
            const std::vector<int64_t> drawn = sample_keys(hp_.seed, b, hk, rc.q0, rc.k0, rc.nk, m);
            int64_t* pos = spos_.data() + gl * stotal_ + soff_[size_t(ri)];
            int32_t* idx = sidx_.data() + gl * stotal_ + soff_[size_t(ri)];
            for (int64_t x = 0; x < m; ++x) pos[x] = s.inv[size_t(drawn[size_t(x)])];
            std::sort(pos, pos + m);
            for (int64_t x = 0; x < m; ++x) idx[x] = perm[pos[x]];
            PackJob pj{};
            pj.dtype = p_.dtype;
            pj.k = p_.k;
            pj.v = p_.v;
            pj.b = b;
            pj.hk = hk;
            pj.D = D_;
            pj.idx = idx;
            pj.k0 = rc.k0;
            pj.count = m;
            pj.tiles = tiles_.data() + size_t(gl) * tbytes_ + toff_[size_t(ri)];
            K_.pack_keys(pj);
        }));
        if (!stats_) return HA_OK;
        // The value centre of each group (any fixed point serves the bound; this one is near
        // the mean): the mean of the first sampled rect's sampled values.
        for (int64_t gl = 0; gl < ng; ++gl) {
            const int64_t grp = g0 + gl;
            float* c = vcentre_.data() + gl * Dc_;
            std::fill(c, c + Dc_, 0.f);
            for (int64_t ri = 0; ri < nr; ++ri) {
                const int64_t m = m_[size_t(ri)];
                if (m == 0) continue;
                std::vector<double> sum(size_t(D_), 0.0);
                std::vector<float> row(static_cast<size_t>(D_));
                const int32_t* idx = sidx_.data() + gl * stotal_ + soff_[size_t(ri)];
                for (int64_t x = 0; x < m; ++x) {
                    value_row(grp / Hkv_, grp % Hkv_, plan_.rects[size_t(ri)].k0 + idx[x], row.data());
                    for (int64_t d = 0; d < D_; ++d) sum[size_t(d)] += row[size_t(d)];
                }
                for (int64_t d = 0; d < D_; ++d) c[d] = float(sum[size_t(d)] / double(m));
                break;
            }
        }
        return par(ng * nr, [&](int64_t t, int) {  // ||v||^2, ||v - centre|| of the samples
            const int64_t gl = t / nr, ri = t % nr;
            const int64_t m = m_[size_t(ri)];
            if (m == 0) return;
            const int64_t so = gl * sxtotal_ + sxoff_[size_t(ri)];
            K_.value_norms(p_.dtype, tiles_.data() + size_t(gl) * tbytes_ + toff_[size_t(ri)], m, D_,
                           vcentre_.data() + gl * Dc_, snv2_.data() + so, snd_.data() + so);
        });
    }

    // Everything for the query heads in heads_ (all within the current group chunk).
    int32_t query_side() {
        const int64_t nh = int64_t(heads_.size());
        qranks_.resize(size_t(nh * Nq_));
        qperm_.resize(size_t(nh * qtotal_));
        if (causal_) {
            acc_.resize(size_t(nh * Nq_ * SF_));
            has_state_.resize(size_t(nh * Nq_));
            if (stats_) sacc_.resize(size_t(nh * Nq_ * stats_floats(D_)));
        }

        const int64_t chunks = (Nq_ + kHashChunk - 1) / kHashChunk;
        HA_TRY_(par(nh * chunks, [&](int64_t t, int) {
            const int64_t hl = t / chunks, c = t % chunks;
            HashJob j{};
            j.dtype = p_.dtype;
            j.x = p_.q;
            j.b = heads_[size_t(hl)].b;
            j.h = heads_[size_t(hl)].h;
            j.i0 = c * kHashChunk;
            j.n = std::min(kHashChunk, Nq_ - j.i0);
            j.D = D_;
            j.r = r_;
            j.planes = planes_.data();
            j.ranks = qranks_.data() + hl * Nq_ + j.i0;
            K_.hash_rows(j);
            if (causal_) std::memset(has_state_.data() + hl * Nq_ + j.i0, 0, size_t(j.n));
        }));

        const int64_t nr = int64_t(plan_.rects.size());
        HA_TRY_(par(nh * nr, [&](int64_t t, int slot) {
            const int64_t hl = t / nr, ri = t % nr;
            const Rect& rc = plan_.rects[size_t(ri)];
            counting_sort(qranks_.data() + hl * Nq_ + rc.q0, rc.nq, r_,
                          qperm_.data() + hl * qtotal_ + qoff_[size_t(ri)], slots_[size_t(slot)].hist);
        }));

        for (int level = 0; level < plan_.levels; ++level) HA_TRY_(rect_level(level));
        return leaves();
    }

    RowsJob base_job(const Head& hd, int slot) {
        RowsJob j{};
        j.dtype = p_.dtype;
        j.q = p_.q;
        j.k = p_.k;
        j.v = p_.v;
        j.b = hd.b;
        j.h = hd.h;
        j.hk = hd.h / G_;
        j.D = D_;
        j.scale = p_.scale;
        j.out = p_.out;
        j.lse = p_.lse;
        for (int i = 0; i < 3; ++i) j.lse_strides[i] = p_.lse_strides[i];
        j.scratch = slots_[size_t(slot)].rows.get(rows_bytes_);
        if (stats_) {
            j.stats = true;
            j.row_error = hp_.row_error;
            j.Hq = Hq_;
            j.Nq = Nq_;
            j.vcentre = vcentre_.data() + (hd.b * Hkv_ + hd.h / G_ - g0_) * Dc_;
        }
        return j;
    }

    // Query blocks of every rect of one level: non-causal, the final output; causal, one more
    // piece of each row's state. Block i's window of sorted keys depends on i alone, not on
    // the query head, so a task takes a run of consecutive blocks of one (group, rect), packs
    // the sorted keys their windows span once (one streaming gather, the next tile's rows
    // prefetched) and runs those blocks for every query head of the group.
    int32_t rect_level(int level) {
        struct Task {
            int64_t gl, ri, blk0, blk1;
        };
        const int64_t gl0 = heads_.front().b * Hkv_ + heads_.front().h / G_ - g0_;
        const int64_t gl1 = heads_.back().b * Hkv_ + heads_.back().h / G_ - g0_ + 1;
        int64_t blocks = 0;
        for (const Rect& rc : plan_.rects)
            if (rc.level == level) blocks += block_count(rc.nq, block_);
        // Blocks per task: about four tasks per slot of a nominal 16-thread pool, never the
        // actual thread count. A task packs the union of its blocks' key windows, so the last
        // tile of a block holds keys of its neighbours (weight 0) or zeros depending on the
        // grouping: with NaN/inf in v, 0·inf would make the output depend on the threads.
        constexpr int64_t kNominalSlots = 16;
        const int64_t run = std::clamp<int64_t>(blocks * (gl1 - gl0) / (4 * kNominalSlots), 1, 8);
        std::vector<Task> tasks;
        for (int64_t gl = gl0; gl < gl1; ++gl)
            for (int64_t ri = 0; ri < int64_t(plan_.rects.size()); ++ri) {
                const Rect& rc = plan_.rects[size_t(ri)];
                if (rc.level != level) continue;
                const int64_t nb = block_count(rc.nq, block_);
                for (int64_t blk = 0; blk < nb; blk += run) tasks.push_back({gl, ri, blk, std::min(nb, blk + run)});
            }
        return par(int64_t(tasks.size()), [&](int64_t t, int slot) {
            const Task& tk = tasks[size_t(t)];
            const Rect& rc = plan_.rects[size_t(tk.ri)];
            const int64_t NT = K_.tile_keys, grp = g0_ + tk.gl;
            int64_t lo = INT64_MAX, hi = 0;
            for (int64_t blk = tk.blk0; blk < tk.blk1; ++blk) {
                int64_t a, b;
                key_window(rc.nq, rc.nk, block_, blk, &a, &b);
                lo = std::min(lo, a);
                hi = std::max(hi, b);
            }
            const int64_t first = lo / NT * NT;  // packed from a tile boundary
            PackJob pj{};
            pj.dtype = p_.dtype;
            pj.k = p_.k;
            pj.v = p_.v;
            pj.b = grp / Hkv_;
            pj.hk = grp % Hkv_;
            pj.D = D_;
            pj.idx = kperm_.data() + tk.gl * ktotal_ + koff_[size_t(tk.ri)] + first;
            pj.k0 = rc.k0;
            pj.count = hi - first;
            pj.tiles = slots_[size_t(slot)].window.get(size_t((pj.count + NT - 1) / NT) * tile_bytes_);
            K_.pack_keys(pj);
            const char* tiles = static_cast<const char*>(pj.tiles);
            float *wn = nullptr, *wd = nullptr;
            if (stats_) {  // ||v||^2 of the packed keys, in packed order, padded by a tile
                const size_t len = size_t((pj.count + NT - 1) / NT * NT + 64);
                wn = static_cast<float*>(
                    slots_[size_t(slot)].norms.get(std::max(2 * len * sizeof(float), kHugeFrom)));
                wd = wn + len;
                K_.value_norms(p_.dtype, pj.tiles, pj.count, D_, vcentre_.data() + tk.gl * Dc_,
                               wn, wd);
            }

            const int64_t m = m_[size_t(tk.ri)];
            const int64_t* pos = spos_.data() + tk.gl * stotal_ + soff_[size_t(tk.ri)];
            for (int64_t hl = 0; hl < int64_t(heads_.size()); ++hl) {
                const Head& hd = heads_[size_t(hl)];
                if (hd.b * Hkv_ + hd.h / G_ != grp) continue;
                for (int64_t blk = tk.blk0; blk < tk.blk1; ++blk) {
                    int64_t a, b;
                    key_window(rc.nq, rc.nk, block_, blk, &a, &b);
                    const int64_t rows = std::min(block_, rc.nq - blk * block_);
                    for (int64_t r0 = 0; r0 < rows; r0 += kRectJobRows) {
                        RowsJob j = base_job(hd, slot);
                        j.q_idx = qperm_.data() + hl * qtotal_ + qoff_[size_t(tk.ri)] + blk * block_ + r0;
                        j.q0 = rc.q0;
                        j.n_rows = std::min(kRectJobRows, rows - r0);
                        // The window: whole tiles from the one holding sorted key a; the keys
                        // of that tile before a are masked.
                        PackedSet& w = j.sets[j.n_sets++];
                        const int64_t wf = a / NT * NT;
                        w.tiles = tiles + size_t((wf - first) / NT) * tile_bytes_;
                        w.count = b - wf;
                        w.hole_lo = 0;
                        w.hole_hi = a - wf;
                        if (stats_) {
                            w.vnorm2 = wn + (wf - first);
                            w.vdist = wd + (wf - first);
                            // the window's edge tiles stand for the sorted neighbours just
                            // outside it (half a tile's worth on each side): each would
                            // count with weight n/m if sampled
                            w.edge_c = m > 0 ? float(0.5 * (double(rc.nk) / double(m) - 1.0)) : 0.f;
                        }
                        if (m > 0) {
                            PackedSet& ss = j.sets[j.n_sets++];
                            ss.tiles = tiles_.data() + size_t(tk.gl) * tbytes_ + toff_[size_t(tk.ri)];
                            ss.count = m;
                            ss.bias_log2 = bias_[size_t(tk.ri)];
                            ss.hole_lo = std::lower_bound(pos, pos + m, a) - pos;
                            ss.hole_hi = std::lower_bound(pos, pos + m, b) - pos;
                            if (stats_) {
                                const int64_t so = tk.gl * sxtotal_ + sxoff_[size_t(tk.ri)];
                                ss.vnorm2 = snv2_.data() + so;
                                ss.vdist = snd_.data() + so;
                                ss.est_c = m > 1 ? float((1.0 - double(m) / double(rc.nk)) *
                                                         double(m) / double(m - 1))
                                                 : 0.f;
                            }
                        }
                        if (causal_) {
                            j.acc = acc_.data() + hl * Nq_ * SF_;
                            j.has_state = has_state_.data() + hl * Nq_;
                            j.load = j.store = true;
                            if (stats_) j.sacc = sacc_.data() + hl * Nq_ * stats_floats(D_);
                        }
                        K_.run_rows(j);
                    }
                }
            }
        });
    }

    // The exact causal squares at the bottom of the recursion, continuing each row's state and
    // writing the output. Later rows see more keys: they go first.
    int32_t leaves() {
        if (plan_.leaves.empty()) return HA_OK;
        struct Task {
            int64_t hl, li, r0, r1;
        };
        std::vector<Task> tasks;
        int64_t max_n = 0;
        for (const Leaf& lf : plan_.leaves) max_n = std::max(max_n, lf.n);
        for (int64_t c = (max_n + kLeafJobRows - 1) / kLeafJobRows - 1; c >= 0; --c)
            for (int64_t li = 0; li < int64_t(plan_.leaves.size()); ++li)
                for (int64_t hl = 0; hl < int64_t(heads_.size()); ++hl) {
                    const Leaf& lf = plan_.leaves[size_t(li)];
                    if (c * kLeafJobRows >= lf.n) continue;
                    tasks.push_back({hl, li, c * kLeafJobRows, std::min(lf.n, (c + 1) * kLeafJobRows)});
                }
        return par(int64_t(tasks.size()), [&](int64_t t, int slot) {
            const Task& tk = tasks[size_t(t)];
            const Leaf& lf = plan_.leaves[size_t(tk.li)];
            RowsJob j = base_job(heads_[size_t(tk.hl)], slot);
            j.q0 = lf.q0 + tk.r0;
            j.n_rows = tk.r1 - tk.r0;
            j.k0 = lf.k0;
            j.n_keys = tk.r1;  // the last row sees keys 0 .. r1-1 of the leaf
            j.causal = true;
            j.cq0 = lf.q0;
            j.acc = acc_.data() + tk.hl * Nq_ * SF_;
            j.has_state = has_state_.data() + tk.hl * Nq_;
            j.load = true;
            if (stats_) {
                j.sacc = sacc_.data() + tk.hl * Nq_ * stats_floats(D_);
            }
            K_.run_rows(j);
        });
    }
    // Value row `key` of (b, hk) as floats.
    void value_row(int64_t b, int64_t hk, int64_t key, float* dst) const {
        const View& v = p_.v;
        const int64_t off = b * v.strides[0] + hk * v.strides[1] + key * v.strides[2];
        for (int64_t d = 0; d < D_; ++d) {
            const int64_t e = off + d * v.strides[3];
            if (p_.dtype == HA_DTYPE_BF16) {
                const uint32_t bits = uint32_t(static_cast<const uint16_t*>(v.data)[e]) << 16;
                std::memcpy(dst + d, &bits, 4);
            } else if (p_.dtype == HA_DTYPE_F16) {
                dst[d] = f16_bits_to_f32(static_cast<const uint16_t*>(v.data)[e]);
            } else {
                dst[d] = static_cast<const float*>(v.data)[e];
            }
        }
    }

    const HyperProblem& hp_;
    const ExactProblem& p_;
    const Kernels& K_;
    int64_t B_, Hq_, Nq_, D_, Hkv_, Nk_, G_, SF_, block_;
    int r_;
    bool causal_ = false;
    // error estimates (row_error): per group the value centre (Dc_ floats, zero-padded),
    // per sample (sxoff_ layout, zero-padded to whole tiles) ||v||^2 and ||v - centre||
    bool stats_ = false;
    int64_t Dc_ = 0, sxtotal_ = 0;
    std::vector<int64_t> sxoff_;
    Array<float> vcentre_, snv2_, snd_, sacc_;
    Plan plan_;
    std::vector<float> planes_;
    std::vector<int64_t> koff_, qoff_, m_, soff_;
    std::vector<size_t> toff_;
    std::vector<float> bias_;
    int64_t ktotal_ = 0, qtotal_ = 0, stotal_ = 0;
    size_t tbytes_ = 0, rows_bytes_ = 0, tile_bytes_ = 0;
    std::vector<Slot> slots_;
    // key side of the current group chunk
    int64_t g0_ = 0, ng_ = 0;
    Array<uint16_t> kranks_;
    Array<int32_t> kperm_;
    Array<int64_t> spos_;
    Array<int32_t> sidx_;
    Buffer tiles_;
    // query side of the current head chunk
    std::vector<Head> heads_;
    Array<uint16_t> qranks_;
    Array<int32_t> qperm_;
    Array<float> acc_;
    Array<uint8_t> has_state_;
};

#undef HA_TRY_

}  // namespace
}  // namespace ha::cpu::hyper

namespace ha::cpu {

int32_t hyper_forward(const HyperProblem& hp) {
    const ExactProblem& p = hp.base;
    if (p.q.shape[0] == 0 || p.q.shape[1] == 0 || p.q.shape[2] == 0) return HA_OK;
    // At or below min_seq_len keys the answer is exact attention itself.
    if (p.k.shape[2] <= hp.min_seq_len) {
        if (hp.row_error)
            std::fill(hp.row_error, hp.row_error + p.q.shape[0] * p.q.shape[1] * p.q.shape[2], 0.f);
        return exact_forward(p);
    }
    if (p.q.shape[2] > INT32_MAX || p.k.shape[2] > INT32_MAX)
        return fail(HA_ERR_UNSUPPORTED, "hyper: sequences longer than 2^31-1 rows are not supported");
    try {
        const int32_t st = hyper::Call(hp).run();
        if (st == HA_ERR_OUT_OF_MEMORY) return fail(st, "hyper: out of memory");
        if (st != HA_OK) return fail(st, "hyper: internal error in the CPU kernel");
        return st;
    } catch (const std::bad_alloc&) {
        return fail(HA_ERR_OUT_OF_MEMORY, "hyper: out of memory");
    } catch (...) {
        return fail(HA_ERR_INTERNAL, "hyper: unexpected exception in the CPU backend");
    }
}

}  // namespace ha::cpu
