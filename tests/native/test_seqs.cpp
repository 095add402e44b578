// Sliding windows, logit soft-capping, and batches of sequences (packed, padded and paged keys)
// for exact attention: against the float64 reference, and bit for bit against one
// ha_attention_exact call per sequence (the paged cache against a contiguous copy).
#include <algorithm>
#include <numeric>

#include "cases.h"

using namespace hat;

namespace {

struct Mask {
    bool causal;
    int32_t wl, wr;  // window_left / window_right, -1 unbounded
    float cap;       // soft cap, 0 off
};

std::string describe_mask(const Mask& m) {
    return format("causal=%d window=(%d,%d) softcap=%g", m.causal ? 1 : 0, m.wl, m.wr, double(m.cap));
}

ha_exact_params params_of(const Mask& m, float scale) {
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = m.causal ? 1 : 0;
    p.window_left = m.wl;
    p.window_right = m.wr;
    p.softcap = m.cap;
    p.scale = scale;
    return p;
}

double scale_of(float scale, int64_t D) { return scale != 0 ? scale : 1.0 / std::sqrt(double(D)); }

// ---- window and soft cap on one dense problem --------------------------------------------

struct WindowCase {
    Problem p;
    Mask m;
};

const WindowCase kWindowCases[] = {
    {{2, 4, 2, 70, 130, 128, true, 0}, {true, 31, -1, 0}},     // windows cross tile edges
    {{1, 4, 4, 100, 300, 63, false, 0}, {false, -1, 10, 0}},
    {{1, 4, 4, 100, 300, 63, false, 0}, {false, 64, 64, 0}},
    {{1, 8, 2, 1, 4099, 64, false, 0}, {true, 1000, -1, 0}},   // decode, split-KV chunks
    {{1, 32, 8, 1, 700, 128, false, 0}, {true, 100, -1, 30.f}},  // decode, window + cap
    {{1, 2, 1, 40, 150, 80, true, 0}, {true, -1, -1, 50.f}},
    {{1, 8, 2, 3, 300, 128, true, 0}, {true, 0, 5, 0}},        // causal caps the right side
    {{1, 2, 2, 200, 1000, 128, false, 0}, {false, -1, -1, 2.f}},  // prepacked tiles, cap
    {{1, 2, 2, 200, 1000, 128, true, 0}, {true, 129, -1, 0}},     // prepacked tiles, window
    {{1, 2, 1, 5, 3001, 128, true, 0}, {false, 2000, 100, 0}},    // non-causal, both sides
};

// The small cases, a test of their own (below) that a run under qemu-user can afford: both
// window sides, a cap, Nq > Nk, a window of one position.
const WindowCase kSmallWindowCases[] = {
    {{1, 2, 1, 17, 33, 64, false, 0}, {false, 3, 2, 0}},
    {{1, 2, 1, 17, 33, 64, false, 0}, {true, 5, -1, 0}},
    {{1, 2, 2, 65, 65, 16, false, 1.0f}, {false, -1, -1, 5.f}},  // peaked scores, capped
    {{1, 2, 1, 9, 4, 80, true, 0}, {true, 1, -1, 0}},          // Nq > Nk and a window
    {{1, 2, 1, 20, 20, 32, false, 0}, {false, 0, 0, 0}},       // only the row's own position
};

void run_window_case(const WindowCase& c, int32_t dtype, const int layouts[4],
                     const std::string& prefix) {
    const Problem& p = c.p;
    begin_case(prefix + describe(p, dtype, layouts[0]) + " " + describe_mask(c.m));
    HostTensor q = make_tensor(dtype, p.B, p.Hq, p.Nq, p.D, layouts[0]);
    HostTensor k = make_tensor(dtype, p.B, p.Hkv, p.Nk, p.D, layouts[1]);
    HostTensor v = make_tensor(dtype, p.B, p.Hkv, p.Nk, p.D, layouts[2]);
    HostTensor out = make_tensor(dtype, p.B, p.Hq, p.Nq, p.D, layouts[3]);
    HostTensor lse = make_lse(p.B, p.Hq, p.Nq, layouts[0] % 2 == 1);
    q.fill_normal(1.0f);
    k.fill_normal(1.0f);
    v.fill_normal(1.0f);
    out.poison();
    lse.poison();
    const ha_exact_params params = params_of(c.m, p.scale);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    const int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &params);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    const RefResult ref = reference_masked(q, k, v, scale_of(p.scale, p.D), c.m.causal, c.m.wl,
                                           c.m.wr, c.m.cap);
    compare_output(out, ref, out_tolerance(dtype, max_abs(v)), &lse, lse_tolerance(dtype));
}

