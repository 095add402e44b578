// The non-finite policy of hyperattn.h, on every ISA path: a NaN or +inf score makes its row's
// output and log-sum-exp NaN, -inf scores are masked keys, a row that sees no key is 0 / -inf;
// merge, HyperAttention and HSR agree; scores stay finite in the documented range even where
// the unscaled q.k overflows fp32; HSR certifies nothing about a non-finite row.
#include <cmath>
#include <limits>
#include <vector>

#include "cases.h"
#include "reference.h"

using namespace hat;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Run {
    HostTensor out, lse;
    int32_t status;
};

Run run_exact(HostTensor& q, HostTensor& k, HostTensor& v, bool causal) {
    Run r{make_tensor(q.dtype, q.shape[0], q.shape[1], q.shape[2], q.shape[3], 0),
          make_lse(q.shape[0], q.shape[1], q.shape[2], false), 0};
    r.out.poison();
    r.lse.poison();
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = r.out.desc(), tl = r.lse.desc();
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = causal;
    r.status = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &p);
    return r;
}

bool row_all_nan(const HostTensor& o, int64_t h, int64_t i) {
    for (int64_t d = 0; d < o.shape[3]; ++d)
        if (!std::isnan(o.get(0, h, i, d))) return false;
    return true;
}
bool row_finite(const HostTensor& o, int64_t h, int64_t i) {
    for (int64_t d = 0; d < o.shape[3]; ++d)
        if (!std::isfinite(o.get(0, h, i, d))) return false;
    return true;
}

// Decode (Nq = 1, split-KV over 4096 keys), a short prefill and a tiled prefill.
struct Shape {
    int64_t nq, nk;
};
constexpr Shape kShapes[] = {{1, 4096}, {3, 70}, {130, 200}};

