// The forward kernel, FlashAttention-2 style: a CTA owns BM query rows of one (batch, head),
// each warp 16 of them; K/V tiles of BN keys stream through shared memory, double-buffered
// (cp.async), and the whole softmax lives in registers. Included by one .cu per variant so the
// variants compile in parallel.
#pragma once
#include <cmath>

#include "launch.h"
#include "mma.cuh"
#include "smem_limit.cuh"
#include "seq.cuh"

namespace ha::cuda {

// DP: head_dim capacity of the tiles (a multiple of 64); FULL_D: the real D equals DP
// (no guards); QREG: Q fragments stay in registers for the whole CTA (else re-read from shared
// memory each tile, for DP = 256 where registers run out); ALIGNED: cp.async tiles (16-byte
// chunks, needs aligned bases/strides and D % 8 == 0) or element-wise strided loads/stores.
template <class T_, int DP_, int BM_, int BN_, bool FULL_D_, bool QREG_, bool ALIGNED_, int MINB_>
struct FwdCfg {
    using T = T_;
    static constexpr int DP = DP_, BM = BM_, BN = BN_, MINB = MINB_;
    static constexpr bool FULL_D = FULL_D_, QREG = QREG_, ALIGNED = ALIGNED_;
    static constexpr int WARPS = BM / 16, THREADS = WARPS * 32;
    static constexpr size_t SMEM = size_t(BM + 4 * BN) * DP * 2;  // Q + 2x K + 2x V
    static_assert(BM % 16 == 0 && BN % 16 == 0 && DP % 64 == 0, "tile shape");
};

// Loads rows [r0, r0 + R) of a [rows, D] slice (row j at element rows(j)) into a swizzled
// R x DP tile; rows >= nrows and columns >= D become 0 (so padded dims and keys contribute
// nothing, and never NaN).
template <class Cfg, int R>
__device__ __forceinline__ void load_tile(uint16_t* s, const uint16_t* src, int r0, int nrows,
                                          const Rows& rows, int64_t ds, int D, int tid) {
    constexpr int DP = Cfg::DP, NT = Cfg::THREADS;
    if constexpr (Cfg::ALIGNED) {
        constexpr int CPR = DP / 8, TOTAL = R * CPR;
        static_assert(TOTAL % NT == 0, "whole chunks per thread");
#pragma unroll
        for (int i = 0; i < TOTAL / NT; ++i) {
            const int c = tid + i * NT, r = c / CPR, ch = c % CPR;
            const bool ok = r0 + r < nrows && (Cfg::FULL_D || ch * 8 < D);
            const uint16_t* p = ok ? src + rows(r0 + r) + ch * 8 : src;
            cp_async_16(smem_addr(s + swz<DP>(r, ch * 8)), p, ok);
        }
    } else {
        // Only columns below D rounded up to 16 are ever read by the mma loops.
        const int dr = (D + 15) & ~15;
        for (int e = tid; e < R * dr; e += NT) {
            const int r = e / dr, c = e % dr;
            uint16_t x = 0;
            if (r0 + r < nrows && c < D) x = src[rows(r0 + r) + int64_t(c) * ds];
            s[swz<DP>(r, c)] = x;
        }
    }
}

template <class Cfg>
__global__ void __launch_bounds__(Cfg::THREADS, Cfg::MINB) fwd_kernel(const FwdArgs a) {
    using T = typename Cfg::T;
    constexpr int DP = Cfg::DP, BM = Cfg::BM, BN = Cfg::BN, KSTEPS = DP / 16;
    extern __shared__ uint4 smem_u4[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_u4);
    uint16_t* sK = sQ + BM * DP;       // two buffers of BN x DP
    uint16_t* sV = sK + 2 * BN * DP;   // two buffers of BN x DP

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t4 = lane & 3;
    const int D = a.D;

    // The query blocks of one (batch, head) are neighbours in the grid, so the CTAs resident
    // together read the same K/V tiles and mostly hit L2 (with the head index fastest, a wave
    // of 132 CTAs would stream the K/V of up to 132 heads from HBM). Within a head, the
    // heaviest (last, for causal) blocks go first, so the tail of each head is light.
    const int num_m = (a.Nq + BM - 1) / BM;
    const int bh = int(blockIdx.x / num_m);
    const int mb = num_m - 1 - int(blockIdx.x % num_m);
    const int b = bh / a.Hq, h = bh % a.Hq;
    const int G = a.Hq / a.Hkv;
    const int kvh = h / G;
    const int m0 = mb * BM;

    // This block's sequence: a shorter one of a batch has no block m0, and a decode-shaped one
    // is the decode kernel's (whole-CTA exits, before any barrier).
    const SeqView sv = seq_view(a, b);
    const int Nq = sv.nq, Nk = sv.nk;
    if (m0 >= Nq || (a.decode_route && decode_shaped(Nq, Nk, G))) return;

    const uint16_t* q = static_cast<const uint16_t*>(a.q) + sv.row0(a.qs) + h * a.qs[1];
    const uint16_t* k = static_cast<const uint16_t*>(a.k) + sv.koff + kvh * a.ks[1];
    const uint16_t* v = static_cast<const uint16_t*>(a.v) + sv.voff + kvh * a.vs[1];
    const Rows qrows{a.qs[2], nullptr, 1, 0};
    const Rows krows{a.ks[2], sv.pages, a.page_size, a.ks[0]};
    const Rows vrows{a.vs[2], sv.pages, a.page_size, a.vs[0]};

    // Keys this block needs: from its first row's lower bound to its last row's upper bound
    // (both non-decreasing in the row), in whole key tiles counted from key 0.
    int blk_lo, blk_hi, unused;
    key_bounds(m0, Nq, Nk, a.wl, a.wr, &blk_lo, &unused);
    key_bounds(min(m0 + BM, Nq) - 1, Nq, Nk, a.wl, a.wr, &unused, &blk_hi);
    const int t_begin = blk_lo / BN;
    const int ntiles = blk_hi > blk_lo ? (blk_hi + BN - 1) / BN - t_begin : 0;
    const int n_end = blk_hi;  // key rows at or past it load as zeros

    // Soft cap: scores become cap * tanh(score * sc / cap), already in scaled units.
    const bool capped = a.softcap > 0.f;
    const float sc_raw = a.scale / a.qscale;           // scores are (qscale * q) . k
    const float tc = capped ? sc_raw / a.softcap : 0.f;
    const float sc = capped ? 1.f : sc_raw;
    const float sl2 = sc * 1.4426950408889634f;        // folded into exp2
    const int wrow0 = m0 + warp * 16;                  // this warp's first query row

    // The key ranges of this thread's two rows (rows past Nq see nothing), and of the warp:
    // w_lo/w_hi bound the union of its rows' ranges, w_in_lo/w_in_hi their intersection.
    int rlo[2], rhi[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int row = wrow0 + g + r * 8;
        rlo[r] = rhi[r] = 0;
        if (row < Nq) key_bounds(row, Nq, Nk, a.wl, a.wr, &rlo[r], &rhi[r]);
    }
    int w_lo = 0, w_hi = 0, w_in_lo = 0, w_in_hi = 0;
    if (wrow0 < Nq) {
        key_bounds(wrow0, Nq, Nk, a.wl, a.wr, &w_lo, &w_in_hi);
        key_bounds(min(wrow0 + 15, Nq - 1), Nq, Nk, a.wl, a.wr, &w_in_lo, &w_hi);
    }

    float o[DP / 8][4];
#pragma unroll
    for (int i = 0; i < DP / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    uint32_t qf[Cfg::QREG ? KSTEPS : 1][4];

    if (ntiles > 0) {
        load_tile<Cfg, BM>(sQ, q, m0, Nq, qrows, a.qs[3], D, tid);
        cp_async_commit();
        load_tile<Cfg, BN>(sK, k, t_begin * BN, n_end, krows, a.ks[3], D, tid);
        load_tile<Cfg, BN>(sV, v, t_begin * BN, n_end, vrows, a.vs[3], D, tid);
        cp_async_commit();
        cp_async_wait<1>();  // Q landed (the first K/V tile may still be in flight)
        __syncthreads();
        if (a.qscale != 1.f) {
            scale_q_smem<T>(sQ, BM * DP, a.qscale, tid, Cfg::THREADS);
            __syncthreads();
        }
        if constexpr (Cfg::QREG) {
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk)
                ldmatrix_x4(qf[kk], smem_addr(sQ + swz<DP>(warp * 16 + (lane & 15),
                                                           kk * 16 + (lane >> 4) * 8)));
        }
    }

    for (int it = 0; it < ntiles; ++it) {
        const int n0 = (t_begin + it) * BN;
        if (it + 1 < ntiles) {
            const int nb = (it + 1) & 1;
            load_tile<Cfg, BN>(sK + nb * BN * DP, k, n0 + BN, n_end, krows, a.ks[3], D, tid);
            load_tile<Cfg, BN>(sV + nb * BN * DP, v, n0 + BN, n_end, vrows, a.vs[3], D, tid);
        }
        cp_async_commit();   // possibly empty: keeps the group count uniform
        cp_async_wait<1>();  // everything but the newest group: tile `it` (and Q) landed
        __syncthreads();

        const uint16_t* cK = sK + (it & 1) * BN * DP;
        const uint16_t* cV = sV + (it & 1) * BN * DP;
        // A warp whose rows are all padding, or whose rows' key ranges all miss this tile, has
        // nothing to do here; it still takes part in the barriers.
        const bool warp_active = wrow0 < Nq && n0 < w_hi && n0 + BN > w_lo;
        if (warp_active) {
            float s[BN / 8][4];
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk) {
                if (!Cfg::FULL_D && kk * 16 >= D) continue;
                uint32_t qa[4];
                if constexpr (Cfg::QREG) {
                    qa[0] = qf[kk][0]; qa[1] = qf[kk][1]; qa[2] = qf[kk][2]; qa[3] = qf[kk][3];
                } else {
                    ldmatrix_x4(qa, smem_addr(sQ + swz<DP>(warp * 16 + (lane & 15),
                                                           kk * 16 + (lane >> 4) * 8)));
                }
#pragma unroll
                for (int np = 0; np < BN / 16; ++np) {
                    uint32_t kb[4];
                    ldmatrix_x4(kb, smem_addr(cK + swz<DP>(np * 16 + (lane & 7) + ((lane >> 4) << 3),
                                                           kk * 16 + ((lane >> 3) & 1) * 8)));
                    mma_16816<T>(s[2 * np], qa, kb[0], kb[1]);
                    mma_16816<T>(s[2 * np + 1], qa, kb[2], kb[3]);
                }
            }

            if (capped) {
#pragma unroll
                for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) s[nt][e] = soft_cap(s[nt][e], tc, a.softcap);
            }

            // Mask keys outside each row's range (past the end, the causal diagonal, the
            // window), unless the tile lies inside every row's range.
            if (n0 < w_in_lo || n0 + BN > w_in_hi) {
#pragma unroll
                for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        const int key = n0 + nt * 8 + 2 * t4 + (e & 1);
                        if (key < rlo[e >> 1] || key >= rhi[e >> 1]) s[nt][e] = -INFINITY;
                    }
            }

