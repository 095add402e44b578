// HSR sparse attention and the key index (issue 4), against float64 and exact references.
//
// Recall is judged against an exact brute force that shares no code with the library: scores
// are summed in a 640-bit fixed-point integer, so ties at the threshold are decided exactly.
#include <algorithm>
#include <cinttypes>
#include <numeric>
#include <thread>

#include "cases.h"

using namespace hat;

namespace {

// ---- exact reference of q·k >= t -------------------------------------------------------------
// Every float is m·2^e with |m| < 2^24 and e >= -172, a product of two is m·2^e with e >= -344
// and the magnitude below 2^257, so a two's-complement integer in units of 2^-350 with 640 bits
// holds any sum of up to 256 products exactly.
struct BigSum {
    static constexpr int kWords = 10, kOffset = 350;
    uint64_t w[kWords] = {};
    void add(uint64_t mag, int exp2, bool neg) {  // ± mag·2^exp2, mag < 2^49
        const int s = exp2 + kOffset;
        unsigned __int128 v = (unsigned __int128)mag << (s % 64);
        uint64_t part[kWords] = {};
        const int at = s / 64;
        part[at] = uint64_t(v);
        if (at + 1 < kWords) part[at + 1] = uint64_t(v >> 64);
        if (neg) {  // two's complement of part
            unsigned __int128 carry = 1;
            for (int i = 0; i < kWords; ++i) {
                carry += (unsigned __int128)(~part[i]);
                part[i] = uint64_t(carry);
                carry >>= 64;
            }
        }
        unsigned __int128 c = 0;
        for (int i = 0; i < kWords; ++i) {
            c += (unsigned __int128)w[i] + part[i];
            w[i] = uint64_t(c);
            c >>= 64;
        }
    }
    bool negative() const { return (w[kWords - 1] >> 63) != 0; }
};

void decompose(float x, int64_t* m, int* e) {
    int ex;
    const float f = std::frexp(x, &ex);
    *m = int64_t(std::ldexp(double(f), 24));
    *e = ex - 24;
}

bool exact_ge(const float* q, const float* k, int64_t D, float t) {
    BigSum s;
    for (int64_t d = 0; d < D; ++d) {
        if (q[d] == 0 || k[d] == 0) continue;
        int64_t mq, mk;
        int eq, ek;
        decompose(q[d], &mq, &eq);
        decompose(k[d], &mk, &ek);
        const int64_t p = mq * mk;
        s.add(uint64_t(p < 0 ? -p : p), eq + ek, p < 0);
    }
    if (t != 0) {
        int64_t mt;
        int et;
        decompose(t, &mt, &et);
        s.add(uint64_t(mt < 0 ? -mt : mt), et, mt > 0);  // subtract t
    }
    return !s.negative();
}

bool ref_ge(const float* q, const float* k, int64_t D, float t) {
    double s = 0, a = std::fabs(double(t));
    for (int64_t d = 0; d < D; ++d) {
        s += double(q[d]) * double(k[d]);
        a += std::fabs(double(q[d]) * double(k[d]));
    }
    const double err = double(D + 8) * 0x1p-52 * a;
    if (s - t > err) return true;
    if (t - s > err) return false;
    return exact_ge(q, k, D, t);
}

std::vector<float> row(const HostTensor& t, int64_t b, int64_t h, int64_t s) {
    std::vector<float> r(static_cast<size_t>(t.shape[3]));
    for (int64_t d = 0; d < t.shape[3]; ++d) r[size_t(d)] = t.get(b, h, s, d);
    return r;
}

// copy_keys < 0: derived from the seed, so the cases cover both the copying index (2 in 3)
// and the in-place one.
int32_t build_index(HostTensor& k, HostTensor* v, int32_t bs, int32_t iters, uint64_t seed,
                    ha_key_index** out, int copy_keys = -1) {
    ha_index_params ip;
    ha_index_params_init(&ip);
    ip.block_size = bs;
    ip.kmeans_iters = iters;
    ip.seed = seed;
    ip.copy_keys = copy_keys >= 0 ? copy_keys : (seed % 3 != 0);
    ha_tensor tk = k.desc();
    ha_tensor tv = v ? v->desc() : ha_tensor{};
    return ha_key_index_create(&tk, v ? &tv : nullptr, &ip, out);
}

struct IndexPtr {
    ha_key_index* p = nullptr;
    ~IndexPtr() { ha_key_index_destroy(p); }
};

// ---- data families -----------------------------------------------------------------------------
enum Family { GAUSS, INTEGERS, DUPLICATES, HUGE_NORMS, TINY_NORMS, MIXED_SCALES, CLUSTERED, NUM_FAMILIES };
const char* family_name(int f) {
    static const char* n[] = {"gauss", "integers", "duplicates", "huge", "tiny", "mixed", "clustered"};
    return n[f];
}

void fill_family(HostTensor& t, int family, bool is_query) {
    auto& g = rng();
    std::normal_distribution<float> nd(0.f, 1.f);
    std::uniform_int_distribution<int> small(-3, 3);
    const int64_t B = t.shape[0], H = t.shape[1], S = t.shape[2], D = t.shape[3];
    std::vector<float> centres;
    if (family == CLUSTERED) {
        centres.resize(size_t(5 * D));
        for (float& c : centres) c = 3.f * nd(g);
    }
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t s = 0; s < S; ++s) {
                const float key_scale = family == MIXED_SCALES ? std::ldexp(1.f, int(g() % 80) - 40) : 1.f;
                const int64_t c = int64_t(g() % 5);
                const bool zero = !is_query && (family == DUPLICATES) && g() % 7 == 0;
                for (int64_t d = 0; d < D; ++d) {
                    float x;
                    switch (family) {
                        case INTEGERS: x = float(small(g)); break;
                        case HUGE_NORMS: x = nd(g) * (is_query ? 1e12f : 1e25f); break;
                        case TINY_NORMS: x = nd(g) * (is_query ? 1e-20f : 1e-25f); break;
                        case MIXED_SCALES: x = nd(g) * key_scale; break;
                        case CLUSTERED: x = is_query ? nd(g) : centres[size_t(c * D + d)] + 0.2f * nd(g); break;
                        case DUPLICATES: x = zero ? 0.f : float(small(g)) * 0.5f; break;
                        default: x = nd(g); break;
                    }
                    t.set(b, h, s, d, x);
                }
            }
    if (family == DUPLICATES && !is_query && S > 1)  // copy random rows over others
        for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < H; ++h)
                for (int64_t s = 0; s < S; ++s)
                    if (g() % 3 == 0) {
                        const int64_t src = int64_t(g() % uint64_t(S));
                        for (int64_t d = 0; d < D; ++d) t.set(b, h, s, d, t.get(b, h, src, d));
                    }
}

// A threshold that lands on (or within a rounding of) the score of some key, so ties and
// near-ties at tau occur in every case.
float pick_threshold(const HostTensor& q, const HostTensor& k, int family) {
    auto& g = rng();
    if (k.shape[2] == 0) return 0.f;
    const int64_t G = q.shape[1] / k.shape[1];
    const int64_t b = int64_t(g() % uint64_t(q.shape[0])), h = int64_t(g() % uint64_t(q.shape[1]));
    const int64_t i = int64_t(g() % uint64_t(q.shape[2])), j = int64_t(g() % uint64_t(k.shape[2]));
    const auto qr = row(q, b, h, i), kr = row(k, b, h / G, j);
    double s = 0;
    for (size_t d = 0; d < qr.size(); ++d) s += double(qr[d]) * double(kr[d]);
    if (family == INTEGERS || family == DUPLICATES) return float(s);  // exact: a true tie
    if (g() % 4 == 0) return 0.f;
    const float t = float(s);  // within a rounding of key j's score
    return std::isfinite(t) ? t : std::copysign(3.4e38f, t);
}

struct ReportResult {
    int32_t status = 0;
    std::vector<int64_t> counts;
    std::vector<int32_t> indices;
    int64_t total = -1;
};

ReportResult run_report(const ha_key_index* idx, HostTensor& k, HostTensor& q, float t) {
    ReportResult r;
    const int64_t rows = q.shape[0] * q.shape[1] * q.shape[2];
    r.counts.assign(size_t(rows), -7);
    ha_tensor tk = k.desc(), tq = q.desc();
    r.status = ha_hsr_report(idx, &tk, &tq, t, r.counts.data(), nullptr, 0, &r.total);
    if (r.status != HA_OK) return r;
    r.indices.assign(size_t(r.total), -7);
    r.status = ha_hsr_report(idx, &tk, &tq, t, r.counts.data(), r.indices.data(), r.total, &r.total);
    return r;
}