// ---- helpers for batches ----------------------------------------------------------------

// A view of rows [r0, r0 + n) along dim 2 (packed) or of batch entry r0 (dim 0) of t.
ha_tensor sub_view(HostTensor& t, int dim, int64_t r0, int64_t n_seq) {
    ha_tensor d = t.desc();
    d.data = static_cast<char*>(t.data()) + r0 * t.strides[dim] * t.esize();
    d.shape[0] = 1;
    d.shape[2] = n_seq;
    return d;
}

// Values of rows [r0, r0+n) (dim 2) or batch r0 (dim 0), heads and dims, as a dense tensor.
HostTensor copy_rows(const HostTensor& t, int dim, int64_t r0, int64_t n, const int perm[4]) {
    HostTensor c = HostTensor::dense(t.dtype, 1, t.shape[1], n, t.shape[3], perm);
    for (int64_t h = 0; h < t.shape[1]; ++h)
        for (int64_t s = 0; s < n; ++s)
            for (int64_t d = 0; d < t.shape[3]; ++d)
                c.set(0, h, s, d, dim == 2 ? t.get(0, h, r0 + s, d) : t.get(r0, h, s, d));
    return c;
}

constexpr int kBHSD[4] = {0, 1, 2, 3};
constexpr int kBSHD[4] = {0, 2, 1, 3};

// Bit equality of the rows [r0, r0+n) (dim 2) or batch r0 (dim 0) of `got` with `want`
// ([1, H, n, D]); and the lse likewise. Returns mismatches.
int64_t count_mismatch(const HostTensor& got, int dim, int64_t r0, const HostTensor& want,
                       const HostTensor* got_lse, const HostTensor* want_lse) {
    int64_t bad = 0;
    for (int64_t h = 0; h < want.shape[1]; ++h)
        for (int64_t s = 0; s < want.shape[2]; ++s) {
            for (int64_t d = 0; d < want.shape[3]; ++d) {
                const float a = dim == 2 ? got.get(0, h, r0 + s, d) : got.get(r0, h, s, d);
                const float b = want.get(0, h, s, d);
                if (std::memcmp(&a, &b, 4) != 0) ++bad;
            }
            if (got_lse) {
                const float a = dim == 2 ? got_lse->get(0, h, r0 + s, 0) : got_lse->get(r0, h, s, 0);
                const float b = want_lse->get(0, h, s, 0);
                if (std::memcmp(&a, &b, 4) != 0) ++bad;
            }
        }
    return bad;
}

// Max |got - ref| over the rows of one sequence (NaN counts as infinite).
double seq_error(const HostTensor& got, int dim, int64_t r0, const RefResult& ref) {
    double worst = 0;
    for (int64_t h = 0; h < ref.H; ++h)
        for (int64_t s = 0; s < ref.N; ++s)
            for (int64_t d = 0; d < ref.D; ++d) {
                const double g = dim == 2 ? got.get(0, h, r0 + s, d) : got.get(r0, h, s, d);
                const double e = std::fabs(g - ref.o(0, h, s, d));
                worst = std::isnan(e) ? INFINITY : std::max(worst, e);
            }
    return worst;
}

// One sequence solved alone with ha_attention_exact: its q/k/v views, dense outputs.
struct Alone {
    HostTensor out, lse;
};
Alone solve_alone(ha_tensor tq, ha_tensor tk, ha_tensor tv, int32_t dtype, const ha_exact_params& prm) {
    Alone a{HostTensor::dense(dtype, 1, tq.shape[1], tq.shape[2], tq.shape[3], kBHSD),
            make_lse(1, tq.shape[1], tq.shape[2], false)};
    a.out.poison();
    a.lse.poison();
    ha_tensor to = a.out.desc(), tl = a.lse.desc();
    const int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &prm);
    CHECK(st == HA_OK, "alone: status %d: %s", st, ha_last_error());
    return a;
}

