// Exact attention on every ISA path against the float64 reference.
#include <thread>

#include "cases.h"

using namespace hat;

namespace {

const Problem kProblems[] = {
    // B, Hq, Hkv, Nq, Nk, D, causal, scale
    {1, 1, 1, 1, 1, 1, false, 0},
    {1, 1, 1, 1, 1, 1, true, 0},
    {1, 2, 1, 1, 37, 64, false, 0},      // MQA decode
    {1, 2, 1, 1, 37, 64, true, 0},       // decode, causal sees every key
    {2, 4, 2, 17, 33, 63, false, 0},     // odd everything
    {2, 4, 2, 17, 33, 63, true, 0},
    {1, 8, 2, 64, 64, 64, true, 0},
    {1, 4, 4, 100, 100, 128, false, 0},
    {1, 4, 4, 100, 100, 128, true, 0},
    {1, 2, 1, 9, 4, 80, true, 0},        // Nq > Nk: the first rows see no key
    {1, 2, 1, 40, 150, 80, false, 0},    // padded bf16 rows start 2-byte aligned: K packing
    {1, 3, 1, 33, 200, 256, false, 0},
    {1, 3, 3, 70, 130, 256, true, 0},
    {2, 6, 3, 129, 257, 128, true, 0},
    {1, 8, 2, 3, 300, 128, true, 0},     // a few decode rows, GQA packed
    {1, 32, 8, 1, 700, 128, false, 0},   // Llama-like decode
    {1, 4, 1, 1, 4099, 64, false, 0},    // long MQA decode: split-KV territory
    {1, 2, 1, 5, 3001, 128, true, 0},
    {1, 2, 2, 65, 65, 16, false, 1.0f},  // large scale: peaked softmax
    {1, 2, 2, 50, 90, 128, true, 1.0f},
    {1, 2, 1, 33, 47, 7, false, 0.3f},
    {1, 2, 1, 4, 0, 64, false, 0},       // no keys at all
    // In-place decode tiles (D a multiple of 16, at most 16 rows) whose row counts leave a
    // remainder in every register blocking (scores 2 or 4 rows, P·V 4), and widths of one to
    // six vectors of columns.
    {1, 3, 1, 1, 333, 64, false, 0},     // 3 rows
    {1, 2, 2, 1, 129, 48, true, 0},      // 1 row, 48 columns (no 32-column pairs for bf16)
    {1, 10, 2, 3, 530, 16, true, 0},     // 15 rows, causal offsets, one 16-column block
    {1, 16, 1, 1, 777, 32, false, 0},    // 16 rows: the largest tile decoded in place
    {1, 5, 1, 2, 2500, 80, false, 0},    // 10 rows, 80 columns
};

// layouts: of q, k, v, out in that order; the lse is padded for odd q layouts.
void run_problem(const Problem& p, int32_t dtype, const int layouts[4],
                 const std::string& prefix) {
    begin_case(prefix + describe(p, dtype, layouts[0]));
    HostTensor q = make_tensor(dtype, p.B, p.Hq, p.Nq, p.D, layouts[0]);
    HostTensor k = make_tensor(dtype, p.B, p.Hkv, p.Nk, p.D, layouts[1]);
    HostTensor v = make_tensor(dtype, p.B, p.Hkv, p.Nk, p.D, layouts[2]);
    HostTensor out = make_tensor(dtype, p.B, p.Hq, p.Nq, p.D, layouts[3]);
    HostTensor lse = make_lse(p.B, p.Hq, p.Nq, layouts[0] % 2 == 1);
    q.fill_normal(1.0f);
    k.fill_normal(1.0f);
    v.fill_normal(1.0f);
    out.poison();
    lse.poison();

    ha_exact_params params;
    ha_exact_params_init(&params);
    params.causal = p.causal ? 1 : 0;
    params.scale = p.scale;
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &params);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    if (st != HA_OK) return;
    double scale = p.scale != 0 ? p.scale : 1.0 / std::sqrt(double(p.D));
    RefResult ref = reference_attention(q, k, v, scale, p.causal);
    compare_output(out, ref, out_tolerance(dtype, max_abs(v)), &lse, lse_tolerance(dtype));
}

}  // namespace

TEST(exact_matches_reference_on_every_isa) {
    int n = 0;
    for (int32_t isa : supported_isas()) {
        CHECK(ha_set_cpu_isa(isa) == HA_OK, "set isa %d", isa);
        CHECK(ha_get_cpu_isa() == isa, "get isa %d", ha_get_cpu_isa());
        for (const Problem& p : kProblems)
            for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
                // Each operand in a different layout, rotating through all of them.
                const int l = n++ % NUM_LAYOUTS;
                const int layouts[4] = {l, (l + 1) % NUM_LAYOUTS, (l + 2) % NUM_LAYOUTS,
                                        (l + 3) % NUM_LAYOUTS};
                run_problem(p, dtype, layouts, format("[%s] ", isa_name(isa)));
                end_case();
            }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
    for (int32_t isa : arch_isas())
        if (isa != HA_CPU_ISA_GENERIC && ha_set_cpu_isa(isa) != HA_OK)
            skip_case(format("[%s] exact cases", isa_name(isa)), "this CPU lacks the ISA");
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}

TEST(exact_without_lse_and_with_null_params) {
    begin_case("lse NULL, params NULL → defaults (non-causal, 1/sqrt(d))");
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 4, 31, 64, BHSD);
    HostTensor k = make_tensor(HA_DTYPE_F32, 1, 2, 45, 64, BHSD);
    HostTensor v = make_tensor(HA_DTYPE_F32, 1, 2, 45, 64, BHSD);
    HostTensor out = make_tensor(HA_DTYPE_F32, 1, 4, 31, 64, BHSD);
    q.fill_normal(1);
    k.fill_normal(1);
    v.fill_normal(1);
    out.poison();
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc();
    int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, nullptr, nullptr);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    RefResult ref = reference_attention(q, k, v, 1.0 / 8.0, false);
    compare_output(out, ref, out_tolerance(HA_DTYPE_F32, max_abs(v)));
}