// Brute force: ascending lists of {j : q·k_j >= t}, row-major [b][h][i].
void brute_force(const HostTensor& q, const HostTensor& k, float t, std::vector<int64_t>& counts,
                 std::vector<int32_t>& indices) {
    const int64_t G = q.shape[1] / k.shape[1];
    counts.clear();
    indices.clear();
    for (int64_t b = 0; b < q.shape[0]; ++b)
        for (int64_t h = 0; h < q.shape[1]; ++h)
            for (int64_t i = 0; i < q.shape[2]; ++i) {
                const auto qr = row(q, b, h, i);
                int64_t n = 0;
                for (int64_t j = 0; j < k.shape[2]; ++j) {
                    const auto kr = row(k, b, h / G, j);
                    if (ref_ge(qr.data(), kr.data(), q.shape[3], t)) {
                        indices.push_back(int32_t(j));
                        ++n;
                    }
                }
                counts.push_back(n);
            }
}

// ---- float64 references of the attention modes --------------------------------------------------
struct RowRef {
    std::vector<double> o;
    double tol = 0;      // ReLU: the rounding allowance of this row
    bool empty = false;
};

// ReLU^alpha over every visible key. tol: how far a float kernel may be off through the rounding
// of its scores alone (each key's x may move by dx; weights by alpha·x^(alpha-1)·dx).
RowRef relu_reference(const HostTensor& q, const HostTensor& k, const HostTensor& v, int64_t b,
                      int64_t h, int64_t i, double scale, double bias, int alpha, bool causal) {
    const int64_t G = q.shape[1] / k.shape[1], D = q.shape[3], Nk = k.shape[2], Nq = q.shape[2];
    const int64_t lim = causal ? std::clamp<int64_t>(i + Nk - Nq + 1, 0, Nk) : Nk;
    const auto qr = row(q, b, h, i);
    double qn = 0;
    for (float x : qr) qn += double(x) * x;
    qn = std::sqrt(qn);
    RowRef r;
    r.o.assign(size_t(D), 0.0);
    double W = 0, dW = 0, vmax = 0;
    std::vector<double> w(static_cast<size_t>(std::max<int64_t>(lim, 0)));
    for (int64_t j = 0; j < lim; ++j) {
        const auto kr = row(k, b, h / G, j);
        double s = 0, kn = 0;
        for (int64_t d = 0; d < D; ++d) {
            s += double(qr[size_t(d)]) * kr[size_t(d)];
            kn += double(kr[size_t(d)]) * kr[size_t(d)];
        }
        const double x = scale * s - bias;
        const double dx = (double(D + 40) * 0x1p-24 * qn * std::sqrt(kn) * scale +
                           4 * 0x1p-24 * (std::fabs(scale * s) + std::fabs(bias)));
        w[size_t(j)] = x > 0 ? std::pow(x, alpha) : 0.0;
        if (x + dx > 0) dW += alpha * std::pow(std::max(x, 0.0) + dx, alpha - 1) * dx + (alpha > 1 ? 0 : 0);
        W += w[size_t(j)];
        for (int64_t d = 0; d < D; ++d) vmax = std::max(vmax, std::fabs(double(v.get(b, h / G, j, d))));
    }
    if (W == 0) {
        r.empty = true;
        r.tol = 0;
        return r;
    }
    for (int64_t j = 0; j < lim; ++j) {
        if (w[size_t(j)] == 0) continue;
        for (int64_t d = 0; d < D; ++d) r.o[size_t(d)] += w[size_t(j)] * double(v.get(b, h / G, j, d));
    }
    for (double& x : r.o) x /= W;
    r.tol = 5e-5 * std::max(1.0, vmax) + 2 * vmax * (dW + 1e-6 * W) / W;
    return r;
}

RowRef softmax_reference(const HostTensor& q, const HostTensor& k, const HostTensor& v,
                         int64_t b, int64_t h, int64_t i, double scale, bool causal) {
    const int64_t G = q.shape[1] / k.shape[1], D = q.shape[3], Nk = k.shape[2], Nq = q.shape[2];
    const int64_t lim = causal ? std::clamp<int64_t>(i + Nk - Nq + 1, 0, Nk) : Nk;
    const auto qr = row(q, b, h, i);
    RowRef r;
    r.o.assign(size_t(D), 0.0);
    if (lim == 0) {
        r.empty = true;
        return r;
    }
    std::vector<double> s(static_cast<size_t>(lim));
    double m = -INFINITY;
    for (int64_t j = 0; j < lim; ++j) {
        const auto kr = row(k, b, h / G, j);
        double acc = 0;
        for (int64_t d = 0; d < D; ++d) acc += double(qr[size_t(d)]) * kr[size_t(d)];
        s[size_t(j)] = acc * scale;
        m = std::max(m, s[size_t(j)]);
    }
    double sum = 0;
    for (int64_t j = 0; j < lim; ++j) {
        const double p = std::exp(s[size_t(j)] - m);
        sum += p;
        for (int64_t d = 0; d < D; ++d) r.o[size_t(d)] += p * double(v.get(b, h / G, j, d));
    }
    for (double& x : r.o) x /= sum;
    return r;
}

struct HsrRun {
    int32_t status = 0;
    HostTensor out;
    std::vector<float> dropped, errb;
    std::vector<int64_t> touched;
};

HsrRun run_hsr(HostTensor& q, HostTensor& k, HostTensor& v, const ha_key_index* idx,
               const ha_hsr_params& p, int out_layout = BHSD) {
    HsrRun r;
    r.out = make_tensor(q.dtype, q.shape[0], q.shape[1], q.shape[2], q.shape[3], out_layout);
    r.out.poison();
    const size_t rows = size_t(q.shape[0] * q.shape[1] * q.shape[2]);
    r.dropped.assign(rows, NAN);
    r.errb.assign(rows, NAN);
    r.touched.assign(rows, -1);
    ha_hsr_stats st{r.dropped.data(), r.errb.data(), r.touched.data()};
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = r.out.desc();
    r.status = ha_attention_hsr(&tq, &tk, &tv, &to, idx, &p, &st);
    return r;
}

ha_hsr_params relu_params(int alpha, float bias, bool causal = false, float scale = 0) {
    ha_hsr_params p;
    ha_hsr_params_init(&p);
    p.mode = HA_HSR_RELU;
    p.alpha = alpha;
    p.bias = bias;
    p.causal = causal;
    p.scale = scale;
    return p;
}

ha_hsr_params softmax_params(double eps, bool causal = false, float scale = 0) {
    ha_hsr_params p;
    ha_hsr_params_init(&p);
    p.mode = HA_HSR_SOFTMAX;
    p.epsilon = eps;
    p.causal = causal;
    p.scale = scale;
    return p;
}

int64_t row_index(const HostTensor& q, int64_t b, int64_t h, int64_t i) {
    return (b * q.shape[1] + h) * q.shape[2] + i;
}

int rand_layout() { return int(rng()() % NUM_LAYOUTS); }

// The view's elements in order (storage offsets differ between allocations).
std::vector<unsigned char> element_bytes(const HostTensor& t) {
    std::vector<unsigned char> bytes;
    const unsigned char* base = t.storage.data() + t.offset;
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d) {
                    const unsigned char* e = base + t.index(b, h, s, d) * t.esize();
                    bytes.insert(bytes.end(), e, e + t.esize());
                }
    return bytes;
}

}  // namespace

