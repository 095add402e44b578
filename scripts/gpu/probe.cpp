// A GPU-machine helper that links only against libhyperattn (no CUDA headers):
//   probe sanitize   every CUDA kernel path once on small odd shapes (windows, soft cap, and
//                    batches of sequences with packed and paged keys included), statuses
//                    checked; meant to run under compute-sanitizer (memcheck, racecheck,
//                    synccheck, initcheck).
//                    Values are checked by the native harness, not here.
//   probe bench      native timing of the forward and decode cases of bench_sdpa.py: calls
//                    enqueued on a stream from ha_stream_create, wall clock around the batch
//                    plus a final ha_stream_synchronize, median of 5 batches; then
//                    HyperAttention (causal, bf16, D=128, Hq=32 Hkv=8, N = 16k, 32k, 128k)
//                    against the exact kernel on the same tensors: time, speedup, relative
//                    L2 error of the hyper output vs the exact one.
// Exit status 0 only if every call returned HA_OK.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hyperattn.h"

namespace {

int g_errors = 0;

bool ok(int32_t st, const char* what) {
    if (st == HA_OK) return true;
    std::fprintf(stderr, "FAILED %s: status %d: %s\n", what, st, ha_last_error());
    ++g_errors;
    return false;
}

uint16_t bf16_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

// Round to nearest even; |f| < 65504 and no NaN here.
uint16_t f16_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax < 0x38800000u) {  // subnormal range
        float af;
        std::memcpy(&af, &ax, 4);
        return uint16_t(sign | uint32_t(std::nearbyint(af * 16777216.0f)));
    }
    uint32_t r = ax - 0x38000000u;
    r += 0xfffu + ((r >> 13) & 1u);
    return uint16_t(sign | (r >> 13));
}

// A [b,h,s,d] device tensor (or [b,s,h,d] when bshd; rows padded by `pad` elements), filled
// with N(0,1) values, or with NaN bits when it is an output.
struct Dev {
    void* ptr = nullptr;
    ha_tensor t{};
    Dev(int32_t dtype, int64_t b, int64_t h, int64_t s, int64_t d, bool bshd, bool fill,
        int64_t pad = 0) {
        const int64_t row = d + pad;
        t.dtype = dtype;
        t.device_type = HA_DEVICE_CUDA;
        t.shape[0] = b; t.shape[1] = h; t.shape[2] = s; t.shape[3] = d;
        if (bshd) {
            t.strides[3] = 1; t.strides[1] = row; t.strides[2] = h * row; t.strides[0] = s * h * row;
        } else {
            t.strides[3] = 1; t.strides[2] = row; t.strides[1] = s * row; t.strides[0] = h * s * row;
        }
        const int64_t n = std::max<int64_t>(1, b * h * s * row);
        ok(ha_device_alloc(HA_DEVICE_CUDA, 0, n * 2, &ptr), "alloc");
        t.data = ptr;
        std::vector<uint16_t> host(size_t(n), 0x7fc0);  // NaN where nothing is written
        if (fill) {
            std::mt19937 rng(uint32_t(n * 31 + d));
            std::normal_distribution<float> nd(0.f, 1.f);
            for (auto& x : host) x = dtype == HA_DTYPE_BF16 ? bf16_bits(nd(rng)) : f16_bits(nd(rng));
        }
        ok(ha_memcpy(ptr, HA_DEVICE_CUDA, 0, host.data(), HA_DEVICE_CPU, 0, n * 2, nullptr), "upload");
    }
    ~Dev() { ha_device_free(HA_DEVICE_CUDA, 0, ptr); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
};

struct Lse {
    void* ptr = nullptr;
    ha_tensor t{};
    Lse(int64_t b, int64_t h, int64_t s) {
        t.dtype = HA_DTYPE_F32;
        t.device_type = HA_DEVICE_CUDA;
        t.shape[0] = b; t.shape[1] = h; t.shape[2] = s; t.shape[3] = 1;
        t.strides[3] = 1; t.strides[2] = 1; t.strides[1] = s; t.strides[0] = h * s;
        ok(ha_device_alloc(HA_DEVICE_CUDA, 0, std::max<int64_t>(4, b * h * s * 4), &ptr), "alloc lse");
        t.data = ptr;
    }
    ~Lse() { ha_device_free(HA_DEVICE_CUDA, 0, ptr); }
};

// int32 values in device memory (the ha_seqs arrays with CUDA tensors).
struct Ints {
    void* ptr = nullptr;
    explicit Ints(const std::vector<int32_t>& h) {
        ok(ha_device_alloc(HA_DEVICE_CUDA, 0, int64_t(std::max<size_t>(1, h.size()) * 4), &ptr), "alloc ints");
        ok(ha_memcpy(ptr, HA_DEVICE_CUDA, 0, h.data(), HA_DEVICE_CPU, 0, int64_t(h.size() * 4), nullptr), "upload ints");
    }
    ~Ints() { ha_device_free(HA_DEVICE_CUDA, 0, ptr); }
    const int32_t* get() const { return static_cast<const int32_t*>(ptr); }
};

int32_t attention(Dev& q, Dev& k, Dev& v, Dev& o, Lse* l, bool causal, void* stream) {
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = causal;
    p.stream = stream;
    return ha_attention_exact(&q.t, &k.t, &v.t, &o.t, l ? &l->t : nullptr, &p);
}

int32_t hyper(Dev& q, Dev& k, Dev& v, Dev& o, Lse* l, bool causal, void* stream, int32_t block = 256,
               int32_t samples = 256, int32_t min_seq = 4096) {
    ha_hyper_params p;
    ha_hyper_params_init(&p);
    p.causal = causal;
    p.stream = stream;
    p.block_size = block;
    p.sample_size = samples;
    p.min_seq_len = min_seq;
    p.seed = 7;
    return ha_attention_hyper(&q.t, &k.t, &v.t, &o.t, l ? &l->t : nullptr, &p);
}

std::vector<float> download(const Dev& d) {
    const ha_tensor& t = d.t;
    const int64_t n = t.shape[0] * t.shape[1] * t.shape[2] * t.shape[3];  // dense bhsd only
    std::vector<uint16_t> bits(static_cast<size_t>(n));
    ok(ha_memcpy(bits.data(), HA_DEVICE_CPU, 0, d.ptr, HA_DEVICE_CUDA, 0, n * 2, nullptr), "download");
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const uint32_t u = uint32_t(bits[size_t(i)]) << 16;  // bf16
        std::memcpy(&out[size_t(i)], &u, 4);
    }
    return out;
}

