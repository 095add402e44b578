// HyperAttention (ha_attention_hyper) against float64 references:
//  * where it must be exact (Nk <= min_seq_len, block >= n, the first causal leaf) against
//    exact attention;
//  * everywhere else against an independent float64 implementation of the documented
//    decomposition (sorted blocks, key windows, masked samples with weight Nk/m, causal
//    halving), fed the same random draws through the white-box header hyper_random.h;
//  * statistically: the error falls with the sample and block sizes, and is far lower on
//    inputs with structure than on Gaussian noise.
#include <algorithm>
#include <limits>
#include <numeric>

#include "cases.h"
#include "cpu/hyper/bucket_rank.h"
#include "cpu/hyper/hyper_random.h"

using namespace hat;
namespace hy = ha::cpu::hyper;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct HyperCase {
    int64_t B, Hq, Hkv, Nq, Nk, D;
    bool causal;
    int32_t block, samples, min_seq_len, projections;
};

std::string describe(const HyperCase& c, int32_t dtype, int layout) {
    return format("B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s %s block=%d m=%d min=%d r=%d %s",
                  (long long)c.B, (long long)c.Hq, (long long)c.Hkv, (long long)c.Nq,
                  (long long)c.Nk, (long long)c.D, c.causal ? "causal" : "full",
                  dtype_str(dtype), c.block, c.samples, c.min_seq_len,
                  c.projections, layout_name(layout));
}

ha_hyper_params params_of(const HyperCase& c, uint64_t seed) {
    ha_hyper_params p;
    ha_hyper_params_init(&p);
    p.causal = c.causal;
    p.block_size = c.block;
    p.sample_size = c.samples;
    p.min_seq_len = c.min_seq_len;
    p.lsh_projections = c.projections;
    p.seed = seed;
    return p;
}

// ---- the float64 implementation of the decomposition ------------------------------------

// Bucket rank of a row, as documented: projection j = sum over d (in order) of x[d] * h[j][d]
// in double, bit j set when it is > 0, rank = inverse Gray code of the bits.
uint32_t ref_rank(const HostTensor& x, int64_t b, int64_t h, int64_t i,
                  const std::vector<float>& planes, int r) {
    const int64_t D = x.shape[3];
    uint32_t code = 0;
    for (int j = 0; j < r; ++j) {
        double s = 0.0;
        for (int64_t d = 0; d < D; ++d)
            s += double(x.get(b, h, i, d)) * double(planes[size_t(j * D + d)]);
        if (s > 0.0) code |= 1u << j;
    }
    return hy::bucket_rank(code);
}

// A tensor's values as a dense [b][h][s][d] float64 array.
std::vector<double> dense(const HostTensor& t) {
    std::vector<double> out;
    out.reserve(size_t(t.elements()));
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d) out.push_back(double(t.get(b, h, s, d)));
    return out;
}

// One query row's softmax over a growing set of weighted keys, in float64.
struct RowAcc {
    double m = -kInf, l = 0;
    std::vector<double> o;
    void add(double score, const double* v, int64_t D) {
        if (o.empty()) o.assign(size_t(D), 0.0);
        if (score > m) {
            const double a = m == -kInf ? 0.0 : std::exp(m - score);
            l *= a;
            for (double& x : o) x *= a;
            m = score;
        }
        const double p = std::exp(score - m);
        l += p;
        for (int64_t d = 0; d < D; ++d) o[size_t(d)] += p * v[d];
    }
};

struct Piece {
    bool leaf;
    int64_t q0, nq, k0, nk;
};

void ref_square(std::vector<Piece>& out, int64_t q0, int64_t k0, int64_t n, int64_t min_len) {
    if (n <= min_len) {
        out.push_back({true, q0, n, k0, n});
        return;
    }
    const int64_t h = n / 2;
    ref_square(out, q0, k0, h, min_len);
    out.push_back({false, q0 + h, n - h, k0, h});
    ref_square(out, q0 + h, k0 + h, n - h, min_len);
}

RefResult reference_hyper(const HostTensor& q, const HostTensor& k, const HostTensor& v,
                          const ha_hyper_params& p) {
    const int64_t B = q.shape[0], Hq = q.shape[1], Nq = q.shape[2], D = q.shape[3];
    const int64_t Hkv = k.shape[1], Nk = k.shape[2], G = Hq / Hkv;
    const double scale = p.scale != 0 ? p.scale : 1.0 / std::sqrt(double(D));
    if (Nk <= p.min_seq_len) return reference_attention(q, k, v, scale, p.causal);

    std::vector<Piece> pieces;
    if (!p.causal) {
        pieces.push_back({false, 0, Nq, 0, Nk});
    } else if (Nk > Nq) {
        pieces.push_back({false, 0, Nq, 0, Nk - Nq});
        ref_square(pieces, 0, Nk - Nq, Nq, p.min_seq_len);
    } else {
        ref_square(pieces, Nq - Nk, 0, Nk, p.min_seq_len);
    }
    const int r = p.lsh_projections;
    const int64_t blk = p.block_size;
    const std::vector<float> planes = hy::hyperplanes(p.seed, r, D);
    const std::vector<double> qd = dense(q), kd = dense(k), vd = dense(v);
    auto vrow = [&](int64_t b, int64_t hk, int64_t j) { return &vd[size_t(((b * Hkv + hk) * Nk + j) * D)]; };
    auto score = [&](int64_t b, int64_t h, int64_t i, int64_t hk, int64_t j) {
        const double* x = &qd[size_t(((b * Hq + h) * Nq + i) * D)];
        const double* y = &kd[size_t(((b * Hkv + hk) * Nk + j) * D)];
        double s = 0;
        for (int64_t d = 0; d < D; ++d) s += x[d] * y[d];
        return s * scale;
    };

    RefResult res{std::vector<double>(size_t(B * Hq * Nq * D)), std::vector<double>(size_t(B * Hq * Nq)),
                  B, Hq, Nq, D};
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hq; ++h) {
            const int64_t hk = h / G;
            std::vector<RowAcc> rows(static_cast<size_t>(Nq));
            for (const Piece& pc : pieces) {
                if (pc.leaf) {
                    for (int64_t t = 0; t < pc.nq; ++t)
                        for (int64_t s = 0; s <= t; ++s)
                            rows[size_t(pc.q0 + t)].add(score(b, h, pc.q0 + t, hk, pc.k0 + s), vrow(b, hk, pc.k0 + s), D);
                    continue;
                }
                // Sort both sides by rank, ties in index order.
                std::vector<uint32_t> qr(size_t(pc.nq)), kr(size_t(pc.nk));
                for (int64_t i = 0; i < pc.nq; ++i) qr[size_t(i)] = ref_rank(q, b, h, pc.q0 + i, planes, r);
                for (int64_t j = 0; j < pc.nk; ++j) kr[size_t(j)] = ref_rank(k, b, hk, pc.k0 + j, planes, r);
                std::vector<int64_t> qs(size_t(pc.nq)), ks(size_t(pc.nk)), kpos(size_t(pc.nk));
                std::iota(qs.begin(), qs.end(), 0);
                std::iota(ks.begin(), ks.end(), 0);
                std::stable_sort(qs.begin(), qs.end(), [&](int64_t a, int64_t c) { return qr[size_t(a)] < qr[size_t(c)]; });
                std::stable_sort(ks.begin(), ks.end(), [&](int64_t a, int64_t c) { return kr[size_t(a)] < kr[size_t(c)]; });
                for (int64_t t = 0; t < pc.nk; ++t) kpos[size_t(ks[size_t(t)])] = t;
                const int64_t m = std::min<int64_t>(p.sample_size, pc.nk);
                const std::vector<int64_t> samp = hy::sample_keys(p.seed, b, hk, pc.q0, pc.k0, pc.nk, m);
                const double logw = std::log(double(pc.nk) / double(m));
                for (int64_t qa = 0; qa < pc.nq; qa += blk) {
                    const int64_t qb = std::min(pc.nq, qa + blk);
                    // The window: the same fraction of the sorted keys, at least min(blk, nk).
                    int64_t lo = qa * pc.nk / pc.nq, hi = qb * pc.nk / pc.nq;
                    const int64_t w = std::min(blk, pc.nk);
                    if (hi - lo < w) {
                        lo = std::max<int64_t>(0, std::min<int64_t>(pc.nk - w, (lo + hi - w) / 2));
                        hi = lo + w;
                    }
                    for (int64_t t = qa; t < qb; ++t) {
                        const int64_t i = pc.q0 + qs[size_t(t)];
                        RowAcc& acc = rows[size_t(i)];
                        for (int64_t u = lo; u < hi; ++u) {
                            const int64_t j = pc.k0 + ks[size_t(u)];
                            acc.add(score(b, h, i, hk, j), vrow(b, hk, j), D);
                        }
                        for (int64_t s : samp) {
                            const int64_t pos = kpos[size_t(s)];
                            if (pos >= lo && pos < hi) continue;  // already counted exactly
                            acc.add(score(b, h, i, hk, pc.k0 + s) + logw, vrow(b, hk, pc.k0 + s), D);
                        }
                    }
                }
            }
            for (int64_t i = 0; i < Nq; ++i) {
                const RowAcc& acc = rows[size_t(i)];
                double* o = &res.out[size_t(((b * Hq + h) * Nq + i) * D)];
                if (acc.l == 0) {
                    res.lse[size_t((b * Hq + h) * Nq + i)] = -kInf;
                    continue;
                }
                for (int64_t d = 0; d < D; ++d) o[d] = acc.o[size_t(d)] / acc.l;
                res.lse[size_t((b * Hq + h) * Nq + i)] = acc.m + std::log(acc.l);
            }
        }
    return res;
}