// ---- recall --------------------------------------------------------------------------------------
TEST(hsr_report_equals_exact_brute_force) {
    auto& g = rng();
    const int kCases = 2500;
    int failures = 0;
    int64_t reported = 0, ambiguous_families = 0;
    for (int c = 0; c < kCases; ++c) {
        const int family = c % NUM_FAMILIES;
        const int64_t Hkv = 1 + int64_t(g() % 2), G = 1 + int64_t(g() % 3);
        const int64_t B = 1 + int64_t(g() % 2), Nq = 1 + int64_t(g() % 3);
        const int64_t Nk = (g() % 10 == 0) ? int64_t(g() % 5) : int64_t(g() % 400);
        static const int64_t dims[] = {1, 3, 16, 33, 64, 128};
        const int64_t D = dims[g() % 6];
        static const int32_t sizes[] = {8, 16, 64};
        const int32_t bs = sizes[g() % 3];
        const int32_t iters = int32_t(g() % 3) * 2;
        // fp16 only where the family fits its range (max 65504): huge and mixed-scale values
        // would round to ±inf, which an index rejects.
        const bool f16_fits = family != HUGE_NORMS && family != MIXED_SCALES;
        auto pick_dt = [&] {
            const uint64_t x = g() % 6;
            return x == 0 ? HA_DTYPE_BF16 : x == 1 && f16_fits ? HA_DTYPE_F16 : HA_DTYPE_F32;
        };
        const int32_t kdt = pick_dt();
        const int32_t qdt = pick_dt();
        HostTensor k = make_tensor(kdt, B, Hkv, Nk, D, rand_layout());
        HostTensor q = make_tensor(qdt, B, Hkv * G, Nq, D, rand_layout());
        fill_family(k, family, false);
        fill_family(q, family, true);
        const float t = pick_threshold(q, k, family);
        const bool with_index = g() % 4 != 0;
        IndexPtr idx;
        begin_case(format("report #%d %s B=%lld Hkv=%lld G=%lld Nq=%lld Nk=%lld D=%lld bs=%d "
                          "iters=%d k=%s q=%s index=%d t=%.9g",
                          c, family_name(family), (long long)B, (long long)Hkv, (long long)G,
                          (long long)Nq, (long long)Nk, (long long)D, bs, iters,
                          dtype_str(kdt), dtype_str(qdt),
                          int(with_index), double(t)));
        if (with_index) {
            const int32_t st = build_index(k, nullptr, bs, iters, g(), &idx.p);
            CHECK(st == HA_OK, "create: %d %s", st, ha_last_error());
            if (st != HA_OK) { end_case(); continue; }
        }
        ReportResult got = run_report(idx.p, k, q, t);
        CHECK(got.status == HA_OK, "report: %d %s", got.status, ha_last_error());
        std::vector<int64_t> counts;
        std::vector<int32_t> indices;
        brute_force(q, k, t, counts, indices);
        CHECK(got.counts == counts, "counts differ from brute force");
        CHECK(got.indices == indices, "indices differ from brute force (%zu vs %zu)",
              got.indices.size(), indices.size());
        CHECK(got.total == int64_t(indices.size()), "total %lld", (long long)got.total);
        reported += int64_t(indices.size());
        ambiguous_families += family == INTEGERS || family == DUPLICATES;
        failures += counts != got.counts;
        end_case();
    }
    std::printf("   %d report cases, %lld keys reported in all, %d mismatches\n", kCases,
                (long long)reported, failures);
}

// Scores beyond the float range: float partial sums overflow, so neither the float scores nor
// the float block bounds can be trusted there; the set must still be exact.
TEST(hsr_report_survives_float_overflow) {
    auto& g = rng();
    for (int c = 0; c < 40; ++c) {
        const int64_t Nk = 300, D = 64;
        HostTensor k = make_tensor(HA_DTYPE_F32, 1, 1, Nk, D, BHSD);
        HostTensor q = make_tensor(HA_DTYPE_F32, 1, 2, 2, D, BHSD);
        std::normal_distribution<float> nd(0.f, 1.f);
        for (int64_t j = 0; j < Nk; ++j) {
            const float s = j % 3 == 0 ? 3e37f : (j % 3 == 1 ? 1e20f : 1.f);
            for (int64_t d = 0; d < D; ++d) k.set(0, 0, j, d, nd(g) * s);
        }
        for (int64_t h = 0; h < 2; ++h)
            for (int64_t i = 0; i < 2; ++i)
                for (int64_t d = 0; d < D; ++d) q.set(0, h, i, d, nd(g) * (c % 2 ? 4.f : 0.5f));
        static const float ts[] = {-3.4e38f, 3.4e38f, -1e38f, 1e38f, 0.f, 1e20f};
        const float t = ts[c % 6];
        IndexPtr idx;
        CHECK(build_index(k, nullptr, 16, c % 3, g(), &idx.p) == HA_OK, "%s", ha_last_error());
        begin_case(format("report with overflowing scores #%d t=%g", c, double(t)));
        ReportResult got = run_report(idx.p, k, q, t);
        CHECK(got.status == HA_OK, "%s", ha_last_error());
        std::vector<int64_t> counts;
        std::vector<int32_t> indices;
        brute_force(q, k, t, counts, indices);
        CHECK(got.counts == counts && got.indices == indices, "differs from brute force");
        end_case();
    }
}

TEST(hsr_report_capacity_protocol) {
    begin_case("report: count-only call, short buffer rejected untouched, then the full call");
    HostTensor k = make_tensor(HA_DTYPE_F32, 1, 2, 300, 32, BHSD);
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 4, 2, 32, BSHD);
    k.fill_normal(1);
    q.fill_normal(1);
    ha_tensor tk = k.desc(), tq = q.desc();
    std::vector<int64_t> counts(8, -1);
    int64_t total = -1;
    CHECK(ha_hsr_report(nullptr, &tk, &tq, 2.f, counts.data(), nullptr, 0, &total) == HA_OK, "%s", ha_last_error());
    CHECK(total > 1, "total %lld", (long long)total);
    std::vector<int32_t> small(static_cast<size_t>(total - 1), -5);
    std::vector<int64_t> counts2(8, -1);
    int64_t total2 = -1;
    const int32_t st = ha_hsr_report(nullptr, &tk, &tq, 2.f, counts2.data(), small.data(), total - 1, &total2);
    CHECK(st == HA_ERR_INVALID_ARGUMENT, "status %d", st);
    CHECK(std::string(ha_last_error()).find("indices: capacity") != std::string::npos, "%s", ha_last_error());
    CHECK(total2 == total && counts2 == counts, "counts/total filled on a short buffer");
    CHECK(std::all_of(small.begin(), small.end(), [](int32_t x) { return x == -5; }), "indices written");
    std::vector<int32_t> full(static_cast<size_t>(total));
    CHECK(ha_hsr_report(nullptr, &tk, &tq, 2.f, counts2.data(), full.data(), total, &total2) == HA_OK, "%s", ha_last_error());
    std::vector<int64_t> bc;
    std::vector<int32_t> bi;
    brute_force(q, k, 2.f, bc, bi);
    CHECK(full == bi && counts2 == bc, "full call differs from brute force");
}

// ---- ReLU^alpha ----------------------------------------------------------------------------------
TEST(hsr_relu_matches_float64_reference) {
    auto& g = rng();
    int n = 0;
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (int c = 0; c < 40; ++c, ++n) {
            const int family = (c % 3 == 0) ? CLUSTERED : (c % 3 == 1 ? GAUSS : INTEGERS);
            const int64_t Hkv = 1 + int64_t(g() % 2), G = 1 + int64_t(g() % 4);
            const int64_t Nq = c % 5 == 0 ? 33 : 1 + int64_t(g() % 3), Nk = 1 + int64_t(g() % 700);
            static const int64_t dims[] = {16, 24, 64, 128};
            const int64_t D = dims[g() % 4];
            const int32_t dt = c % 4 == 3 ? HA_DTYPE_BF16 : c % 4 == 1 ? HA_DTYPE_F16 : HA_DTYPE_F32;
            const int alpha = 1 + c % 3;
            const bool causal = c % 2 == 1;
            HostTensor q = make_tensor(dt, 1, Hkv * G, Nq, D, rand_layout());
            HostTensor k = make_tensor(dt, 1, Hkv, Nk, D, rand_layout());
            HostTensor v = make_tensor(dt, 1, Hkv, Nk, D, rand_layout());
            fill_family(q, family, true);
            fill_family(k, family, false);
            v.fill_normal(1);
            const double scale = 1.0 / std::sqrt(double(D));
            // Biases: around the paper's threshold, large enough to empty rows, and negative.
            const float bias = c % 7 == 6 ? 1e6f : (c % 7 == 5 ? -1.f : float(0.4 + 1.5 * (g() % 4) / 3.0));
            const int32_t bs = c % 2 ? 16 : 64;
            IndexPtr idx;
            const bool with_index = c % 3 != 2;
            if (with_index) CHECK(build_index(k, nullptr, bs, (c % 4) ? 3 : 0, g(), &idx.p) == HA_OK, "%s", ha_last_error());
            const ha_hsr_params p = relu_params(alpha, bias, causal);
            begin_case(format("[%s] relu #%d %s alpha=%d bias=%g Nq=%lld Nk=%lld D=%lld G=%lld %s %s",
                              isa_name(isa), c, family_name(family), alpha, double(bias), (long long)Nq,
                              (long long)Nk, (long long)D, (long long)G, causal ? "causal" : "full",
                              dtype_str(dt)));
            HsrRun r = run_hsr(q, k, v, idx.p, p, rand_layout());
            CHECK(r.status == HA_OK, "status %d %s", r.status, ha_last_error());
            if (r.status != HA_OK) { end_case(); continue; }
            int bad = 0;
            for (int64_t h = 0; h < q.shape[1]; ++h)
                for (int64_t i = 0; i < Nq; ++i) {
                    const RowRef ref = relu_reference(q, k, v, 0, h, i, scale, bias, alpha, causal);
                    const double tol = ref.tol + (dt == HA_DTYPE_BF16 ? std::ldexp(1.0, -7) * 4
                                                   : dt == HA_DTYPE_F16 ? std::ldexp(1.0, -10) * 4 : 0);
                    for (int64_t d = 0; d < D; ++d) {
                        const double got = r.out.get(0, h, i, d);
                        if (ref.empty ? got != 0.0 : !(std::fabs(got - ref.o[size_t(d)]) <= tol)) {
                            if (bad++ < 3)
                                CHECK(false, "h=%lld i=%lld d=%lld: %.8g vs %.8g (tol %.3g, empty %d)",
                                      (long long)h, (long long)i, (long long)d, got, ref.o[size_t(d)], tol,
                                      int(ref.empty));
                        }
                    }
                    const int64_t ri = row_index(q, 0, h, i);
                    CHECK(r.dropped[size_t(ri)] == 0.f && r.errb[size_t(ri)] == 0.f, "relu stats not 0");
                    const int64_t lim = causal ? std::clamp<int64_t>(i + Nk - Nq + 1, 0, Nk) : Nk;
                    CHECK(r.touched[size_t(ri)] >= 0 && r.touched[size_t(ri)] <= lim, "touched %lld of %lld",
                          (long long)r.touched[size_t(ri)], (long long)lim);
                }
            CHECK(gaps_untouched(r.out), "bytes outside out written");
            end_case();
        }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

// ---- softmax ---------------------------------------------------------------------------------------
namespace {

// Structured keys: clusters, a few "sink" keys of large norm, queries aligned with keys.
void fill_peaked(HostTensor& q, HostTensor& k, HostTensor& v, float sharp) {
    auto& g = rng();
    std::normal_distribution<float> nd(0.f, 1.f);
    const int64_t B = k.shape[0], Hkv = k.shape[1], Nk = k.shape[2], D = k.shape[3];
    const int64_t G = q.shape[1] / Hkv;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hkv; ++h) {
            const int64_t C = 8;
            std::vector<float> cen(static_cast<size_t>(C * D));
            for (float& x : cen) x = nd(g);
            for (int64_t j = 0; j < Nk; ++j) {
                const int64_t c = int64_t(g() % C);
                const bool sink = j < 2;
                for (int64_t d = 0; d < D; ++d)
                    k.set(b, h, j, d, sink ? 2.f * cen[size_t(d)] : cen[size_t(c * D + d)] + 0.3f * nd(g));
            }
            for (int64_t hq = h * G; hq < (h + 1) * G; ++hq)
                for (int64_t i = 0; i < q.shape[2]; ++i) {
                    const int64_t j = Nk > 0 ? int64_t(g() % uint64_t(Nk)) : 0;
                    for (int64_t d = 0; d < D; ++d)
                        q.set(b, hq, i, d, (Nk > 0 ? sharp * k.get(b, h, j, d) : 0.f) + 0.3f * nd(g));
                }
        }
    v.fill_normal(1.f);
}

}  // namespace