// ---- packed queries and keys (varlen) -----------------------------------------------------

void run_varlen(int32_t dtype, int64_t Hq, int64_t Hkv, int64_t D, const std::vector<int64_t>& nq,
                const std::vector<int64_t>& nk, const Mask& m, bool padded, const std::string& prefix) {
    const int64_t B = int64_t(nq.size());
    begin_case(prefix + format("varlen %s B=%lld Hq=%lld Hkv=%lld D=%lld %s%s",
                               dtype_str(dtype), (long long)B, (long long)Hq,
                               (long long)Hkv, (long long)D, describe_mask(m).c_str(),
                               padded ? " padded" : ""));
    std::vector<int32_t> cu_q(size_t(B + 1), 0), cu_k(size_t(B + 1), 0);
    for (int64_t b = 0; b < B; ++b) {
        cu_q[size_t(b + 1)] = cu_q[size_t(b)] + int32_t(nq[size_t(b)]);
        cu_k[size_t(b + 1)] = cu_k[size_t(b)] + int32_t(nk[size_t(b)]);
    }
    const int64_t tq_rows = cu_q.back() + 3, tk_rows = cu_k.back() + 2;  // rows of no sequence
    auto packed = [&](int64_t H, int64_t total) {
        const int64_t dh = padded ? D + 2 : D, row = H * dh + (padded ? 3 : 0);
        const int64_t shape[4] = {1, H, total, D}, strides[4] = {total * row, dh, row, 1};
        return HostTensor::make(dtype, shape, strides);
    };
    HostTensor q = packed(Hq, tq_rows), k = packed(Hkv, tk_rows), v = packed(Hkv, tk_rows);
    HostTensor out = packed(Hq, tq_rows);
    HostTensor lse = make_lse(1, Hq, tq_rows, padded);
    q.fill_normal(1.0f);
    k.fill_normal(1.0f);
    v.fill_normal(1.0f);
    out.poison();
    lse.poison();
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.cu_seqlens_q = cu_q.data();
    seqs.cu_seqlens_k = cu_k.data();
    const ha_exact_params prm = params_of(m, 0);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, &tl, &seqs, &prm);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    const double tol = out_tolerance(dtype, max_abs(v));
    for (int64_t b = 0; b < B; ++b) {
        const int64_t q0 = cu_q[size_t(b)], k0 = cu_k[size_t(b)];
        const int64_t n_q = nq[size_t(b)], n_k = nk[size_t(b)];
        if (n_q == 0) continue;
        Alone a = solve_alone(sub_view(q, 2, q0, n_q), sub_view(k, 2, k0, n_k),
                              sub_view(v, 2, k0, n_k), dtype, prm);
        const int64_t bad = count_mismatch(out, 2, q0, a.out, &lse, &a.lse);
        CHECK(bad == 0, "sequence %lld: %lld values differ from the call on it alone",
              (long long)b, (long long)bad);
        const RefResult ref = reference_masked(copy_rows(q, 2, q0, n_q, kBHSD),
                                               copy_rows(k, 2, k0, n_k, kBHSD),
                                               copy_rows(v, 2, k0, n_k, kBHSD),
                                               scale_of(0, D), m.causal, m.wl, m.wr, m.cap);
        const double err = seq_error(out, 2, q0, ref);
        CHECK(err <= tol, "sequence %lld: max error %.3g > %.3g", (long long)b, err, tol);
    }
    // Rows of no sequence keep their poison.
    for (int64_t h = 0; h < Hq; ++h)
        for (int64_t r = cu_q.back(); r < tq_rows; ++r) {
            CHECK(std::isnan(out.get(0, h, r, 0)) && std::isnan(lse.get(0, h, r, 0)),
                  "row %lld of no sequence was written", (long long)r);
        }
    CHECK(gaps_untouched(out), "bytes outside the output view were written");
}

// ---- paged keys -------------------------------------------------------------------------