// ---- helpers ------------------------------------------------------------------------------

struct Operands {
    HostTensor q, k, v, out, lse;
};

Operands make_operands(const HyperCase& c, int32_t dtype, int layout) {
    Operands o;
    o.q = make_tensor(dtype, c.B, c.Hq, c.Nq, c.D, layout);
    o.k = make_tensor(dtype, c.B, c.Hkv, c.Nk, c.D, (layout + 1) % NUM_LAYOUTS);
    o.v = make_tensor(dtype, c.B, c.Hkv, c.Nk, c.D, (layout + 2) % NUM_LAYOUTS);
    o.out = make_tensor(dtype, c.B, c.Hq, c.Nq, c.D, (layout + 3) % NUM_LAYOUTS);
    o.lse = make_lse(c.B, c.Hq, c.Nq, layout % 2 == 1);
    o.q.fill_normal(1);
    o.k.fill_normal(1);
    o.v.fill_normal(1);
    return o;
}

int32_t run_hyper(Operands& o, const ha_hyper_params& p, bool with_lse = true) {
    o.out.poison();
    o.lse.poison();
    ha_tensor tq = o.q.desc(), tk = o.k.desc(), tv = o.v.desc(), to = o.out.desc(), tl = o.lse.desc();
    return ha_attention_hyper(&tq, &tk, &tv, &to, with_lse ? &tl : nullptr, &p, nullptr);
}

// The logical elements' bytes of out and lse, in order (storage offsets differ).
std::vector<unsigned char> result_bytes(const Operands& o) {
    std::vector<unsigned char> bytes;
    for (const HostTensor* t : {&o.out, &o.lse}) {
        const unsigned char* base = t->storage.data() + t->offset;
        for (int64_t b = 0; b < t->shape[0]; ++b)
            for (int64_t h = 0; h < t->shape[1]; ++h)
                for (int64_t s = 0; s < t->shape[2]; ++s)
                    for (int64_t d = 0; d < t->shape[3]; ++d) {
                        const unsigned char* e = base + t->index(b, h, s, d) * t->esize();
                        bytes.insert(bytes.end(), e, e + t->esize());
                    }
    }
    return bytes;
}

// Exact attention from the library (checked against float64 by test_exact) as the reference
// of the statistical tests, whose errors are orders of magnitude above fp32 rounding.
RefResult exact_reference(Operands& o, bool causal) {
    const int64_t B = o.q.shape[0], H = o.q.shape[1], N = o.q.shape[2], D = o.q.shape[3];
    HostTensor out = make_tensor(HA_DTYPE_F32, B, H, N, D, BHSD);
    HostTensor lse = make_lse(B, H, N, false);
    ha_exact_params ep;
    ha_exact_params_init(&ep);
    ep.causal = causal;
    ha_tensor tq = o.q.desc(), tk = o.k.desc(), tv = o.v.desc(), to = out.desc(), tl = lse.desc();
    CHECK(ha_attention_exact(&tq, &tk, &tv, &to, &tl, &ep) == HA_OK, "%s", ha_last_error());
    RefResult r{dense(out), dense(lse), B, H, N, D};
    return r;
}

// ||O - O_ref||_F / ||O_ref||_F over rows [row_lo, row_hi) of every head.
double relative_error(const HostTensor& out, const RefResult& ref, int64_t row_lo = 0,
                      int64_t row_hi = -1) {
    if (row_hi < 0) row_hi = ref.N;
    double num = 0, den = 0;
    for (int64_t b = 0; b < ref.B; ++b)
        for (int64_t h = 0; h < ref.H; ++h)
            for (int64_t s = row_lo; s < row_hi; ++s)
                for (int64_t d = 0; d < ref.D; ++d) {
                    const double e = double(out.get(b, h, s, d)) - ref.o(b, h, s, d);
                    num += e * e;
                    den += ref.o(b, h, s, d) * ref.o(b, h, s, d);
                }
    return std::sqrt(num / den);
}

// Rows [row_lo, row_hi) of out (and lse) against the reference, like compare_output.
void compare_rows(const HostTensor& out, const HostTensor& lse, const RefResult& ref,
                  int64_t row_lo, int64_t row_hi, double atol, double lse_tol) {
    int reported = 0;
    for (int64_t b = 0; b < ref.B; ++b)
        for (int64_t h = 0; h < ref.H; ++h)
            for (int64_t s = row_lo; s < row_hi; ++s) {
                for (int64_t d = 0; d < ref.D; ++d) {
                    const double got = out.get(b, h, s, d), want = ref.o(b, h, s, d);
                    if (!(std::fabs(got - want) <= atol) && reported++ < 3)
                        CHECK(false, "out[%lld,%lld,%lld,%lld] = %.8g, reference %.8g", (long long)b,
                              (long long)h, (long long)s, (long long)d, got, want);
                }
                const double got = lse.get(b, h, s, 0), want = ref.l(b, h, s);
                if (!(std::fabs(got - want) <= lse_tol) && reported++ < 3)
                    CHECK(false, "lse[%lld,%lld,%lld] = %.8g, reference %.8g", (long long)b,
                          (long long)h, (long long)s, got, want);
            }
}

