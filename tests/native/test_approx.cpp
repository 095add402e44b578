// Error-controlled approximate attention (ha_attention_approx, issue 10), against float64
// references of the four input families of tests/common/families.h:
//   - the exact parts are exact (window or sinks covering every key);
//   - the per-row error estimate is honest (true e_i > 2 x estimate on at most 5% of the rows of
//     each family; median estimate <= 4 x median true error where the error is above rounding);
//   - an error target is met (true e_i <= target on >= 99% of rows; every estimate <= target);
//   - results are bit-identical for 1 and 2 threads and across calls; other seeds differ;
//   - decoding over a growing cache with ha_key_index_append;
//   - bad parameters and overlapping stats arrays are rejected, naming the field.
// Errors are in the library's unit e_i = ||o^_i - o_i|| / sqrt(sum_j p_ij ||v_j||^2)
// (tests/common/approx_metrics.h). bf16 calls are judged against a reference on the
// bf16-rounded inputs; rows whose true error is at the rounding floor (1e-5 f32, 1e-2 bf16: the
// output's own bf16 rounding is not part of the estimate) are not held against an estimate.
// Sizes are kept small (N of 2k-4k, a few heads) so that the whole file runs in seconds.
#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdlib>
#include <limits>

#include "approx_metrics.h"
#include "cases.h"
#include "families.h"

using namespace hat;

namespace {

// fp16's floor: its output rounding is 2^-3 of bf16's (11-bit against 8-bit significands).
constexpr double kFloorF32 = 1e-5, kFloorBf16 = 1e-2, kFloorF16 = 1e-2 / 8;
double floor_of(int32_t dt) {
    return dt == HA_DTYPE_F32 ? kFloorF32 : dt == HA_DTYPE_BF16 ? kFloorBf16 : kFloorF16;
}
const char* dt_name(int32_t dt) { return dtype_str(dt); }
// The output's own rounding on top of a target (in e units): bf16 ~2^-9 (4e-3 with margin),
// fp16 an eighth of that.
double out_rounding(int32_t dt) { return dt == HA_DTYPE_BF16 ? 4e-3 : dt == HA_DTYPE_F16 ? 4e-3 / 8 : 0; }
// What an fp16 call stores, so that the float64 reference sees exactly those values.
void round_inputs_to_f16(hafam::Inputs& in) {
    for (std::vector<float>* x : {&in.q, &in.k, &in.v})
        for (float& f : *x) f = f16_to_f32(f32_to_f16(f));
}

HostTensor to_tensor(const std::vector<float>& src, int32_t dt, int64_t B, int64_t H, int64_t N,
                     int64_t D, int layout) {
    HostTensor t = make_tensor(dt, B, H, N, D, layout);
    t.poison();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t s = 0; s < N; ++s)
                for (int64_t d = 0; d < D; ++d)
                    t.set(b, h, s, d, src[size_t(((b * H + h) * N + s) * D + d)]);
    return t;
}

// One problem: the family's float data (rounded to bf16 when dt is bf16) and tensors holding it.
struct Case {
    hafam::Inputs in;
    int32_t dt = HA_DTYPE_F32;
    int layout = BHSD;
    HostTensor q, k, v;
    std::string label;
};

Case make_case(int family, int32_t dt, const hafam::Shape& s, int layout, uint64_t seed) {
    Case c;
    c.in = hafam::make_inputs(family, s, seed);
    if (dt == HA_DTYPE_BF16) hafam::round_inputs_to_bf16(c.in);
    if (dt == HA_DTYPE_F16) round_inputs_to_f16(c.in);
    c.dt = dt;
    c.layout = layout;
    c.q = to_tensor(c.in.q, dt, s.B, s.Hq, s.Nq, s.D, layout);
    c.k = to_tensor(c.in.k, dt, s.B, s.Hkv, s.Nk, s.D, layout);
    c.v = to_tensor(c.in.v, dt, s.B, s.Hkv, s.Nk, s.D, layout);
    c.label = format("%s %s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s %s",
                     hafam::family_name(family), dt_name(dt), (long long)s.B, (long long)s.Hq,
                     (long long)s.Hkv, (long long)s.Nq, (long long)s.Nk, (long long)s.D,
                     s.causal ? "causal" : "full", layout_name(layout));
    return c;
}

// The outputs of one call: out and lse poisoned before it, stats filled with sentinels.
struct Result {
    int32_t status = -1;
    HostTensor out, lse;
    std::vector<float> row_error, tail_bound;
    std::vector<int64_t> touched;
    std::vector<int32_t> level;
    int64_t B = 0, H = 0, N = 0, D = 0;
    std::vector<float> row(int64_t r) const {  // flat [b][h][i]
        const int64_t i = r % N, h = (r / N) % H, b = r / (N * H);
        std::vector<float> x(static_cast<size_t>(D));
        for (int64_t d = 0; d < D; ++d) x[size_t(d)] = out.get(b, h, i, d);
        return x;
    }
};

Result run_approx(HostTensor& q, HostTensor& k, HostTensor& v, const ha_approx_params& p,
                  int layout, const ha_key_index* index = nullptr, bool with_lse = true,
                  bool with_stats = true) {
    Result r;
    r.B = q.shape[0];
    r.H = q.shape[1];
    r.N = q.shape[2];
    r.D = q.shape[3];
    r.out = make_tensor(q.dtype, r.B, r.H, r.N, r.D, layout);
    r.out.poison();
    r.lse = make_lse(r.B, r.H, r.N, layout == PADDED);
    r.lse.poison();
    const size_t rows = size_t(r.B * r.H * r.N);
    r.row_error.assign(rows, std::numeric_limits<float>::quiet_NaN());
    r.tail_bound.assign(rows, std::numeric_limits<float>::quiet_NaN());
    r.touched.assign(rows, -1);
    r.level.assign(rows, -1);
    ha_approx_stats st{r.row_error.data(), r.tail_bound.data(), r.touched.data(), r.level.data()};
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = r.out.desc(), tl = r.lse.desc();
    r.status = ha_attention_approx(&tq, &tk, &tv, &to, with_lse ? &tl : nullptr, index, &p,
                                   with_stats ? &st : nullptr);
    return r;
}

ha_approx_params params(bool causal, uint64_t seed = 7, double target = 0) {
    ha_approx_params p;
    ha_approx_params_init(&p);
    p.causal = causal ? 1 : 0;
    p.seed = seed;
    p.target_error = target;
    return p;
}

// Pooled per-row judgements of one family.
struct Pool {
    std::vector<double> est, err;  // per evaluated row
    std::vector<double> floor;     // the row's rounding floor
    std::vector<int32_t> level;
    std::vector<std::string> where;  // config, row, keys touched, planted key: for messages
};

