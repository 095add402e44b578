// Split-KV decoding (flash-decoding) for few query rows: the keys are cut into splits, one CTA
// per (split, row group, batch x kv head), and the G query heads that share a kv head are
// packed into the CTA's 16 rows so each K/V byte is read once per split. Inside a CTA the four
// warps take interleaved 16-key slices of each 64-key tile (three cp.async stages deep), keep
// private softmax states, and fold them together through shared memory at the end. With more
// than one split the per-split results (fp32, normalised, with their LSE) are combined by
// combine_kernel with the LSE merge.
#include <cmath>

#include "hyperattn.h"
#include "launch.h"
#include "mma.cuh"
#include "smem_limit.cuh"
#include "seq.cuh"

namespace ha::cuda {
namespace {

constexpr int kWarps = 4, kThreads = kWarps * 32, kStages = 3;
constexpr int KT = kDecodeKeyTile;        // keys per stage, 16 per warp
constexpr int RG = kDecodeRowsPerGroup;   // packed query rows per CTA
static_assert(KT == 16 * kWarps && RG == 16, "one m16 tile per warp, 16 keys per warp");
// Fold rows lie D + 8 floats apart: a half-warp's 8-byte stores (four rows, four column pairs
// each) then fall in 32 distinct banks; rows D apart put all eight rows in the same banks.
constexpr int kFoldPad = 8;

template <int D>
constexpr size_t decode_smem() {
    const size_t pipe = size_t(RG + 2 * kStages * KT) * D * 2;
    const size_t fold = size_t(kWarps) * RG * (D + kFoldPad) * 4 + size_t(2) * kWarps * RG * 4;
    return pipe > fold ? pipe : fold;
}

// Key rows [k0, k0 + KT) of K and V into one stage; rows >= kend become 0. A key's K and V
// rows share its page (paged caches), looked up once.
template <int D>
__device__ __forceinline__ void load_kv_stage(uint16_t* sk, uint16_t* sv, const uint16_t* k,
                                              const uint16_t* v, int k0, int kend,
                                              const FwdArgs& f, const int32_t* pages, int tid) {
    constexpr int CPR = D / 8, TOTAL = KT * CPR;
    static_assert(TOTAL % kThreads == 0, "whole chunks per thread");
#pragma unroll
    for (int i = 0; i < TOTAL / kThreads; ++i) {
        const int c = tid + i * kThreads, r = c / CPR, ch = c % CPR;
        const int j = k0 + r;
        const bool ok = j < kend;
        const uint16_t* pk = k;
        const uint16_t* pv = v;
        if (ok) {
            if (pages) {
                const int64_t pg = __ldg(pages + j / f.page_size), in = j % f.page_size;
                pk += pg * f.ks[0] + in * f.ks[2] + ch * 8;
                pv += pg * f.vs[0] + in * f.vs[2] + ch * 8;
            } else {
                pk += int64_t(j) * f.ks[2] + ch * 8;
                pv += int64_t(j) * f.vs[2] + ch * 8;
            }
        }
        cp_async_16(smem_addr(sk + swz<D>(r, ch * 8)), pk, ok);
        cp_async_16(smem_addr(sv + swz<D>(r, ch * 8)), pv, ok);
    }
}

template <class T, int D>
__global__ void __launch_bounds__(kThreads) decode_kernel(const DecodeArgs a) {
    constexpr int KSTEPS = D / 16;
    extern __shared__ uint4 smem_u4[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_u4);
    uint16_t* sK = sQ + RG * D;             // kStages buffers of KT x D
    uint16_t* sV = sK + kStages * KT * D;   // kStages buffers of KT x D

    const FwdArgs& f = a.f;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t4 = lane & 3;
    const int split = int(blockIdx.x) % a.grid_splits, rg = blockIdx.y;
    const int z = int(blockIdx.x) / a.grid_splits;
    const int b = z / f.Hkv, kvh = z % f.Hkv;
    const int G = f.Hq / f.Hkv;

    // This CTA's sequence, row group and split; whole-CTA exits before any barrier for a
    // sequence the forward kernel serves, a row group past its rows, a split past its plan.
    const SeqView sv = seq_view(f, b);
    const int Nq = sv.nq, Nk = sv.nk;
    if (f.decode_route && !decode_shaped(Nq, Nk, G)) return;
    const int rows = G * Nq;                // packed row p: head kvh*G + p%G, query p/G
    const int p0 = rg * RG;
    if (p0 >= rows) return;
    const int p_end = min(rows, p0 + RG);
    const DecodePlan plan = decode_plan(Nq, Nk, G, f.Hkv, f.wl, f.wr, f.plan_batch, f.sms);
    if (split >= plan.splits) return;
    const bool direct = plan.splits == 1;  // no combine: write out and lse here

    // Keys of this split, narrowed to the row group's rows (first row's lower bound, last
    // row's upper bound), starting on a key tile.
    const int64_t kbeg = (int64_t(plan.t_lo) + int64_t(split) * plan.chunk_tiles) * KT;
    int64_t kend = kbeg + int64_t(plan.chunk_tiles) * KT;
    if (kend > plan.k_hi) kend = plan.k_hi;
    int g_lo, g_hi, unused;
    key_bounds(p0 / G, Nq, Nk, f.wl, f.wr, &g_lo, &unused);
    key_bounds((p_end - 1) / G, Nq, Nk, f.wl, f.wr, &unused, &g_hi);
    const int64_t kfirst = int64_t(g_lo) / KT * KT;
    const int kstart = int(kbeg > kfirst ? kbeg : kfirst);
    const int kstop = int(kend < g_hi ? kend : g_hi);
    const int ntiles = kstop > kstart ? (kstop - kstart + KT - 1) / KT : 0;

    const uint16_t* k = static_cast<const uint16_t*>(f.k) + sv.koff + kvh * f.ks[1];
    const uint16_t* v = static_cast<const uint16_t*>(f.v) + sv.voff + kvh * f.vs[1];

    // The key range of this thread's two rows (rows past the packed count never store).
    int rlo[2], rhi[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int p = p0 + g + r * 8;
        rlo[r] = rhi[r] = 0;
        if (p < rows) key_bounds(p / G, Nq, Nk, f.wl, f.wr, &rlo[r], &rhi[r]);
    }

    if (ntiles > 0) {
        // Q rows, zero past the packed count.
        constexpr int QCH = RG * (D / 8);
        for (int c = tid; c < QCH; c += kThreads) {
            const int r = c / (D / 8), ch = c % (D / 8), p = p0 + r;
            const bool ok = p < rows;
            const uint16_t* src = static_cast<const uint16_t*>(f.q);
            if (ok)
                src += sv.row0(f.qs) + int64_t(kvh * G + p % G) * f.qs[1] + int64_t(p / G) * f.qs[2] +
                       ch * 8;
            cp_async_16(smem_addr(sQ + swz<D>(r, ch * 8)), src, ok);
        }
        cp_async_commit();
#pragma unroll
        for (int st = 0; st < kStages - 1; ++st) {
            if (st < ntiles)
                load_kv_stage<D>(sK + st * KT * D, sV + st * KT * D, k, v, kstart + st * KT,
                                 kstop, f, sv.pages, tid);
            cp_async_commit();
        }
    }

    // Soft cap: scores become cap * tanh(score * sc / cap), already in scaled units.
    const bool capped = f.softcap > 0.f;
    const float sc_raw = f.scale / f.qscale;  // scores are (qscale * q) . k
    const float tc = capped ? sc_raw / f.softcap : 0.f;
    const float sc = capped ? 1.f : sc_raw;
    const float sl2 = sc * 1.4426950408889634f;
    float o[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    uint32_t qf[KSTEPS][4];

    for (int it = 0; it < ntiles; ++it) {
        cp_async_wait<kStages - 2>();  // Q and tiles 0..it have landed
        __syncthreads();               // and every warp is done with tile it-1's buffer
        if (it == 0) {
            if (f.qscale != 1.f) {
                scale_q_smem<T>(sQ, RG * D, f.qscale, tid, kThreads);
                __syncthreads();
            }
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk)
                ldmatrix_x4(qf[kk], smem_addr(sQ + swz<D>(lane & 15, kk * 16 + (lane >> 4) * 8)));
        }
        {
            const int nxt = it + kStages - 1;
            if (nxt < ntiles) {
                const int sb = nxt % kStages;
                load_kv_stage<D>(sK + sb * KT * D, sV + sb * KT * D, k, v, kstart + nxt * KT,
                                 kstop, f, sv.pages, tid);
            }
            cp_async_commit();
        }

        const int kw = kstart + it * KT + warp * 16;  // this warp's 16 keys
        if (kw >= kstop) continue;                    // warp-uniform: past the split's end
        const uint16_t* cK = sK + (it % kStages) * KT * D + warp * 16 * D;
        const uint16_t* cV = sV + (it % kStages) * KT * D + warp * 16 * D;
        // (warp * 16 rows keep the swizzle phase: 16 is a multiple of 8.)

        float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
        for (int kk = 0; kk < KSTEPS; ++kk) {
            uint32_t kb[4];
            ldmatrix_x4(kb, smem_addr(cK + swz<D>((lane & 7) + ((lane >> 4) << 3),
                                                  kk * 16 + ((lane >> 3) & 1) * 8)));
            mma_16816<T>(s[0], qf[kk], kb[0], kb[1]);
            mma_16816<T>(s[1], qf[kk], kb[2], kb[3]);
        }
        if (capped) {
#pragma unroll
            for (int nt = 0; nt < 2; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[nt][e] = soft_cap(s[nt][e], tc, f.softcap);
        }
        // Keys past the split's end belong to the next split; the rest by each row's range.
#pragma unroll
        for (int nt = 0; nt < 2; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int key = kw + nt * 8 + 2 * t4 + (e & 1);
                if (key >= kstop || key < rlo[e >> 1] || key >= rhi[e >> 1]) s[nt][e] = -INFINITY;
            }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float mx = fmaxf(m[r], fmaxf(fmaxf(s[0][2 * r], s[0][2 * r + 1]),
                                         fmaxf(s[1][2 * r], s[1][2 * r + 1])));
            mx = quad_max(mx);
            const float alpha = m[r] == -INFINITY ? 0.f : fast_exp2((m[r] - mx) * sl2);
            const float msc = mx == -INFINITY ? 0.f : mx * sl2;
            m[r] = mx;
            float rs = 0.f;
#pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                const float p0v = fast_exp2(fmaf(s[nt][2 * r], sl2, -msc));
                const float p1v = fast_exp2(fmaf(s[nt][2 * r + 1], sl2, -msc));
                s[nt][2 * r] = p0v;
                s[nt][2 * r + 1] = p1v;
                rs += p0v + p1v;
            }
            l[r] = l[r] * alpha + rs;
#pragma unroll
            for (int dt = 0; dt < D / 8; ++dt) {
                o[dt][2 * r] *= alpha;
                o[dt][2 * r + 1] *= alpha;
            }
        }
        uint32_t pa[4];
        pa[0] = Elem<T>::pack(s[0][0], s[0][1]);
        pa[1] = Elem<T>::pack(s[0][2], s[0][3]);
        pa[2] = Elem<T>::pack(s[1][0], s[1][1]);
        pa[3] = Elem<T>::pack(s[1][2], s[1][3]);
#pragma unroll
        for (int dp = 0; dp < D / 16; ++dp) {
            uint32_t vb[4];
            ldmatrix_x4_trans(vb, smem_addr(cV + swz<D>((lane & 7) + ((lane >> 3) & 1) * 8,
                                                        dp * 16 + (lane >> 4) * 8)));
            mma_16816<T>(o[2 * dp], pa, vb[0], vb[1]);
            mma_16816<T>(o[2 * dp + 1], pa, vb[2], vb[3]);
        }
    }

