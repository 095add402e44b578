// HyperAttention's kernels (the host side, hyper.cpp, plans and orders them):
//  - hashing: r projections of each row on the hyperplanes, summed in double over d = 0..D-1
//    in that order from exact products (float x float fits a double), so the sign bits, and
//    so the bucket ranks, are bit for bit those of the CPU backend (cpu/kern/hyper_hash.h);
//    rank = inverse Gray code of the sign bits (cpu/hyper/bucket_rank.h);
//  - sort inputs per sub-problem, CUB's segmented radix sort (stable, so equal ranks keep their
//    original order like the CPU's counting sort), inverse key permutations and the sorted
//    positions of the sampled keys;
//  - the rect kernel: a CTA takes up to 64 rows of one sorted query block of one rect and one
//    query head (gathered through the query permutation) and runs the FA2 tile loop of
//    forward.cuh (mma.sync m16n8k16, cp.async double buffer) over its window of sorted keys
//    and then the rect's sampled keys, both gathered row by row into shared memory. Each key
//    carries a log2 weight: 0 in the window, log2(nk/m) for a sample, -inf for a sample that
//    lies inside the window (already counted) and for padding. Scores are kept in log2 units
//    (score * scale * log2 e + weight), so the window and the samples are one online softmax
//    (their LSE merge). Causal rows carry an fp32 state (O, max, sum) from piece to piece;
//  - the finish kernel: a causal row's state merged (by log-sum-exp) with its exact leaf,
//    which the exact forward kernel wrote into out beforehand.
#include <cub/device/device_segmented_radix_sort.cuh>

#include <cmath>
#include <cstdint>

#include "cpu/hyper/bucket_rank.h"
#include "hyper_launch.h"
#include "hyperattn.h"
#include "mma.cuh"
#include "smem_limit.cuh"

namespace ha::cuda {
namespace {

__device__ __forceinline__ float load_elem(const void* base, int64_t off, int32_t dtype) {
    const uint16_t bits = static_cast<const uint16_t*>(base)[off];
    if (dtype == HA_DTYPE_BF16) return __uint_as_float(uint32_t(bits) << 16);
    return __half2float(__ushort_as_half(bits));
}

// ---- hashing ------------------------------------------------------------------------------
// 256 threads: 16 rows x 16 planes. Rows are staged in shared memory as floats (widened
// exactly), planes too; thread (row, plane) sums its projection in double in d order. A warp
// holds two rows: one ballot gives both codes.
constexpr int kHashRows = 16;

__global__ void __launch_bounds__(256) hash_kernel(const HyperView x, int32_t dtype,
                                                   const float* planes, int r,
                                                   uint16_t* ranks) {
    extern __shared__ float hsm[];
    float* sx = hsm;                       // kHashRows x D
    float* sp = hsm + kHashRows * x.D;     // 16 x D (planes >= r are zero)
    const int tid = threadIdx.x, D = x.D;
    const int64_t rows = int64_t(x.B) * x.H * x.N;
    const int64_t row0 = int64_t(blockIdx.x) * kHashRows;
    for (int e = tid; e < 16 * D; e += 256) sp[e] = (e / D) < r ? planes[e] : 0.f;
    for (int e = tid; e < kHashRows * D; e += 256) {
        const int rl = e / D, d = e % D;
        const int64_t row = row0 + rl;
        float v = 0.f;
        if (row < rows) {
            const int64_t i = row % x.N, h = (row / x.N) % x.H, b = row / (int64_t(x.N) * x.H);
            v = load_elem(x.data, b * x.strides[0] + h * x.strides[1] + i * x.strides[2] +
                                      int64_t(d) * x.strides[3], dtype);
        }
        sx[e] = v;
    }
    __syncthreads();
    const int rl = tid >> 4, p = tid & 15;
    double acc = 0.0;
    const float* xr = sx + rl * D;
    const float* pr = sp + p * D;
    for (int d = 0; d < D; ++d) acc = fma(double(xr[d]), double(pr[d]), acc);
    const bool bit = p < r && acc > 0.0;
    const uint32_t mask = __ballot_sync(0xffffffffu, bit);
    const int lane = tid & 31;
    if (lane == 0 || lane == 16) {
        const int64_t row = row0 + rl;
        const uint32_t code = lane == 0 ? (mask & 0xffffu) : (mask >> 16);
        if (row < rows) ranks[row] = uint16_t(ha::cpu::hyper::bucket_rank(code));
    }
}

__global__ void nonfinite_kernel(const HyperView x, int32_t dtype, int32_t* flag) {
    const uint16_t emask = dtype == HA_DTYPE_BF16 ? 0x7f80u : 0x7c00u;
    const int64_t total = int64_t(x.B) * x.H * x.N * x.D;
    bool hit = false;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
         e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t d = e % x.D, i = (e / x.D) % x.N, h = (e / (int64_t(x.D) * x.N)) % x.H,
                      b = e / (int64_t(x.D) * x.N * x.H);
        const uint16_t bits = static_cast<const uint16_t*>(
            x.data)[b * x.strides[0] + h * x.strides[1] + i * x.strides[2] + d * x.strides[3]];
        hit |= (bits & emask) == emask;
    }
    if (hit) *flag = 1;
}

// The segment holding offset `pos` of a head's slice (segs sorted by off, contiguous).
template <class S>
__device__ __forceinline__ int find_seg(const S* segs, int n, int64_t pos) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (segs[mid].off <= pos) lo = mid; else hi = mid - 1;
    }
    return lo;
}

