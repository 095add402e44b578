/*
 * Smoke test of a shipped libhyperattn.so on an old system (run by scripts/portable/smoke.sh in
 * a Debian 11 root): loads it as the JVM does (dlopen, every symbol bound now), checks the ABI
 * version, asks for CUDA devices (none there: must answer, not crash), and runs exact attention
 * (f32 and bf16, causal and not, GQA, every instruction-set path the CPU has, 2 threads) against
 * a float64 loop.
 *
 *   cc -std=gnu11 -I cpp/include tests/portable/smoke.c -ldl -lm -o smoke && ./smoke libhyperattn.so
 *
 * Prints "N passed, N failed"; exits 1 on any failure.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyperattn.h"

#define BIND(name) __typeof__(&name) p_##name = (__typeof__(&name))bind(#name)

static void* lib;
static int passed, failed;

static void* bind(const char* name) {
    void* f = dlsym(lib, name);
    if (!f) {
        fprintf(stderr, "smoke: symbol %s missing: %s\n", name, dlerror());
        exit(1);
    }
    return f;
}

static void check(int ok, const char* what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (ok) ++passed; else ++failed;
}

static uint16_t to_bf16(float x) { /* round to nearest even (inputs are finite) */
    uint32_t u;
    memcpy(&u, &x, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static float from_bf16(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static ha_tensor tensor(void* data, int32_t dtype, int64_t h, int64_t n, int64_t d) {
    ha_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.device_type = HA_DEVICE_CPU;
    t.shape[0] = 1; t.shape[1] = h; t.shape[2] = n; t.shape[3] = d;
    t.strides[0] = h * n * d; t.strides[1] = n * d; t.strides[2] = d; t.strides[3] = 1;
    return t;
}

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "./libhyperattn.so";
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "smoke: dlopen failed: %s\n", dlerror());
        return 1;
    }
    BIND(ha_abi_version);
    BIND(ha_version_string);
    BIND(ha_last_error);
    BIND(ha_set_num_threads);
    BIND(ha_set_cpu_isa);
    BIND(ha_get_cpu_isa);
    BIND(ha_exact_params_init);
    BIND(ha_attention_exact);
    BIND(ha_cuda_device_count);

    printf("loaded %s: version %s, ABI %d\n", path, p_ha_version_string(), p_ha_abi_version());
    check(p_ha_abi_version() == HA_ABI_VERSION, "ABI version matches the header");
    int32_t devices = -1;
    int32_t st = p_ha_cuda_device_count(&devices);
    printf("ha_cuda_device_count: status %d, count %d%s%s\n", st, devices, st ? ", " : "",
           st ? p_ha_last_error() : "");
    check(st == HA_OK || st == HA_ERR_NO_DEVICE || st == HA_ERR_UNSUPPORTED || st == HA_ERR_DEVICE,
          "ha_cuda_device_count answers without a driver");
    check(p_ha_set_num_threads(2) == HA_OK, "ha_set_num_threads(2)");

    enum { HQ = 4, HKV = 2, NQ = 37, NK = 53, D = 64 };
    static float q[HQ * NQ * D], k[HKV * NK * D], v[HKV * NK * D], out[HQ * NQ * D], lse[HQ * NQ];
    static uint16_t qb[HQ * NQ * D], kb[HKV * NK * D], vb[HKV * NK * D], outb[HQ * NQ * D];
    uint32_t s = 12345u;
    for (int i = 0; i < HQ * NQ * D; ++i) { s = s * 1664525u + 1013904223u; q[i] = (float)(s >> 8) / 16777216.0f * 2 - 1; }
    for (int i = 0; i < HKV * NK * D; ++i) { s = s * 1664525u + 1013904223u; k[i] = (float)(s >> 8) / 16777216.0f * 2 - 1; }
    for (int i = 0; i < HKV * NK * D; ++i) { s = s * 1664525u + 1013904223u; v[i] = (float)(s >> 8) / 16777216.0f * 2 - 1; }
    for (int i = 0; i < HQ * NQ * D; ++i) qb[i] = to_bf16(q[i]);
    for (int i = 0; i < HKV * NK * D; ++i) { kb[i] = to_bf16(k[i]); vb[i] = to_bf16(v[i]); }

    const int isas[] = {HA_CPU_ISA_GENERIC, HA_CPU_ISA_AVX2, HA_CPU_ISA_AVX512};
    const char* isa_names[] = {"", "generic", "avx2", "avx512"};
    for (int ii = 0; ii < 3; ++ii) {
        if (p_ha_set_cpu_isa(isas[ii]) != HA_OK) {
            printf("skip %s: not on this CPU\n", isa_names[isas[ii]]);
            continue;
        }
        for (int bf = 0; bf < 2; ++bf) {
            for (int causal = 0; causal < 2; ++causal) {
                int32_t dt = bf ? HA_DTYPE_BF16 : HA_DTYPE_F32;
                ha_tensor tq = tensor(bf ? (void*)qb : (void*)q, dt, HQ, NQ, D);
                ha_tensor tk = tensor(bf ? (void*)kb : (void*)k, dt, HKV, NK, D);
                ha_tensor tv = tensor(bf ? (void*)vb : (void*)v, dt, HKV, NK, D);
                ha_tensor to = tensor(bf ? (void*)outb : (void*)out, dt, HQ, NQ, D);
                ha_tensor tl = tensor(lse, HA_DTYPE_F32, HQ, NQ, 1);
                ha_exact_params p;
                p_ha_exact_params_init(&p);
                p.causal = causal;
                st = p_ha_attention_exact(&tq, &tk, &tv, &to, &tl, &p, tq.data, tk.data, tv.data,
                                          to.data, tl.data);
                double err = 0, lerr = 0;
                for (int h = 0; h < HQ; ++h) {
                    const int hk = h / (HQ / HKV);
                    for (int i = 0; i < NQ; ++i) {
                        double sc[NK], m = -INFINITY, z = 0, o[D] = {0};
                        const int last = causal ? i + NK - NQ : NK - 1;
                        for (int j = 0; j <= last; ++j) {
                            double dot = 0;
                            for (int c = 0; c < D; ++c) {
                                double a = bf ? from_bf16(qb[(h * NQ + i) * D + c]) : q[(h * NQ + i) * D + c];
                                double b = bf ? from_bf16(kb[(hk * NK + j) * D + c]) : k[(hk * NK + j) * D + c];
                                dot += a * b;
                            }
                            sc[j] = dot / sqrt((double)D);
                            if (sc[j] > m) m = sc[j];
                        }
                        for (int j = 0; j <= last; ++j) {
                            double w = exp(sc[j] - m);
                            z += w;
                            for (int c = 0; c < D; ++c)
                                o[c] += w * (bf ? from_bf16(vb[(hk * NK + j) * D + c]) : v[(hk * NK + j) * D + c]);
                        }
                        for (int c = 0; c < D; ++c) {
                            double got = bf ? from_bf16(outb[(h * NQ + i) * D + c]) : out[(h * NQ + i) * D + c];
                            double e = fabs(got - o[c] / z);
                            if (!(e <= err)) err = e; /* NaN sticks */
                        }
                        double le = fabs(lse[h * NQ + i] - (m + log(z)));
                        if (!(le <= lerr)) lerr = le;
                    }
                }
                const double tol = bf ? 5e-3 : 1e-5;
                char what[160];
                snprintf(what, sizeof what,
                         "exact %s %s %s: status %d, max |out - f64| %.2e, max |lse - f64| %.2e (tol %.0e)",
                         isa_names[p_ha_get_cpu_isa()], bf ? "bf16" : "f32 ",
                         causal ? "causal" : "full  ", st, err, lerr, tol);
                check(st == HA_OK && err <= tol && lerr <= 1e-4, what);
            }
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