TEST(hsr_softmax_bounds_are_certified) {
    auto& g = rng();
    int n_dropping = 0, cases = 0;
    double worst_ratio = 0;
    const std::vector<int32_t> isas = supported_isas();
    for (int c = 0; c < 150; ++c) {
        const int32_t isa = isas[size_t(c) % isas.size()];
        ha_set_cpu_isa(isa);
        const bool peaked = c % 3 != 0;
        const int64_t Hkv = 1 + int64_t(g() % 2), G = 1 + int64_t(g() % 4);
        const int64_t Nq = c % 6 == 0 ? 20 : 1 + int64_t(g() % 2), Nk = 50 + int64_t(g() % 2500);
        const int64_t D = c % 2 ? 64 : 32;
        const int32_t dt = c % 5 == 4 ? HA_DTYPE_BF16 : c % 5 == 2 ? HA_DTYPE_F16 : HA_DTYPE_F32;
        static const double epss[] = {0.3, 0.1, 1e-2, 1e-3, 1e-5};
        const double eps = epss[c % 5];
        const bool causal = c % 4 == 1;
        const float sharp = 0.5f + float(g() % 4);
        HostTensor q = make_tensor(dt, 1, Hkv * G, Nq, D, rand_layout());
        HostTensor k = make_tensor(dt, 1, Hkv, Nk, D, rand_layout());
        HostTensor v = make_tensor(dt, 1, Hkv, Nk, D, rand_layout());
        if (peaked) {
            fill_peaked(q, k, v, sharp);
        } else {
            q.fill_normal(1);
            k.fill_normal(1);
            v.fill_normal(1);
        }
        const bool with_v = c % 2 == 0;
        IndexPtr idx;
        if (c % 5 != 3) CHECK(build_index(k, with_v ? &v : nullptr, c % 3 ? 32 : 64, 4, g(), &idx.p) == HA_OK, "%s", ha_last_error());
        const ha_hsr_params p = softmax_params(eps, causal);
        begin_case(format("[%s] softmax bound #%d %s eps=%g Nq=%lld Nk=%lld D=%lld G=%lld %s %s index=%d v-ranges=%d",
                          isa_name(isa), c, peaked ? "peaked" : "gauss", eps, (long long)Nq, (long long)Nk, (long long)D,
                          (long long)G, causal ? "causal" : "full", dtype_str(dt),
                          int(idx.p != nullptr), int(with_v)));
        HsrRun r = run_hsr(q, k, v, idx.p, p);
        CHECK(r.status == HA_OK, "status %d %s", r.status, ha_last_error());
        if (r.status != HA_OK) { end_case(); continue; }
        ++cases;
        const double scale = 1.0 / std::sqrt(double(D));
        const double round_tol = dt == HA_DTYPE_BF16 ? std::ldexp(1.0, -6) * 4
                               : dt == HA_DTYPE_F16 ? std::ldexp(1.0, -9) * 4 : 5e-5 * 4;
        for (int64_t h = 0; h < q.shape[1]; ++h)
            for (int64_t i = 0; i < Nq; ++i) {
                const int64_t ri = row_index(q, 0, h, i);
                const RowRef ref = softmax_reference(q, k, v, 0, h, i, scale, causal);
                double err = 0;
                for (int64_t d = 0; d < D; ++d) err = std::max(err, std::fabs(r.out.get(0, h, i, d) - ref.o[size_t(d)]));
                const double dm = r.dropped[size_t(ri)], eb = r.errb[size_t(ri)];
                CHECK(dm >= 0 && dm <= eps, "dropped mass %.6g not in [0, eps=%g]", dm, eps);
                CHECK(eb >= 0 && err <= eb + round_tol, "h=%lld i=%lld: true error %.6g above bound %.6g (+%.1g)",
                      (long long)h, (long long)i, err, eb, round_tol);
                if (dm == 0) CHECK(eb == 0, "bound %.3g with nothing dropped", eb);
                if (dm > 0) ++n_dropping;
                worst_ratio = std::max(worst_ratio, err / (eb + round_tol));
            }
        CHECK(gaps_untouched(r.out), "bytes outside out written");
        end_case();
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
    std::printf("   %d cases, %d rows dropped keys, largest true error / (bound + rounding) = %.3f\n", cases,
                n_dropping, worst_ratio);
    CHECK(n_dropping >= 25, "too few rows exercised the dropping path (%d)", n_dropping);
}

// The dropped mass itself, observed through the output: with v_j[0] = 1/w_j (w_j the softmax
// weight relative to the row's maximum) and v_j[1] = 1, out[0] = |kept|/S_kept, so
// S_kept/S_total = keys_touched / (out[0]·S_total), and p_D = 1 − that.
TEST(hsr_softmax_dropped_mass_is_an_upper_bound) {
    auto& g = rng();
    int checked = 0;
    double worst = 0;
    for (int c = 0; c < 60; ++c) {
        const int64_t Nk = 300 + int64_t(g() % 3000), D = 32, G = 2;
        HostTensor q = make_tensor(HA_DTYPE_F32, 1, G, 1, D, BHSD);
        HostTensor k = make_tensor(HA_DTYPE_F32, 1, 1, Nk, D, BHSD);
        HostTensor v = make_tensor(HA_DTYPE_F32, 1, 1, Nk, D, BHSD);
        fill_peaked(q, k, v, 0.5f + float(c % 3));
        const double scale = 1.0 / std::sqrt(double(D));
        // Scores of head 0 decide v; keep the range of weights inside float (e^-60).
        std::vector<double> s(static_cast<size_t>(Nk));
        double m = -INFINITY;
        const auto qr = row(q, 0, 0, 0);
        for (int64_t j = 0; j < Nk; ++j) {
            const auto kr = row(k, 0, 0, j);
            double acc = 0;
            for (int64_t d = 0; d < D; ++d) acc += double(qr[size_t(d)]) * kr[size_t(d)];
            s[size_t(j)] = acc * scale;
            m = std::max(m, s[size_t(j)]);
        }
        bool ok = true;
        double total = 0;
        for (int64_t j = 0; j < Nk; ++j) {
            ok &= s[size_t(j)] - m > -60;
            total += std::exp(s[size_t(j)] - m);
        }
        if (!ok) continue;
        for (int64_t j = 0; j < Nk; ++j) {
            v.set(0, 0, j, 0, float(std::exp(m - s[size_t(j)])));
            v.set(0, 0, j, 1, 1.f);
        }
        IndexPtr idx;
        CHECK(build_index(k, nullptr, 32, 4, g(), &idx.p) == HA_OK, "%s", ha_last_error());
        static const double epss[] = {0.2, 0.05, 1e-2};
        const double eps = epss[c % 3];
        begin_case(format("dropped mass #%d Nk=%lld eps=%g", c, (long long)Nk, eps));
        HsrRun r = run_hsr(q, k, v, idx.p, softmax_params(eps));
        CHECK(r.status == HA_OK, "%s", ha_last_error());
        const double kept = double(r.touched[0]) / (double(r.out.get(0, 0, 0, 0)) * total);
        const double pd = 1 - kept;
        // 1e-4: out[0] itself carries float rounding (weights and 1/w span e^60).
        CHECK(pd <= r.dropped[0] * (1 + 1e-3) + 1e-4, "true dropped mass %.6g above the bound %.6g", pd,
              double(r.dropped[0]));
        CHECK(std::fabs(r.out.get(0, 0, 0, 1) - 1.0) < 1e-4, "out[1] = %g", double(r.out.get(0, 0, 0, 1)));
        // The ratio only where the bound stands above pd's own rounding (1e-4, above): below
        // it, pd is noise and the ratio of two rounding-level numbers says nothing.
        if (r.dropped[0] > 1e-2) worst = std::max(worst, pd / r.dropped[0]);
        ++checked;
        end_case();
    }
    std::printf("   %d rows checked, largest true/certified dropped mass (bounds above 1e-2) = %.3f\n", checked, worst);
    CHECK(checked >= 20, "only %d usable cases", checked);
}

TEST(hsr_softmax_with_tiny_epsilon_is_exact) {
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
        for (bool causal : {false, true}) {
            HostTensor q = make_tensor(dt, 1, 8, 5, 64, BSHD);
            HostTensor k = make_tensor(dt, 1, 2, 1500, 64, BSHD);
            HostTensor v = make_tensor(dt, 1, 2, 1500, 64, BSHD);
            fill_peaked(q, k, v, 2.f);
            IndexPtr idx;
            CHECK(build_index(k, &v, 64, 4, 7, &idx.p) == HA_OK, "%s", ha_last_error());
            begin_case(format("softmax eps=1e-12 %s %s", dtype_str(dt), causal ? "causal" : "full"));
            HsrRun r = run_hsr(q, k, v, idx.p, softmax_params(1e-12, causal));
            CHECK(r.status == HA_OK, "%s", ha_last_error());
            RefResult ref = reference_attention(q, k, v, 1.0 / 8.0, causal);
            compare_output(r.out, ref, out_tolerance(dt, max_abs(v)));
            for (float dm : r.dropped) CHECK(dm <= 1e-12, "dropped %g", double(dm));
            end_case();
        }
}

// ---- the paper's regime ---------------------------------------------------------------------------
// q, k ~ N(0, I): given q, the scaled score q·k/sqrt(d) is N(0, sigma²) with sigma = ||q||/sqrt(d),
// so with b = sigma·sqrt(0.4 ln n) the number of keys above b is Binomial(n, Q(sqrt(0.4 ln n))):
// n^(4/5)/(sqrt(2 pi)·sqrt(0.4 ln n)) to first order, below n^(4/5) by the Mills ratio. We check
// that every count is within 6 binomial standard deviations of its mean and below n^(4/5).
TEST(hsr_paper_regime_reports_about_n_to_the_four_fifths) {
    for (int64_t n : {4096, 65536}) {
        const int64_t D = 64, Hq = 4;
        HostTensor k = make_tensor(HA_DTYPE_F32, 1, 1, n, D, BHSD);
        HostTensor q = make_tensor(HA_DTYPE_F32, 1, Hq, 4, D, BHSD);
        k.fill_normal(1);
        q.fill_normal(1);
        IndexPtr idx;
        CHECK(build_index(k, nullptr, 64, 4, 3, &idx.p) == HA_OK, "%s", ha_last_error());
        const double z = std::sqrt(0.4 * std::log(double(n)));
        const double p = 0.5 * std::erfc(z / std::sqrt(2.0));
        const double mean = double(n) * p, sd = std::sqrt(double(n) * p * (1 - p));
        begin_case(format("paper regime n=%lld: E[count] = %.1f, n^(4/5) = %.1f", (long long)n, mean,
                          std::pow(double(n), 0.8)));
        ha_tensor tk = k.desc();
        for (int64_t h = 0; h < Hq; ++h)
            for (int64_t i = 0; i < 4; ++i) {
                // One query at a time: the threshold depends on ||q||.
                HostTensor q1 = make_tensor(HA_DTYPE_F32, 1, 1, 1, D, BHSD);
                double qn = 0;
                for (int64_t d = 0; d < D; ++d) {
                    q1.set(0, 0, 0, d, q.get(0, h, i, d));
                    qn += double(q.get(0, h, i, d)) * q.get(0, h, i, d);
                }
                const double sigma = std::sqrt(qn / double(D));
                const float t = float(sigma * z * std::sqrt(double(D)));  // raw units: b·sqrt(d)
                ha_tensor tq = q1.desc();
                int64_t count = 0, total = 0;
                CHECK(ha_hsr_report(idx.p, &tk, &tq, t, &count, nullptr, 0, &total) == HA_OK, "%s", ha_last_error());
                CHECK(std::fabs(double(count) - mean) <= 6 * sd, "count %lld, expected %.1f ± %.1f",
                      (long long)count, mean, sd);
                CHECK(double(count) <= std::pow(double(n), 0.8), "count %lld above n^(4/5)", (long long)count);
                if (h == 0 && i == 0)
                    std::printf("   n=%lld: count %lld, expected %.1f, n^(4/5) = %.1f, ratio %.3f\n",
                                (long long)n, (long long)count, mean, std::pow(double(n), 0.8),
                                double(count) / std::pow(double(n), 0.8));
            }
        end_case();
    }
}

// ---- decoding: appending ----------------------------------------------------------------------------
TEST(hsr_append_then_query_equals_a_fresh_build) {
    auto& g = rng();
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
        for (int layout : {BHSD, BSHD}) {
            const int64_t cap = 1000, N0 = 130, D = 64, Hkv = 2, G = 4;
            HostTensor k = make_tensor(dt, 1, Hkv, cap, D, layout);
            HostTensor v = make_tensor(dt, 1, Hkv, cap, D, layout);
            HostTensor qall = make_tensor(dt, 1, Hkv * G, 1, D, BHSD);
            HostTensor dummy = make_tensor(dt, 1, Hkv * G, 1, D, BHSD);
            fill_peaked(qall, k, v, 1.5f);
            begin_case(format("append 1, 7, 64, 300 keys at a time vs fresh builds (%s, %s)",
                              dtype_str(dt), layout_name(layout)));
            auto view = [&](HostTensor& t, int64_t n) {
                ha_tensor d = t.desc();
                d.shape[2] = n;
                return d;
            };
            IndexPtr grown, grown_km;
            {
                ha_tensor tk = view(k, N0), tv = view(v, N0);
                ha_index_params ip;
                ha_index_params_init(&ip);
                ip.block_size = 32;
                ip.kmeans_iters = 0;
                CHECK(ha_key_index_create(&tk, &tv, &ip, &grown.p) == HA_OK, "%s", ha_last_error());
                ip.kmeans_iters = 4;
                CHECK(ha_key_index_create(&tk, &tv, &ip, &grown_km.p) == HA_OK, "%s", ha_last_error());
            }
            int64_t n = N0;
            for (int64_t step : {1, 7, 64, 300, 1, 1}) {
                n = std::min(cap, n + step);
                ha_tensor tk = view(k, n), tv = view(v, n);
                CHECK(ha_key_index_append(grown.p, &tk, &tv) == HA_OK, "%s", ha_last_error());
                CHECK(ha_key_index_append(grown_km.p, &tk, &tv) == HA_OK, "%s", ha_last_error());
                ha_key_index_info info{};
                CHECK(ha_key_index_get_info(grown.p, &info) == HA_OK, "%s", ha_last_error());
                CHECK(info.keys == n && info.sealed_keys == n / 32 * 32 && info.blocks == n / 32,
                      "info keys %lld sealed %lld blocks %lld", (long long)info.keys,
                      (long long)info.sealed_keys, (long long)info.blocks);
                IndexPtr fresh;
                ha_index_params ip;
                ha_index_params_init(&ip);
                ip.block_size = 32;
                ip.kmeans_iters = 0;
                CHECK(ha_key_index_create(&tk, &tv, &ip, &fresh.p) == HA_OK, "%s", ha_last_error());
                // A query for this step.
                for (int64_t h = 0; h < Hkv * G; ++h)
                    for (int64_t d = 0; d < D; ++d) dummy.set(0, h, 0, d, qall.get(0, h, 0, d) + 0.01f * float(step));
                for (int mode : {HA_HSR_RELU, HA_HSR_SOFTMAX}) {
                    ha_hsr_params p = mode == HA_HSR_RELU ? relu_params(2, 0.5f) : softmax_params(1e-3);
                    HostTensor o1 = make_tensor(dt, 1, Hkv * G, 1, D, BHSD), o2 = o1, o3 = o1;
                    o1.poison();
                    o2.poison();
                    o3.poison();
                    std::vector<float> d1(8), d2(8), e1(8), e2(8);
                    std::vector<int64_t> t1(8), t2(8);
                    ha_hsr_stats s1{d1.data(), e1.data(), t1.data()}, s2{d2.data(), e2.data(), t2.data()};
                    ha_tensor tq = dummy.desc(), to1 = o1.desc(), to2 = o2.desc(), to3 = o3.desc();
                    CHECK(ha_attention_hsr(&tq, &tk, &tv, &to1, grown.p, &p, &s1) == HA_OK, "%s", ha_last_error());
                    CHECK(ha_attention_hsr(&tq, &tk, &tv, &to2, fresh.p, &p, &s2) == HA_OK, "%s", ha_last_error());
                    CHECK(ha_attention_hsr(&tq, &tk, &tv, &to3, grown_km.p, &p, nullptr) == HA_OK, "%s", ha_last_error());
                    CHECK(element_bytes(o1) == element_bytes(o2), "mode %d n=%lld: appended and fresh outputs differ", mode, (long long)n);
                    CHECK(d1 == d2 && e1 == e2 && t1 == t2, "mode %d: stats differ", mode);
                    const double tol = mode == HA_HSR_RELU
                                           ? (dt == HA_DTYPE_BF16 ? 0.05 : dt == HA_DTYPE_F16 ? 0.05 / 8 : 1e-4)
                                           : (dt == HA_DTYPE_BF16 ? 0.05 : 5e-3);
                    for (int64_t h = 0; h < Hkv * G; ++h)
                        for (int64_t d = 0; d < D; ++d)
                            CHECK(std::fabs(o1.get(0, h, 0, d) - o3.get(0, h, 0, d)) <= tol,
                                  "regrouped index differs: %g vs %g", double(o1.get(0, h, 0, d)),
                                  double(o3.get(0, h, 0, d)));
                }
                const float t = 3.f;
                ha_tensor tq = dummy.desc();
                std::vector<int64_t> c1(8), c2(8), c3(8);
                int64_t n1 = 0, n2 = 0, n3 = 0;
                CHECK(ha_hsr_report(grown.p, &tk, &tq, t, c1.data(), nullptr, 0, &n1) == HA_OK, "%s", ha_last_error());
                CHECK(ha_hsr_report(fresh.p, &tk, &tq, t, c2.data(), nullptr, 0, &n2) == HA_OK, "%s", ha_last_error());
                CHECK(ha_hsr_report(grown_km.p, &tk, &tq, t, c3.data(), nullptr, 0, &n3) == HA_OK, "%s", ha_last_error());
                std::vector<int32_t> i1(static_cast<size_t>(n1)), i2(static_cast<size_t>(n2)), i3(static_cast<size_t>(n3));
                CHECK(ha_hsr_report(grown.p, &tk, &tq, t, c1.data(), i1.data(), n1, &n1) == HA_OK, "%s", ha_last_error());
                CHECK(ha_hsr_report(fresh.p, &tk, &tq, t, c2.data(), i2.data(), n2, &n2) == HA_OK, "%s", ha_last_error());
                CHECK(ha_hsr_report(grown_km.p, &tk, &tq, t, c3.data(), i3.data(), n3, &n3) == HA_OK, "%s", ha_last_error());
                CHECK(i1 == i2 && c1 == c2 && i1 == i3 && c1 == c3, "reported sets differ after append");
            }
            end_case();
            (void)g;
        }
}

// ---- causal prefill -----------------------------------------------------------------------------------
TEST(hsr_causal_prefill_matches_reference) {
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
        for (int64_t nq : {300, 700}) {
            const int64_t nk = 700, D = 64;
            HostTensor q = make_tensor(dt, 1, 4, nq, D, BSHD);
            HostTensor k = make_tensor(dt, 1, 2, nk, D, BSHD);
            HostTensor v = make_tensor(dt, 1, 2, nk, D, BSHD);
            fill_peaked(q, k, v, 1.f);
            for (int mode : {HA_HSR_RELU, HA_HSR_SOFTMAX}) {
                begin_case(format("causal prefill %s Nq=%lld Nk=%lld %s (temporary index)",
                                  mode == HA_HSR_RELU ? "relu" : "softmax", (long long)nq, (long long)nk,
                                  dtype_str(dt)));
                const ha_hsr_params p = mode == HA_HSR_RELU ? relu_params(1, 0.8f, true) : softmax_params(1e-4, true);
                HsrRun r = run_hsr(q, k, v, nullptr, p);
                CHECK(r.status == HA_OK, "%s", ha_last_error());
                int bad = 0;
                for (int64_t h = 0; h < 4; ++h)
                    for (int64_t i = 0; i < nq; ++i) {
                        RowRef ref = mode == HA_HSR_RELU ? relu_reference(q, k, v, 0, h, i, 1 / 8.0, 0.8, 1, true)
                                                         : softmax_reference(q, k, v, 0, h, i, 1 / 8.0, true);
                        const int64_t ri = row_index(q, 0, h, i);
                        double tol = mode == HA_HSR_RELU ? ref.tol : double(r.errb[size_t(ri)]) + 2e-4;
                        if (dt == HA_DTYPE_BF16) tol += 0.03;
                        if (dt == HA_DTYPE_F16) tol += 0.03 / 8;
                        for (int64_t d = 0; d < D; ++d) {
                            const double got = r.out.get(0, h, i, d);
                            const bool ok = ref.empty ? got == 0.0 : std::fabs(got - ref.o[size_t(d)]) <= tol;
                            if (!ok && bad++ < 3)
                                CHECK(false, "h=%lld i=%lld d=%lld: %.7g vs %.7g (tol %.3g)", (long long)h,
                                      (long long)i, (long long)d, got, ref.o[size_t(d)], tol);
                        }
                    }
                end_case();
            }
        }
}

// ---- fallbacks ------------------------------------------------------------------------------------------
TEST(hsr_gaussian_softmax_falls_back_to_exact) {
    begin_case("unstructured keys: softmax visits everything (dense), dropped mass 0");
    const int64_t nk = 20000, D = 64;
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 8, 1, D, BHSD);
    HostTensor k = make_tensor(HA_DTYPE_F32, 1, 2, nk, D, BHSD);
    HostTensor v = make_tensor(HA_DTYPE_F32, 1, 2, nk, D, BHSD);
    q.fill_normal(1);
    k.fill_normal(1);
    v.fill_normal(1);
    IndexPtr idx;
    CHECK(build_index(k, &v, 64, 4, 1, &idx.p) == HA_OK, "%s", ha_last_error());
    HsrRun r = run_hsr(q, k, v, idx.p, softmax_params(1e-3));
    CHECK(r.status == HA_OK, "%s", ha_last_error());
    RefResult ref = reference_attention(q, k, v, 1.0 / 8.0, false);
    compare_output(r.out, ref, out_tolerance(HA_DTYPE_F32, max_abs(v)));
    for (size_t i = 0; i < r.dropped.size(); ++i) {
        CHECK(r.dropped[i] == 0.f && r.errb[i] == 0.f, "row %zu: dropped %g", i, double(r.dropped[i]));
        CHECK(r.touched[i] == nk, "row %zu touched %lld", i, (long long)r.touched[i]);
    }
}

