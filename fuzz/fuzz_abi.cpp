// libFuzzer target over the whole C ABI (hyperattn.h). The input bytes choose an entry point,
// its descriptors and parameters (sometimes corrupted), buffer sizes follow the descriptors,
// and element values mix ordinary numbers with NaN, +-inf, denormals and huge magnitudes.
// Invariants checked on every call (any violation aborts, which libFuzzer reports):
//  - every call returns a known status, and every failure leaves a message;
//  - inputs are never written (compared byte for byte);
//  - results equal a float64 reference where one is defined (exact attention, merge,
//    HyperAttention when it is exact, HSR ReLU, HSR softmax within its certified bound,
//    half-space reports away from ties), including the non-finite policy of hyperattn.h;
//  - identical bits at 1 and 3 threads (exact, HyperAttention, HSR), on the CPU path the bytes
//    choose (generic, AVX2, AVX-512);
//  - the key index append path (grown views, appended in steps) reports what a fresh build
//    over the same keys reports;
//  - approximate attention (with and without an index; a rare long mode reaching the tiled
//    prefill and the decode path): stats bit-identical across threads and within their
//    documented ranges, the error target met, exact where the exact part covers every key.
// Built by fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "hyperattn.h"

namespace {

[[noreturn]] void die(const char* what, const std::string& detail = "") {
    std::fprintf(stderr, "INVARIANT VIOLATED: %s %s\n", what, detail.c_str());
    std::fflush(stderr);
    std::abort();
}
#define REQUIRE(cond, ...)                                                   \
    do {                                                                     \
        if (!(cond)) {                                                       \
            char buf_[512];                                                  \
            std::snprintf(buf_, sizeof buf_, __VA_ARGS__);                   \
            die(#cond, buf_);                                                \
        }                                                                    \
    } while (0)

// ---- input reader ---------------------------------------------------------------------------
struct Reader {
    const uint8_t* p;
    size_t n;
    uint8_t byte() {
        if (!n) return 0;
        --n;
        return *p++;
    }
    int range(int lo, int hi) { return lo + int(byte() % unsigned(hi - lo + 1)); }
    bool flag(int one_in = 2) { return byte() % one_in == 0; }
    uint64_t u64() {
        uint64_t x = 0;
        for (int i = 0; i < 8; ++i) x = x << 8 | byte();
        return x;
    }
};

struct Rng {  // values beyond the bytes come from a generator seeded by them
    uint64_t s;
    uint64_t next() {
        s += 0x9e3779b97f4a7c15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * 0x1p-53; }
};

inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}
inline float bf16_to_f32(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
// IEEE binary16, written here from the format rather than taken from the library, so that a
// conversion bug there cannot hide behind the same bug in the reference. Every fp16 value is
// exact in fp32 (a NaN keeps its payload, as F16C's widening does).
inline float f16_to_f32(uint16_t h) {
    const double sign = h & 0x8000u ? -1.0 : 1.0;
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f) {
        if (m == 0) return float(sign * INFINITY);
        const uint32_t u = uint32_t(h & 0x8000u) << 16 | 0x7f800000u | uint32_t(m) << 13;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    return float(sign * (e ? std::ldexp(1024.0 + m, e - 25) : std::ldexp(double(m), -24)));
}
// Nearest even, through double: fp32 -> double is exact, and so is every step below.
inline uint16_t f32_to_f16(float f) {
    if (std::isnan(f)) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        return uint16_t((u >> 16 & 0x8000u) | 0x7e00u | (u >> 13 & 0x3ffu));
    }
    const uint16_t sign = std::signbit(f) ? 0x8000u : 0;
    const double a = std::fabs(double(f));
    if (a >= 65520.0) return uint16_t(sign | 0x7c00u);  // 65504 + half an ulp rounds up to inf
    int e;
    std::frexp(a, &e);                   // a in [2^(e-1), 2^e)
    const int ulp = std::max(e - 11, -24);  // 11 significant bits; subnormals: steps of 2^-24
    const double q = std::nearbyint(std::ldexp(a, -ulp));  // the default mode: nearest even
    const double r = std::ldexp(q, ulp);
    if (r == 0) return sign;
    const int re = std::max(std::ilogb(r), -15);  // -15: subnormal (stored exponent 0)
    const uint32_t mant = uint32_t(std::ldexp(r, re == -15 ? 24 : 10 - re)) & 0x3ffu;
    return uint16_t(sign | uint32_t(re + 15) << 10 | mant);
}

// ---- tensors ----------------------------------------------------------------------------------
struct Buf {
    int32_t dtype = HA_DTYPE_F32;
    int64_t shape[4] = {0, 0, 0, 0}, strides[4] = {0, 0, 0, 0};
    std::vector<unsigned char> bytes;
    int64_t es() const { return dtype == HA_DTYPE_F32 ? 4 : 2; }
    int64_t off(int64_t b, int64_t h, int64_t s, int64_t d) const {
        return b * strides[0] + h * strides[1] + s * strides[2] + d * strides[3];
    }
    float get(int64_t b, int64_t h, int64_t s, int64_t d) const {
        const int64_t i = off(b, h, s, d);
        if (dtype == HA_DTYPE_F32) {
            float f;
            std::memcpy(&f, bytes.data() + i * 4, 4);
            return f;
        }
        uint16_t u;
        std::memcpy(&u, bytes.data() + i * 2, 2);
        return dtype == HA_DTYPE_F16 ? f16_to_f32(u) : bf16_to_f32(u);
    }
    void set(int64_t b, int64_t h, int64_t s, int64_t d, float x) {
        const int64_t i = off(b, h, s, d);
        if (dtype == HA_DTYPE_F32) {
            std::memcpy(bytes.data() + i * 4, &x, 4);
        } else {
            const uint16_t u = dtype == HA_DTYPE_F16 ? f32_to_f16(x) : f32_to_bf16(x);
            std::memcpy(bytes.data() + i * 2, &u, 2);
        }
    }
    void set_bits(int64_t b, int64_t h, int64_t s, int64_t d, uint16_t u) {
        std::memcpy(bytes.data() + off(b, h, s, d) * 2, &u, 2);
    }
    ha_tensor desc() {
        ha_tensor t{};
        t.data = bytes.empty() ? nullptr : bytes.data();
        t.dtype = dtype;
        t.device_type = HA_DEVICE_CPU;
        for (int i = 0; i < 4; ++i) {
            t.shape[i] = shape[i];
            t.strides[i] = strides[i];
        }
        return t;
    }
};

// Dense [b,h,s,d] or [b,s,h,d]; storage sized exactly to the view (ASan sees any overrun).
Buf make(int32_t dtype, int64_t B, int64_t H, int64_t S, int64_t D, bool bshd) {
    Buf t;
    t.dtype = dtype;
    const int64_t sh[4] = {B, H, S, D};
    for (int i = 0; i < 4; ++i) t.shape[i] = sh[i];
    if (bshd) {
        t.strides[3] = 1;
        t.strides[1] = D;
        t.strides[2] = H * D;
        t.strides[0] = S * H * D;
    } else {
        t.strides[3] = 1;
        t.strides[2] = D;
        t.strides[1] = S * D;
        t.strides[0] = H * S * D;
    }
    t.bytes.assign(size_t(B * H * S * D * t.es()), 0);
    return t;
}
Buf make_lse(int64_t B, int64_t H, int64_t S) {
    Buf t = make(HA_DTYPE_F32, B, H, S, 1, false);
    return t;
}

// The storage dtype of a problem, from one byte: the half that always chose f32 still does, and
// the other half splits between bf16 and f16 (so the rest of a corpus input decodes as before).
int32_t draw_dtype(Reader& r) {
    const uint8_t x = r.byte();
    return x % 2 == 0 ? HA_DTYPE_F32 : x & 2 ? HA_DTYPE_F16 : HA_DTYPE_BF16;
}

// An fp16 special as bits, since most of fp32's specials are not fp16 values (1e19 is inf,
// 1e-30 and fp32 denormals are 0): NaN of any sign and payload (signalling ones too), +-inf,
// fp16 subnormals, signed zeros, magnitudes next to 65504, and any pattern at all.
uint16_t f16_special(uint64_t which, Rng& rng) {
    const uint16_t sign = rng.next() & 1 ? 0x8000u : 0;
    switch (which) {
        case 0: return uint16_t(sign | 0x7c00u | (1 + rng.next() % 1023));
        case 1: return 0x7c00u;
        case 2: return 0xfc00u;
        case 3: return uint16_t(sign | (1 + rng.next() % 1023));
        case 4: return sign;
        case 5: return uint16_t(sign | (0x7bffu - rng.next() % 64));
        default: return uint16_t(rng.next());
    }
}

// Ordinary values with sprinkled specials: NaN, +-inf, denormals, zeros, huge magnitudes.
void fill(Buf& t, Rng& rng, int special_rate, float amplitude) {
    const bool f16 = t.dtype == HA_DTYPE_F16;
    // fp16's huge is 65504: beyond it every ordinary value would be inf.
    if (f16) amplitude = std::min(amplitude, 65504.f);
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d) {
                    float x = float((rng.uniform() * 2 - 1) * amplitude);
                    if (special_rate > 0 && rng.next() % uint64_t(special_rate) == 0) {
                        const uint64_t which = rng.next() % 7;
                        if (f16) {
                            t.set_bits(b, h, s, d, f16_special(which, rng));
                            continue;
                        }
                        switch (which) {
                            case 0: x = std::numeric_limits<float>::quiet_NaN(); break;
                            case 1: x = std::numeric_limits<float>::infinity(); break;
                            case 2: x = -std::numeric_limits<float>::infinity(); break;
                            case 3: x = std::numeric_limits<float>::denorm_min() * float(1 + rng.next() % 1000); break;
                            case 4: x = 0.f; break;
                            case 5: x = (rng.next() & 1 ? 1.f : -1.f) * 1e19f; break;
                            default: x = (rng.next() & 1 ? 1.f : -1.f) * 1e-30f; break;
                        }
                    }
                    t.set(b, h, s, d, x);
                }
}