TEST(nonfinite_exact_scores) {
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
            for (const Shape& sh : kShapes) {
                const int64_t D = 64, H = 2;
                const std::string tag = format("%s %s nq=%lld nk=%lld", isa_name(isa),
                                               dtype_str(dt),
                                               (long long)sh.nq, (long long)sh.nk);
                HostTensor q = make_tensor(dt, 1, H, sh.nq, D, 0);
                HostTensor k = make_tensor(dt, 1, H, sh.nk, D, 0);
                HostTensor v = make_tensor(dt, 1, H, sh.nk, D, 0);
                q.fill_normal(1);
                k.fill_normal(1);
                v.fill_normal(1);
                {  // a NaN key: every row of its head sees it, so every row is NaN
                    begin_case("exact NaN key " + tag);
                    HostTensor k2 = k;
                    k2.set(0, 0, sh.nk / 2, 3, kNaN);
                    Run r = run_exact(q, k2, v, false);
                    CHECK(r.status == HA_OK, "%s", ha_last_error());
                    for (int64_t i = 0; i < sh.nq; ++i) {
                        CHECK(row_all_nan(r.out, 0, i), "row %lld out not NaN", (long long)i);
                        CHECK(std::isnan(r.lse.get(0, 0, i, 0)), "row %lld lse %g", (long long)i,
                              double(r.lse.get(0, 0, i, 0)));
                        CHECK(row_finite(r.out, 1, i), "other head row %lld", (long long)i);
                    }
                    end_case();
                }
                {  // a +inf score: q[0][row 0] . k[j] = +inf; only that row is NaN
                    begin_case("exact +inf score " + tag);
                    HostTensor q2 = q, k2 = k;
                    for (int64_t i = 0; i < sh.nq; ++i) q2.set(0, 0, i, 0, i == 0 ? 1.f : -1.f);
                    k2.set(0, 0, sh.nk - 1, 0, kInf);
                    Run r = run_exact(q2, k2, v, false);
                    CHECK(r.status == HA_OK, "%s", ha_last_error());
                    CHECK(row_all_nan(r.out, 0, 0), "row 0 not NaN");
                    CHECK(std::isnan(r.lse.get(0, 0, 0, 0)), "row 0 lse %g", double(r.lse.get(0, 0, 0, 0)));
                    // The other rows score that key -inf: masked, so finite and equal to
                    // attention without the key.
                    for (int64_t i = 1; i < sh.nq; ++i) {
                        CHECK(row_finite(r.out, 0, i), "row %lld", (long long)i);
                        CHECK(std::isfinite(r.lse.get(0, 0, i, 0)), "row %lld lse", (long long)i);
                    }
                    end_case();
                }
                {  // a NaN query row: that row alone is NaN
                    begin_case("exact NaN query " + tag);
                    HostTensor q2 = q;
                    q2.set(0, 1, sh.nq - 1, 5, kNaN);
                    Run r = run_exact(q2, k, v, false);
                    CHECK(r.status == HA_OK, "%s", ha_last_error());
                    CHECK(row_all_nan(r.out, 1, sh.nq - 1), "row not NaN");
                    CHECK(std::isnan(r.lse.get(0, 1, sh.nq - 1, 0)), "lse %g",
                          double(r.lse.get(0, 1, sh.nq - 1, 0)));
                    for (int64_t i = 0; i + 1 < sh.nq; ++i) CHECK(row_finite(r.out, 1, i), "row %lld", (long long)i);
                    end_case();
                }
                {  // every score -inf: masked keys, the row saw none: 0 and -inf
                    begin_case("exact all scores -inf " + tag);
                    HostTensor q2 = q, k2 = k;
                    q2.set(0, 0, 0, 0, 1.f);
                    for (int64_t j = 0; j < sh.nk; ++j) k2.set(0, 0, j, 0, -kInf);
                    Run r = run_exact(q2, k2, v, false);
                    CHECK(r.status == HA_OK, "%s", ha_last_error());
                    for (int64_t d = 0; d < D; ++d) CHECK(r.out.get(0, 0, 0, d) == 0.f, "d=%lld", (long long)d);
                    CHECK(r.lse.get(0, 0, 0, 0) == -kInf, "lse %g", double(r.lse.get(0, 0, 0, 0)));
                    end_case();
                }
            }
        {  // finite inputs whose unscaled q.k overflows fp32 but whose scaled scores are in
           // range (scale * sum |q_i k_i| <= 1e38): finite and equal to float64
            begin_case(format("exact overflowing q.k %s", isa_name(isa)));
            const int64_t D = 256, nk = 40;
            HostTensor q = make_tensor(HA_DTYPE_F32, 1, 1, 2, D, 0);
            HostTensor k = make_tensor(HA_DTYPE_F32, 1, 1, nk, D, 0);
            HostTensor v = make_tensor(HA_DTYPE_F32, 1, 1, nk, D, 0);
            v.fill_normal(1);
            for (int64_t d = 0; d < D; ++d) {
                q.set(0, 0, 0, d, 2e18f);
                q.set(0, 0, 1, d, -2e18f);
                for (int64_t j = 0; j < nk; ++j) k.set(0, 0, j, d, (j % 2 ? 1.f : -1.f) * 2e18f * (0.5f + 0.01f * float(j)));
            }
            Run r = run_exact(q, k, v, false);
            CHECK(r.status == HA_OK, "%s", ha_last_error());
            RefResult ref = reference_attention(q, k, v, 1.0 / 16.0, false);
            for (int64_t i = 0; i < 2; ++i) {
                CHECK(std::isfinite(r.lse.get(0, 0, i, 0)), "row %lld lse %g", (long long)i, double(r.lse.get(0, 0, i, 0)));
                for (int64_t d = 0; d < D; ++d)
                    CHECK(std::fabs(r.out.get(0, 0, i, d) - ref.o(0, 0, i, d)) <= 1e-5,
                          "row %lld d %lld: %g vs %g", (long long)i, (long long)d,
                          double(r.out.get(0, 0, i, d)), ref.o(0, 0, i, d));
            }
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

TEST(nonfinite_merge) {
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        const int64_t D = 8;
        // rows: (lse_a, lse_b) = (NaN, 1), (-inf, NaN), (+inf, 0), (-inf, -inf), (0.5, -inf)
        const float la[] = {kNaN, -kInf, kInf, -kInf, 0.5f};
        const float lb[] = {1.f, kNaN, 0.f, -kInf, -kInf};
        const int64_t N = 5;
        HostTensor oa = make_tensor(HA_DTYPE_F32, 1, 1, N, D, 0), ob = oa, out = oa;
        HostTensor a = make_lse(1, 1, N, false), b = make_lse(1, 1, N, false), l = a;
        for (int64_t i = 0; i < N; ++i) {
            a.set(0, 0, i, 0, la[i]);
            b.set(0, 0, i, 0, lb[i]);
            for (int64_t d = 0; d < D; ++d) {
                oa.set(0, 0, i, d, i == 3 ? 0.f : 1.f);
                ob.set(0, 0, i, d, i == 3 ? 0.f : 2.f);
            }
        }
        begin_case(format("merge non-finite lse %s", isa_name(isa)));
        ha_tensor toa = oa.desc(), tob = ob.desc(), tla = a.desc(), tlb = b.desc(), to = out.desc(),
                  tl = l.desc();
        CHECK(ha_merge(&toa, &tla, &tob, &tlb, &to, &tl, nullptr) == HA_OK, "%s", ha_last_error());
        for (int64_t i = 0; i < 3; ++i) {
            CHECK(row_all_nan(out, 0, i), "row %lld not NaN", (long long)i);
            CHECK(std::isnan(l.get(0, 0, i, 0)), "row %lld lse %g", (long long)i, double(l.get(0, 0, i, 0)));
        }
        CHECK(out.get(0, 0, 3, 0) == 0.f && l.get(0, 0, 3, 0) == -kInf, "empty row");
        CHECK(out.get(0, 0, 4, 0) == 1.f && l.get(0, 0, 4, 0) == 0.5f, "one-sided row");
        end_case();
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// One head of N random rows with non-finite values planted: a NaN in key 7 (every row that
// sees it is NaN) and +inf in q[3] (row 3, before key 7 when causal, is NaN too: key 0 is made
// to score +inf there, since with every score -inf it would be an empty row instead).
struct PlantedInputs {
    HostTensor q, k, v, out, lse;
    PlantedInputs(int64_t N, int64_t D, int32_t dt = HA_DTYPE_F32)
        : q(make_tensor(dt, 1, 1, N, D, 0)), k(make_tensor(dt, 1, 1, N, D, 0)),
          v(make_tensor(dt, 1, 1, N, D, 0)), out(make_tensor(dt, 1, 1, N, D, 0)),
          lse(make_lse(1, 1, N, false)) {
        q.fill_normal(1);
        k.fill_normal(1);
        v.fill_normal(1);
        k.set(0, 0, 7, 2, kNaN);
        q.set(0, 0, 3, 0, kInf);
        k.set(0, 0, 0, 0, 1.f);
    }
};

// HyperAttention parameters that make a 512-700 row input take the approximate path with
// several blocks and samples.
ha_hyper_params small_hyper(bool causal) {
    ha_hyper_params p;
    ha_hyper_params_init(&p);
    p.causal = causal;
    p.min_seq_len = 64;
    p.block_size = 32;
    p.sample_size = 32;
    return p;
}

// HyperAttention's approximate path agrees with exact attention on non-finite inputs.
TEST(nonfinite_hyper) {
    const int64_t N = 512, D = 32;
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_F16})
        for (bool causal : {false, true}) {
            begin_case(format("hyper non-finite %s %s causal=%d", isa_name(isa), dtype_str(dt), int(causal)));
            PlantedInputs in(N, D, dt);
            HostTensor &q = in.q, &k = in.k, &v = in.v, &out = in.out, &lse = in.lse;
            ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
            const ha_hyper_params p = small_hyper(causal);
            CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p) == HA_OK, "%s", ha_last_error());
            Run ex = run_exact(q, k, v, causal);
            for (int64_t i = 0; i < N; ++i) {
                const bool nan_row = i == 3 || !causal || i >= 7;
                CHECK(nan_row ? row_all_nan(out, 0, i) : row_finite(out, 0, i), "row %lld", (long long)i);
                CHECK(nan_row == std::isnan(lse.get(0, 0, i, 0)), "row %lld lse %g", (long long)i,
                      double(lse.get(0, 0, i, 0)));
                CHECK(nan_row == row_all_nan(ex.out, 0, i), "exact row %lld", (long long)i);
            }
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// Approx and HyperAttention's estimates: a non-finite input follows the same table (the call
// is exact attention), and a row whose output is not finite carries no estimate or bound
// (+inf); the other rows are exact (estimate 0, level 2).
TEST(nonfinite_approx_and_estimates) {
    const int64_t N = 512, D = 32;
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_F16})
        for (bool causal : {false, true}) {
            begin_case(format("approx/hyper non-finite %s %s causal=%d", isa_name(isa), dtype_str(dt), int(causal)));
            PlantedInputs in(N, D, dt);
            HostTensor &q = in.q, &k = in.k, &v = in.v, &out = in.out, &lse = in.lse;
            ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
            std::vector<float> err(N, -1.f), bound(N, -1.f), herr(N, -1.f);
            std::vector<int32_t> level(N, -1);
            ha_approx_params ap;
            ha_approx_params_init(&ap);
            ap.causal = causal;
            ap.window = 16;
            ap.samples = 16;
            ha_approx_stats as{err.data(), bound.data(), nullptr, level.data()};
            CHECK(ha_attention_approx(&tq, &tk, &tv, &to, &tl, nullptr, &ap, &as) == HA_OK, "%s",
                  ha_last_error());
            for (int64_t i = 0; i < N; ++i) {
                const bool nan_row = i == 3 || !causal || i >= 7;
                CHECK(nan_row ? row_all_nan(out, 0, i) : row_finite(out, 0, i), "approx row %lld", (long long)i);
                CHECK(nan_row == std::isnan(lse.get(0, 0, i, 0)), "approx row %lld lse", (long long)i);
                CHECK(nan_row ? (std::isinf(err[size_t(i)]) && std::isinf(bound[size_t(i)]))
                              : (err[size_t(i)] == 0.f && bound[size_t(i)] == 0.f),
                      "approx row %lld estimate %g bound %g", (long long)i, double(err[size_t(i)]),
                      double(bound[size_t(i)]));
                CHECK(level[size_t(i)] == 2, "approx row %lld level %d", (long long)i, level[size_t(i)]);
            }
            ha_hyper_params hp;
            ha_hyper_params_init(&hp);
            hp.causal = causal;
            hp.min_seq_len = 64;
            ha_hyper_stats hs{herr.data()};
            CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &hp, &hs) == HA_OK, "%s", ha_last_error());
            for (int64_t i = 0; i < N; ++i) {
                const bool nan_row = i == 3 || !causal || i >= 7;
                CHECK(nan_row ? std::isinf(herr[size_t(i)]) : herr[size_t(i)] == 0.f,
                      "hyper row %lld estimate %g", (long long)i, double(herr[size_t(i)]));
            }
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// HyperAttention's approximate path with finite q and k but a non-finite or overflowing
// value: the call stays approximate, every row whose output is not finite gets an infinite
// estimate (the kernel checks each row as it writes it), and with ordinary values every
// finite row a finite one.
TEST(nonfinite_hyper_values_estimates) {
    const int64_t N = 700, D = 32;
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_F16})
        for (int kind = 0; kind < 2; ++kind)  // 0: +inf in one key's value, 1: huge values (fp32)
        for (bool causal : {false, true}) {
            if (kind == 1 && dt != HA_DTYPE_F32) continue;
            begin_case(format("hyper value %s %s %s causal=%d", kind ? "overflow" : "inf",
                              isa_name(isa), dtype_str(dt), int(causal)));
            HostTensor q = make_tensor(dt, 1, 2, N, D, 0), k = make_tensor(dt, 1, 1, N, D, 0),
                       v = make_tensor(dt, 1, 1, N, D, 0), out = make_tensor(dt, 1, 2, N, D, 0);
            q.fill_normal(1);
            k.fill_normal(1);
            v.fill_normal(1);
            if (kind == 0)
                v.set(0, 0, 333, 5, kInf);
            else
                for (int64_t j = 0; j < N; j += 2) v.set(0, 0, j, 1, 3e38f);
            out.poison();
            std::vector<float> err(size_t(2 * N), -1.f);
            ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
            const ha_hyper_params p = small_hyper(causal);
            ha_hyper_stats hs{err.data()};
            CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, &p, &hs) == HA_OK, "%s", ha_last_error());
            int64_t bad = 0, good = 0;
            for (int64_t h = 0; h < 2; ++h)
                for (int64_t i = 0; i < N; ++i) {
                    const float e = err[size_t(h * N + i)];
                    const bool fin = row_finite(out, h, i);
                    (fin ? good : bad) += 1;
                    // (With values near fp32's largest, a finite row's sums may overflow:
                    // then it has no estimate, +inf, never a finite one.)
                    CHECK(fin ? (e >= 0.f && (kind == 1 || std::isfinite(e))) : std::isinf(e),
                          "head %lld row %lld finite %d estimate %g", (long long)h, (long long)i,
                          int(fin), double(e));
                }
            // Not vacuous: the planted value reaches some rows and misses others (causal rows
            // well before its key never meet it; the huge values overflow only some sums).
            CHECK(bad > 0, "no non-finite row");
            if (kind == 0 || causal) CHECK(good > 0, "no finite row");
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// HSR: a non-finite query row is NaN with no certificate (it used to be rejected); overflowing
// finite inputs never give a NaN row with a finite bound.
TEST(nonfinite_hsr) {
    const int64_t N = 300, D = 16;
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_F16})
    for (int32_t mode : {HA_HSR_SOFTMAX, HA_HSR_RELU}) {
        begin_case(format("hsr NaN query mode=%d %s", mode, dtype_str(dt)));
        HostTensor q = make_tensor(dt, 1, 2, 3, D, 0);
        HostTensor k = make_tensor(dt, 1, 1, N, D, 0);
        HostTensor v = make_tensor(dt, 1, 1, N, D, 0);
        q.fill_normal(1);
        k.fill_normal(1);
        v.fill_normal(1);
        q.set(0, 1, 2, 4, kNaN);
        q.set(0, 0, 1, 0, -kInf);
        HostTensor out = make_tensor(dt, 1, 2, 3, D, 0);
        ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
        ha_hsr_params p;
        ha_hsr_params_init(&p);
        p.mode = mode;
        float dropped[6], bound[6];
        int64_t touched[6];
        ha_hsr_stats st{dropped, bound, touched};
        const int32_t s = ha_attention_hsr(&tq, &tk, &tv, &to, nullptr, &p, &st);
        CHECK(s == HA_OK, "status %d: %s", s, ha_last_error());
        for (int64_t h = 0; h < 2; ++h)
            for (int64_t i = 0; i < 3; ++i) {
                const int64_t r = h * 3 + i;
                const bool bad = (h == 1 && i == 2) || (h == 0 && i == 1);
                CHECK(bad ? row_all_nan(out, h, i) : row_finite(out, h, i), "row %lld", (long long)r);
                if (bad)
                    CHECK(dropped[r] == kInf && bound[r] == kInf, "row %lld: dropped %g bound %g",
                          (long long)r, double(dropped[r]), double(bound[r]));
                else
                    CHECK(std::isfinite(dropped[r]) && std::isfinite(bound[r]), "row %lld", (long long)r);
            }
        end_case();
    }
    {
        begin_case("hsr overflowing scores: no certificate on a non-finite row");
        const int64_t D2 = 256, nk = 100;
        HostTensor q = make_tensor(HA_DTYPE_F32, 1, 1, 2, D2, 0);
        HostTensor k = make_tensor(HA_DTYPE_F32, 1, 1, nk, D2, 0);
        HostTensor v = make_tensor(HA_DTYPE_F32, 1, 1, nk, D2, 0);
        v.fill_normal(1);
        std::uniform_real_distribution<float> u(0.5f, 1.f);
        for (int64_t d = 0; d < D2; ++d) {
            q.set(0, 0, 0, d, 1e19f * u(rng()));
            q.set(0, 0, 1, d, -1e19f * u(rng()));
            for (int64_t j = 0; j < nk; ++j) k.set(0, 0, j, d, (j % 2 ? 1e19f : -1e19f) * u(rng()));
        }
        HostTensor out = make_tensor(HA_DTYPE_F32, 1, 1, 2, D2, 0);
        ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
        float dropped[2], bound[2];
        int64_t touched[2];
        ha_hsr_stats st{dropped, bound, touched};
        const int32_t s = ha_attention_hsr(&tq, &tk, &tv, &to, nullptr, nullptr, &st);
        if (s == HA_OK) {
            for (int64_t i = 0; i < 2; ++i)
                if (!row_finite(out, 0, i))
                    CHECK(row_all_nan(out, 0, i) && dropped[i] == kInf && bound[i] == kInf,
                          "row %lld: non-finite output with dropped %g, bound %g", (long long)i,
                          double(dropped[i]), double(bound[i]));
        } else {
            CHECK(s == HA_ERR_INVALID_ARGUMENT && ha_last_error()[0] != 0, "status %d", s);
        }
        end_case();
    }
}

}  // namespace
