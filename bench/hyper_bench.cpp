// ha_bench_hyper: HyperAttention against the library's own exact attention, both timed in the
// same run on the same machine, with the relative error ||O - O_exact||_F / ||O_exact||_F of
// HyperAttention beside each speedup, on structured and on Gaussian inputs. Public C API only.
//
//   ha_bench_hyper [--quick] [--min-n N] [--max-n N] [--d 64|128] [--causal 0|1]
//                  [--heads H] [--exact-heads E] [--threads T] [--runs R] [--seed S]
//                  [--hyper-only] [--projections R] [--block B] [--samples M] [--stats]
//
// Exact attention at n >= 32768 is timed on --exact-heads heads (default 1) and scaled to the
// head count linearly (heads are independent, equal work); the table says when it was. There,
// the error is measured on sampled query rows (8 slices of 64 rows spread over the sequence,
// on head 0): exact attention of a slice of rows is cheap to compute on its own (for causal,
// with the keys cut after the slice's last row, which bottom-right alignment makes exact).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "hyperattn.h"

namespace {

using habench::isa_name;
using habench::cpu_model;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the whole process (all threads): on a shared machine, where other processes
// take cores away, the ratio of CPU times is the steadier measure of the work saved.
double cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// ---- inputs ------------------------------------------------------------------------------
struct Rng {  // splitmix64; Box-Muller normals
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double unit() { return double((next() >> 11) + 1) * 0x1.0p-53; }
    float normal() {
        if (have) {
            have = false;
            return spare;
        }
        const double r = std::sqrt(-2.0 * std::log(unit())), a = 6.283185307179586 * unit();
        spare = float(r * std::sin(a));
        have = true;
        return float(r * std::cos(a));
    }
    bool have = false;
    float spare = 0;
};

// Dense [1, H, N, D] fp32.
struct Tensor {
    std::vector<float> x;
    int64_t H = 0, N = 0, D = 0;
    void resize(int64_t h, int64_t n, int64_t d) {
        H = h;
        N = n;
        D = d;
        x.assign(size_t(h * n * d), 0.f);
    }
    float* row(int64_t h, int64_t i) { return x.data() + (h * N + i) * D; }
    // A view of heads [h0, h0+nh) and rows [i0, i0+ni).
    ha_tensor view(int64_t h0 = 0, int64_t nh = -1, int64_t i0 = 0, int64_t ni = -1) {
        ha_tensor t{};
        t.data = x.data() + (h0 * N + i0) * D;
        t.dtype = HA_DTYPE_F32;
        t.device_type = HA_DEVICE_CPU;
        const int64_t shape[4] = {1, nh < 0 ? H : nh, ni < 0 ? N : ni, D};
        const int64_t strides[4] = {H * N * D, N * D, D, 1};
        std::memcpy(t.shape, shape, sizeof shape);
        std::memcpy(t.strides, strides, sizeof strides);
        return t;
    }
};

struct Inputs {
    Tensor q, k, v;
};

void fill_gaussian(Inputs& in, uint64_t seed) {
    for (Tensor* t : {&in.q, &in.k, &in.v}) {
        Rng r{seed++ * 0x51ed2701u};
        for (float& f : t->x) f = r.normal();
    }
}

// Text-like structure: the sequence is a run of segments (32 to 511 positions each), each about
// one of 256 topics (topics recur); a position's query, key and value derive from its topic
// (one token yields q, k and v) plus a little noise, and the first 4 keys are attention sinks
// every query leans towards. Exact attention concentrates on the positions of the query's
// topic.
void fill_structured(Inputs& in, uint64_t seed) {
    const int64_t H = in.q.H, N = in.q.N, D = in.q.D, nc = 256;
    Rng r{seed * 0x2545f4914f6cdd1dull + 1};
    std::vector<float> centre(static_cast<size_t>(nc * D)), value(static_cast<size_t>(nc * D)),
        sink(static_cast<size_t>(D));
    std::vector<int64_t> topic(static_cast<size_t>(N));
    for (int64_t h = 0; h < H; ++h) {
        for (float& f : centre) f = r.normal();
        for (float& f : value) f = r.normal();
        for (float& f : sink) f = r.normal();
        for (int64_t i = 0; i < N;) {
            const int64_t len = 32 + int64_t(r.next() % 480), t = int64_t(r.next() % uint64_t(nc));
            for (int64_t j = i; j < std::min(N, i + len); ++j) topic[size_t(j)] = t;
            i += len;
        }
        for (int64_t i = 0; i < N; ++i) {
            const float* c = centre.data() + topic[size_t(i)] * D;
            const float* w = value.data() + topic[size_t(i)] * D;
            float *q = in.q.row(h, i), *k = in.k.row(h, i), *v = in.v.row(h, i);
            for (int64_t d = 0; d < D; ++d) {
                q[d] = c[d] + 0.1f * r.normal() + 0.1f * sink[size_t(d)];
                k[d] = i < 4 ? 2.f * sink[size_t(d)] : c[d] + 0.1f * r.normal();
                v[d] = i < 4 ? r.normal() : w[d] + 0.5f * r.normal();
            }
        }
    }
}

// ---- runs --------------------------------------------------------------------------------
bool exact(Tensor& q, Tensor& k, Tensor& v, Tensor& o, bool causal, int64_t heads) {
    ha_exact_params p;
    ha_exact_params_init(&p);
    p.causal = causal;
    ha_tensor tq = q.view(0, heads), tk = k.view(0, heads), tv = v.view(0, heads),
              to = o.view(0, heads);
    if (ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &p) == HA_OK) return true;
    std::fprintf(stderr, "ha_attention_exact: %s\n", ha_last_error());
    return false;
}

