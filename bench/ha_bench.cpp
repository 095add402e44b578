// ha_bench: exact-attention throughput against this machine's own peak (of the instructions the
// chosen ISA path computes with) and memory read bandwidth, both measured in the same run. Uses
// only the public C API.
//
//   ha_bench [--quick] [--threads N] [--isa generic|avx2|avx512] [--layout bhsd|bshd]
//            [--runs N] [--no-decode] [--no-prefill]
// --layout applies to the prefill rows; the decode rows report both KV-cache layouts.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "half.h"
#include "hyperattn.h"

namespace {

using habench::to_bf16;
using habench::isa_name;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- machine peak ------------------------------------------------------------------------
// The peak of the ISA path the library runs, from loops of independent chains: enough chains to
// keep every pipe busy through a chain's latency on current cores (FMA: at most 5 cycles × 2
// pipes = 10; mul then add: 6 cycles × 2 = 12), few enough that the chains and the two
// constants stay in the path's register file. A chain that does not fit is spilled, and the
// loop then times stores and reloads instead of FMAs: 16 ymm chains (16 registers) measured
// 59-67 GFLOP/s of the ~116 a Zen 4 core reaches.
constexpr int kChains512 = 16;  // of 32 zmm
constexpr int kChains256 = 12;  // of 16 ymm
constexpr int kChains128 = 12;  // of 16 xmm
constexpr int64_t kPeakIters = 10'000'000;
constexpr int kPeakReps = 7;  // best of: a rep that shares its core with anything runs slower

__attribute__((target("avx512f"), noinline)) float fma_loop_512(int64_t iters) {
    __m512 acc[kChains512];
    for (int i = 0; i < kChains512; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32  // the chains stay in registers only if this loop is gone
        for (int i = 0; i < kChains512; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < kChains512; ++i) s = _mm512_add_ps(s, acc[i]);
    alignas(64) float out[16];
    _mm512_store_ps(out, s);
    return out[0];
}

// bf16 rows on the avx512 path run on vdpbf16ps where the CPU has it: 32 multiply-adds per
// instruction, twice an fp32 FMA's, so their peak is this loop's, not the FMA loop's.
__attribute__((target("avx512f,avx512bf16"), noinline)) float dpbf16_loop_512(int64_t iters) {
    __m512 acc[kChains512];
    for (int i = 0; i < kChains512; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.f), _mm512_set1_ps(1.f));
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32  // the chains stay in registers only if this loop is gone
        for (int i = 0; i < kChains512; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < kChains512; ++i) s = _mm512_add_ps(s, acc[i]);
    alignas(64) float out[16];
    _mm512_store_ps(out, s);
    return out[0];
}

__attribute__((target("avx2,fma"), noinline)) float fma_loop_256(int64_t iters) {
    __m256 acc[kChains256];
    for (int i = 0; i < kChains256; ++i) acc[i] = _mm256_set1_ps(float(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32  // the chains stay in registers only if this loop is gone
        for (int i = 0; i < kChains256; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < kChains256; ++i) s = _mm256_add_ps(s, acc[i]);
    alignas(32) float out[8];
    _mm256_store_ps(out, s);
    return out[0];
}

// Baseline x86-64 has no FMA, so the generic kernels multiply and then add: their peak is
// mulps + addps throughput. In assembly because the order matters: GCC interleaves each chain's
// mul with its add, and on Zen 4 that order reaches ~10% less than all muls, then all adds.
__attribute__((noinline)) float mul_add_loop_128(int64_t iters) {
    static_assert(kChains128 == 12, "the asm below names 12 chains");
    __m128 c0 = _mm_set1_ps(0.f), c1 = _mm_set1_ps(1.f), c2 = _mm_set1_ps(2.f),
           c3 = _mm_set1_ps(3.f), c4 = _mm_set1_ps(4.f), c5 = _mm_set1_ps(5.f),
           c6 = _mm_set1_ps(6.f), c7 = _mm_set1_ps(7.f), c8 = _mm_set1_ps(8.f),
           c9 = _mm_set1_ps(9.f), c10 = _mm_set1_ps(10.f), c11 = _mm_set1_ps(11.f);
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
    if (iters > 0)
        asm volatile(
            "1:\n\t"
            "mulps %[a], %[c0]\n\t" "mulps %[a], %[c1]\n\t" "mulps %[a], %[c2]\n\t"
            "mulps %[a], %[c3]\n\t" "mulps %[a], %[c4]\n\t" "mulps %[a], %[c5]\n\t"
            "mulps %[a], %[c6]\n\t" "mulps %[a], %[c7]\n\t" "mulps %[a], %[c8]\n\t"
            "mulps %[a], %[c9]\n\t" "mulps %[a], %[c10]\n\t" "mulps %[a], %[c11]\n\t"
            "addps %[b], %[c0]\n\t" "addps %[b], %[c1]\n\t" "addps %[b], %[c2]\n\t"
            "addps %[b], %[c3]\n\t" "addps %[b], %[c4]\n\t" "addps %[b], %[c5]\n\t"
            "addps %[b], %[c6]\n\t" "addps %[b], %[c7]\n\t" "addps %[b], %[c8]\n\t"
            "addps %[b], %[c9]\n\t" "addps %[b], %[c10]\n\t" "addps %[b], %[c11]\n\t"
            "dec %[n]\n\t"
            "jnz 1b"
            : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3), [c4] "+x"(c4),
              [c5] "+x"(c5), [c6] "+x"(c6), [c7] "+x"(c7), [c8] "+x"(c8), [c9] "+x"(c9),
              [c10] "+x"(c10), [c11] "+x"(c11), [n] "+r"(iters)
            : [a] "x"(a), [b] "x"(b)
            : "cc");
    const __m128 s = _mm_add_ps(_mm_add_ps(_mm_add_ps(c0, c1), _mm_add_ps(c2, c3)),
                                _mm_add_ps(_mm_add_ps(c4, c5), _mm_add_ps(c6, c7)));
    return _mm_cvtss_f32(_mm_add_ps(s, _mm_add_ps(_mm_add_ps(c8, c9), _mm_add_ps(c10, c11))));
}

struct PeakLoop {
    const char* name;
    float (*run)(int64_t iters);
    double flop_per_iter;
};

// The loop on whose instructions the kernels of `isa` compute in `dtype`.
PeakLoop peak_loop(int32_t isa, int32_t dtype) {
    if (isa == HA_CPU_ISA_AVX512 && dtype == HA_DTYPE_BF16 &&
        __builtin_cpu_supports("avx512bf16"))
        return {"avx512 vdpbf16ps", dpbf16_loop_512, 64.0 * kChains512};
    switch (isa) {
        case HA_CPU_ISA_AVX512: return {"avx512 FMA", fma_loop_512, 2.0 * 16 * kChains512};
        case HA_CPU_ISA_AVX2: return {"avx2 FMA", fma_loop_256, 2.0 * 8 * kChains256};
        default: return {"generic, SSE mul+add", mul_add_loop_128, 2.0 * 4 * kChains128};
    }
}

// Wall time of `threads` copies of run(iters) started together. The calling thread runs one of
// them, so no helper spinning on the start flag can keep it off a core while the clock runs.
double time_parallel(float (*run)(int64_t), int64_t iters, int threads) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> helpers;
    for (int t = 1; t < threads; ++t)
        helpers.emplace_back([&] {
            ready.fetch_add(1);
            while (!go.load()) std::this_thread::yield();
            volatile float s = run(iters);
            (void)s;
        });
    while (ready.load() < threads - 1) std::this_thread::yield();
    const auto t0 = Clock::now();
    go.store(true);
    volatile float s = run(iters);
    (void)s;
    for (auto& h : helpers) h.join();
    return seconds_since(t0);
}

struct Peak {
    const char* loop;
    double one, all;  // GFLOP/s
};

// GFLOP/s of loop `l` on 1 thread and on `threads`, each the best of kPeakReps.
Peak measure_peak(const PeakLoop& l, int threads) {
    volatile float warm = l.run(kPeakIters / 10);  // the clocks ramp up on the first run
    (void)warm;
    Peak p{l.name, 0, 0};
    const double flop = l.flop_per_iter * double(kPeakIters);
    for (int rep = 0; rep < kPeakReps; ++rep) {
        p.one = std::max(p.one, flop / time_parallel(l.run, kPeakIters, 1) * 1e-9);
        p.all = std::max(p.all, threads * flop / time_parallel(l.run, kPeakIters, threads) * 1e-9);
    }
    return p;
}

// The "%peak" column. Above 100% the peak, not the kernel, is wrong (a loop that no longer fits
// its registers, a busy core during the peak run): say so rather than print an impossible figure.
std::string percent_of_peak(double gflops, double peak, bool& over) {
    if (peak <= 0) return "-";
    if (gflops > peak) {
        over = true;
        return ">peak!";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * gflops / peak);
    return buf;
}

void print_peak(const char* dtype, const Peak& p, int threads) {
    std::printf("%s peak (%s): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d thread%s\n", dtype,
                p.loop, p.one, p.all, threads, threads == 1 ? "" : "s");
}

// ---- memory read bandwidth ---------------------------------------------------------------
double measure_read_bw(int threads, size_t bytes) {
    const size_t n = bytes / sizeof(uint64_t);
    std::vector<uint64_t> buf(n);
    for (size_t i = 0; i < n; ++i) buf[i] = i;
    double best = 0;
    for (int rep = 0; rep < 4; ++rep) {
        std::vector<std::thread> ts;
        std::vector<uint64_t> sums(threads * 8);
        auto t0 = Clock::now();
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] {
                const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
                uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (size_t i = lo; i + 4 <= hi; i += 4) {
                    s0 += buf[i];
                    s1 += buf[i + 1];
                    s2 += buf[i + 2];
                    s3 += buf[i + 3];
                }
                sums[t * 8] = s0 + s1 + s2 + s3;
            });
        for (auto& t : ts) t.join();
        best = std::max(best, double(bytes) / seconds_since(t0) * 1e-9);
    }
    return best;
}