const HyperCase kCases[] = {
    // B, Hq, Hkv, Nq, Nk, D, causal, block, samples, min_seq_len, projections
    {1, 2, 1, 1000, 1000, 64, false, 256, 128, 64, 7},  // blocks of 256, last one 232
    {1, 2, 2, 600, 1500, 48, false, 100, 50, 64, 8},    // Nq < Nk: wide key windows
    {1, 2, 1, 1500, 600, 40, false, 100, 50, 64, 3},    // Nq > Nk: windows widened to the block
    {1, 4, 2, 1000, 1000, 64, true, 64, 64, 128, 7},    // causal halving, 3 levels
    {1, 2, 1, 700, 1300, 64, true, 64, 32, 100, 6},     // causal, Nk > Nq: prefix rect
    {1, 2, 1, 1300, 700, 64, true, 64, 32, 100, 6},     // causal, Nq > Nk: rows with no key
    {1, 1, 1, 2100, 2100, 128, true, 256, 256, 256, 16},// 65536 buckets
    {1, 3, 1, 500, 500, 256, true, 128, 200, 64, 4},    // widest head_dim
};

// The small cases, a test of their own (below) that a run under qemu-user can afford: each
// feature of the decomposition at a few hundred rows, causal halving included.
const HyperCase kSmallCases[] = {
    {2, 4, 2, 257, 257, 32, false, 256, 64, 16, 5},     // last block: one query
    {1, 2, 1, 333, 333, 17, false, 1, 3, 1, 1},         // one-row blocks, one hyperplane
    {1, 2, 1, 400, 300, 32, false, 64, 1000, 16, 7},    // m >= Nk: every key sampled once
    {1, 2, 1, 300, 300, 48, true, 32, 16, 64, 4},       // causal halving, 3 levels
};

}  // namespace

TEST(hyper_bucket_ranks_are_hamming_neighbours) {
    begin_case("inverse Gray rank: a bijection whose neighbouring ranks differ in one bit, r = 1..16");
    for (int r = 1; r <= 16; ++r) {
        const uint32_t n = 1u << r;
        std::vector<uint32_t> code_of(n, ~0u);
        for (uint32_t c = 0; c < n; ++c) {
            const uint32_t rank = hy::bucket_rank(c);
            CHECK(rank < n, "r=%d: rank %u of code %u out of range", r, rank, c);
            if (rank >= n) break;
            CHECK(code_of[rank] == ~0u, "r=%d: rank %u given twice", r, rank);
            code_of[rank] = c;
            CHECK(hy::code_of_rank(rank) == c, "r=%d: code_of_rank(%u) != %u", r, rank, c);
        }
        int bad = 0;
        for (uint32_t t = 0; t + 1 < n; ++t)
            if (__builtin_popcount(code_of[t] ^ code_of[t + 1]) != 1) ++bad;
        CHECK(bad == 0, "r=%d: %d neighbouring ranks differ in more than one bit", r, bad);
    }
    // What the issue warns against: ranking codes by the forward Gray code (rank = gray(code))
    // leaves some neighbouring ranks several bits apart.
    int far = 0;
    for (uint32_t t = 0; t + 1 < 128; ++t)  // the code of rank t is then bucket_rank(t)
        if (__builtin_popcount(hy::bucket_rank(t) ^ hy::bucket_rank(t + 1)) != 1) ++far;
    CHECK(far > 0, "sanity: the forward Gray ranking should not be Hamming-adjacent everywhere");
    std::printf("     forward Gray ranking, r=7: %d of 127 neighbours differ in more than one bit\n", far);
    end_case();
}

namespace {
template <size_t N>
void hyper_cases_on_every_isa(const HyperCase (&cases)[N], int n) {
    for (int32_t isa : supported_isas()) {
        CHECK(ha_set_cpu_isa(isa) == HA_OK, "set isa %d", isa);
        for (const HyperCase& c : cases)
            for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
                const int layout = n++ % NUM_LAYOUTS;
                begin_case(format("[%s] ", isa_name(isa)) + describe(c, dtype, layout));
                Operands o = make_operands(c, dtype, layout);
                const ha_hyper_params p = params_of(c, 1234 + uint64_t(n));
                const int32_t st = run_hyper(o, p);
                CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
                if (st == HA_OK) {
                    const RefResult ref = reference_hyper(o.q, o.k, o.v, p);
                    compare_output(o.out, ref, out_tolerance(dtype, max_abs(o.v)), &o.lse,
                                   lse_tolerance(dtype));
                }
                end_case();
            }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}
}  // namespace

TEST(hyper_matches_float64_decomposition_on_every_isa) { hyper_cases_on_every_isa(kCases, 0); }

TEST(hyper_small_cases_match_float64_on_every_isa) { hyper_cases_on_every_isa(kSmallCases, 1); }

TEST(hyper_is_exact_at_or_below_min_seq_len) {
    // The same bytes as ha_attention_exact, causal or not, Nq == Nk or not.
    const HyperCase cases[] = {{1, 4, 2, 300, 300, 64, false, 16, 8, 300, 7},
                               {1, 4, 2, 300, 300, 64, true, 16, 8, 4096, 7},
                               {2, 2, 1, 50, 200, 32, true, 16, 8, 200, 3},
                               {1, 2, 1, 9, 4, 80, true, 1, 1, 4, 1},
                               {1, 2, 1, 4, 0, 64, false, 16, 8, 1, 7}};
    for (const HyperCase& c : cases)
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            begin_case("bit-identical to exact: " + describe(c, dtype, PADDED));
            Operands o = make_operands(c, dtype, PADDED);
            const ha_hyper_params p = params_of(c, 7);
            CHECK(run_hyper(o, p) == HA_OK, "%s", ha_last_error());
            const std::vector<unsigned char> hyper = result_bytes(o);
            ha_exact_params ep;
            ha_exact_params_init(&ep);
            ep.causal = c.causal;
            o.out.poison();
            o.lse.poison();
            ha_tensor tq = o.q.desc(), tk = o.k.desc(), tv = o.v.desc(), to = o.out.desc(), tl = o.lse.desc();
            CHECK(ha_attention_exact(&tq, &tk, &tv, &to, &tl, &ep) == HA_OK, "%s", ha_last_error());
            CHECK(result_bytes(o) == hyper, "differs from ha_attention_exact");
            const RefResult ref = reference_attention(o.q, o.k, o.v, 1.0 / std::sqrt(double(c.D)), c.causal);
            compare_output(o.out, ref, out_tolerance(dtype, max_abs(o.v)), &o.lse, lse_tolerance(dtype));
            end_case();
        }
}