int g_projections = 0, g_block = 0, g_samples = 0;  // 0: the default

bool hyper(Inputs& in, Tensor& o, bool causal, uint64_t seed, float* row_error = nullptr) {
    ha_hyper_params p;
    ha_hyper_params_init(&p);  // the defaults: r=7, block 256, 256 samples, min_seq_len 4096
    if (g_projections) p.lsh_projections = g_projections;
    if (g_block) p.block_size = g_block;
    if (g_samples) p.sample_size = g_samples;
    p.causal = causal;
    p.seed = seed;
    ha_tensor tq = in.q.view(), tk = in.k.view(), tv = in.v.view(), to = o.view();
    ha_hyper_stats st{row_error};
    if (ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, &p, row_error ? &st : nullptr) == HA_OK)
        return true;
    std::fprintf(stderr, "ha_attention_hyper: %s\n", ha_last_error());
    return false;
}

double median(std::vector<double> t) {
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

struct Err {
    double num = 0, den = 0;
    void add(const float* got, const float* want, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            const double e = double(got[i]) - double(want[i]);
            num += e * e;
            den += double(want[i]) * double(want[i]);
        }
    }
    double rel() const { return den > 0 ? std::sqrt(num / den) : 0; }
};

// Relative error of HyperAttention's output `oh` on `in`. Full: exact on every head.
// Sampled: exact on 8 slices of 64 rows of head 0.
double error_of(Inputs& in, Tensor& oh, bool causal, bool full) {
    Err e;
    const int64_t N = in.q.N, D = in.q.D;
    if (full) {
        Tensor oe;
        oe.resize(in.q.H, N, D);
        if (!exact(in.q, in.k, in.v, oe, causal, in.q.H)) return NAN;
        e.add(oh.x.data(), oe.x.data(), int64_t(oe.x.size()));
        return e.rel();
    }
    const int64_t rows = 64, slices = 8;
    std::vector<float> buf(static_cast<size_t>(rows * D));
    for (int64_t s = 0; s < slices; ++s) {
        const int64_t i0 = (N - rows) * (2 * s + 1) / (2 * slices);
        ha_exact_params p;
        ha_exact_params_init(&p);
        p.causal = causal;
        // Causal: the slice's rows see keys up to their own index, so keep keys [0, i0+rows).
        const int64_t nk = causal ? i0 + rows : N;
        ha_tensor tq = in.q.view(0, 1, i0, rows), tk = in.k.view(0, 1, 0, nk),
                  tv = in.v.view(0, 1, 0, nk);
        ha_tensor to{};
        to.data = buf.data();
        to.dtype = HA_DTYPE_F32;
        const int64_t shape[4] = {1, 1, rows, D}, strides[4] = {rows * D, rows * D, D, 1};
        std::memcpy(to.shape, shape, sizeof shape);
        std::memcpy(to.strides, strides, sizeof strides);
        if (ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &p) != HA_OK) return NAN;
        e.add(oh.row(0, i0), buf.data(), rows * D);
    }
    return e.rel();
}