// ---- attention ---------------------------------------------------------------------------
struct Tensor {
    std::vector<uint16_t> storage;  // 2-byte units, so bf16/f16 and f32 share one allocator
    ha_tensor t{};
};

// [b, h, s, d] shape; memory in bhsd or bshd order.
Tensor make_tensor(int64_t B, int64_t H, int64_t S, int64_t D, int32_t dtype, bool bshd,
                   std::mt19937& rng, bool fill) {
    Tensor x;
    const int64_t n = B * H * S * D;
    const int es = dtype == HA_DTYPE_F32 ? 2 : 1;
    x.storage.resize(size_t(n * es));
    if (fill) {
        std::normal_distribution<float> nd(0.f, 1.f);
        // Random data costs more than the benchmark at 128k keys; repeat a random block.
        std::vector<float> block(4096);
        for (float& f : block) f = nd(rng);
        for (int64_t i = 0; i < n; ++i) {
            const float f = block[size_t(i) % block.size()];
            if (dtype == HA_DTYPE_BF16)
                x.storage[size_t(i)] = to_bf16(f);
            else if (dtype == HA_DTYPE_F16)
                x.storage[size_t(i)] = ha::f32_to_f16_bits(f);
            else
                std::memcpy(&x.storage[size_t(i) * 2], &f, 4);
        }
    }
    x.t.data = x.storage.data();
    x.t.dtype = dtype;
    x.t.device_type = HA_DEVICE_CPU;
    const int64_t shape[4] = {B, H, S, D};
    std::memcpy(x.t.shape, shape, sizeof shape);
    if (bshd) {
        const int64_t st[4] = {S * H * D, D, H * D, 1};
        std::memcpy(x.t.strides, st, sizeof st);
    } else {
        const int64_t st[4] = {H * S * D, S * D, D, 1};
        std::memcpy(x.t.strides, st, sizeof st);
    }
    return x;
}