void run_paged(int32_t dtype, int64_t Hq, int64_t Hkv, int64_t D, int64_t ps,
               const std::vector<int64_t>& lens, int64_t nq, const Mask& m,
               const std::string& prefix) {
    const int64_t B = int64_t(lens.size());
    begin_case(prefix + format("paged %s B=%lld Hq=%lld Hkv=%lld D=%lld page=%lld nq=%lld %s",
                               dtype_str(dtype), (long long)B, (long long)Hq,
                               (long long)Hkv, (long long)D, (long long)ps, (long long)nq,
                               describe_mask(m).c_str()));
    int64_t max_pages = 1, used = 0;
    for (int64_t n : lens) {
        max_pages = std::max(max_pages, (n + ps - 1) / ps);
        used += (n + ps - 1) / ps;
    }
    const int64_t num_pages = used + 3, table_stride = max_pages + 1;
    std::vector<int32_t> perm(static_cast<size_t>(num_pages));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng());
    // Unused entries hold an invalid page index: they must never be read.
    std::vector<int32_t> table(size_t(B * table_stride), -7);
    std::vector<int32_t> seqlens(static_cast<size_t>(B));
    int64_t next = 0;
    for (int64_t b = 0; b < B; ++b) {
        seqlens[size_t(b)] = int32_t(lens[size_t(b)]);
        for (int64_t j = 0; j < (lens[size_t(b)] + ps - 1) / ps; ++j)
            table[size_t(b * table_stride + j)] = perm[size_t(next++)];
    }
    // Pages [num_pages, page_size, Hkv, D] in memory, viewed as [num_pages, Hkv, page_size, D].
    const int64_t shape[4] = {num_pages, Hkv, ps, D}, strides[4] = {ps * Hkv * D, D, Hkv * D, 1};
    HostTensor k = HostTensor::make(dtype, shape, strides), v = HostTensor::make(dtype, shape, strides);
    k.fill_normal(1.0f);
    v.fill_normal(1.0f);
    HostTensor q = HostTensor::dense(dtype, B, Hq, nq, D, kBSHD);
    HostTensor out = HostTensor::dense(dtype, B, Hq, nq, D, kBSHD);
    HostTensor lse = make_lse(B, Hq, nq, false);
    q.fill_normal(1.0f);
    out.poison();
    lse.poison();
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.page_size = int32_t(ps);
    seqs.seqlens_k = seqlens.data();
    seqs.block_table = table.data();
    seqs.block_table_stride = table_stride;
    seqs.max_pages = int32_t(max_pages);
    const ha_exact_params prm = params_of(m, 0);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, &tl, &seqs, &prm);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    const double tol = out_tolerance(dtype, max_abs(v));
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lens[size_t(b)];
        // The sequence's cache copied out of its pages into one contiguous [1, n, Hkv, D].
        HostTensor kc = HostTensor::dense(dtype, 1, Hkv, n, D, kBSHD);
        HostTensor vc = HostTensor::dense(dtype, 1, Hkv, n, D, kBSHD);
        for (int64_t j = 0; j < n; ++j) {
            const int64_t pg = table[size_t(b * table_stride + j / ps)], in = j % ps;
            for (int64_t h = 0; h < Hkv; ++h)
                for (int64_t d = 0; d < D; ++d) {
                    kc.set(0, h, j, d, k.get(pg, h, in, d));
                    vc.set(0, h, j, d, v.get(pg, h, in, d));
                }
        }
        Alone a = solve_alone(sub_view(q, 0, b, nq), kc.desc(), vc.desc(), dtype, prm);
        const int64_t bad = count_mismatch(out, 0, b, a.out, &lse, &a.lse);
        CHECK(bad == 0, "sequence %lld: %lld values differ from a contiguous copy",
              (long long)b, (long long)bad);
        const RefResult ref = reference_masked(copy_rows(q, 0, b, nq, kBHSD), kc, vc,
                                               scale_of(0, D), m.causal, m.wl, m.wr, m.cap);
        const double err = seq_error(out, 0, b, ref);
        CHECK(err <= tol, "sequence %lld: max error %.3g > %.3g", (long long)b, err, tol);
    }
}

// ---- a padded dense cache with per-sequence lengths ---------------------------------------