__global__ void gather_ranks_kernel(const uint16_t* ranks, int64_t N, const HyperSeg* segs,
                                    int nsegs, int64_t total, int64_t heads, uint16_t* keys_in,
                                    int32_t* vals_in) {
    const int64_t all = heads * total;
    for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < all;
         j += int64_t(gridDim.x) * blockDim.x) {
        const int64_t hd = j / total, pos = j % total;
        const HyperSeg sg = segs[find_seg(segs, nsegs, pos)];
        const int64_t x = pos - sg.off;
        keys_in[j] = ranks[hd * N + sg.start + x];
        vals_in[j] = int32_t(x);
    }
}

__global__ void inverse_kernel(const int32_t* perm, const HyperSeg* segs, int nsegs,
                               int64_t ktotal, int64_t groups, int32_t* inv) {
    const int64_t all = groups * ktotal;
    for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < all;
         j += int64_t(gridDim.x) * blockDim.x) {
        const int64_t g = j / ktotal, pos = j % ktotal;
        const HyperSeg sg = segs[find_seg(segs, nsegs, pos)];
        inv[g * ktotal + sg.off + perm[j]] = int32_t(pos - sg.off);
    }
}

__global__ void sample_pos_kernel(const int32_t* inv, const int32_t* samp,
                                  const HyperSampleSeg* ss, int nss, int64_t ktotal,
                                  int64_t stotal, int64_t groups, int32_t* spos) {
    const int64_t all = groups * stotal;
    for (int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j < all;
         j += int64_t(gridDim.x) * blockDim.x) {
        const int64_t g = j / stotal, pos = j % stotal;
        int lo = 0, hi = nss - 1;  // the sampled rect holding pos (ss sorted by soff)
        while (lo < hi) {
            const int mid = (lo + hi + 1) >> 1;
            if (ss[mid].soff <= pos) lo = mid; else hi = mid - 1;
        }
        spos[j] = inv[g * ktotal + ss[lo].koff + samp[j]];
    }
}

// ---- the rect kernel --------------------------------------------------------------------
constexpr int kRectThreads = 128;