// ---- determinism ----------------------------------------------------------------------------------------
// Every result of one index (ReLU, softmax at two epsilons, each with and without the index,
// with stats; reporting) as named bytes, so a failure says which one moved.
using Blobs = std::vector<std::pair<std::string, std::vector<unsigned char>>>;
Blobs all_results(HostTensor& q, HostTensor& k, HostTensor& v, int copy_keys, bool causal) {
    Blobs out;
    IndexPtr idx;
    CHECK(build_index(k, &v, 64, 4, 11, &idx.p, copy_keys) == HA_OK, "%s", ha_last_error());
    auto add = [&](std::vector<unsigned char>& b, const void* p0, size_t n) {
        b.insert(b.end(), (const unsigned char*)p0, (const unsigned char*)p0 + n);
    };
    for (int mode : {0, 1, 2}) {
        ha_hsr_params p = mode == 0 ? relu_params(2, 0.7f) : softmax_params(mode == 1 ? 1e-3 : 1e-6);
        p.causal = causal;
        for (int with_index : {1, 0}) {
            HsrRun r = run_hsr(q, k, v, with_index ? idx.p : nullptr, p);
            CHECK(r.status == HA_OK, "%s", ha_last_error());
            std::vector<unsigned char> b = element_bytes(r.out);
            out.push_back({format("mode %d index %d: out", mode, with_index), b});
            b.clear();
            add(b, r.dropped.data(), r.dropped.size() * 4);
            add(b, r.errb.data(), r.errb.size() * 4);
            add(b, r.touched.data(), r.touched.size() * 8);
            out.push_back({format("mode %d index %d: stats", mode, with_index), b});
        }
    }
    ReportResult rr = run_report(idx.p, k, q, 4.f);
    std::vector<unsigned char> b;
    add(b, rr.indices.data(), rr.indices.size() * 4);
    out.push_back({"report", b});
    return out;
}