// What rounding an output to its dtype may add, relative to max|v| (bf16 and f16 outputs, and
// in the kernels that use them bf16 weights, are a few half-ulps off), and absolutely: an fp16
// output below 2^-14 is a multiple of 2^-24, whatever the magnitude of v.
double out_rel(int32_t dtype) { return dtype == HA_DTYPE_BF16 ? 3 * 0x1p-8 : dtype == HA_DTYPE_F16 ? 3 * 0x1p-11 : 1e-5; }
double out_abs(int32_t dtype) { return dtype == HA_DTYPE_F16 ? 0x1p-24 : 1e-30; }

bool all_finite(const Buf& t) {
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d)
                    if (!std::isfinite(t.get(b, h, s, d))) return false;
    return true;
}

const int32_t kStatuses[] = {HA_OK, HA_ERR_INVALID_ARGUMENT, HA_ERR_UNSUPPORTED, HA_ERR_OUT_OF_MEMORY,
                             HA_ERR_NO_DEVICE, HA_ERR_DEVICE};

void check_status(int32_t st, const char* fn) {
    bool known = false;
    for (int32_t k : kStatuses) known |= st == k;
    REQUIRE(known, "%s returned status %d (INTERNAL or unknown): %s", fn, st, ha_last_error());
    if (st != HA_OK) REQUIRE(ha_last_error() && ha_last_error()[0], "%s failed (%d) without a message", fn, st);
}

// One of the descriptor corruptions the library must reject (or accept harmlessly).
void corrupt(Reader& r, ha_tensor* t) {
    switch (r.range(0, 7)) {
        case 0: t->reserved = 1 + r.range(0, 5); break;
        case 1: t->strides[r.range(0, 3)] = -1 - r.range(0, 3); break;
        case 2: t->shape[r.range(0, 3)] += 1 + r.range(0, 3); break;  // larger than its storage
        case 3: t->dtype = r.range(2, 9); break;  // 2 (f16): valid, but not the others' dtype unless f16
        case 4: t->device_type = r.range(1, 5); break;
        case 5: t->shape[r.range(0, 3)] = -1; break;
        case 6: t->data = nullptr; break;
        default: t->device_id = r.range(1, 3); break;
    }
}

// ---- float64 reference of softmax attention, with the non-finite policy -----------------------
struct RefRow {
    enum Kind { Finite, NaNRow, Empty, Skip } kind;
    std::vector<double> o;
    double lse;
};

RefRow ref_row(const Buf& q, const Buf& k, const Buf& v, int64_t b, int64_t h, int64_t i,
               double scale, bool causal, double* smax) {
    const int64_t Hq = q.shape[1], Nq = q.shape[2], D = q.shape[3], Hkv = k.shape[1], Nk = k.shape[2];
    const int64_t kh = h / (Hq / Hkv);
    int64_t hi = Nk;
    if (causal) hi = std::min<int64_t>(Nk, std::max<int64_t>(0, i + Nk - Nq + 1));
    std::vector<double> s(size_t(std::max<int64_t>(hi, 1)));
    double m = -INFINITY;
    bool nan = false, in_range = true;
    for (int64_t j = 0; j < hi; ++j) {
        double acc = 0, mag = 0;
        for (int64_t d = 0; d < D; ++d) {
            const double a = q.get(b, h, i, d), c = k.get(b, kh, j, d);
            acc += a * c;
            mag += std::fabs(a * c);
        }
        if (std::isfinite(mag) && scale * mag > 1e38) in_range = false;
        if (std::isfinite(mag)) *smax = std::max(*smax, scale * mag * 1.4426950408889634);
        s[size_t(j)] = acc * scale;
        if (std::isnan(s[size_t(j)]) || s[size_t(j)] == INFINITY) nan = true;
        m = std::max(m, s[size_t(j)]);
    }
    if (!in_range) return {RefRow::Skip, {}, 0};
    if (nan) return {RefRow::NaNRow, {}, NAN};
    if (m == -INFINITY) return {RefRow::Empty, std::vector<double>(size_t(D), 0.0), -INFINITY};
    RefRow r{RefRow::Finite, std::vector<double>(size_t(D), 0.0), 0};
    double l = 0;
    for (int64_t j = 0; j < hi; ++j) {
        const double p = std::exp(s[size_t(j)] - m);
        l += p;
        for (int64_t d = 0; d < D; ++d) r.o[size_t(d)] += p * double(v.get(b, kh, j, d));
    }
    for (auto& x : r.o) x /= l;
    r.lse = m + std::log(l);
    return r;
}

