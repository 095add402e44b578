// Bad input: every rejection returns its status with a message naming the argument, and the
// process lives on. Also the runtime settings and the ABI layout table.
#include <sys/resource.h>

#include <array>
#include <cstddef>
#include <limits>

#include "cases.h"

using namespace hat;

namespace {

struct Operands {
    HostTensor q, k, v, out, lse;
    ha_tensor tq, tk, tv, to, tl;
    ha_exact_params params;
    Operands() {
        q = make_tensor(HA_DTYPE_F32, 1, 4, 8, 16, BHSD);
        k = make_tensor(HA_DTYPE_F32, 1, 2, 10, 16, BHSD);
        v = make_tensor(HA_DTYPE_F32, 1, 2, 10, 16, BHSD);
        out = make_tensor(HA_DTYPE_F32, 1, 4, 8, 16, BHSD);
        lse = make_lse(1, 4, 8, false);
        q.fill_normal(1);
        k.fill_normal(1);
        v.fill_normal(1);
        tq = q.desc();
        tk = k.desc();
        tv = v.desc();
        to = out.desc();
        tl = lse.desc();
        ha_exact_params_init(&params);
    }
    int32_t run(bool with_lse = true) {
        return ha_attention_exact(&tq, &tk, &tv, &to, with_lse ? &tl : nullptr, &params);
    }
};

void expect_rejected(const char* label, int32_t status, int32_t want, const char* needle) {
    begin_case(label);
    CHECK(status == want, "status %d, expected %d (message: %s)", status, want, ha_last_error());
    std::string msg = ha_last_error();
    CHECK(msg.find(needle) != std::string::npos, "message '%s' should mention '%s'", msg.c_str(),
          needle);
    end_case();
}

}  // namespace

TEST(bad_exact_arguments_are_rejected_with_a_reason) {
    const int32_t INV = HA_ERR_INVALID_ARGUMENT, UNS = HA_ERR_UNSUPPORTED;
    { Operands o; expect_rejected("q NULL", ha_attention_exact(nullptr, &o.tk, &o.tv, &o.to, nullptr, nullptr), INV, "q:"); }
    { Operands o; expect_rejected("out NULL", ha_attention_exact(&o.tq, &o.tk, &o.tv, nullptr, nullptr, nullptr), INV, "out:"); }
    { Operands o; o.tk.dtype = HA_DTYPE_BF16; expect_rejected("mixed dtypes", o.run(), INV, "k: dtype bf16 differs from q's f32"); }
    { Operands o; o.tk.dtype = HA_DTYPE_F16; expect_rejected("mixed f16 and f32", o.run(), INV, "k: dtype f16 differs from q's f32"); }
    { Operands o; o.tq.dtype = 9; expect_rejected("unknown dtype", o.run(), INV, "q: unknown dtype"); }
    { Operands o; o.tk.shape[3] = 8; o.tv.shape[3] = 8; expect_rejected("head dims differ", o.run(), INV, "k: head_dim 8 differs from q's 16"); }
    { Operands o; o.tq.shape[3] = o.to.shape[3] = 0; expect_rejected("head_dim 0", o.run(), INV, "head_dim must be in 1..256"); }
    { Operands o; o.tq.shape[1] = o.to.shape[1] = 3; o.tl.shape[1] = 3; expect_rejected("GQA not divisible", o.run(), INV, "not divisible by kv heads"); }
    { Operands o; o.tv.shape[2] = 9; expect_rejected("v seq differs", o.run(), INV, "v: seq 9 differs from k's 10"); }
    { Operands o; o.to.shape[2] = 7; expect_rejected("out shape", o.run(), INV, "out: seq 7 differs from q's 8"); }
    { Operands o; o.tk.shape[0] = 2; o.tv.shape[0] = 2; expect_rejected("batch differs", o.run(), INV, "k: batch 2 differs"); }
    { Operands o; o.tq.strides[2] = -16; expect_rejected("negative stride", o.run(), INV, "q: seq stride is negative"); }
    { Operands o; o.tk.shape[2] = -1; expect_rejected("negative extent", o.run(), INV, "k: seq extent is negative"); }
    { Operands o; o.tq.data = static_cast<char*>(o.tq.data) + 2; expect_rejected("misaligned", o.run(), INV, "q: data address"); }
    { Operands o; o.tv.data = nullptr; expect_rejected("NULL data", o.run(), INV, "v: data is NULL"); }
    { Operands o; o.tq.strides[0] = std::numeric_limits<int64_t>::max() / 2; o.tq.shape[0] = 3; o.tk.shape[0] = o.tv.shape[0] = o.to.shape[0] = 3; expect_rejected("span overflow", o.run(), INV, "overflows"); }
    { Operands o; o.to = o.tq; expect_rejected("out is q", o.run(), INV, "out: memory overlaps input q"); }
    { Operands o; o.to.strides[2] = 0; expect_rejected("out rows alias", o.run(), INV, "out: strides make distinct elements share memory"); }
    { Operands o; o.tl.dtype = HA_DTYPE_BF16; expect_rejected("lse dtype", o.run(), INV, "lse: log-sum-exp must be f32"); }
    { Operands o; o.tl.shape[2] = 9; expect_rejected("lse shape", o.run(), INV, "lse: shape must be"); }
    { Operands o; o.tl = o.to; o.tl.dtype = HA_DTYPE_F32; o.tl.shape[3] = 1; expect_rejected("lse inside out", o.run(), INV, "lse: memory overlaps input out"); }
    { Operands o; o.params.scale = std::numeric_limits<float>::quiet_NaN(); expect_rejected("scale NaN", o.run(), INV, "params.scale"); }
    { Operands o; o.params.scale = -1.0f; expect_rejected("scale negative", o.run(), INV, "params.scale"); }
    { Operands o; o.params.causal = 2; expect_rejected("causal 2", o.run(), INV, "params.causal"); }
    {
        // A CUDA k beside CPU q: a CPU-only build cannot serve it at all; a CUDA build sees
        // operands on two devices.
        Operands o;
        o.tk.device_type = HA_DEVICE_CUDA;
        expect_rejected("cuda k beside CPU q", o.run(), cuda_backend_built() ? INV : UNS, "k: device cuda:0");
    }
    { Operands o; o.tk.device_type = 7; expect_rejected("unknown device", o.run(), INV, "k: unknown device type"); }
    { Operands o; o.tq.reserved = 1; expect_rejected("reserved", o.run(), INV, "q: reserved"); }

    begin_case("a valid call after all that succeeds and clears the message");
    Operands o;
    o.out.poison();
    o.lse.poison();
    CHECK(o.run() == HA_OK, "%s", ha_last_error());
    CHECK(std::string(ha_last_error()).empty(), "message not cleared: %s", ha_last_error());
    RefResult ref = reference_attention(o.q, o.k, o.v, 0.25, false);
    compare_output(o.out, ref, out_tolerance(HA_DTYPE_F32, max_abs(o.v)), &o.lse, 1e-4);
}