std::string differing(const Blobs& a, const Blobs& b) {
    std::string d;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
        if (a[i].second != b[i].second) d += " [" + a[i].first + "]";
    return d;
}

TEST(hsr_key_copy_changes_memory_not_results) {
    const int64_t nk = 5000, D = 128;
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16})
        for (bool causal : {false, true}) {
            HostTensor q = make_tensor(dt, 1, 8, causal ? 5 : 2, D, BHSD);
            HostTensor k = make_tensor(dt, 1, 2, nk, D, BHSD);
            HostTensor v = make_tensor(dt, 1, 2, nk, D, BHSD);
            fill_peaked(q, k, v, 1.f);
            begin_case(format("copy_keys 1 vs 0 (%s%s): identical bytes in every result, copy "
                              "holds the sealed keys",
                              dtype_str(dt), causal ? ", causal" : ""));
            const Blobs copied = all_results(q, k, v, 1, causal);
            const Blobs in_place = all_results(q, k, v, 0, causal);
            const std::string d = differing(copied, in_place);
            CHECK(d.empty(), "the key copy changed%s", d.c_str());
            IndexPtr a, b;
            CHECK(build_index(k, &v, 64, 4, 11, &a.p, 1) == HA_OK, "%s", ha_last_error());
            CHECK(build_index(k, &v, 64, 4, 11, &b.p, 0) == HA_OK, "%s", ha_last_error());
            ha_key_index_info ia{}, ib{};
            CHECK(ha_key_index_get_info(a.p, &ia) == HA_OK && ha_key_index_get_info(b.p, &ib) == HA_OK,
                  "%s", ha_last_error());
            const int64_t key_bytes = 2 * ia.sealed_keys * D * (dt != HA_DTYPE_F32 ? 2 : 4);
            CHECK(ia.sealed_keys == ib.sealed_keys && ia.bytes - ib.bytes >= key_bytes,
                  "index bytes %lld (copy) vs %lld (in place): the copy of %lld sealed keys is "
                  "%lld bytes", (long long)ia.bytes, (long long)ib.bytes,
                  (long long)ia.sealed_keys, (long long)key_bytes);
            end_case();
        }
}