double max_abs(const Buf& t) {
    double m = 0;
    for (int64_t b = 0; b < t.shape[0]; ++b)
        for (int64_t h = 0; h < t.shape[1]; ++h)
            for (int64_t s = 0; s < t.shape[2]; ++s)
                for (int64_t d = 0; d < t.shape[3]; ++d) m = std::max(m, double(std::fabs(t.get(b, h, s, d))));
    return m;
}

// Compares out/lse with the reference, row by row, under the policy; `pick` (one flag per row,
// [b][h][i]) limits the rows compared when the keys are many.
void check_attention(const char* what, const Buf& q, const Buf& k, const Buf& v, const Buf& out,
                     const Buf* lse, double scale, bool causal, const std::vector<char>* pick = nullptr) {
    const bool v_finite = all_finite(v);
    const double vmax = max_abs(v);
    // fp32 sums over many keys: a rounding walk of about sqrt(Nk) steps (nothing at the short sizes).
    const double long_sum = 4 * std::sqrt(double(k.shape[2])) * 0x1p-24;
    for (int64_t b = 0; b < q.shape[0]; ++b)
        for (int64_t h = 0; h < q.shape[1]; ++h)
            for (int64_t i = 0; i < q.shape[2]; ++i) {
                if (pick && !(*pick)[size_t((b * q.shape[1] + h) * q.shape[2] + i)]) continue;
                double smax = 0;
                const RefRow r = ref_row(q, k, v, b, h, i, scale, causal, &smax);
                const float l = lse ? lse->get(b, h, i, 0) : 0.f;
                switch (r.kind) {
                    case RefRow::Skip: break;
                    case RefRow::NaNRow:
                        for (int64_t d = 0; d < q.shape[3]; ++d)
                            REQUIRE(std::isnan(out.get(b, h, i, d)), "%s: row (%lld,%lld,%lld) must be NaN, d=%lld is %g", what,
                                    (long long)b, (long long)h, (long long)i, (long long)d, double(out.get(b, h, i, d)));
                        if (lse) REQUIRE(std::isnan(l), "%s: lse of a NaN row is %g", what, double(l));
                        break;
                    case RefRow::Empty:
                        // (A non-finite v may reach a row through a zero weight: 0 * inf.)
                        for (int64_t d = 0; d < q.shape[3] && v_finite; ++d)
                            REQUIRE(out.get(b, h, i, d) == 0.f, "%s: empty row (%lld,%lld,%lld) out %g", what,
                                    (long long)b, (long long)h, (long long)i, double(out.get(b, h, i, d)));
                        if (lse) REQUIRE(l == -INFINITY, "%s: empty row lse %g", what, double(l));
                        break;
                    case RefRow::Finite: {
                        if (lse) REQUIRE(l != -INFINITY, "%s: a row that saw keys reports lse -inf", what);
                        if (!v_finite || vmax > 1e30) break;
                        const double eps = 0x1p-24;
                        // score error (D products, fp32 sums) moves the weights; bf16 rounds P and out, f16 out.
                        const double tol = vmax * (out_rel(out.dtype) + long_sum + 4 * double(q.shape[3] + 8) * eps * smax * 2) +
                                           out_abs(out.dtype);
                        for (int64_t d = 0; d < q.shape[3]; ++d) {
                            const double got = out.get(b, h, i, d);
                            REQUIRE(std::fabs(got - r.o[size_t(d)]) <= tol,
                                    "%s: (%lld,%lld,%lld,%lld) got %.9g want %.9g tol %.3g smax %.3g", what, (long long)b,
                                    (long long)h, (long long)i, (long long)d, got, r.o[size_t(d)], tol, smax);
                        }
                        if (lse)
                            REQUIRE(std::fabs(double(l) - r.lse) <= 1e-4 * (1 + std::fabs(r.lse)) + 4 * double(q.shape[3] + 8) * eps * smax,
                                    "%s: lse %.9g want %.9g", what, double(l), r.lse);
                        break;
                    }
                }
            }
}

// ---- operations ---------------------------------------------------------------------------------
struct Problem {
    int32_t dtype;
    int64_t B, Hkv, G, Nq, Nk, D;
    bool bshd, causal;
    float scale;
    Buf q, k, v;
};

Problem make_problem(Reader& r, Rng& rng) {
    Problem p;
    p.dtype = draw_dtype(r);
    p.B = r.range(1, 2);
    p.Hkv = r.range(1, 2);
    p.G = r.range(1, 3);
    p.Nq = r.range(0, 40);
    p.Nk = r.range(0, 90);
    const int dsel = r.range(0, 9);
    p.D = dsel < 6 ? r.range(1, 24) : dsel < 9 ? (r.flag() ? 64 : 128) : 256;
    p.bshd = r.flag();
    p.causal = r.flag();
    p.scale = r.flag(4) ? float(r.range(1, 200)) / 50.f : 0.f;
    const int rate = r.flag() ? 0 : r.range(2, 400);  // about half the inputs are all finite
    const float amp = r.flag(8) ? 1e18f : float(r.range(1, 8));
    p.q = make(p.dtype, p.B, p.Hkv * p.G, p.Nq, p.D, p.bshd);
    p.k = make(p.dtype, p.B, p.Hkv, p.Nk, p.D, p.bshd);
    p.v = make(p.dtype, p.B, p.Hkv, p.Nk, p.D, r.flag());
    fill(p.q, rng, rate, amp);
    fill(p.k, rng, rate, amp);
    fill(p.v, rng, r.flag(4) ? rate : 0, float(r.range(1, 4)));
    return p;
}

double resolved(float scale, int64_t D) { return scale != 0.f ? double(scale) : double(float(1.0 / std::sqrt(double(D)))); }

// Runs `call` at 1 and 3 threads; the outputs (and the `extra` byte ranges: per-row stats) must
// agree bit for bit.
struct Bytes {
    const void* p;
    size_t n;
    std::vector<unsigned char> copy() const {
        const auto* c = static_cast<const unsigned char*>(p);
        return std::vector<unsigned char>(c, c + n);
    }
};
template <class Call>
int32_t twice(const char* fn, Buf& out, Buf* lse, Call&& call, const std::vector<Bytes>& extra = {}) {
    ha_set_num_threads(1);
    const int32_t st1 = call();
    check_status(st1, fn);
    const std::vector<unsigned char> o1 = out.bytes, l1 = lse ? lse->bytes : std::vector<unsigned char>{};
    std::vector<std::vector<unsigned char>> e1;
    for (const Bytes& e : extra) e1.push_back(e.copy());
    ha_set_num_threads(3);
    const int32_t st3 = call();
    check_status(st3, fn);
    REQUIRE(st1 == st3, "%s: status %d at 1 thread, %d at 3", fn, st1, st3);
    if (st1 == HA_OK) {
        REQUIRE(o1 == out.bytes, "%s: output bits differ between 1 and 3 threads", fn);
        if (lse) REQUIRE(l1 == lse->bytes, "%s: lse bits differ between 1 and 3 threads", fn);
        for (size_t x = 0; x < extra.size(); ++x)
            REQUIRE(e1[x] == extra[x].copy(), "%s: stats array %zu differs between 1 and 3 threads", fn, x);
    }
    ha_set_num_threads(0);
    return st1;
}