struct Case {
    int64_t B, Hq, Hkv, Nq, Nk, D;
    int32_t dtype;
    bool causal;
};

struct Result {
    double median_s = 0, min_s = 0;
    bool ok = false;
};

Result time_case(const Case& c, bool bshd, int runs) {
    std::mt19937 rng(42);
    Tensor q = make_tensor(c.B, c.Hq, c.Nq, c.D, c.dtype, bshd, rng, true);
    Tensor k = make_tensor(c.B, c.Hkv, c.Nk, c.D, c.dtype, bshd, rng, true);
    Tensor v = make_tensor(c.B, c.Hkv, c.Nk, c.D, c.dtype, bshd, rng, true);
    Tensor o = make_tensor(c.B, c.Hq, c.Nq, c.D, c.dtype, bshd, rng, false);
    ha_exact_params params;
    ha_exact_params_init(&params);
    params.causal = c.causal;
    Result r;
    if (ha_attention_exact(&q.t, &k.t, &v.t, &o.t, nullptr, &params) != HA_OK) {  // warm-up
        std::fprintf(stderr, "ha_attention_exact failed: %s\n", ha_last_error());
        return r;
    }
    std::vector<double> ts;
    for (int i = 0; i < runs; ++i) {
        auto t0 = Clock::now();
        ha_attention_exact(&q.t, &k.t, &v.t, &o.t, nullptr, &params);
        ts.push_back(seconds_since(t0));
    }
    std::sort(ts.begin(), ts.end());
    r.median_s = ts[ts.size() / 2];
    r.min_s = ts[0];
    r.ok = true;
    return r;
}

