// ha_merge on device: one warp per row (b, h, i). The weights follow the CPU backend exactly
// (an empty side passes the other through with weight 1, both empty give 0 and -inf). Every
// lane reads both log-sum-exps before lane 0 writes the merged one, and each element is read
// and written by the same lane, so out/lse may be out_a/lse_a (or _b) exactly.
#include <cmath>

#include "hyperattn.h"
#include "launch.h"
#include "mma.cuh"

namespace ha::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(128) merge_kernel(const MergeArgs a) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t row = int64_t(blockIdx.x) * 4 + warp;
    const int64_t rows = a.B * a.H * a.N;
    if (row >= rows) return;
    const int64_t i = row % a.N, h = (row / a.N) % a.H, b = row / (a.N * a.H);
    const float la = a.lse_a[b * a.las[0] + h * a.las[1] + i * a.las[2]];
    const float lb = a.lse_b[b * a.lbs[0] + h * a.lbs[1] + i * a.lbs[2]];
    const float mx = fmaxf(la, lb);
    float wa, wb, lse;
    const bool bad = isnan(la) || isnan(lb) || la == INFINITY || lb == INFINITY;
    if (bad) {  // a NaN or +inf log-sum-exp: the row is NaN (hyperattn.h's policy)
        wa = wb = lse = __int_as_float(0x7fc00000);
    } else if (mx == -INFINITY) {
        wa = wb = 0.f;
        lse = -INFINITY;
    } else {
        const float ea = expf(la - mx), eb = expf(lb - mx), sum = ea + eb;
        wa = ea / sum;
        wb = eb / sum;
        lse = mx + logf(sum);
        if (la == -INFINITY) { wa = 0.f; wb = 1.f; lse = lb; }
        if (lb == -INFINITY) { wb = 0.f; wa = 1.f; lse = la; }
    }
    __syncwarp();  // all lanes hold la/lb before lane 0 may overwrite lse_a or lse_b

    const T* pa = static_cast<const T*>(a.a) + b * a.as[0] + h * a.as[1] + i * a.as[2];
    const T* pb = static_cast<const T*>(a.b) + b * a.bs[0] + h * a.bs[1] + i * a.bs[2];
    T* po = static_cast<T*>(a.out) + b * a.os[0] + h * a.os[1] + i * a.os[2];
    for (int64_t d = lane; d < a.D; d += 32) {
        const float xa = Elem<T>::to_float(pa[d * a.as[3]]);
        const float xb = Elem<T>::to_float(pb[d * a.bs[3]]);
        // A zero weight drops its side entirely, so an inf/NaN there cannot leak in.
        const float y = bad ? lse : lse == -INFINITY ? 0.f : wb == 0.f ? wa * xa : wa == 0.f ? wb * xb : wa * xa + wb * xb;
        po[d * a.os[3]] = Elem<T>::from_float(y);
    }
    if (lane == 0 && a.lse) a.lse[b * a.ls[0] + h * a.ls[1] + i * a.ls[2]] = lse;
}

}  // namespace

cudaError_t launch_merge(int32_t dtype, const MergeArgs& a, cudaStream_t stream) {
    const int64_t rows = a.B * a.H * a.N;
    const int64_t blocks = (rows + 3) / 4;
    if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
    if (dtype == HA_DTYPE_F16)
        merge_kernel<__half><<<unsigned(blocks), 128, 0, stream>>>(a);
    else
        merge_kernel<__nv_bfloat16><<<unsigned(blocks), 128, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace ha::cuda