void op_exact(Reader& r, Rng& rng) {
    Problem p = make_problem(r, rng);
    Buf out = make(p.dtype, p.B, p.Hkv * p.G, p.Nq, p.D, r.flag());
    Buf lse = make_lse(p.B, p.Hkv * p.G, p.Nq);
    const bool with_lse = r.flag(3) == false;
    const auto q0 = p.q.bytes, k0 = p.k.bytes, v0 = p.v.bytes;
    ha_tensor tq = p.q.desc(), tk = p.k.desc(), tv = p.v.desc(), to = out.desc(), tl = lse.desc();
    const bool bad = r.flag(6);
    if (bad) corrupt(r, r.flag() ? &tq : &tk);
    ha_exact_params prm;
    ha_exact_params_init(&prm);
    prm.causal = p.causal;
    prm.scale = p.scale;
    const int32_t st = twice("ha_attention_exact", out, with_lse ? &lse : nullptr,
                             [&] { return ha_attention_exact(&tq, &tk, &tv, &to, with_lse ? &tl : nullptr, &prm); });
    REQUIRE(q0 == p.q.bytes && k0 == p.k.bytes && v0 == p.v.bytes, "ha_attention_exact wrote an input");
    if (!bad) REQUIRE(st == HA_OK, "valid exact call failed: %s", ha_last_error());
    if (st == HA_OK && !bad)
        check_attention("exact", p.q, p.k, p.v, out, with_lse ? &lse : nullptr, resolved(p.scale, p.D), p.causal);
}

void op_hyper(Reader& r, Rng& rng) {
    Problem p = make_problem(r, rng);
    Buf out = make(p.dtype, p.B, p.Hkv * p.G, p.Nq, p.D, false);
    Buf lse = make_lse(p.B, p.Hkv * p.G, p.Nq);
    const auto q0 = p.q.bytes, k0 = p.k.bytes, v0 = p.v.bytes;
    ha_tensor tq = p.q.desc(), tk = p.k.desc(), tv = p.v.desc(), to = out.desc(), tl = lse.desc();
    ha_hyper_params prm;
    ha_hyper_params_init(&prm);
    prm.causal = p.causal;
    prm.scale = p.scale;
    prm.min_seq_len = r.range(1, 100);
    prm.block_size = r.range(1, 40);
    prm.sample_size = r.range(1, 40);
    prm.lsh_projections = r.range(1, 16);
    prm.seed = r.u64();
    if (r.flag(10)) prm.block_size = -r.range(0, 3);
    const int32_t st = twice("ha_attention_hyper", out, &lse, [&] { return ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &prm); });
    REQUIRE(q0 == p.q.bytes && k0 == p.k.bytes && v0 == p.v.bytes, "ha_attention_hyper wrote an input");
    if (st != HA_OK) return;
    // Exact when the keys fit min_seq_len, and on any non-finite q or k (the policy).
    if (p.Nk <= prm.min_seq_len || !all_finite(p.q) || !all_finite(p.k))
        check_attention("hyper(exact)", p.q, p.k, p.v, out, &lse, resolved(p.scale, p.D), p.causal);
    else
        for (size_t i = 0; i < lse.bytes.size() / 4; ++i) {
            float l;
            std::memcpy(&l, lse.bytes.data() + 4 * i, 4);
            REQUIRE(!std::isnan(l), "hyper: finite inputs gave a NaN lse");
        }
}

// ---- approximate attention ---------------------------------------------------------------------
// Per-row stats of ha_attention_approx, set to sentinels before every call: an entry that the call
// leaves unwritten shows.
struct ApproxStats {
    std::vector<float> err, bound;
    std::vector<int64_t> touched;
    std::vector<int32_t> level;
    explicit ApproxStats(int64_t rows)
        : err(size_t(std::max<int64_t>(rows, 1))), bound(err.size()), touched(err.size()), level(err.size()) {}
    void reset() {
        std::fill(err.begin(), err.end(), -7.f);
        std::fill(bound.begin(), bound.end(), -7.f);
        std::fill(touched.begin(), touched.end(), int64_t(-7));
        std::fill(level.begin(), level.end(), -7);
    }
    ha_approx_stats view() { return ha_approx_stats{err.data(), bound.data(), touched.data(), level.data()}; }
    std::vector<Bytes> bytes() const {
        return {{err.data(), 4 * err.size()}, {bound.data(), 4 * bound.size()},
                {touched.data(), 8 * touched.size()}, {level.data(), 4 * level.size()}};
    }
};

// The long mode: Nk in the thousands (so that the tiled prefill, Nq >= 1024 and Nk >= 8192,
// and the decode path over an index, Nq <= 16 and Nk >= 1024, can run) but a tiny head_dim and
// one or two kv heads, so an input stays fast. Values come from the seeded generator; some query
// rows copy a key they see, scaled (a planted match: a heavy key to find).
Problem make_long_problem(Reader& r, Rng& rng, int kind) {
    Problem p;
    p.dtype = draw_dtype(r);
    p.B = 1;
    p.Hkv = kind == 0 ? 1 : r.range(1, 2);
    p.G = kind == 0 ? 1 : r.range(1, kind == 1 ? 4 : 2);
    p.D = r.range(1, kind == 0 ? 4 : 8);
    if (kind == 0) {  // prefill: the tiled path's smallest sizes
        p.Nq = 1024 + r.range(0, 15);
        p.Nk = 8192 + 16 * r.range(0, 15);
    } else if (kind == 1) {  // decode
        p.Nq = r.range(1, 16);
        p.Nk = 1024 + 16 * r.range(0, 255);
    } else {  // between: the group engine over many keys
        p.Nq = r.range(17, 32);
        p.Nk = 1024 + 4 * r.range(0, 255);
    }
    p.bshd = r.flag();
    p.causal = kind == 0 ? !r.flag(4) : !r.flag(8);  // the tiled prefill: non-causal a quarter of the time
    p.scale = r.flag(4) ? float(r.range(1, 200)) / 50.f : 0.f;
    const int special = r.flag(6) ? r.range(1, 3) : 0;  // bit 0: q, bit 1: k get rare specials
    const int rate = 1000 * r.range(1, 100);
    const float amp = float(r.range(1, 8));
    p.q = make(p.dtype, p.B, p.Hkv * p.G, p.Nq, p.D, p.bshd);
    p.k = make(p.dtype, p.B, p.Hkv, p.Nk, p.D, p.bshd);
    p.v = make(p.dtype, p.B, p.Hkv, p.Nk, p.D, r.flag());
    fill(p.q, rng, special & 1 ? rate : 0, amp);
    fill(p.k, rng, special & 2 ? rate : 0, amp);
    fill(p.v, rng, r.flag(8) ? rate : 0, float(r.range(1, 4)));
    const int plant = r.range(0, 4);  // 0: none; else one query row in 2^(plant-1)
    for (int64_t h = 0; h < p.Hkv * p.G && plant; ++h)
        for (int64_t i = 0; i < p.Nq; ++i) {
            if (rng.next() % (uint64_t(1) << (plant - 1)) != 0) continue;
            const int64_t pos = p.causal ? i + p.Nk - p.Nq : p.Nk - 1;
            const int64_t j = int64_t(rng.next() % uint64_t(pos + 1));
            const float c = float(1 + 3 * rng.uniform());
            for (int64_t d = 0; d < p.D; ++d) p.q.set(0, h, i, d, c * p.k.get(0, h / p.G, j, d));
        }
    return p;
}

