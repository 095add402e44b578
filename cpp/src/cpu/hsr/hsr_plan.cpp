// Planning (see hsr_plan.h). A block is skipped only when its bound proves that it cannot
// matter: below the threshold (ReLU, reporting), or inside the certified dropped mass
// (softmax, hsr_certificate.h).
#include "cpu/hsr/hsr_plan.h"

#include <algorithm>
#include <cmath>

#include "cpu/hsr/hsr_certificate.h"
#include "cpu/hsr/numerics.h"

namespace ha::cpu::hsr::detail {
namespace {

constexpr int kRound0Blocks = 8;     // highest-bound blocks per row visited first: they fix m
                                     // and most of S before the certificate is asked
constexpr double kBoxWindow = 12.0;  // box refinement for bounds within 2^12 of the top
constexpr size_t kBoxMaxBand = 512;  // ... for at most this many blocks per row
constexpr int64_t kBoxTrial = 64;    // ReLU/report: box tries before judging its use

// Box bound of block blk for row r, guarded; never below the true maximum of q·k.
float box_bound(const Context& cx, const Unit& u, int r, const HeadIndex& h, int64_t blk) {
    const float s = cx.kern.box_sum(u.q.data() + r * cx.Dp, cx.Dp, h.lo.data() + blk * cx.Dp,
                                    h.hi.data() + blk * cx.Dp);
    if (!(std::fabs(s) < INFINITY)) return INFINITY;  // overflowed: no bound
    return guard_up(std::fma(u.rows[r].q_norm, h.beta[size_t(blk)], s), cx.dot_abs_err);
}

void mark_visited(Unit& u, const HeadIndex& h, int32_t blk) {
    if (u.visited[size_t(blk)]) return;
    u.visited[size_t(blk)] = 1;
    u.visited_blocks.push_back(blk);
    ++u.n_visited;
    u.visited_keys += block_size(h, blk);
}

// The box bound tightens the blocks whose ball bound is within kBoxWindow (log2 units) of
// the row's top refined bound; the top moves down as blocks are refined, so repeat until the
// window is covered. Blocks further down keep their ball bound (their weight is tiny anyway).
// Returns the top finite bound after refinement (-inf if none).
float refine_top(const Context& cx, const Unit& u, int r, const HeadIndex& h, float* U,
                 std::vector<int32_t>& band) {
    const int64_t nb = h.nb;
    const float w = float(kBoxWindow / cx.log2_scale_d);
    float ball_top = -INFINITY;
    for (int64_t b = 0; b < nb; ++b)
        if (U[b] < INFINITY && U[b] > ball_top) ball_top = U[b];  // NaN, +inf skipped
    if (ball_top == -INFINITY) return ball_top;
    // Candidates: a band of twice the window below the ball top, in one pass.
    band.clear();
    float below = -INFINITY;  // largest ball bound under the band
    const float floor_b = ball_top - 2 * w;
    for (int64_t b = 0; b < nb; ++b) {
        const float x = U[b];
        if (!(x < INFINITY)) continue;
        if (x >= floor_b) band.push_back(int32_t(b));
        else if (x > below) below = x;
    }
    // A flat row (many blocks near the top) gains little from boxes and would pay for all.
    if (band.size() > kBoxMaxBand) {
        float top = -INFINITY;
        for (int32_t b : band) top = std::max(top, U[b]);
        return top;
    }
    float done_above = INFINITY, theta = ball_top - w, top = -INFINITY;
    while (theta < done_above) {
        top = below;
        for (int32_t b : band) {
            const float x = U[b];  // refined bounds stay <= the ball bound: refine once
            if (x >= theta && x < done_above) U[b] = std::min(x, box_bound(cx, u, r, h, b));
            top = std::max(top, U[b]);
        }
        done_above = theta;
        theta = std::min(theta, top - w);
        if (theta < floor_b) {  // the top fell through the band: refine what is left, once
            top = -INFINITY;
            for (int64_t b = 0; b < nb; ++b) {
                const float x = U[b];
                if (!(x < INFINITY) || x == -INFINITY) continue;
                if (x >= theta && x < floor_b) U[b] = std::min(x, box_bound(cx, u, r, h, b));
                top = std::max(top, U[b]);
            }
            break;
        }
    }
    return top;
}

}  // namespace

// ---- ReLU and reporting ----------------------------------------------------------------------
void plan_threshold(const Context& cx, Unit& u, double t) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb, nbp = padded_blocks(h);
    const float tf = round_down_f(t);  // never above the threshold: a block is skipped only if provably below
    std::vector<int32_t> cand;
    std::vector<uint8_t> cand_rows;
    // The box bound is tried on blocks that pass the ball bound; when it rejects almost none
    // of the first ones (isotropic clusters), it is not worth its second pass over the bounds.
    int64_t box_tries = 0, box_rejects = 0;
    for (int64_t blk = 0; blk < nb; ++blk) {
        unsigned rows = 0;
        for (int r = 0; r < u.R; ++r) {
            if (!block_visible(h, int32_t(blk), u.rows[r].key_limit)) continue;
            const float ub = u.bounds[size_t(r * nbp + blk)];
            if (ub < tf) continue;  // NaN falls through: visit
            if (box_tries < kBoxTrial || box_rejects * 16 >= box_tries) {
                ++box_tries;
                if (box_bound(cx, u, r, h, blk) < tf) {
                    ++box_rejects;
                    continue;
                }
            }
            rows |= 1u << r;
        }
        if (rows) {
            cand.push_back(int32_t(blk));
            cand_rows.push_back(uint8_t(rows));
        }
    }
    u.items.clear();
    const Item tail = tail_item(cx, h);
    if (tail.n > 0) u.items.push_back(tail);
    int64_t cand_keys = 0;
    for (int32_t blk : cand) cand_keys += block_size(h, blk);
    if (cx.query.mode == Mode::Relu &&
        (cx.force_scan || double(cand_keys) > cx.dense_share * double(sealed_keys(h)))) {
        // Dense scan in cache order: every key's score, values only where the weight is not 0.
        u.scan = true;
        int64_t seen = 0;  // keys any row of the unit may see (causal)
        for (int r = 0; r < u.R; ++r) seen = std::max(seen, u.rows[r].key_limit);
        const int64_t end = std::min(sealed_keys(h), seen);
        for (int64_t j0 = 0; j0 < end; j0 += cx.block_size)
            u.items.push_back(
                Item{nullptr, j0, int32_t(std::min<int64_t>(cx.block_size, end - j0)), -1, -1});
        u.visited_blocks.clear();
        u.visited_row_masks.clear();
    } else {
        for (size_t c = 0; c < cand.size(); ++c) {
            u.items.push_back(block_item(h, cand[c]));
            u.items.back().rows = cand_rows[c];
        }
        u.visited_blocks = std::move(cand);
        u.visited_row_masks = std::move(cand_rows);
    }
}