TEST(hyper_is_exact_when_a_block_spans_the_sequence) {
    // block >= Nq or >= Nk: one window holds every key and every sample is masked.
    const HyperCase cases[] = {{1, 2, 1, 300, 450, 64, false, 500, 64, 1, 7},
                               {2, 4, 2, 600, 250, 32, false, 250, 100, 16, 9},
                               {1, 2, 2, 257, 257, 128, false, 257, 64, 64, 7}};
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (const HyperCase& c : cases)
            for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
                begin_case(format("[%s] exact: ", isa_name(isa)) + describe(c, dtype, PADDED));
                Operands o = make_operands(c, dtype, PADDED);
                CHECK(run_hyper(o, params_of(c, 99)) == HA_OK, "%s", ha_last_error());
                const RefResult ref = reference_attention(o.q, o.k, o.v, 1.0 / std::sqrt(double(c.D)), false);
                compare_output(o.out, ref, out_tolerance(dtype, max_abs(o.v)), &o.lse, lse_tolerance(dtype));
                end_case();
            }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

TEST(hyper_causal_first_leaf_is_exact) {
    // Nq = Nk = 1000, min_seq_len 128: 1000 -> 500 -> 250 -> 125, so rows 0..124 see only
    // their exact causal leaf; the rows after it are approximated (and must differ).
    const HyperCase c{1, 4, 2, 1000, 1000, 64, true, 64, 32, 128, 7};
    for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
        begin_case("causal rows 0..124 equal exact causal attention: " + describe(c, dtype, BHSD));
        Operands o = make_operands(c, dtype, BHSD);
        CHECK(run_hyper(o, params_of(c, 5)) == HA_OK, "%s", ha_last_error());
        const RefResult ref = reference_attention(o.q, o.k, o.v, 1.0 / 8.0, true);
        compare_rows(o.out, o.lse, ref, 0, 125, out_tolerance(dtype, max_abs(o.v)), lse_tolerance(dtype));
        const double rest = relative_error(o.out, ref, 125, 1000);
        CHECK(rest > 1e-2, "rows past the first leaf are approximated, yet error %.3g", rest);
        end_case();
    }
}

TEST(hyper_is_bit_identical_for_any_thread_count) {
    const HyperCase cases[] = {{2, 4, 2, 1500, 1500, 64, true, 128, 64, 256, 7},
                               {1, 4, 1, 2000, 3000, 64, false, 256, 256, 512, 7},
                               {1, 2, 1, 900, 2500, 128, true, 64, 128, 300, 5}};
    for (const HyperCase& c : cases)
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            begin_case("threads 1, 2, 3 give the same bytes; seeds differ: " + describe(c, dtype, BHSD));
            Operands o = make_operands(c, dtype, BHSD);
            const int before = ha_get_num_threads();
            ha_set_num_threads(1);
            CHECK(run_hyper(o, params_of(c, 42)) == HA_OK, "%s", ha_last_error());
            const std::vector<unsigned char> one = result_bytes(o);
            for (int t : {2, 3}) {
                ha_set_num_threads(t);
                CHECK(run_hyper(o, params_of(c, 42)) == HA_OK, "%s", ha_last_error());
                CHECK(result_bytes(o) == one, "%d threads differ from 1", t);
            }
            CHECK(run_hyper(o, params_of(c, 43)) == HA_OK, "%s", ha_last_error());
            CHECK(result_bytes(o) != one, "seeds 42 and 43 gave the same result");
            ha_set_num_threads(before);
            end_case();
        }
    ha_set_num_threads(0);
}

namespace {

// Mean relative error over a few seeds (the sampled keys are drawn per kv head).
double mean_error(Operands& o, const RefResult& ref, HyperCase c, int seeds) {
    double sum = 0;
    for (int s = 0; s < seeds; ++s) {
        CHECK(run_hyper(o, params_of(c, 1000 + uint64_t(s))) == HA_OK, "%s", ha_last_error());
        sum += relative_error(o.out, ref);
    }
    return sum / seeds;
}

// Inputs with structure, like text: the sequence is a run of segments (32 to 511 positions),
// each about one of `topics` topics (topics recur); a position's query, key and value derive
// from its topic (one token yields q, k and v) plus a little noise, and the first `sinks` keys
// are attention sinks every query leans towards. Exact attention then concentrates on the
// positions of the query's own topic, which the LSH sort brings together.
void fill_structured(Operands& o, int64_t topics, int sinks) {
    std::normal_distribution<float> nd(0.f, 1.f);
    const int64_t B = o.q.shape[0], Hq = o.q.shape[1], Hkv = o.k.shape[1], Nq = o.q.shape[2],
                  Nk = o.k.shape[2], D = o.q.shape[3], G = Hq / Hkv, N = std::max(Nq, Nk);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hk = 0; hk < Hkv; ++hk) {
            std::vector<float> centre(static_cast<size_t>(topics * D)), value(static_cast<size_t>(topics * D)),
                sink(static_cast<size_t>(D));
            std::vector<int64_t> topic(static_cast<size_t>(N));
            for (float& x : centre) x = nd(rng());
            for (float& x : value) x = nd(rng());
            for (float& x : sink) x = nd(rng());
            for (int64_t i = 0; i < N;) {
                const int64_t len = 32 + int64_t(rng()() % 480), t = int64_t(rng()() % uint64_t(topics));
                for (int64_t j = i; j < std::min(N, i + len); ++j) topic[size_t(j)] = t;
                i += len;
            }
            for (int64_t j = 0; j < Nk; ++j) {
                const int64_t c = topic[size_t(j)];
                for (int64_t d = 0; d < D; ++d) {
                    const bool is_sink = j < sinks;
                    o.k.set(b, hk, j, d, is_sink ? 2.f * sink[size_t(d)] : centre[size_t(c * D + d)] + 0.1f * nd(rng()));
                    o.v.set(b, hk, j, d, is_sink ? nd(rng()) : value[size_t(c * D + d)] + 0.5f * nd(rng()));
                }
            }
            for (int64_t g = 0; g < G; ++g)
                for (int64_t i = 0; i < Nq; ++i) {
                    const int64_t c = topic[size_t(i)];
                    for (int64_t d = 0; d < D; ++d)
                        o.q.set(b, hk * G + g, i, d,
                                centre[size_t(c * D + d)] + 0.1f * nd(rng()) + 0.1f * sink[size_t(d)]);
                }
        }
}

}  // namespace

TEST(hyper_error_falls_as_samples_and_blocks_grow) {
    // Gaussian inputs, one kv head per query head so each head draws its own samples.
    HyperCase c{1, 6, 6, 2048, 2048, 64, false, 128, 0, 64, 7};
    Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
    const RefResult ref = exact_reference(o, false);

    begin_case("error falls as sample_size grows (block 128): 32, 128, 512, then m = Nk is exact");
    std::vector<double> err;
    for (int32_t m : {32, 128, 512, 2048}) {
        c.samples = m;
        err.push_back(mean_error(o, ref, c, 3));
    }
    std::printf("     sample_size 32/128/512/2048: error %.3f %.3f %.3f %.2g\n", err[0], err[1], err[2], err[3]);
    CHECK(err[1] < 0.75 * err[0] && err[2] < 0.75 * err[1], "%.3f %.3f %.3f", err[0], err[1], err[2]);
    CHECK(err[3] < 1e-4, "m = Nk samples every key once: %.3g", err[3]);
    end_case();

    begin_case("error falls as block_size grows (m 128): 32, 512, 1536, then block = n is exact");
    err.clear();
    c.samples = 128;
    for (int32_t blk : {32, 512, 1536, 2048}) {
        c.block = blk;
        err.push_back(mean_error(o, ref, c, 3));
    }
    std::printf("     block_size 32/512/1536/2048: error %.3f %.3f %.3f %.2g\n", err[0], err[1], err[2], err[3]);
    CHECK(err[1] < 0.95 * err[0] && err[2] < 0.75 * err[1], "%.3f %.3f %.3f", err[0], err[1], err[2]);
    CHECK(err[3] < 1e-4, "block = n is exact: %.3g", err[3]);
    end_case();
}