// Evaluates `rows` of a finished call against the float64 reference; adds to the pool.
// Returns false (and fails the case) if the call did not succeed.
bool evaluate(const Case& c, const Result& r, const std::vector<int64_t>& rows, Pool* pool) {
    CHECK(r.status == HA_OK, "ha_attention_approx: status %d: %s", r.status, ha_last_error());
    if (r.status != HA_OK) return false;
    const auto refs = hametrics::reference_rows(c.in, rows, c.in.s.causal, 0, 2);
    int bad = 0;
    for (size_t n = 0; n < rows.size(); ++n) {
        const int64_t row = rows[n];
        const std::vector<float> o = r.row(row);
        const double e = hametrics::row_error(o.data(), refs[n]);
        const double est = r.row_error[size_t(row)];
        if (!(std::isfinite(e) && std::isfinite(est) && est >= 0) && bad++ < 3)
            CHECK(false, "row %lld: true error %g, estimate %g (both must be finite, estimate >= 0)",
                  (long long)row, e, est);
        const int32_t lv = r.level[size_t(row)];
        if (!(lv >= 0 && lv <= 2) && bad++ < 3) CHECK(false, "row %lld: level %d", (long long)row, lv);
        const int64_t t = r.touched[size_t(row)];
        if (!(t >= 0 && t <= c.in.s.Nk) && bad++ < 3)
            CHECK(false, "row %lld: keys_touched %lld outside 0..%lld", (long long)row, (long long)t,
                  (long long)c.in.s.Nk);
        const float tb = r.tail_bound[size_t(row)];
        if (!(tb >= 0 && tb <= 1) && bad++ < 3)
            CHECK(false, "row %lld: tail_mass_bound %g outside [0, 1]", (long long)row, double(tb));
        if (pool) {
            pool->est.push_back(est);
            pool->err.push_back(e);
            pool->floor.push_back(floor_of(c.dt));
            pool->level.push_back(lv);
            const int64_t nk = size_t(row) < c.in.needle_key.size() ? c.in.needle_key[size_t(row)] : -1;
            pool->where.push_back(format("[%s] row %lld (level %d, %lld keys touched of %lld visible%s)",
                                         c.label.c_str(), (long long)row, lv, (long long)t,
                                         (long long)refs[n].visible,
                                         nk >= 0 ? format(", planted key %lld holds %.0f%% of the mass",
                                                          (long long)nk, 100 * refs[n].share_needle).c_str()
                                                 : ""));
        }
    }
    CHECK(gaps_untouched(r.out), "bytes outside the output view were written");
    return true;
}

// The (up to) three rows of the pool with the largest true error among those flagged.
std::string worst_rows(const Pool& pool, const std::vector<size_t>& flagged) {
    std::vector<size_t> f = flagged;
    std::sort(f.begin(), f.end(), [&](size_t a, size_t b) { return pool.err[a] > pool.err[b]; });
    std::string s;
    for (size_t n = 0; n < f.size() && n < 3; ++n)
        s += format("\n       true %.3g, estimate %.3g: %s", pool.err[f[n]], pool.est[f[n]], pool.where[f[n]].c_str());
    return s;
}

// The configurations every family runs through (sizes N ~ 2k-12k, GQA, odd sizes, Nq != Nk,
// f32, bf16 and f16, causal and not, bhsd / bshd / padded layouts).
struct Config {
    int32_t dt;
    bool causal;
    int64_t B, Hq, Hkv, Nq, Nk, D;
    int layout;
};
const Config kConfigs[] = {
    {HA_DTYPE_F32, true, 1, 4, 2, 3001, 3001, 64, BHSD},    // prefill, odd N
    {HA_DTYPE_F32, false, 1, 4, 1, 517, 4099, 128, BSHD},   // Nq < Nk, MQA, D = 128
    {HA_DTYPE_BF16, true, 2, 2, 2, 700, 2900, 128, PADDED},  // chunked prefill over a cache
    {HA_DTYPE_BF16, false, 1, 4, 2, 2048, 2048, 64, BSHD},
    // long enough for the tiled prefill path (Nk >= 8192): odd N, GQA; not causal, a chunk of
    // queries over a longer cache in bf16, and more queries than keys (rows past the keys'
    // end keep the last position's window)
    {HA_DTYPE_F32, true, 1, 4, 2, 9001, 9001, 64, BHSD},
    {HA_DTYPE_BF16, false, 1, 2, 1, 4100, 12289, 128, BSHD},
    {HA_DTYPE_F32, false, 1, 2, 1, 9500, 8193, 64, PADDED},
    // fp16: a chunk of queries over a cache long enough for the tiled prefill, odd sizes
    {HA_DTYPE_F16, true, 1, 4, 2, 1500, 8501, 64, PADDED},
};

hafam::Shape shape_of(const Config& g) {
    hafam::Shape s;
    s.B = g.B;
    s.Hq = g.Hq;
    s.Hkv = g.Hkv;
    s.Nq = g.Nq;
    s.Nk = g.Nk;
    s.D = g.D;
    s.causal = g.causal;
    return s;
}

}  // namespace

// ---- exact parts ----------------------------------------------------------------------------------
TEST(approx_is_exact_when_window_or_sinks_cover_every_key) {
    struct Small {
        int64_t B, Hq, Hkv, Nq, Nk, D;
    };
    const Small sizes[] = {{1, 4, 2, 133, 517, 64}, {2, 2, 1, 300, 300, 128}, {1, 3, 3, 70, 50, 64}};
    int n = 0;
    for (int fam = 0; fam < hafam::NUM_FAMILIES; ++fam)
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
            for (bool causal : {false, true})
                for (int mode = 0; mode < 2; ++mode) {  // 0: window covers all, 1: sinks do
                    const Small& z = sizes[n % 3];
                    const int layout = n % 3 == 0 ? BHSD : n % 3 == 1 ? BSHD : PADDED;
                    ++n;
                    hafam::Shape s;
                    s.B = z.B; s.Hq = z.Hq; s.Hkv = z.Hkv; s.Nq = z.Nq; s.Nk = z.Nk; s.D = z.D;
                    s.causal = causal;
                    Case c = make_case(fam, dt, s, layout, 100 + uint64_t(n));
                    begin_case(format("exact parts (%s) %s", mode == 0 ? "window covers every key" : "sinks >= Nk",
                                      c.label.c_str()));
                    ha_approx_params p = params(causal, 3);
                    if (mode == 0) {
                        // non-causal rows see |j - p| <= window/2 with p = i + Nk - Nq, which
                        // is negative for the first rows when Nq > Nk
                        p.window = int32_t(2 * (s.Nk + s.Nq) + 2);
                    } else {
                        p.sinks = int32_t(s.Nk + (n % 2));
                        p.window = 0;
                    }
                    Result r = run_approx(c.q, c.k, c.v, p, layout);
                    CHECK(r.status == HA_OK, "status %d: %s", r.status, ha_last_error());
                    if (r.status == HA_OK) {
                        const RefResult ref = reference_attention(c.q, c.k, c.v, 1.0 / std::sqrt(double(s.D)), causal);
                        compare_output(r.out, ref, out_tolerance(dt, max_abs(c.v)), &r.lse, lse_tolerance(dt));
                        int bad = 0;
                        for (int64_t row = 0; row < s.B * s.Hq * s.Nq; ++row) {
                            const int64_t i = row % s.Nq;
                            const int64_t vis = hametrics::visible_keys(i, s.Nq, s.Nk, causal);
                            const bool ok = r.row_error[size_t(row)] == 0.f && r.level[size_t(row)] == 0 &&
                                            r.tail_bound[size_t(row)] == 0.f &&
                                            r.touched[size_t(row)] >= vis && r.touched[size_t(row)] <= s.Nk;
                            if (!ok && bad++ < 3)
                                CHECK(false, "row %lld (sees %lld keys): row_error %g, level %d, tail_mass_bound %g, "
                                      "keys_touched %lld; expected 0, 0, 0, >= %lld",
                                      (long long)row, (long long)vis, double(r.row_error[size_t(row)]),
                                      r.level[size_t(row)], double(r.tail_bound[size_t(row)]),
                                      (long long)r.touched[size_t(row)], (long long)vis);
                        }
                    }
                    end_case();
                }
}