// After a successful call: stats as documented on every row, the error target met, and exact
// attention (compared on `pick`'s rows, all when NULL) when the exact part covers every key or an
// input is not finite (the policy).
void check_approx(const char* what, const Problem& p, const Buf& out, const Buf& lse, const ApproxStats* s,
                  const ha_approx_params& prm, bool covers, const std::vector<char>* pick) {
    const int64_t Hq = p.Hkv * p.G;
    for (int64_t b = 0; b < p.B; ++b)
        for (int64_t h = 0; h < Hq; ++h)
            for (int64_t i = 0; i < p.Nq; ++i) {
                const size_t x = size_t((b * Hq + h) * p.Nq + i);
                const float l = lse.get(b, h, i, 0);
                bool fin = true;
                for (int64_t d = 0; d < p.D; ++d) fin &= std::isfinite(out.get(b, h, i, d)) != 0;
                if (!s) continue;
                const float e = s->err[x], tb = s->bound[x];
                const int64_t t = s->touched[x];
                const int32_t lv = s->level[x];
                REQUIRE(!std::isnan(l) || std::isinf(e), "%s: NaN lse with a finite estimate", what);
                REQUIRE(lv >= 0 && lv <= 2, "%s: row %zu level %d", what, x, lv);
                REQUIRE(t >= 0 && t <= p.Nk, "%s: row %zu keys_touched %lld of %lld", what, x, (long long)t, (long long)p.Nk);
                if (!fin) {  // no estimate or bound on a non-finite row
                    REQUIRE(e == INFINITY && tb == INFINITY, "%s: non-finite row %zu with error %g bound %g", what, x,
                            double(e), double(tb));
                    continue;
                }
                REQUIRE(e >= 0.f, "%s: row %zu error estimate %g", what, x, double(e));  // +inf allowed, NaN not
                REQUIRE(tb >= 0.f && tb <= 1.f, "%s: row %zu tail_mass_bound %g", what, x, double(tb));
                if (lv == 2) REQUIRE(e == 0.f && tb == 0.f, "%s: exact row %zu with error %g bound %g", what, x, double(e), double(tb));
                if (prm.target_error > 0.0)
                    REQUIRE(double(e) <= prm.target_error, "%s: row %zu estimate %g above the target %g (level %d)", what, x,
                            double(e), prm.target_error, lv);
            }
    const bool finite = all_finite(p.q) && all_finite(p.k);
    if (covers || !finite) check_attention(what, p.q, p.k, p.v, out, &lse, resolved(p.scale, p.D), p.causal, pick);
}