// Rows r < nrows of a gathered [R, DP] tile (row r at element rowoff(r) of src, head_dim
// stride ds), swizzled as forward.cuh's tiles; other rows, and columns past D, read as 0
// (aligned: every column up to DP; element-wise: up to D rounded to 16, all the mma loops read).
template <int DP, int R, bool ALIGNED, class RowOff>
__device__ __forceinline__ void gather_tile(uint16_t* s, const uint16_t* src, int nrows,
                                            const RowOff& rowoff, int64_t ds, int D, int tid) {
    if constexpr (ALIGNED) {
        constexpr int CPR = DP / 8, TOTAL = R * CPR;
        static_assert(TOTAL % kRectThreads == 0, "whole chunks per thread");
        auto chunk = [&](int i) {
            const int c = tid + i * kRectThreads, r = c / CPR, ch = c % CPR;
            const bool ok = r < nrows && ch * 8 < D;
            const uint16_t* p = ok ? src + rowoff(r) + ch * 8 : src;
            cp_async_16(smem_addr(s + swz<DP>(r, ch * 8)), p, ok);
        };
        if constexpr (DP <= 128) {
#pragma unroll
            for (int i = 0; i < TOTAL / kRectThreads; ++i) chunk(i);
        } else {  // DP 256: its accumulators leave no registers for a fully unrolled gather
#pragma unroll 1
            for (int i = 0; i < TOTAL / kRectThreads; ++i) chunk(i);
        }
    } else {
        const int dr = (D + 15) & ~15;
        for (int e = tid; e < R * dr; e += kRectThreads) {
            const int r = e / dr, c = e % dr;
            uint16_t x = 0;
            if (r < nrows && c < D) x = src[rowoff(r) + int64_t(c) * ds];
            s[swz<DP>(r, c)] = x;
        }
    }
}

template <class T, int DP, int BN, bool ALIGNED>
struct RectCfg {
    static constexpr size_t SMEM = size_t(kHyperBM + 4 * BN) * DP * 2 + 2 * BN * sizeof(float);
};

