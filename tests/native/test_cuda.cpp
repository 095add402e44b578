// The CUDA backend against the CPU backend: every device operation on fresh random inputs
// (odd sizes, Nq != Nk, GQA, causal and not, head dims 64, 128 and odd ones up to 256, fp16
// and bf16, aligned and strided layouts), with outputs poisoned on the device first. The
// reference is the CPU backend's f32 path on the same rounded inputs. Without a GPU every
// device case is counted as skipped; what needs no GPU (the "no device" answers, argument
// checks, the CPU path in a CUDA build) runs everywhere.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>

#include "cases.h"

using namespace hat;

namespace {

// ---- environment ------------------------------------------------------------------------
struct CudaEnv {
    bool built = false;    // the library has a CUDA backend
    bool present = false;  // and at least one device answers
    int count = 0;
    std::string reason;    // ha_last_error() of ha_cuda_device_count
};

const CudaEnv& cuda_env() {
    static const CudaEnv e = [] {
        CudaEnv c;
        int32_t n = -1;
        const int32_t st = ha_cuda_device_count(&n);
        c.reason = ha_last_error();
        c.built = c.reason.find("this build has no CUDA backend") == std::string::npos;
        c.present = st == HA_OK && n > 0;
        c.count = st == HA_OK ? n : 0;
        return c;
    }();
    return e;
}

// True (and the case counted as skipped) when there is no device to run `label` on.
bool skip_without_gpu(const std::string& label) {
    const CudaEnv& e = cuda_env();
    if (e.present) return false;
    skip_case(label, e.built ? "no CUDA device (" + e.reason + ")" : "this build has no CUDA backend");
    return true;
}

// ---- fp16 on the host -------------------------------------------------------------------
uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return uint16_t(sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds past 65504
    if (ax < 0x38800000u) {                                   // below 2^-14: subnormal
        float af;
        std::memcpy(&af, &ax, 4);
        return uint16_t(sign | uint32_t(std::nearbyint(af * 16777216.0f)));
    }
    uint32_t r = ax - 0x38000000u;  // rebias the exponent (127 -> 15)
    r += 0xfffu + ((r >> 13) & 1u); // round to nearest even
    return uint16_t(sign | (r >> 13));
}

float f16_to_f32(uint16_t h) {
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0)
        v = std::ldexp(float(m), -24);
    else if (e == 31)
        v = m ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    else
        v = std::ldexp(1.0f + float(m) / 1024.0f, e - 15);
    return (h & 0x8000) ? -v : v;
}

uint16_t to_bits(int32_t dtype, float x) { return dtype == HA_DTYPE_F16 ? f32_to_f16(x) : f32_to_bf16(x); }
float from_bits(int32_t dtype, uint16_t b) { return dtype == HA_DTYPE_F16 ? f16_to_f32(b) : bf16_to_f32(b); }
const char* dname(int32_t dtype) { return dtype == HA_DTYPE_F16 ? "f16" : "bf16"; }

// A 16-bit tensor in any layout: `raw` holds the bits (stored through a bf16 HostTensor, which
// only fixes the 2-byte element size), `val` the same values as f32 in [b,h,s,d] order.
struct Half {
    int32_t dtype;
    HostTensor raw, val;
};

// Fills t with N(0,1) values rounded to its dtype (raw bits and val).
void fill_half(Half& t) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t i0 = 0; i0 < t.raw.shape[0]; ++i0)
        for (int64_t i1 = 0; i1 < t.raw.shape[1]; ++i1)
            for (int64_t i2 = 0; i2 < t.raw.shape[2]; ++i2)
                for (int64_t i3 = 0; i3 < t.raw.shape[3]; ++i3) {
                    const uint16_t bits = to_bits(t.dtype, nd(rng()));
                    std::memcpy(t.raw.storage.data() + t.raw.offset + t.raw.index(i0, i1, i2, i3) * 2, &bits, 2);
                    t.val.set(i0, i1, i2, i3, from_bits(t.dtype, bits));
                }
}

Half make_half(int32_t dtype, int64_t b, int64_t h, int64_t s, int64_t d, int layout, bool fill) {
    Half t{dtype, make_tensor(HA_DTYPE_BF16, b, h, s, d, layout), make_tensor(HA_DTYPE_F32, b, h, s, d, BHSD)};
    if (fill) fill_half(t);
    return t;
}

// The same with explicit strides (packed rows, pages).
Half make_half_strided(int32_t dtype, const int64_t shape[4], const int64_t strides[4], bool fill) {
    Half t{dtype, HostTensor::make(HA_DTYPE_BF16, shape, strides),
           make_tensor(HA_DTYPE_F32, shape[0], shape[1], shape[2], shape[3], BHSD)};
    if (fill) fill_half(t);
    return t;
}

uint16_t bits_at(const HostTensor& t, int64_t b, int64_t h, int64_t s, int64_t d) {
    uint16_t x;
    std::memcpy(&x, t.storage.data() + t.offset + t.index(b, h, s, d) * 2, 2);
    return x;
}

// Decodes raw bits back into val (after a download). val is poisoned first so that its own
// slack bytes pass compare_output's gap check, which is meant for the raw download.
void decode(Half& t) {
    t.val.poison();
    for (int64_t i0 = 0; i0 < t.raw.shape[0]; ++i0)
        for (int64_t i1 = 0; i1 < t.raw.shape[1]; ++i1)
            for (int64_t i2 = 0; i2 < t.raw.shape[2]; ++i2)
                for (int64_t i3 = 0; i3 < t.raw.shape[3]; ++i3) {
                    uint16_t bits;
                    std::memcpy(&bits, t.raw.storage.data() + t.raw.offset + t.raw.index(i0, i1, i2, i3) * 2, 2);
                    t.val.set(i0, i1, i2, i3, from_bits(t.dtype, bits));
                }
}

// ---- device mirrors ---------------------------------------------------------------------
// Device memory holding a host tensor's span (from its first element, gaps included), so the
// host strides hold on the device and the gaps can be checked after downloading. `shift`
// elements of offset make the device base deliberately not 16-byte aligned.
struct Mirror {
    void* base = nullptr;
    size_t bytes = 0, shift_bytes = 0;
    bool ok = false;
    Mirror(const HostTensor& t, int64_t shift = 0) {
        shift_bytes = size_t(shift * t.esize());
        bytes = t.storage.size() - t.offset;
        int32_t st = ha_device_alloc(HA_DEVICE_CUDA, 0, int64_t(bytes + shift_bytes), &base);
        CHECK(st == HA_OK, "alloc %zu: %s", bytes, ha_last_error());
        ok = st == HA_OK && upload(t);
    }
    ~Mirror() {
        if (base) CHECK(ha_device_free(HA_DEVICE_CUDA, 0, base) == HA_OK, "free: %s", ha_last_error());
    }
    Mirror(const Mirror&) = delete;
    Mirror& operator=(const Mirror&) = delete;
    void* data() const { return static_cast<char*>(base) + shift_bytes; }
    bool upload(const HostTensor& t) {
        int32_t st = ha_memcpy(data(), HA_DEVICE_CUDA, 0, t.storage.data() + t.offset, HA_DEVICE_CPU, 0,
                               int64_t(bytes), nullptr);
        CHECK(st == HA_OK, "upload: %s", ha_last_error());
        return st == HA_OK;
    }
    bool download(HostTensor& t) const {
        int32_t st = ha_memcpy(t.storage.data() + t.offset, HA_DEVICE_CPU, 0, data(), HA_DEVICE_CUDA, 0,
                               int64_t(bytes), nullptr);
        CHECK(st == HA_OK, "download: %s", ha_last_error());
        return st == HA_OK;
    }
    ha_tensor desc(const HostTensor& t, int32_t dtype) const {
        ha_tensor d{};
        d.data = data();
        d.dtype = dtype;
        d.device_type = HA_DEVICE_CUDA;
        d.device_id = 0;
        for (int i = 0; i < 4; ++i) {
            d.shape[i] = t.shape[i];
            d.strides[i] = t.strides[i];
        }
        return d;
    }
};

// The CPU backend's f32 result on the rounded inputs, as a RefResult.
RefResult cpu_reference(HostTensor& q, HostTensor& k, HostTensor& v, bool causal, float scale,
                        int64_t key_lo = 0, int64_t key_hi = -1) {
    if (key_hi < 0) key_hi = k.shape[2];
    const int64_t B = q.shape[0], H = q.shape[1], N = q.shape[2], D = q.shape[3];
    HostTensor out = make_tensor(HA_DTYPE_F32, B, H, N, D, BHSD);
    HostTensor lse = make_lse(B, H, N, false);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    for (ha_tensor* t : {&tk, &tv}) {
        t->data = static_cast<char*>(t->data) + key_lo * t->strides[2] * 4;
        t->shape[2] = key_hi - key_lo;
    }
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = causal;
    p.scale = scale;
    const int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &p);
    CHECK(st == HA_OK, "CPU reference: %s", ha_last_error());
    RefResult r{std::vector<double>(size_t(B * H * N * D)), std::vector<double>(size_t(B * H * N)), B, H, N, D};
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t s = 0; s < N; ++s) {
                r.lse[size_t((b * H + h) * N + s)] = lse.get(b, h, s, 0);
                for (int64_t d = 0; d < D; ++d) r.out[size_t(((b * H + h) * N + s) * D + d)] = out.get(b, h, s, d);
            }
    return r;
}

// P is rounded to the input type before P*V and the output is rounded once: bf16 keeps 8
// significant bits, fp16 11, so the bound of cases.h scales down by 2^3 for fp16 (2^-8 kept).
double tol_out(int32_t dtype, double max_v) {
    return (dtype == HA_DTYPE_F16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -6)) * std::max(1.0, max_v);
}
// Scores are exact products summed in fp32 on both sides; the LSEs differ by fp32 rounding.
constexpr double kLseTol = 1e-3;

// ---- exact attention --------------------------------------------------------------------
struct CudaProblem {
    int64_t B, Hq, Hkv, Nq, Nk, D;
    bool causal;
    float scale;
};

// Layout sets: {q, k, v, out} layouts and a base shift in elements (1 = misaligned base).
struct LayoutSet {
    const char* name;
    int l[4];
    int64_t shift;
};
const LayoutSet kAligned[] = {{"bhsd", {BHSD, BHSD, BHSD, BHSD}, 0},
                              {"bshd", {BSHD, BSHD, BSHD, BSHD}, 0},
                              {"bhsd q/out, bshd k/v", {BHSD, BSHD, BSHD, BHSD}, 0}};
const LayoutSet kStrided[] = {{"padded rows", {PADDED, PADDED, BHSD, PADDED}, 0},
                              {"d-major k", {BHSD, DMAJOR, BSHD, BHSD}, 0},
                              {"misaligned bases", {BHSD, BHSD, BHSD, BSHD}, 1},
                              {"d-major out", {BSHD, PADDED, PADDED, DMAJOR}, 0}};