    // Fold the four warps' states: shared memory is free once every copy has landed.
    cp_async_wait<0>();
    __syncthreads();
    constexpr int FS = D + kFoldPad;                 // row stride, see kFoldPad
    float* fo = reinterpret_cast<float*>(smem_u4);   // [warp][row][FS]
    float* fm = fo + kWarps * RG * FS;               // [warp][row]
    float* fl = fm + kWarps * RG;                    // [warp][row]
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int row = g + r * 8;
        const float lsum = quad_sum(l[r]);
        float* dst = fo + (warp * RG + row) * FS;
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt)
            *reinterpret_cast<float2*>(dst + dt * 8 + 2 * t4) = make_float2(o[dt][2 * r], o[dt][2 * r + 1]);
        if (t4 == 0) {
            fm[warp * RG + row] = m[r];
            fl[warp * RG + row] = lsum;
        }
    }
    __syncthreads();

    const int64_t R_part = int64_t(f.B) * f.Hq * a.part_nq;
    for (int e = tid; e < RG * D; e += kThreads) {
        const int row = e / D, d = e % D, p = p0 + row;
        if (p >= rows) continue;
        float M = -INFINITY;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) M = fmaxf(M, fm[w * RG + row]);
        float L = 0.f, acc = 0.f;
        // No shortcut for M == -inf: a warp whose scores were all NaN keeps m = -inf and
        // l = NaN, and 0 * NaN carries that NaN into the row (hyperattn.h's policy).
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            const float mw = fm[w * RG + row];
            const float c = mw == -INFINITY ? 0.f : fast_exp2((mw - M) * sl2);
            L += c * fl[w * RG + row];
            acc += c * fo[(w * RG + row) * FS + d];
        }
        const float val = L > 0.f ? acc / L : L == 0.f ? 0.f : __int_as_float(0x7fc00000);
        const float lse = L == 0.f ? -INFINITY : M * sc + logf(L);
        const int qh = kvh * G + p % G, qi = p / G;
        if (direct) {
            uint16_t* out = static_cast<uint16_t*>(f.out);
            const T tv = Elem<T>::from_float(val);
            out[sv.row0(f.os) + qh * f.os[1] + int64_t(qi) * f.os[2] + d] =
                *reinterpret_cast<const uint16_t*>(&tv);
            if (d == 0 && f.lse) f.lse[sv.row0(f.ls) + qh * f.ls[1] + int64_t(qi) * f.ls[2]] = lse;
        } else {
            const int64_t prow = (int64_t(b) * f.Hq + qh) * a.part_nq + qi;
            a.partial_o[(split * R_part + prow) * D + d] = val;
            if (d == 0) a.partial_lse[split * R_part + prow] = lse;
        }
    }
}

