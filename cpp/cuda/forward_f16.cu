// Forward kernel variants for fp16 (see forward.cuh and FwdPath in launch.h).
#include "forward_variants.cuh"

namespace ha::cuda {
cudaError_t launch_forward_f16(FwdPath path, const FwdArgs& a, cudaStream_t stream) {
    return launch_forward_variant<__half>(path, a, stream);
}
}  // namespace ha::cuda