void run_cuda_problem(const CudaProblem& p, int32_t dtype, const LayoutSet& ls, bool with_lse,
                      void* stream) {
    const std::string label = format("cuda %s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s scale=%g [%s]%s%s",
                                     dname(dtype), (long long)p.B, (long long)p.Hq, (long long)p.Hkv,
                                     (long long)p.Nq, (long long)p.Nk, (long long)p.D,
                                     p.causal ? "causal" : "full", double(p.scale), ls.name,
                                     with_lse ? "" : " no-lse", stream ? " on a stream" : "");
    if (skip_without_gpu(label)) return;
    begin_case(label);
    Half q = make_half(dtype, p.B, p.Hq, p.Nq, p.D, ls.l[0], true);
    Half k = make_half(dtype, p.B, p.Hkv, p.Nk, p.D, ls.l[1], true);
    Half v = make_half(dtype, p.B, p.Hkv, p.Nk, p.D, ls.l[2], true);
    Half out = make_half(dtype, p.B, p.Hq, p.Nq, p.D, ls.l[3], false);
    HostTensor lse = make_lse(p.B, p.Hq, p.Nq, true);
    out.raw.poison();
    lse.poison();
    Mirror dq(q.raw, ls.shift), dk(k.raw, ls.shift), dv(v.raw, ls.shift), dout(out.raw, ls.shift), dl(lse);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok && dl.ok)) return;

    ha_exact_params params;
    ha_exact_params_init(&params);
    params.causal = p.causal;
    params.scale = p.scale;
    params.stream = stream;
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype), tl = dl.desc(lse, HA_DTYPE_F32);
    int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, with_lse ? &tl : nullptr, &params);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    if (stream) CHECK(ha_stream_synchronize(0, stream) == HA_OK, "sync: %s", ha_last_error());
    if (!dout.download(out.raw) || !dl.download(lse)) return;
    CHECK(gaps_untouched(out.raw), "bytes outside the output view were written");
    decode(out);

    const float scale = p.scale != 0 ? p.scale : float(1.0 / std::sqrt(double(p.D)));
    RefResult ref = cpu_reference(q.val, k.val, v.val, p.causal, scale);
    compare_output(out.val, ref, tol_out(dtype, max_abs(v.val)), with_lse ? &lse : nullptr, kLseTol);
    if (!with_lse) {
        HostTensor untouched = lse;
        untouched.poison();
        CHECK(untouched.storage == lse.storage, "lse written although NULL was passed");
    }
}

const CudaProblem kForward[] = {
    // B, Hq, Hkv, Nq, Nk, D, causal, scale
    {1, 1, 1, 1, 1, 64, false, 0},
    {2, 4, 2, 17, 33, 64, false, 0},     // odd sizes, GQA
    {2, 4, 2, 17, 33, 64, true, 0},
    {1, 8, 2, 64, 64, 64, true, 0},
    {1, 1, 1, 513, 515, 64, true, 0},    // several query blocks, diagonal offset 2
    {2, 4, 4, 1000, 1000, 64, false, 0},
    {1, 4, 4, 100, 100, 128, false, 0},
    {1, 4, 4, 100, 100, 128, true, 0},
    {2, 6, 3, 129, 257, 128, true, 0},   // a second query block of one row
    {1, 2, 1, 200, 150, 128, true, 0},   // Nq > Nk: the first 50 rows see no key
    {1, 2, 2, 1100, 1300, 128, false, 0},
    {1, 2, 2, 1100, 1300, 128, true, 0},
    {1, 2, 1, 9, 4, 80, true, 0},        // D = 80 (wide tiles), rows without keys
    {1, 2, 2, 300, 700, 96, true, 0},
    {1, 3, 1, 33, 200, 256, false, 0},
    {1, 3, 3, 70, 130, 256, true, 0},
    {1, 2, 1, 33, 47, 7, false, 0.3f},   // odd D: element-wise path
    {1, 2, 2, 40, 77, 200, true, 0},
    {1, 2, 2, 65, 65, 16, false, 1.0f},  // large scale: peaked softmax
    {1, 2, 2, 50, 90, 128, true, 1.0f},
    {1, 2, 1, 4, 0, 64, false, 0},       // no keys: zeros and -inf
};

// Few query rows: split-KV decoding where aligned (D 64/128), the forward kernel otherwise.
const CudaProblem kDecode[] = {
    {1, 32, 8, 1, 700, 128, false, 0},   // Llama-like: 4 heads packed per kv head
    {1, 4, 1, 1, 4099, 64, false, 0},    // MQA, several splits
    {1, 2, 1, 5, 3001, 128, true, 0},    // 10 packed rows, causal per row
    {2, 8, 2, 3, 5000, 128, true, 0},
    {1, 8, 1, 4, 20000, 64, true, 0},    // 32 packed rows: two row groups
    {1, 16, 1, 4, 1000, 128, false, 0},  // 64 packed rows: four row groups
    {1, 4, 4, 16, 3000, 128, false, 0},
    {1, 1, 1, 17, 3000, 128, true, 0},
    {2, 8, 2, 1, 40000, 128, false, 0},  // long cache
    {1, 2, 2, 1, 63, 64, true, 0},       // under one key tile
};

TEST(cuda_exact_matches_cpu_backend) {
    std::vector<CudaProblem> all(std::begin(kForward), std::end(kForward));
    all.insert(all.end(), std::begin(kDecode), std::end(kDecode));
    int n = 0;
    for (const CudaProblem& p : all)
            for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
                const LayoutSet& a = kAligned[size_t(n) % std::size(kAligned)];
                const LayoutSet& s = kStrided[size_t(n) % std::size(kStrided)];
                ++n;
                run_cuda_problem(p, dtype, a, true, nullptr);
                end_case();
                run_cuda_problem(p, dtype, s, n % 3 != 0, nullptr);
                end_case();
            }
}

TEST(cuda_exact_on_a_user_stream) {
    const std::string label = "cuda exact and merge enqueued on a stream from ha_stream_create";
    if (skip_without_gpu(label)) return;
    void* stream = nullptr;
    begin_case(label + ": create");
    CHECK(ha_stream_create(0, &stream) == HA_OK && stream, "stream: %s", ha_last_error());
    end_case();
    if (!stream) return;
    run_cuda_problem({1, 8, 2, 200, 333, 128, true, 0}, HA_DTYPE_BF16, kAligned[0], true, stream);
    end_case();
    run_cuda_problem({1, 8, 2, 1, 9000, 128, false, 0}, HA_DTYPE_F16, kAligned[1], true, stream);
    end_case();
    run_cuda_problem({1, 3, 1, 20, 50, 40, false, 0}, HA_DTYPE_BF16, kStrided[0], true, stream);
    end_case();
    begin_case(label + ": destroy");
    CHECK(ha_stream_destroy(0, stream) == HA_OK, "%s", ha_last_error());
    CHECK(ha_stream_destroy(0, nullptr) == HA_OK, "NULL: %s", ha_last_error());
}

TEST(cuda_results_are_deterministic) {
    // Split-KV combines in a fixed order: the same call twice gives the same bits.
    for (const CudaProblem& p : {CudaProblem{1, 8, 2, 1, 30000, 128, false, 0},
                                 CudaProblem{1, 4, 4, 333, 500, 64, true, 0}}) {
        const std::string label = format("cuda bit-identical reruns Nq=%lld Nk=%lld D=%lld", (long long)p.Nq,
                                         (long long)p.Nk, (long long)p.D);
        if (skip_without_gpu(label)) continue;
        begin_case(label);
        Half q = make_half(HA_DTYPE_BF16, p.B, p.Hq, p.Nq, p.D, BHSD, true);
        Half k = make_half(HA_DTYPE_BF16, p.B, p.Hkv, p.Nk, p.D, BHSD, true);
        Half v = make_half(HA_DTYPE_BF16, p.B, p.Hkv, p.Nk, p.D, BHSD, true);
        Half o1 = make_half(HA_DTYPE_BF16, p.B, p.Hq, p.Nq, p.D, BHSD, false);
        o1.raw.poison();
        Half o2 = o1;  // the same poison in the bytes before the first element, which no download touches
        Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(o1.raw);
        if (!(dq.ok && dk.ok && dv.ok && dout.ok)) continue;
        ha_tensor tq = dq.desc(q.raw, HA_DTYPE_BF16), tk = dk.desc(k.raw, HA_DTYPE_BF16),
                  tv = dv.desc(v.raw, HA_DTYPE_BF16), to = dout.desc(o1.raw, HA_DTYPE_BF16);
        ha_exact_params prm;
        ha_exact_params_init(&prm);
        prm.causal = p.causal;
        CHECK(ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &prm) == HA_OK, "%s", ha_last_error());
        dout.download(o1.raw);
        CHECK(ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &prm) == HA_OK, "%s", ha_last_error());
        dout.download(o2.raw);
        CHECK(o1.raw.storage == o2.raw.storage, "two runs differ");
        end_case();
    }
}

// ---- HyperAttention ----------------------------------------------------------------------
// The device result equals the CPU backend's HyperAttention for the same seed and parameters
// (same plan, hyperplanes, buckets and samples) up to storage rounding. Small min_seq_len,
// block and sample sizes make the approximation (and, causal, the recursion) run on small
// problems; `distinct` cases also check that the approximation is really taken: the result
// is farther from exact attention than the tolerance.
struct HyperCudaCase {
    int64_t B, Hq, Hkv, Nq, Nk, D;
    bool causal;
    float scale;
    int32_t block, samples, min_seq, r;
    bool distinct;  // hyper differs from exact by more than the tolerance (peaked scores)
};

ha_hyper_params hyper_params(const HyperCudaCase& c, void* stream) {
    ha_hyper_params p;
    ha_hyper_params_init(&p);
    p.scale = c.scale;
    p.causal = c.causal;
    p.block_size = c.block;
    p.sample_size = c.samples;
    p.min_seq_len = c.min_seq;
    p.lsh_projections = c.r;
    p.seed = 0x5eed0000u + uint64_t(c.Nq * 7 + c.Nk);
    p.stream = stream;
    return p;
}

// The CPU backend's HyperAttention (f32 on the rounded values) as a RefResult.
RefResult cpu_hyper_reference(HostTensor& q, HostTensor& k, HostTensor& v, const HyperCudaCase& c) {
    const int64_t B = q.shape[0], H = q.shape[1], N = q.shape[2], D = q.shape[3];
    HostTensor out = make_tensor(HA_DTYPE_F32, B, H, N, D, BHSD);
    HostTensor lse = make_lse(B, H, N, false);
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    const ha_hyper_params p = hyper_params(c, nullptr);
    const int32_t st = ha_attention_hyper(&tq, &tk, &tv, &to, &tl, &p);
    CHECK(st == HA_OK, "CPU hyper reference: %s", ha_last_error());
    RefResult r{std::vector<double>(size_t(B * H * N * D)), std::vector<double>(size_t(B * H * N)), B, H, N, D};
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t s = 0; s < N; ++s) {
                r.lse[size_t((b * H + h) * N + s)] = lse.get(b, h, s, 0);
                for (int64_t d = 0; d < D; ++d) r.out[size_t(((b * H + h) * N + s) * D + d)] = out.get(b, h, s, d);
            }
    return r;
}

void run_cuda_hyper(const HyperCudaCase& c, int32_t dtype, const LayoutSet& ls, bool with_lse, void* stream) {
    const std::string label = format("cuda hyper %s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s scale=%g "
                                     "block=%d m=%d min=%d r=%d [%s]%s%s",
                                     dname(dtype), (long long)c.B, (long long)c.Hq, (long long)c.Hkv,
                                     (long long)c.Nq, (long long)c.Nk, (long long)c.D,
                                     c.causal ? "causal" : "full", double(c.scale), c.block, c.samples,
                                     c.min_seq, c.r, ls.name, with_lse ? "" : " no-lse",
                                     stream ? " on a stream" : "");
    if (skip_without_gpu(label)) return;
    begin_case(label);
    Half q = make_half(dtype, c.B, c.Hq, c.Nq, c.D, ls.l[0], true);
    Half k = make_half(dtype, c.B, c.Hkv, c.Nk, c.D, ls.l[1], true);
    Half v = make_half(dtype, c.B, c.Hkv, c.Nk, c.D, ls.l[2], true);
    Half out = make_half(dtype, c.B, c.Hq, c.Nq, c.D, ls.l[3], false);
    HostTensor lse = make_lse(c.B, c.Hq, c.Nq, true);
    out.raw.poison();
    lse.poison();
    Mirror dq(q.raw, ls.shift), dk(k.raw, ls.shift), dv(v.raw, ls.shift), dout(out.raw, ls.shift), dl(lse);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok && dl.ok)) return;
    const ha_hyper_params params = hyper_params(c, stream);
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype), tl = dl.desc(lse, HA_DTYPE_F32);
    const int32_t st = ha_attention_hyper(&tq, &tk, &tv, &to, with_lse ? &tl : nullptr, &params);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    if (stream) CHECK(ha_stream_synchronize(0, stream) == HA_OK, "sync: %s", ha_last_error());
    if (!dout.download(out.raw) || !dl.download(lse)) return;
    CHECK(gaps_untouched(out.raw), "bytes outside the output view were written");
    decode(out);

    const double tol = tol_out(dtype, max_abs(v.val));
    const RefResult ref = cpu_hyper_reference(q.val, k.val, v.val, c);
    compare_output(out.val, ref, tol, with_lse ? &lse : nullptr, kLseTol);
    if (!with_lse) {
        HostTensor untouched = lse;
        untouched.poison();
        CHECK(untouched.storage == lse.storage, "lse written although NULL was passed");
    }
    if (c.distinct) {
        const float scale = c.scale != 0 ? c.scale : float(1.0 / std::sqrt(double(c.D)));
        const RefResult ex = cpu_reference(q.val, k.val, v.val, c.causal, scale);
        double far = 0;
        for (size_t i = 0; i < ex.out.size(); ++i) far = std::max(far, std::abs(ex.out[i] - ref.out[i]));
        CHECK(far > 2 * tol, "the CPU hyper result is within %.3g of exact attention (tolerance %.3g): the "
              "case does not tell the approximation from exact attention", far, tol);
    }
}