template <class T, int DP, int BN, bool ALIGNED>
__global__ void __launch_bounds__(kRectThreads) rect_kernel(const HyperRectArgs a) {
    constexpr int BM = kHyperBM, KSTEPS = DP / 16;
    extern __shared__ uint4 smem_u4[];
    uint16_t* sQ = reinterpret_cast<uint16_t*>(smem_u4);
    uint16_t* sK = sQ + BM * DP;      // two buffers of BN x DP
    uint16_t* sV = sK + 2 * BN * DP;  // two buffers of BN x DP
    float* sW = reinterpret_cast<float*>(sV + 2 * BN * DP);  // two buffers of BN key weights

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t4 = lane & 3;
    const int D = a.D;
    const int64_t bx = blockIdx.x;
    const int hl = int(bx % a.heads);
    const HyperTask tk = a.tasks[bx / a.heads];
    const HyperRect rc = a.rects[tk.ri];
    const int b = hl / a.Hq, h = hl % a.Hq, lg = hl / a.G, kvh = h / a.G;

    const int32_t* qp = a.qperm + int64_t(hl) * a.qtotal + rc.qoff + tk.pos0;
    const int32_t* kp = a.kperm + int64_t(lg) * a.ktotal + rc.koff;
    const int32_t* sp = a.samp + int64_t(lg) * a.stotal + rc.soff;
    const int32_t* spp = a.spos + int64_t(lg) * a.stotal + rc.soff;
    const uint16_t* qb = static_cast<const uint16_t*>(a.q) + b * a.qs[0] + h * a.qs[1];
    const uint16_t* kb = static_cast<const uint16_t*>(a.k) + b * a.ks[0] + kvh * a.ks[1];
    const uint16_t* vb = static_cast<const uint16_t*>(a.v) + b * a.vs[0] + kvh * a.vs[1];

    const int nw = tk.b - tk.a;
    const int ntw = (nw + BN - 1) / BN, nts = (rc.m + BN - 1) / BN, ntiles = ntw + nts;

    // Key tile t into buffer buf: window tiles first (sorted keys a, a+1, ...), then samples.
    auto load_keys = [&](int t, int buf) {
        uint16_t* dk = sK + buf * BN * DP;
        uint16_t* dv = sV + buf * BN * DP;
        if (t < ntw) {
            const int j0 = tk.a + t * BN, n = min(BN, tk.b - j0);
            const int32_t* idx = kp + j0;
            gather_tile<DP, BN, ALIGNED>(dk, kb, n, [&](int r) { return (rc.k0 + idx[r]) * a.ks[2]; },
                                         a.ks[3], D, tid);
            gather_tile<DP, BN, ALIGNED>(dv, vb, n, [&](int r) { return (rc.k0 + idx[r]) * a.vs[2]; },
                                         a.vs[3], D, tid);
            if (tid < BN) sW[buf * BN + tid] = tid < n ? 0.f : -INFINITY;
        } else {
            const int x0 = (t - ntw) * BN, n = min(BN, rc.m - x0);
            const int32_t* idx = sp + x0;
            gather_tile<DP, BN, ALIGNED>(dk, kb, n, [&](int r) { return (rc.k0 + idx[r]) * a.ks[2]; },
                                         a.ks[3], D, tid);
            gather_tile<DP, BN, ALIGNED>(dv, vb, n, [&](int r) { return (rc.k0 + idx[r]) * a.vs[2]; },
                                         a.vs[3], D, tid);
            if (tid < BN) {
                float w = -INFINITY;
                if (tid < n) {
                    const int ps = spp[x0 + tid];
                    w = (ps >= tk.a && ps < tk.b) ? -INFINITY : rc.bias_log2;
                }
                sW[buf * BN + tid] = w;
            }
        }
    };

    // This thread's two rows (g and g + 8 of its warp's 16), their original indices.
    bool rv[2];
    int64_t ri[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int rl = warp * 16 + g + 8 * r;
        rv[r] = rl < tk.rows;
        ri[r] = rv[r] ? rc.q0 + qp[rl] : 0;
    }

    float o[DP / 8][4];
#pragma unroll
    for (int i = 0; i < DP / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    if (!a.finish) {  // continue the row's state (sum 0: none yet); the quad's lane 0 holds l
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            if (!rv[r]) continue;
            const int64_t si = int64_t(hl) * a.Nq + ri[r];
            const float ls = a.st_ml[si * 2 + 1];
            if (ls == 0.f) continue;
            m[r] = a.st_ml[si * 2];
            l[r] = t4 == 0 ? ls : 0.f;
            const float* so = a.st_o + si * D;
#pragma unroll
            for (int dt = 0; dt < DP / 8; ++dt) {
                const int col = dt * 8 + 2 * t4;
                if (col < D) o[dt][2 * r] = so[col];
                if (col + 1 < D) o[dt][2 * r + 1] = so[col + 1];
            }
        }
    }

    gather_tile<DP, BM, ALIGNED>(sQ, qb, tk.rows, [&](int r) { return (rc.q0 + qp[r]) * a.qs[2]; },
                                 a.qs[3], D, tid);
    cp_async_commit();
    if (ntiles > 0) load_keys(0, 0);
    cp_async_commit();
    cp_async_wait<1>();  // Q landed
    __syncthreads();
    if (a.qscale != 1.f) {
        scale_q_smem<T>(sQ, BM * DP, a.qscale, tid, kRectThreads);
        __syncthreads();
    }

    const bool warp_active = warp * 16 < tk.rows;
    for (int it = 0; it < ntiles; ++it) {
        if (it + 1 < ntiles) load_keys(it + 1, (it + 1) & 1);
        cp_async_commit();   // possibly empty: keeps the group count uniform
        cp_async_wait<1>();  // tile `it` landed
        __syncthreads();

        const uint16_t* cK = sK + (it & 1) * BN * DP;
        const uint16_t* cV = sV + (it & 1) * BN * DP;
        const float* cW = sW + (it & 1) * BN;
        if (warp_active) {
            float s[BN / 8][4];
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < KSTEPS; ++kk) {
                if (kk * 16 >= D) continue;
                uint32_t qa[4];
                ldmatrix_x4(qa, smem_addr(sQ + swz<DP>(warp * 16 + (lane & 15),
                                                       kk * 16 + (lane >> 4) * 8)));
#pragma unroll
                for (int np = 0; np < BN / 16; ++np) {
                    uint32_t kf[4];
                    ldmatrix_x4(kf, smem_addr(cK + swz<DP>(np * 16 + (lane & 7) + ((lane >> 4) << 3),
                                                           kk * 16 + ((lane >> 3) & 1) * 8)));
                    mma_16816<T>(s[2 * np], qa, kf[0], kf[1]);
                    mma_16816<T>(s[2 * np + 1], qa, kf[2], kf[3]);
                }
            }

            // Scores in log2 units plus each key's weight; masked keys are -inf.
#pragma unroll
            for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const float w = cW[nt * 8 + 2 * t4 + (e & 1)];
                    s[nt][e] = w == -INFINITY ? -INFINITY : fmaf(s[nt][e], a.sl2, w);
                }

#pragma unroll
            for (int r = 0; r < 2; ++r) {
                float mx = m[r];
#pragma unroll
                for (int nt = 0; nt < BN / 8; ++nt)
                    mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
                mx = quad_max(mx);
                const float alpha = m[r] == -INFINITY ? 0.f : fast_exp2(m[r] - mx);
                const float mref = mx == -INFINITY ? 0.f : mx;
                m[r] = mx;
                float rs = 0.f;
#pragma unroll
                for (int nt = 0; nt < BN / 8; ++nt) {
                    const float p0 = fast_exp2(s[nt][2 * r] - mref);
                    const float p1 = fast_exp2(s[nt][2 * r + 1] - mref);
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

#pragma unroll
            for (int kk = 0; kk < BN / 16; ++kk) {
                uint32_t pa[4];
                pa[0] = Elem<T>::pack(s[2 * kk][0], s[2 * kk][1]);
                pa[1] = Elem<T>::pack(s[2 * kk][2], s[2 * kk][3]);
                pa[2] = Elem<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                pa[3] = Elem<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
                for (int dp = 0; dp < DP / 16; ++dp) {
                    if (dp * 16 >= D) continue;
                    uint32_t vf[4];
                    ldmatrix_x4_trans(vf, smem_addr(cV + swz<DP>(kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8,
                                                                 dp * 16 + (lane >> 4) * 8)));
                    mma_16816<T>(o[2 * dp], pa, vf[0], vf[1]);
                    mma_16816<T>(o[2 * dp + 1], pa, vf[2], vf[3]);
                }
            }
        }
        __syncthreads();  // every warp is done with buffer it&1 before it is refilled
    }

    // Epilogue: the state back, or the normalised rows into out (and lse).
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const float lsum = quad_sum(l[r]);
        if (!rv[r]) continue;
        if (a.finish) {
            const float inv = lsum > 0.f ? 1.f / lsum : lsum == 0.f ? 0.f : __int_as_float(0x7fc00000);
            T* orow = static_cast<T*>(a.out) + b * a.os[0] + h * a.os[1] + ri[r] * a.os[2];
#pragma unroll
            for (int dt = 0; dt < DP / 8; ++dt) {
                const int col = dt * 8 + 2 * t4;
                if (col < D) orow[int64_t(col) * a.os[3]] = Elem<T>::from_float(o[dt][2 * r] * inv);
                if (col + 1 < D)
                    orow[int64_t(col + 1) * a.os[3]] = Elem<T>::from_float(o[dt][2 * r + 1] * inv);
            }
            if (a.lse && t4 == 0)
                a.lse[b * a.ls[0] + h * a.ls[1] + ri[r] * a.ls[2]] =
                    lsum == 0.f ? -INFINITY : m[r] * 0.6931471805599453f + logf(lsum);
        } else {
            const int64_t si = int64_t(hl) * a.Nq + ri[r];
            float* so = a.st_o + si * D;
#pragma unroll
            for (int dt = 0; dt < DP / 8; ++dt) {
                const int col = dt * 8 + 2 * t4;
                if (col < D) so[col] = o[dt][2 * r];
                if (col + 1 < D) so[col + 1] = o[dt][2 * r + 1];
            }
            if (t4 == 0) {
                a.st_ml[si * 2] = m[r];
                a.st_ml[si * 2 + 1] = lsum;
            }
        }
    }
}