// ---- softmax ---------------------------------------------------------------------------------
void plan_softmax_init(const Context& cx, Unit& u) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb, nbp = padded_blocks(h);
    const int R = u.R;
    u.mass.resize(size_t(R * nb));
    u.level_of.resize(size_t(R * nb));
    u.by_level.resize(size_t(R * nb));
    u.level_start.assign(size_t(R * (kNumLevels + 1)), 0);
    u.mass_from.assign(size_t(R * (kNumLevels + 1)), 0.0);
    u.visited.assign(size_t(nb), 0);
    // y = c·(U − top) rounded to float: |error| <= 3·2^-24·64 for y >= -64, far inside the
    // 2^-14 by which e is inflated.
    const float cl = round_down_f(cx.log2_scale_d * (1 - 0x1p-50));
    std::vector<int32_t>& band = u.block_scratch;
    for (int r = 0; r < R; ++r) {
        float* U = u.bounds.data() + r * nbp;
        uint8_t* lv = u.level_of.data() + r * nb;
        float* e = u.mass.data() + r * nb;
        if (cx.query.causal)
            for (int64_t blk = 0; blk < nb; ++blk)
                if (!block_visible(h, int32_t(blk), u.rows[r].key_limit)) U[blk] = -INFINITY;
        float top = refine_top(cx, u, r, h, U, band);
        if (top == -INFINITY) top = 0;  // only "must visit" blocks (or none)
        u.rows[r].top_bound = top;
        cx.kern.bucket_prep(U, nb, top, cl, h.bstart.data(), e, lv);
        int32_t* cnt = u.level_start.data() + r * (kNumLevels + 1);
        double sums[kNumLevels] = {};
        for (int64_t blk = 0; blk < nb; ++blk) {
            const uint8_t l = lv[blk];
            if (l == kExcluded) continue;
            sums[l] += double(e[blk]);
            ++cnt[l + 1];
        }
        for (int l = 0; l < kNumLevels; ++l) cnt[l + 1] += cnt[l];
        int32_t fill[kNumLevels];
        std::copy(cnt, cnt + kNumLevels, fill);
        int32_t* ord = u.by_level.data() + r * nb;
        for (int64_t blk = 0; blk < nb; ++blk)
            if (lv[blk] != kExcluded) ord[fill[lv[blk]]++] = int32_t(blk);
        double* suf = u.mass_from.data() + r * (kNumLevels + 1);
        suf[kNumLevels] = 0;
        for (int l = kNumLevels - 1; l >= 0; --l) suf[l] = suf[l + 1] + sums[l];
    }
    // Even if every block held its bound's full mass (the most the kept mass can ever be), the
    // certificate needs the blocks carrying all but eps of the bound mass. When those are a
    // large part of the cache (flat attention, unstructured keys), go dense right away.
    {
        std::vector<int32_t>& mark = band;
        mark.assign(size_t(nb), 0);
        int64_t need = 0;
        bool finite = true;
        for (int r = 0; r < R && finite; ++r) {
            const double* suf = u.mass_from.data() + r * (kNumLevels + 1);
            if (!std::isfinite(suf[0])) {
                finite = false;
                break;
            }
            const double eps = cx.query.epsilon;
            int L = 0;
            while (L < kNumLevels && suf[L] * (1 - eps) > eps * suf[0] * (1 - 0x1p-20)) ++L;
            const int32_t* cnt = u.level_start.data() + r * (kNumLevels + 1);
            const int32_t* ord = u.by_level.data() + r * nb;
            for (int32_t t = 0; t < cnt[L]; ++t)
                if (!mark[size_t(ord[t])]) {
                    mark[size_t(ord[t])] = 1;
                    need += block_size(h, ord[t]);
                }
        }
        if (finite && double(need) > cx.dense_share * double(sealed_keys(h))) {
            u.dense = true;
            u.active = false;
            u.items.clear();
            return;
        }
    }
    // Round 0: the tail and each row's first few blocks in bound order (the top levels), which
    // fix m and most of S.
    u.items.clear();
    const Item tail = tail_item(cx, h);
    if (tail.n > 0) u.items.push_back(tail);
    std::vector<int32_t> top;
    for (int r = 0; r < R; ++r) {
        const int32_t* cnt = u.level_start.data() + r * (kNumLevels + 1);
        const int32_t* ord = u.by_level.data() + r * nb;
        int taken = 0;
        for (int32_t t = 0; t < cnt[kNumLevels] && taken < kRound0Blocks; ++t)
            if (!u.visited[size_t(ord[t])]) {
                mark_visited(u, h, ord[t]);
                top.push_back(ord[t]);
                ++taken;
            }
    }
    std::sort(top.begin(), top.end());
    for (int32_t blk : top) u.items.push_back(block_item(h, blk));
}