const HyperCudaCase kHyperCases[] = {
    // B, Hq, Hkv, Nq, Nk, D, causal, scale, block, samples, min_seq, r, distinct
    {1, 4, 2, 300, 300, 64, true, 0, 32, 16, 64, 7, false},     // recursion: 2 levels + leaves
    {1, 2, 1, 301, 301, 64, true, 1.0f, 32, 16, 64, 7, true},   // peaked: far from exact
    {2, 4, 1, 257, 301, 128, true, 0, 32, 16, 64, 7, false},    // Nq < Nk: a rect before the square
    {1, 2, 2, 350, 200, 64, true, 0, 32, 16, 64, 5, false},     // Nq > Nk: 150 rows see no key
    {1, 6, 2, 190, 333, 64, false, 0, 32, 16, 64, 7, false},    // non-causal, Nq != Nk, GQA
    {1, 2, 1, 190, 333, 128, false, 1.0f, 32, 16, 64, 7, true}, // peaked non-causal
    {1, 2, 1, 211, 129, 80, false, 0, 32, 16, 64, 16, false},   // D = 80, 16 projections
    {1, 2, 2, 150, 170, 40, true, 0, 16, 8, 40, 1, false},      // D = 40, one projection
    {1, 2, 1, 100, 140, 7, false, 0.3f, 32, 16, 64, 7, false},  // odd D: element-wise gathers
    {1, 3, 3, 130, 300, 256, true, 0, 32, 16, 64, 7, false},    // D = 256
    {1, 2, 1, 20, 300, 64, false, 0, 32, 16, 64, 7, false},     // one query block: all keys
    {1, 2, 2, 97, 200, 64, false, 0, 32, 300, 64, 7, false},    // samples >= keys: every key
    {1, 4, 2, 50, 60, 64, true, 0, 32, 16, 64, 7, false},       // Nk <= min_seq_len: exact
    {1, 2, 1, 3, 1000, 128, true, 0, 32, 16, 64, 7, false},     // decode-like: 3 rows
};

TEST(cuda_hyper_matches_cpu_backend) {
    int n = 0;
    for (const HyperCudaCase& c : kHyperCases)
        for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
            const LayoutSet& a = kAligned[size_t(n) % std::size(kAligned)];
            const LayoutSet& s = kStrided[size_t(n) % std::size(kStrided)];
            ++n;
            run_cuda_hyper(c, dtype, a, true, nullptr);
            end_case();
            run_cuda_hyper(c, dtype, s, n % 3 != 0, nullptr);
            end_case();
        }
}

TEST(cuda_hyper_on_a_stream_and_deterministic) {
    const std::string label = "cuda hyper enqueued on a user stream";
    if (skip_without_gpu(label)) return;
    void* stream = nullptr;
    begin_case(label + ": create");
    CHECK(ha_stream_create(0, &stream) == HA_OK && stream, "stream: %s", ha_last_error());
    end_case();
    if (!stream) return;
    run_cuda_hyper({1, 8, 2, 333, 400, 128, true, 0, 32, 16, 64, 7, false}, HA_DTYPE_BF16, kAligned[1], true, stream);
    end_case();
    begin_case(label + ": destroy");
    CHECK(ha_stream_destroy(0, stream) == HA_OK, "%s", ha_last_error());
    end_case();

    begin_case("cuda hyper: the same call twice gives the same bits");
    const HyperCudaCase c{2, 4, 2, 400, 420, 64, true, 0, 32, 16, 64, 7, false};
    Half q = make_half(HA_DTYPE_BF16, c.B, c.Hq, c.Nq, c.D, BHSD, true);
    Half k = make_half(HA_DTYPE_BF16, c.B, c.Hkv, c.Nk, c.D, BHSD, true);
    Half v = make_half(HA_DTYPE_BF16, c.B, c.Hkv, c.Nk, c.D, BHSD, true);
    Half o1 = make_half(HA_DTYPE_BF16, c.B, c.Hq, c.Nq, c.D, BHSD, false);
    o1.raw.poison();
    Half o2 = o1;
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(o1.raw);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok)) return;
    ha_tensor tq = dq.desc(q.raw, HA_DTYPE_BF16), tk = dk.desc(k.raw, HA_DTYPE_BF16),
              tv = dv.desc(v.raw, HA_DTYPE_BF16), to = dout.desc(o1.raw, HA_DTYPE_BF16);
    const ha_hyper_params p = hyper_params(c, nullptr);
    CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, &p) == HA_OK, "%s", ha_last_error());
    dout.download(o1.raw);
    CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, &p) == HA_OK, "%s", ha_last_error());
    dout.download(o2.raw);
    CHECK(o1.raw.storage == o2.raw.storage, "two runs differ");
}

TEST(cuda_hyper_nonfinite_input_is_exact_attention) {
    // A NaN in k makes the whole call exact attention (hyperattn.h): rows that see the key are
    // NaN, the others equal exact attention.
    const std::string label = "cuda hyper: a NaN key makes the call exact attention";
    if (skip_without_gpu(label)) return;
    begin_case(label);
    const int32_t dtype = HA_DTYPE_BF16;
    const HyperCudaCase c{1, 2, 1, 200, 200, 64, true, 0, 32, 16, 64, 7, false};
    Half q = make_half(dtype, c.B, c.Hq, c.Nq, c.D, BHSD, true);
    Half k = make_half(dtype, c.B, c.Hkv, c.Nk, c.D, BHSD, true);
    Half v = make_half(dtype, c.B, c.Hkv, c.Nk, c.D, BHSD, true);
    Half out = make_half(dtype, c.B, c.Hq, c.Nq, c.D, BHSD, false);
    const int64_t bad = 150;
    const uint16_t nan_bits = 0x7fc0;
    std::memcpy(k.raw.storage.data() + k.raw.offset + k.raw.index(0, 0, bad, 3) * 2, &nan_bits, 2);
    out.raw.poison();
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(out.raw);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok)) return;
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype);
    const ha_hyper_params p = hyper_params(c, nullptr);
    CHECK(ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, &p) == HA_OK, "%s", ha_last_error());
    if (!dout.download(out.raw)) return;
    decode(out);
    const RefResult ex = cpu_reference(q.val, k.val, v.val, true, float(1.0 / 8.0));
    const double tol = tol_out(dtype, max_abs(v.val));
    int64_t wrong = 0;
    for (int64_t h = 0; h < c.Hq; ++h)
        for (int64_t i = 0; i < c.Nq; ++i)
            for (int64_t d = 0; d < c.D; ++d) {
                const double got = out.val.get(0, h, i, d);
                if (i >= bad) wrong += !std::isnan(got);
                else wrong += !(std::abs(got - ex.o(0, h, i, d)) <= tol);
            }
    CHECK(wrong == 0, "%lld elements differ from exact attention with the NaN rule", (long long)wrong);
}

// ---- merge ------------------------------------------------------------------------------
ha_tensor key_slice(ha_tensor t, int64_t lo, int64_t hi) {
    t.data = static_cast<char*>(t.data) + lo * t.strides[2] * 2;
    t.shape[2] = hi - lo;
    return t;
}

void cuda_merge_case(int32_t dtype, int64_t B, int64_t Hq, int64_t Hkv, int64_t Nq, int64_t Nk,
                     int64_t D, int64_t split, bool in_place, int layout) {
    const std::string label = format("cuda merge %s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld split=%lld%s %s",
                                     dname(dtype), (long long)B, (long long)Hq, (long long)Hkv, (long long)Nq,
                                     (long long)Nk, (long long)D, (long long)split, in_place ? " in-place" : "",
                                     layout_name(layout));
    if (skip_without_gpu(label)) return;
    begin_case(label);
    Half q = make_half(dtype, B, Hq, Nq, D, BHSD, true);
    Half k = make_half(dtype, B, Hkv, Nk, D, BHSD, true);
    Half v = make_half(dtype, B, Hkv, Nk, D, BHSD, true);
    Half oa = make_half(dtype, B, Hq, Nq, D, layout, false);
    Half ob = make_half(dtype, B, Hq, Nq, D, (layout + 1) % NUM_LAYOUTS, false);
    Half out = make_half(dtype, B, Hq, Nq, D, (layout + 2) % NUM_LAYOUTS, false);
    HostTensor la = make_lse(B, Hq, Nq, true), lb = make_lse(B, Hq, Nq, false), lse = make_lse(B, Hq, Nq, true);
    for (HostTensor* t : {&oa.raw, &ob.raw, &out.raw, &la, &lb, &lse}) t->poison();
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), doa(oa.raw), dob(ob.raw), dout(out.raw), dla(la), dlb(lb), dl(lse);
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype);
    ha_tensor toa = doa.desc(oa.raw, dtype), tob = dob.desc(ob.raw, dtype), to = dout.desc(out.raw, dtype);
    ha_tensor tla = dla.desc(la, HA_DTYPE_F32), tlb = dlb.desc(lb, HA_DTYPE_F32), tl = dl.desc(lse, HA_DTYPE_F32);
    ha_tensor ka = key_slice(tk, 0, split), va = key_slice(tv, 0, split);
    ha_tensor kb = key_slice(tk, split, Nk), vb = key_slice(tv, split, Nk);
    CHECK(ha_attention_exact(&tq, &ka, &va, &toa, &tla, nullptr) == HA_OK, "A: %s", ha_last_error());
    CHECK(ha_attention_exact(&tq, &kb, &vb, &tob, &tlb, nullptr) == HA_OK, "B: %s", ha_last_error());
    const int32_t st = in_place ? ha_merge(&toa, &tla, &tob, &tlb, &toa, &tla, nullptr)
                                : ha_merge(&toa, &tla, &tob, &tlb, &to, &tl, nullptr);
    CHECK(st == HA_OK, "merge status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    Half& res = in_place ? oa : out;
    HostTensor& res_lse = in_place ? la : lse;
    (in_place ? doa : dout).download(res.raw);
    (in_place ? dla : dl).download(res_lse);
    CHECK(gaps_untouched(res.raw), "bytes outside the output view were written");
    decode(res);
    RefResult ref = cpu_reference(q.val, k.val, v.val, false, float(1.0 / std::sqrt(double(D))));
    // Two rounded partials plus the merge's own rounding.
    compare_output(res.val, ref, 2 * tol_out(dtype, max_abs(v.val)), &res_lse, 2 * kLseTol);
}

TEST(cuda_merge_of_halves_equals_whole) {
    int n = 0;
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        cuda_merge_case(dtype, 1, 4, 2, 19, 57, 64, 20, false, n++ % NUM_LAYOUTS);
        end_case();
        cuda_merge_case(dtype, 2, 3, 1, 1, 1000, 128, 999, false, n++ % NUM_LAYOUTS);
        end_case();
        cuda_merge_case(dtype, 1, 2, 2, 40, 81, 33, 1, true, n++ % NUM_LAYOUTS);
        end_case();
        cuda_merge_case(dtype, 1, 8, 8, 130, 130, 128, 65, true, n++ % NUM_LAYOUTS);
        end_case();
    }
}