TEST(hyper_error_on_structured_inputs_is_far_below_gaussian) {
    for (bool causal : {false, true}) {
        HyperCase c{1, 4, 2, 4096, 4096, 64, causal, 256, 256, 512, 7};
        begin_case(format("structured vs Gaussian, %s, n=4096, defaults but min_seq_len 512",
                          causal ? "causal" : "full"));
        Operands g = make_operands(c, HA_DTYPE_F32, BHSD);
        Operands s = make_operands(c, HA_DTYPE_F32, BSHD);
        fill_structured(s, 256, 4);
        const RefResult rg = exact_reference(g, causal), rs = exact_reference(s, causal);
        const double eg = mean_error(g, rg, c, 2), es = mean_error(s, rs, c, 2);
        std::printf("     %s: error Gaussian %.3f, structured %.4f\n", causal ? "causal" : "full", eg, es);
        CHECK(es < 0.25 * eg, "structured %.4f vs Gaussian %.4f", es, eg);
        CHECK(es < 0.3, "structured inputs should be approximated far better: %.4f", es);
        end_case();
    }
}

TEST(hyper_lse_is_consistent) {
    // The approximate log-sum-exp estimates the exact one (the sampled part is an unbiased
    // estimate of the missing mass, so rows are off by a little, a few by more), and out
    // without lse is the same as with it.
    HyperCase c{1, 2, 1, 3000, 3000, 64, false, 256, 256, 256, 7};
    begin_case("lse close to the exact log-sum-exp; lse NULL leaves out unchanged");
    Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
    const ha_hyper_params p = params_of(c, 11);
    CHECK(run_hyper(o, p) == HA_OK, "%s", ha_last_error());
    const RefResult ref = exact_reference(o, false);
    std::vector<double> err;
    for (int64_t h = 0; h < c.Hq; ++h)
        for (int64_t i = 0; i < c.Nq; ++i)
            err.push_back(std::fabs(double(o.lse.get(0, h, i, 0)) - ref.l(0, h, i)));
    const double mean_abs = std::accumulate(err.begin(), err.end(), 0.0) / double(err.size());
    std::sort(err.begin(), err.end());
    const double p99 = err[err.size() * 99 / 100];
    std::printf("     lse error: mean %.4f, 99th percentile %.4f, max %.4f (lse ~ %.2f)\n", mean_abs,
                p99, err.back(), ref.l(0, 0, 0));
    CHECK(mean_abs < 0.1 && p99 < 0.5, "mean %.4f p99 %.4f", mean_abs, p99);
    const std::vector<unsigned char> with = result_bytes(o);
    CHECK(run_hyper(o, p, false) == HA_OK, "%s", ha_last_error());
    const std::vector<unsigned char> without = result_bytes(o);
    const size_t out_bytes = size_t(c.B * c.Hq * c.Nq * c.D * 4);
    CHECK(std::equal(with.begin(), with.begin() + long(out_bytes), without.begin()), "out differs without lse");
    CHECK(gaps_untouched(o.lse), "lse written although NULL was passed");
    end_case();
}

TEST(hyper_sizes_off_the_block_grid) {
    // n not a multiple of the block: the error is in line with a multiple of it, and finite.
    std::vector<double> errs;
    for (int64_t n : {1024, 1000, 1025, 1279}) {
        HyperCase c{1, 4, 4, n, n, 64, false, 256, 256, 64, 7};
        begin_case(format("n=%lld with block 256: finite, error comparable to n=1024", (long long)n));
        Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
        fill_structured(o, 256, 2);
        const RefResult ref = exact_reference(o, false);
        const double e = mean_error(o, ref, c, 2);
        std::printf("     n=%lld: error %.4f\n", (long long)n, e);
        CHECK(std::isfinite(e), "error %.3g", e);
        if (!errs.empty()) CHECK(e < 2.5 * errs[0] + 0.02, "n=%lld: %.4f vs %.4f at 1024", (long long)n, e, errs[0]);
        errs.push_back(e);
        end_case();
    }
}