// The same on every ISA path, at sizes a run under qemu-user can afford: the exact parts
// (window, sinks) go through each path's scoring and tile kernels.
TEST(approx_small_exact_parts_on_every_isa) {
    int n = 0;
    for (int32_t isa : supported_isas()) {
        CHECK(ha_set_cpu_isa(isa) == HA_OK, "set isa %d", isa);
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
            for (int mode = 0; mode < 2; ++mode) {  // 0: window covers all, 1: sinks do
                hafam::Shape s;
                s.B = 1; s.Hq = 4; s.Hkv = 2; s.Nq = 70; s.Nk = 150; s.D = 64;
                s.causal = mode == 0;
                const int layout = n % 2 == 0 ? BHSD : BSHD;
                ++n;
                Case c = make_case(hafam::CLUSTERED, dt, s, layout, 300 + uint64_t(n));
                begin_case(format("[%s] exact parts (%s) %s", isa_name(isa),
                                  mode == 0 ? "window covers every key" : "sinks >= Nk", c.label.c_str()));
                ha_approx_params p = params(s.causal, 7);
                if (mode == 0) {
                    p.window = int32_t(2 * (s.Nk + s.Nq) + 2);
                } else {
                    p.sinks = int32_t(s.Nk);
                    p.window = 0;
                }
                Result r = run_approx(c.q, c.k, c.v, p, layout);
                CHECK(r.status == HA_OK, "status %d: %s", r.status, ha_last_error());
                if (r.status == HA_OK) {
                    const RefResult ref = reference_attention(c.q, c.k, c.v, 1.0 / std::sqrt(double(s.D)), s.causal);
                    compare_output(r.out, ref, out_tolerance(dt, max_abs(c.v)), &r.lse, lse_tolerance(dt));
                    for (int64_t row = 0; row < s.B * s.Hq * s.Nq; ++row)
                        if (r.row_error[size_t(row)] != 0.f || r.level[size_t(row)] != 0) {
                            CHECK(false, "row %lld: row_error %g, level %d; expected 0, 0", (long long)row,
                                  double(r.row_error[size_t(row)]), r.level[size_t(row)]);
                            break;
                        }
                }
                end_case();
            }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// ---- honest estimates ---------------------------------------------------------------------------
// The honesty criterion over a pool: true e_i > 2 x estimate on at most 5% of rows, and the
// median estimate at most 4 x the median true error over the rows above the rounding floor.
void check_honest(const Pool& pool, const std::string& label) {
    CHECK(!pool.err.empty(), "no row was evaluated (calls failed)");
    if (pool.err.empty()) return;
    size_t under = 0;
    std::vector<double> est_above, err_above;
    std::vector<size_t> flagged;
    double worst_ratio = 0;
    for (size_t n = 0; n < pool.err.size(); ++n) {
        const double e = pool.err[n], est = pool.est[n], fl = pool.floor[n];
        if (e > std::max(2 * est, fl)) {
            ++under;
            flagged.push_back(n);
        }
        if (e > fl) {
            est_above.push_back(est);
            err_above.push_back(e);
            worst_ratio = std::max(worst_ratio, e / std::max(est, 1e-30));
        }
    }
    const double share = double(under) / double(pool.err.size());
    CHECK(share <= 0.05, "%zu of %zu rows (%.1f%%) have a true error above 2 x the estimate "
          "(worst true/estimate %.3g); largest errors:%s", under, pool.err.size(), 100 * share, worst_ratio,
          worst_rows(pool, flagged).c_str());
    if (est_above.size() >= 20) {
        const double me = hametrics::quantile(est_above, 0.5), mt = hametrics::quantile(err_above, 0.5);
        CHECK(me <= 4 * mt, "median estimate %.3g > 4 x median true error %.3g over the %zu rows "
              "above the rounding floor", me, mt, est_above.size());
        std::printf("     %s: %zu rows, %zu above rounding; median true %.3g, median estimate %.3g, "
                    "under-estimated x2: %.1f%%\n", label.c_str(), pool.err.size(),
                    est_above.size(), mt, me, 100 * share);
    } else {
        std::printf("     %s: only %zu of %zu rows above the rounding floor; median check not applied\n",
                    label.c_str(), est_above.size(), pool.err.size());
    }
}

// Under the sanitizers (CI sets HA_TEST_SANITIZED) the statistics tests below run the paths,
// not the whole sample: the memory checks need the paths, the statistics are checked in the
// normal build of the same CI run.
bool sanitized_run() { return std::getenv("HA_TEST_SANITIZED") != nullptr; }

TEST(approx_error_estimate_is_honest) {
    // Sanitized: the row-group configurations only; the tiled prefill's fixed budget is the
    // first pass of every call in approx_meets_the_error_target, which runs them all.
    const size_t configs = sanitized_run() ? 4 : std::size(kConfigs);
    for (int fam = 0; fam < hafam::NUM_FAMILIES; ++fam) {
        Pool pool;
        int ci = 0;
        for (const Config& g : kConfigs) {
            if (size_t(ci) >= configs) break;
            Case c = make_case(fam, g.dt, shape_of(g), g.layout, 1000 + uint64_t(fam * 10 + ci));
            begin_case(format("estimate (fixed budget) %s", c.label.c_str()));
            Result r = run_approx(c.q, c.k, c.v, params(g.causal, 11 + uint64_t(ci)), g.layout);
            const auto rows = hametrics::sample_rows(g.B * g.Hq * g.Nq, 160, 77 + uint64_t(ci));
            evaluate(c, r, rows, &pool);
            end_case();
            ++ci;
        }
        begin_case(format("estimate is honest on %s: true e_i > 2 x estimate on <= 5%% of rows, "
                          "median estimate <= 4 x median true error",
                          hafam::family_name(fam)));
        check_honest(pool, hafam::family_name(fam));
        end_case();
    }
}

// Every ISA path (the sketch scan and the ranking of its hits have AVX-512 and scalar forms;
// the scoring kernels have one per ISA) gives honest estimates on the families that lean on
// them most: keys found by score (clustered, needle).
TEST(approx_every_isa_path_is_honest) {
    const Config g = kConfigs[0];
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int fam : {int(hafam::CLUSTERED), int(hafam::NEEDLE)}) {
            Pool pool;
            Case c = make_case(fam, g.dt, shape_of(g), g.layout, 2000 + uint64_t(fam));
            begin_case(format("estimate on %s: %s", isa_name(isa), c.label.c_str()));
            Result r = run_approx(c.q, c.k, c.v, params(g.causal, 5), g.layout);
            evaluate(c, r, hametrics::sample_rows(g.B * g.Hq * g.Nq, 320, 99), &pool);
            check_honest(pool, format("%s %s", isa_name(isa), hafam::family_name(fam)));
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// Rows the target sent to level 2 are exact attention, whichever path computed them (the tiled
// kernel for a kv head with many such rows, chunks of 8 rows for scattered ones): compared with
// ha_attention_exact on the same inputs, elementwise within float (bf16: one output rounding).
// Returns the number of rows that differ.
int64_t level2_rows_differ(Case& c, const Result& r, bool causal, int64_t* rows_checked) {
    HostTensor ex = make_tensor(c.q.dtype, r.B, r.H, r.N, r.D, c.layout);
    ha_tensor tq = c.q.desc(), tk = c.k.desc(), tv = c.v.desc(), to = ex.desc();
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = causal ? 1 : 0;
    if (ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &p) != HA_OK) return -1;
    // f32: the same sums in another operand layout (the tiled prefill's copies carry an extra
    // column) round differently; over ~10k keys that reaches a few 1e-6 of the row's scale.
    const double rel = c.q.dtype == HA_DTYPE_BF16 ? 0x1p-7 : c.q.dtype == HA_DTYPE_F16 ? 0x1p-10 : 3e-5;
    int64_t differ = 0;
    for (int64_t row = 0; row < r.B * r.H * r.N; ++row) {
        if (r.level[size_t(row)] != 2) continue;
        ++*rows_checked;
        const int64_t i = row % r.N, h = (row / r.N) % r.H, b = row / (r.N * r.H);
        double scale = 0;
        for (int64_t d = 0; d < r.D; ++d) scale = std::max(scale, std::fabs(double(ex.get(b, h, i, d))));
        for (int64_t d = 0; d < r.D; ++d)
            if (std::fabs(double(r.out.get(b, h, i, d)) - double(ex.get(b, h, i, d))) > rel * (scale + 1e-6)) {
                ++differ;
                break;
            }
    }
    return differ;
}

TEST(approx_meets_the_error_target) {
    // Under the sanitizers (CI sets HA_TEST_SANITIZED) one target: the memory checks need the
    // paths, which one target reaches (refinement and exact rows included); both targets'
    // statistics are checked in the normal build.
    const bool sanitized = sanitized_run();
    std::vector<double> targets{0.05};
    if (!sanitized) targets.push_back(0.02);
    for (int fam = 0; fam < hafam::NUM_FAMILIES; ++fam)
        for (double eps : targets) {
            Pool pool;
            int ci = 0;
            int64_t est_over = 0, level2_wrong = 0, level2_differ = 0, level2_rows = 0;
            for (const Config& g : kConfigs) {
                Case c = make_case(fam, g.dt, shape_of(g), g.layout, 2000 + uint64_t(fam * 10 + ci));
                begin_case(format("target %.2f %s", eps, c.label.c_str()));
                Result r = run_approx(c.q, c.k, c.v, params(g.causal, 5 + uint64_t(ci), eps), g.layout);
                if (r.status == HA_OK) {
                    // every reported estimate, not only the evaluated rows
                    int shown = 0;
                    for (size_t row = 0; row < r.row_error.size(); ++row) {
                        if (!(r.row_error[row] <= float(eps))) {
                            ++est_over;
                            if (shown++ < 3)
                                CHECK(false, "row %zu: estimate %g above the target %g (level %d)", row,
                                      double(r.row_error[row]), eps, r.level[row]);
                        }
                        if (r.level[row] == 2 && r.row_error[row] != 0.f) ++level2_wrong;
                    }
                    level2_differ += level2_rows_differ(c, r, g.causal, &level2_rows);
                }
                const auto rows = hametrics::sample_rows(g.B * g.Hq * g.Nq, 128, 99 + uint64_t(ci));
                const size_t before = pool.err.size();
                evaluate(c, r, rows, &pool);
                // bf16: the output's own rounding (<= ~2^-9 in e units) comes on top of the target
                for (size_t n = before; n < pool.err.size(); ++n)
                    pool.err[n] = std::max(0.0, pool.err[n] - out_rounding(g.dt));
                end_case();
                ++ci;
            }
            begin_case(format("target %.2f met on %s: true e_i <= target on >= 99%% of rows, "
                              "every estimate <= target", eps, hafam::family_name(fam)));
            CHECK(!pool.err.empty(), "no row was evaluated (calls failed)");
            CHECK(est_over == 0, "%lld estimates above the target", (long long)est_over);
            CHECK(level2_wrong == 0, "%lld rows at level 2 (exact) with a nonzero estimate", (long long)level2_wrong);
            CHECK(level2_differ == 0, "%lld of %lld rows at level 2 differ from exact attention",
                  (long long)level2_differ, (long long)level2_rows);
            if (!pool.err.empty()) {
                size_t over = 0;
                double worst = 0;
                std::vector<size_t> flagged;
                for (size_t n = 0; n < pool.err.size(); ++n) {
                    if (pool.err[n] > eps) {
                        ++over;
                        flagged.push_back(n);
                    }
                    worst = std::max(worst, pool.err[n]);
                }
                CHECK(double(over) <= 0.01 * double(pool.err.size()),
                      "%zu of %zu rows above the target (worst %.3g):%s", over, pool.err.size(), worst,
                      worst_rows(pool, flagged).c_str());
                if (over > 0 && double(over) <= 0.01 * double(pool.err.size()))
                    std::printf("     (within the 1%% allowance:%s)\n", worst_rows(pool, flagged).c_str());
                std::array<int64_t, 3> lv{0, 0, 0};
                for (int32_t l : pool.level)
                    if (l >= 0 && l <= 2) ++lv[size_t(l)];
                std::printf("     %s eps=%.2f: %zu rows, %zu above target, worst %.3g, levels 0/1/2: %lld/%lld/%lld\n",
                            hafam::family_name(fam), eps, pool.err.size(), over, worst, (long long)lv[0],
                            (long long)lv[1], (long long)lv[2]);
            }
            end_case();
        }
}

// A tight target (below the 1/64 share at which a key counts as heavy) must find heavy keys
// where few rows have one: a row whose heavy key sits in no exact part and was drawn in neither
// half has an error of about the key's share, and its estimate cannot see it. Here LLM-like
// heads (no needles) get, in ~0.4% of rows, one far key turned towards the row's query so that
// it carries ~10% of the row's mass, without lengthening the query or making the key long (both
// of which other rules search or keep exact). Every planted row must meet the target. (With the
// heavy-key search forced off, 16 of the 76 rows missed it, at errors up to 0.19 against
// estimates below 0.01. At this size the probes see heavy rows above both thresholds of the
// search rule; the tight one decided LLM-like heads at 131k keys, too long for this harness.)
TEST(approx_tight_target_finds_sparse_heavy_keys) {
    hafam::Shape sh;
    sh.B = 1;
    sh.Hq = 2;
    sh.Hkv = 1;
    sh.Nq = sh.Nk = 12289;
    sh.D = 64;
    sh.causal = true;
    hafam::Inputs in;
    in.s = sh;
    in.q.assign(size_t(sh.Hq * sh.Nq * sh.D), 0.f);
    in.k.assign(size_t(sh.Hkv * sh.Nk * sh.D), 0.f);
    in.v.assign(size_t(sh.Hkv * sh.Nk * sh.D), 0.f);
    in.needle_key.assign(size_t(sh.Hq * sh.Nq), -1);
    hafam::LlmConstants lc;
    lc.needle_rate = 0;
    hafam::make_llm(in, 4242, lc);
    const int64_t D = sh.D, Nk = sh.Nk;
    const double scale = 1 / std::sqrt(double(D));
    std::vector<double> knorm(static_cast<size_t>(Nk));
    for (int64_t j = 0; j < Nk; ++j) {
        double n2 = 0;
        for (int64_t d = 0; d < D; ++d) n2 += double(in.krow(0, 0, j)[d]) * in.krow(0, 0, j)[d];
        knorm[size_t(j)] = std::sqrt(n2);
    }
    std::vector<double> sorted(knorm);
    std::nth_element(sorted.begin(), sorted.begin() + long(Nk / 2), sorted.end());
    const double kmed = sorted[size_t(Nk / 2)];
    constexpr double kShare = 0.10;
    std::vector<int64_t> planted;
    std::vector<char> used(size_t(Nk), 0);
    uint64_t st = 0x5eed;
    auto next = [&] { st = st * 6364136223846793005ull + 1442695040888963407ull; return st >> 33; };
    for (int64_t h = 0; h < sh.Hq; ++h)
        for (int64_t i = 3000; i < sh.Nq; i += 250) {  // 0.4% of rows
            const int64_t p = i;  // Nq == Nk: position = row
            const int64_t j = 4 + int64_t(next() % uint64_t(p - 2000 - 4));  // >= 2000 back, no sink
            if (used[size_t(j)]) continue;
            float* q = in.qrow(0, h, i);
            float* k = in.krow(0, 0, j);
            double qn2 = 0, qk = 0, mx = -1e300;
            for (int64_t d = 0; d < D; ++d) qn2 += double(q[d]) * q[d], qk += double(q[d]) * k[d];
            std::vector<double> sc(size_t(p + 1));
            for (int64_t r = 0; r <= p; ++r) {
                double x = 0;
                for (int64_t d = 0; d < D; ++d) x += double(q[d]) * in.krow(0, 0, r)[d];
                sc[size_t(r)] = scale * x;
                if (r != j) mx = std::max(mx, sc[size_t(r)]);
            }
            double z = 0;
            for (int64_t r = 0; r <= p; ++r)
                if (r != j) z += std::exp(sc[size_t(r)] - mx);
            // the planted score, so that the key holds kShare of the row
            const double want = mx + std::log(z) + std::log(kShare / (1 - kShare));
            const double mu = (want / scale - qk) / std::sqrt(qn2);
            double n2 = 0;
            for (int64_t d = 0; d < D; ++d) {
                const double x = k[d] + mu * q[d] / std::sqrt(qn2);
                n2 += x * x;
            }
            if (mu <= 0 || std::sqrt(n2) > 1.4 * kmed) continue;  // would be a long key: exact anyway
            for (int64_t d = 0; d < D; ++d) k[d] = float(k[d] + mu * q[d] / std::sqrt(qn2));
            used[size_t(j)] = 1;
            in.needle_key[size_t(h * sh.Nq + i)] = j;
            planted.push_back(h * sh.Nq + i);
        }
    Case c;
    c.in = in;
    c.q = to_tensor(in.q, HA_DTYPE_F32, 1, sh.Hq, sh.Nq, D, BHSD);
    c.k = to_tensor(in.k, HA_DTYPE_F32, 1, sh.Hkv, sh.Nk, D, BHSD);
    c.v = to_tensor(in.v, HA_DTYPE_F32, 1, sh.Hkv, sh.Nk, D, BHSD);
    c.label = "llm with sparse planted heavy keys, Nq=Nk=12289 D=64 causal";
    constexpr double kTarget = 0.01;
    begin_case(format("target %.2f, %zu rows with a planted key of %.0f%% share", kTarget, planted.size(), 100 * kShare));
    CHECK(planted.size() >= 30, "only %zu rows planted", planted.size());
    Result r = run_approx(c.q, c.k, c.v, params(true, 11, kTarget), BHSD);
    Pool pool;
    if (evaluate(c, r, planted, &pool)) {
        size_t over = 0;
        std::vector<size_t> flagged;
        for (size_t n = 0; n < pool.err.size(); ++n)
            if (pool.err[n] > kTarget) ++over, flagged.push_back(n);
        // Every planted key's mass found: none of these rows above the target.
        CHECK(over == 0, "%zu of %zu planted rows above the target:%s", over, pool.err.size(),
              worst_rows(pool, flagged).c_str());
    }
    end_case();
}

// ---- determinism ---------------------------------------------------------------------------------
namespace {

struct Blobs {
    std::vector<unsigned char> out, lse, stats;
};
// The bit patterns of a tensor's elements (not its storage: two tensors of one shape may sit at
// different offsets of their buffers, and the gaps hold poison).
std::vector<unsigned char> element_bytes(const HostTensor& t) {
    std::vector<unsigned char> out;
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d) {
                    const float f = t.get(b, h, s, d);
                    unsigned char c[4];
                    std::memcpy(c, &f, 4);
                    out.insert(out.end(), c, c + 4);
                }
    return out;
}

Blobs blobs(const Result& r) {
    Blobs b;
    b.out = element_bytes(r.out);
    b.lse = element_bytes(r.lse);
    auto add = [&](const void* p, size_t n) {
        const auto* c = static_cast<const unsigned char*>(p);
        b.stats.insert(b.stats.end(), c, c + n);
    };
    add(r.row_error.data(), r.row_error.size() * 4);
    add(r.tail_bound.data(), r.tail_bound.size() * 4);
    add(r.touched.data(), r.touched.size() * 8);
    add(r.level.data(), r.level.size() * 4);
    return b;
}
std::string differing(const Blobs& a, const Blobs& b) {
    std::string s;
    if (a.out != b.out) s += " out";
    if (a.lse != b.lse) s += " lse";
    if (a.stats != b.stats) s += " stats";
    return s;
}

}  // namespace

TEST(approx_is_deterministic_for_any_thread_count_and_seeded) {
    const int before = ha_get_num_threads();
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
        for (int fam : {int(hafam::DIFFUSE), int(hafam::LLM)}) {
            hafam::Shape s;
            s.Hq = 4; s.Hkv = 2; s.Nq = 333; s.Nk = 3000; s.D = 64; s.causal = (fam == hafam::LLM);
            Case c = make_case(fam, dt, s, BSHD, 31);
            for (double target : {0.0, 0.03}) {
                begin_case(format("bit-identical for 1 and 2 threads, repeated calls, target %.2f: %s", target,
                                  c.label.c_str()));
                const ha_approx_params p = params(s.causal, 1234, target);
                ha_set_num_threads(1);
                Result r1 = run_approx(c.q, c.k, c.v, p, BSHD);
                ha_set_num_threads(2);
                Result r2 = run_approx(c.q, c.k, c.v, p, BSHD);
                Result r3 = run_approx(c.q, c.k, c.v, p, BSHD);
                CHECK(r1.status == HA_OK && r2.status == HA_OK && r3.status == HA_OK, "status %d/%d/%d: %s",
                      r1.status, r2.status, r3.status, ha_last_error());
                if (r1.status == HA_OK && r2.status == HA_OK && r3.status == HA_OK) {
                    const Blobs b1 = blobs(r1);
                    const std::string d12 = differing(b1, blobs(r2)), d23 = differing(blobs(r2), blobs(r3));
                    double maxdiff = 0;
                    int64_t rows_differ = 0;
                    for (int64_t row = 0; row < s.Hq * s.Nq; ++row) {
                        const auto a = r1.row(row), b = r2.row(row);
                        double dm = 0;
                        for (size_t d = 0; d < a.size(); ++d) dm = std::max(dm, double(std::fabs(a[d] - b[d])));
                        if (dm > 0 || std::memcmp(a.data(), b.data(), a.size() * 4) != 0) ++rows_differ;
                        maxdiff = std::max(maxdiff, dm);
                    }
                    CHECK(d12.empty(), "2 threads differ from 1 thread in%s (%lld of %lld rows of out, max |diff| %.3g)",
                          d12.c_str(), (long long)rows_differ, (long long)(s.Hq * s.Nq), maxdiff);
                    CHECK(d23.empty(), "a repeated call differs in%s", d23.c_str());
                }
                end_case();
            }
            if (fam == hafam::DIFFUSE) {
                // Diffuse rows lean on the sampled tail, so another seed must change the output.
                begin_case(format("another seed gives other samples: %s", c.label.c_str()));
                ha_set_num_threads(2);
                Result a = run_approx(c.q, c.k, c.v, params(false, 1), BSHD);
                Result b = run_approx(c.q, c.k, c.v, params(false, 2), BSHD);
                CHECK(a.status == HA_OK && b.status == HA_OK, "status %d/%d: %s", a.status, b.status, ha_last_error());
                if (a.status == HA_OK && b.status == HA_OK)
                    CHECK(element_bytes(a.out) != element_bytes(b.out), "seeds 1 and 2 gave identical outputs");
                end_case();
            }
        }
    ha_set_num_threads(before);
    ha_set_num_threads(0);
}

// ---- decoding over a growing cache ---------------------------------------------------------------
TEST(approx_decodes_over_a_growing_indexed_cache) {
    const int64_t total = 2900, n0 = 2048, Hq = 8, Hkv = 2, D = 64;
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
        hafam::Shape s;
        s.Hq = Hq; s.Hkv = Hkv; s.Nq = total; s.Nk = total; s.D = D; s.causal = true;
        hafam::Inputs full = hafam::make_inputs(hafam::LLM, s, 4242);
        if (dt == HA_DTYPE_BF16) hafam::round_inputs_to_bf16(full);
        if (dt == HA_DTYPE_F16) round_inputs_to_f16(full);
        // The cache holds all `total` positions; views of its first n rows grow step by step.
        HostTensor k = to_tensor(full.k, dt, 1, Hkv, total, D, BHSD);
        HostTensor v = to_tensor(full.v, dt, 1, Hkv, total, D, BHSD);
        auto view = [&](HostTensor& t, int64_t n) {
            ha_tensor d = t.desc();
            d.shape[2] = n;
            return d;
        };
        begin_case(format("decode %s: index over %lld keys, appended to %lld, Nq 1 and 3, llm", dt_name(dt),
                          (long long)n0, (long long)total));
        ha_key_index* index = nullptr;
        {
            ha_tensor tk = view(k, n0), tv = view(v, n0);
            const int32_t st = ha_key_index_create(&tk, &tv, nullptr, &index);
            CHECK(st == HA_OK, "ha_key_index_create: %s", ha_last_error());
        }
        Pool pool, pool_target;
        int64_t n = n0, step = 0, failures = 0;
        const int64_t grow[] = {1, 1, 62, 1, 65, 7, 128, 3, 61, 1};
        while (index && n < total && failures == 0) {
            n = std::min(total, n + grow[step % 10]);
            ha_tensor tk = view(k, n), tv = view(v, n);
            const int32_t st = ha_key_index_append(index, &tk, &tv);
            CHECK(st == HA_OK, "ha_key_index_append to %lld keys: %s", (long long)n, ha_last_error());
            if (st != HA_OK) break;
            const int64_t nq = step % 2 == 0 ? 1 : 3;
            // the queries of the last nq positions of the grown cache
            hafam::Inputs sub;
            sub.s = s;
            sub.s.Nq = nq;
            sub.s.Nk = n;
            sub.q.resize(size_t(Hq * nq * D));
            sub.needle_key.resize(size_t(Hq * nq));
            for (int64_t h = 0; h < Hq; ++h)
                for (int64_t i = 0; i < nq; ++i)
                    sub.needle_key[size_t(h * nq + i)] = full.needle_key[size_t(h * total + n - nq + i)];
            for (int64_t h = 0; h < Hq; ++h)
                for (int64_t i = 0; i < nq; ++i)
                    std::copy_n(full.qrow(0, h, n - nq + i), D, &sub.q[size_t((h * nq + i) * D)]);
            for (int64_t h = 0; h < Hkv; ++h) {
                sub.k.insert(sub.k.end(), full.krow(0, h, 0), full.krow(0, h, 0) + n * D);
                sub.v.insert(sub.v.end(), full.vrow(0, h, 0), full.vrow(0, h, 0) + n * D);
            }
            Case c;
            c.in = std::move(sub);
            c.dt = dt;
            c.q = to_tensor(c.in.q, dt, 1, Hq, nq, D, BHSD);
            const double target = step % 3 == 2 ? 0.05 : 0.0;
            Result r;
            {
                r.B = 1; r.H = Hq; r.N = nq; r.D = D;
                r.out = make_tensor(dt, 1, Hq, nq, D, BHSD);
                r.out.poison();
                r.lse = make_lse(1, Hq, nq, false);
                r.lse.poison();
                const size_t rows = size_t(Hq * nq);
                r.row_error.assign(rows, NAN);
                r.tail_bound.assign(rows, NAN);
                r.touched.assign(rows, -1);
                r.level.assign(rows, -1);
                ha_approx_stats stt{r.row_error.data(), r.tail_bound.data(), r.touched.data(), r.level.data()};
                ha_approx_params p = params(true, 9 + uint64_t(step), target);
                ha_tensor tq = c.q.desc(), to = r.out.desc(), tl = r.lse.desc();
                r.status = ha_attention_approx(&tq, &tk, &tv, &to, &tl, index, &p, &stt);
            }
            std::vector<int64_t> rows;
            for (int64_t x = 0; x < Hq * nq; ++x) rows.push_back(x);
            if (!evaluate(c, r, rows, target > 0 ? &pool_target : &pool)) ++failures;
            if (target > 0 && r.status == HA_OK)
                for (size_t x = 0; x < r.row_error.size(); ++x)
                    if (!(r.row_error[x] <= float(target)))
                        CHECK(false, "step to %lld keys: row %zu estimate %g above the target", (long long)n, x,
                              double(r.row_error[x]));
            ++step;
        }
        ha_key_index_destroy(index);
        CHECK(n == total, "stopped at %lld of %lld keys", (long long)n, (long long)total);
        size_t under = 0;
        std::vector<size_t> flagged;
        for (size_t x = 0; x < pool.err.size(); ++x)
            if (pool.err[x] > std::max(2 * pool.est[x], pool.floor[x])) {
                ++under;
                flagged.push_back(x);
            }
        CHECK(double(under) <= 0.05 * double(pool.err.size()),
              "fixed budget: %zu of %zu decode rows have a true error above 2 x the estimate:%s", under,
              pool.err.size(), worst_rows(pool, flagged).c_str());
        size_t over = 0;
        for (double e : pool_target.err)
            if (e > 0.05 + out_rounding(dt)) ++over;
        CHECK(double(over) <= 0.01 * double(pool_target.err.size()),
              "target 0.05: %zu of %zu decode rows above the target", over, pool_target.err.size());
        end_case();
    }
}