TEST(cuda_merge_with_empty_partials) {
    const std::string label = "cuda merge: rows with lse -inf on one or both sides, NaN on the empty side";
    if (skip_without_gpu(label)) return;
    begin_case(label);
    const int64_t N = 6, D = 20;
    const int32_t dt = HA_DTYPE_BF16;
    Half oa = make_half(dt, 1, 1, N, D, BHSD, true), ob = make_half(dt, 1, 1, N, D, BHSD, true);
    Half out = make_half(dt, 1, 1, N, D, BSHD, false);
    HostTensor la = make_lse(1, 1, N, false), lb = make_lse(1, 1, N, false), lse = make_lse(1, 1, N, false);
    const float ninf = -std::numeric_limits<float>::infinity();
    const float lav[N] = {0.5f, ninf, 2.0f, ninf, 100.0f, -3.0f};
    const float lbv[N] = {1.5f, 0.7f, ninf, ninf, -100.0f, -3.0f};
    for (int64_t s = 0; s < N; ++s) {
        la.set(0, 0, s, 0, lav[s]);
        lb.set(0, 0, s, 0, lbv[s]);
    }
    // The empty side's row holds NaN: a zero weight must drop it, not multiply it.
    const uint16_t nan_bits = 0x7fc0;
    for (int64_t d = 0; d < D; ++d) {
        std::memcpy(oa.raw.storage.data() + oa.raw.offset + oa.raw.index(0, 0, 1, d) * 2, &nan_bits, 2);
        std::memcpy(ob.raw.storage.data() + ob.raw.offset + ob.raw.index(0, 0, 2, d) * 2, &nan_bits, 2);
    }
    out.raw.poison();
    lse.poison();
    Mirror da(oa.raw), db(ob.raw), dout(out.raw), dla(la), dlb(lb), dl(lse);
    ha_tensor ta = da.desc(oa.raw, dt), tb = db.desc(ob.raw, dt), to = dout.desc(out.raw, dt);
    ha_tensor tla = dla.desc(la, HA_DTYPE_F32), tlb = dlb.desc(lb, HA_DTYPE_F32), tl = dl.desc(lse, HA_DTYPE_F32);
    CHECK(ha_merge(&ta, &tla, &tb, &tlb, &to, &tl, nullptr) == HA_OK, "%s", ha_last_error());
    dout.download(out.raw);
    dl.download(lse);
    decode(out);
    for (int64_t s = 0; s < N; ++s) {
        const double a = lav[s], b = lbv[s], m = std::max(a, b);
        const double want_lse = std::isinf(m) ? m : m + std::log(std::exp(a - m) + std::exp(b - m));
        const double got_lse = lse.get(0, 0, s, 0);
        CHECK(std::isinf(want_lse) ? (std::isinf(got_lse) && got_lse < 0) : std::fabs(got_lse - want_lse) < 1e-5,
              "row %lld lse %g want %g", (long long)s, got_lse, want_lse);
        const double wa = std::isinf(a) ? 0.0 : std::exp(a - want_lse), wb = std::isinf(b) ? 0.0 : std::exp(b - want_lse);
        for (int64_t d = 0; d < D; ++d) {
            double want = 0;
            if (wa != 0) want += wa * oa.val.get(0, 0, s, d);
            if (wb != 0) want += wb * ob.val.get(0, 0, s, d);
            const double got = out.val.get(0, 0, s, d);
            CHECK(std::fabs(got - want) <= std::ldexp(1.0, -7) * std::max(1.0, std::fabs(want)),
                  "row %lld d %lld: %g want %g", (long long)s, (long long)d, got, want);
        }
    }
}

// ---- sliding window and soft cap -------------------------------------------------------
struct CudaMask {
    bool causal;
    int32_t wl, wr;  // window_left / window_right, -1 unbounded
    float cap;       // soft cap, 0 off
};

std::string mask_name(const CudaMask& m) {
    return format("%s window=(%d,%d) softcap=%g", m.causal ? "causal" : "full", m.wl, m.wr, double(m.cap));
}

ha_exact_params mask_params(const CudaMask& m, float scale, void* stream = nullptr) {
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = m.causal ? 1 : 0;
    p.window_left = m.wl;
    p.window_right = m.wr;
    p.softcap = m.cap;
    p.scale = scale;
    p.stream = stream;
    return p;
}

double scale_of(float scale, int64_t D) { return scale != 0 ? scale : 1.0 / std::sqrt(double(D)); }

// One dense problem with a window and/or soft cap against the float64 reference.
void run_cuda_masked(const CudaProblem& p, const CudaMask& m, int32_t dtype, const LayoutSet& ls) {
    const std::string label = format("cuda %s B=%lld Hq=%lld Hkv=%lld Nq=%lld Nk=%lld D=%lld %s [%s]", dname(dtype),
                                     (long long)p.B, (long long)p.Hq, (long long)p.Hkv, (long long)p.Nq,
                                     (long long)p.Nk, (long long)p.D, mask_name(m).c_str(), ls.name);
    if (skip_without_gpu(label)) return;
    begin_case(label);
    Half q = make_half(dtype, p.B, p.Hq, p.Nq, p.D, ls.l[0], true);
    Half k = make_half(dtype, p.B, p.Hkv, p.Nk, p.D, ls.l[1], true);
    Half v = make_half(dtype, p.B, p.Hkv, p.Nk, p.D, ls.l[2], true);
    Half out = make_half(dtype, p.B, p.Hq, p.Nq, p.D, ls.l[3], false);
    HostTensor lse = make_lse(p.B, p.Hq, p.Nq, true);
    out.raw.poison();
    lse.poison();
    Mirror dq(q.raw, ls.shift), dk(k.raw, ls.shift), dv(v.raw, ls.shift), dout(out.raw, ls.shift), dl(lse);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok && dl.ok)) return;
    const ha_exact_params params = mask_params(m, p.scale);
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype), tl = dl.desc(lse, HA_DTYPE_F32);
    const int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &params);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK || !dout.download(out.raw) || !dl.download(lse)) return;
    CHECK(gaps_untouched(out.raw), "bytes outside the output view were written");
    decode(out);
    const RefResult ref = reference_masked(q.val, k.val, v.val, scale_of(p.scale, p.D), m.causal, m.wl, m.wr, m.cap);
    compare_output(out.val, ref, tol_out(dtype, max_abs(v.val)), &lse, kLseTol);
}

const struct {
    CudaProblem p;  // (its causal field is ignored: the mask's applies)
    CudaMask m;
} kMaskCases[] = {
    {{1, 2, 1, 17, 33, 64, false, 0}, {false, 3, 2, 0}},
    {{1, 2, 1, 17, 33, 64, false, 0}, {true, 5, -1, 0}},
    {{2, 4, 2, 70, 130, 128, false, 0}, {true, 31, -1, 0}},     // windows cross tile edges
    {{1, 4, 4, 100, 300, 64, false, 0}, {false, -1, 10, 0}},
    {{1, 4, 4, 300, 300, 64, false, 0}, {false, 64, 64, 0}},    // blocks skip key tiles on both sides
    {{1, 2, 1, 600, 700, 128, false, 0}, {true, 129, -1, 0}},
    {{1, 8, 2, 1, 4099, 64, false, 0}, {true, 1000, -1, 0}},    // decode: splits over the window
    {{1, 32, 8, 1, 700, 128, false, 0}, {true, 100, -1, 30.f}}, // decode, window + cap
    {{1, 4, 1, 2, 40000, 64, false, 0}, {true, 4095, -1, 0}},   // a Mistral-like window, long cache
    {{1, 2, 1, 5, 3001, 128, false, 0}, {false, 2000, 100, 0}}, // decode, non-causal, both sides
    {{1, 8, 2, 3, 300, 128, false, 0}, {true, 0, 5, 0}},        // causal caps the right side
    {{1, 2, 2, 65, 65, 16, false, 1.0f}, {false, -1, -1, 5.f}}, // peaked scores, capped
    {{1, 2, 1, 40, 150, 80, false, 0}, {true, -1, -1, 50.f}},   // wide tiles, Gemma-2-like cap
    {{1, 2, 1, 9, 4, 80, false, 0}, {true, 1, -1, 0}},          // Nq > Nk and a window
    {{1, 2, 1, 20, 20, 32, false, 0}, {false, 0, 0, 0}},        // only the row's own key
    {{1, 2, 1, 33, 47, 7, false, 0.3f}, {false, 10, 3, 2.f}},   // odd D (element-wise path)
};

TEST(cuda_window_and_softcap_match_reference) {
    int n = 0;
    for (const auto& c : kMaskCases)
        for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
            ++n;
            run_cuda_masked(c.p, c.m, dtype, kAligned[size_t(n) % std::size(kAligned)]);
            end_case();
            if (n % 2 == 0) {
                run_cuda_masked(c.p, c.m, dtype, kStrided[size_t(n / 2) % std::size(kStrided)]);
                end_case();
            }
        }
}

// With a soft cap an infinite score is capped like any other (tanh's limits): the row stays
// finite and equals the reference.
TEST(cuda_softcap_bounds_infinite_scores) {
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16})
        for (int64_t nq : {int64_t(1), int64_t(40)}) {  // the decode kernel, then the forward
            const std::string label = format("cuda %s softcap with an infinite q element, Nq=%lld", dname(dtype), (long long)nq);
            if (skip_without_gpu(label)) return;
            begin_case(label);
            Half q = make_half(dtype, 1, 2, nq, 64, BHSD, true), k = make_half(dtype, 1, 1, 300, 64, BHSD, true);
            Half v = make_half(dtype, 1, 1, 300, 64, BHSD, true), out = make_half(dtype, 1, 2, nq, 64, BSHD, false);
            const uint16_t one = to_bits(dtype, 0.5f), inf = to_bits(dtype, INFINITY);
            for (int64_t j = 0; j < 300; ++j)  // no 0 * inf: every k[j][0] is nonzero
                if (k.val.get(0, 0, j, 0) == 0.f) {
                    std::memcpy(k.raw.storage.data() + k.raw.offset + k.raw.index(0, 0, j, 0) * 2, &one, 2);
                    k.val.set(0, 0, j, 0, 0.5f);
                }
            std::memcpy(q.raw.storage.data() + q.raw.offset + q.raw.index(0, 1, nq - 1, 0) * 2, &inf, 2);
            q.val.set(0, 1, nq - 1, 0, INFINITY);
            out.raw.poison();
            Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(out.raw);
            if (!(dq.ok && dk.ok && dv.ok && dout.ok)) return;
            const ha_exact_params prm = mask_params({false, -1, -1, 20.f}, 0);
            ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
                      to = dout.desc(out.raw, dtype);
            CHECK(ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &prm) == HA_OK, "%s", ha_last_error());
            if (!dout.download(out.raw)) return;
            decode(out);
            const RefResult ref = reference_masked(q.val, k.val, v.val, scale_of(0, 64), false, -1, -1, 20.0);
            compare_output(out.val, ref, tol_out(dtype, max_abs(v.val)));
            end_case();
        }
}

// ---- batches of sequences (ha_attention_exact_seqs) ------------------------------------
// Device copy of an int32 array (the ha_seqs arrays live in device memory with CUDA tensors).
struct DevInts {
    void* p = nullptr;
    explicit DevInts(const std::vector<int32_t>& h) {
        const int64_t bytes = int64_t(std::max<size_t>(1, h.size()) * 4);
        CHECK(ha_device_alloc(HA_DEVICE_CUDA, 0, bytes, &p) == HA_OK, "alloc: %s", ha_last_error());
        if (p && !h.empty())
            CHECK(ha_memcpy(p, HA_DEVICE_CUDA, 0, h.data(), HA_DEVICE_CPU, 0, int64_t(h.size() * 4), nullptr) == HA_OK,
                  "upload: %s", ha_last_error());
    }
    ~DevInts() {
        if (p) ha_device_free(HA_DEVICE_CUDA, 0, p);
    }
    DevInts(const DevInts&) = delete;
    DevInts& operator=(const DevInts&) = delete;
    const int32_t* get() const { return static_cast<const int32_t*>(p); }
};