TEST(bad_hyper_arguments_are_rejected_with_a_reason) {
    HyperCase c{1, 4, 2, 8, 10, 16, false, 4, 4, 1, 7};
    auto expect = [&](const char* label, void (*edit)(ha_hyper_params&), const char* needle) {
        begin_case(label);
        Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
        ha_hyper_params p = params_of(c, 1);
        edit(p);
        const int32_t st = run_hyper(o, p);
        CHECK(st == HA_ERR_INVALID_ARGUMENT, "status %d (%s)", st, ha_last_error());
        const std::string msg = ha_last_error();
        CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(), needle);
        end_case();
    };
    expect("block 0", [](ha_hyper_params& p) { p.block_size = 0; }, "params.block_size: must be >= 1, got 0");
    expect("block -5", [](ha_hyper_params& p) { p.block_size = -5; }, "params.block_size");
    expect("samples 0", [](ha_hyper_params& p) { p.sample_size = 0; }, "params.sample_size: must be >= 1, got 0");
    expect("projections 0", [](ha_hyper_params& p) { p.lsh_projections = 0; }, "params.lsh_projections: must be in 1..16, got 0");
    expect("projections 17", [](ha_hyper_params& p) { p.lsh_projections = 17; }, "params.lsh_projections");
    expect("min_seq_len 0", [](ha_hyper_params& p) { p.min_seq_len = 0; }, "params.min_seq_len: must be >= 1");
    expect("scale NaN", [](ha_hyper_params& p) { p.scale = std::numeric_limits<float>::quiet_NaN(); }, "params.scale");
    expect("scale negative", [](ha_hyper_params& p) { p.scale = -1.f; }, "params.scale");
    expect("scale inf", [](ha_hyper_params& p) { p.scale = std::numeric_limits<float>::infinity(); }, "params.scale");
    expect("causal 2", [](ha_hyper_params& p) { p.causal = 2; }, "params.causal: must be 0 or 1");
    static int dummy;
    expect("stream", [](ha_hyper_params& p) { p.stream = &dummy; }, "params.stream");

    auto expect_op = [&](const char* label, void (*edit)(Operands&, ha_tensor*), const char* needle,
                         int32_t want = HA_ERR_INVALID_ARGUMENT) {
        begin_case(label);
        Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
        ha_tensor t[5] = {o.q.desc(), o.k.desc(), o.v.desc(), o.out.desc(), o.lse.desc()};
        edit(o, t);
        ha_hyper_params p = params_of(c, 1);
        const int32_t st = ha_attention_hyper(&t[0], &t[1], &t[2], &t[3], &t[4], &p, nullptr);
        CHECK(st == want, "status %d (%s)", st, ha_last_error());
        const std::string msg = ha_last_error();
        CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(), needle);
        end_case();
    };
    expect_op("q NULL data", [](Operands&, ha_tensor* t) { t[0].data = nullptr; }, "q: data is NULL");
    expect_op("mixed dtypes", [](Operands&, ha_tensor* t) { t[2].dtype = HA_DTYPE_BF16; }, "v: dtype bf16 differs from q's f32");
    expect_op("mixed f16", [](Operands&, ha_tensor* t) { t[1].dtype = HA_DTYPE_F16; }, "k: dtype f16 differs from q's f32");
    expect_op("GQA not divisible", [](Operands&, ha_tensor* t) { t[1].shape[1] = t[2].shape[1] = 3; }, "not divisible by kv heads");
    expect_op("head_dim 300", [](Operands&, ha_tensor* t) { t[0].shape[3] = t[3].shape[3] = 300; }, "head_dim must be in 1..256");
    expect_op("v seq", [](Operands&, ha_tensor* t) { t[2].shape[2] = 9; }, "v: seq 9 differs from k's 10");
    expect_op("out is q", [](Operands&, ha_tensor* t) { t[3] = t[0]; }, "out: memory overlaps input q");
    expect_op("lse shape", [](Operands&, ha_tensor* t) { t[4].shape[2] = 7; }, "lse: shape");
    expect_op("lse dtype", [](Operands&, ha_tensor* t) { t[4].dtype = HA_DTYPE_BF16; }, "lse: log-sum-exp must be f32");
    expect_op("negative stride", [](Operands&, ha_tensor* t) { t[1].strides[2] = -16; }, "k: seq stride is negative");
    {
        // A CUDA q beside CPU k: a CPU-only build cannot serve it at all; a CUDA build sees
        // operands on two devices.
        if (cuda_backend_built())
            expect_op("cuda q beside CPU k", [](Operands&, ha_tensor* t) { t[0].device_type = HA_DEVICE_CUDA; },
                      "k: on the CPU, but q is on cuda:0");
        else
            expect_op("cuda tensor in a CPU-only build", [](Operands&, ha_tensor* t) { t[0].device_type = HA_DEVICE_CUDA; },
                      "q: device cuda:0", HA_ERR_UNSUPPORTED);
    }

    begin_case("NULL params means the defaults; a valid call clears the message");
    Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
    o.out.poison();
    ha_tensor t[4] = {o.q.desc(), o.k.desc(), o.v.desc(), o.out.desc()};
    CHECK(ha_attention_hyper(&t[0], &t[1], &t[2], &t[3], nullptr, nullptr, nullptr) == HA_OK, "%s", ha_last_error());
    CHECK(std::string(ha_last_error()).empty(), "message not cleared: %s", ha_last_error());
    // 10 keys <= default min_seq_len 4096: exact.
    compare_output(o.out, reference_attention(o.q, o.k, o.v, 0.25, false), out_tolerance(HA_DTYPE_F32, max_abs(o.v)));
    ha_hyper_params d;
    ha_hyper_params_init(&d);
    CHECK(d.lsh_projections == 7 && d.block_size == 256 && d.sample_size == 256 &&
              d.min_seq_len == 4096 && d.causal == 0 && d.scale == 0.f && d.seed == 0 && !d.stream,
          "defaults");
    end_case();
}

// ---- per-row error estimates (ha_hyper_stats::row_error) ----------------------------------

namespace {

int32_t run_hyper_stats(Operands& o, const ha_hyper_params& p, std::vector<float>& row_error) {
    o.out.poison();
    o.lse.poison();
    row_error.assign(size_t(o.q.shape[0] * o.q.shape[1] * o.q.shape[2]), std::nanf(""));
    ha_hyper_stats st{row_error.data()};
    ha_tensor tq = o.q.desc(), tk = o.k.desc(), tv = o.v.desc(), to = o.out.desc(), tl = o.lse.desc();
    return ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p, &st);
}

// The true error of row i of head h in the estimate's unit: ||o^ - o|| / sqrt(sum_j p_j ||v_j||^2),
// o and p in float64; K and V dense [b][hk][j][d] float64 (dense()).
double true_row_error(const Operands& o, const std::vector<double>& K, const std::vector<double>& V,
                      int64_t b, int64_t h, int64_t i, bool causal, double scale) {
    const int64_t Nq = o.q.shape[2], Nk = o.k.shape[2], D = o.q.shape[3], Hkv = o.k.shape[1];
    const int64_t hk = h / (o.q.shape[1] / Hkv);
    const int64_t lim = causal ? std::min(Nk, std::max<int64_t>(0, i + Nk - Nq + 1)) : Nk;
    const double* Kh = K.data() + (b * Hkv + hk) * Nk * D;
    const double* Vh = V.data() + (b * Hkv + hk) * Nk * D;
    std::vector<double> q(static_cast<size_t>(D)), s(static_cast<size_t>(lim)), acc(static_cast<size_t>(D), 0.0);
    for (int64_t d = 0; d < D; ++d) q[size_t(d)] = o.q.get(b, h, i, d);
    double mx = -kInf;
    for (int64_t j = 0; j < lim; ++j) {
        double x = 0;
        for (int64_t d = 0; d < D; ++d) x += q[size_t(d)] * Kh[j * D + d];
        s[size_t(j)] = x * scale;
        mx = std::max(mx, s[size_t(j)]);
    }
    double z = 0, vv = 0;
    for (int64_t j = 0; j < lim; ++j) {
        const double p = std::exp(s[size_t(j)] - mx);
        z += p;
        double n2 = 0;
        for (int64_t d = 0; d < D; ++d) {
            const double v = Vh[j * D + d];
            acc[size_t(d)] += p * v;
            n2 += v * v;
        }
        vv += p * n2;
    }
    if (z == 0 || vv == 0) return 0;
    double e2 = 0;
    for (int64_t d = 0; d < D; ++d) {
        const double e = double(o.out.get(b, h, i, d)) - acc[size_t(d)] / z;
        e2 += e * e;
    }
    return std::sqrt(e2 / (vv / z));
}

// Rotary position embedding on (x[2f], x[2f+1]) by position * 10000^(-2f/D), in place.
void rope(std::vector<float>& x, int64_t pos) {
    const int64_t D = int64_t(x.size());
    for (int64_t f = 0; f + 1 < D; f += 2) {
        const double th = double(pos) * std::pow(10000.0, -double(f) / double(D));
        const double c = std::cos(th), s = std::sin(th), a = x[size_t(f)], b = x[size_t(f + 1)];
        x[size_t(f)] = float(a * c - b * s);
        x[size_t(f + 1)] = float(a * s + b * c);
    }
}

enum class Family { Diffuse, Clustered, LlmLike };
const char* family_name(Family f) {
    return f == Family::Diffuse ? "diffuse (Gaussian q, k, v)"
           : f == Family::Clustered ? "clustered keys, queries near the centres"
                                    : "LLM-like (4 sinks, RoPE, locality)";
}