// Decode over a paged cache: B sequences of lens[b] keys in pages of `ps` positions
// ([pages, ps, Hkv, D]), the pages of all sequences shuffled through the pool as a serving
// runtime's allocator leaves them. One ha_attention_exact_seqs call per step.
Result time_paged_decode(const std::vector<int64_t>& lens, int64_t Hq, int64_t Hkv, int64_t D,
                         int32_t dtype, int64_t ps, int runs) {
    std::mt19937 rng(7);
    const int64_t B = int64_t(lens.size());
    int64_t pages = 0, max_pages = 1;
    for (int64_t n : lens) {
        pages += (n + ps - 1) / ps;
        max_pages = std::max(max_pages, (n + ps - 1) / ps);
    }
    std::vector<int32_t> perm(static_cast<size_t>(pages));
    for (int64_t i = 0; i < pages; ++i) perm[size_t(i)] = int32_t(i);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int32_t> table(static_cast<size_t>(B * max_pages), 0), seqlens;
    int64_t next = 0;
    for (int64_t b = 0; b < B; ++b) {
        seqlens.push_back(int32_t(lens[size_t(b)]));
        for (int64_t j = 0; j < (lens[size_t(b)] + ps - 1) / ps; ++j)
            table[size_t(b * max_pages + j)] = perm[size_t(next++)];
    }
    // [pages, ps, Hkv, D] is make_tensor's bshd layout of [pages, Hkv, ps, D].
    Tensor k = make_tensor(pages, Hkv, ps, D, dtype, true, rng, true);
    Tensor v = make_tensor(pages, Hkv, ps, D, dtype, true, rng, true);
    Tensor q = make_tensor(B, Hq, 1, D, dtype, false, rng, true);
    Tensor o = make_tensor(B, Hq, 1, D, dtype, false, rng, false);
    ha_seqs seqs;
    ha_seqs_init(&seqs);
    seqs.count = int32_t(B);
    seqs.page_size = int32_t(ps);
    seqs.seqlens_k = seqlens.data();
    seqs.block_table = table.data();
    seqs.block_table_stride = max_pages;
    seqs.max_pages = int32_t(max_pages);
    ha_exact_params params;
    ha_exact_params_init(&params);
    params.causal = 1;
    Result r;
    if (ha_attention_exact_seqs(&q.t, &k.t, &v.t, &o.t, nullptr, &seqs, &params) != HA_OK) {
        std::fprintf(stderr, "ha_attention_exact_seqs failed: %s\n", ha_last_error());
        return r;
    }
    std::vector<double> ts;
    for (int i = 0; i < runs; ++i) {
        auto t0 = Clock::now();
        ha_attention_exact_seqs(&q.t, &k.t, &v.t, &o.t, nullptr, &seqs, &params);
        ts.push_back(seconds_since(t0));
    }
    std::sort(ts.begin(), ts.end());
    r.median_s = ts[ts.size() / 2];
    r.min_s = ts[0];
    r.ok = true;
    return r;
}

double attention_flops(const Case& c) {
    const double f = 4.0 * double(c.Nq) * double(c.Nk) * double(c.D) * double(c.Hq) * double(c.B);
    return c.causal ? f / 2 : f;
}