void run_padded_cache(int32_t dtype, int64_t Hq, int64_t Hkv, int64_t D, int64_t cap_keys,
                      const std::vector<int64_t>& lens, int64_t nq, const Mask& m,
                      const std::string& prefix) {
    const int64_t B = int64_t(lens.size());
    begin_case(prefix + format("padded cache %s B=%lld n_k<=%lld nq=%lld %s",
                               dtype_str(dtype), (long long)B,
                               (long long)cap_keys, (long long)nq, describe_mask(m).c_str()));
    HostTensor k = make_tensor(dtype, B, Hkv, cap_keys, D, PADDED);
    HostTensor v = make_tensor(dtype, B, Hkv, cap_keys, D, BSHD);
    HostTensor q = make_tensor(dtype, B, Hq, nq, D, BHSD);
    HostTensor out = make_tensor(dtype, B, Hq, nq, D, BSHD);
    k.fill_normal(1.0f);
    v.fill_normal(1.0f);
    q.fill_normal(1.0f);
    out.poison();
    std::vector<int32_t> seqlens(lens.begin(), lens.end());
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.seqlens_k = seqlens.data();
    const ha_exact_params prm = params_of(m, 0);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
    const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &seqs, &prm);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    for (int64_t b = 0; b < B; ++b) {
        Alone a = solve_alone(sub_view(q, 0, b, nq), sub_view(k, 0, b, lens[size_t(b)]),
                              sub_view(v, 0, b, lens[size_t(b)]), dtype, prm);
        const int64_t bad = count_mismatch(out, 0, b, a.out, nullptr, nullptr);
        CHECK(bad == 0, "sequence %lld: %lld values differ from the call on it alone",
              (long long)b, (long long)bad);
    }
}

std::vector<int64_t> random_lengths(int64_t n, int64_t lo, int64_t hi) {
    std::uniform_int_distribution<int64_t> u(lo, hi);
    std::vector<int64_t> r(static_cast<size_t>(n));
    for (auto& x : r) x = u(rng());
    return r;
}

}  // namespace

namespace {
template <size_t N>
void window_cases_on_every_isa(const WindowCase (&cases)[N]) {
    int n = 0;
    for (int32_t isa : supported_isas()) {
        CHECK(ha_set_cpu_isa(isa) == HA_OK, "set isa %d", isa);
        for (const WindowCase& c : cases)
            for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
                const int l = n++ % NUM_LAYOUTS;
                const int layouts[4] = {l, (l + 1) % NUM_LAYOUTS, (l + 2) % NUM_LAYOUTS,
                                        (l + 3) % NUM_LAYOUTS};
                run_window_case(c, dtype, layouts, format("[%s] ", isa_name(isa)));
                end_case();
            }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}
}  // namespace

TEST(exact_window_and_softcap_match_reference) { window_cases_on_every_isa(kWindowCases); }

TEST(window_and_softcap_small_cases_on_every_isa) { window_cases_on_every_isa(kSmallWindowCases); }

// With a soft cap an infinite score is capped like any other (tanh's limits): the row stays
// finite and equals the reference; without one it is NaN (the non-finite policy).
TEST(softcap_bounds_infinite_scores) {
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            begin_case(format("[%s] %s", isa_name(isa), dtype_str(dtype)));
            HostTensor q = make_tensor(dtype, 1, 2, 5, 32, BHSD);
            HostTensor k = make_tensor(dtype, 1, 1, 70, 32, BHSD);
            HostTensor v = make_tensor(dtype, 1, 1, 70, 32, BHSD);
            HostTensor out = make_tensor(dtype, 1, 2, 5, 32, BHSD);
            q.fill_normal(1.0f);
            k.fill_normal(1.0f);
            v.fill_normal(1.0f);
            for (int64_t j = 0; j < 70; ++j)  // no 0 * inf: every k[j][0] is nonzero
                if (k.get(0, 0, j, 0) == 0.f) k.set(0, 0, j, 0, 0.5f);
            q.set(0, 1, 2, 0, INFINITY);
            out.poison();
            const Mask m{false, -1, -1, 20.f};
            const ha_exact_params prm = params_of(m, 0);
            ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
            CHECK(ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &prm) == HA_OK, "%s",
                  ha_last_error());
            const RefResult ref = reference_masked(q, k, v, scale_of(0, 32), false, -1, -1, 20.0);
            compare_output(out, ref, out_tolerance(dtype, max_abs(v)));
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