// Fresh inputs of one family into o (float32, any layout).
void fill_family(Operands& o, Family fam) {
    std::normal_distribution<float> nd(0.f, 1.f);
    const int64_t B = o.q.shape[0], Hq = o.q.shape[1], Hkv = o.k.shape[1], Nq = o.q.shape[2],
                  Nk = o.k.shape[2], D = o.q.shape[3], G = Hq / Hkv;
    if (fam == Family::Diffuse) {
        o.q.fill_normal(1);
        o.k.fill_normal(1);
        o.v.fill_normal(1);
        return;
    }
    for (int64_t b = 0; b < B; ++b)
        for (int64_t hk = 0; hk < Hkv; ++hk) {
            if (fam == Family::Clustered) {
                // 64 centres of norm ~sqrt(D); keys: centre + noise; queries: near a centre.
                const int64_t C = 64;
                std::vector<float> centre(size_t(C * D));
                for (float& x : centre) x = nd(rng());
                for (int64_t j = 0; j < Nk; ++j) {
                    const int64_t c = int64_t(rng()() % uint64_t(C));
                    for (int64_t d = 0; d < D; ++d) {
                        o.k.set(b, hk, j, d, centre[size_t(c * D + d)] + 0.5f * nd(rng()));
                        o.v.set(b, hk, j, d, nd(rng()));
                    }
                }
                for (int64_t g = 0; g < G; ++g)
                    for (int64_t i = 0; i < Nq; ++i) {
                        const int64_t c = int64_t(rng()() % uint64_t(C));
                        for (int64_t d = 0; d < D; ++d)
                            o.q.set(b, hk * G + g, i, d, centre[size_t(c * D + d)] + 0.3f * nd(rng()));
                    }
                continue;
            }
            // LLM-like: content drifts slowly along the sequence (AR(1), so nearby positions
            // are alike), q and k are RoPE-rotated by position, and every query carries a
            // component on the lowest-frequency pair that the 4 sink keys (positions 0..3)
            // share, so they score high for every row; sink values are small.
            const float rho = 0.98f, w = std::sqrt(1.f - rho * rho);
            std::vector<float> state(static_cast<size_t>(D)), x(static_cast<size_t>(D));
            for (float& s : state) s = nd(rng());
            const int64_t N = std::max(Nq, Nk);
            std::vector<float> content(size_t(N * D));
            for (int64_t i = 0; i < N; ++i)
                for (int64_t d = 0; d < D; ++d) {
                    state[size_t(d)] = rho * state[size_t(d)] + w * nd(rng());
                    content[size_t(i * D + d)] = state[size_t(d)];
                }
            for (int64_t j = 0; j < Nk; ++j) {
                for (int64_t d = 0; d < D; ++d) x[size_t(d)] = content[size_t(j * D + d)] + 0.5f * nd(rng());
                if (j < 4) {
                    for (float& e : x) e = 0.2f * nd(rng());
                    x[size_t(D - 2)] = 6.f;
                }
                rope(x, j);
                for (int64_t d = 0; d < D; ++d) {
                    o.k.set(b, hk, j, d, x[size_t(d)]);
                    o.v.set(b, hk, j, d, j < 4 ? 0.1f * nd(rng()) : content[size_t(j * D + d)] + 0.5f * nd(rng()));
                }
            }
            for (int64_t g = 0; g < G; ++g)
                for (int64_t i = 0; i < Nq; ++i) {
                    for (int64_t d = 0; d < D; ++d) x[size_t(d)] = content[size_t(i * D + d)] + 0.5f * nd(rng());
                    x[size_t(D - 2)] += 1.5f;
                    rope(x, i + Nk - Nq);
                    for (int64_t d = 0; d < D; ++d) o.q.set(b, hk * G + g, i, d, x[size_t(d)]);
                }
        }
}

}  // namespace

TEST(hyper_row_error_estimates_are_honest) {
    // n = 8192, d = 32, 2 query heads on 1 kv head, min_seq_len lowered so every piece is
    // approximated; 256 random rows per head checked against float64.
    const double kRounding = 1e-5;  // fp32 rounding of the output, in the estimate's unit
    for (Family fam : {Family::Diffuse, Family::Clustered, Family::LlmLike})
        for (bool causal : {false, true}) {
            HyperCase c{1, 2, 1, 8192, 8192, 32, causal, 256, 256, 1024, 7};
            begin_case(format("true error > 2x estimate on <= 5%% of rows, median estimate <= 4x "
                              "median true error: %s, %s",
                              family_name(fam), causal ? "causal" : "non-causal"));
            Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
            fill_family(o, fam);
            std::vector<float> est;
            CHECK(run_hyper_stats(o, params_of(c, rng()()), est) == HA_OK, "%s", ha_last_error());
            const double scale = 1.0 / std::sqrt(double(c.D));
            const std::vector<double> K = dense(o.k), V = dense(o.v);
            int64_t rows = 0, under = 0, exact_rows = 0;
            std::vector<double> e_true, e_est;
            double worst = 0;
            for (int64_t h = 0; h < c.Hq; ++h)
                for (int t = 0; t < 512; ++t) {
                    // causal: rows of the first (exact) leaf are checked by the next test
                    const int64_t lo = causal ? c.min_seq_len : 0;
                    const int64_t i = lo + int64_t(rng()() % uint64_t(c.Nq - lo));
                    const double tr = true_row_error(o, K, V, 0, h, i, causal, scale);
                    const double es = est[size_t(h * c.Nq + i)];
                    CHECK(std::isfinite(es) && es >= 0, "row_error[%lld] = %g", (long long)i, es);
                    ++rows;
                    if (es == 0) ++exact_rows;
                    if (tr > 2 * es + kRounding) {
                        ++under;
                        if (std::getenv("HA_DEBUG_EST")) std::printf("      under: h %lld row %lld true %.4g est %.4g\n", (long long)h, (long long)i, tr, es);
                    }
                    worst = std::max(worst, tr / std::max(es, 1e-30));
                    if (tr > kRounding) {
                        e_true.push_back(tr);
                        e_est.push_back(es);
                    }
                }
            auto med = [](std::vector<double> x) {
                std::sort(x.begin(), x.end());
                return x.empty() ? 0.0 : x[x.size() / 2];
            };
            const double mt = med(e_true), me = med(e_est);
            std::printf("    %s %s: %lld rows, true > 2x estimate on %lld, median true %.3g, "
                        "median estimate %.3g (%.2fx), worst true/estimate %.3g\n",
                        family_name(fam), causal ? "causal" : "full", (long long)rows,
                        (long long)under, mt, me, mt > 0 ? me / mt : 0.0, worst);
            CHECK(exact_rows == 0, "%lld approximated rows report 0", (long long)exact_rows);
            CHECK(under * 20 <= rows, "true error above twice the estimate on %lld of %lld rows",
                  (long long)under, (long long)rows);
            CHECK(e_true.size() * 2 >= size_t(rows), "true errors at rounding level: not a test");
            CHECK(me <= 4 * mt, "median estimate %.3g > 4x the median true error %.3g", me, mt);
            end_case();
        }
}