// Approx: statuses, inputs untouched, identical bits (out, lse, stats) at 1 and 3 threads, the
// stats' ranges, the target, exact where the exact part covers every key or an input is not
// finite. variant 0: short shapes, no index (the original decoding of the bytes); 1: short
// shapes over a key index built over a prefix and appended in steps (an index over fewer keys
// than the view must be rejected); 2: the long mode (prefill, decode over an index or not, or
// between).
void op_approx(Reader& r, Rng& rng, int variant) {
    // Long kinds: 0 prefill (rare: one call takes about a second under the sanitizers and the
    // comparison tracing), 1 decode, 2 between.
    int kind = -1;
    if (variant == 2) {
        const int k = r.range(0, 31);
        kind = k == 0 ? 0 : k < 20 ? 1 : 2;
    }
    Problem p = variant == 2 ? make_long_problem(r, rng, kind) : make_problem(r, rng);
    const int64_t Hq = p.Hkv * p.G, rows = p.B * Hq * p.Nq;
    Buf out = make(p.dtype, p.B, Hq, p.Nq, p.D, false);
    Buf lse = make_lse(p.B, Hq, p.Nq);
    const auto q0 = p.q.bytes, k0 = p.k.bytes, v0 = p.v.bytes;
    ha_tensor tq = p.q.desc(), tk = p.k.desc(), tv = p.v.desc(), to = out.desc(), tl = lse.desc();
    ha_approx_params prm;
    ha_approx_params_init(&prm);
    prm.causal = p.causal;
    prm.scale = p.scale;
    bool covers;
    if (variant != 2) {
        prm.sinks = r.range(0, 8);
        prm.window = r.range(0, 64);
        prm.samples = r.range(0, 40);
        prm.heavy_budget = r.range(0, 40);
        prm.target_error = r.flag() ? 0.0 : 0.01 * double(r.range(1, 50));
        prm.seed = r.u64();
        if (r.flag(10)) prm.window = -r.range(1, 3);
        if (r.flag(12)) prm.target_error = 1.0 + r.range(0, 3);
        covers = r.flag(4);
        if (covers) prm.window = int32_t(2 * (p.Nk + p.Nq) + 2);
    } else {
        // (The prefill kind always meets the tiled path's conditions: elsewhere 1000 rows over
        // 8192 keys would take seconds under the sanitizers.)
        prm.sinks = r.range(0, 8);
        prm.window = 4 * r.range(0, kind == 0 ? 63 : 150);
        prm.samples = r.flag(10) && kind != 0 ? 0 : 1 + r.range(0, 255);
        prm.heavy_budget = r.flag(6) && kind != 0 ? r.range(1, 255) : 0;  // the tiled and decode paths need 0
        prm.target_error = r.flag() ? 0.0 : 0.01 * double(r.range(1, 50));
        prm.seed = r.u64();
        covers = r.flag(6) && kind != 0;
        if (covers) prm.window = int32_t(2 * (p.Nk + p.Nq) + 2);
    }
    // The exact part covers every key through the sinks as well as through the window.
    if (covers && r.flag(3)) {
        prm.window = r.range(0, 8);
        prm.sinks = int32_t(p.Nk + r.range(0, 3));
    }
    const bool use_index = variant == 1 || (variant == 2 && (kind == 1 ? !r.flag(4) : r.flag(4)));
    const bool with_stats = !r.flag(6);
    if (std::getenv("HA_FUZZ_VERBOSE"))  // to read a failing input
        std::fprintf(stderr,
                     "approx variant %d kind %d: dtype %d B %lld Hkv %lld G %lld Nq %lld Nk %lld D %lld causal %d scale %g "
                     "sinks %d window %d samples %d heavy %d target %g seed %llu covers %d index %d stats %d q %s k %s\n",
                     variant, kind, int(p.dtype), (long long)p.B, (long long)p.Hkv, (long long)p.G, (long long)p.Nq,
                     (long long)p.Nk, (long long)p.D, int(p.causal), double(p.scale), prm.sinks, prm.window, prm.samples,
                     prm.heavy_budget, prm.target_error, (unsigned long long)prm.seed, int(covers), int(use_index),
                     int(with_stats), all_finite(p.q) ? "finite" : "non-finite", all_finite(p.k) ? "finite" : "non-finite");
    ApproxStats stats(rows);
    ha_approx_stats sv = stats.view();
    ha_key_index* idx = nullptr;
    if (use_index) {
        const bool keys_finite = all_finite(p.k);
        ha_index_params ip;
        ha_index_params_init(&ip);
        ip.block_size = variant == 2 ? r.range(8, 255) : r.range(8, 40);
        ip.kmeans_iters = r.range(0, variant == 2 ? 1 : 4);
        ip.copy_keys = r.flag();
        ip.seed = r.u64();
        const bool with_v = r.flag();
        const int64_t N = p.Nk;
        int64_t n = r.flag() ? N : std::max<int64_t>(0, N - r.range(0, 255) * (variant == 2 ? 8 : 1));
        ha_tensor pk = p.k.desc(), pv = p.v.desc();
        pk.shape[2] = pv.shape[2] = n;
        int32_t st = ha_key_index_create(&pk, with_v ? &pv : nullptr, &ip, &idx);
        check_status(st, "ha_key_index_create");
        if (st != HA_OK) {  // non-finite keys in the prefix must be rejected, finite ones accepted
            REQUIRE(idx == nullptr, "failed create returned an index");
            REQUIRE(st == HA_ERR_INVALID_ARGUMENT && !keys_finite, "index create failed on finite keys: %s", ha_last_error());
            REQUIRE(q0 == p.q.bytes && k0 == p.k.bytes && v0 == p.v.bytes, "ha_key_index_create wrote an input");
            return;
        }
        if (n < N) {  // an index over fewer keys than the view
            st = ha_attention_approx(&tq, &tk, &tv, &to, &tl, idx, &prm, nullptr);
            check_status(st, "ha_attention_approx");
            REQUIRE(st == HA_ERR_INVALID_ARGUMENT, "approx accepted an index over %lld of %lld keys (status %d)",
                    (long long)n, (long long)N, st);
        }
        while (n < N) {
            n = std::min<int64_t>(N, n + r.range(1, 255) * (variant == 2 ? 16 : 1));
            ha_tensor gk = p.k.desc(), gv = p.v.desc();
            gk.shape[2] = gv.shape[2] = n;
            st = ha_key_index_append(idx, &gk, with_v ? &gv : nullptr);
            check_status(st, "ha_key_index_append");
            if (st != HA_OK) {
                REQUIRE(!keys_finite, "append failed on finite keys: %s", ha_last_error());
                ha_key_index_destroy(idx);
                REQUIRE(q0 == p.q.bytes && k0 == p.k.bytes && v0 == p.v.bytes, "ha_key_index_append wrote an input");
                return;
            }
        }
        REQUIRE(keys_finite, "the index accepted a non-finite key");
    }
    const int32_t st = twice(
        "ha_attention_approx", out, &lse,
        [&] {
            stats.reset();
            return ha_attention_approx(&tq, &tk, &tv, &to, &tl, idx, &prm, with_stats ? &sv : nullptr);
        },
        stats.bytes());
    ha_key_index_destroy(idx);
    REQUIRE(q0 == p.q.bytes && k0 == p.k.bytes && v0 == p.v.bytes, "ha_attention_approx wrote an input");
    if (st != HA_OK) {  // only the bytes' invalid parameters may fail
        const bool bad = prm.window < 0 || prm.target_error >= 1.0;
        REQUIRE(bad, "valid approx call failed: %s", ha_last_error());
        return;
    }
    std::vector<char> pick;
    if (variant == 2) {  // the reference over every key costs Nk per row: a dozen rows, the last ones included
        pick.assign(size_t(rows), 0);
        for (int x = 0; x < 10; ++x) pick[size_t(rng.next() % uint64_t(rows))] = 1;
        for (int64_t h = 0; h < Hq; ++h) pick[size_t((h + 1) * p.Nq - 1)] = 1;
    }
    check_approx("approx", p, out, lse, with_stats ? &stats : nullptr, prm, covers, variant == 2 ? &pick : nullptr);
}

void op_merge(Reader& r, Rng& rng) {
    const int32_t dtype = draw_dtype(r);
    const int64_t B = r.range(1, 2), H = r.range(1, 3), N = r.range(0, 20), D = r.range(1, 40);
    Buf a = make(dtype, B, H, N, D, r.flag()), bb = make(dtype, B, H, N, D, r.flag());
    Buf la = make_lse(B, H, N), lb = make_lse(B, H, N);
    fill(a, rng, r.flag() ? 0 : 20, 2.f);
    fill(bb, rng, r.flag() ? 0 : 20, 2.f);
    fill(la, rng, r.range(0, 1) ? 5 : 0, 10.f);
    fill(lb, rng, r.range(0, 1) ? 5 : 0, 10.f);
    Buf out = make(dtype, B, H, N, D, false), lse = make_lse(B, H, N);
    const Buf a0 = a, b0 = bb, la0 = la, lb0 = lb;
    ha_tensor ta = a.desc(), tb = bb.desc(), tla = la.desc(), tlb = lb.desc(), to = out.desc(), tl = lse.desc();
    const int mode = r.range(0, 2);  // 0: separate output, 1: in place on a, 2: corrupted
    int32_t st;
    if (mode == 1) {
        st = ha_merge(&ta, &tla, &tb, &tlb, &ta, &tla, nullptr);
    } else {
        if (mode == 2) corrupt(r, &tb);
        st = ha_merge(&ta, &tla, &tb, &tlb, &to, &tl, nullptr);
    }
    check_status(st, "ha_merge");
    if (mode != 1) REQUIRE(a.bytes == a0.bytes && la.bytes == la0.bytes, "ha_merge wrote input a");
    REQUIRE(bb.bytes == b0.bytes && lb.bytes == lb0.bytes, "ha_merge wrote input b");
    if (mode == 2 || st != HA_OK) {
        REQUIRE(mode == 2, "valid merge failed: %s", ha_last_error());
        return;
    }
    const Buf& O = mode == 1 ? a : out;
    const Buf& L = mode == 1 ? la : lse;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < N; ++i) {
                const double x = la0.get(b, h, i, 0), y = lb0.get(b, h, i, 0);
                const double got_l = L.get(b, h, i, 0);
                if (std::isnan(x) || std::isnan(y) || x == INFINITY || y == INFINITY) {
                    REQUIRE(std::isnan(got_l), "merge: NaN/+inf lse must give NaN, got %g", got_l);
                    for (int64_t d = 0; d < D; ++d) REQUIRE(std::isnan(O.get(b, h, i, d)), "merge: NaN row");
                    continue;
                }
                if (x == -INFINITY && y == -INFINITY) {
                    REQUIRE(got_l == -INFINITY, "merge: empty row lse %g", got_l);
                    for (int64_t d = 0; d < D; ++d) REQUIRE(O.get(b, h, i, d) == 0.f, "merge: empty row out");
                    continue;
                }
                const double m = std::max(x, y), wa = std::exp(x - m), wb = std::exp(y - m);
                const double want_l = m + std::log(wa + wb);
                REQUIRE(std::fabs(got_l - want_l) <= 1e-5 * (1 + std::fabs(want_l)), "merge lse %g want %g", got_l, want_l);
                for (int64_t d = 0; d < D; ++d) {
                    const double xa = a0.get(b, h, i, d), xb = b0.get(b, h, i, d);
                    double want;
                    if (wb / (wa + wb) == 0 || y == -INFINITY) want = xa;
                    else if (wa / (wa + wb) == 0 || x == -INFINITY) want = xb;
                    else want = (wa * xa + wb * xb) / (wa + wb);
                    const double got = O.get(b, h, i, d);
                    if (!std::isfinite(want)) continue;  // IEEE through a finite weight
                    const double mag = std::fabs(want) + (std::isfinite(xa) ? std::fabs(xa) : 0) + (std::isfinite(xb) ? std::fabs(xb) : 0);
                    const double tol = (dtype == HA_DTYPE_BF16 ? 0x1p-7 : dtype == HA_DTYPE_F16 ? 0x1p-10 : 1e-5) * mag +
                                       out_abs(dtype);
                    REQUIRE(std::fabs(got - want) <= tol, "merge out %.9g want %.9g (xa %.9g xb %.9g lse %.9g %.9g dtype %d)", got, want, xa, xb, x, y, int(dtype));
                }
            }
}