// The tiled prefill (causal and not) and the drawn decode (their own sampling, probes and
// merges) give the same bits for 1, 2 and 3 threads and on a repeated call; another seed
// changes a sampled output.
TEST(approx_tiled_prefill_and_drawn_decode_are_deterministic) {
    const int before = ha_get_num_threads();
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
        for (int fam : {int(hafam::CLUSTERED), int(hafam::LLM)})
            for (int mode = 0; mode < 3; ++mode) {  // causal prefill, decode, non-causal prefill
                const bool decode = mode == 1;
                hafam::Shape s;
                s.Hq = 4; s.Hkv = 2; s.Nq = decode ? 3 : 1100; s.Nk = decode ? 5000 : 9100; s.D = 64;
                s.causal = mode != 2;
                Case c = make_case(fam, dt, s, BSHD, 77 + uint64_t(decode));
                ha_key_index* index = nullptr;
                if (decode) {
                    ha_tensor tk = c.k.desc(), tv = c.v.desc();
                    CHECK(ha_key_index_create(&tk, &tv, nullptr, &index) == HA_OK, "ha_key_index_create: %s",
                          ha_last_error());
                }
                for (double target : {0.0, 0.03}) {
                    begin_case(format("%s bit-identical for 1, 2, 3 threads, repeated and without the buffer cache, target %.2f: %s",
                                      decode ? "drawn decode" : "tiled prefill", target, c.label.c_str()));
                    const ha_approx_params p = params(s.causal, 99, target);
                    std::vector<Blobs> b;
                    // Runs after the first reuse its released buffers (stale contents); the
                    // last runs with the buffer cache off (fresh pages).
                    const int64_t cache = ha_get_buffer_cache_limit();
                    // Sanitized (CI's ASan run): one run per kind (1 and 3 threads, no cache),
                    // the repeats are checked in the normal build.
                    const std::vector<int> runs = sanitized_run() ? std::vector<int>{1, 3, -2} : std::vector<int>{1, 2, 3, 2, -2};
                    for (int t : runs) {
                        ha_set_num_threads(t < 0 ? -t : t);
                        if (t < 0) ha_set_buffer_cache_limit(0);
                        Result r = run_approx(c.q, c.k, c.v, p, BSHD, index);
                        ha_set_buffer_cache_limit(cache);
                        CHECK(r.status == HA_OK, "status %d: %s", r.status, ha_last_error());
                        b.push_back(blobs(r));
                    }
                    for (size_t i = 1; i < b.size(); ++i) {
                        const std::string d = differing(b[0], b[i]);
                        CHECK(d.empty(), "run %zu differs from the first (1 thread) in%s", i, d.c_str());
                    }
                    end_case();
                }
                if (!decode && fam == hafam::CLUSTERED) {
                    begin_case(format("tiled prefill: another seed gives other draws: %s", c.label.c_str()));
                    ha_set_num_threads(2);
                    Result a = run_approx(c.q, c.k, c.v, params(s.causal, 1), BSHD);
                    Result z = run_approx(c.q, c.k, c.v, params(s.causal, 2), BSHD);
                    CHECK(blobs(a).out != blobs(z).out, "seeds 1 and 2 gave identical outputs");
                    end_case();
                }
                if (index) ha_key_index_destroy(index);
            }
    ha_set_num_threads(before);
}

