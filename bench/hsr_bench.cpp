// hsr_bench: HSR sparse attention for decoding against the library's exact attention over the
// same KV cache, with the machine's memory read bandwidth measured in the same run. Public C API
// only.
//
//   ha_bench_hsr [--sizes 32768,131072,524288,1048576] [--inputs structured,gaussian]
//                [--dtype bf16|f32] [--runs N] [--threads N] [--eps E] [--no-reference]
//                [--no-hugepages] [--sharp S] [--spread X] [--profile relu|softmax|exact]
//                [--no-key-copy]
// The KV cache is allocated on transparent huge pages unless --no-hugepages: HSR gathers the
// rows of the blocks it visits, and 4 KiB pages cost a TLB miss per row.
//
// Decoding: one new token, Hq = 32 query heads over Hkv = 8 kv heads, D = 128, a [b,h,s,d]
// cache of n keys. Per token it times
//   exact     ha_attention_exact (FlashAttention-2 decode)
//   relu      ha_attention_hsr, ReLU^1 with the paper's bias b = sigma*sqrt(0.4 ln n), sigma the
//             standard deviation of the scaled scores (measured on the data)
//   softmax   ha_attention_hsr, softmax with eps (default 1e-3)
// and reports the fraction of keys whose score was computed, the largest certified error bound
// and the largest true error against a float64 reference. Inputs:
//   structured  per kv head n/256 clusters of keys (centre ~ N(0, I), key = centre + spread x
//               N(0, I), default spread 0.05), cluster order random along the cache; 4
//               attention-sink keys; each query head is sharp x a random cluster centre of its
//               kv head (default 2.5) plus noise and a shared sink direction: peaked attention.
//               --sharp and --spread move between peaked and flat.
//   gaussian    q, k, v ~ N(0, I): unstructured, every key matters.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>

#include "bench_common.h"
#include "hyperattn.h"

namespace {

using habench::to_bf16;
using habench::from_bf16;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int64_t Hq = 32, Hkv = 8, D = 128, kAppend = 4096;

// ---- fast parallel random numbers ----------------------------------------------------------------
struct Rng {
    uint64_t s;
    uint64_t next() {
        s += 0x9e3779b97f4a7c15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return float(next() >> 40) * 0x1p-24f; }
    float normal() {  // Irwin-Hall(4) scaled to unit variance: cheap and good enough here
        return (uniform() + uniform() + uniform() + uniform() - 2.f) * 1.7320508f;
    }
};

template <class F>
void parallel(int64_t n, int threads, F&& f) {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            for (int64_t i = t; i < n; i += threads) f(i);
        });
    for (auto& t : ts) t.join();
}

// Page-aligned storage, optionally on transparent huge pages (MADV_HUGEPAGE), as a serving
// stack would allocate a large KV cache.
struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { std::free(p); }
    void alloc(size_t n, bool huge) {
        std::free(p);
        bytes = (n + (size_t(2) << 20) - 1) / (size_t(2) << 20) * (size_t(2) << 20);
        p = std::aligned_alloc(size_t(2) << 20, bytes);
        if (!p) {
            std::fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
            std::exit(1);
        }
        if (huge) madvise(p, bytes, MADV_HUGEPAGE);
        std::memset(p, 0, bytes);
    }
};

bool g_huge = true;

// A [B=1, H, S, D] tensor in [b,h,s,d] order, bf16 or f32.
struct Tensor {
    int32_t dtype = HA_DTYPE_BF16;
    int64_t H = 0, S = 0;
    Buffer buf;
    void alloc(int32_t dt, int64_t h, int64_t s) {
        dtype = dt;
        H = h;
        S = s;
        buf.alloc(size_t(h * s * D) * (dt == HA_DTYPE_BF16 ? 2 : 4), g_huge);
    }
    void set(int64_t h, int64_t s, int64_t d, float x) {
        const size_t i = size_t((h * S + s) * D + d);
        if (dtype == HA_DTYPE_BF16) static_cast<uint16_t*>(buf.p)[i] = to_bf16(x);
        else static_cast<float*>(buf.p)[i] = x;
    }
    float get(int64_t h, int64_t s, int64_t d) const {
        const size_t i = size_t((h * S + s) * D + d);
        return dtype == HA_DTYPE_BF16 ? from_bf16(static_cast<const uint16_t*>(buf.p)[i])
                                      : static_cast<const float*>(buf.p)[i];
    }
    ha_tensor view(int64_t n) const {  // the first n positions
        ha_tensor t{};
        t.data = buf.p;
        t.dtype = dtype;
        t.device_type = HA_DEVICE_CPU;
        const int64_t shape[4] = {1, H, n, D}, st[4] = {H * S * D, S * D, D, 1};
        std::memcpy(t.shape, shape, sizeof shape);
        std::memcpy(t.strides, st, sizeof st);
        return t;
    }
};