TEST(varlen_equals_one_call_per_sequence) {
    int n = 0;
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        const std::string pre = format("[%s] ", isa_name(isa));
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            const bool padded = n++ % 2 == 1;
            // Prefill: equal and unequal lengths, an empty sequence, Nq > Nk.
            run_varlen(dtype, 4, 2, 64, {17, 0, 130, 5, 70}, {17, 9, 130, 3, 200},
                       {true, -1, -1, 0}, padded, pre);
            end_case();
            run_varlen(dtype, 2, 1, 40, {33, 1, 64}, {33, 500, 64}, {false, -1, -1, 0}, padded,
                       pre);
            end_case();
            run_varlen(dtype, 8, 2, 128, {100, 1, 7}, {300, 2100, 7}, {true, 50, -1, 10.f},
                       !padded, pre);
            end_case();
            // Decoding: one row per sequence, caches of different lengths.
            const auto lens = random_lengths(6, 1, 900);
            run_varlen(dtype, 8, 2, 64, {1, 1, 1, 1, 1, 1}, lens, {true, -1, -1, 0}, padded, pre);
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

TEST(paged_equals_contiguous_cache) {
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        const std::string pre = format("[%s] ", isa_name(isa));
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
            for (int64_t ps : {1, 3, 16, 64, 100}) {
                // Decoding (GQA 4 per kv head), a few rows with a window, and a prefill chunk
                // (query tiles over a cache, prepacked when long).
                run_paged(dtype, 8, 2, 128, ps, random_lengths(5, 1, 700), 1, {true, -1, -1, 0},
                          pre);
                end_case();
                run_paged(dtype, 4, 4, 64, ps, random_lengths(3, 1, 300), 3, {true, 40, -1, 0},
                          pre);
                end_case();
                run_paged(dtype, 2, 1, 80, ps, {150, 400}, 130, {true, -1, -1, 0}, pre);
                end_case();
            }
        // A long decode: split-KV chunks over pages, and a soft cap.
        run_paged(HA_DTYPE_BF16, 32, 8, 128, 16, {4099, 2500}, 1, {true, -1, -1, 50.f}, pre);
        end_case();
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

TEST(padded_cache_lengths_equal_one_call_per_sequence) {
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        const std::string pre = format("[%s] ", isa_name(isa));
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            run_padded_cache(dtype, 8, 2, 64, 600, {600, 1, 0, 333}, 1, {true, -1, -1, 0}, pre);
            end_case();
            run_padded_cache(dtype, 4, 2, 32, 200, {70, 200}, 9, {true, 20, -1, 0}, pre);
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// Every malformed batch is an error naming the argument, and nothing is written.
TEST(seqs_validation_names_the_argument) {
    const int64_t D = 16, ps = 4;
    HostTensor q = make_tensor(HA_DTYPE_F32, 2, 2, 3, D, BHSD);
    HostTensor out = make_tensor(HA_DTYPE_F32, 2, 2, 3, D, BHSD);
    const int64_t pshape[4] = {5, 1, ps, D}, pstrides[4] = {ps * D, D, D, 1};
    HostTensor k = HostTensor::make(HA_DTYPE_F32, pshape, pstrides);
    HostTensor v = HostTensor::make(HA_DTYPE_F32, pshape, pstrides);
    q.fill_normal(1.0f);
    k.fill_normal(1.0f);
    v.fill_normal(1.0f);
    out.poison();
    std::vector<int32_t> table = {0, 1, 2, 3, 4, 0};
    std::vector<int32_t> lens = {8, 11};
    auto good = [&] {
        ha_seqs s;
        ha_seqs_init(&s);
        s.count = 2;
        s.page_size = int32_t(ps);
        s.seqlens_k = lens.data();
        s.block_table = table.data();
        s.block_table_stride = 3;
        s.max_pages = 3;
        return s;
    };
    auto expect = [&](const char* what, ha_seqs s, ha_exact_params prm, const char* needle) {
        begin_case(format("seqs validation: %s", what));
        ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
        const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &s, &prm);
        CHECK(st == HA_ERR_INVALID_ARGUMENT, "status %d", st);
        CHECK(std::strstr(ha_last_error(), needle) != nullptr, "message '%s' lacks '%s'",
              ha_last_error(), needle);
        CHECK(std::isnan(out.get(0, 0, 0, 0)), "out was written");
        end_case();
    };
    ha_exact_params prm;
    ha_exact_params_init(&prm);
    {
        begin_case("seqs validation: a good call works");
        ha_seqs s = good();
        ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
        CHECK(ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &s, &prm) == HA_OK, "%s",
              ha_last_error());
        out.poison();
        end_case();
    }
    ha_seqs s = good();
    s.block_table_stride = 2;
    expect("table stride", s, prm, "seqs.block_table_stride");
    s = good();
    lens[1] = 13;
    expect("length beyond the table", s, prm, "seqs.seqlens_k[1]");
    lens[1] = 11;
    table[4] = 5;
    expect("page out of range", s, prm, "seqs.block_table[1][1]");
    table[4] = -1;
    expect("negative page", s, prm, "seqs.block_table[1][1]");
    table[4] = 4;
    s = good();
    s.seqlens_k = nullptr;
    expect("no lengths", s, prm, "seqs.seqlens_k");
    s = good();
    s.page_size = 3;
    expect("page size differs from k", s, prm, "seqs.page_size");
    s = good();
    s.count = 3;
    expect("count differs from q", s, prm, "seqs.count");
    s = good();
    s.reserved = 1;
    expect("reserved", s, prm, "seqs.reserved");
    s = good();
    s.page_size = 0;
    expect("table without paging", s, prm, "seqs.block_table");
    s = good();
    std::vector<int32_t> cu = {0, 2, 1};
    s.cu_seqlens_k = cu.data();
    expect("cu_seqlens_k with pages", s, prm, "seqs.cu_seqlens_k");
    s = good();
    s.count = -1;
    expect("negative count", s, prm, "seqs.count");
    ha_exact_params bad = prm;
    bad.window_left = -2;
    expect("window_left", good(), bad, "params.window_left");
    bad = prm;
    bad.window_right = -5;
    expect("window_right", good(), bad, "params.window_right");
    bad = prm;
    bad.softcap = -1.f;
    expect("softcap", good(), bad, "params.softcap");
    bad.softcap = NAN;
    expect("softcap NaN", good(), bad, "params.softcap");
    bad = prm;
    bad.reserved = 3;
    expect("params.reserved", good(), bad, "params.reserved");

    // Packed queries: offsets that decrease or overrun q.
    HostTensor qp = make_tensor(HA_DTYPE_F32, 1, 2, 6, D, BSHD);
    HostTensor op = make_tensor(HA_DTYPE_F32, 1, 2, 6, D, BSHD);
    qp.fill_normal(1.0f);
    op.poison();
    auto expect_packed = [&](const char* what, std::vector<int32_t> cuq, const char* needle) {
        begin_case(format("seqs validation: %s", what));
        ha_seqs s2 = good();
        s2.cu_seqlens_q = cuq.data();
        ha_tensor tq = qp.desc(), tk = k.desc(), tv = v.desc(), to = op.desc();
        const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &s2, &prm);
        CHECK(st == HA_ERR_INVALID_ARGUMENT, "status %d", st);
        CHECK(std::strstr(ha_last_error(), needle) != nullptr, "message '%s' lacks '%s'",
              ha_last_error(), needle);
        CHECK(std::isnan(op.get(0, 0, 0, 0)), "out was written");
        end_case();
    };
    expect_packed("decreasing offsets", {0, 4, 3}, "seqs.cu_seqlens_q");
    expect_packed("offsets past q", {0, 4, 7}, "seqs.cu_seqlens_q[2]");
    expect_packed("first offset", {1, 4, 5}, "seqs.cu_seqlens_q[0]");

    begin_case("seqs validation: NULL seqs, and the exact call's window checks");
    {
        ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
        CHECK(ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, nullptr, &prm) ==
                  HA_ERR_INVALID_ARGUMENT, "NULL seqs");
        CHECK(std::strstr(ha_last_error(), "seqs") != nullptr, "%s", ha_last_error());
        HostTensor kk = make_tensor(HA_DTYPE_F32, 2, 1, 5, D, BHSD);
        kk.fill_normal(1.0f);
        ha_tensor tkk = kk.desc();
        ha_exact_params w = prm;
        w.window_left = -3;
        CHECK(ha_attention_exact(&tq, &tkk, &tkk, &to, nullptr, &w) == HA_ERR_INVALID_ARGUMENT,
              "exact window_left");
        CHECK(std::strstr(ha_last_error(), "params.window_left") != nullptr, "%s", ha_last_error());
    }
    end_case();
}