template <class T, int DP, int BN, bool ALIGNED>
cudaError_t launch_rect(const HyperRectArgs& a, cudaStream_t s) {
    constexpr size_t smem = RectCfg<T, DP, BN, ALIGNED>::SMEM;
    static_assert(smem <= 227 * 1024, "shared memory");
    cudaError_t e = raise_smem_limit<rect_kernel<T, DP, BN, ALIGNED>>(int(smem));
    if (e != cudaSuccess) return e;
    const int64_t blocks = a.ntasks * a.heads;
    if (blocks <= 0) return cudaSuccess;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    rect_kernel<T, DP, BN, ALIGNED><<<unsigned(blocks), kRectThreads, smem, s>>>(a);
    return cudaGetLastError();
}

template <class T, bool ALIGNED>
cudaError_t launch_rect_d(const HyperRectArgs& a, cudaStream_t s) {
    if (a.D <= 64) return launch_rect<T, 64, 64, ALIGNED>(a, s);
    if (a.D <= 128) return launch_rect<T, 128, 64, ALIGNED>(a, s);
    return launch_rect<T, 256, 32, ALIGNED>(a, s);
}

// ---- the causal finish --------------------------------------------------------------------
template <class T>
__global__ void __launch_bounds__(128) finish_kernel(const HyperFinishArgs a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t row = int64_t(blockIdx.x) * 4 + warp;
    if (row >= int64_t(a.heads) * a.Nq) return;
    const int64_t hl = row / a.Nq, i = row % a.Nq;
    const int64_t b = hl / a.Hq, h = hl % a.Hq;
    T* po = static_cast<T*>(a.out) + b * a.os[0] + h * a.os[1] + i * a.os[2];
    float* pl = a.lse ? a.lse + b * a.ls[0] + h * a.ls[1] + i * a.ls[2] : nullptr;
    if (i < a.empty_rows) {  // causal, Nq > Nk: sees no key
        for (int d = lane; d < a.D; d += 32) po[int64_t(d) * a.os[3]] = Elem<T>::from_float(0.f);
        if (pl && lane == 0) *pl = -INFINITY;
        return;
    }
    const float ms = a.st_ml[row * 2], l = a.st_ml[row * 2 + 1];
    const float lleaf = a.leaf_lse[row];
    const float NaN = __int_as_float(0x7fc00000);
    const float ls = l > 0.f ? ms * 0.6931471805599453f + logf(l) : l == 0.f ? -INFINITY : NaN;
    float cs, cl, lse;
    if (isnan(ls) || isnan(lleaf) || ls == INFINITY || lleaf == INFINITY) {
        cs = cl = lse = NaN;
    } else {
        const float mx = fmaxf(ls, lleaf);
        if (mx == -INFINITY) {
            cs = cl = 0.f;
            lse = -INFINITY;
        } else {
            const float ws = ls == -INFINITY ? 0.f : expf(ls - mx);
            const float wl = lleaf == -INFINITY ? 0.f : expf(lleaf - mx);
            const float den = ws + wl;
            cs = l > 0.f ? ws / (den * l) : 0.f;  // the state is unnormalised
            cl = wl / den;
            lse = mx + logf(den);
        }
    }
    __syncwarp();
    const float* so = a.st_o + row * a.D;
    for (int d = lane; d < a.D; d += 32) {
        const float x = Elem<T>::to_float(po[int64_t(d) * a.os[3]]);
        const float y = isnan(lse) ? NaN : (cs != 0.f ? so[d] * cs : 0.f) + (cl != 0.f ? x * cl : 0.f);
        po[int64_t(d) * a.os[3]] = Elem<T>::from_float(y);
    }
    if (pl && lane == 0) *pl = lse;
}

