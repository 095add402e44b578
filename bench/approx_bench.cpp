// approx_bench: error-controlled approximate attention (ha_attention_approx) against the
// library's exact attention on the same tensors and thread count, on the input families of
// tests/common/families.h, with errors measured against a float64 reference on a random subset
// of rows (tests/common/approx_metrics.h). Public C API only. `approx_bench --help` for options.
//
// Prefill rows (default): one row per (n, d, causal, family[, target]); Nq = Nk = n, [b,h,s,d]
// tensors. Columns:
//   exact ms, approx ms   medians of --runs interleaved runs (exact, approx, exact, ...): the
//                         VM's memory bandwidth drifts, so only times taken side by side are
//                         compared
//   speedup               exact / approx
//   frob                  ||O^ - O||_F / ||O||_F over the evaluated rows
//   e mean, e p99, e max  e_i = ||o^_i - o_i|| / sqrt(sum_j p_ij ||v_j||^2) over the evaluated rows
//   triv e                mean e_i of the trivial estimator (each row = mean of its visible values)
//   est mean              mean of the library's estimate (stats.row_error) over all rows
//   >2est                 share of the evaluated rows whose true e_i exceeds twice their estimate
//   touched               mean over all rows of keys_touched / visible keys
//   L0/L1/L2              share of rows per level (first budget / refined / exact)
// --targets 0.1,0.05,... runs each configuration once per target (exact timed once per config).
// --decode: one token over a cache of --decode-keys (1M) keys, 32 q heads over 8 kv heads,
// D = 128, bf16, llm family; the index is built once (time reported separately); exact decode
// ms vs approx ms per token (median of --runs), mean e_i over the 32 rows.
// --hyper: also HyperAttention with its defaults on the same inputs (ms, Frobenius error, mean
// e_i, mean of its own row estimate).
// --shares: the families' measured mass shares (sinks / last 256 keys / far tail) per row.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>

#include "approx_metrics.h"
#include "families.h"
#include "bench_common.h"
#include "hyperattn.h"