            // Online softmax, two rows per thread (g and g + 8), four threads per row.
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                float mx = m[r];
#pragma unroll
                for (int nt = 0; nt < BN / 8; ++nt)
                    mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
                mx = quad_max(mx);
                const float alpha = m[r] == -INFINITY ? 0.f : fast_exp2((m[r] - mx) * sl2);
                const float msc = mx == -INFINITY ? 0.f : mx * sl2;
                m[r] = mx;
                float rs = 0.f;
#pragma unroll
                for (int nt = 0; nt < BN / 8; ++nt) {
                    const float p0 = fast_exp2(fmaf(s[nt][2 * r], sl2, -msc));
                    const float p1 = fast_exp2(fmaf(s[nt][2 * r + 1], sl2, -msc));
                    s[nt][2 * r] = p0;
                    s[nt][2 * r + 1] = p1;
                    rs += p0 + p1;
                }
                l[r] = l[r] * alpha + rs;
#pragma unroll
                for (int dt = 0; dt < DP / 8; ++dt) {
                    o[dt][2 * r] *= alpha;
                    o[dt][2 * r + 1] *= alpha;
                }
            }

            // O += P V: the S accumulators of two key n-tiles are the A fragment of one k-step.
#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) {
                uint32_t pa[4];
                pa[0] = Elem<T>::pack(s[2 * kk][0], s[2 * kk][1]);
                pa[1] = Elem<T>::pack(s[2 * kk][2], s[2 * kk][3]);
                pa[2] = Elem<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                pa[3] = Elem<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
                for (int dp = 0; dp < DP / 16; ++dp) {
                    if (!Cfg::FULL_D && dp * 16 >= D) continue;
                    uint32_t vb[4];
                    ldmatrix_x4_trans(vb, smem_addr(cV + swz<DP>(kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8,
                                                                 dp * 16 + (lane >> 4) * 8)));
                    mma_16816<T>(o[2 * dp], pa, vb[0], vb[1]);
                    mma_16816<T>(o[2 * dp + 1], pa, vb[2], vb[3]);
                }
            }
        }
        __syncthreads();  // every warp is done with buffer it&1 before it is refilled
    }

    // Epilogue: normalise and store; a row that saw no key writes 0 and lse -inf, a row whose
    // sum is NaN (a NaN or +inf score: hyperattn.h's policy) writes NaN to both.
    uint16_t* out = static_cast<uint16_t*>(a.out) + sv.row0(a.os) + h * a.os[1];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const float lsum = quad_sum(l[r]);
        const int row = wrow0 + g + r * 8;
        if (row >= Nq) continue;
        const float inv = lsum > 0.f ? 1.f / lsum : lsum == 0.f ? 0.f : __int_as_float(0x7fc00000);
        uint16_t* orow = out + int64_t(row) * a.os[2];