// Rows [r0, r0 + n) along dim 2 (packed) or batch entry r0 (dim 0) of a device view.
ha_tensor sub_view(ha_tensor t, int dim, int64_t r0, int64_t n) {
    const int64_t es = t.dtype == HA_DTYPE_F32 ? 4 : 2;
    t.data = static_cast<char*>(t.data) + r0 * t.strides[dim] * es;
    t.shape[0] = 1;
    t.shape[2] = n;
    return t;
}

// Values of rows [r0, r0 + n) (dim 2) or batch r0 (dim 0) of a [b,h,s,d] value tensor.
HostTensor slice_val(const HostTensor& t, int dim, int64_t r0, int64_t n) {
    HostTensor c = make_tensor(HA_DTYPE_F32, 1, t.shape[1], n, t.shape[3], BHSD);
    for (int64_t h = 0; h < t.shape[1]; ++h)
        for (int64_t s = 0; s < n; ++s)
            for (int64_t d = 0; d < t.shape[3]; ++d)
                c.set(0, h, s, d, dim == 2 ? t.get(0, h, r0 + s, d) : t.get(r0, h, s, d));
    return c;
}

// One sequence through ha_attention_exact on device (the ground truth of the batch's bits):
// q, k and v are device views of that sequence alone; out and lse are fresh dense tensors.
struct AloneResult {
    Half out;
    HostTensor lse;
    bool ok = false;
};
AloneResult cuda_alone(int32_t dtype, const ha_tensor& tq, const ha_tensor& tk, const ha_tensor& tv,
                       const ha_exact_params& prm) {
    AloneResult r{make_half(dtype, 1, tq.shape[1], tq.shape[2], tq.shape[3], BHSD, false),
                  make_lse(1, tq.shape[1], tq.shape[2], false)};
    r.out.raw.poison();
    r.lse.poison();
    Mirror dout(r.out.raw), dl(r.lse);
    if (!(dout.ok && dl.ok)) return r;
    ha_tensor to = dout.desc(r.out.raw, dtype), tl = dl.desc(r.lse, HA_DTYPE_F32);
    const int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &prm);
    CHECK(st == HA_OK, "alone: status %d: %s", st, ha_last_error());
    r.ok = st == HA_OK && dout.download(r.out.raw) && dl.download(r.lse);
    return r;
}

// Mismatching bits between rows [r0, ..) (dim 2) or batch r0 (dim 0) of the batch's out/lse and
// the sequence's own call.
int64_t count_bit_mismatch(const Half& out, const HostTensor& lse, int dim, int64_t r0, const AloneResult& a) {
    int64_t bad = 0;
    const HostTensor& w = a.out.raw;
    for (int64_t h = 0; h < w.shape[1]; ++h)
        for (int64_t s = 0; s < w.shape[2]; ++s) {
            for (int64_t d = 0; d < w.shape[3]; ++d) {
                const uint16_t g = dim == 2 ? bits_at(out.raw, 0, h, r0 + s, d) : bits_at(out.raw, r0, h, s, d);
                if (g != bits_at(w, 0, h, s, d)) ++bad;
            }
            const float gl = dim == 2 ? lse.get(0, h, r0 + s, 0) : lse.get(r0, h, s, 0);
            const float wl = a.lse.get(0, h, s, 0);
            if (std::memcmp(&gl, &wl, 4) != 0) ++bad;
        }
    return bad;
}

// Max |out - reference| over one sequence's rows (NaN counts as infinite), and its lse.
void check_seq_reference(const Half& out, const HostTensor& lse, int dim, int64_t r0, const RefResult& ref,
                         double tol, int64_t b) {
    double worst = 0, lworst = 0;
    for (int64_t h = 0; h < ref.H; ++h)
        for (int64_t s = 0; s < ref.N; ++s) {
            for (int64_t d = 0; d < ref.D; ++d) {
                const double g = dim == 2 ? out.val.get(0, h, r0 + s, d) : out.val.get(r0, h, s, d);
                const double e = std::fabs(g - ref.o(0, h, s, d));
                worst = std::isnan(e) ? INFINITY : std::max(worst, e);
            }
            const double gl = dim == 2 ? lse.get(0, h, r0 + s, 0) : lse.get(r0, h, s, 0), wl = ref.l(0, h, s);
            const double le = std::isinf(wl) ? (std::isinf(gl) && gl < 0 ? 0.0 : INFINITY) : std::fabs(gl - wl);
            lworst = std::isnan(le) ? INFINITY : std::max(lworst, le);
        }
    CHECK(worst <= tol, "sequence %lld: max error %.3g > %.3g", (long long)b, worst, tol);
    CHECK(lworst <= kLseTol, "sequence %lld: max lse error %.3g > %.3g", (long long)b, lworst, kLseTol);
}

// Packed queries and keys ([1, H, total, D] views of [total, H, D] buffers), optionally fewer
// visible keys per sequence (seqlens_k), on a user stream or not.
void cuda_varlen_case(int32_t dtype, int64_t Hq, int64_t Hkv, int64_t D, const std::vector<int32_t>& nq,
                      const std::vector<int32_t>& nk, const CudaMask& m, bool with_lens, bool on_stream) {
    const int64_t B = int64_t(nq.size());
    const std::string label = format("cuda varlen %s B=%lld Hq=%lld Hkv=%lld D=%lld %s%s%s", dname(dtype), (long long)B,
                                     (long long)Hq, (long long)Hkv, (long long)D, mask_name(m).c_str(),
                                     with_lens ? " seqlens_k" : "", on_stream ? " on a stream" : "");
    if (skip_without_gpu(label)) return;
    begin_case(label);
    std::vector<int32_t> cu_q(size_t(B + 1), 0), cu_k(size_t(B + 1), 0), lens(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
        cu_q[size_t(b + 1)] = cu_q[size_t(b)] + nq[size_t(b)];
        cu_k[size_t(b + 1)] = cu_k[size_t(b)] + nk[size_t(b)];
        lens[size_t(b)] = with_lens ? nk[size_t(b)] - nk[size_t(b)] / 3 : nk[size_t(b)];
    }
    const int64_t tq_rows = cu_q.back() + 3, tk_rows = cu_k.back() + 2;  // rows of no sequence
    auto packed = [&](int64_t H, int64_t total, bool fill) {
        const int64_t shape[4] = {1, H, total, D}, strides[4] = {total * H * D, D, H * D, 1};
        return make_half_strided(dtype, shape, strides, fill);
    };
    Half q = packed(Hq, tq_rows, true), k = packed(Hkv, tk_rows, true), v = packed(Hkv, tk_rows, true);
    Half out = packed(Hq, tq_rows, false);
    HostTensor lse = make_lse(1, Hq, tq_rows, false);
    out.raw.poison();
    lse.poison();
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(out.raw), dl(lse);
    DevInts dcq(cu_q), dck(cu_k), dlens(lens);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok && dl.ok)) return;
    void* stream = nullptr;
    if (on_stream) CHECK(ha_stream_create(0, &stream) == HA_OK, "stream: %s", ha_last_error());
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.cu_seqlens_q = dcq.get();
    seqs.cu_seqlens_k = dck.get();
    seqs.seqlens_k = with_lens ? dlens.get() : nullptr;
    const ha_exact_params prm = mask_params(m, 0, stream);
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype), tl = dl.desc(lse, HA_DTYPE_F32);
    const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, &tl, &seqs, &prm);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (stream) {
        CHECK(ha_stream_synchronize(0, stream) == HA_OK, "sync: %s", ha_last_error());
        CHECK(ha_stream_destroy(0, stream) == HA_OK, "destroy: %s", ha_last_error());
    }
    if (st != HA_OK || !dout.download(out.raw) || !dl.download(lse)) return;
    CHECK(gaps_untouched(out.raw), "bytes outside the output view were written");
    decode(out);
    const ha_exact_params alone_prm = mask_params(m, 0);
    const double tol = tol_out(dtype, max_abs(v.val));
    for (int64_t b = 0; b < B; ++b) {
        const int64_t q0 = cu_q[size_t(b)], k0 = cu_k[size_t(b)], n_q = nq[size_t(b)], n_k = lens[size_t(b)];
        if (n_q == 0) continue;
        const AloneResult a = cuda_alone(dtype, sub_view(tq, 2, q0, n_q), sub_view(tk, 2, k0, n_k),
                                         sub_view(tv, 2, k0, n_k), alone_prm);
        if (!a.ok) continue;
        const int64_t bad = count_bit_mismatch(out, lse, 2, q0, a);
        CHECK(bad == 0, "sequence %lld (n_q %lld, n_k %lld): %lld values differ from the call on it alone",
              (long long)b, (long long)n_q, (long long)n_k, (long long)bad);
        const RefResult ref = reference_masked(slice_val(q.val, 2, q0, n_q), slice_val(k.val, 2, k0, n_k),
                                               slice_val(v.val, 2, k0, n_k), scale_of(0, D), m.causal, m.wl, m.wr, m.cap);
        check_seq_reference(out, lse, 2, q0, ref, tol, b);
    }
    int64_t written = 0;  // rows of no sequence keep their poison
    for (int64_t h = 0; h < Hq; ++h)
        for (int64_t r = cu_q.back(); r < tq_rows; ++r)
            written += bits_at(out.raw, 0, h, r, 0) != 0x7fc0 || !std::isnan(lse.get(0, h, r, 0));
    CHECK(written == 0, "%lld rows of no sequence were written", (long long)written);
}

// A paged cache ([num_pages, page_size, Hkv, D] buffer, shuffled pages, unused table entries
// invalid) against one call per sequence on a contiguous copy of its pages.
void cuda_paged_case(int32_t dtype, int64_t Hq, int64_t Hkv, int64_t D, int64_t ps, const std::vector<int32_t>& lens,
                     int64_t nq, const CudaMask& m) {
    const int64_t B = int64_t(lens.size());
    const std::string label = format("cuda paged %s B=%lld Hq=%lld Hkv=%lld D=%lld page=%lld nq=%lld %s", dname(dtype),
                                     (long long)B, (long long)Hq, (long long)Hkv, (long long)D, (long long)ps,
                                     (long long)nq, mask_name(m).c_str());
    if (skip_without_gpu(label)) return;
    begin_case(label);
    int64_t max_pages = 1, used = 0;
    for (int32_t n : lens) {
        max_pages = std::max<int64_t>(max_pages, (n + ps - 1) / ps);
        used += (n + ps - 1) / ps;
    }
    const int64_t num_pages = used + 3, table_stride = max_pages + 1;
    std::vector<int32_t> perm(static_cast<size_t>(num_pages));
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int32_t(i);
    std::shuffle(perm.begin(), perm.end(), rng());
    std::vector<int32_t> table(size_t(B * table_stride), -7);  // never read where unused
    int64_t next = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < (lens[size_t(b)] + ps - 1) / ps; ++j) table[size_t(b * table_stride + j)] = perm[size_t(next++)];
    const int64_t shape[4] = {num_pages, Hkv, ps, D}, strides[4] = {ps * Hkv * D, D, Hkv * D, 1};
    Half k = make_half_strided(dtype, shape, strides, true), v = make_half_strided(dtype, shape, strides, true);
    Half q = make_half(dtype, B, Hq, nq, D, BSHD, true), out = make_half(dtype, B, Hq, nq, D, BSHD, false);
    HostTensor lse = make_lse(B, Hq, nq, true);
    out.raw.poison();
    lse.poison();
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(out.raw), dl(lse);
    DevInts dtable(table), dlens(lens);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok && dl.ok)) return;
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.page_size = int32_t(ps);
    seqs.seqlens_k = dlens.get();
    seqs.block_table = dtable.get();
    seqs.block_table_stride = table_stride;
    seqs.max_pages = int32_t(max_pages);
    const ha_exact_params prm = mask_params(m, 0);
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype), tl = dl.desc(lse, HA_DTYPE_F32);
    const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, &tl, &seqs, &prm);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK || !dout.download(out.raw) || !dl.download(lse)) return;
    CHECK(gaps_untouched(out.raw), "bytes outside the output view were written");
    decode(out);
    const double tol = tol_out(dtype, max_abs(v.val));
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lens[size_t(b)];
        // The sequence's cache copied out of its pages into one contiguous [1, n, Hkv, D].
        Half kc = make_half(dtype, 1, Hkv, n, D, BSHD, false), vc = make_half(dtype, 1, Hkv, n, D, BSHD, false);
        for (int64_t j = 0; j < n; ++j) {
            const int64_t pg = table[size_t(b * table_stride + j / ps)], in = j % ps;
            for (int64_t h = 0; h < Hkv; ++h)
                for (int64_t d = 0; d < D; ++d)
                    for (auto [dst, src] : {std::pair<Half*, Half*>{&kc, &k}, {&vc, &v}}) {
                        const uint16_t x = bits_at(src->raw, pg, h, in, d);
                        std::memcpy(dst->raw.storage.data() + dst->raw.offset + dst->raw.index(0, h, j, d) * 2, &x, 2);
                        dst->val.set(0, h, j, d, src->val.get(pg, h, in, d));
                    }
        }
        Mirror dkc(kc.raw), dvc(vc.raw);
        if (!(dkc.ok && dvc.ok)) return;
        const AloneResult a = cuda_alone(dtype, sub_view(tq, 0, b, nq), dkc.desc(kc.raw, dtype), dvc.desc(vc.raw, dtype), prm);
        if (!a.ok) continue;
        const int64_t bad = count_bit_mismatch(out, lse, 0, b, a);
        CHECK(bad == 0, "sequence %lld (n_k %lld): %lld values differ from a contiguous copy", (long long)b,
              (long long)n, (long long)bad);
        const RefResult ref = reference_masked(slice_val(q.val, 0, b, nq), kc.val, vc.val, scale_of(0, D), m.causal,
                                               m.wl, m.wr, m.cap);
        check_seq_reference(out, lse, 0, b, ref, tol, b);
    }
}