TEST(hsr_results_identical_for_any_thread_count) {
    const int64_t nk = 9000, D = 128;
    for (int32_t dt : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
        HostTensor q = make_tensor(dt, 1, 8, 3, D, BHSD);
        HostTensor k = make_tensor(dt, 1, 2, nk, D, BHSD);
        HostTensor v = make_tensor(dt, 1, 2, nk, D, BHSD);
        fill_peaked(q, k, v, 1.f);
        begin_case(format("bit-identical for 1, 2, 3, 8 threads (%s): index, relu, softmax, report",
                          dtype_str(dt)));
        auto run_all = [&]() { return all_results(q, k, v, 1, false); };
        const int before = ha_get_num_threads();
        ha_set_num_threads(1);
        const Blobs ref = run_all();
        for (int t : {2, 3, 8}) {
            ha_set_num_threads(t);
            const std::string differ = differing(ref, run_all());
            CHECK(differ.empty(), "%d threads differ from 1 thread in%s", t, differ.c_str());
        }
        ha_set_num_threads(before);
        end_case();
    }
    ha_set_num_threads(0);
}

// ---- bad input ------------------------------------------------------------------------------------------
namespace {

void expect_status(const char* label, int32_t status, int32_t want, const char* needle) {
    begin_case(label);
    CHECK(status == want, "status %d, expected %d (message: %s)", status, want, ha_last_error());
    const std::string msg = ha_last_error();
    CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(), needle);
    end_case();
}

}  // namespace

