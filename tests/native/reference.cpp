#include "reference.h"

#include <set>

namespace hat {

double compare_output(const HostTensor& out, const RefResult& ref, double atol,
                      const HostTensor* lse, double lse_tol) {
    double worst = 0;
    int reported = 0;
    for (int64_t b = 0; b < ref.B; ++b)
        for (int64_t h = 0; h < ref.H; ++h)
            for (int64_t s = 0; s < ref.N; ++s) {
                for (int64_t d = 0; d < ref.D; ++d) {
                    double got = out.get(b, h, s, d), want = ref.o(b, h, s, d);
                    double err = std::fabs(got - want);
                    if (!(err <= atol)) {  // also catches NaN (poison left behind)
                        if (reported++ < 3)
                            CHECK(false, "out[%lld,%lld,%lld,%lld] = %.8g, reference %.8g (atol %.3g)",
                                  (long long)b, (long long)h, (long long)s, (long long)d, got,
                                  want, atol);
                        worst = std::isnan(err) ? INFINITY : std::max(worst, err);
                    } else {
                        worst = std::max(worst, err);
                    }
                }
                if (lse) {
                    double got = lse->get(b, h, s, 0), want = ref.l(b, h, s);
                    bool ok = std::isinf(want) ? (std::isinf(got) && got < 0)
                                               : std::fabs(got - want) <= lse_tol;
                    if (!ok && reported++ < 3)
                        CHECK(false, "lse[%lld,%lld,%lld] = %.8g, reference %.8g (tol %.3g)",
                              (long long)b, (long long)h, (long long)s, got, want, lse_tol);
                }
            }
    CHECK(gaps_untouched(out), "bytes outside the output view were written");
    if (lse) CHECK(gaps_untouched(*lse), "bytes outside the lse view were written");
    return worst;
}

bool gaps_untouched(const HostTensor& t) {
    std::vector<bool> is_elem(t.storage.size(), false);
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d) {
                    size_t byte = t.offset + size_t(t.index(b, h, s, d) * t.esize());
                    for (int64_t e = 0; e < t.esize(); ++e) is_elem[byte + size_t(e)] = true;
                }
    for (size_t i = t.offset; i < t.storage.size(); ++i) {
        if (is_elem[i]) continue;
        // poison() writes the pattern from storage[0], so parity of the index decides the byte.
        if (i % 2 == 0 ? t.storage[i] != 0xc0 : t.storage[i] != 0x7f) return false;
    }
    return true;
}

}  // namespace hat