// Decoding over an indexed cache on every family: the last 16 positions of a 12k cache (the
// drawn-decode path: index, causal, few rows), fixed budget and targets.
TEST(approx_decode_is_honest_and_meets_targets_on_every_family) {
    const int64_t N = 12289, Nq = 16, Hq = 8, Hkv = 2, D = 64;
    for (int fam = 0; fam < hafam::NUM_FAMILIES; ++fam)
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            hafam::Shape s;
            s.Hq = Hq; s.Hkv = Hkv; s.Nq = Nq; s.Nk = N; s.D = D; s.causal = true;
            Case c = make_case(fam, dt, s, dt == HA_DTYPE_F32 ? BHSD : BSHD, 5150 + uint64_t(fam));
            begin_case(format("decode %s", c.label.c_str()));
            ha_key_index* index = nullptr;
            ha_tensor tk = c.k.desc(), tv = c.v.desc();
            CHECK(ha_key_index_create(&tk, &tv, nullptr, &index) == HA_OK, "ha_key_index_create: %s", ha_last_error());
            std::vector<int64_t> rows;
            for (int64_t x = 0; x < Hq * Nq; ++x) rows.push_back(x);
            Pool pool;
            // Sanitized: one seed and the tighter target (it refines more), see above.
            const std::vector<uint64_t> seeds = sanitized_run() ? std::vector<uint64_t>{1} : std::vector<uint64_t>{1, 2, 3};
            const std::vector<double> targets = sanitized_run() ? std::vector<double>{0.02} : std::vector<double>{0.05, 0.02};
            for (uint64_t seed : seeds) {
                Result r = run_approx(c.q, c.k, c.v, params(true, seed), c.layout, index);
                evaluate(c, r, rows, &pool);
            }
            check_honest(pool, format("decode %s %s", hafam::family_name(fam), dt_name(dt)));
            for (double eps : targets) {
                Result r = run_approx(c.q, c.k, c.v, params(true, 4, eps), c.layout, index);
                Pool pt;
                evaluate(c, r, rows, &pt);
                size_t over = 0;
                for (size_t x = 0; x < pt.err.size(); ++x) {
                    over += pt.err[x] > eps + out_rounding(dt);
                    CHECK(r.row_error[size_t(rows[x])] <= float(eps), "row %lld estimate %g above the target %g",
                          (long long)rows[x], double(r.row_error[size_t(rows[x])]), eps);
                }
                CHECK(over <= pt.err.size() / 100, "target %.2f: %zu of %zu rows above it", eps, over, pt.err.size());
            }
            ha_key_index_destroy(index);
            end_case();
        }
}