// A dense cache [B, Hkv, cap, D] of which sequence b sees its first lens[b] keys.
void cuda_padded_case(int32_t dtype, int64_t Hq, int64_t Hkv, int64_t D, int64_t cap_keys, const std::vector<int32_t>& lens,
                      int64_t nq, const CudaMask& m) {
    const int64_t B = int64_t(lens.size());
    const std::string label = format("cuda padded cache %s B=%lld Hq=%lld Hkv=%lld D=%lld n_k<=%lld nq=%lld %s", dname(dtype),
                                     (long long)B, (long long)Hq, (long long)Hkv, (long long)D, (long long)cap_keys,
                                     (long long)nq, mask_name(m).c_str());
    if (skip_without_gpu(label)) return;
    begin_case(label);
    Half q = make_half(dtype, B, Hq, nq, D, BHSD, true), out = make_half(dtype, B, Hq, nq, D, BSHD, false);
    Half k = make_half(dtype, B, Hkv, cap_keys, D, BSHD, true), v = make_half(dtype, B, Hkv, cap_keys, D, BSHD, true);
    HostTensor lse = make_lse(B, Hq, nq, false);
    out.raw.poison();
    lse.poison();
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(out.raw), dl(lse);
    DevInts dlens(lens);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok && dl.ok)) return;
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.seqlens_k = dlens.get();
    const ha_exact_params prm = mask_params(m, 0);
    ha_tensor tq = dq.desc(q.raw, dtype), tk = dk.desc(k.raw, dtype), tv = dv.desc(v.raw, dtype),
              to = dout.desc(out.raw, dtype), tl = dl.desc(lse, HA_DTYPE_F32);
    const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, &tl, &seqs, &prm);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK || !dout.download(out.raw) || !dl.download(lse)) return;
    decode(out);
    const double tol = tol_out(dtype, max_abs(v.val));
    for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lens[size_t(b)];
        const AloneResult a = cuda_alone(dtype, sub_view(tq, 0, b, nq), sub_view(tk, 0, b, n), sub_view(tv, 0, b, n), prm);
        if (!a.ok) continue;
        const int64_t bad = count_bit_mismatch(out, lse, 0, b, a);
        CHECK(bad == 0, "sequence %lld (n_k %lld): %lld values differ from the call on it alone", (long long)b,
              (long long)n, (long long)bad);
        const RefResult ref = reference_masked(slice_val(q.val, 0, b, nq), slice_val(k.val, 0, b, n),
                                               slice_val(v.val, 0, b, n), scale_of(0, D), m.causal, m.wl, m.wr, m.cap);
        check_seq_reference(out, lse, 0, b, ref, tol, b);
    }
}

std::vector<int32_t> random_lengths(int64_t n, int32_t lo, int32_t hi) {
    std::uniform_int_distribution<int32_t> u(lo, hi);
    std::vector<int32_t> r(static_cast<size_t>(n));
    for (auto& x : r) x = u(rng());
    return r;
}

TEST(cuda_varlen_equals_one_call_per_sequence) {
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        // Prefill: equal and unequal lengths, an empty sequence, Nq > Nk (forward kernel).
        cuda_varlen_case(dtype, 4, 2, 64, {17, 0, 130, 5, 70}, {17, 9, 130, 3, 200}, {true, -1, -1, 0}, false, false);
        end_case();
        // Mixed: long prefill rows (forward) and single rows (split-KV decode) in one call,
        // with a window and a soft cap.
        cuda_varlen_case(dtype, 8, 2, 128, {100, 1, 7, 2}, {300, 2100, 7, 5000}, {true, 50, -1, 10.f}, false, false);
        end_case();
        // Decoding: one row per sequence, caches of different lengths (one empty), seqlens_k,
        // enqueued on a stream.
        cuda_varlen_case(dtype, 8, 2, 64, {1, 1, 1, 1, 1, 1}, {3, 900, 1, 4100, 65, 0}, {true, -1, -1, 0}, true, true);
        end_case();
        // Wide and strided tiles: D = 40 (aligned, 256-wide tiles), D = 7 (element-wise).
        cuda_varlen_case(dtype, 2, 1, 40, {33, 1, 64}, {33, 500, 64}, {false, 20, 20, 0}, false, false);
        end_case();
        cuda_varlen_case(dtype, 2, 2, 7, {9, 2}, {30, 70}, {true, -1, -1, 3.f}, false, false);
        end_case();
    }
}

TEST(cuda_paged_equals_contiguous_cache) {
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16})
        for (int64_t ps : {1, 5, 16, 64}) {
            // Decoding several sequences (GQA 4 per kv head), a few rows with a window, and a
            // prefill chunk (forward kernel) over the cache.
            cuda_paged_case(dtype, 8, 2, 128, ps, random_lengths(5, 1, 700), 1, {true, -1, -1, 0});
            end_case();
            cuda_paged_case(dtype, 4, 4, 64, ps, random_lengths(3, 1, 300), 3, {true, 40, -1, 0});
            end_case();
            if (dtype == HA_DTYPE_BF16) {
                cuda_paged_case(dtype, 2, 1, 64, ps, {150, 400}, 130, {true, -1, -1, 0});
                end_case();
            }
        }
    // A long decode: split-KV chunks across pages, a soft cap; and an empty sequence.
    cuda_paged_case(HA_DTYPE_BF16, 32, 8, 128, 16, {4099, 2500, 0}, 1, {true, -1, -1, 50.f});
    end_case();
}

TEST(cuda_padded_cache_decodes_each_length) {
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        cuda_padded_case(dtype, 8, 2, 64, 3000, {3000, 1, 0, 1333, 64}, 1, {true, -1, -1, 0});
        end_case();
        cuda_padded_case(dtype, 4, 2, 128, 2000, {70, 2000, 900}, 9, {true, 200, -1, 0});
        end_case();
    }
}

// Every malformed batch is an error naming the argument, and nothing is written; the arrays
// must be device memory.
TEST(cuda_seqs_validation_names_the_argument) {
    if (skip_without_gpu("cuda seqs validation (offsets, pages, lengths, host arrays)")) return;
    const int32_t dt = HA_DTYPE_BF16;
    const int64_t D = 64, ps = 4;
    Half q = make_half(dt, 2, 2, 3, D, BHSD, true), out = make_half(dt, 2, 2, 3, D, BHSD, false);
    const int64_t pshape[4] = {5, 1, ps, D}, pstrides[4] = {ps * D, D, D, 1};
    Half k = make_half_strided(dt, pshape, pstrides, true), v = make_half_strided(dt, pshape, pstrides, true);
    out.raw.poison();
    Mirror dq(q.raw), dk(k.raw), dv(v.raw), dout(out.raw);
    if (!(dq.ok && dk.ok && dv.ok && dout.ok)) return;
    const std::vector<int32_t> good_table = {0, 1, 2, 3, 4, 0}, good_lens = {8, 11};
    // The status and message of one call, the message copied before the DevInts destructors
    // call the library again (ha_last_error lasts until the thread's next call).
    struct Attempt {
        int32_t st;
        std::string msg;
        bool written;
    };
    auto attempt = [&](const std::vector<int32_t>& table, const std::vector<int32_t>& lens, bool host_table) {
        DevInts dt_(table), dl_(lens);
        ha_seqs s;
        ha_seqs_init(&s);
        s.count = 2;
        s.page_size = int32_t(ps);
        s.seqlens_k = dl_.get();
        s.block_table = host_table ? table.data() : dt_.get();
        s.block_table_stride = 3;
        s.max_pages = 3;
        ha_tensor tq = dq.desc(q.raw, dt), tk = dk.desc(k.raw, dt), tv = dv.desc(v.raw, dt), to = dout.desc(out.raw, dt);
        const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &s, nullptr);
        return Attempt{st, ha_last_error(), false};
    };
    auto untouched = [&] {
        Half back = out;
        dout.download(back.raw);
        return back.raw.storage == out.raw.storage;
    };
    auto expect_bad = [&](const char* what, const Attempt& a, const char* needle) {
        begin_case(format("cuda seqs validation: %s", what));
        CHECK(a.st == HA_ERR_INVALID_ARGUMENT, "status %d (%s)", a.st, a.msg.c_str());
        CHECK(a.msg.find(needle) != std::string::npos, "message '%s' lacks '%s'", a.msg.c_str(), needle);
        CHECK(!a.written && untouched(), "out was written");
        end_case();
    };
    std::vector<int32_t> t = good_table, l = good_lens;
    t[4] = 5;
    expect_bad("page out of range", attempt(t, l, false), "seqs.block_table[1][1]");
    t[4] = -1;
    expect_bad("negative page", attempt(t, l, false), "seqs.block_table[1][1]");
    l[1] = 13;
    expect_bad("length beyond the table", attempt(good_table, l, false), "seqs.seqlens_k[1]");
    expect_bad("host table with cuda tensors", attempt(good_table, good_lens, true), "seqs.block_table: ");
    {
        begin_case("cuda seqs validation: unused table entries are never read (a good call)");
        t = good_table;
        t[2] = 99;  // sequence 0 has 8 keys: two pages of 4, its third entry unused
        const Attempt a = attempt(t, good_lens, false);
        CHECK(a.st == HA_OK, "%s", a.msg.c_str());
        end_case();
        dout.upload(out.raw);  // poison again
    }
    // Packed queries: offsets that decrease, overrun q, or do not start at 0.
    const int64_t qshape[4] = {1, 2, 6, D}, qstrides[4] = {6 * 2 * D, D, 2 * D, 1};
    Half qp = make_half_strided(dt, qshape, qstrides, true), op = make_half_strided(dt, qshape, qstrides, false);
    op.raw.poison();
    Mirror dqp(qp.raw), dop(op.raw);
    auto packed = [&](std::vector<int32_t> cu) {
        DevInts dcu(cu), dt_(good_table), dl_(good_lens);
        ha_seqs s;
        ha_seqs_init(&s);
        s.count = 2;
        s.page_size = int32_t(ps);
        s.cu_seqlens_q = dcu.get();
        s.seqlens_k = dl_.get();
        s.block_table = dt_.get();
        s.block_table_stride = 3;
        s.max_pages = 3;
        ha_tensor tq = dqp.desc(qp.raw, dt), tk = dk.desc(k.raw, dt), tv = dv.desc(v.raw, dt), to = dop.desc(op.raw, dt);
        const int32_t st = ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &s, nullptr);
        Attempt a{st, ha_last_error(), false};
        Half back = op;
        dop.download(back.raw);
        a.written = back.raw.storage != op.raw.storage;
        return a;
    };
    expect_bad("decreasing offsets", packed({0, 4, 3}), "seqs.cu_seqlens_q");
    expect_bad("offsets past q", packed({0, 4, 7}), "seqs.cu_seqlens_q[2]");
    expect_bad("first offset", packed({1, 4, 5}), "seqs.cu_seqlens_q[0]");
    begin_case("cuda seqs validation: a host cu_seqlens_q with cuda tensors");
    {
        std::vector<int32_t> cu = {0, 3, 6};
        DevInts dt_(good_table), dl_(good_lens);
        ha_seqs s;
        ha_seqs_init(&s);
        s.count = 2;
        s.page_size = int32_t(ps);
        s.cu_seqlens_q = cu.data();
        s.seqlens_k = dl_.get();
        s.block_table = dt_.get();
        s.block_table_stride = 3;
        s.max_pages = 3;
        ha_tensor tq = dqp.desc(qp.raw, dt), tk = dk.desc(k.raw, dt), tv = dv.desc(v.raw, dt), to = dop.desc(op.raw, dt);
        CHECK(ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &s, nullptr) == HA_ERR_INVALID_ARGUMENT, "accepted");
        CHECK(std::strstr(ha_last_error(), "seqs.cu_seqlens_q: ") != nullptr &&
                  std::strstr(ha_last_error(), "not device memory") != nullptr,
              "%s", ha_last_error());
    }
    end_case();
    begin_case("cuda seqs validation: CPU k with cuda q");
    {
        DevInts dl_(good_lens);
        ha_seqs s;
        ha_seqs_init(&s);
        s.count = 2;
        s.seqlens_k = dl_.get();
        HostTensor kc = make_tensor(HA_DTYPE_BF16, 2, 1, 16, D, BHSD);
        ha_tensor tq = dq.desc(q.raw, dt), tk = kc.desc(), to = dout.desc(out.raw, dt);
        CHECK(ha_attention_exact_seqs(&tq, &tk, &tk, &to, nullptr, &s, nullptr) == HA_ERR_INVALID_ARGUMENT, "accepted");
        CHECK(std::strstr(ha_last_error(), "k: on the CPU, but q is on cuda:0") != nullptr, "%s", ha_last_error());
    }
    end_case();
}

