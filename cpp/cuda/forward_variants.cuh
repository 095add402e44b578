// The four tile configurations of the forward kernel, chosen by FwdPath. (Tried on an H200,
// 2026-12-04: 32 rows per warp, 4 warps sharing each K/V fragment between two mma's, 2 CTAs
// per SM: 1-10% slower than the 16-row warps below at D = 64 and 128, with a 40-byte spill at
// D = 128, so the shared-memory reads of K/V are not what bounds this loop.)
//   Fast64     D = 64:  128 query rows (8 warps) x 64-key tiles, Q in registers, 2 CTAs/SM.
//   Fast128    D = 128: 128 x 64, Q in registers (~170 registers: 1 CTA of 8 warps per SM).
//   Aligned256 D % 8 == 0 up to 256: 64 x 32, Q re-read from shared memory, cp.async.
//   Strided256 any D up to 256, any strides: 64 x 32, element-wise loads and stores.
// The 256-wide variants skip the k-steps and n-tiles past D, so a small D costs little extra
// arithmetic there.
#pragma once
#include "forward.cuh"

namespace ha::cuda {

template <class T>
cudaError_t launch_forward_variant(FwdPath path, const FwdArgs& a, cudaStream_t stream) {
    switch (path) {
        case FwdPath::Fast64:
            return launch_fwd<FwdCfg<T, 64, 128, 64, true, true, true, 1>>(a, stream);
        case FwdPath::Fast128:
            return launch_fwd<FwdCfg<T, 128, 128, 64, true, true, true, 1>>(a, stream);
        case FwdPath::Aligned256:
            return launch_fwd<FwdCfg<T, 256, 64, 32, false, false, true, 1>>(a, stream);
        case FwdPath::Strided256:
            return launch_fwd<FwdCfg<T, 256, 64, 32, false, false, false, 1>>(a, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace ha::cuda