namespace {

std::vector<unsigned char> run_bytes(HostTensor& q, HostTensor& k, HostTensor& v, bool causal,
                                     int32_t dtype) {
    HostTensor out = make_tensor(dtype, q.shape[0], q.shape[1], q.shape[2], q.shape[3], BHSD);
    HostTensor lse = make_lse(q.shape[0], q.shape[1], q.shape[2], false);
    out.poison();
    lse.poison();
    ha_exact_params params;
    ha_exact_params_init(&params);
    params.causal = causal;
    ha_tensor tq = q.desc(), tk = k.desc(), tv = v.desc(), to = out.desc(), tl = lse.desc();
    int32_t st = ha_attention_exact(&tq, &tk, &tv, &to, &tl, &params);
    CHECK(st == HA_OK, "status %d: %s", st, ha_last_error());
    // The logical elements' bytes, in order: storage offsets differ between allocations.
    std::vector<unsigned char> bytes;
    auto append = [&](const HostTensor& t) {
        const unsigned char* base = t.storage.data() + t.offset;
        for (int64_t b = 0; b < t.shape[0]; ++b)
            for (int64_t h = 0; h < t.shape[1]; ++h)
                for (int64_t s = 0; s < t.shape[2]; ++s)
                    for (int64_t d = 0; d < t.shape[3]; ++d) {
                        const unsigned char* e = base + t.index(b, h, s, d) * t.esize();
                        bytes.insert(bytes.end(), e, e + t.esize());
                    }
    };
    append(out);
    append(lse);
    return bytes;
}

}  // namespace

TEST(results_identical_for_any_thread_count) {
    const Problem shapes[] = {{2, 8, 2, 300, 300, 128, true, 0},
                              {1, 4, 1, 1, 20000, 128, false, 0},  // split-KV candidate
                              {1, 1, 1, 7, 9000, 64, true, 0}};
    for (const Problem& p : shapes)
        for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
            begin_case("bit-identical for 1, 2, 3, 8 threads: " + describe(p, dtype, BHSD));
            HostTensor q = make_tensor(dtype, p.B, p.Hq, p.Nq, p.D, BHSD);
            HostTensor k = make_tensor(dtype, p.B, p.Hkv, p.Nk, p.D, BHSD);
            HostTensor v = make_tensor(dtype, p.B, p.Hkv, p.Nk, p.D, BHSD);
            q.fill_normal(1);
            k.fill_normal(1);
            v.fill_normal(1);
            const int before = ha_get_num_threads();
            ha_set_num_threads(1);
            auto ref = run_bytes(q, k, v, p.causal, dtype);
            for (int t : {2, 3, 8}) {
                CHECK(ha_set_num_threads(t) == HA_OK, "set threads %d", t);
                CHECK(ha_get_num_threads() == t, "get threads %d", ha_get_num_threads());
                CHECK(run_bytes(q, k, v, p.causal, dtype) == ref, "%d threads differ from 1", t);
            }
            ha_set_num_threads(before);
            end_case();
        }
    ha_set_num_threads(0);
}

TEST(concurrent_callers_get_identical_results) {
    begin_case("8 threads calling at once, shared inputs, private outputs");
    HostTensor q = make_tensor(HA_DTYPE_F32, 1, 8, 200, 64, BHSD);
    HostTensor k = make_tensor(HA_DTYPE_F32, 1, 2, 333, 64, BHSD);
    HostTensor v = make_tensor(HA_DTYPE_F32, 1, 2, 333, 64, BHSD);
    q.fill_normal(1);
    k.fill_normal(1);
    v.fill_normal(1);
    auto ref = run_bytes(q, k, v, true, HA_DTYPE_F32);
    std::vector<int> mismatches(8, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int it = 0; it < 5; ++it)
                if (run_bytes(q, k, v, true, HA_DTYPE_F32) != ref) ++mismatches[size_t(t)];
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 8; ++t) CHECK(mismatches[size_t(t)] == 0, "thread %d: %d mismatches", t, mismatches[size_t(t)]);
}

TEST(decode_over_a_bshd_kv_cache) {
    // Java runtimes keep the KV cache as [batch, seq, heads, dim]: with every operand in that
    // layout the decode path walks positions with all kv heads of a batch entry in one task.
    // Nk > 4096 also takes it through split-KV; D = 80 and 96 exercise the non-multiple-of-32
    // bf16 P*V and D = 64/128 the fast ones.
    const Problem shapes[] = {{2, 8, 2, 1, 5000, 128, false, 0}, {2, 8, 2, 3, 4500, 64, true, 0},
                              {1, 12, 4, 4, 6000, 96, true, 0},  {1, 4, 4, 2, 300, 80, false, 0},
                              {2, 4, 1, 1, 9000, 128, true, 0}, {1, 6, 2, 1, 3000, 48, true, 0}};
    for (int32_t isa : supported_isas()) {
        ha_set_cpu_isa(isa);
        for (const Problem& p : shapes)
            for (int32_t dtype : {HA_DTYPE_F32, HA_DTYPE_BF16, HA_DTYPE_F16}) {
                const int all_bshd[4] = {BSHD, BSHD, BSHD, BSHD};
                run_problem(p, dtype, all_bshd, format("[%s] bshd cache: ", isa_name(isa)));
                end_case();
            }
    }
    ha_set_cpu_isa(HA_CPU_ISA_AUTO);
}