const char* dtype_label(int32_t dt) {
    return dt == HA_DTYPE_F32 ? "f32" : dt == HA_DTYPE_BF16 ? "bf16" : "f16";
}

void usage() {
    std::printf(
        "usage: ha_bench [--quick] [--threads N] [--isa generic|avx2|avx512] "
        "[--layout bhsd|bshd] [--runs N] [--no-decode] [--no-prefill] [--dtypes f32,bf16,f16]\n"
        "  --dtypes: the storage dtypes to time, comma-separated (default f32,bf16)\n");
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false, bshd = false, decode = true, prefill = true;
    int threads = 0, runs = 3;
    int32_t isa = HA_CPU_ISA_AUTO;
    std::vector<int32_t> dtypes = {HA_DTYPE_F32, HA_DTYPE_BF16};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--quick") quick = true;
        else if (a == "--threads") threads = std::atoi(next().c_str());
        else if (a == "--runs") runs = std::max(1, std::atoi(next().c_str()));
        else if (a == "--no-decode") decode = false;
        else if (a == "--no-prefill") prefill = false;
        else if (a == "--layout") bshd = next() == "bshd";
        else if (a == "--dtypes") {
            dtypes.clear();
            const std::string list = next() + ",";
            for (size_t at = 0, comma; (comma = list.find(',', at)) != std::string::npos; at = comma + 1) {
                const std::string d = list.substr(at, comma - at);
                if (d == "f32") dtypes.push_back(HA_DTYPE_F32);
                else if (d == "bf16") dtypes.push_back(HA_DTYPE_BF16);
                else if (d == "f16") dtypes.push_back(HA_DTYPE_F16);
                else if (!d.empty()) {
                    usage();
                    return 2;
                }
            }
            if (dtypes.empty()) {
                usage();
                return 2;
            }
        }
        else if (a == "--isa") {
            std::string s = next();
            isa = s == "generic" ? HA_CPU_ISA_GENERIC : s == "avx2" ? HA_CPU_ISA_AVX2
                : s == "avx512" ? HA_CPU_ISA_AVX512 : -1;
        } else {
            usage();
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (quick) runs = std::min(runs, 2);
    if (ha_set_num_threads(threads) != HA_OK || ha_set_cpu_isa(isa) != HA_OK) {
        std::fprintf(stderr, "error: %s\n", ha_last_error());
        return 1;
    }
    const int nthreads = ha_get_num_threads();

    std::printf("hyperattn %s  bench  isa=%s  threads=%d  layout=%s\n", ha_version_string(),
                isa_name(ha_get_cpu_isa()), nthreads, bshd ? "bshd" : "bhsd");
    const PeakLoop f32_loop = peak_loop(ha_get_cpu_isa(), HA_DTYPE_F32);
    const PeakLoop bf16_loop = peak_loop(ha_get_cpu_isa(), HA_DTYPE_BF16);
    const Peak f32_peak = measure_peak(f32_loop, nthreads);
    print_peak("fp32", f32_peak, nthreads);
    const bool own_bf16_peak = bf16_loop.run != f32_loop.run;
    const Peak bf16_peak = own_bf16_peak ? measure_peak(bf16_loop, nthreads) : f32_peak;
    if (own_bf16_peak) print_peak("bf16", bf16_peak, nthreads);
    const double bw = measure_read_bw(nthreads, size_t(1) << 30);
    std::printf("memory read bandwidth: %.1f GB/s (%d threads, 1 GiB buffer)\n\n", bw, nthreads);

    if (prefill) {
        std::printf("exact attention (FLOPs = 4*Nq*Nk*D*Hq, halved when causal; median of %d)\n",
                    runs);
        std::printf("  Hq=32 Hkv=8 below 16k; 16k uses Hq=4 Hkv=1 to keep a run short "
                    "(GFLOP/s does not depend on heads once heads*tiles >> threads)\n");
        if (own_bf16_peak) std::printf("  %%peak of the bf16 peak for bf16 rows\n");
        std::printf("%7s %4s %6s %5s %4s %4s %10s %10s %8s\n", "N", "D", "causal", "dtype", "Hq",
                    "Hkv", "time(ms)", "GFLOP/s", "%peak");
        std::vector<int64_t> ns = quick ? std::vector<int64_t>{1024, 4096}
                                        : std::vector<int64_t>{1024, 4096, 16384};
        bool over_peak = false;
        auto dtype_peak = [&](int32_t dt) {
            return dt == HA_DTYPE_BF16 ? bf16_peak.all : f32_peak.all;
        };
        for (int64_t n : ns)
            for (int64_t d : {64, 128})
                for (int32_t dt : dtypes)
                    for (bool causal : {false, true}) {
                        const bool big = n >= 16384;
                        Case c{1, big ? 4 : 32, big ? 1 : 8, n, n, d, dt, causal};
                        Result r = time_case(c, bshd, runs);
                        if (!r.ok) return 1;
                        const double gf = attention_flops(c) / r.median_s * 1e-9;
                        std::printf("%7lld %4lld %6s %5s %4lld %4lld %10.2f %10.1f %8s\n",
                                    (long long)n, (long long)d, causal ? "yes" : "no",
                                    dtype_label(dt), (long long)c.Hq,
                                    (long long)c.Hkv, r.median_s * 1e3, gf,
                                    percent_of_peak(gf, dtype_peak(dt), over_peak).c_str());
                        std::fflush(stdout);
                    }
        if (over_peak)
            std::printf("warning: rows marked >peak! ran faster than their dtype's measured peak, "
                        "so that peak is too low; their %%peak is not shown\n");
        std::printf("\n");
    }

    if (decode) {
        // Both KV-cache layouts whatever --layout says: [b,s,h,d] is what Java runtimes
        // (llama3.java, Jlama) keep, and reads each head's rows a page apart.
        std::printf("decode (Nq=1, Hq=32, Hkv=8, D=128; GB/s = K+V bytes read / time; "
                    "memory read bandwidth %.1f GB/s)\n", bw);
        std::printf("%8s %5s %6s %10s %10s %8s\n", "Nk", "dtype", "layout", "time(ms)", "GB/s",
                    "%bw");
        std::vector<int64_t> nks = quick ? std::vector<int64_t>{32768}
                                         : std::vector<int64_t>{32768, 131072};
        for (int64_t nk : nks)
            for (int32_t dt : dtypes)
                for (bool kv_bshd : {false, true}) {
                    Case c{1, 32, 8, 1, nk, 128, dt, false};
                    Result r = time_case(c, kv_bshd, std::max(runs, 5));
                    if (!r.ok) return 1;
                    const double bytes = 2.0 * nk * c.Hkv * c.D * (dt == HA_DTYPE_F32 ? 4 : 2);
                    const double gbs = bytes / r.median_s * 1e-9;
                    std::printf("%8lld %5s %6s %10.3f %10.1f %7.1f%%\n", (long long)nk,
                                dtype_label(dt), kv_bshd ? "bshd" : "bhsd",
                                r.median_s * 1e3, gbs, 100.0 * gbs / bw);
                    std::fflush(stdout);
                }
        // Paged caches (pages shuffled through the pool): one sequence, then a batch of 8
        // sequences of different lengths in one call.
        auto paged_row = [&](const std::vector<int64_t>& lens, int32_t dt, int64_t ps) {
            Result r = time_paged_decode(lens, 32, 8, 128, dt, ps, std::max(runs, 5));
            if (!r.ok) return false;
            int64_t total = 0;
            for (int64_t n : lens) total += n;
            const double bytes = 2.0 * double(total) * 8 * 128 * (dt == HA_DTYPE_F32 ? 4 : 2);
            const double gbs = bytes / r.median_s * 1e-9;
            std::printf("%8lld %5s %6s %10.3f %10.1f %7.1f%%  (%zu seq%s, page %lld)\n",
                        (long long)total, dtype_label(dt), "paged",
                        r.median_s * 1e3, gbs, 100.0 * gbs / bw, lens.size(),
                        lens.size() > 1 ? "s" : "", (long long)ps);
            std::fflush(stdout);
            return true;
        };
        for (int32_t dt : dtypes)
            for (int64_t ps : {16, 256})
                if (!paged_row({32768}, dt, ps)) return 1;
        const std::vector<int64_t> batch = {1500, 9000, 3000, 12000, 700, 6000, 2200, 8000};
        for (int32_t dt : dtypes)
            if (!paged_row(batch, dt, 16)) return 1;
    }
    return 0;
}