TEST(bad_merge_arguments_are_rejected_with_a_reason) {
    HostTensor a = make_tensor(HA_DTYPE_F32, 1, 2, 8, 16, BHSD), b = make_tensor(HA_DTYPE_F32, 1, 2, 8, 16, BHSD);
    HostTensor la = make_lse(1, 2, 8, false), lb = make_lse(1, 2, 8, false);
    ha_tensor ta = a.desc(), tb = b.desc(), tla = la.desc(), tlb = lb.desc();
    const int32_t INV = HA_ERR_INVALID_ARGUMENT;
    { ha_tensor t = tb; t.shape[2] = 7; expect_rejected("merge shapes", ha_merge(&ta, &tla, &t, &tlb, &ta, nullptr, nullptr), INV, "out_b: seq 7 differs"); }
    { ha_tensor t = tlb; t.shape[2] = 7; expect_rejected("merge lse shape", ha_merge(&ta, &tla, &tb, &t, &ta, nullptr, nullptr), INV, "lse_b: shape"); }
    { ha_tensor t = ta; t.data = static_cast<float*>(t.data) + 16; expect_rejected("merge partial overlap", ha_merge(&ta, &tla, &tb, &tlb, &t, nullptr, nullptr), INV, "out: overlaps out_a without being the same view"); }
    { ha_tensor t = tb; t.dtype = HA_DTYPE_BF16; expect_rejected("merge dtypes", ha_merge(&ta, &tla, &t, &tlb, &ta, nullptr, nullptr), INV, "out_b: dtype"); }
    expect_rejected("merge NULL lse_a", ha_merge(&ta, nullptr, &tb, &tlb, &ta, nullptr, nullptr), INV, "lse_a:");
}