// One warp per output row (b, h, i < part_nq) of the sequences decoded with more than one
// split: weights exp(lse_s - lse) of the splits, then the weighted sum.
template <class T>
__global__ void __launch_bounds__(128) combine_kernel(const DecodeArgs a) {
    __shared__ float wts[4][kMaxSplits];
    const FwdArgs& f = a.f;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t R_part = int64_t(f.B) * f.Hq * a.part_nq;
    const int64_t prow = int64_t(blockIdx.x) * 4 + warp;
    if (prow >= R_part) return;  // whole warps only; no block-wide barrier below
    const int D = f.D, G = f.Hq / f.Hkv;
    const int qi = int(prow % a.part_nq);
    const int qh = int((prow / a.part_nq) % f.Hq);
    const int b = int(prow / (int64_t(a.part_nq) * f.Hq));
    const SeqView sv = seq_view(f, b);
    if (qi >= sv.nq || (f.decode_route && !decode_shaped(sv.nq, sv.nk, G))) return;
    const int S = decode_plan(sv.nq, sv.nk, G, f.Hkv, f.wl, f.wr, f.plan_batch, f.sms).splits;
    if (S == 1) return;  // written by the decode kernel itself

    float M = -INFINITY;
    bool bad = false;  // a NaN or +inf partial lse: the row is NaN (hyperattn.h's policy)
    for (int s = lane; s < S; s += 32) {
        const float ls = a.partial_lse[s * R_part + prow];
        bad |= isnan(ls) || ls == INFINITY;
        M = fmaxf(M, ls);
    }
    bad = __any_sync(0xffffffffu, bad);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, off));
    float lse = -INFINITY;
    if (M != -INFINITY) {
        float sum = 0.f;
        for (int s = lane; s < S; s += 32) sum += expf(a.partial_lse[s * R_part + prow] - M);
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
        lse = M + logf(sum);
    }
    if (bad) lse = __int_as_float(0x7fc00000);
    for (int s = lane; s < S; s += 32) {
        const float ls = a.partial_lse[s * R_part + prow];
        wts[warp][s] = (lse == -INFINITY || ls == -INFINITY) ? 0.f : expf(ls - lse);
    }
    __syncwarp();
    uint16_t* out = static_cast<uint16_t*>(f.out) + sv.row0(f.os) + qh * f.os[1] + int64_t(qi) * f.os[2];
    for (int d = lane; d < D; d += 32) {
        float acc = 0.f;
        for (int s = 0; s < S; ++s) {
            const float w = wts[warp][s];
            if (w != 0.f) acc += w * a.partial_o[(s * R_part + prow) * D + d];
        }
        if (bad) acc = __int_as_float(0x7fc00000);
        const T tv = Elem<T>::from_float(acc);
        out[d] = *reinterpret_cast<const uint16_t*>(&tv);
    }
    if (lane == 0 && f.lse) f.lse[sv.row0(f.ls) + qh * f.ls[1] + int64_t(qi) * f.ls[2]] = lse;
}