// ---- bad input -----------------------------------------------------------------------------------
namespace {

void expect_invalid(const char* label, int32_t status, const char* needle) {
    begin_case(format("approx rejects %s", label));
    CHECK(status == HA_ERR_INVALID_ARGUMENT, "status %d, expected %d (message: %s)", status,
          HA_ERR_INVALID_ARGUMENT, ha_last_error());
    const std::string msg = ha_last_error();
    CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(), needle);
    end_case();
}

// A valid small GQA problem (4 query heads over 2 kv heads, 5 rows, 40 keys, D = 16) for the
// validation tests.
struct SmallProblem {
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 4, 5, 16, BHSD);
    HostTensor k = make_tensor(HA_DTYPE_F32, 1, 2, 40, 16, BHSD);
    HostTensor v = make_tensor(HA_DTYPE_F32, 1, 2, 40, 16, BHSD);
    HostTensor out = make_tensor(HA_DTYPE_F32, 1, 4, 5, 16, BHSD);
    SmallProblem() {
        q.fill_normal(1);
        k.fill_normal(1);
        v.fill_normal(1);
    }
};

}  // namespace

TEST(approx_bad_parameters_are_rejected_with_a_reason) {
    SmallProblem sp;
    HostTensor &q = sp.q, &k = sp.k, &v = sp.v, &out = sp.out;
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
    auto call = [&](const ha_approx_params& p) {
        return ha_attention_approx(&tq, &tk, &tv, &to, nullptr, nullptr, &p, nullptr);
    };
    ha_approx_params base;
    ha_approx_params_init(&base);
    { auto p = base; p.sinks = -1; expect_invalid("sinks -1", call(p), "params.sinks"); }
    { auto p = base; p.window = -1; expect_invalid("window -1", call(p), "params.window"); }
    { auto p = base; p.samples = -5; expect_invalid("samples -5", call(p), "params.samples"); }
    { auto p = base; p.heavy_budget = -1; expect_invalid("heavy_budget -1", call(p), "params.heavy_budget"); }
    { auto p = base; p.target_error = -0.1; expect_invalid("target -0.1", call(p), "params.target_error"); }
    { auto p = base; p.target_error = 1.0; expect_invalid("target 1", call(p), "params.target_error"); }
    { auto p = base; p.target_error = 2.5; expect_invalid("target 2.5", call(p), "params.target_error"); }
    { auto p = base; p.target_error = NAN; expect_invalid("target NaN", call(p), "params.target_error"); }
    { auto p = base; p.target_error = INFINITY; expect_invalid("target inf", call(p), "params.target_error"); }
    { auto p = base; int x; p.stream = &x; expect_invalid("stream non-NULL", call(p), "params.stream"); }
    { auto p = base; p.causal = 2; expect_invalid("causal 2", call(p), "params.causal"); }
    { auto p = base; p.causal = -1; expect_invalid("causal -1", call(p), "params.causal"); }
    { auto p = base; p.scale = -1; expect_invalid("scale -1", call(p), "params.scale"); }
    // A valid call is not rejected as invalid (it succeeds once the engine exists).
    begin_case("approx accepts the defaults and target 0 / 0.5");
    for (double t : {0.0, 0.5}) {
        auto p = base;
        p.target_error = t;
        const int32_t st = call(p);
        CHECK(st == HA_OK, "target %g: status %d: %s", t, st, ha_last_error());
    }
    {
        const int32_t st = ha_attention_approx(&tq, &tk, &tv, &to, nullptr, nullptr, nullptr, nullptr);
        CHECK(st == HA_OK, "params NULL: status %d: %s", st, ha_last_error());
    }
    end_case();
}

