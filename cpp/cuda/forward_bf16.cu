// Forward kernel variants for bf16 (see forward.cuh and FwdPath in launch.h).
#include "forward_variants.cuh"

namespace ha::cuda {
cudaError_t launch_forward_bf16(FwdPath path, const FwdArgs& a, cudaStream_t stream) {
    return launch_forward_variant<__nv_bfloat16>(path, a, stream);
}
}  // namespace ha::cuda