// ---- memory, copies, devices ------------------------------------------------------------
TEST(cuda_memcpy_every_direction) {
    for (bool use_stream : {false, true}) {
        const std::string label = format("cuda memcpy host->device->device->host and host->host%s",
                                         use_stream ? " on a stream" : "");
        if (skip_without_gpu(label)) continue;
        begin_case(label);
        const int64_t n = 1 << 20;
        std::vector<unsigned char> src(size_t(n) + 3), back(size_t(n) + 3, 0), hh(size_t(n), 0);
        for (auto& c : src) c = static_cast<unsigned char>(rng()());
        void* stream = nullptr;
        if (use_stream) CHECK(ha_stream_create(0, &stream) == HA_OK, "%s", ha_last_error());
        void *d1 = nullptr, *d2 = nullptr;
        CHECK(ha_device_alloc(HA_DEVICE_CUDA, 0, n + 3, &d1) == HA_OK && d1, "%s", ha_last_error());
        CHECK(ha_device_alloc(HA_DEVICE_CUDA, 0, n + 3, &d2) == HA_OK && d2, "%s", ha_last_error());
        // Odd sizes and offsets: copies are byte-exact, not element-wise.
        CHECK(ha_memcpy(d1, HA_DEVICE_CUDA, 0, src.data(), HA_DEVICE_CPU, 0, n + 3, stream) == HA_OK, "h2d: %s", ha_last_error());
        CHECK(ha_memcpy(static_cast<char*>(d2) + 1, HA_DEVICE_CUDA, 0, static_cast<char*>(d1) + 1, HA_DEVICE_CUDA, 0, n + 1, stream) == HA_OK, "d2d: %s", ha_last_error());
        CHECK(ha_memcpy(d2, HA_DEVICE_CUDA, 0, d1, HA_DEVICE_CUDA, 0, 1, stream) == HA_OK, "d2d 1 byte: %s", ha_last_error());
        CHECK(ha_memcpy(static_cast<char*>(d2) + n + 2, HA_DEVICE_CUDA, 0, static_cast<char*>(d1) + n + 2, HA_DEVICE_CUDA, 0, 1, stream) == HA_OK, "d2d tail: %s", ha_last_error());
        CHECK(ha_memcpy(back.data(), HA_DEVICE_CPU, 0, d2, HA_DEVICE_CUDA, 0, n + 3, stream) == HA_OK, "d2h: %s", ha_last_error());
        CHECK(ha_memcpy(hh.data(), HA_DEVICE_CPU, 0, src.data(), HA_DEVICE_CPU, 0, n, stream) == HA_OK, "h2h: %s", ha_last_error());
        if (stream) CHECK(ha_stream_synchronize(0, stream) == HA_OK, "%s", ha_last_error());
        CHECK(back == src, "round trip differs");
        CHECK(std::equal(hh.begin(), hh.end(), src.begin()), "host copy differs");
        CHECK(ha_memcpy(d1, HA_DEVICE_CUDA, 0, src.data(), HA_DEVICE_CPU, 0, 0, stream) == HA_OK, "0 bytes: %s", ha_last_error());
        CHECK(ha_device_free(HA_DEVICE_CUDA, 0, d1) == HA_OK, "%s", ha_last_error());
        CHECK(ha_device_free(HA_DEVICE_CUDA, 0, d2) == HA_OK, "%s", ha_last_error());
        if (stream) CHECK(ha_stream_destroy(0, stream) == HA_OK, "%s", ha_last_error());
        end_case();
    }
    const std::string peer = "cuda memcpy between two devices";
    if (cuda_env().count < 2) {
        skip_case(peer, "needs two CUDA devices");
        return;
    }
    begin_case(peer);
    std::vector<unsigned char> src(4099), back(4099, 0);
    for (auto& c : src) c = static_cast<unsigned char>(rng()());
    void *d0 = nullptr, *d1 = nullptr;
    CHECK(ha_device_alloc(HA_DEVICE_CUDA, 0, 4099, &d0) == HA_OK, "%s", ha_last_error());
    CHECK(ha_device_alloc(HA_DEVICE_CUDA, 1, 4099, &d1) == HA_OK, "%s", ha_last_error());
    CHECK(ha_memcpy(d0, HA_DEVICE_CUDA, 0, src.data(), HA_DEVICE_CPU, 0, 4099, nullptr) == HA_OK, "%s", ha_last_error());
    CHECK(ha_memcpy(d1, HA_DEVICE_CUDA, 1, d0, HA_DEVICE_CUDA, 0, 4099, nullptr) == HA_OK, "peer: %s", ha_last_error());
    CHECK(ha_memcpy(back.data(), HA_DEVICE_CPU, 0, d1, HA_DEVICE_CUDA, 1, 4099, nullptr) == HA_OK, "%s", ha_last_error());
    CHECK(back == src, "peer round trip differs");
    CHECK(ha_memcpy(d1, HA_DEVICE_CUDA, 0, d0, HA_DEVICE_CUDA, 0, 16, nullptr) == HA_ERR_INVALID_ARGUMENT,
          "device 1 memory passed as cuda:0 accepted");
    ha_device_free(HA_DEVICE_CUDA, 0, d0);
    ha_device_free(HA_DEVICE_CUDA, 1, d1);
}

TEST(cuda_device_queries) {
    const std::string label = "cuda device count and properties";
    if (skip_without_gpu(label)) return;
    begin_case(label);
    int32_t n = 0;
    CHECK(ha_cuda_device_count(&n) == HA_OK && n >= 1, "count %d: %s", n, ha_last_error());
    ha_device_props props;
    std::memset(&props, 0x55, sizeof props);
    CHECK(ha_cuda_device_props(0, &props) == HA_OK, "%s", ha_last_error());
    CHECK(std::memchr(props.name, 0, sizeof props.name) != nullptr && props.name[0] != 0, "name not a string");
    CHECK(props.total_memory > (int64_t(1) << 28), "total_memory %lld", (long long)props.total_memory);
    CHECK(props.compute_major >= 8, "compute capability %d.%d (the kernels need sm_80+)", props.compute_major, props.compute_minor);
    CHECK(props.multiprocessors >= 1, "multiprocessors %d", props.multiprocessors);
    std::printf("     device 0: %s, %d SMs, sm_%d%d, %.1f GiB\n", props.name, props.multiprocessors,
                props.compute_major, props.compute_minor, double(props.total_memory) / (1 << 30));
    CHECK(ha_cuda_device_props(n, &props) == HA_ERR_NO_DEVICE, "device %d accepted", n);
    CHECK(std::string(ha_last_error()).find("not available") != std::string::npos, "%s", ha_last_error());
}

// A small valid device problem, for argument checks.
struct DeviceOperands {
    Half q, k, v, out;
    HostTensor lse;
    std::unique_ptr<Mirror> dq, dk, dv, dout, dl;
    ha_tensor tq, tk, tv, to, tl;
    DeviceOperands()
        : q(make_half(HA_DTYPE_BF16, 1, 4, 8, 64, BHSD, true)),
          k(make_half(HA_DTYPE_BF16, 1, 2, 10, 64, BHSD, true)),
          v(make_half(HA_DTYPE_BF16, 1, 2, 10, 64, BHSD, true)),
          out(make_half(HA_DTYPE_BF16, 1, 4, 8, 64, BHSD, false)),
          lse(make_lse(1, 4, 8, false)) {
        dq = std::make_unique<Mirror>(q.raw);
        dk = std::make_unique<Mirror>(k.raw);
        dv = std::make_unique<Mirror>(v.raw);
        dout = std::make_unique<Mirror>(out.raw);
        dl = std::make_unique<Mirror>(lse);
        tq = dq->desc(q.raw, HA_DTYPE_BF16);
        tk = dk->desc(k.raw, HA_DTYPE_BF16);
        tv = dv->desc(v.raw, HA_DTYPE_BF16);
        to = dout->desc(out.raw, HA_DTYPE_BF16);
        tl = dl->desc(lse, HA_DTYPE_F32);
    }
    int32_t run(void* stream = nullptr) {
        ha_exact_params p;
        ha_exact_params_init(&p);
        p.stream = stream;
        return ha_attention_exact(&tq, &tk, &tv, &to, &tl, &p);
    }
};

void expect(const char* label, int32_t status, int32_t want, const char* needle) {
    begin_case(label);
    const std::string msg = ha_last_error();
    CHECK(status == want, "status %d, expected %d (message: %s)", status, want, msg.c_str());
    CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(), needle);
    end_case();
}