namespace {

using habench::to_bf16;
using habench::from_bf16;
using habench::isa_name;
using habench::cpu_model;

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
double median(std::vector<double> x) { return hametrics::quantile(std::move(x), 0.5); }

// A dense [B, H, N, D] tensor in [b,h,s,d] order, 64-byte aligned.
struct Tensor {
    int32_t dtype = HA_DTYPE_F32;
    int64_t B = 0, H = 0, N = 0, D = 0;
    struct Free {
        void operator()(void* p) const { std::free(p); }
    };
    std::unique_ptr<void, Free> mem;
    int64_t esize() const { return dtype == HA_DTYPE_F32 ? 4 : 2; }
    void alloc(int32_t dt, int64_t b, int64_t h, int64_t n, int64_t d) {
        dtype = dt;
        B = b;
        H = h;
        N = n;
        D = d;
        size_t bytes = size_t(std::max<int64_t>(1, b * h * n * d) * esize());
        // Large tensors (a long KV cache) on 2 MiB-aligned transparent huge pages, as a serving
        // stack would allocate them (4 KiB pages cost a TLB miss per gathered row).
        const size_t align = bytes >= (size_t(64) << 20) ? size_t(2) << 20 : 64;
        bytes = (bytes + align - 1) / align * align;
        mem.reset(std::aligned_alloc(align, bytes));
        if (!mem) {
            std::fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
            std::exit(1);
        }
        if (align > 64) madvise(mem.get(), bytes, MADV_HUGEPAGE);
        std::memset(mem.get(), 0, bytes);
    }
    // copies n rows of H*... from dense floats of the same shape (offset in elements)
    void store(const float* src, size_t n, size_t at = 0) {
        if (dtype == HA_DTYPE_F32) {
            std::memcpy(static_cast<float*>(mem.get()) + at, src, n * 4);
        } else {
            uint16_t* p = static_cast<uint16_t*>(mem.get()) + at;
            for (size_t i = 0; i < n; ++i) p[i] = to_bf16(src[i]);
        }
    }
    void load_row(int64_t flat_row, float* dst) const {  // row flat_row of [B*H*N, D]
        const size_t at = size_t(flat_row * D);
        if (dtype == HA_DTYPE_F32) {
            std::memcpy(dst, static_cast<const float*>(mem.get()) + at, size_t(D) * 4);
        } else {
            const uint16_t* p = static_cast<const uint16_t*>(mem.get()) + at;
            for (int64_t d = 0; d < D; ++d) dst[d] = from_bf16(p[d]);
        }
    }
    ha_tensor view() const {
        ha_tensor t{};
        t.data = mem.get();
        t.dtype = dtype;
        t.device_type = HA_DEVICE_CPU;
        const int64_t shape[4] = {B, H, N, D}, st[4] = {H * N * D, N * D, D, 1};
        std::memcpy(t.shape, shape, sizeof shape);
        std::memcpy(t.strides, st, sizeof st);
        return t;
    }
};

struct Options {
    std::vector<int64_t> sizes{32768, 131072};
    std::vector<int64_t> dims{64, 128};
    std::vector<int> causal{0, 1};
    std::vector<int> families{hafam::DIFFUSE, hafam::CLUSTERED, hafam::LLM, hafam::NEEDLE};
    std::vector<double> targets{0.0};
    int32_t dtype = HA_DTYPE_F32;
    bool dtype_set = false;
    int64_t B = 1, Hq = 2, Hkv = 1;
    int threads = 0;  // 0: the library's default (all cores)
    int runs = 3;
    int64_t rows = 512;
    int32_t samples = -1, window = -1, sinks = -1, heavy = -1;  // -1: library default
    uint64_t seed = 1;
    bool exact = true, hyper = false, decode = false, shares = false;
    int64_t decode_keys = 1 << 20;
};

void usage() {
    std::printf(
        "usage: approx_bench [--sizes 32768,131072] [--d 64,128] [--causal both|yes|no]\n"
        "                    [--families diffuse,clustered,llm,needle] [--dtype f32|bf16]\n"
        "                    [--b B] [--hq Hq] [--hkv Hkv] [--threads N] [--runs N] [--rows N]\n"
        "                    [--target E | --targets 0.1,0.05,0.02,0.01] [--samples M] [--window W]\n"
        "                    [--sinks S] [--heavy H] [--seed S] [--no-exact] [--hyper] [--buffer-cache BYTES]\n"
        "       approx_bench --decode [--decode-keys 1048576] [--dtype bf16|f32] [--runs N] [--target E] ...\n"
        "       approx_bench --shares [--sizes ...] [--d ...] [--causal ...] [--families ...]\n"
        "\n"
        "Prefill (default): Nq = Nk = n, B=1, 2 q heads over 1 kv head unless --b/--hq/--hkv; one\n"
        "row per (n, d, causal, family, target): exact ms and approx ms (medians of --runs\n"
        "interleaved runs, same tensors and threads), speedup, Frobenius relative error, mean and p99\n"
        "of e_i, the trivial estimator's mean e_i, mean estimate, mean keys touched (fraction of the\n"
        "visible keys), share of rows per level. Errors on --rows (default 512) random rows against a\n"
        "float64 reference. --target E: error target (default none); --targets: a sweep, one row per\n"
        "target. --hyper adds HyperAttention's defaults on the same inputs (time, errors, its own\n"
        "mean row estimate). --no-exact skips exact\n"
        "timing (speedup '-'). n=131k exact costs tens of seconds per run: lower --runs there.\n"
        "--decode: one token over a --decode-keys cache, 32 q / 8 kv heads, D=128, bf16 (unless\n"
        "--dtype f32), llm family; index built once (timed separately); exact vs approx per token.\n"
        "--shares: median (p10..p90) share of a row's mass on the 4 sinks, the local 256 keys and the\n"
        "far tail, per family, from the float64 reference (no library call).\n");
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t a = 0;
    while (a <= s.size()) {
        size_t b = s.find(',', a);
        if (b == std::string::npos) b = s.size();
        if (b > a) out.push_back(s.substr(a, b - a));
        a = b + 1;
    }
    return out;
}

void check(int32_t st, const char* what) {
    if (st != HA_OK) {
        std::fprintf(stderr, "%s failed (status %d): %s\n", what, st, ha_last_error());
        std::exit(1);
    }
}

ha_approx_params approx_params(const Options& o, bool causal, double target) {
    ha_approx_params p;
    ha_approx_params_init(&p);
    p.causal = causal ? 1 : 0;
    if (o.samples >= 0) p.samples = o.samples;
    if (o.window >= 0) p.window = o.window;
    if (o.sinks >= 0) p.sinks = o.sinks;
    if (o.heavy >= 0) p.heavy_budget = o.heavy;
    p.target_error = target;
    p.seed = o.seed;
    return p;
}

struct Stats {
    std::vector<float> row_error, tail;
    std::vector<int64_t> touched;
    std::vector<int32_t> level;
    void alloc(size_t rows) {
        row_error.assign(rows, 0);
        tail.assign(rows, 0);
        touched.assign(rows, 0);
        level.assign(rows, 0);
    }
    ha_approx_stats view() { return {row_error.data(), tail.data(), touched.data(), level.data()}; }
};

// Error summary of the output tensor on the reference rows.
hametrics::ErrorSummary errors_of(const Tensor& out, const std::vector<int64_t>& rows,
                                  const std::vector<hametrics::RowRef>& refs) {
    std::vector<std::vector<float>> buf(rows.size(), std::vector<float>(size_t(out.D)));
    std::vector<const float*> ptr(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
        out.load_row(rows[r], buf[r].data());
        ptr[r] = buf[r].data();
    }
    return hametrics::summarize(ptr, refs);
}

// ---- prefill rows ----------------------------------------------------------------------------------
void run_prefill(const Options& o) {
    std::printf("%-9s %7s %4s %6s %6s | %9s %9s %7s | %8s %8s %8s %8s %7s %8s %6s %7s | %-14s",
                "family", "n", "d", "causal", "target", "exact ms", "approx ms", "speedup", "frob",
                "e mean", "e p99", "e max", "triv e", "est mean", ">2est", "touched", "L0/L1/L2 %");
    if (o.hyper) std::printf(" | %9s %8s %8s %8s", "hyper ms", "h frob", "h e mean", "h est");
    std::printf("\n");
    for (int64_t n : o.sizes)
        for (int64_t d : o.dims)
            for (int causal : o.causal)
                for (int fam : o.families) {
                    hafam::Shape s;
                    s.B = o.B;
                    s.Hq = o.Hq;
                    s.Hkv = o.Hkv;
                    s.Nq = n;
                    s.Nk = n;
                    s.D = d;
                    s.causal = causal != 0;
                    hafam::Inputs in = hafam::make_inputs(fam, s, o.seed * 7919 + uint64_t(fam));
                    if (o.dtype == HA_DTYPE_BF16) hafam::round_inputs_to_bf16(in);
                    Tensor q, k, v, out, out_exact;
                    q.alloc(o.dtype, s.B, s.Hq, n, d);
                    k.alloc(o.dtype, s.B, s.Hkv, n, d);
                    v.alloc(o.dtype, s.B, s.Hkv, n, d);
                    out.alloc(o.dtype, s.B, s.Hq, n, d);
                    out_exact.alloc(o.dtype, s.B, s.Hq, n, d);
                    q.store(in.q.data(), in.q.size());
                    k.store(in.k.data(), in.k.size());
                    v.store(in.v.data(), in.v.size());
                    const ha_tensor tq = q.view(), tk = k.view(), tv = v.view(), to = out.view(),
                                    te = out_exact.view();
                    const int64_t total_rows = s.B * s.Hq * n;
                    const auto rows = hametrics::sample_rows(total_rows, o.rows, o.seed + uint64_t(n) + uint64_t(d));
                    const auto refs = hametrics::reference_rows(in, rows, s.causal, 0, std::max(1, o.threads == 0 ? int(std::thread::hardware_concurrency()) : o.threads));
                    in = hafam::Inputs();  // free the floats before timing
                    ha_exact_params ep;
                    ha_exact_params_init(&ep);
                    ep.causal = causal;
                    std::vector<Stats> st(o.targets.size());
                    for (auto& x : st) x.alloc(size_t(total_rows));
                    std::vector<std::vector<double>> ta(o.targets.size());
                    std::vector<double> tex;
                    // interleaved: exact, approx(t1), approx(t2), ..., repeated
                    std::vector<hametrics::ErrorSummary> errs(o.targets.size());
                    for (int r = 0; r < o.runs; ++r) {
                        if (o.exact) {
                            const auto t0 = Clock::now();
                            check(ha_attention_exact(&tq, &tk, &tv, &te, nullptr, &ep), "ha_attention_exact");
                            tex.push_back(ms_since(t0));
                        }
                        for (size_t t = 0; t < o.targets.size(); ++t) {
                            const ha_approx_params ap = approx_params(o, causal != 0, o.targets[t]);
                            ha_approx_stats sv = st[t].view();
                            const auto t0 = Clock::now();
                            check(ha_attention_approx(&tq, &tk, &tv, &to, nullptr, nullptr, &ap, &sv),
                                  "ha_attention_approx");
                            ta[t].push_back(ms_since(t0));
                            if (r == 0) errs[t] = errors_of(out, rows, refs);
                        }
                    }
                    double hyper_ms = NAN, hyper_est = NAN;
                    hametrics::ErrorSummary herr;
                    if (o.hyper) {
                        ha_hyper_params hp;
                        ha_hyper_params_init(&hp);
                        hp.causal = causal;
                        hp.seed = o.seed;
                        std::vector<float> hre(static_cast<size_t>(total_rows));
                        ha_hyper_stats hs{hre.data()};
                        const auto t0 = Clock::now();
                        check(ha_attention_hyper(&tq, &tk, &tv, &to, nullptr, &hp, &hs), "ha_attention_hyper");
                        hyper_ms = ms_since(t0);
                        herr = errors_of(out, rows, refs);
                        hyper_est = 0;
                        for (float x : hre) hyper_est += double(x);
                        hyper_est /= double(total_rows);
                    }
                    const double exact_ms = o.exact ? median(tex) : NAN;
                    for (size_t t = 0; t < o.targets.size(); ++t) {
                        const double am = median(ta[t]);
                        double est = 0, touched = 0;
                        int64_t lv[3] = {0, 0, 0};
                        for (int64_t row = 0; row < total_rows; ++row) {
                            est += st[t].row_error[size_t(row)];
                            const int64_t vis = hametrics::visible_keys(row % n, n, n, causal != 0);
                            touched += vis > 0 ? double(st[t].touched[size_t(row)]) / double(vis) : 0;
                            const int32_t l = st[t].level[size_t(row)];
                            if (l >= 0 && l <= 2) ++lv[l];
                        }
                        est /= double(total_rows);
                        touched /= double(total_rows);
                        // Honesty: evaluated rows whose true error exceeds twice the estimate
                        // (plus 1e-4 of float rounding).
                        int64_t over = 0;
                        for (size_t r = 0; r < rows.size(); ++r)
                            over += errs[t].e[r] > 2.0 * double(st[t].row_error[size_t(rows[r])]) + 1e-4;
                        const double over_pct = rows.empty() ? 0.0 : 100.0 * double(over) / double(rows.size());
                        char tgt[16], ex[16], sp[16], lvs[32];
                        std::snprintf(tgt, sizeof tgt, "%s", o.targets[t] > 0 ? std::to_string(o.targets[t]).substr(0, 6).c_str() : "none");
                        if (o.exact) std::snprintf(ex, sizeof ex, "%9.1f", exact_ms);
                        else std::snprintf(ex, sizeof ex, "%9s", "-");
                        if (o.exact) std::snprintf(sp, sizeof sp, "%6.1fx", exact_ms / am);
                        else std::snprintf(sp, sizeof sp, "%7s", "-");
                        std::snprintf(lvs, sizeof lvs, "%.0f/%.0f/%.0f", 100.0 * double(lv[0]) / double(total_rows),
                                      100.0 * double(lv[1]) / double(total_rows), 100.0 * double(lv[2]) / double(total_rows));
                        std::printf("%-9s %7lld %4lld %6s %6s | %9s %9.1f %7s | %8.2e %8.2e %8.2e %8.2e %7.3f %8.2e %5.1f%% %6.1f%% | %-14s",
                                    hafam::family_name(fam), (long long)n, (long long)d, causal ? "yes" : "no", tgt, ex,
                                    am, sp, errs[t].frobenius, errs[t].mean, errs[t].p99, errs[t].max, errs[t].trivial_mean, est,
                                    over_pct, 100 * touched, lvs);
                        if (o.hyper)
                            std::printf(" | %9.1f %8.2e %8.2e %8.2e", hyper_ms, herr.frobenius, herr.mean, hyper_est);
                        std::printf("\n");
                        std::fflush(stdout);
                    }
                }
}

// ---- decode ----------------------------------------------------------------------------------------
void run_decode(const Options& o) {
    const int64_t N = o.decode_keys, Hq = 32, Hkv = 8, D = 128, G = Hq / Hkv;
    const int32_t dt = o.dtype_set ? o.dtype : HA_DTYPE_BF16;
    std::printf("decode: one token over %lld keys, %lld q heads over %lld kv heads, D=%lld, %s, llm family, "
                "median of %d interleaved runs, approx: sinks %d window %d samples %d heavy %d (0 = auto)\n",
                (long long)N, (long long)Hq, (long long)Hkv, (long long)D, dt == HA_DTYPE_F32 ? "f32" : "bf16",
                o.runs, approx_params(o, true, 0).sinks, approx_params(o, true, 0).window,
                approx_params(o, true, 0).samples, approx_params(o, true, 0).heavy_budget);
    Tensor q, k, v, out, out_exact;
    q.alloc(dt, 1, Hq, 1, D);
    k.alloc(dt, 1, Hkv, N, D);
    v.alloc(dt, 1, Hkv, N, D);
    out.alloc(dt, 1, Hq, 1, D);
    out_exact.alloc(dt, 1, Hq, 1, D);
    // Generated one kv head at a time (each with its own seed), so the float copies of only
    // `threads` heads exist at once; the reference of the head's G query rows is taken while its
    // floats (rounded as stored) are at hand.
    std::vector<hametrics::RowRef> refs(static_cast<size_t>(Hq));
    const auto tg = Clock::now();
    const int gen_threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : int(std::thread::hardware_concurrency()), 4));
    std::vector<std::thread> ts;
    for (int w = 0; w < gen_threads; ++w)
        ts.emplace_back([&, w] {
            for (int64_t hk = w; hk < Hkv; hk += gen_threads) {
                hafam::Shape s;
                s.Hq = G;
                s.Hkv = 1;
                s.Nq = 1;
                s.Nk = N;
                s.D = D;
                s.causal = true;
                hafam::Inputs in = hafam::make_inputs(hafam::LLM, s, o.seed * 1000003 + uint64_t(hk));
                if (dt == HA_DTYPE_BF16) hafam::round_inputs_to_bf16(in);
                k.store(in.k.data(), in.k.size(), size_t(hk * N * D));
                v.store(in.v.data(), in.v.size(), size_t(hk * N * D));
                q.store(in.q.data(), in.q.size(), size_t(hk * G * D));
                std::vector<int64_t> rows;
                for (int64_t h = 0; h < G; ++h) rows.push_back(h);
                auto r = hametrics::reference_rows(in, rows, true, 0, 1);
                for (int64_t h = 0; h < G; ++h) refs[size_t(hk * G + h)] = std::move(r[size_t(h)]);
            }
        });
    for (auto& t : ts) t.join();
    std::printf("inputs generated in %.1f s\n", ms_since(tg) / 1000);
    const ha_tensor tq = q.view(), tk = k.view(), tv = v.view(), to = out.view(), te = out_exact.view();
    ha_key_index* index = nullptr;
    const auto t0 = Clock::now();
    check(ha_key_index_create(&tk, &tv, nullptr, &index), "ha_key_index_create");
    const double build_ms = ms_since(t0);
    ha_key_index_info info{};
    check(ha_key_index_get_info(index, &info), "ha_key_index_get_info");
    std::printf("index built once in %.0f ms (%.2f GB)\n", build_ms, double(info.bytes) / 1e9);
    ha_exact_params ep;
    ha_exact_params_init(&ep);
    ep.causal = 1;
    std::printf("%6s | %9s %9s %7s | %8s %8s %8s %7s %8s %7s | %-14s\n", "target", "exact ms", "approx ms",
                "speedup", "frob", "e mean", "e max", "triv e", "est mean", "touched", "L0/L1/L2 %");
    std::vector<int64_t> rows;
    for (int64_t h = 0; h < Hq; ++h) rows.push_back(h);
    for (double target : o.targets) {
        const ha_approx_params ap = approx_params(o, true, target);
        Stats st;
        st.alloc(size_t(Hq));
        std::vector<double> te_ms, ta_ms;
        for (int r = 0; r < std::max(o.runs, 1) + 1; ++r) {  // the first round warms up
            auto a = Clock::now();
            check(ha_attention_exact(&tq, &tk, &tv, &te, nullptr, &ep), "ha_attention_exact");
            const double e_ms = ms_since(a);
            ha_approx_stats sv = st.view();
            a = Clock::now();
            check(ha_attention_approx(&tq, &tk, &tv, &to, nullptr, index, &ap, &sv), "ha_attention_approx");
            const double a_ms = ms_since(a);
            if (r > 0) {
                te_ms.push_back(e_ms);
                ta_ms.push_back(a_ms);
            }
        }
        const auto err = errors_of(out, rows, refs);
        double est = 0, touched = 0;
        int64_t lv[3] = {0, 0, 0};
        for (int64_t h = 0; h < Hq; ++h) {
            est += st.row_error[size_t(h)];
            touched += double(st.touched[size_t(h)]) / double(N);
            if (st.level[size_t(h)] >= 0 && st.level[size_t(h)] <= 2) ++lv[st.level[size_t(h)]];
        }
        const double em = median(te_ms), am = median(ta_ms);
        char tgt[16];
        std::snprintf(tgt, sizeof tgt, "%s", target > 0 ? std::to_string(target).substr(0, 6).c_str() : "none");
        std::printf("%6s | %9.2f %9.2f %6.1fx | %8.2e %8.2e %8.2e %7.3f %8.2e %6.2f%% | %.0f/%.0f/%.0f\n", tgt, em,
                    am, em / am, err.frobenius, err.mean, err.max, err.trivial_mean, est / double(Hq),
                    100 * touched / double(Hq), 100.0 * double(lv[0]) / double(Hq), 100.0 * double(lv[1]) / double(Hq),
                    100.0 * double(lv[2]) / double(Hq));
        std::fflush(stdout);
    }
    ha_key_index_destroy(index);
}

