// Error metrics of approximate attention (issue 10), header-only, shared by the native tests and
// approx_bench. Everything is measured against a float64 reference of chosen rows (exact softmax
// attention, causal bottom-right aligned, GQA), because the full reference costs O(Nq Nk D) in
// double: evaluate a random subset of rows (sample_rows) for large N.
//
// The error unit is the library's (ha_approx_stats): for row i with probabilities p_ij,
//   e_i = ||o^_i - o_i||_2 / sqrt(sum_j p_ij ||v_j||_2^2),
// the error relative to the attention-weighted RMS norm of the values, so that e_i is about 1
// for an output that is off by a typical value row and does not blow up when o_i itself is
// small (diffuse rows, whose exact output is a near-cancelling average). Also reported:
//   Frobenius relative error  sqrt(sum_i ||o^_i - o_i||^2) / sqrt(sum_i ||o_i||^2) over the rows;
//   the trivial estimator     every row = the mean of the value rows it may see (what a method
//                             that knows nothing about the scores would output), in e_i units.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "families.h"

namespace hametrics {

struct RowRef {
    int64_t row = 0;              // flat [b][h][i] index
    int64_t visible = 0;          // keys the row may see
    double lse = -std::numeric_limits<double>::infinity();
    double wv2 = 0;               // sum_j p_ij ||v_j||^2
    std::vector<double> o;        // exact output, D values (0 when nothing is visible)
    std::vector<double> trivial;  // mean of the visible value rows
    // Mass shares (sum 1 when something is visible): the first `sinks` keys; the local band (the
    // `local` keys at and behind the row's position when causal, |j - p| <= local/2 otherwise,
    // sinks excluded); everything else (the far tail).
    double share_sinks = 0, share_local = 0, share_far = 0;
    double share_needle = 0;  // mass of the key the family planted for this row (0 if none)
};

// Visible key range [0, hi) of query row i: bottom-right aligned causal mask.
inline int64_t visible_keys(int64_t i, int64_t Nq, int64_t Nk, bool causal) {
    if (!causal) return Nk;
    return std::max<int64_t>(0, std::min<int64_t>(Nk, i + Nk - Nq + 1));
}

// Float64 reference of the given flat rows ([b][h][i], b*Hq*Nq + h*Nq + i) of `in`, with `scale`
// (0: 1/sqrt(D)). Reads the float vectors as they are: round them to bf16 first
// (hafam::round_inputs_to_bf16) to judge a bf16 call against its stored inputs. threads >= 1.
inline std::vector<RowRef> reference_rows(const hafam::Inputs& in, const std::vector<int64_t>& rows,
                                          bool causal, double scale = 0, int threads = 1,
                                          int64_t sinks = 4, int64_t local = 256) {
    const hafam::Shape& s = in.s;
    const int64_t D = s.D, G = s.Hq / s.Hkv;
    if (scale == 0) scale = 1.0 / std::sqrt(double(D));
    std::vector<RowRef> res(rows.size());
    auto work = [&](size_t r0, size_t r1) {
        std::vector<double> sc(static_cast<size_t>(s.Nk)), q(static_cast<size_t>(D));
        for (size_t r = r0; r < r1; ++r) {
            const int64_t row = rows[r];
            const int64_t i = row % s.Nq, h = (row / s.Nq) % s.Hq, b = row / (s.Nq * s.Hq);
            const int64_t hk = h / G, hi = visible_keys(i, s.Nq, s.Nk, causal);
            const int64_t p = i + s.Nk - s.Nq;
            RowRef& o = res[r];
            o.row = row;
            o.visible = hi;
            o.o.assign(size_t(D), 0.0);
            o.trivial.assign(size_t(D), 0.0);
            if (hi == 0) continue;
            const float* qr = in.qrow(b, h, i);
            for (int64_t d = 0; d < D; ++d) q[size_t(d)] = double(qr[d]);
            double m = -std::numeric_limits<double>::infinity();
            for (int64_t j = 0; j < hi; ++j) {
                const float* kr = in.krow(b, hk, j);
                double acc = 0;
                for (int64_t d = 0; d < D; ++d) acc += q[size_t(d)] * double(kr[d]);
                sc[size_t(j)] = acc * scale;
                m = std::max(m, sc[size_t(j)]);
            }
            double sum = 0, sum_s = 0, sum_l = 0, wv2 = 0;
            for (int64_t j = 0; j < hi; ++j) {
                const double w = std::exp(sc[size_t(j)] - m);
                sum += w;
                const bool is_sink = j < sinks;
                const bool is_local = !is_sink && (causal ? (j > p - local && j <= p)
                                                          : (std::llabs(j - p) <= local / 2));
                if (is_sink) sum_s += w;
                else if (is_local) sum_l += w;
                const float* vr = in.vrow(b, hk, j);
                double n2 = 0;
                for (int64_t d = 0; d < D; ++d) {
                    const double x = double(vr[d]);
                    o.o[size_t(d)] += w * x;
                    o.trivial[size_t(d)] += x;
                    n2 += x * x;
                }
                wv2 += w * n2;
            }
            for (int64_t d = 0; d < D; ++d) {
                o.o[size_t(d)] /= sum;
                o.trivial[size_t(d)] /= double(hi);
            }
            o.wv2 = wv2 / sum;
            o.lse = m + std::log(sum);
            o.share_sinks = sum_s / sum;
            o.share_local = sum_l / sum;
            o.share_far = std::max(0.0, 1.0 - o.share_sinks - o.share_local);
            const int64_t nk = row < int64_t(in.needle_key.size()) ? in.needle_key[size_t(row)] : -1;
            if (nk >= 0 && nk < hi) o.share_needle = std::exp(sc[size_t(nk)] - m) / sum;
        }
    };
    threads = std::max(1, threads);
    if (threads == 1 || rows.size() < 2) {
        work(0, rows.size());
    } else {
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back(work, rows.size() * size_t(t) / size_t(threads),
                            rows.size() * size_t(t + 1) / size_t(threads));
        for (auto& t : ts) t.join();
    }
    return res;
}

// e_i of an output row (D floats) against its reference. A row that sees no key must be 0:
// its error is 0 then and +inf otherwise.
inline double row_error(const float* ohat, const RowRef& ref) {
    double e2 = 0;
    for (size_t d = 0; d < ref.o.size(); ++d) {
        const double x = double(ohat[d]) - ref.o[d];
        e2 += x * x;
    }
    if (std::isnan(e2)) return std::numeric_limits<double>::infinity();
    if (ref.wv2 <= 0) return e2 == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(e2 / ref.wv2);
}

// e_i of the trivial estimator (mean of the visible values) on the row.
inline double trivial_error(const RowRef& ref) {
    std::vector<float> t(ref.trivial.size());
    for (size_t d = 0; d < t.size(); ++d) t[d] = float(ref.trivial[d]);
    return row_error(t.data(), ref);
}

inline double quantile(std::vector<double> x, double q) {
    if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(x.begin(), x.end());
    const double pos = q * double(x.size() - 1);
    const size_t lo = size_t(std::floor(pos)), hi = std::min(x.size() - 1, lo + 1);
    return x[lo] + (x[hi] - x[lo]) * (pos - double(lo));
}

// Errors of a set of output rows. outputs[r] points at D floats of row rows[r].
struct ErrorSummary {
    int64_t rows = 0;
    double frobenius = 0;     // sqrt(sum ||o^ - o||^2) / sqrt(sum ||o||^2)
    double mean = 0, median = 0, p99 = 0, max = 0;  // of e_i
    double trivial_mean = 0;  // mean e_i of the trivial estimator
    std::vector<double> e;    // e_i per row, in the order given
};

inline ErrorSummary summarize(const std::vector<const float*>& outputs,
                              const std::vector<RowRef>& refs) {
    ErrorSummary s;
    s.rows = int64_t(refs.size());
    double num = 0, den = 0, triv = 0;
    for (size_t r = 0; r < refs.size(); ++r) {
        const RowRef& ref = refs[r];
        for (size_t d = 0; d < ref.o.size(); ++d) {
            const double x = double(outputs[r][d]) - ref.o[d];
            num += x * x;
            den += ref.o[d] * ref.o[d];
        }
        s.e.push_back(row_error(outputs[r], ref));
        triv += trivial_error(ref);
    }
    s.frobenius = den > 0 ? std::sqrt(num / den) : (num == 0 ? 0 : std::numeric_limits<double>::infinity());
    if (!refs.empty()) {
        double sum = 0;
        for (double x : s.e) sum += x;
        s.mean = sum / double(refs.size());
        s.median = quantile(s.e, 0.5);
        s.p99 = quantile(s.e, 0.99);
        s.max = *std::max_element(s.e.begin(), s.e.end());
        s.trivial_mean = triv / double(refs.size());
    }
    return s;
}

// A sorted random subset of n distinct rows out of total (all of them when n >= total).
inline std::vector<int64_t> sample_rows(int64_t total, int64_t n, uint64_t seed) {
    std::vector<int64_t> r;
    if (n >= total) {
        for (int64_t i = 0; i < total; ++i) r.push_back(i);
        return r;
    }
    hafam::Rng g(seed ^ 0x5eed5eedull);
    std::vector<char> taken(size_t(total), 0);
    while (int64_t(r.size()) < n) {
        const int64_t x = g.below(total);
        if (!taken[size_t(x)]) {
            taken[size_t(x)] = 1;
            r.push_back(x);
        }
    }
    std::sort(r.begin(), r.end());
    return r;
}

}  // namespace hametrics