TEST(runtime_settings) {
    begin_case("threads and ISA settings validate and round-trip");
    CHECK(ha_set_num_threads(-1) == HA_ERR_INVALID_ARGUMENT, "negative threads accepted");
    CHECK(std::string(ha_last_error()).find("n: thread count") != std::string::npos, "%s", ha_last_error());
    CHECK(ha_set_num_threads(3) == HA_OK && ha_get_num_threads() == 3, "threads 3");
    CHECK(ha_set_num_threads(0) == HA_OK && ha_get_num_threads() >= 1, "threads default");
    CHECK(ha_set_cpu_isa(42) == HA_ERR_INVALID_ARGUMENT, "isa 42 accepted");
    CHECK(ha_set_cpu_isa(HA_CPU_ISA_GENERIC) == HA_OK && ha_get_cpu_isa() == HA_CPU_ISA_GENERIC, "generic");
    CHECK(ha_set_cpu_isa(HA_CPU_ISA_AUTO) == HA_OK && ha_get_cpu_isa() != HA_CPU_ISA_AUTO, "auto resolves");
    // Another architecture's path is refused, and the setting stays as it was.
#if defined(__aarch64__)
    CHECK(ha_get_cpu_isa() == HA_CPU_ISA_NEON, "aarch64 defaults to NEON, got %d", ha_get_cpu_isa());
    const int32_t foreign[] = {HA_CPU_ISA_AVX2, HA_CPU_ISA_AVX512};
#else
    const int32_t foreign[] = {HA_CPU_ISA_NEON};
#endif
    for (int32_t isa : foreign) {
        CHECK(ha_set_cpu_isa(isa) == HA_ERR_UNSUPPORTED, "isa %d accepted on this architecture", isa);
        CHECK(ha_get_cpu_isa() != isa, "isa %d in use after a refusal", isa);
    }
    CHECK(ha_set_buffer_cache_limit(-1) == HA_ERR_INVALID_ARGUMENT, "negative cache limit accepted");
    CHECK(std::string(ha_last_error()).find("bytes:") != std::string::npos, "%s", ha_last_error());
    const int64_t cache0 = ha_get_buffer_cache_limit();
    CHECK(cache0 == int64_t(1) << 30, "default buffer cache limit %lld", (long long)cache0);
    CHECK(ha_set_buffer_cache_limit(0) == HA_OK && ha_get_buffer_cache_limit() == 0, "cache limit 0");
    CHECK(ha_set_buffer_cache_limit(cache0) == HA_OK && ha_get_buffer_cache_limit() == cache0, "cache limit back");
    CHECK(ha_abi_version() == HA_ABI_VERSION, "abi version %d", ha_abi_version());
    CHECK(ha_version_string() && *ha_version_string(), "version string");
}

// The buffer cache serves a caller that alternates call sizes without fresh pages: a smaller
// request split a larger cached block and unmapped the rest, so the next larger call faulted
// its packed K/V buffer in again (a 4 MiB buffer, then 2 MiB, then 4 MiB here: two huge-page
// faults a round with transparent huge pages, 1024 without). Now the rest stays cached and
// rejoins its neighbour when released. Counted as minor page faults of this process.
#if defined(__SANITIZE_ADDRESS__)
#define HA_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HA_TEST_UNDER_ASAN 1
#endif
#endif
TEST(buffer_cache_reuses_pages_across_call_sizes) {
#ifdef HA_TEST_UNDER_ASAN
    // ASan's allocator hands out fresh (quarantined) memory and maps shadow pages: the fault
    // count says nothing about the library there.
    skip_case("buffer cache page faults", "counted in the uninstrumented build only");
    return;
#endif
    begin_case("exact calls of alternating key counts (packed K/V 4 MiB, 2 MiB) fault in (almost) no pages after the first round");
    const int64_t D = 64, Nq = 512;
    auto make = [&](int64_t Nk) {
        std::array<HostTensor, 3> t{make_tensor(HA_DTYPE_F32, 1, 1, Nq, D, BHSD), make_tensor(HA_DTYPE_F32, 1, 1, Nk, D, BHSD),
                                    make_tensor(HA_DTYPE_F32, 1, 1, Nk, D, BHSD)};
        for (auto& x : t) x.fill_normal(1);
        return t;
    };
    auto big = make(8192), small = make(2600);
    HostTensor out = make_tensor(HA_DTYPE_F32, 1, 1, Nq, D, BHSD);
    ha_tensor to = out.desc();
    auto run = [&](std::array<HostTensor, 3>& t) {
        ha_tensor tq = t[0].desc(), tk = t[1].desc(), tv = t[2].desc();
        return ha_attention_exact(&tq, &tk, &tv, &to, nullptr, nullptr);
    };
    // An empty cache first (other tests of this process may have left blocks in it).
    const int64_t limit = ha_get_buffer_cache_limit();
    CHECK(ha_set_buffer_cache_limit(0) == HA_OK && ha_set_buffer_cache_limit(limit) == HA_OK, "%s", ha_last_error());
    auto faults = [] {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        return int64_t(u.ru_minflt);
    };
    CHECK(run(big) == HA_OK && run(small) == HA_OK, "%s", ha_last_error());
    const int64_t before = faults();
    for (int round = 0; round < 6; ++round) CHECK(run(big) == HA_OK && run(small) == HA_OK, "%s", ha_last_error());
    const int64_t added = faults() - before;
    CHECK(added < 3, "%lld minor page faults in 6 rounds after the first", (long long)added);
    std::printf("     %lld minor page faults in 6 rounds\n", (long long)added);
    end_case();
}