TEST(approx_stats_overlapping_operands_are_rejected) {
    SmallProblem sp;
    HostTensor &q = sp.q, &k = sp.k, &v = sp.v, &out = sp.out;
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
    const size_t rows = 4 * 5;
    std::vector<float> re(rows), tb(rows);
    std::vector<int64_t> kt(rows);
    std::vector<int32_t> lv(rows);
    auto call = [&](ha_approx_stats st) {
        return ha_attention_approx(&tq, &tk, &tv, &to, nullptr, nullptr, nullptr, &st);
    };
    const ha_approx_stats ok{re.data(), tb.data(), kt.data(), lv.data()};
    { auto s = ok; s.row_error = static_cast<float*>(q.data()); expect_invalid("row_error inside q", call(s), "stats.row_error"); }
    { auto s = ok; s.tail_mass_bound = static_cast<float*>(v.data()) + 7; expect_invalid("tail_mass_bound inside v", call(s), "stats.tail_mass_bound"); }
    { auto s = ok; s.keys_touched = static_cast<int64_t*>(k.data()); expect_invalid("keys_touched inside k", call(s), "stats.keys_touched"); }
    { auto s = ok; s.level = static_cast<int32_t*>(out.data()); expect_invalid("level inside out", call(s), "stats.level"); }
    {  // straddling the end of q's storage
        auto s = ok;
        s.row_error = static_cast<float*>(q.data()) + (q.elements() - 3);
        expect_invalid("row_error overlapping the end of q", call(s), "stats.row_error");
    }
    begin_case("approx accepts disjoint stats arrays");
    const int32_t st = call(ok);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    end_case();
}

