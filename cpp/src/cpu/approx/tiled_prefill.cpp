// The driver of the tiled prefill (tiled_prefill.h): per kv head the layout, each row's
// bucket, probes that choose the configuration and the sampling rate, the rows in chunks,
// and the rows that miss a target (refined, then exact).
#include "tensor_check.h"
#include "cpu/approx/tiled_prefill.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cpu/approx/row_io.h"
#include "cpu/approx/tiled_state.h"
#include "cpu/thread_pool.h"
#include "hyperattn.h"

namespace ha::cpu::approx {

using namespace tiled;

namespace {
// HA_APPROX_TRACE=1: one line per kv head on stderr (the plan the probes chose, and where the
// time went), for tuning; off by default.
bool tracing() {
    static const bool on = [] {
        const char* v = std::getenv("HA_APPROX_TRACE");
        return v && *v && *v != '0';
    }();
    return on;
}
double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

bool tiled_serves(const Problem& p) {
    const ExactProblem& e = p.base;
    const int64_t Nq = e.q.shape[2], Nk = e.k.shape[2];
    return p.heavy_budget == 0 && p.samples > 0 && Nk >= 8192 && Nq >= 1024 &&
           Nk - p.window - p.sinks >= 4096;
}

int32_t run_tiled(const Problem& p) {
    const ExactProblem& e = p.base;
    Ctx c{};
    c.p = &p;
    c.kr = &hsr::active();
    c.Nq = e.q.shape[2];
    c.Nk = e.k.shape[2];
    c.D = e.q.shape[3];
    c.Dp = (c.D + 15) / 16 * 16;
    c.Da = c.D + 1;
    c.G = e.q.shape[1] / e.k.shape[1];
    c.S = std::min<int64_t>(p.sinks, c.Nk);
    c.W = p.window;
    c.es = ha::dtype_size(e.dtype);
    c.f16 = e.dtype == HA_DTYPE_F16;
    c.causal = e.causal;
    const int64_t B = e.q.shape[0], Hkv = e.k.shape[1], Hq = e.q.shape[1];
    const double r0 = std::min(1.0, 2.0 * double(p.samples) / double(c.Nk));

    Head h;
    Results results;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hk = 0; hk < Hkv; ++hk) {
            h.b = b;
            h.hk = hk;
            h.k = rows_of(e.k, e.dtype, b, hk);
            h.v = rows_of(e.v, e.dtype, b, hk);
            h.draw_key = mix(p.seed ^ 0x7a11ull) ^ mix(uint64_t(b) * 0x9e3779b1ull + uint64_t(hk));
            const double t0 = now_ms();
            if (int32_t st = prepare_head(c, h); st != HA_OK) return st;
            if (int32_t st = pack_keys(c, h.K, h.V, h.lp + c.Nk, h.PK); st != HA_OK) return st;
            if (int32_t st = pack_keys(c, h.KB, h.VB, int64_t(h.bpos.size()), h.PKB); st != HA_OK) return st;
            h.rate = r0;
            const double t_prep = now_ms();

            // The rows by position; causal rows before position 0 see no key. (Not causal, a
            // position only places the row's window: clamped to the keys.)
            std::vector<Row> rows;
            rows.reserve(size_t(c.Nq * c.G));
            for (int64_t i = 0; i < c.Nq; ++i) {
                const int64_t pos = c.causal ? i + c.Nk - c.Nq : std::clamp<int64_t>(i + c.Nk - c.Nq, 0, c.Nk - 1);
                for (int32_t g = 0; g < c.G; ++g) {
                    if (pos < 0) {
                        std::vector<float> zero(size_t(c.D), 0.f);
                        store_row(p, b, hk * c.G + g, i, c.D, zero.data(), kNegInf);
                        exact_row_stats(p, (b * Hq + hk * c.G + g) * c.Nq + i, 0);
                        if (p.level) p.level[(b * Hq + hk * c.G + g) * c.Nq + i] = 0;
                        continue;
                    }
                    rows.push_back(Row{pos, g, int32_t(i), 0, false});
                }
            }
            // Each row's bucket (8 rows at a time) and query norm.
            std::vector<float> qnorm(rows.size(), 0.f);
            int32_t st = parallel_for((int64_t(rows.size()) + 255) / 256, pool_threads(), [&](int64_t t, int) {
                std::vector<float> q(size_t(8 * c.Dp), 0.f);
                uint8_t out[8];
                const int64_t a = t * 256, z = std::min<int64_t>(int64_t(rows.size()), a + 256);
                for (int64_t m = a; m < z; m += 8) {
                    const int R = int(std::min<int64_t>(8, z - m));
                    std::fill(q.begin(), q.end(), 0.f);
                    for (int r = 0; r < R; ++r)
                        load_query(p, b, hk * c.G + rows[size_t(m + r)].g, rows[size_t(m + r)].i, c.D, q.data() + r * c.Dp);
                    best_buckets(*c.kr, h.bk, q.data(), R, c.Dp, c.D, e.scale, out);
                    for (int r = 0; r < R; ++r) {
                        rows[size_t(m + r)].bucket = out[r];
                        qnorm[size_t(m + r)] = float(std::sqrt(c.kr->sumsq(q.data() + r * c.Dp, c.Dp)));
                    }
                }
            });
            if (st != HA_OK) return st;
            // A score can only stand out where a norm does: long keys are exact already, long
            // queries (a planted match adds to both) are searched whatever the probes say.
            if (!qnorm.empty()) {
                std::vector<float> sorted(qnorm);
                std::nth_element(sorted.begin(), sorted.begin() + long(sorted.size() / 2), sorted.end());
                const float med = sorted[sorted.size() / 2];
                for (size_t m = 0; m < rows.size(); ++m) rows[m].long_q = qnorm[m] > float(kLongQuery) * med;
            }

            // Mean query of each bucket's rows and of all rows, for the tail's importance
            // weights (a bucket without rows takes the mean of all). Sums per chunk of rows,
            // added in chunk order: the same floats for any thread count.
            {
                const int64_t C = h.bk.C, Dp = c.Dp;
                constexpr int64_t kSumRows = 4096;
                const int64_t chunks = (int64_t(rows.size()) + kSumRows - 1) / kSumRows;
                std::vector<double> part(size_t(chunks * (C + 1) * Dp), 0.0);
                std::vector<int64_t> cnt(size_t(C + 1), 0);
                for (const Row& r : rows) {
                    if (r.bucket < C) ++cnt[size_t(r.bucket)];
                    ++cnt[size_t(C)];
                }
                st = parallel_for(chunks, pool_threads(), [&](int64_t t, int) {
                    std::vector<float> x(static_cast<size_t>(Dp));
                    double* sum = part.data() + t * (C + 1) * Dp;
                    for (int64_t m = t * kSumRows; m < std::min<int64_t>(int64_t(rows.size()), (t + 1) * kSumRows); ++m) {
                        const Row& r = rows[size_t(m)];
                        load_query(p, b, hk * c.G + r.g, r.i, c.D, x.data());
                        const int64_t s = std::min<int64_t>(r.bucket, C);
                        for (int64_t d = 0; d < c.D; ++d) {
                            if (s < C) sum[s * Dp + d] += x[size_t(d)];
                            sum[C * Dp + d] += x[size_t(d)];
                        }
                    }
                });
                if (st != HA_OK) return st;
                std::vector<double> sum(size_t((C + 1) * Dp), 0.0);
                for (int64_t t = 0; t < chunks; ++t)
                    for (size_t i = 0; i < sum.size(); ++i) sum[i] += part[size_t(t) * sum.size() + i];
                h.qcen.assign(size_t((C + 1) * Dp), 0.f);
                for (int64_t s = C; s >= 0; --s)
                    for (int64_t d = 0; d < c.D; ++d)
                        h.qcen[size_t(s * Dp + d)] = cnt[size_t(s)] > 0 ? float(sum[size_t(s * Dp + d)] / double(cnt[size_t(s)]))
                                                                        : h.qcen[size_t(C * Dp + d)];
                if (int32_t s2 = score_keys(c, h); s2 != HA_OK) return s2;
            }

            // Probe rows first, each solved twice: with its bucket and with none (all but the
            // local, sink and long keys sampled). Buckets pay where a row's mass sits in a
            // cluster of contents; where it sits near the row (RoPE heads), they cost keys
            // and buy nothing. The cheaper configuration by the probes serves the head. With
            // a target, the rate follows the 90th percentile of the probes' estimates (the
            // standard error falls as 1/sqrt(rate)); past kMaxRate the head is exact.
            const double t_rows = now_ms();
            bool head_exact = false, buckets = true;
            if (int32_t s2 = draw_tail(c, h, r0, true); s2 != HA_OK) return s2;
            {
                std::vector<Row> cand, probe;
                for (const Row& r : rows)
                    if (sampled(c, h, r.p)) cand.push_back(r);
                const int64_t step = std::max<int64_t>(1, int64_t(cand.size()) / kProbeRows);
                for (size_t t = size_t(step / 2); t < cand.size(); t += size_t(step)) probe.push_back(cand[t]);
                if (!probe.empty()) {
                    double cost[2], rate[2], mean_est[2], seen = 0, search_all[2] = {0, 0}, search_long[2] = {0, 0};
                    int64_t heavy_rows[2] = {0, 0};
                    for (const Row& r : probe) seen += double(visible(c, r.p));
                    seen /= double(probe.size());
                    for (int k = 0; k < 2; ++k) {
                        std::vector<Row> pk(probe);
                        if (k == 1)
                            for (Row& r : pk) r.bucket = uint8_t(h.bk.C);
                        Results pr;
                        if (int32_t s2 = solve(c, h, pk, pr); s2 != HA_OK) return s2;
                        double fixed = 0, drawn = 0, em = 0;
                        int64_t hr = 0;
                        for (size_t m = 0; m < pk.size(); ++m) hr += pr.heavy[m];
                        heavy_rows[k] = hr;
                        // Every probe row was searched; the head's rows will be when the search
                        // turns on (below), else only the long queries.
                        for (size_t m = 0; m < pk.size(); ++m) {
                            search_all[k] += double(pr.search[m]);
                            if (pk[m].long_q) search_long[k] += double(pr.search[m]);
                        }
                        search_all[k] /= double(pk.size());
                        search_long[k] /= double(pk.size());
                        for (size_t m = 0; m < pk.size(); ++m) {
                            fixed += double(pr.touched[m] - pr.drawn[m]);
                            drawn += double(pr.drawn[m]);
                            em += std::isfinite(pr.err[m]) ? double(pr.err[m]) : 1e3;
                        }
                        fixed /= double(pk.size());
                        drawn /= double(pk.size());
                        mean_est[k] = em / double(pk.size());
                        rate[k] = r0;
                        cost[k] = fixed + drawn;
                        if (p.target > 0.0) {
                            // The rate of least expected cost per row, priced as the run below
                            // spends it (estimates fall as 1/sqrt(rate)): every row's parts and
                            // draws; a row that misses is solved again at the refined rate when
                            // that would meet the target (its parts plus the richer draws, and
                            // once per head the new draw), else computed exactly (its visible
                            // keys). Pricing every miss as exact chose rates up to 4x too high
                            // where a few rows' estimates lag (clustered keys).
                            cost[k] = seen;
                            rate[k] = 2.0;
                            const double per_head = double(rows.size());
                            for (double f : {1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0}) {
                                const double r = r0 * f;
                                if (r > kMaxRate) break;
                                const double rr = std::min(kMaxRate, kRefine * r), fr = rr / r0;
                                double miss = 0, missv = 0, exact = 0;  // keys of the rows solved again / exactly
                                for (size_t m = 0; m < pk.size(); ++m) {
                                    const double em = double(pr.err[m]);
                                    if (em / std::sqrt(f) <= p.target) continue;
                                    if (rr > r && em / std::sqrt(fr) <= p.target)
                                        miss += double(pr.touched[m] - pr.drawn[m]) + double(pr.drawn[m]) * fr,
                                        missv += double(visible(c, pk[m].p));
                                    else
                                        exact += double(visible(c, pk[m].p));
                                }
                                // Refining runs only when its rows' visible keys outweigh the
                                // new draw (as below); else they are computed exactly.
                                const double redraw = 6.0 * rr * double(c.Nk) * double(pk.size()) / per_head;
                                if (miss > 0 && missv * per_head / double(pk.size()) <= 6.0 * rr * double(c.Nk))
                                    exact += missv, miss = 0;
                                const double ck = fixed + drawn * f + (miss + exact + (miss > 0 ? redraw : 0)) / double(pk.size());
                                if (ck < cost[k]) {
                                    cost[k] = ck;
                                    rate[k] = r;
                                }
                            }
                        }
                    }
                    // Without a target the fixed budget runs; buckets stay unless dropping them
                    // is cheaper at about the same estimated error.
                    buckets = p.target > 0.0 ? cost[0] <= cost[1]
                                             : !(cost[1] < cost[0] && mean_est[1] <= 1.25 * mean_est[0]);
                    const int k = buckets ? 0 : 1;
                    // The search for heavy keys costs a scan of every row's sketches: it runs
                    // where more than kHeavyRows of the probes had one. Elsewhere a row whose
                    // heavy key was neither in its exact parts nor drawn goes unseen: the probes
                    // bound their share to about that. One unseen key of share s moves its
                    // row by about s in e units, so below a target of kHeavyShare such rows
                    // miss it, and 1% of them would spend all the rows the target may miss
                    // (LLM-like heads at 131k, target 0.01: p99 1.4x the target with the
                    // search off): there the search runs from kHeavyRowsTarget of the probes.
                    const bool tight = p.target > 0.0 && p.target < kHeavyShare;
                    h.search = double(heavy_rows[k]) > (tight ? kHeavyRowsTarget : kHeavyRows) * double(probe.size());
                    // A key of the parts costs about 1.4 keys of one exact call (shorter
                    // ranges, more calls, the merge): past that the head is exact.
                    // The search is priced here, after the choice: where it runs it costs
                    // every configuration about the same (on diffuse heads, where the sketches
                    // admit many candidates, as much as exact attention itself).
                    const double searched = h.search ? search_all[k] : search_long[k];
                    if (tracing())
                        std::fprintf(stderr, "approx tiled plan: cost %.0f + search %.0f (all %.0f) of %.0f visible keys per row, rate %.4g\n",
                                     cost[k], searched, search_all[k], seen, rate[k]);
                    if (rate[k] > kMaxRate || 1.4 * (cost[k] + searched) > seen)
                        head_exact = true;
                    else if (rate[k] > r0)
                        if (int32_t s2 = draw_tail(c, h, rate[k], buckets); s2 != HA_OK) return s2;
                }
            }
            const double t_probe = now_ms();
            if (!buckets)
                for (Row& r : rows) r.bucket = uint8_t(h.bk.C);
            if (head_exact && tracing())
                std::fprintf(stderr, "approx tiled b%lld h%lld: exact (rate %.4g) prep %.0f rows %.0f probes %.0f ms\n",
                             (long long)b, (long long)hk, h.rate, t_prep - t0, t_rows - t_prep, t_probe - t_rows);
            if (head_exact) {
                if (int32_t s2 = exact_span(p, b, hk, 0, c.Nq - 1); s2 != HA_OK) return s2;
                continue;
            }

            std::vector<Row> miss;
            BigVec<float> miss_O, miss_lse;  // their exact parts, for the second solve
            BigVec<int64_t> miss_touched;
            Results& r = results;
            for (size_t a = 0; a < rows.size(); a += size_t(kRowChunk)) {
                std::vector<Row> part(rows.begin() + long(a), rows.begin() + long(std::min(rows.size(), a + size_t(kRowChunk))));
                if (int32_t s2 = solve(c, h, part, r); s2 != HA_OK) return s2;
                // Rows whose estimate misses the target are computed exactly below (and
                // written twice: the exact rows are few, filtering the others costs a copy).
                if (p.target > 0.0)
                    for (size_t m = 0; m < part.size(); ++m)
                        if (!(double(r.err[m]) <= p.target)) {
                            miss.push_back(part[m]);
                            const auto o = r.part_O.begin() + long(m * size_t(c.Da));
                            miss_O.insert(miss_O.end(), o, o + c.Da);
                            miss_lse.push_back(r.part_lse[m]);
                            miss_touched.push_back(r.part_touched[m]);
                        }
                write_rows(c, h, part, r, 0);
            }
            // Rows that missed: their tail drawn again at kRefine times the rate (their standard
            // error halves) when that stays within kMaxRate, beside the exact parts they have;
            // what still misses is computed exactly.
            // Refining costs a new draw at the higher rate (each set's draws copied and packed
            // once): worth it only when the missed rows' keys outweigh that.
            const double t_solve = now_ms();
            const size_t missed = miss.size();
            double miss_keys = 0;
            for (const Row& r : miss) miss_keys += double(visible(c, r.p));
            const double refine_keys = 6.0 * std::min(kMaxRate, kRefine * h.rate) * double(c.Nk);
            double t_draw2 = 0, t_refine = 0;
            size_t refined = 0;
            if (!miss.empty() && h.rate < kMaxRate && miss_keys > refine_keys) {
                const double t1 = now_ms();
                refined = miss.size();
                // Only what the missed rows see: each set up to the last cut among its rows
                // (they are mostly early rows, whose few draws left their estimates high).
                std::vector<int64_t> upto(size_t(h.bk.C + 1), -1);
                for (const Row& r : miss) {
                    int64_t& u = upto[size_t(std::min<int64_t>(r.bucket, h.bk.C))];
                    u = std::max(u, c.causal ? r.p - c.W : c.Nk - 1);
                }
                if (int32_t s2 = draw_tail(c, h, std::min(kMaxRate, kRefine * h.rate), buckets, &upto); s2 != HA_OK)
                    return s2;
                t_draw2 = now_ms() - t1;
                std::vector<Row> again;
                for (size_t a = 0; a < miss.size(); a += size_t(kRowChunk)) {
                    const size_t z = std::min(miss.size(), a + size_t(kRowChunk));
                    std::vector<Row> part(miss.begin() + long(a), miss.begin() + long(z));
                    const Parts pre{miss_O.data() + a * size_t(c.Da), miss_lse.data() + a, miss_touched.data() + a};
                    Results r;
                    if (int32_t s2 = solve(c, h, part, r, &pre); s2 != HA_OK) return s2;
                    std::vector<Row> ok;
                    Results keep;
                    for (size_t m = 0; m < part.size(); ++m) {
                        if (!(double(r.err[m]) <= p.target)) {
                            again.push_back(part[m]);
                            continue;
                        }
                        ok.push_back(part[m]);
                        keep.O.insert(keep.O.end(), r.O.begin() + long(m * size_t(c.Da)), r.O.begin() + long((m + 1) * size_t(c.Da)));
                        keep.lse.push_back(r.lse[m]);
                        keep.err.push_back(r.err[m]);
                        keep.touched.push_back(r.touched[m]);
                        keep.tail.push_back(r.tail[m]);
                    }
                    write_rows(c, h, ok, keep, 1);
                }
                miss.swap(again);
                t_refine = now_ms() - t1;
            }
            for (size_t a = 0; a < miss.size(); a += size_t(kRowChunk)) {
                std::vector<Row> part(miss.begin() + long(a), miss.begin() + long(std::min(miss.size(), a + size_t(kRowChunk))));
                if (int32_t s2 = exact_list(c, h, part); s2 != HA_OK) return s2;
            }
            if (tracing())
                std::fprintf(stderr,
                             "approx tiled b%lld h%lld: %s rate %.4g search %d buckets C=%d | prep %.0f rows %.0f "
                             "probes %.0f solve %.0f refine %.0f (draw %.0f) + exact %.0f ms | missed %zu, refined %zu, exact %zu of %zu rows"
                             " | keys: long %zu, buckets %zu, draws %zu of %lld\n",
                             (long long)b, (long long)hk, buckets ? "buckets" : "no-buckets", h.rate, int(h.search),
                             h.bk.C, t_prep - t0, t_rows - t_prep, t_probe - t_rows,
                             t_solve - t_probe, t_refine, t_draw2, now_ms() - t_solve - t_refine, missed, refined, miss.size(), rows.size(),
                             h.lpos.size(), h.bpos.size(), h.tpos.size(), (long long)c.Nk);
        }
    return HA_OK;
}

}  // namespace ha::cpu::approx