struct Problem {
    Tensor q, k, v;  // k, v hold n + kAppend positions
};

struct Shape {
    double sharp = 2.5;    // queries: sharp x a cluster centre (peakedness)
    double spread = 0.05;  // keys: centre + spread x N(0, I) (cluster tightness)
};

void fill(Problem& p, bool structured, const Shape& shape, int threads, uint64_t seed) {
    const int64_t S = p.k.S, G = Hq / Hkv;
    const int64_t C = std::max<int64_t>(1, S / 256);  // clusters of ~256 keys
    std::vector<float> cen(static_cast<size_t>(Hkv * C * D)), sink(static_cast<size_t>(Hkv * D));
    Rng r{seed};
    for (float& x : cen) x = r.normal();
    for (float& x : sink) x = r.normal();
    parallel(Hkv * 64, threads, [&](int64_t task) {
        const int64_t h = task / 64, part = task % 64;
        Rng g{seed * 1000003 + uint64_t(task) * 7919 + 1};
        for (int64_t s = S * part / 64; s < S * (part + 1) / 64; ++s) {
            const int64_t c = int64_t(g.next() % uint64_t(C));
            for (int64_t d = 0; d < D; ++d) {
                float kx, vx = g.normal();
                if (!structured) kx = g.normal();
                else if (s < 4) kx = 3.f * sink[size_t(h * D + d)];
                else kx = cen[size_t((h * C + c) * D + d)] + float(shape.spread) * g.normal();
                p.k.set(h, s, d, kx);
                p.v.set(h, s, d, vx);
            }
        }
    });
    for (int64_t h = 0; h < Hq; ++h) {
        const int64_t hk = h / G, c = int64_t(r.next() % uint64_t(C));
        for (int64_t d = 0; d < D; ++d) {
            const float x = structured ? float(shape.sharp) * cen[size_t((hk * C + c) * D + d)] +
                                             0.2f * r.normal() + 0.3f * sink[size_t(hk * D + d)]
                                       : r.normal();
            p.q.set(h, 0, d, x);
        }
    }
}

// ---- memory read bandwidth -------------------------------------------------------------------------
double measure_read_bw(int threads, size_t bytes) {
    const size_t n = bytes / sizeof(uint64_t);
    std::vector<uint64_t> buf(n);
    for (size_t i = 0; i < n; ++i) buf[i] = i;
    double best = 0;
    for (int rep = 0; rep < 4; ++rep) {
        std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8);
        auto t0 = Clock::now();
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] {
                const size_t lo = n * size_t(t) / size_t(threads), hi = n * size_t(t + 1) / size_t(threads);
                uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (size_t i = lo; i + 4 <= hi; i += 4) {
                    s0 += buf[i];
                    s1 += buf[i + 1];
                    s2 += buf[i + 2];
                    s3 += buf[i + 3];
                }
                sums[size_t(t) * 8] = s0 + s1 + s2 + s3;
            });
        for (auto& t : ts) t.join();
        best = std::max(best, double(bytes) / since(t0) * 1e-9);
    }
    return best;
}

// ---- float64 references of the new token's rows --------------------------------------------------------
struct Reference {
    std::vector<double> softmax, relu;  // [Hq][D]
};

