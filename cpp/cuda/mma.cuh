// PTX building blocks of the attention kernels: tensor-core mma.sync m16n8k16, ldmatrix,
// cp.async, the fast exp2 and the two 16-bit element types. sm_80 and newer.
//
// Fragment layouts of mma.sync.m16n8k16 (PTX ISA, "Matrix fragments for mma.m16n8k16"), with
// g = lane / 4 and t = lane % 4:
//   A 16x16 (row-major), four .b32 registers of two elements each:
//     a0 = A[g][2t..2t+1]   a1 = A[g+8][2t..2t+1]   a2 = A[g][2t+8..]   a3 = A[g+8][2t+8..]
//   B 16x8 ("col": element (k, n) consecutive in k), two registers:
//     b0 = B[2t..2t+1][g]   b1 = B[2t+8..2t+9][g]
//   C/D 16x8 float: c0,c1 = C[g][2t..2t+1]   c2,c3 = C[g+8][2t..2t+1]
// ldmatrix .x4: lanes 8i..8i+7 give the row addresses of 8x8 matrix i; register i of lane l
// receives matrix i's row l/4, columns 2(l%4)..+1 (with .trans: rows 2(l%4)..+1 of column
// l/4). So a plain load of a row-major tile yields A fragments and B fragments of K (rows are
// keys, columns are head dims), and .trans of V (rows are keys) yields the B fragments of P*V.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>
#include <type_traits>

namespace ha::cuda {

// ---- element types ----------------------------------------------------------------------
template <class T>
struct Elem;

template <>
struct Elem<__half> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&h);
    }
    static __device__ __forceinline__ __half from_float(float x) { return __float2half_rn(x); }
    static __device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
};

template <>
struct Elem<__nv_bfloat16> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&h);
    }
    static __device__ __forceinline__ __nv_bfloat16 from_float(float x) {
        return __float2bfloat16_rn(x);
    }
    static __device__ __forceinline__ float to_float(__nv_bfloat16 x) {
        return __bfloat162float(x);
    }
};

// Multiplies a Q tile in shared memory by qscale (bf16 only; a power of two: exact).
template <class T>
__device__ __forceinline__ void scale_q_smem(uint16_t* sq, int n, float qscale, int tid, int nthreads) {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
        if (qscale == 1.f) return;
        for (int i = tid; i < n; i += nthreads) {
            __nv_bfloat16 x = *reinterpret_cast<__nv_bfloat16*>(sq + i);
            x = __float2bfloat16_rn(__bfloat162float(x) * qscale);
            sq[i] = *reinterpret_cast<uint16_t*>(&x);
        }
    }
}


// ---- tensor cores -----------------------------------------------------------------------
template <class T>
__device__ __forceinline__ void mma_16816(float c[4], const uint32_t a[4], uint32_t b0,
                                          uint32_t b1);

template <>
__device__ __forceinline__ void mma_16816<__half>(float c[4], const uint32_t a[4], uint32_t b0,
                                                  uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float c[4], const uint32_t a[4],
                                                         uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// ---- asynchronous copies ----------------------------------------------------------------
// 16 bytes global -> shared; with valid == false nothing is read and the 16 bytes are zeroed
// (src-size 0), so partial tiles need no separate clearing pass.
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                 :
                 : "r"(dst), "l"(src), "r"(valid ? 16 : 0));
}

// "memory" clobbers: the compiler must not move shared-memory reads of a tile above the wait
// that makes the tile's bytes land, nor the issue of copies across the commit.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" : : "n"(N) : "memory");
}

// ---- math -------------------------------------------------------------------------------
// 2^x by the special-function unit; exp2(-inf) = +0, which the masking relies on.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// ---- shared-memory tiles ----------------------------------------------------------------
// A tile of ROWS x DP 16-bit elements, rows of DP/8 chunks of 16 bytes. Chunk c of row r sits
// at chunk c ^ (r % 8): the 8 rows that one ldmatrix phase reads (8 consecutive rows, one
// logical chunk) then fall in 8 different 16-byte bank groups, and so do the 16-byte writes.
template <int DP>
__device__ __forceinline__ int swz(int row, int col) {
    static_assert(DP % 64 == 0, "rows must hold a multiple of 8 chunks");
    return row * DP + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7);
}

}  // namespace ha::cuda