unsigned grid_for(int64_t n, int threads) {
    int64_t blocks = (n + threads - 1) / threads;
    if (blocks > 65535 * 16) blocks = 65535 * 16;  // grid-stride loops cover the rest
    return unsigned(blocks < 1 ? 1 : blocks);
}

}  // namespace

cudaError_t launch_hyper_hash(int32_t dtype, const HyperView& x, const float* planes, int r,
                              uint16_t* ranks, cudaStream_t s) {
    const int64_t rows = int64_t(x.B) * x.H * x.N;
    if (rows == 0) return cudaSuccess;
    const int64_t blocks = (rows + kHashRows - 1) / kHashRows;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    const size_t smem = size_t(kHashRows + 16) * size_t(x.D) * sizeof(float);
    hash_kernel<<<unsigned(blocks), 256, smem, s>>>(x, dtype, planes, r, ranks);
    return cudaGetLastError();
}

cudaError_t launch_hyper_nonfinite(const HyperView& x, int32_t dtype, int32_t* flag,
                                   cudaStream_t s) {
    const int64_t total = int64_t(x.B) * x.H * x.N * x.D;
    if (total == 0) return cudaSuccess;
    nonfinite_kernel<<<grid_for(total, 256), 256, 0, s>>>(x, dtype, flag);
    return cudaGetLastError();
}