Reference reference(const Problem& p, int64_t n, double scale, double bias, int threads) {
    Reference ref;
    ref.softmax.assign(size_t(Hq * D), 0.0);
    ref.relu.assign(size_t(Hq * D), 0.0);
    parallel(Hq, threads, [&](int64_t h) {
        const int64_t hk = h / (Hq / Hkv);
        std::vector<double> q(static_cast<size_t>(D)), s(static_cast<size_t>(n));
        for (int64_t d = 0; d < D; ++d) q[size_t(d)] = p.q.get(h, 0, d);
        double m = -INFINITY;
        std::vector<float> row(static_cast<size_t>(D));
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t d = 0; d < D; ++d) acc += q[size_t(d)] * double(p.k.get(hk, j, d));
            s[size_t(j)] = acc * scale;
            m = std::max(m, s[size_t(j)]);
        }
        double sum = 0, wsum = 0;
        double* os = ref.softmax.data() + h * D;
        double* orl = ref.relu.data() + h * D;
        for (int64_t j = 0; j < n; ++j) {
            const double e = std::exp(s[size_t(j)] - m), w = std::max(0.0, s[size_t(j)] - bias);
            sum += e;
            wsum += w;
            for (int64_t d = 0; d < D; ++d) {
                const double v = p.v.get(hk, j, d);
                os[d] += e * v;
                if (w > 0) orl[d] += w * v;
            }
        }
        for (int64_t d = 0; d < D; ++d) {
            os[d] /= sum;
            orl[d] = wsum > 0 ? orl[d] / wsum : 0.0;
        }
    });
    return ref;
}

// Standard deviation of the scaled scores q·k/sqrt(D), over all query heads and a sample of keys.
double score_sigma(const Problem& p, int64_t n, double scale) {
    double s1 = 0, s2 = 0;
    int64_t cnt = 0;
    const int64_t step = std::max<int64_t>(1, n / 4096);
    for (int64_t h = 0; h < Hq; ++h)
        for (int64_t j = 0; j < n; j += step) {
            double acc = 0;
            for (int64_t d = 0; d < D; ++d) acc += double(p.q.get(h, 0, d)) * p.k.get(h / (Hq / Hkv), j, d);
            acc *= scale;
            s1 += acc;
            s2 += acc * acc;
            ++cnt;
        }
    const double mean = s1 / double(cnt);
    return std::sqrt(std::max(0.0, s2 / double(cnt) - mean * mean));
}