// Keys for the index: finite unless the bytes ask for a bad one (which must be rejected).
void op_index(Reader& r, Rng& rng) {
    Problem p = make_problem(r, rng);
    p.causal = false;
    fill(p.q, rng, r.flag(4) ? 50 : 0, float(r.range(1, 4)));
    fill(p.k, rng, r.flag(6) ? 100 : 0, float(r.range(1, 4)));
    fill(p.v, rng, 0, 1.f);
    const bool keys_finite = all_finite(p.k);
    const auto q0 = p.q.bytes, k0 = p.k.bytes, v0 = p.v.bytes;
    ha_index_params ip;
    ha_index_params_init(&ip);
    ip.block_size = r.range(8, 40);
    ip.kmeans_iters = r.range(0, 4);
    ip.copy_keys = r.flag();
    ip.seed = r.u64();
    const bool with_v = r.flag();
    // Built over a prefix, then appended in steps up to the whole view (a growing cache).
    ha_tensor tk = p.k.desc(), tv = p.v.desc();
    const int64_t N = p.Nk;
    int64_t n = r.flag() ? N : r.range(0, int(N));
    tk.shape[2] = tv.shape[2] = n;
    ha_key_index* idx = nullptr;
    int32_t st = ha_key_index_create(&tk, with_v ? &tv : nullptr, &ip, &idx);
    check_status(st, "ha_key_index_create");
    // Non-finite keys in the prefix must be rejected; finite ones accepted.
    if (st != HA_OK) {
        REQUIRE(idx == nullptr, "failed create returned an index");
        REQUIRE(st == HA_ERR_INVALID_ARGUMENT && !keys_finite, "index create failed on finite keys: %s", ha_last_error());
        return;
    }
    bool appended_bad = false;
    while (n < N) {
        n = std::min<int64_t>(N, n + r.range(1, 30));
        ha_tensor gk = p.k.desc(), gv = p.v.desc();
        gk.shape[2] = gv.shape[2] = n;
        st = ha_key_index_append(idx, &gk, with_v ? &gv : nullptr);
        check_status(st, "ha_key_index_append");
        if (st != HA_OK) {
            REQUIRE(!keys_finite, "append failed on finite keys: %s", ha_last_error());
            appended_bad = true;
            break;
        }
    }
    ha_key_index_info info{};
    check_status(ha_key_index_get_info(idx, &info), "ha_key_index_get_info");
    if (!appended_bad) {
        REQUIRE(info.keys == N, "index holds %lld keys, view has %lld", (long long)info.keys, (long long)N);
        ha_tensor full_k = p.k.desc(), full_v = p.v.desc(), tq = p.q.desc();
        // Report with the appended index == report with a fresh temporary index == brute force.
        const int64_t rows = p.B * p.Hkv * p.G * p.Nq;
        std::vector<int64_t> c1(size_t(rows) + 1), c2(size_t(rows) + 1);
        int64_t t1 = 0, t2 = 0;
        const float thr = float(r.range(-20, 20)) / 4.f;
        const int32_t s1 = ha_hsr_report(idx, &full_k, &tq, thr, c1.data(), nullptr, 0, &t1);
        check_status(s1, "ha_hsr_report");
        const int32_t s2 = ha_hsr_report(nullptr, &full_k, &tq, thr, c2.data(), nullptr, 0, &t2);
        check_status(s2, "ha_hsr_report");
        REQUIRE(s1 == s2, "report status with index %d, without %d", s1, s2);
        if (s1 == HA_OK) {
            REQUIRE(all_finite(p.q), "report accepted a non-finite query");
            REQUIRE(t1 == t2 && c1 == c2, "appended index reports %lld keys, a fresh one %lld", (long long)t1, (long long)t2);
            std::vector<int32_t> ind(size_t(std::max<int64_t>(t1, 1)));
            int64_t t3 = 0;
            check_status(ha_hsr_report(idx, &full_k, &tq, thr, c1.data(), ind.data(), int64_t(ind.size()), &t3), "ha_hsr_report");
            // Brute force away from ties (the library decides ties exactly).
            int64_t at = 0;
            for (int64_t b = 0; b < p.B; ++b)
                for (int64_t h = 0; h < p.Hkv * p.G; ++h)
                    for (int64_t i = 0; i < p.Nq; ++i) {
                        const int64_t row = (b * p.Hkv * p.G + h) * p.Nq + i;
                        std::vector<char> hit(size_t(N), 0);
                        for (int64_t x = 0; x < c1[size_t(row)]; ++x) hit[size_t(ind[size_t(at + x)])] = 1;
                        at += c1[size_t(row)];
                        for (int64_t j = 0; j < N; ++j) {
                            long double dot = 0, mag = 0;
                            for (int64_t d = 0; d < p.D; ++d) {
                                const long double pr = (long double)p.q.get(b, h, i, d) * p.k.get(b, h / p.G, j, d);
                                dot += pr;
                                mag += std::fabs(pr);
                            }
                            if (std::fabs(double(dot - thr)) <= 1e-12 * double(mag) + 1e-30) continue;
                            REQUIRE(bool(hit[size_t(j)]) == (dot >= thr), "report: key %lld of row %lld: q.k - thr = %g, reported %d",
                                    (long long)j, (long long)row, double(dot - thr), int(hit[size_t(j)]));
                        }
                    }
        }
        // HSR attention through the appended index.
        Buf out = make(p.dtype, p.B, p.Hkv * p.G, p.Nq, p.D, false);
        ha_hsr_params hp;
        ha_hsr_params_init(&hp);
        hp.mode = r.flag() ? HA_HSR_RELU : HA_HSR_SOFTMAX;
        hp.alpha = r.range(1, 3);
        hp.bias = float(r.range(-8, 8)) / 4.f;
        hp.scale = p.scale;
        hp.epsilon = r.flag() ? 1e-3 : 0.3;
        hp.causal = r.flag();
        std::vector<float> dropped(size_t(rows) + 1), bound(size_t(rows) + 1);
        std::vector<int64_t> touched(size_t(rows) + 1);
        ha_hsr_stats stats{dropped.data(), bound.data(), touched.data()};
        ha_tensor to = out.desc();
        const int32_t sh = twice("ha_attention_hsr", out, nullptr, [&] {
            return ha_attention_hsr(&tq, &full_k, &full_v, &to, idx, &hp, &stats);
        });
        REQUIRE(sh == HA_OK, "valid HSR call failed: %s", ha_last_error());
        const double scale = resolved(p.scale, p.D);
        const double vmax = max_abs(p.v);
        for (int64_t b = 0; b < p.B; ++b)
            for (int64_t h = 0; h < p.Hkv * p.G; ++h)
                for (int64_t i = 0; i < p.Nq; ++i) {
                    const int64_t row = (b * p.Hkv * p.G + h) * p.Nq + i;
                    bool finite = true;
                    for (int64_t d = 0; d < p.D; ++d) finite &= std::isfinite(out.get(b, h, i, d)) != 0;
                    if (!finite) {  // no certificate on a non-finite row
                        REQUIRE(dropped[size_t(row)] == INFINITY && bound[size_t(row)] == INFINITY,
                                "hsr: non-finite row %lld with dropped %g bound %g", (long long)row,
                                double(dropped[size_t(row)]), double(bound[size_t(row)]));
                        continue;
                    }
                    if (hp.mode != HA_HSR_SOFTMAX) continue;
                    REQUIRE(dropped[size_t(row)] <= hp.epsilon, "hsr: dropped %g > epsilon", double(dropped[size_t(row)]));
                    double smax = 0;
                    const RefRow ref = ref_row(p.q, p.k, p.v, b, h, i, scale, hp.causal != 0, &smax);
                    if (ref.kind != RefRow::Finite) continue;
                    const double tol = vmax * (out_rel(p.dtype) + 8 * double(p.D + 8) * 0x1p-24 * smax * 2) + out_abs(p.dtype);
                    for (int64_t d = 0; d < p.D; ++d) {
                        const double err = std::fabs(double(out.get(b, h, i, d)) - ref.o[size_t(d)]);
                        REQUIRE(err <= double(bound[size_t(row)]) + tol, "hsr softmax: row %lld d %lld error %g > bound %g + %g",
                                (long long)row, (long long)d, err, double(bound[size_t(row)]), tol);
                    }
                }
    }
    REQUIRE(q0 == p.q.bytes && k0 == p.k.bytes && v0 == p.v.bytes, "index/report/hsr wrote an input");
    ha_key_index_destroy(idx);
}