// ---- the families themselves ---------------------------------------------------------------------
// Guards the shape of the inputs the other tests (and approx_bench) rely on; prints the shares.
TEST(approx_families_have_their_documented_shape) {
    for (int64_t D : {64, 128}) {
        hafam::Shape s;
        s.Hq = 4; s.Hkv = 1; s.Nq = 512; s.Nk = 8192; s.D = D; s.causal = true;
        {
            const hafam::Inputs in = hafam::make_inputs(hafam::LLM, s, 5);
            const auto rows = hametrics::sample_rows(s.Hq * s.Nq, 256, 5);
            const auto refs = hametrics::reference_rows(in, rows, true, 0, 2);
            std::vector<double> a, b, c, nd;
            for (const auto& r : refs) {
                a.push_back(r.share_sinks);
                b.push_back(r.share_local);
                c.push_back(r.share_far);
            }
            // the planted keys, over all rows that have one
            std::vector<int64_t> planted;
            for (int64_t row = 0; row < s.Hq * s.Nq; ++row)
                if (in.needle_key[size_t(row)] >= 0) planted.push_back(row);
            for (const auto& r : hametrics::reference_rows(in, planted, true, 0, 2)) nd.push_back(r.share_needle);
            const double ms = hametrics::quantile(a, 0.5), ml = hametrics::quantile(b, 0.5), mf = hametrics::quantile(c, 0.5);
            begin_case(format("llm D=%lld, 8k keys: sinks 20-45%%, local 256 most of the rest, far tail < 10%%, planted keys heavy",
                              (long long)D));
            CHECK(ms >= 0.20 && ms <= 0.45, "median sink share %.3f", ms);
            CHECK(ml >= 0.45, "median local share %.3f", ml);
            CHECK(mf > 0.001 && mf < 0.10, "median far-tail share %.4f", mf);
            CHECK(!nd.empty() && hametrics::quantile(nd, 0.5) > 0.3, "%zu planted rows, median planted-key share %.3f",
                  nd.size(), nd.empty() ? 0.0 : hametrics::quantile(nd, 0.5));
            std::printf("     llm D=%lld 8k: median shares sinks %.1f%%, local %.1f%%, far %.2f%%; %zu planted rows, "
                        "median planted-key share %.1f%%\n", (long long)D, 100 * ms, 100 * ml, 100 * mf, nd.size(),
                        nd.empty() ? 0.0 : 100 * hametrics::quantile(nd, 0.5));
            end_case();
        }
        {
            s.causal = false;
            const hafam::Inputs in = hafam::make_inputs(hafam::NEEDLE, s, 6);
            std::vector<int64_t> planted;
            for (int64_t row = 0; row < s.Hq * s.Nq; row += 7)
                if (in.needle_key[size_t(row)] >= 0) planted.push_back(row);
            std::vector<double> nd;
            for (const auto& r : hametrics::reference_rows(in, planted, false, 0, 2)) nd.push_back(r.share_needle);
            begin_case(format("needle D=%lld, 8k keys: every group has its key, which holds most of the mass", (long long)D));
            CHECK(planted.size() == size_t((s.Hq * s.Nq + 6) / 7), "%zu of %lld rows have a planted key", planted.size(),
                  (long long)((s.Hq * s.Nq + 6) / 7));
            const double m = nd.empty() ? 0.0 : hametrics::quantile(nd, 0.5);
            CHECK(m > 0.5 && m < 0.9, "median planted-key share %.3f", m);
            std::printf("     needle D=%lld 8k: median planted-key share %.1f%%\n", (long long)D, 100 * m);
            end_case();
        }
    }
}