template <class T, int D>
cudaError_t launch_decode_t(const DecodeArgs& a, cudaStream_t stream) {
    constexpr size_t smem = decode_smem<D>();
    static_assert(smem <= 227 * 1024, "shared memory");
    cudaError_t e = raise_smem_limit<decode_kernel<T, D>>(int(smem));
    if (e != cudaSuccess) return e;
    const FwdArgs& f = a.f;
    const int64_t groups = (int64_t(f.Hq / f.Hkv) * f.Nq + RG - 1) / RG;
    const int64_t x = int64_t(a.grid_splits) * f.B * f.Hkv;
    if (groups > 65535 || x > 0x7fffffff || a.grid_splits > kMaxSplits)
        return cudaErrorInvalidConfiguration;
    decode_kernel<T, D><<<dim3(unsigned(x), unsigned(groups)), kThreads, smem, stream>>>(a);
    return cudaGetLastError();
}

template <class T>
cudaError_t launch_decode_d(const DecodeArgs& a, cudaStream_t stream) {
    if (a.f.D == 64) return launch_decode_t<T, 64>(a, stream);
    if (a.f.D == 128) return launch_decode_t<T, 128>(a, stream);
    return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t launch_decode(int32_t dtype, const DecodeArgs& a, cudaStream_t stream) {
    return dtype == HA_DTYPE_F16 ? launch_decode_d<__half>(a, stream)
                                         : launch_decode_d<__nv_bfloat16>(a, stream);
}

size_t decode_smem_bytes(int D) { return D == 64 ? decode_smem<64>() : decode_smem<128>(); }

cudaError_t launch_combine(int32_t dtype, const DecodeArgs& a, cudaStream_t stream) {
    const int64_t rows = int64_t(a.f.B) * a.f.Hq * a.part_nq;
    const int64_t blocks = (rows + 3) / 4;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    if (dtype == HA_DTYPE_F16)
        combine_kernel<__half><<<unsigned(blocks), 128, 0, stream>>>(a);
    else
        combine_kernel<__nv_bfloat16><<<unsigned(blocks), 128, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace ha::cuda