void op_runtime(Reader& r) {
    const int which = r.range(0, 4);
    if (which == 0) {
        const int32_t n = int32_t(r.u64() % 3000) - 10;
        const int32_t st = ha_set_num_threads(n);
        check_status(st, "ha_set_num_threads");
        REQUIRE((st == HA_OK) == (n >= 0 && n <= 1024), "threads %d: status %d", n, st);
        ha_set_num_threads(0);
    } else if (which == 1) {
        const int32_t isa = r.range(-1, 5);
        check_status(ha_set_cpu_isa(isa), "ha_set_cpu_isa");
        ha_set_cpu_isa(HA_CPU_ISA_AUTO);
    } else if (which == 2) {
        static const char* names[] = {"ha_tensor", "ha_exact_params", "ha_hsr_stats", "nope", "ha_key_index_info", ""};
        static const char* fields[] = {nullptr, "", "data", "shape", "#align", "zzz", "scale"};
        int64_t v = 0;
        check_status(ha_abi_layout(names[r.range(0, 5)], fields[r.range(0, 6)], &v), "ha_abi_layout");
    } else if (which == 3) {
        int32_t count = -1;
        check_status(ha_cuda_device_count(&count), "ha_cuda_device_count");
        REQUIRE(count >= 0, "device count %d", count);
        ha_device_props props;
        check_status(ha_cuda_device_props(r.range(-1, 2), &props), "ha_cuda_device_props");
        void* ptr = nullptr;
        check_status(ha_device_alloc(r.range(0, 2), 0, r.range(-1, 64), &ptr), "ha_device_alloc");
        check_status(ha_device_free(HA_DEVICE_CUDA, 0, ptr), "ha_device_free");
        void* stream = nullptr;
        const int32_t sc = ha_stream_create(r.range(-1, 1), &stream);
        check_status(sc, "ha_stream_create");
        check_status(ha_stream_synchronize(0, stream), "ha_stream_synchronize");
        check_status(ha_stream_destroy(0, stream), "ha_stream_destroy");
    } else {
        char a[64], b[64];
        std::memset(b, 7, sizeof b);
        check_status(ha_memcpy(a, HA_DEVICE_CPU, 0, b, HA_DEVICE_CPU, 0, r.range(-1, 64), nullptr), "ha_memcpy");
    }
    REQUIRE(ha_abi_version() == HA_ABI_VERSION, "abi version");
    REQUIRE(ha_version_string() && ha_version_string()[0], "version string");
    REQUIRE(ha_get_num_threads() >= 1 && ha_get_num_threads() <= 1024, "threads %d", ha_get_num_threads());
    REQUIRE(ha_get_cpu_isa() != HA_CPU_ISA_AUTO, "isa");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader r{data, size};
    Rng rng{r.u64()};
    // Every CPU path: generic, AVX2, AVX-512 (where the machine has it; otherwise the status
    // says so and the best path runs).
    // (Derived from the seed without consuming bytes or values: the corpus keeps its meaning.)
    Rng isa_rng{rng.s ^ 0x5bd1e9955bd1e995ull};
    check_status(ha_set_cpu_isa(int32_t(isa_rng.next() % 4)), "ha_set_cpu_isa");
    // (Approx inputs: the selector byte's upper values pick the index and long variants.)
    const uint8_t op = r.byte();
    switch (op % 10) {
        case 0: case 1: case 2: op_exact(r, rng); break;
        case 3: case 4: op_hyper(r, rng); break;
        case 5: op_merge(r, rng); break;
        case 6: case 7: op_index(r, rng); break;
        case 8: op_approx(r, rng, op < 160 ? 0 : op < 210 ? 1 : 2); break;
        default: op_runtime(r); break;
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
    return 0;
}