// ---- mass shares -------------------------------------------------------------------------------------
void run_shares(const Options& o) {
    std::printf("median (p10..p90) share of a row's softmax mass, default scale, %lld random rows of the\n"
                "last 512 query positions (queries over the whole cache), float64:\n",
                (long long)std::min<int64_t>(o.rows, 512 * o.Hq));
    std::printf("%-9s %7s %4s %6s | %-22s %-22s %-22s | %s\n", "family", "n", "d", "causal", "sinks (keys 0..3)",
                "local 256", "far tail", "planted key (rows with one)");
    const int threads = o.threads > 0 ? o.threads : int(std::thread::hardware_concurrency());
    for (int64_t n : o.sizes)
        for (int64_t d : o.dims)
            for (int causal : o.causal)
                for (int fam : o.families) {
                    hafam::Shape s;
                    s.B = 1;
                    s.Hq = o.Hq;
                    s.Hkv = o.Hkv;
                    s.Nq = std::min<int64_t>(512, n);
                    s.Nk = n;
                    s.D = d;
                    s.causal = causal != 0;
                    const hafam::Inputs in = hafam::make_inputs(fam, s, o.seed * 7919 + uint64_t(fam));
                    const auto rows = hametrics::sample_rows(s.Hq * s.Nq, std::min<int64_t>(o.rows, s.Hq * s.Nq), o.seed);
                    const auto refs = hametrics::reference_rows(in, rows, s.causal, 0, threads);
                    std::vector<double> a, b, c, nd;
                    for (const auto& r : refs) {
                        a.push_back(r.share_sinks);
                        b.push_back(r.share_local);
                        c.push_back(r.share_far);
                        if (in.needle_key[size_t(r.row)] >= 0) nd.push_back(r.share_needle);
                    }
                    auto fmt = [](const std::vector<double>& x) {
                        char buf[64];
                        std::snprintf(buf, sizeof buf, "%5.1f%% (%4.1f..%4.1f)", 100 * hametrics::quantile(x, 0.5),
                                      100 * hametrics::quantile(x, 0.1), 100 * hametrics::quantile(x, 0.9));
                        return std::string(buf);
                    };
                    std::printf("%-9s %7lld %4lld %6s | %-22s %-22s %-22s | %s (%zu rows)\n", hafam::family_name(fam),
                                (long long)n, (long long)d, causal ? "yes" : "no", fmt(a).c_str(), fmt(b).c_str(),
                                fmt(c).c_str(), nd.empty() ? "-" : fmt(nd).c_str(), nd.size());
                    std::fflush(stdout);
                }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        auto ints = [&](const std::string& s) {
            std::vector<int64_t> v;
            for (const auto& x : split(s)) v.push_back(std::atoll(x.c_str()));
            return v;
        };
        if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else if (a == "--sizes") o.sizes = ints(next());
        else if (a == "--d") o.dims = ints(next());
        else if (a == "--causal") {
            const std::string c = next();
            o.causal = c == "yes" ? std::vector<int>{1} : c == "no" ? std::vector<int>{0} : std::vector<int>{0, 1};
        } else if (a == "--families") {
            o.families.clear();
            for (const auto& f : split(next())) {
                const int x = hafam::family_from_name(f);
                if (x < 0) {
                    std::fprintf(stderr, "unknown family '%s'\n", f.c_str());
                    return 2;
                }
                o.families.push_back(x);
            }
        } else if (a == "--dtype") {
            const std::string d = next();
            o.dtype = d == "bf16" ? HA_DTYPE_BF16 : HA_DTYPE_F32;
            o.dtype_set = true;
        } else if (a == "--b") o.B = std::atoll(next().c_str());
        else if (a == "--hq") o.Hq = std::atoll(next().c_str());
        else if (a == "--hkv") o.Hkv = std::atoll(next().c_str());
        else if (a == "--threads") o.threads = std::atoi(next().c_str());
        else if (a == "--runs") o.runs = std::max(1, std::atoi(next().c_str()));
        else if (a == "--rows") o.rows = std::max<int64_t>(1, std::atoll(next().c_str()));
        else if (a == "--target") o.targets = {std::atof(next().c_str())};
        else if (a == "--targets") {
            o.targets.clear();
            for (const auto& x : split(next())) o.targets.push_back(std::atof(x.c_str()));
        } else if (a == "--samples") o.samples = std::atoi(next().c_str());
        else if (a == "--window") o.window = std::atoi(next().c_str());
        else if (a == "--sinks") o.sinks = std::atoi(next().c_str());
        else if (a == "--heavy") o.heavy = std::atoi(next().c_str());
        else if (a == "--seed") o.seed = std::strtoull(next().c_str(), nullptr, 10);
        else if (a == "--no-exact") o.exact = false;
        else if (a == "--buffer-cache") check(ha_set_buffer_cache_limit(std::atoll(next().c_str())), "ha_set_buffer_cache_limit");
        else if (a == "--hyper") o.hyper = true;
        else if (a == "--decode") o.decode = true;
        else if (a == "--decode-keys") o.decode_keys = std::atoll(next().c_str());
        else if (a == "--shares") o.shares = true;
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            usage();
            return 2;
        }
    }
    if (o.Hkv <= 0 || o.Hq <= 0 || o.Hq % o.Hkv != 0 || o.B <= 0) {
        std::fprintf(stderr, "--hq must be a positive multiple of --hkv\n");
        return 2;
    }
    if (o.targets.empty()) o.targets = {0.0};
    check(ha_set_num_threads(o.threads), "ha_set_num_threads");
    std::printf("approx_bench  hyperattn %s  cpu: %s  isa: %s  threads: %d\n", ha_version_string(),
                cpu_model().c_str(), isa_name(ha_get_cpu_isa()), ha_get_num_threads());
    if (o.shares) {
        run_shares(o);
        return 0;
    }
    if (!o.decode)
    std::printf("dtype %s, B=%lld Hq=%lld Hkv=%lld, seed %llu, median of %d interleaved runs, errors on %lld rows "
                "(float64), approx: sinks %s window %s samples %s heavy %s\n",
                o.dtype == HA_DTYPE_BF16 ? "bf16" : "f32", (long long)o.B,
                (long long)o.Hq, (long long)o.Hkv, (unsigned long long)o.seed, o.runs, (long long)o.rows,
                o.sinks >= 0 ? std::to_string(o.sinks).c_str() : "default",
                o.window >= 0 ? std::to_string(o.window).c_str() : "default",
                o.samples >= 0 ? std::to_string(o.samples).c_str() : "default",
                o.heavy >= 0 ? std::to_string(o.heavy).c_str() : "auto");
    if (o.decode) run_decode(o);
    else run_prefill(o);
    return 0;
}
