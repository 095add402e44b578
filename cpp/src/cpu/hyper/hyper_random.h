// The random draws of HyperAttention, as pure functions of the seed and of the problem's
// coordinates, never of the thread that asks: hyperplanes (one set per call) and the sampled
// keys (one set per batch entry, kv head and sub-problem). Header-only so the white-box tests
// can rebuild the same draws and check the decomposition against a float64 implementation.
#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace ha::cpu::hyper {

inline uint64_t mix64(uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// A splitmix64 stream whose start depends on every word of its key.
struct Stream {
    uint64_t state;
    explicit Stream(std::initializer_list<uint64_t> key) : state(0x6a09e667f3bcc909ull) {
        for (uint64_t k : key) state = mix64(state ^ k);
    }
    uint64_t next() {
        state += 0x9e3779b97f4a7c15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n) by the multiply-high map (bias below 2^-40 for any n used here).
    uint64_t below(uint64_t n) {
        return uint64_t((static_cast<unsigned __int128>(next()) * n) >> 64);
    }
    // Uniform in (0, 1].
    double unit() { return double((next() >> 11) + 1) * 0x1.0p-53; }
};

enum : uint64_t { kTagPlanes = 0x706c616e6573ull, kTagSamples = 0x73616d706c6573ull };

// r hyperplanes of dimension D, row-major [r][D], standard normal entries (Box-Muller) rounded
// to float. Float entries keep each product x*h exact in double, which makes the engine's
// projections reproducible bit for bit (see hash_rows).
inline std::vector<float> hyperplanes(uint64_t seed, int r, int64_t D) {
    std::vector<float> h(size_t(r) * size_t(D));
    Stream s{kTagPlanes, seed, uint64_t(r), uint64_t(D)};
    for (size_t i = 0; i < h.size(); i += 2) {
        const double rad = std::sqrt(-2.0 * std::log(s.unit()));
        const double ang = 6.283185307179586 * s.unit();
        h[i] = float(rad * std::cos(ang));
        if (i + 1 < h.size()) h[i + 1] = float(rad * std::sin(ang));
    }
    return h;
}

// m distinct key indices in [0, nk), uniform without replacement (Floyd's algorithm), for the
// sub-problem whose queries start at q0 and whose keys are [k0, k0 + nk) of batch entry b,
// kv head hk. In draw order; m <= nk.
inline std::vector<int64_t> sample_keys(uint64_t seed, int64_t b, int64_t hk, int64_t q0,
                                        int64_t k0, int64_t nk, int64_t m) {
    std::vector<int64_t> out;
    out.reserve(size_t(m));
    std::vector<uint64_t> taken(size_t((nk + 63) / 64), 0);
    Stream s{kTagSamples, seed, uint64_t(b), uint64_t(hk), uint64_t(q0), uint64_t(k0),
             uint64_t(nk)};
    for (int64_t j = nk - m; j < nk; ++j) {
        int64_t t = int64_t(s.below(uint64_t(j) + 1));
        if (taken[size_t(t) / 64] >> (t % 64) & 1) t = j;
        taken[size_t(t) / 64] |= uint64_t(1) << (t % 64);
        out.push_back(t);
    }
    return out;
}

}  // namespace ha::cpu::hyper