TEST(cuda_bad_arguments_on_a_device) {
    if (skip_without_gpu("cuda bad device arguments (absent device, host memory, foreign stream)")) return;
    const int32_t INV = HA_ERR_INVALID_ARGUMENT, NOD = HA_ERR_NO_DEVICE;
    const int absent = cuda_env().count;
    { DeviceOperands o; o.tq.device_id = o.tk.device_id = o.tv.device_id = o.to.device_id = o.tl.device_id = absent;
      expect("tensors on an absent device id", o.run(), NOD, format("cuda:%d is not available", absent).c_str()); }
    { DeviceOperands o; o.tk.data = o.k.raw.data(); expect("host memory as a cuda tensor", o.run(), INV, "k: data"); }
    { DeviceOperands o; o.tk.device_id = 1; expect("mixed cuda devices", o.run(), INV, "k: device cuda:1, but q is on cuda:0"); }
    { DeviceOperands o; o.tq.dtype = o.tk.dtype = o.tv.dtype = o.to.dtype = HA_DTYPE_F32;
      expect("f32 on cuda", o.run(), HA_ERR_UNSUPPORTED, "not supported on CUDA"); }
    { DeviceOperands o; ha_tensor cpu_out = o.out.raw.desc(); cpu_out.dtype = HA_DTYPE_BF16; o.to = cpu_out;
      expect("CPU output for cuda inputs", o.run(), INV, "out: on the CPU, but q is on cuda:0"); }
    { DeviceOperands o; o.tl = o.lse.desc(); expect("CPU lse for cuda inputs", o.run(), INV, "lse: on the CPU"); }
    { DeviceOperands o; o.to = o.tq; expect("out is q on the device", o.run(), INV, "out: memory overlaps input q"); }
    { void* p = nullptr; expect("alloc on an absent device", ha_device_alloc(HA_DEVICE_CUDA, absent, 64, &p), NOD, "not available"); }
    { void* p = nullptr; expect("alloc on the CPU", ha_device_alloc(HA_DEVICE_CPU, 0, 64, &p), INV, "device_type"); }
    { void* p = nullptr; expect("alloc negative", ha_device_alloc(HA_DEVICE_CUDA, 0, -1, &p), INV, "bytes"); }
    { void* p = nullptr; expect("alloc huge", ha_device_alloc(HA_DEVICE_CUDA, 0, int64_t(1) << 50, &p), HA_ERR_OUT_OF_MEMORY, "cudaMalloc"); }
    { std::vector<char> h(64); expect("free host memory", ha_device_free(HA_DEVICE_CUDA, 0, h.data()), INV, "host memory"); }
    { std::vector<char> h(64), g(64); expect("memcpy host memory as device", ha_memcpy(g.data(), HA_DEVICE_CUDA, 0, h.data(), HA_DEVICE_CPU, 0, 64, nullptr), INV, "dst:"); }
    { void* s = nullptr; expect("stream on an absent device", ha_stream_create(absent, &s), NOD, "not available"); }
    { DeviceOperands o; std::vector<float> err(4 * 8); ha_hyper_stats hs{err.data()};
      expect("hyper: stats.row_error with cuda tensors", ha_attention_hyper(&o.tq, &o.tk, &o.tv, &o.to, &o.tl, nullptr, &hs),
             HA_ERR_UNSUPPORTED, "stats.row_error"); }
    { DeviceOperands o; o.tq.dtype = o.tk.dtype = o.tv.dtype = o.to.dtype = HA_DTYPE_F32;
      expect("hyper: f32 on cuda", ha_attention_hyper(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr), HA_ERR_UNSUPPORTED,
             "not supported on CUDA"); }
    { DeviceOperands o; ha_hyper_params hp; ha_hyper_params_init(&hp); hp.stream = reinterpret_cast<void*>(0x10);
      expect("hyper: a bogus stream", ha_attention_hyper(&o.tq, &o.tk, &o.tv, &o.to, nullptr, &hp), INV, "params.stream"); }
    // An unreadable handle must fail the call, not crash inside cudaStreamGetDevice (it did,
    // on the first H200 run, before resolve_stream checked the address).
    { DeviceOperands o; ha_exact_params ep; ha_exact_params_init(&ep); ep.stream = reinterpret_cast<void*>(0x10);
      expect("exact: a bogus stream", ha_attention_exact(&o.tq, &o.tk, &o.tv, &o.to, nullptr, &ep), INV, "params.stream"); }
    begin_case("a valid device call after all that succeeds and clears the message");
    DeviceOperands o;
    CHECK(o.run() == HA_OK, "%s", ha_last_error());
    CHECK(std::string(ha_last_error()).empty(), "message not cleared: %s", ha_last_error());
}

// ---- without a GPU ----------------------------------------------------------------------
TEST(cuda_answers_without_a_device) {
    const CudaEnv& e = cuda_env();
    if (e.present) {
        skip_case("no-device answers", "a CUDA device is present (its cases ran above)");
        return;
    }
    begin_case(e.built ? "no device: count says so with CUDA's reason" : "CPU-only build: every device call says so");
    int32_t n = 123;
    const int32_t st = ha_cuda_device_count(&n);
    CHECK(st == HA_ERR_NO_DEVICE, "status %d", st);
    CHECK(n == 0, "count %d", n);
    const std::string msg = ha_last_error();
    if (e.built) {
        // CUDA's own error name and text (cudaGetErrorName / cudaGetErrorString) are quoted.
        CHECK(msg.find("no CUDA device") != std::string::npos && msg.find("cudaError") != std::string::npos,
              "message '%s' should carry CUDA's reason", msg.c_str());
    } else {
        CHECK(msg.find("this build has no CUDA backend") != std::string::npos, "%s", msg.c_str());
    }
    void* p = reinterpret_cast<void*>(0x1);
    CHECK(ha_device_alloc(HA_DEVICE_CUDA, 0, 64, &p) == HA_ERR_NO_DEVICE && p == nullptr, "alloc: %s", ha_last_error());
    void* s = reinterpret_cast<void*>(0x1);
    CHECK(ha_stream_create(0, &s) == HA_ERR_NO_DEVICE && s == nullptr, "stream: %s", ha_last_error());
    ha_device_props props;
    CHECK(ha_cuda_device_props(0, &props) == HA_ERR_NO_DEVICE, "props: %s", ha_last_error());
    end_case();

    // CUDA tensors with plausible (never dereferenced) addresses.
    HostTensor q = make_tensor(HA_DTYPE_BF16, 1, 4, 8, 64, BHSD), k = make_tensor(HA_DTYPE_BF16, 1, 2, 10, 64, BHSD);
    HostTensor v = make_tensor(HA_DTYPE_BF16, 1, 2, 10, 64, BHSD), out = make_tensor(HA_DTYPE_BF16, 1, 4, 8, 64, BHSD);
    auto on_cuda = [](HostTensor& t, int id) {
        ha_tensor d = t.desc();
        d.device_type = HA_DEVICE_CUDA;
        d.device_id = id;
        return d;
    };
    ha_tensor tq = on_cuda(q, 0), tk = on_cuda(k, 0), tv = on_cuda(v, 0), to = on_cuda(out, 0);
    if (e.built) {
        expect("cuda tensors without a device: no device, CUDA's reason", ha_attention_exact(&tq, &tk, &tv, &to, nullptr, nullptr),
               HA_ERR_NO_DEVICE, "q: cuda:0 is not available: ");
        ha_exact_params w;
        ha_exact_params_init(&w);
        w.window_left = 16;
        w.softcap = 30.f;
        expect("a window and a soft cap are accepted for cuda tensors (then: no device)",
               ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &w), HA_ERR_NO_DEVICE, "q: cuda:0 is not available: ");
        std::vector<int32_t> lens = {5};  // never read: the device check comes first
        ha_seqs seqs;
        ha_seqs_init(&seqs);
        seqs.count = 1;
        seqs.seqlens_k = lens.data();
        expect("ha_attention_exact_seqs takes cuda tensors (then: no device)",
               ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &seqs, &w), HA_ERR_NO_DEVICE,
               "q: cuda:0 is not available: ");
        ha_tensor tk1s = on_cuda(k, 1);
        expect("seqs: mixed cuda devices need no device to be rejected",
               ha_attention_exact_seqs(&tq, &tk1s, &tv, &to, nullptr, &seqs, nullptr), HA_ERR_INVALID_ARGUMENT,
               "k: device cuda:1, but q is on cuda:0");
        ha_tensor tk1 = on_cuda(k, 1);
        expect("mixed cuda devices need no device to be rejected", ha_attention_exact(&tq, &tk1, &tv, &to, nullptr, nullptr),
               HA_ERR_INVALID_ARGUMENT, "k: device cuda:1, but q is on cuda:0");
        ha_tensor cpu_k = k.desc();
        expect("CPU k with cuda q", ha_attention_exact(&tq, &cpu_k, &tv, &to, nullptr, nullptr),
               HA_ERR_INVALID_ARGUMENT, "k: on the CPU, but q is on cuda:0");
        ha_tensor fq = tq, fk = tk, fv = tv, fo = to;
        fq.dtype = fk.dtype = fv.dtype = fo.dtype = HA_DTYPE_F32;
        expect("f32 cuda tensors", ha_attention_exact(&fq, &fk, &fv, &fo, nullptr, nullptr), HA_ERR_UNSUPPORTED,
               "q: dtype f32 is not supported on CUDA (f16, bf16)");
        HostTensor lse = make_lse(1, 4, 8, false);
        ha_tensor tl = on_cuda(lse, 0);
        expect("cuda merge without a device", ha_merge(&to, &tl, &to, &tl, &to, nullptr, nullptr), HA_ERR_NO_DEVICE,
               "cuda:0 is not available");
        {
            std::vector<float> err(4 * 8);
            ha_hyper_stats hs{err.data()};
            expect("hyper: stats.row_error with cuda tensors is unsupported (no device needed)",
                   ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, nullptr, &hs), HA_ERR_UNSUPPORTED,
                   "stats.row_error");
            expect("hyper takes cuda tensors (then: no device)", ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, nullptr),
                   HA_ERR_NO_DEVICE, "q: cuda:0 is not available: ");
            expect("hyper: f32 cuda tensors", ha_attention_hyper(&fq, &fk, &fv, &fo, nullptr, nullptr),
                   HA_ERR_UNSUPPORTED, "q: dtype f32 is not supported on CUDA (f16, bf16)");
        }
        std::vector<unsigned char> a(100, 7), b(100, 0);
        begin_case("host-to-host ha_memcpy needs no device");
        CHECK(ha_memcpy(b.data(), HA_DEVICE_CPU, 0, a.data(), HA_DEVICE_CPU, 0, 100, nullptr) == HA_OK, "%s", ha_last_error());
        CHECK(a == b, "copy differs");
        end_case();
        expect("host-to-device ha_memcpy without a device", ha_memcpy(b.data(), HA_DEVICE_CUDA, 0, a.data(), HA_DEVICE_CPU, 0, 100, nullptr),
               HA_ERR_NO_DEVICE, "not available");
    } else {
        expect("cuda tensors in a CPU-only build", ha_attention_exact(&tq, &tk, &tv, &to, nullptr, nullptr), HA_ERR_UNSUPPORTED,
               "this build has no CUDA backend");
        ha_seqs seqs;
        ha_seqs_init(&seqs);
        seqs.count = 1;
        expect("cuda seqs in a CPU-only build", ha_attention_exact_seqs(&tq, &tk, &tv, &to, nullptr, &seqs, nullptr),
               HA_ERR_UNSUPPORTED, "this build has no CUDA backend");
        expect("cuda hyper in a CPU-only build", ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, nullptr),
               HA_ERR_UNSUPPORTED, "this build has no CUDA backend");
    }

    begin_case("the CPU backend still runs in this build");
    HostTensor cq = make_tensor(HA_DTYPE_F32, 1, 4, 31, 64, BHSD), ck = make_tensor(HA_DTYPE_F32, 1, 2, 45, 64, BSHD);
    HostTensor cv = make_tensor(HA_DTYPE_F32, 1, 2, 45, 64, PADDED), co = make_tensor(HA_DTYPE_F32, 1, 4, 31, 64, BHSD);
    cq.fill_normal(1);
    ck.fill_normal(1);
    cv.fill_normal(1);
    co.poison();
    ha_tensor a = cq.desc(), b = ck.desc(), c = cv.desc(), d = co.desc();
    ha_exact_params prm;
    ha_exact_params_init(&prm);
    prm.causal = 1;
    CHECK(ha_attention_exact(&a, &b, &c, &d, nullptr, &prm) == HA_OK, "%s", ha_last_error());
    compare_output(co, reference_attention(cq, ck, cv, 1.0 / 8.0, true), out_tolerance(HA_DTYPE_F32, max_abs(cv)));
}

}  // namespace