int sanitize() {
    struct Case {
        int64_t B, Hq, Hkv, Nq, Nk, D;
        bool causal, bshd;
        int64_t pad;
        const char* path;
    };
    const Case cases[] = {
        {1, 2, 1, 130, 77, 64, true, false, 0, "Fast64, causal, Nq > Nk"},
        {2, 4, 2, 129, 200, 128, false, true, 0, "Fast128, bshd, GQA"},
        {1, 2, 2, 70, 130, 128, true, false, 0, "Fast128 causal"},
        {1, 3, 1, 33, 70, 256, true, false, 0, "Aligned256"},
        {1, 2, 1, 40, 50, 80, false, false, 0, "Aligned256 with D = 80"},
        {1, 2, 1, 33, 47, 7, false, false, 0, "Strided256, odd D"},
        {1, 2, 2, 20, 45, 64, true, false, 3, "Strided256, padded rows"},
        {1, 32, 8, 1, 5000, 128, false, false, 0, "decode, splits + combine"},
        {1, 8, 1, 4, 3001, 64, true, false, 0, "decode, 2 row groups, causal"},
        {1, 2, 2, 1, 63, 128, false, true, 0, "decode, one split, direct"},
        {1, 2, 1, 4, 0, 64, false, false, 0, "no keys"},
    };
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16})
        for (const Case& c : cases) {
            Dev q(dtype, c.B, c.Hq, c.Nq, c.D, c.bshd, true, c.pad);
            Dev k(dtype, c.B, c.Hkv, c.Nk, c.D, c.bshd, true, c.pad);
            Dev v(dtype, c.B, c.Hkv, c.Nk, c.D, c.bshd, true, c.pad);
            Dev o(dtype, c.B, c.Hq, c.Nq, c.D, c.bshd, false, c.pad);
            Lse l(c.B, c.Hq, c.Nq);
            const std::string what = std::string("exact: ") + c.path;
            ok(attention(q, k, v, o, &l, c.causal, nullptr), what.c_str());
        }
    // Sliding windows and the soft cap: forward tiles skipped on both sides, split-KV over a
    // window, the element-wise path.
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        struct Masked {
            int64_t Hq, Hkv, Nq, Nk, D;
            int32_t causal, wl, wr;
            float cap;
            const char* path;
        };
        const Masked masked[] = {
            {2, 1, 300, 300, 64, 0, 64, 64, 30.f, "Fast64, window both sides, soft cap"},
            {2, 2, 130, 500, 128, 1, 100, -1, 0.f, "Fast128, causal window"},
            {8, 2, 1, 3000, 128, 1, 1000, -1, 50.f, "decode, splits over a window, soft cap"},
            {2, 1, 33, 47, 7, 0, 10, 3, 2.f, "Strided256, window, soft cap"},
        };
        for (const Masked& c : masked) {
            Dev q(dtype, 1, c.Hq, c.Nq, c.D, false, true), k(dtype, 1, c.Hkv, c.Nk, c.D, false, true);
            Dev v(dtype, 1, c.Hkv, c.Nk, c.D, false, true), o(dtype, 1, c.Hq, c.Nq, c.D, false, false);
            Lse l(1, c.Hq, c.Nq);
            ha_exact_params p;
            ha_exact_params_init(&p);
            p.causal = c.causal;
            p.window_left = c.wl;
            p.window_right = c.wr;
            p.softcap = c.cap;
            ok(ha_attention_exact(&q.t, &k.t, &v.t, &o.t, &l.t, &p), (std::string("exact: ") + c.path).c_str());
        }
    }
    // Batches of sequences: packed rows and keys (forward and decode sequences mixed), a paged
    // cache with pages out of order (decode of three sequences, one empty), and a padded cache.
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        {
            const std::vector<int32_t> cu_q = {0, 100, 101, 103}, cu_k = {0, 300, 2400, 2405};
            Dev q(dtype, 1, 4, 104, 64, true, true), o(dtype, 1, 4, 104, 64, true, false);
            Dev k(dtype, 1, 2, 2406, 64, true, true), v(dtype, 1, 2, 2406, 64, true, true);
            Lse l(1, 4, 104);
            Ints dq(cu_q), dk(cu_k);
            ha_seqs s;
            ha_seqs_init(&s);
            s.count = 3;
            s.cu_seqlens_q = dq.get();
            s.cu_seqlens_k = dk.get();
            ha_exact_params p;
            ha_exact_params_init(&p);
            p.causal = 1;
            ok(ha_attention_exact_seqs(&q.t, &k.t, &v.t, &o.t, &l.t, &s, &p), "seqs: varlen, forward + decode");
        }
        {
            const int64_t ps = 16;
            const std::vector<int32_t> lens = {700, 0, 130};
            // Rows of 45 entries (max_pages 44, one more unused): 700 keys use 44 pages, taken
            // out of order ((7j + 3) mod 44), 130 keys use pages 44..52; -1 is never read.
            std::vector<int32_t> t(3 * 45, -1);
            for (int j = 0; j < 44; ++j) t[size_t(j)] = (7 * j + 3) % 44;
            for (int j = 0; j < 9; ++j) t[size_t(2 * 45 + j)] = 44 + j;
            Dev q(dtype, 3, 8, 1, 128, false, true), o(dtype, 3, 8, 1, 128, false, false);
            Dev k(dtype, 56, 2, ps, 128, true, true), v(dtype, 56, 2, ps, 128, true, true);
            Lse l(3, 8, 1);
            Ints dl(lens), dt(t);
            ha_seqs s;
            ha_seqs_init(&s);
            s.count = 3;
            s.page_size = int32_t(ps);
            s.seqlens_k = dl.get();
            s.block_table = dt.get();
            s.block_table_stride = 45;
            s.max_pages = 44;
            ha_exact_params p;
            ha_exact_params_init(&p);
            p.causal = 1;
            p.softcap = 50.f;
            ok(ha_attention_exact_seqs(&q.t, &k.t, &v.t, &o.t, &l.t, &s, &p), "seqs: paged decode");
        }
        {
            const std::vector<int32_t> lens = {3000, 1, 0, 64};
            Dev q(dtype, 4, 8, 2, 64, false, true), o(dtype, 4, 8, 2, 64, true, false);
            Dev k(dtype, 4, 2, 3000, 64, true, true), v(dtype, 4, 2, 3000, 64, true, true);
            Ints dl(lens);
            ha_seqs s;
            ha_seqs_init(&s);
            s.count = 4;
            s.seqlens_k = dl.get();
            ha_exact_params p;
            ha_exact_params_init(&p);
            p.causal = 1;
            p.window_left = 500;
            ok(ha_attention_exact_seqs(&q.t, &k.t, &v.t, &o.t, nullptr, &s, &p), "seqs: padded cache, window");
        }
    }
    // HyperAttention: small min_seq_len / block / samples so every piece runs (hashing, sorts,
    // rect kernel over windows and samples, causal state, exact leaves, finish).
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        struct H {
            int64_t B, Hq, Hkv, Nq, Nk, D;
            bool causal, bshd;
            int64_t pad;
            const char* what;
        };
        const H hs[] = {{1, 4, 2, 301, 277, 64, true, false, 0, "hyper causal Nq > Nk, GQA, D=64"},
                        {2, 2, 1, 190, 333, 128, true, true, 0, "hyper causal Nq < Nk, bshd, D=128"},
                        {1, 6, 3, 211, 129, 80, false, false, 0, "hyper full Nq != Nk, D=80"},
                        {1, 2, 1, 100, 140, 7, false, false, 1, "hyper full, odd D, padded rows (element-wise)"},
                        {1, 3, 3, 130, 300, 256, true, false, 0, "hyper causal, D=256"},
                        {1, 2, 2, 150, 170, 40, true, false, 3, "hyper causal, D=40, padded rows"}};
        for (const H& c : hs) {
            Dev q(dtype, c.B, c.Hq, c.Nq, c.D, c.bshd, true, c.pad), k(dtype, c.B, c.Hkv, c.Nk, c.D, c.bshd, true, c.pad);
            Dev v(dtype, c.B, c.Hkv, c.Nk, c.D, c.bshd, true, c.pad), o(dtype, c.B, c.Hq, c.Nq, c.D, c.bshd, false, c.pad);
            Lse l(c.B, c.Hq, c.Nq);
            ok(hyper(q, k, v, o, &l, c.causal, nullptr, 32, 16, 64), c.what);
        }
    }
    // Merge in place and out of place.
    for (int32_t dtype : {HA_DTYPE_BF16, HA_DTYPE_F16}) {
        Dev q(dtype, 1, 4, 19, 64, false, true), k(dtype, 1, 2, 57, 64, false, true), v(dtype, 1, 2, 57, 64, false, true);
        Dev a(dtype, 1, 4, 19, 64, false, false), b(dtype, 1, 4, 19, 64, true, false), o(dtype, 1, 4, 19, 64, false, false);
        Lse la(1, 4, 19), lb(1, 4, 19), lo(1, 4, 19);
        ok(attention(q, k, v, a, &la, false, nullptr), "merge input a");
        ok(attention(q, k, v, b, &lb, true, nullptr), "merge input b");
        ok(ha_merge(&a.t, &la.t, &b.t, &lb.t, &o.t, &lo.t, nullptr), "merge");
        ok(ha_merge(&a.t, &la.t, &b.t, &lb.t, &a.t, &la.t, nullptr), "merge in place");
    }
    std::printf("sanitize: %d failed calls\n", g_errors);
    return g_errors == 0 ? 0 : 1;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int bench() {
    void* stream = nullptr;
    if (!ok(ha_stream_create(0, &stream), "stream")) return 1;
    struct Fwd {
        int64_t B, H, N;
        bool causal;
        int64_t D;
    };
    std::printf("| case | ms (median of 5 batches) | TFLOP/s or GB/s |\n|---|---|---|\n");
    for (const Fwd& f : {Fwd{8, 16, 4096, false, 128}, Fwd{8, 16, 4096, true, 128}, Fwd{1, 16, 16384, false, 128},
                         Fwd{1, 16, 16384, true, 128}, Fwd{8, 16, 4096, false, 64}, Fwd{8, 16, 4096, true, 64}}) {
        const int64_t D = f.D;
        Dev q(HA_DTYPE_BF16, f.B, f.H, f.N, D, false, true), k(HA_DTYPE_BF16, f.B, f.H, f.N, D, false, true);
        Dev v(HA_DTYPE_BF16, f.B, f.H, f.N, D, false, true), o(HA_DTYPE_BF16, f.B, f.H, f.N, D, false, false);
        const double pairs = f.causal ? double(f.N) * (f.N + 1) / 2 : double(f.N) * f.N;
        const double flops = 4.0 * pairs * D * f.B * f.H;
        for (int i = 0; i < 3; ++i) ok(attention(q, k, v, o, nullptr, f.causal, stream), "warm-up");
        ok(ha_stream_synchronize(0, stream), "sync");
        std::vector<double> ms;
        const int iters = 10;
        for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < iters; ++i) ok(attention(q, k, v, o, nullptr, f.causal, stream), "forward");
            ok(ha_stream_synchronize(0, stream), "sync");
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters);
        }
        const double t = median(ms);
        std::printf("| native forward bf16 B=%lld H=%lld N=%lld D=%lld %s | %.3f | %.1f TFLOP/s |\n", (long long)f.B,
                    (long long)f.H, (long long)f.N, (long long)D, f.causal ? "causal" : "full", t, flops / t / 1e9);
    }
    {
        const int64_t Nk = 131072, Hq = 32, Hkv = 8, D = 128;
        Dev q(HA_DTYPE_BF16, 1, Hq, 1, D, false, true), k(HA_DTYPE_BF16, 1, Hkv, Nk, D, false, true);
        Dev v(HA_DTYPE_BF16, 1, Hkv, Nk, D, false, true), o(HA_DTYPE_BF16, 1, Hq, 1, D, false, false);
        const double bytes = 2.0 * Hkv * Nk * D * 2 + 2.0 * Hq * D * 2;
        for (int i = 0; i < 3; ++i) ok(attention(q, k, v, o, nullptr, false, stream), "warm-up");
        ok(ha_stream_synchronize(0, stream), "sync");
        std::vector<double> ms;
        const int iters = 50;
        for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < iters; ++i) ok(attention(q, k, v, o, nullptr, false, stream), "decode");
            ok(ha_stream_synchronize(0, stream), "sync");
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters);
        }
        const double t = median(ms);
        std::printf("| native decode bf16 Hq=32 Hkv=8 Nk=131072 D=128 | %.4f | %.0f GB/s |\n", t, bytes / t / 1e6);
    }
    // HyperAttention (defaults: block 256, samples 256, min_seq_len 4096, r 7) against the
    // library's exact kernel on the same tensors, causal, bf16 D=128, Hq=32 Hkv=8.
    std::printf("\n| hyper causal bf16 Hq=32 Hkv=8 D=128 | exact ms | hyper ms | speedup | rel. L2 error vs exact |\n"
                "|---|---|---|---|---|\n");
    for (int64_t N : {int64_t(16384), int64_t(32768), int64_t(131072)}) {
        const int64_t Hq = 32, Hkv = 8, D = 128;
        Dev q(HA_DTYPE_BF16, 1, Hq, N, D, false, true), k(HA_DTYPE_BF16, 1, Hkv, N, D, false, true);
        Dev v(HA_DTYPE_BF16, 1, Hkv, N, D, false, true), oe(HA_DTYPE_BF16, 1, Hq, N, D, false, false);
        Dev oh(HA_DTYPE_BF16, 1, Hq, N, D, false, false);
        const int reps = N >= 131072 ? 3 : 5;
        auto time_it = [&](auto&& call) {
            ok(call(), "warm-up");
            ok(ha_stream_synchronize(0, stream), "sync");
            std::vector<double> ms;
            for (int rep = 0; rep < reps; ++rep) {
                const auto t0 = std::chrono::steady_clock::now();
                ok(call(), "timed call");
                ok(ha_stream_synchronize(0, stream), "sync");
                ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            }
            return median(ms);
        };
        const double te = time_it([&] { return attention(q, k, v, oe, nullptr, true, stream); });
        const double th = time_it([&] { return hyper(q, k, v, oh, nullptr, true, stream); });
        const std::vector<float> e = download(oe), h = download(oh);
        double num = 0, den = 0;
        for (size_t i = 0; i < e.size(); ++i) {
            num += double(h[i] - e[i]) * double(h[i] - e[i]);
            den += double(e[i]) * double(e[i]);
        }
        std::printf("| N=%lld | %.2f | %.2f | %.2fx | %.4f |\n", (long long)N, te, th, te / th,
                    std::sqrt(num / std::max(den, 1e-30)));
        std::fflush(stdout);
    }
    ok(ha_stream_destroy(0, stream), "stream destroy");
    return g_errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    int32_t n = 0;
    if (!ok(ha_cuda_device_count(&n), "device count")) return 2;
    if (mode == "sanitize") return sanitize();
    if (mode == "bench") return bench();
    std::fprintf(stderr, "usage: probe sanitize|bench\n");
    return 2;
}