TEST(hsr_bad_arguments_are_rejected_with_a_reason) {
    const int32_t INV = HA_ERR_INVALID_ARGUMENT;
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 4, 2, 16, BHSD);
    HostTensor k = make_tensor(HA_DTYPE_F32, 1, 2, 100, 16, BHSD);
    HostTensor v = make_tensor(HA_DTYPE_F32, 1, 2, 100, 16, BHSD);
    HostTensor k2 = make_tensor(HA_DTYPE_F32, 1, 2, 100, 16, BHSD);
    HostTensor out = make_tensor(HA_DTYPE_F32, 1, 4, 2, 16, BHSD);
    q.fill_normal(1);
    k.fill_normal(1);
    v.fill_normal(1);
    k2.fill_normal(1);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tk2 = k2.desc();
    IndexPtr idx, idx_v;
    CHECK(ha_key_index_create(&tk, nullptr, nullptr, &idx.p) == HA_OK, "%s", ha_last_error());
    CHECK(ha_key_index_create(&tk, &tv, nullptr, &idx_v.p) == HA_OK, "%s", ha_last_error());
    auto attn = [&](ha_hsr_params p, const ha_key_index* ix = nullptr) {
        return ha_attention_hsr(&tq, &tk, &tv, &to, ix, &p, nullptr);
    };
    ha_hsr_params base;
    ha_hsr_params_init(&base);
    { auto p = base; p.alpha = 0; p.mode = HA_HSR_RELU; expect_status("alpha 0", attn(p), INV, "params.alpha"); }
    { auto p = base; p.epsilon = 0; expect_status("epsilon 0", attn(p), INV, "params.epsilon"); }
    { auto p = base; p.epsilon = 1; expect_status("epsilon 1", attn(p), INV, "params.epsilon"); }
    { auto p = base; p.epsilon = NAN; expect_status("epsilon NaN", attn(p), INV, "params.epsilon"); }
    { auto p = base; p.epsilon = -0.5; expect_status("epsilon < 0", attn(p), INV, "params.epsilon"); }
    { auto p = base; p.bias = INFINITY; expect_status("bias inf", attn(p), INV, "params.bias"); }
    { auto p = base; p.bias = NAN; expect_status("bias NaN", attn(p), INV, "params.bias"); }
    { auto p = base; p.mode = 2; expect_status("mode 2", attn(p), INV, "params.mode"); }
    { auto p = base; p.reserved = 1; expect_status("reserved", attn(p), INV, "params.reserved"); }
    { auto p = base; int x; p.stream = &x; expect_status("stream", attn(p), INV, "params.stream"); }
    { auto p = base; p.causal = 2; expect_status("causal 2", attn(p), INV, "params.causal"); }
    { auto p = base; p.scale = -1; expect_status("scale < 0", attn(p), INV, "params.scale"); }
    { auto p = base; p.scale = NAN; expect_status("scale NaN", attn(p), INV, "params.scale"); }
    expect_status("index of other keys (address)", ha_attention_hsr(&tq, &tk2, &tv, &to, idx.p, &base, nullptr), INV, "index: built for other keys");
    {
        ha_tensor t = tk;
        t.shape[2] = 90;
        ha_tensor tvv = tv;
        tvv.shape[2] = 90;
        expect_status("index of more keys than k", ha_attention_hsr(&tq, &t, &tvv, &to, idx.p, &base, nullptr), INV, "index: indexes 100 keys but k has 90");
    }
    {
        ha_tensor t = tk;
        t.strides[2] = 8;
        t.shape[3] = 8;
        ha_tensor tq8 = tq, to8 = to, tv8 = tv;
        tq8.shape[3] = to8.shape[3] = tv8.shape[3] = 8;
        expect_status("index of other strides", ha_attention_hsr(&tq8, &t, &tv8, &to8, idx.p, &base, nullptr), INV, "stride");
    }
    {
        HostTensor kb = make_tensor(HA_DTYPE_BF16, 1, 2, 100, 16, BHSD);
        ha_tensor t = tk;
        t.dtype = HA_DTYPE_BF16;
        std::vector<int64_t> c(8);
        int64_t tot;
        expect_status("index of other dtype", ha_hsr_report(idx.p, &t, &tq, 0.f, c.data(), nullptr, 0, &tot), INV, "index: built for f32 keys");
        (void)kb;
    }
    expect_status("index built with other values", ha_attention_hsr(&tq, &tk, &tk2, &to, idx_v.p, &base, nullptr), INV, "index: built for other values");
    {
        ha_tensor t = tk;
        t.shape[1] = 1;
        ha_tensor tvv = tv;
        tvv.shape[1] = 1;
        expect_status("index of other heads", ha_attention_hsr(&tq, &t, &tvv, &to, idx.p, &base, nullptr), INV, "heads");
    }
    // index creation and append
    {
        ha_index_params ip;
        ha_index_params_init(&ip);
        ha_key_index* x = nullptr;
        ip.block_size = 7;
        expect_status("block_size 7", ha_key_index_create(&tk, nullptr, &ip, &x), INV, "params.block_size");
        ip.block_size = 1025;
        expect_status("block_size 1025", ha_key_index_create(&tk, nullptr, &ip, &x), INV, "params.block_size");
        ip.block_size = 64;
        ip.kmeans_iters = -1;
        expect_status("kmeans_iters -1", ha_key_index_create(&tk, nullptr, &ip, &x), INV, "params.kmeans_iters");
        ip.kmeans_iters = 4;
        ip.copy_keys = 2;
        expect_status("copy_keys 2", ha_key_index_create(&tk, nullptr, &ip, &x), INV, "params.copy_keys");
        ip.copy_keys = 1;
        ip.reserved = 1;
        expect_status("reserved 1", ha_key_index_create(&tk, nullptr, &ip, &x), INV, "params.reserved");
        expect_status("create without out-pointer", ha_key_index_create(&tk, nullptr, nullptr, nullptr), INV, "index");
        expect_status("create with k NULL", ha_key_index_create(nullptr, nullptr, nullptr, &x), INV, "k:");
        CHECK(x == nullptr, "index written on failure");
        ha_tensor bad = tv;
        bad.shape[2] = 50;
        expect_status("create with v of another shape", ha_key_index_create(&tk, &bad, nullptr, &x), INV, "v:");
        HostTensor kn = make_tensor(HA_DTYPE_F32, 1, 1, 70, 16, BHSD);
        kn.fill_normal(1);
        kn.set(0, 0, 66, 3, NAN);
        ha_tensor tkn = kn.desc();
        expect_status("NaN key", ha_key_index_create(&tkn, nullptr, nullptr, &x), INV, "non-finite");
        kn.set(0, 0, 66, 3, 1.f);
        kn.set(0, 0, 5, 0, INFINITY);
        expect_status("inf key (in a block)", ha_key_index_create(&tkn, nullptr, nullptr, &x), INV, "position 5");
    }
    {
        ha_tensor t = tk;
        expect_status("append NULL index", ha_key_index_append(nullptr, &t, nullptr), INV, "index");
        t.shape[2] = 50;
        expect_status("append shorter", ha_key_index_append(idx.p, &t, nullptr), INV, "shorter");
        expect_status("append other buffer", ha_key_index_append(idx.p, &tk2, nullptr), INV, "index: built for other keys");
        expect_status("append v to an index without v", ha_key_index_append(idx.p, &tk, &tv), INV, "v: must be NULL");
        expect_status("append without v to an index with v", ha_key_index_append(idx_v.p, &tk, nullptr), INV, "v:");
        ha_key_index_info info;
        expect_status("get_info NULL info", ha_key_index_get_info(idx.p, nullptr), INV, "info");
        expect_status("get_info NULL index", ha_key_index_get_info(nullptr, &info), INV, "index");
    }
    // report
    {
        std::vector<int64_t> c(8);
        int64_t tot = 0;
        expect_status("report counts NULL", ha_hsr_report(idx.p, &tk, &tq, 0.f, nullptr, nullptr, 0, &tot), INV, "counts");
        expect_status("report total NULL", ha_hsr_report(idx.p, &tk, &tq, 0.f, c.data(), nullptr, 0, nullptr), INV, "total");
        expect_status("report NaN threshold", ha_hsr_report(idx.p, &tk, &tq, NAN, c.data(), nullptr, 0, &tot), INV, "threshold");
        expect_status("report negative capacity", ha_hsr_report(idx.p, &tk, &tq, 0.f, c.data(), nullptr, -1, &tot), INV, "capacity");
        HostTensor qn = make_tensor(HA_DTYPE_F32, 1, 4, 2, 16, BHSD);
        qn.fill_normal(1);
        qn.set(0, 1, 1, 2, NAN);
        ha_tensor tqn = qn.desc();
        expect_status("report NaN query", ha_hsr_report(idx.p, &tk, &tqn, 0.f, c.data(), nullptr, 0, &tot), INV, "q: non-finite");
        // Attention follows the non-finite policy instead (test_nonfinite.cpp): a NaN row.
        expect_status("attention NaN query", ha_attention_hsr(&tqn, &tk, &tv, &to, idx.p, &base, nullptr), HA_OK, "");
        ha_tensor tq3 = tq;
        tq3.shape[1] = 3;
        expect_status("report GQA not divisible", ha_hsr_report(nullptr, &tk, &tq3, 0.f, c.data(), nullptr, 0, &tot), INV, "not divisible");
    }
    // stats aliasing the output
    {
        ha_hsr_stats st{static_cast<float*>(out.data()), nullptr, nullptr};
        expect_status("stats overlapping out", ha_attention_hsr(&tq, &tk, &tv, &to, idx.p, &base, &st), INV, "stats.dropped_mass");
    }
    {
        ha_tensor t = to;
        t.dtype = HA_DTYPE_BF16;
        expect_status("out dtype", ha_attention_hsr(&tq, &tk, &tv, &t, nullptr, &base, nullptr), INV, "out: dtype");
    }
}

TEST(hsr_edge_shapes) {
    // No keys, keys fewer than a block, rows that see no key (causal, Nq > Nk), zero queries.
    for (int64_t nk : {0, 5, 64, 65}) {
        begin_case(format("edge: Nk=%lld, Nq=70 causal, zero query rows", (long long)nk));
        HostTensor q = make_tensor(HA_DTYPE_F32, 1, 2, 70, 32, BHSD);
        HostTensor k = make_tensor(HA_DTYPE_F32, 1, 1, nk, 32, BHSD);
        HostTensor v = make_tensor(HA_DTYPE_F32, 1, 1, nk, 32, BHSD);
        q.fill_normal(1);
        k.fill_normal(1);
        v.fill_normal(1);
        for (int64_t d = 0; d < 32; ++d) q.set(0, 1, 69, d, 0.f);
        for (int mode : {HA_HSR_RELU, HA_HSR_SOFTMAX}) {
            const ha_hsr_params p = mode == HA_HSR_RELU ? relu_params(1, -0.5f, true) : softmax_params(1e-3, true);
            IndexPtr idx;
            CHECK(build_index(k, &v, 16, 2, 1, &idx.p) == HA_OK, "%s", ha_last_error());
            HsrRun r = run_hsr(q, k, v, idx.p, p);
            CHECK(r.status == HA_OK, "%s", ha_last_error());
            for (int64_t h = 0; h < 2; ++h)
                for (int64_t i = 0; i < 70; ++i) {
                    RowRef ref = mode == HA_HSR_RELU
                                     ? relu_reference(q, k, v, 0, h, i, 1 / std::sqrt(32.0), -0.5, 1, true)
                                     : softmax_reference(q, k, v, 0, h, i, 1 / std::sqrt(32.0), true);
                    for (int64_t d = 0; d < 32; ++d) {
                        const double got = r.out.get(0, h, i, d);
                        const double tol = mode == HA_HSR_RELU ? ref.tol : 1e-4 + r.errb[size_t(row_index(q, 0, h, i))];
                        CHECK(ref.empty ? got == 0.0 : std::fabs(got - ref.o[size_t(d)]) <= tol,
                              "mode %d h=%lld i=%lld d=%lld: %g vs %g", mode, (long long)h, (long long)i,
                              (long long)d, got, ref.o[size_t(d)]);
                    }
                }
        }
        end_case();
    }
}
