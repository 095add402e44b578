// The LSE merge: attention over [A;B] equals merge(attention over A, attention over B).
#include <limits>

#include "cases.h"

using namespace hat;

namespace {

// A view of keys [lo, hi) of a key/value tensor, sharing its storage.
ha_tensor key_slice(HostTensor& t, int64_t lo, int64_t hi) {
    ha_tensor d = t.desc();
    d.data = static_cast<unsigned char*>(t.data()) + lo * t.strides[2] * t.esize();
    d.shape[2] = hi - lo;
    return d;
}

void merge_case(int32_t dtype, int64_t B, int64_t Hq, int64_t Hkv, int64_t Nq, int64_t Nk,
                int64_t D, int64_t split, bool in_place, int layout) {
    begin_case(format("merge %s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld split=%lld%s %s",
                      dtype_str(dtype), (long long)B, (long long)Hq,
                      (long long)Hkv, (long long)Nq, (long long)Nk, (long long)D,
                      (long long)split, in_place ? " in-place" : "", layout_name(layout)));
    HostTensor q = make_tensor(dtype, B, Hq, Nq, D, layout);
    HostTensor k = make_tensor(dtype, B, Hkv, Nk, D, layout);
    HostTensor v = make_tensor(dtype, B, Hkv, Nk, D, layout);
    q.fill_normal(1);
    k.fill_normal(1);
    v.fill_normal(1);
    // Partials share the problem's dtype (ha_merge takes one), so bf16 partials are rounded
    // like a user's would be.
    HostTensor oa = make_tensor(dtype, B, Hq, Nq, D, (layout + 1) % NUM_LAYOUTS);
    HostTensor ob = make_tensor(dtype, B, Hq, Nq, D, (layout + 2) % NUM_LAYOUTS);
    HostTensor la = make_lse(B, Hq, Nq, true), lb = make_lse(B, Hq, Nq, false);
    for (HostTensor* t : {&oa, &ob, &la, &lb}) t->poison();
    ha_tensor tq = q.desc(), ka = key_slice(k, 0, split), va = key_slice(v, 0, split),
              kb = key_slice(k, split, Nk), vb = key_slice(v, split, Nk);
    ha_tensor toa = oa.desc(), tob = ob.desc(), tla = la.desc(), tlb = lb.desc();
    CHECK(ha_attention_exact(&tq, &ka, &va, &toa, &tla, nullptr) == HA_OK, "A: %s", ha_last_error());
    CHECK(ha_attention_exact(&tq, &kb, &vb, &tob, &tlb, nullptr) == HA_OK, "B: %s", ha_last_error());

    HostTensor out = make_tensor(dtype, B, Hq, Nq, D, (layout + 3) % NUM_LAYOUTS);
    HostTensor lse = make_lse(B, Hq, Nq, true);
    out.poison();
    lse.poison();
    ha_tensor to = out.desc(), tl = lse.desc();
    int32_t st = in_place ? ha_merge(&toa, &tla, &tob, &tlb, &toa, &tla, nullptr)
                          : ha_merge(&toa, &tla, &tob, &tlb, &to, &tl, nullptr);
    CHECK(st == HA_OK, "merge status %d: %s", st, ha_last_error());
    RefResult ref = reference_attention(q, k, v, 1.0 / std::sqrt(double(D)), false);
    // Two partial roundings (bf16 partials) plus the merge's own: twice the single-call bound.
    double tol = 2 * out_tolerance(dtype, max_abs(v));
    if (in_place)
        compare_output(oa, ref, tol, &la, 2 * lse_tolerance(dtype));
    else
        compare_output(out, ref, tol, &lse, 2 * lse_tolerance(dtype));
}

}  // namespace

TEST(merge_of_halves_equals_whole) {
    int n = 0;
    for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
        merge_case(dtype, 1, 4, 2, 19, 57, 64, 20, false, n++ % NUM_LAYOUTS);
        end_case();
        merge_case(dtype, 2, 3, 1, 1, 1000, 128, 999, false, n++ % NUM_LAYOUTS);
        end_case();
        merge_case(dtype, 1, 2, 2, 40, 81, 33, 1, true, n++ % NUM_LAYOUTS);
        end_case();
        merge_case(dtype, 1, 8, 8, 130, 130, 128, 65, true, n++ % NUM_LAYOUTS);
        end_case();
    }
}

TEST(merge_with_empty_partials) {
    begin_case("rows with lse -inf on one or both sides");
    const int64_t N = 6, D = 20;
    HostTensor oa = make_tensor(HA_DTYPE_F32, 1, 1, N, D, BHSD);
    HostTensor ob = make_tensor(HA_DTYPE_F32, 1, 1, N, D, BHSD);
    HostTensor la = make_lse(1, 1, N, false), lb = make_lse(1, 1, N, false);
    HostTensor out = make_tensor(HA_DTYPE_F32, 1, 1, N, D, BSHD);
    HostTensor lse = make_lse(1, 1, N, false);
    oa.fill_normal(1);
    ob.fill_normal(1);
    const float ninf = -std::numeric_limits<float>::infinity();
    // row: 0 both finite, 1 a empty, 2 b empty, 3 both empty, 4 huge gap, 5 equal
    const float lav[N] = {0.5f, ninf, 2.0f, ninf, 100.0f, -3.0f};
    const float lbv[N] = {1.5f, 0.7f, ninf, ninf, -100.0f, -3.0f};
    for (int64_t s = 0; s < N; ++s) {
        la.set(0, 0, s, 0, lav[s]);
        lb.set(0, 0, s, 0, lbv[s]);
    }
    out.poison();
    lse.poison();
    ha_tensor ta = oa.desc(), tb = ob.desc(), tla = la.desc(), tlb = lb.desc(), to = out.desc(),
              tl = lse.desc();
    CHECK(ha_merge(&ta, &tla, &tb, &tlb, &to, &tl, nullptr) == HA_OK, "%s", ha_last_error());
    for (int64_t s = 0; s < N; ++s) {
        double a = lav[s], b = lbv[s];
        double m = std::max(a, b);
        double want_lse = std::isinf(m) ? m : m + std::log(std::exp(a - m) + std::exp(b - m));
        double got_lse = lse.get(0, 0, s, 0);
        CHECK(std::isinf(want_lse) ? (std::isinf(got_lse) && got_lse < 0)
                                   : std::fabs(got_lse - want_lse) < 1e-5,
              "row %lld lse %g want %g", (long long)s, got_lse, want_lse);
        for (int64_t d = 0; d < D; ++d) {
            double want = std::isinf(want_lse) ? 0.0
                          : std::exp(a - want_lse) * oa.get(0, 0, s, d) +
                                std::exp(b - want_lse) * ob.get(0, 0, s, d);
            double got = out.get(0, 0, s, d);
            CHECK(std::fabs(got - want) < 1e-5, "row %lld d %lld: %g want %g", (long long)s,
                  (long long)d, got, want);
        }
    }
}