double median(std::vector<double> t) {
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

void die(const char* what) {
    std::fprintf(stderr, "%s: %s\n", what, ha_last_error());
    std::exit(1);
}

double max_err(const Tensor& out, const std::vector<double>& ref, std::vector<double>* per_row = nullptr) {
    double m = 0;
    for (int64_t h = 0; h < Hq; ++h) {
        double r = 0;
        for (int64_t d = 0; d < D; ++d) r = std::max(r, std::fabs(double(out.get(h, 0, d)) - ref[size_t(h * D + d)]));
        if (per_row) per_row->push_back(r);
        m = std::max(m, r);
    }
    return m;
}

void usage() {
    std::printf("usage: ha_bench_hsr [--sizes n1,n2,...] [--inputs structured,gaussian] [--dtype bf16|f32]\n"
                "                    [--runs N] [--threads N] [--eps E] [--no-reference] [--no-hugepages]\n"
                "                    [--no-key-copy]\n"
                "                    [--sharp S] [--spread X] [--profile relu|softmax|exact]\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int64_t> sizes{32768, 131072, 524288, 1048576};
    std::vector<std::string> inputs{"structured", "gaussian"};
    int32_t dtype = HA_DTYPE_BF16;
    int runs = 9, threads = 0;
    double eps = 1e-3;
    bool with_ref = true, key_copy = true;
    std::string profile;  // "relu", "softmax" or "exact": run only that, many times (for perf)
    Shape shape;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--sizes") {
            sizes.clear();
            std::string s = next();
            for (size_t at = 0; at < s.size();) {
                const size_t comma = s.find(',', at);
                sizes.push_back(std::atoll(s.substr(at, comma - at).c_str()));
                at = comma == std::string::npos ? s.size() : comma + 1;
            }
        } else if (a == "--inputs") {
            inputs.clear();
            std::string s = next();
            for (size_t at = 0; at < s.size();) {
                const size_t comma = s.find(',', at);
                inputs.push_back(s.substr(at, comma - at));
                at = comma == std::string::npos ? s.size() : comma + 1;
            }
        } else if (a == "--dtype") dtype = next() == "f32" ? HA_DTYPE_F32 : HA_DTYPE_BF16;
        else if (a == "--runs") runs = std::max(1, std::atoi(next().c_str()));
        else if (a == "--threads") threads = std::atoi(next().c_str());
        else if (a == "--eps") eps = std::atof(next().c_str());
        else if (a == "--no-reference") with_ref = false;
        else if (a == "--profile") profile = next();
        else if (a == "--sharp") shape.sharp = std::atof(next().c_str());
        else if (a == "--spread") shape.spread = std::atof(next().c_str());
        else if (a == "--no-hugepages") g_huge = false;
        else if (a == "--no-key-copy") key_copy = false;
        else {
            usage();
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (ha_set_num_threads(threads) != HA_OK) die("threads");
    const int nt = ha_get_num_threads();
    const double bw = measure_read_bw(nt, size_t(1) << 30);
    std::printf("hyperattn %s  hsr decode bench  threads=%d  dtype=%s  Hq=%lld Hkv=%lld D=%lld  "
                "eps=%g  median of %d\n",
                ha_version_string(), nt, dtype == HA_DTYPE_BF16 ? "bf16" : "f32", (long long)Hq,
                (long long)Hkv, (long long)D, eps, runs);
    std::printf("memory read bandwidth: %.1f GB/s (%d threads, 1 GiB); exact's floor = K+V bytes / bw\n", bw, nt);
    std::printf("KV cache on %s pages; structured inputs: query = %.2f x cluster centre, key spread %.3f\n",
                g_huge ? "transparent huge" : "4 KiB", shape.sharp, shape.spread);
    std::printf("index: %s\n\n", key_copy ? "copy_keys = 1 (block-ordered key copy)"
                                         : "copy_keys = 0 (keys read in place through the permutation)");
    std::printf("%-10s %8s %9s | %9s %9s | %9s %7s %8s %9s | %9s %7s %8s %9s %9s | %8s %9s\n", "inputs",
                "n", "floor ms", "exact ms", "exact err", "relu ms", "speedup", "touched", "relu err",
                "soft ms", "speedup", "touched", "bound", "true err", "build s", "append us");
    const double scale = 1.0 / std::sqrt(double(D));
    for (const std::string& kind : inputs)
        for (int64_t n : sizes) {
            Problem p;
            p.q.alloc(dtype, Hq, 1);
            p.k.alloc(dtype, Hkv, n + kAppend);
            p.v.alloc(dtype, Hkv, n + kAppend);
            fill(p, kind == "structured", shape, std::max(1, nt), 42 + uint64_t(n));
            ha_tensor tq = p.q.view(1), tk = p.k.view(n), tv = p.v.view(n);
            Tensor out;
            out.alloc(dtype, Hq, 1);
            ha_tensor to = out.view(1);

            const double sigma = score_sigma(p, n, scale);
            const double bias = sigma * std::sqrt(0.4 * std::log(double(n)));

            ha_index_params ip;
            ha_index_params_init(&ip);
            ip.copy_keys = key_copy ? 1 : 0;
            ha_key_index* idx = nullptr;
            auto t0 = Clock::now();
            if (ha_key_index_create(&tk, &tv, &ip, &idx) != HA_OK) die("ha_key_index_create");
            const double build_s = since(t0);

            if (!profile.empty()) {
                ha_hsr_params pp;
                ha_hsr_params_init(&pp);
                pp.mode = profile == "relu" ? HA_HSR_RELU : HA_HSR_SOFTMAX;
                pp.bias = float(bias);
                pp.epsilon = eps;
                std::vector<double> ts;
                for (int i = 0; i < runs; ++i) {
                    auto t1 = Clock::now();
                    if (profile == "exact") {
                        ha_exact_params ep;
                        ha_exact_params_init(&ep);
                        if (ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &ep) != HA_OK) die("exact");
                    } else if (ha_attention_hsr(&tq, &tk, &tv, &to, idx, &pp, nullptr) != HA_OK) {
                        die("hsr");
                    }
                    ts.push_back(since(t1));
                }
                std::sort(ts.begin(), ts.end());
                std::printf("%s n=%lld %s: min %.3f ms, median %.3f ms\n", kind.c_str(), (long long)n,
                            profile.c_str(), ts[0] * 1e3, ts[ts.size() / 2] * 1e3);
                ha_key_index_destroy(idx);
                continue;
            }
            Reference ref;
            if (with_ref) ref = reference(p, n, scale, bias, std::max(1, nt));

            ha_exact_params ep;
            ha_exact_params_init(&ep);
            ha_hsr_params rp;
            ha_hsr_params_init(&rp);
            rp.mode = HA_HSR_RELU;
            rp.alpha = 1;
            rp.bias = float(bias);
            ha_hsr_params sp;
            ha_hsr_params_init(&sp);
            sp.mode = HA_HSR_SOFTMAX;
            sp.epsilon = eps;
            std::vector<float> dropped(Hq), bound(Hq);
            std::vector<int64_t> touched(Hq);
            ha_hsr_stats st{dropped.data(), bound.data(), touched.data()};
            auto run_exact = [&] {
                if (ha_attention_exact(&tq, &tk, &tv, &to, nullptr, &ep) != HA_OK) die("exact");
            };
            auto run_relu = [&] {
                if (ha_attention_hsr(&tq, &tk, &tv, &to, idx, &rp, &st) != HA_OK) die("hsr relu");
            };
            auto run_soft = [&] {
                if (ha_attention_hsr(&tq, &tk, &tv, &to, idx, &sp, &st) != HA_OK) die("hsr softmax");
            };
            // Timed in interleaved rounds (exact, ReLU, softmax, exact, ...): this machine's
            // memory bandwidth drifts by tens of percent over seconds, and the speedups are
            // ratios of times taken side by side.
            std::vector<double> te, tr, ts;
            for (int i = 0; i <= runs; ++i) {  // round 0 warms up
                auto t1 = Clock::now();
                run_exact();
                const double a = since(t1);
                t1 = Clock::now();
                run_relu();
                const double b = since(t1);
                t1 = Clock::now();
                run_soft();
                const double c = since(t1);
                if (i > 0) {
                    te.push_back(a);
                    tr.push_back(b);
                    ts.push_back(c);
                }
            }
            const double t_exact = median(te), t_relu = median(tr), t_soft = median(ts);

            run_exact();
            const double err_exact = with_ref ? max_err(out, ref.softmax) : NAN;
            run_relu();
            double relu_touch = 0;
            for (int64_t t : touched) relu_touch += double(t) / double(n) / Hq;
            const double err_relu = with_ref ? max_err(out, ref.relu) : NAN;
            run_soft();
            double soft_touch = 0, max_bound = 0, max_dropped = 0;
            for (int64_t h = 0; h < Hq; ++h) {
                soft_touch += double(touched[size_t(h)]) / double(n) / Hq;
                max_bound = std::max(max_bound, double(bound[size_t(h)]));
                max_dropped = std::max(max_dropped, double(dropped[size_t(h)]));
            }
            std::vector<double> row_err;
            const double err_soft = with_ref ? max_err(out, ref.softmax, &row_err) : NAN;
            // The bound covers dropping; the output's own rounding to bf16 / fp32 comes on top.
            int violations = 0;
            const double rounding = dtype == HA_DTYPE_BF16 ? 8e-3 : 1e-4;
            for (size_t h = 0; h < row_err.size(); ++h)
                violations += row_err[h] > double(bound[h]) + rounding;

            // Appending: one key at a time, as decoding does, over kAppend new keys.
            t0 = Clock::now();
            for (int64_t a = 1; a <= kAppend; ++a) {
                ha_tensor k2 = p.k.view(n + a), v2 = p.v.view(n + a);
                if (ha_key_index_append(idx, &k2, &v2) != HA_OK) die("append");
            }
            const double append_us = since(t0) / kAppend * 1e6;
            ha_key_index_destroy(idx);

            const double floor_ms = 2.0 * double(n) * Hkv * D * (dtype == HA_DTYPE_BF16 ? 2 : 4) / (bw * 1e9) * 1e3;
            std::printf("%-10s %8lld %9.2f | %9.2f %9.1e | %9.2f %6.1fx %7.2f%% %9.1e | %9.2f %6.1fx %7.2f%% %9.1e "
                        "%9.1e | %8.2f %9.1f%s\n",
                        kind.c_str(), (long long)n, floor_ms, t_exact * 1e3, err_exact, t_relu * 1e3,
                        t_exact / t_relu, 100 * relu_touch, err_relu, t_soft * 1e3, t_exact / t_soft,
                        100 * soft_touch, max_bound, err_soft, build_s, append_us,
                        violations ? "  BOUND VIOLATED" : "");
            std::printf("%-10s %8s bias b=%.3f (sigma %.3f); softmax max dropped mass %.2e\n", "", "", bias,
                        sigma, max_dropped);
            std::fflush(stdout);
        }
    return 0;
}