TEST(abi_layout_table) {
    begin_case("ha_abi_layout reports this compiler's layout of every struct and field");
    struct Want { const char* s; const char* f; int64_t v; };
    const Want wants[] = {
        {"ha_tensor", nullptr, sizeof(ha_tensor)},
        {"ha_tensor", "#align", alignof(ha_tensor)},
        {"ha_tensor", "data", offsetof(ha_tensor, data)},
        {"ha_tensor", "dtype", offsetof(ha_tensor, dtype)},
        {"ha_tensor", "device_type", offsetof(ha_tensor, device_type)},
        {"ha_tensor", "device_id", offsetof(ha_tensor, device_id)},
        {"ha_tensor", "reserved", offsetof(ha_tensor, reserved)},
        {"ha_tensor", "shape", offsetof(ha_tensor, shape)},
        {"ha_tensor", "strides", offsetof(ha_tensor, strides)},
        {"ha_exact_params", "", sizeof(ha_exact_params)},
        {"ha_exact_params", "scale", offsetof(ha_exact_params, scale)},
        {"ha_exact_params", "causal", offsetof(ha_exact_params, causal)},
        {"ha_exact_params", "stream", offsetof(ha_exact_params, stream)},
    };
    for (const Want& w : wants) {
        int64_t got = -1;
        CHECK(ha_abi_layout(w.s, w.f, &got) == HA_OK, "%s.%s: %s", w.s, w.f ? w.f : "", ha_last_error());
        CHECK(got == w.v, "%s.%s = %lld, compiled %lld", w.s, w.f ? w.f : "", (long long)got, (long long)w.v);
    }
    int64_t x;
    CHECK(ha_abi_layout("ha_nothing", nullptr, &x) == HA_ERR_INVALID_ARGUMENT, "unknown struct");
    CHECK(ha_abi_layout("ha_tensor", "nope", &x) == HA_ERR_INVALID_ARGUMENT, "unknown field");
}

// ABI 5: the trailing addresses must be the ones in the structs (that is what lets a runtime
// keep them alive); any mismatch is rejected before anything is read.
TEST(trailing_data_arguments_must_match_the_structs) {
    Operands o;
    const int32_t INV = HA_ERR_INVALID_ARGUMENT;
    float other = 0.f;
    expect_rejected("exact q_data", ha_attention_exact(&o.tq, &o.tk, &o.tv, &o.to, &o.tl, &o.params, &other, o.tk.data, o.tv.data, o.to.data, o.tl.data), INV, "q_data");
    expect_rejected("exact lse_data without lse", ha_attention_exact(&o.tq, &o.tk, &o.tv, &o.to, nullptr, &o.params, o.tq.data, o.tk.data, o.tv.data, o.to.data, o.tl.data), INV, "lse_data");
    expect_rejected("exact out_data NULL", ha_attention_exact(&o.tq, &o.tk, &o.tv, &o.to, &o.tl, &o.params, o.tq.data, o.tk.data, o.tv.data, nullptr, o.tl.data), INV, "out_data");
    expect_rejected("hyper v_data", ha_attention_hyper(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr, nullptr, o.tq.data, o.tk.data, &other, o.to.data, nullptr, nullptr), INV, "v_data");
    {
        float err[64];
        ha_hyper_stats hs{err};
        expect_rejected("hyper row_error_data", ha_attention_hyper(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr, &hs, o.tq.data, o.tk.data, o.tv.data, o.to.data, nullptr, nullptr), INV, "row_error_data");
        float err2[64];
        ha_approx_stats as{err, err2, nullptr, nullptr};
        expect_rejected("approx tail_mass_bound_data", ha_attention_approx(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr, nullptr, &as, o.tq.data, o.tk.data, o.tv.data, o.to.data, nullptr, err, err, nullptr, nullptr), INV, "tail_mass_bound_data");
        expect_rejected("approx q_data", ha_attention_approx(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr, nullptr, nullptr, &other, o.tk.data, o.tv.data, o.to.data, nullptr, nullptr, nullptr, nullptr, nullptr), INV, "q_data");
    }
    expect_rejected("merge out_b_data", ha_merge(&o.to, &o.tl, &o.to, &o.tl, &o.to, &o.tl, nullptr, o.to.data, o.tl.data, &other, o.tl.data, o.to.data, o.tl.data), INV, "out_b_data");
    ha_key_index* idx = nullptr;
    expect_rejected("index k_data", ha_key_index_create(&o.tk, nullptr, nullptr, &idx, &other, nullptr), INV, "k_data");
    CHECK(idx == nullptr, "no index on failure");
    int64_t counts[32], total = 0;
    expect_rejected("report q_data", ha_hsr_report(nullptr, &o.tk, &o.tq, 0.f, counts, nullptr, 0, &total, o.tk.data, &other), INV, "q_data");
    float dropped[32];
    ha_hsr_stats st{dropped, nullptr, nullptr};
    expect_rejected("hsr stats array", ha_attention_hsr(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr, &st, o.tq.data, o.tk.data, o.tv.data, o.to.data, nullptr, nullptr, nullptr), INV, "stats.dropped_mass_data");
    // The same calls with matching addresses succeed (the C++ overloads pass them).
    begin_case("matching addresses");
    CHECK(o.run() == HA_OK, "%s", ha_last_error());
    CHECK(ha_attention_hsr(&o.tq, &o.tk, &o.tv, &o.to, nullptr, nullptr, &st) == HA_OK, "%s", ha_last_error());
    end_case();
}

