// Float64 reference attention: what every kernel is compared against.
#pragma once
#include <cmath>
#include <limits>
#include <vector>

#include "harness.h"

namespace hat {

struct RefResult {
    std::vector<double> out;  // [B,Hq,Nq,D] dense
    std::vector<double> lse;  // [B,Hq,Nq]
    int64_t B, H, N, D;
    double o(int64_t b, int64_t h, int64_t s, int64_t d) const {
        return out[((b * H + h) * N + s) * D + d];
    }
    double l(int64_t b, int64_t h, int64_t s) const { return lse[(b * H + h) * N + s]; }
};

// Reads the tensors' stored values (bf16 already rounded), so only the kernel's arithmetic is
// judged. Row i (position p = i + Nk - Nq) sees keys p - wl <= j <= p + wr (-1 unbounded;
// causal caps wr at 0) within [key_lo, key_hi) (for merge tests; key_hi < 0: Nk); cap > 0
// soft-caps the scaled scores: s -> cap tanh(s / cap).
inline RefResult reference_masked(const HostTensor& q, const HostTensor& k, const HostTensor& v,
                                  double scale, bool causal, int64_t wl, int64_t wr, double cap,
                                  int64_t key_lo = 0, int64_t key_hi = -1) {
    const int64_t B = q.shape[0], Hq = q.shape[1], Nq = q.shape[2], D = q.shape[3];
    const int64_t Hkv = k.shape[1], Nk = k.shape[2];
    if (key_hi < 0) key_hi = Nk;
    RefResult r{std::vector<double>(size_t(B * Hq * Nq * D)), std::vector<double>(size_t(B * Hq * Nq)),
                B, Hq, Nq, D};
    std::vector<double> s(static_cast<size_t>(Nk));
    const int64_t right = causal ? (wr < 0 ? 0 : std::min<int64_t>(wr, 0)) : wr;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hq; ++h) {
            const int64_t kh = h / (Hq / Hkv);
            for (int64_t i = 0; i < Nq; ++i) {
                const int64_t pos = i + Nk - Nq;
                const int64_t lo = std::max<int64_t>(key_lo, wl >= 0 ? pos - wl : 0);
                const int64_t hi = std::min<int64_t>(key_hi, right >= 0 ? pos + right + 1 : Nk);
                double* o = &r.out[size_t(((b * Hq + h) * Nq + i) * D)];
                double& lse = r.lse[size_t((b * Hq + h) * Nq + i)];
                if (hi <= lo) {
                    lse = -std::numeric_limits<double>::infinity();
                    continue;  // out stays 0
                }
                double m = -std::numeric_limits<double>::infinity();
                for (int64_t j = lo; j < hi; ++j) {
                    double acc = 0;
                    for (int64_t d = 0; d < D; ++d)
                        acc += double(q.get(b, h, i, d)) * double(k.get(b, kh, j, d));
                    double x = acc * scale;
                    if (cap > 0) x = cap * std::tanh(x / cap);
                    s[size_t(j)] = x;
                    m = std::max(m, x);
                }
                double sum = 0;
                for (int64_t j = lo; j < hi; ++j) {
                    double p = std::exp(s[size_t(j)] - m);
                    sum += p;
                    for (int64_t d = 0; d < D; ++d) o[d] += p * double(v.get(b, kh, j, d));
                }
                for (int64_t d = 0; d < D; ++d) o[d] /= sum;
                lse = m + std::log(sum);
            }
        }
    return r;
}

// Plain softmax attention (no window, no cap); the causal limit is computed against the full Nk.
inline RefResult reference_attention(const HostTensor& q, const HostTensor& k,
                                     const HostTensor& v, double scale, bool causal,
                                     int64_t key_lo = 0, int64_t key_hi = -1) {
    return reference_masked(q, k, v, scale, causal, -1, -1, 0.0, key_lo, key_hi);
}

// Compares an output tensor (and optionally an lse tensor) with the reference; also checks
// that gaps between strided elements were left poisoned. Returns the max abs error seen.
double compare_output(const HostTensor& out, const RefResult& ref, double atol,
                      const HostTensor* lse = nullptr, double lse_tol = 0);

// Bytes of `t` that are not elements of the view must still hold the poison pattern.
bool gaps_untouched(const HostTensor& t);

}  // namespace hat