cudaError_t launch_hyper_gather_ranks(const uint16_t* ranks, int64_t N, const HyperSeg* segs,
                                      int nsegs, int64_t total, int64_t heads, uint16_t* keys_in,
                                      int32_t* vals_in, cudaStream_t s) {
    if (heads * total == 0) return cudaSuccess;
    gather_ranks_kernel<<<grid_for(heads * total, 256), 256, 0, s>>>(ranks, N, segs, nsegs, total,
                                                                    heads, keys_in, vals_in);
    return cudaGetLastError();
}

cudaError_t hyper_sort(void* temp, size_t* temp_bytes, const uint16_t* keys_in,
                       uint16_t* keys_out, const int32_t* vals_in, int32_t* vals_out, int items,
                       int segments, const int32_t* begin, const int32_t* end, int r,
                       cudaStream_t s) {
    return cub::DeviceSegmentedRadixSort::SortPairs(temp, *temp_bytes, keys_in, keys_out, vals_in,
                                                    vals_out, items, segments, begin, end, 0, r, s);
}

cudaError_t launch_hyper_inverse(const int32_t* perm, const HyperSeg* ksegs, int nsegs,
                                 int64_t ktotal, int64_t groups, int32_t* inv, cudaStream_t s) {
    if (groups * ktotal == 0) return cudaSuccess;
    inverse_kernel<<<grid_for(groups * ktotal, 256), 256, 0, s>>>(perm, ksegs, nsegs, ktotal,
                                                                  groups, inv);
    return cudaGetLastError();
}

cudaError_t launch_hyper_sample_pos(const int32_t* inv, const int32_t* samp,
                                    const HyperSampleSeg* ss, int nss, int64_t ktotal,
                                    int64_t stotal, int64_t groups, int32_t* spos,
                                    cudaStream_t s) {
    if (groups * stotal == 0 || nss == 0) return cudaSuccess;
    sample_pos_kernel<<<grid_for(groups * stotal, 256), 256, 0, s>>>(inv, samp, ss, nss, ktotal,
                                                                     stotal, groups, spos);
    return cudaGetLastError();
}

cudaError_t launch_hyper_rects(int32_t dtype, bool aligned, const HyperRectArgs& a,
                               cudaStream_t s) {
    if (dtype == HA_DTYPE_F16)
        return aligned ? launch_rect_d<__half, true>(a, s) : launch_rect_d<__half, false>(a, s);
    return aligned ? launch_rect_d<__nv_bfloat16, true>(a, s)
                   : launch_rect_d<__nv_bfloat16, false>(a, s);
}

cudaError_t launch_hyper_finish(int32_t dtype, const HyperFinishArgs& a, cudaStream_t s) {
    const int64_t rows = int64_t(a.heads) * a.Nq;
    if (rows == 0) return cudaSuccess;
    const int64_t blocks = (rows + 3) / 4;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    if (dtype == HA_DTYPE_F16)
        finish_kernel<__half><<<unsigned(blocks), 128, 0, s>>>(a);
    else
        finish_kernel<__nv_bfloat16><<<unsigned(blocks), 128, 0, s>>>(a);
    return cudaGetLastError();
}

}  // namespace ha::cuda