// An empty K may carry a NULL address (n_k = 0 is valid): nothing may offset it (UBSan's
// "applying non-zero offset to null pointer" in the key index, before the fix).
TEST(empty_keys_with_null_data) {
    begin_case("index, report and HSR over zero keys with NULL data");
    ha_tensor k{};
    k.data = nullptr;
    k.dtype = HA_DTYPE_F32;
    const int64_t shape[4] = {1, 2, 0, 16}, strides[4] = {1000, 500, 16, 1};
    for (int i = 0; i < 4; ++i) {
        k.shape[i] = shape[i];
        k.strides[i] = strides[i];
    }
    ha_tensor v = k;
    ha_key_index* idx = nullptr;
    CHECK(ha_key_index_create(&k, &v, nullptr, &idx) == HA_OK, "%s", ha_last_error());
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 4, 3, 16, BHSD);
    q.fill_normal(1);
    ha_tensor tq = q.desc();
    int64_t counts[12], total = -1;
    CHECK(ha_hsr_report(idx, &k, &tq, 0.f, counts, nullptr, 0, &total) == HA_OK, "%s", ha_last_error());
    CHECK(total == 0, "total %lld", (long long)total);
    CHECK(ha_hsr_report(nullptr, &k, &tq, 0.f, counts, nullptr, 0, &total) == HA_OK, "%s", ha_last_error());
    HostTensor out = make_tensor(HA_DTYPE_F32, 1, 4, 3, 16, BHSD);
    ha_tensor to = out.desc();
    CHECK(ha_attention_hsr(&tq, &k, &v, &to, idx, nullptr, nullptr) == HA_OK, "%s", ha_last_error());
    CHECK(out.get(0, 0, 0, 0) == 0.f, "empty row is 0");
    HostTensor lse = make_lse(1, 4, 3, false);
    ha_tensor tl = lse.desc();
    CHECK(ha_attention_exact(&tq, &k, &v, &to, &tl, nullptr) == HA_OK, "%s", ha_last_error());
    CHECK(lse.get(0, 0, 0, 0) == -std::numeric_limits<float>::infinity(), "lse -inf");
    ha_key_index_destroy(idx);
    end_case();
}

// HyperAttention sorts and samples positions in int32: 2^31 keys or more are rejected up front
// (broadcast views, stride 0, so nothing large is allocated).
TEST(hyper_rejects_2_pow_31_positions) {
    Operands o;
    ha_tensor k = o.tk, v = o.tv;
    k.shape[2] = v.shape[2] = int64_t(1) << 31;
    k.strides[2] = v.strides[2] = 0;
    expect_rejected("hyper 2^31 keys", ha_attention_hyper(&o.tq, &k, &v, &o.to, nullptr, nullptr),
                    HA_ERR_INVALID_ARGUMENT, "< 2^31");
}