void usage() {
    std::printf(
        "usage: ha_bench_hyper [--quick] [--min-n N] [--max-n N] [--d 64|128] [--causal 0|1]\n"
        "                      [--heads H] [--exact-heads E] [--threads T] [--runs R] [--seed S]\n"
        "                      [--hyper-only] [--projections R] [--block B] [--samples M]\n"
        "  --hyper-only skips timing exact attention (errors are still measured); the other three\n"
        "  override the defaults to show what each parameter trades; --stats times HyperAttention\n"
        "  with and without ha_hyper_stats.row_error (interleaved runs) instead\n");
}

}  // namespace

int main(int argc, char** argv) {
    int64_t min_n = 4096, max_n = 131072, heads = 2, exact_heads = 1;
    int threads = 0, runs = 3, only_d = 0, only_causal = -1;
    uint64_t seed = 1;
    bool quick = false, hyper_only = false, stats = false;
    int projections = 0, block = 0, samples = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--quick") quick = true;
        else if (a == "--hyper-only") hyper_only = true;
        else if (a == "--stats") stats = hyper_only = true;
        else if (a == "--projections") projections = std::atoi(next());
        else if (a == "--block") block = std::atoi(next());
        else if (a == "--samples") samples = std::atoi(next());
        else if (a == "--min-n") min_n = std::atoll(next());
        else if (a == "--max-n") max_n = std::atoll(next());
        else if (a == "--d") only_d = std::atoi(next());
        else if (a == "--causal") only_causal = std::atoi(next());
        else if (a == "--heads") heads = std::max<int64_t>(1, std::atoll(next()));
        else if (a == "--exact-heads") exact_heads = std::max<int64_t>(1, std::atoll(next()));
        else if (a == "--threads") threads = std::atoi(next());
        else if (a == "--runs") runs = std::max(1, std::atoi(next()));
        else if (a == "--seed") seed = std::strtoull(next(), nullptr, 10);
        else {
            usage();
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (quick) {
        max_n = std::min<int64_t>(max_n, 16384);
        runs = std::min(runs, 2);
    }
    g_projections = projections;
    g_block = block;
    g_samples = samples;
    if (ha_set_num_threads(threads) != HA_OK) {
        std::fprintf(stderr, "error: %s\n", ha_last_error());
        return 1;
    }
    ha_hyper_params def;
    ha_hyper_params_init(&def);
    if (projections) def.lsh_projections = projections;
    if (block) def.block_size = block;
    if (samples) def.sample_size = samples;
    std::printf("hyperattn %s  ha_bench_hyper  %s  isa=%s  threads=%d (hardware %u)\n",
                ha_version_string(), cpu_model().c_str(), isa_name(ha_get_cpu_isa()),
                ha_get_num_threads(), std::thread::hardware_concurrency());
    std::printf("HyperAttention %s: lsh_projections=%d block_size=%d sample_size=%d "
                "min_seq_len=%d; fp32, B=1, Hq=Hkv=%lld, [b,h,s,d]\n",
                projections || block || samples ? "parameters" : "defaults", def.lsh_projections, def.block_size, def.sample_size, def.min_seq_len,
                (long long)heads);
    std::printf("times: median of %d exact runs (one where exact takes > 2 s) and of %d hyper "
                "runs; exact at n >= 32768 timed on %lld head(s) and scaled x%lld/%lld\n",
                runs, std::max(runs, 5), (long long)exact_heads, (long long)heads,
                (long long)exact_heads);
    std::printf("error = ||O - O_exact||_F / ||O_exact||_F; 'rows' = all rows of all heads, or "
                "8x64 sampled rows of head 0 (n >= 32768)\n\n");
    std::printf("speedup = exact / hyper wall time; cpu = the same with process CPU time (steadier "
                "when other processes share the machine)\n");
    std::printf("%7s %4s %6s %11s %11s %8s %9s %11s %11s %7s\n", "n", "d", "causal", "exact(ms)",
                "hyper(ms)", "speedup", "cpu", "err(struct)", "err(gauss)", "rows");

    for (int64_t n = min_n; n <= max_n; n *= 2) {
        const int64_t nn = n;
        for (int64_t d : {64, 128}) {
            if (only_d && d != only_d) continue;
            Inputs g, s;
            for (Inputs* in : {&g, &s}) {
                in->q.resize(heads, nn, d);
                in->k.resize(heads, nn, d);
                in->v.resize(heads, nn, d);
            }
            fill_gaussian(g, seed + uint64_t(nn + d));
            fill_structured(s, seed + uint64_t(nn + d));
            Tensor oh, oe;
            oh.resize(heads, nn, d);
            for (bool causal : {false, true}) {
                if (only_causal >= 0 && causal != bool(only_causal)) continue;
                const bool big = nn >= 32768;
                const int64_t eh = big ? std::min(heads, exact_heads) : heads;
                oe.resize(eh, nn, d);
                // Exact, timed on the Gaussian inputs.
                std::vector<double> te, ce;
                for (int r = 0; r < (hyper_only ? 0 : runs); ++r) {
                    const auto t0 = Clock::now();
                    const double c0 = cpu_seconds();
                    if (!exact(g.q, g.k, g.v, oe, causal, eh)) return 1;
                    ce.push_back((cpu_seconds() - c0) * double(heads) / double(eh));
                    te.push_back(seconds_since(t0) * double(heads) / double(eh));
                    if (te.back() > 2.0) break;
                }
                if (stats) {  // with and without row_error, runs interleaved
                    std::vector<float> re(static_cast<size_t>(heads * nn));
                    std::vector<double> t0s, t1s, c0s, c1s;
                    if (!hyper(g, oh, causal, seed) || !hyper(g, oh, causal, seed, re.data())) return 1;
                    for (int r = 0; r < std::max(runs, 7); ++r)
                        for (int with = 0; with < 2; ++with) {
                            const auto t0 = Clock::now();
                            const double c0 = cpu_seconds();
                            if (!hyper(g, oh, causal, seed, with ? re.data() : nullptr)) return 1;
                            (with ? c1s : c0s).push_back(cpu_seconds() - c0);
                            (with ? t1s : t0s).push_back(seconds_since(t0));
                        }
                    std::vector<double> sorted_re(re.begin(), re.end());
                    const double mt0 = median(t0s), mt1 = median(t1s);
                    std::printf("%7lld %4lld %6s  hyper %9.2f ms  with row_error %9.2f ms  "
                                "overhead wall %+6.1f%%  cpu %+6.1f%%  min cpu %+6.1f%%  median row_error %.3g\n",
                                (long long)nn, (long long)d, causal ? "yes" : "no", mt0 * 1e3,
                                mt1 * 1e3, (mt1 / mt0 - 1) * 100,
                                (median(c1s) / median(c0s) - 1) * 100,
                                // the least disturbed run of each (a shared machine adds, never removes)
                                (*std::min_element(c1s.begin(), c1s.end()) / *std::min_element(c0s.begin(), c0s.end()) - 1) * 100,
                                median(sorted_re));
                    std::fflush(stdout);
                    continue;
                }
                // HyperAttention, timed on the Gaussian inputs after a warm-up.
                if (!hyper(g, oh, causal, seed)) return 1;
                std::vector<double> th, ch;
                for (int r = 0; r < std::max(runs, 5); ++r) {
                    const auto t0 = Clock::now();
                    const double c0 = cpu_seconds();
                    if (!hyper(g, oh, causal, seed)) return 1;
                    ch.push_back(cpu_seconds() - c0);
                    th.push_back(seconds_since(t0));
                }
                const double err_g = error_of(g, oh, causal, !big);
                if (!hyper(s, oh, causal, seed)) return 1;
                const double err_s = error_of(s, oh, causal, !big);
                const double t_h = median(th);
                if (hyper_only) {
                    std::printf("%7lld %4lld %6s %11s %11.2f %8s %9s %11.4f %11.4f %7s\n",
                                (long long)nn, (long long)d, causal ? "yes" : "no", "-",
                                t_h * 1e3, "-", "-", err_s, err_g, big ? "sampled" : "all");
                    continue;
                }
                const double t_e = median(te);
                std::printf("%7lld %4lld %6s %11.1f %11.2f %7.1fx %8.1fx %11.4f %11.4f %7s%s\n",
                            (long long)nn, (long long)d, causal ? "yes" : "no", t_e * 1e3,
                            t_h * 1e3, t_e / t_h, median(ce) / median(ch), err_s, err_g,
                            big ? "sampled" : "all",
                            nn <= def.min_seq_len ? "  (n <= min_seq_len: exact)"
                            : big && eh < heads ? "  (exact scaled)" : "");
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