void plan_softmax_next(const Context& cx, Unit& u, std::vector<int32_t>& mark, int32_t& epoch) {
    const HeadIndex& h = cx.head(u);
    const int64_t nb = h.nb;
    u.items.clear();
    int Lstar[kMaxRows];
    bool pending = false;
    ++epoch;
    int64_t predicted = 0;
    for (int r = 0; r < u.R; ++r) {
        UnitRow& row = u.rows[r];
        if (row.certified) continue;
        const int32_t* cnt = u.level_start.data() + r * (kNumLevels + 1);
        const int32_t* ord = u.by_level.data() + r * nb;
        auto level_done = [&](int L) {
            for (int32_t t = cnt[L]; t < cnt[L + 1]; ++t)
                if (!u.visited[size_t(ord[t])]) return false;
            return true;
        };
        while (row.level < kNumLevels && level_done(row.level)) ++row.level;
        const Cert ct = certificate(cx, u, r);
        int L = row.level;
        while (L < kNumLevels && !certified_at(cx, u, r, L, ct, nb)) ++L;
        if (L == row.level) {
            row.certified = true;
            continue;
        }
        Lstar[r] = L;
        pending = true;
        // The fallback decision must not trust the kept mass found so far, which may still be
        // far below the final one: it uses the largest the final mass can be (everything left
        // at its bound), so it falls back only when even that cannot certify a small set.
        Cert opt = ct;
        opt.s_low =
            ct.s_low + std::exp2(ct.a) * u.mass_from[size_t(r * (kNumLevels + 1) + row.level)];
        int Lo = row.level;
        while (Lo < kNumLevels && !certified_at(cx, u, r, Lo, opt, nb)) ++Lo;
        for (int32_t t = cnt[row.level]; t < cnt[Lo]; ++t) {
            const int32_t blk = ord[t];
            if (!u.visited[size_t(blk)] && mark[size_t(blk)] != epoch) {
                mark[size_t(blk)] = epoch;
                predicted += block_size(h, blk);
            }
        }
    }
    if (!pending) {
        u.active = false;
        return;
    }
    if (double(u.visited_keys + predicted) > cx.dense_share * double(sealed_keys(h))) {
        u.dense = true;
        u.active = false;
        return;
    }
    // Grow at most geometrically: S found so far may still be far below the final S.
    const int64_t cap = std::max<int64_t>(16, 2 * u.n_visited);
    std::vector<int32_t> add;
    for (int r = 0; r < u.R; ++r) {
        UnitRow& row = u.rows[r];
        if (row.certified) continue;
        const int32_t* cnt = u.level_start.data() + r * (kNumLevels + 1);
        const int32_t* ord = u.by_level.data() + r * nb;
        int64_t taken = 0;
        int L = row.level;
        while (L < Lstar[r]) {
            int64_t fresh = 0;
            for (int32_t t = cnt[L]; t < cnt[L + 1]; ++t) fresh += !u.visited[size_t(ord[t])];
            if (taken > 0 && taken + fresh > cap) break;
            for (int32_t t = cnt[L]; t < cnt[L + 1]; ++t) {
                const int32_t blk = ord[t];
                if (!u.visited[size_t(blk)]) {
                    mark_visited(u, h, blk);
                    add.push_back(blk);
                }
            }
            taken += fresh;
            ++L;
        }
        row.level = L;
    }
    std::sort(add.begin(), add.end());
    for (int32_t blk : add) u.items.push_back(block_item(h, blk));
    if (u.items.empty()) u.active = false;  // cannot happen: some level had fresh blocks
}

}  // namespace ha::cpu::hsr::detail
