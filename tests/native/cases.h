// Shared helpers for building attention problems in the tests.
#pragma once
#include "reference.h"

namespace hat {

enum Layout { BHSD = 0, BSHD = 1, PADDED = 2, DMAJOR = 3, NUM_LAYOUTS = 4 };
const char* layout_name(int layout);

// [b,h,s,d] view in one of the layouts: dense in either order, padded with gaps between rows,
// heads and batches, or with head_dim as the outer axis (head_dim stride != 1).
HostTensor make_tensor(int32_t dtype, int64_t b, int64_t h, int64_t s, int64_t d, int layout);

HostTensor make_lse(int64_t b, int64_t h, int64_t s, bool padded);

struct Problem {
    int64_t B, Hq, Hkv, Nq, Nk, D;
    bool causal;
    float scale;  // 0 = default
};
std::string describe(const Problem& p, int32_t dtype, int layout);

// Tolerances, justified by dtype:
//  f32: inputs exact; kernel error is fp32 rounding of sums over <= a few thousand terms and
//       the vectorised exp (~1e-7 relative): 5e-5 absolute on outputs whose values are O(1..4).
//  bf16: inputs are already bf16 (the reference reads the rounded values); the output is
//       rounded to bf16 (2^-9 relative) and P may be rounded to bf16 before P*V (2^-9 relative
//       per weight), so |err| <= ~2 * 2^-9 * max|v|; 2^-6 * max(1, max|v|) leaves margin.
//  f16: inputs are already fp16 (exact in fp32, read rounded by the reference); every path
//       converts them to fp32 (F16C / NEON / scalar, all exact) and computes as for f32 (P
//       stays fp32: no fp16 dot product is used), so the only extra error is the final
//       rounding of the output to fp16 (11-bit significand: at most 2^-11 relative, against
//       bf16's 2^-8): <= 2^-11 * max|v| + the f32 5e-5. 2^-10 * max(1, max|v|) is twice that
//       bound (and 16x tighter than bf16's). The LSE is fp32 from exact inputs: as f32.
double out_tolerance(int32_t dtype, double max_abs_v);
double lse_tolerance(int32_t dtype);

double max_abs(const HostTensor& t);

// The ISA paths this CPU can run (each is set with ha_set_cpu_isa).
// The paths built for this harness's architecture (x86-64: generic, AVX2, AVX-512; aarch64:
// generic, NEON), and those of them the running CPU supports.
std::vector<int32_t> arch_isas();
std::vector<int32_t> supported_isas();
const char* isa_name(int32_t isa);

// Whether this library was built with its CUDA backend (device present or not): a CUDA tensor
// then meets device checks, in a CPU-only build the "no CUDA backend" answer.
bool cuda_backend_built();

}  // namespace hat