TEST(hyper_row_error_is_zero_on_exact_rows) {
    for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
        begin_case(format("Nk <= min_seq_len: every row 0 (%s)", dtype_str(dtype)));
        HyperCase c{1, 2, 1, 300, 300, 32, false, 64, 32, 300, 7};
        Operands o = make_operands(c, dtype, BHSD);
        std::vector<float> est;
        CHECK(run_hyper_stats(o, params_of(c, 3), est) == HA_OK, "%s", ha_last_error());
        CHECK(std::all_of(est.begin(), est.end(), [](float x) { return x == 0.f; }), "a row is not 0");
        end_case();
    }
    begin_case("causal: rows of the first leaf and rows that see no key are 0, the rest > 0");
    HyperCase c{1, 2, 1, 1300, 1000, 32, true, 64, 64, 200, 7};  // 300 rows see no key
    Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
    std::vector<float> est;
    CHECK(run_hyper_stats(o, params_of(c, 4), est) == HA_OK, "%s", ha_last_error());
    // The square of 1000 halves to leaves of 125 rows: rows 300 .. 424 are an exact leaf.
    for (int64_t h = 0; h < c.Hq; ++h)
        for (int64_t i = 0; i < c.Nq; ++i) {
            const float e = est[size_t(h * c.Nq + i)];
            if (i < 425) CHECK(e == 0.f, "row %lld: %g", (long long)i, double(e));
            else CHECK(e > 0.f && std::isfinite(e), "row %lld: %g", (long long)i, double(e));
        }
    end_case();
    begin_case("a block spanning the sequence: exact, 0");
    HyperCase c2{1, 1, 1, 500, 500, 16, false, 512, 32, 16, 7};
    Operands o2 = make_operands(c2, HA_DTYPE_F32, BHSD);
    CHECK(run_hyper_stats(o2, params_of(c2, 5), est) == HA_OK, "%s", ha_last_error());
    CHECK(std::all_of(est.begin(), est.end(), [](float x) { return x == 0.f; }), "a row is not 0");
    end_case();
}

TEST(hyper_row_error_is_bit_identical_for_any_thread_count) {
    const HyperCase cases[] = {{2, 4, 2, 1500, 1500, 64, true, 128, 64, 256, 7},
                               {1, 4, 1, 2000, 3000, 64, false, 256, 256, 512, 7},
                               {1, 2, 1, 900, 2500, 128, true, 64, 128, 300, 5}};
    for (const HyperCase& c : cases)
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            begin_case("threads 1, 2, 3: same row_error bytes; out and lse as without stats: " +
                       describe(c, dtype, BHSD));
            Operands o = make_operands(c, dtype, BHSD);
            const int before = ha_get_num_threads();
            ha_set_num_threads(1);
            CHECK(run_hyper(o, params_of(c, 42)) == HA_OK, "%s", ha_last_error());
            const std::vector<unsigned char> plain = result_bytes(o);
            std::vector<float> one, other;
            CHECK(run_hyper_stats(o, params_of(c, 42), one) == HA_OK, "%s", ha_last_error());
            CHECK(result_bytes(o) == plain, "out/lse differ with stats");
            CHECK(std::any_of(one.begin(), one.end(), [](float x) { return x > 0.f; }), "all 0");
            for (int t : {2, 3}) {
                ha_set_num_threads(t);
                CHECK(run_hyper_stats(o, params_of(c, 42), other) == HA_OK, "%s", ha_last_error());
                CHECK(result_bytes(o) == plain, "%d threads: out/lse differ", t);
                CHECK(std::memcmp(one.data(), other.data(), one.size() * 4) == 0,
                      "%d threads: row_error differs from 1", t);
            }
            ha_set_num_threads(before);
            end_case();
        }
    ha_set_num_threads(0);
    // Every instruction-set path: the same checks on one case, and estimates that agree with
    // the active path's to within the rounding of the inputs' sums (not bit for bit).
    const HyperCase c{1, 2, 1, 1200, 1200, 48, true, 128, 64, 256, 6};
    for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
        Operands o = make_operands(c, dtype, BHSD);
        std::vector<float> ref, one, other;
        CHECK(run_hyper_stats(o, params_of(c, 7), ref) == HA_OK, "%s", ha_last_error());
        for (int32_t isa : supported_isas()) {
            begin_case(format("[%s] threads 1 and 3, stats on and off: ", isa_name(isa)) + describe(c, dtype, BHSD));
            CHECK(ha_set_cpu_isa(isa) == HA_OK, "set isa %d", isa);
            ha_set_num_threads(1);
            CHECK(run_hyper(o, params_of(c, 7)) == HA_OK, "%s", ha_last_error());
            const std::vector<unsigned char> plain = result_bytes(o);
            CHECK(run_hyper_stats(o, params_of(c, 7), one) == HA_OK, "%s", ha_last_error());
            CHECK(result_bytes(o) == plain, "out/lse differ with stats");
            ha_set_num_threads(3);
            CHECK(run_hyper_stats(o, params_of(c, 7), other) == HA_OK, "%s", ha_last_error());
            CHECK(std::memcmp(one.data(), other.data(), one.size() * 4) == 0, "3 threads differ from 1");
            int far = 0;
            for (size_t x = 0; x < one.size(); ++x)
                if (!(std::fabs(one[x] - ref[x]) <= 0.05f * ref[x] + 1e-6f)) ++far;
            CHECK(far * 100 <= int(one.size()), "%d rows differ by > 5%% from the default path", far);
            end_case();
        }
        ha_set_cpu_isa(HA_CPU_ISA_AUTO);
    }
    ha_set_num_threads(0);
}

TEST(bad_hyper_row_error_is_rejected_with_a_reason) {
    HyperCase c{1, 2, 1, 64, 64, 16, false, 16, 16, 8, 7};
    Operands o = make_operands(c, HA_DTYPE_F32, BHSD);
    ha_hyper_params p = params_of(c, 1);
    ha_tensor tq = o.q.desc(), tk = o.k.desc(), tv = o.v.desc(), to = o.out.desc(), tl = o.lse.desc();
    auto expect = [&](const char* label, float* ptr, const char* needle) {
        begin_case(label);
        ha_hyper_stats st{ptr};
        const int32_t s = ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p, &st);
        CHECK(s == HA_ERR_INVALID_ARGUMENT, "status %d (%s)", s, ha_last_error());
        const std::string msg = ha_last_error();
        CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(), needle);
        end_case();
    };
    std::vector<float> buf(200);
    expect("misaligned", reinterpret_cast<float*>(reinterpret_cast<char*>(buf.data()) + 2),
           "stats.row_error: not aligned");
    expect("overlaps q", static_cast<float*>(o.q.data()), "stats.row_error: memory overlaps input q");
    expect("overlaps out", static_cast<float*>(o.out.data()), "stats.row_error: memory overlaps output out");
    expect("overlaps lse", static_cast<float*>(o.lse.data()), "stats.row_error: memory overlaps output lse");
    begin_case("stats NULL, or row_error NULL: fine");
    ha_hyper_stats none{nullptr};
    CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p, &none) == HA_OK, "%s", ha_last_error());
    CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p, nullptr) == HA_OK, "%s", ha_last_error());
    end_case();
}
