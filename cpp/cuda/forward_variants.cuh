// The tile configurations of the forward kernel, chosen by FwdPath.
//   Fast64     D = 64:  128 query rows x 32-key tiles, 4 warps of 32 rows (two m-tiles),
//              Q re-read from shared memory; or 128 x 64 in 8 warps of 16 rows, Q in registers.
//   Fast128    D = 128: the same two shapes (32-row warps: 255 registers, a 40-byte spill, 2 CTAs
//              of 4 warps per SM; 16-row
//              warps: ~250 registers, 1 CTA of 8 warps per SM).
//   Aligned256 D % 8 == 0 up to 256: 64 x 32, Q re-read from shared memory, cp.async.
//   Strided256 any D up to 256, any strides: 64 x 32, element-wise loads and stores.
// The 256-wide variants skip the k-steps and n-tiles past D, so a small D costs little extra
// arithmetic there. HA_CUDA_FWD_MT=1 in the environment (read once) selects the 16-row warps of
// the fast paths, for side-by-side measurement; the default is 32-row warps.
#pragma once
#include <cstdlib>

#include "forward.cuh"

namespace ha::cuda {

inline bool fwd_two_mtiles() {
    static const bool two = [] {
        const char* e = std::getenv("HA_CUDA_FWD_MT");
        return !(e && e[0] == '1' && e[1] == '\0');
    }();
    return two;
}

template <class T>
cudaError_t launch_forward_variant(FwdPath path, const FwdArgs& a, cudaStream_t stream) {
    switch (path) {
        case FwdPath::Fast64:
            return fwd_two_mtiles()
                       ? launch_fwd<FwdCfg<T, 64, 128, 32, true, false, true, 2, 2>>(a, stream)
                       : launch_fwd<FwdCfg<T, 64, 128, 64, true, true, true, 1>>(a, stream);
        case FwdPath::Fast128:
            return fwd_two_mtiles()
                       ? launch_fwd<FwdCfg<T, 128, 128, 32, true, false, true, 2, 2>>(a, stream)
                       : launch_fwd<FwdCfg<T, 128, 128, 64, true, true, true, 1>>(a, stream);
        case FwdPath::Aligned256:
            return launch_fwd<FwdCfg<T, 256, 64, 32, false, false, true, 1>>(a, stream);
        case FwdPath::Strided256:
            return launch_fwd<FwdCfg<T, 256, 64, 32, false, false, false, 1>>(a, stream);
    }
    return cudaErrorInvalidValue;
}

}  // namespace ha::cuda