#pragma unroll
        for (int dt = 0; dt < DP / 8; ++dt) {
            const int col = dt * 8 + 2 * t4;
            if (!Cfg::FULL_D && col >= D) continue;
            const uint32_t pr = Elem<T>::pack(o[dt][2 * r] * inv, o[dt][2 * r + 1] * inv);
            if constexpr (Cfg::ALIGNED) {  // D even, 4-byte aligned pairs
                *reinterpret_cast<uint32_t*>(orow + col) = pr;
            } else {
                orow[int64_t(col) * a.os[3]] = uint16_t(pr & 0xffffu);
                if (col + 1 < D) orow[int64_t(col + 1) * a.os[3]] = uint16_t(pr >> 16);
            }
        }
        if (a.lse && t4 == 0)
            a.lse[sv.row0(a.ls) + h * a.ls[1] + int64_t(row) * a.ls[2]] =
                lsum == 0.f ? -INFINITY : m[r] * sc + logf(lsum);
    }
}

template <class Cfg>
cudaError_t launch_fwd(const FwdArgs& a, cudaStream_t stream) {
    static_assert(Cfg::SMEM <= 227 * 1024, "shared memory");
    cudaError_t e = raise_smem_limit<fwd_kernel<Cfg>>(int(Cfg::SMEM));
    if (e != cudaSuccess) return e;
    const int64_t blocks = int64_t((a.Nq + Cfg::BM - 1) / Cfg::BM) * a.B * a.Hq;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    fwd_kernel<Cfg><<<unsigned(blocks), Cfg::THREADS, Cfg::SMEM, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace ha::cuda
