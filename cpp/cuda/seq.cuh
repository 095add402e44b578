// Device-side helpers shared by the forward and decode kernels: where one sequence of a call
// lives (dense batch entry, packed rows, paged keys), how a key row is addressed, and the
// logit soft cap.
#pragma once
#include <cstdint>

#include "launch.h"
#include "mma.cuh"

namespace ha::cuda {

// Sequence b of a call: its rows and keys, where its row 0 sits in q, out and lse (the element
// offsets are computed on use, from the kernel arguments, to keep them out of registers), and
// the element offsets of its key 0 (head 0) in k and v. Paged keys have no base offset: Rows
// below finds each key's page.
struct SeqView {
    int nq, nk;
    int b, q0;       // batch entry b (dense rows), or row q0 of batch entry 0 (packed rows)
    bool packed_q;
    int64_t koff, voff;
    const int32_t* pages;  // this sequence's block-table row, or null

    // Offset of the sequence's row 0 in a tensor with these strides (q, out, or lse's 3).
    __device__ __forceinline__ int64_t row0(const int64_t* strides) const {
        return packed_q ? q0 * strides[2] : b * strides[0];
    }
};

__device__ __forceinline__ SeqView seq_view(const FwdArgs& a, int b) {
    SeqView s;
    s.b = b;
    s.packed_q = a.cu_q != nullptr;
    if (s.packed_q) {
        s.q0 = a.cu_q[b];
        s.nq = a.cu_q[b + 1] - s.q0;
    } else {
        s.q0 = 0;
        s.nq = a.Nq;
    }
    s.pages = nullptr;
    if (a.pages) {
        s.nk = a.seqlens_k[b];
        s.koff = s.voff = 0;
        s.pages = a.pages + b * a.page_stride;
    } else if (a.cu_k) {
        const int k0 = a.cu_k[b];
        s.nk = a.seqlens_k ? a.seqlens_k[b] : a.cu_k[b + 1] - k0;
        s.koff = k0 * a.ks[2];
        s.voff = k0 * a.vs[2];
    } else {
        s.nk = a.seqlens_k ? a.seqlens_k[b] : a.Nk;
        s.koff = b * a.ks[0];
        s.voff = b * a.vs[0];
    }
    return s;
}

// Element offset of row j of a [rows, D] slice: j * rs, or for paged keys row j % ps of page
// pages[j / ps] (pstride elements per page). Only rows the sequence owns are ever addressed,
// so only validated table entries are read.
struct Rows {
    int64_t rs;
    const int32_t* pages;
    int ps;
    int64_t pstride;
    __device__ __forceinline__ int64_t operator()(int j) const {
        if (!pages) return int64_t(j) * rs;
        return int64_t(__ldg(pages + j / ps)) * pstride + int64_t(j % ps) * rs;
    }
};

__device__ __forceinline__ float fast_rcp(float x) {
    float y;
    asm("rcp.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

// cap * tanh(x * tc) (tc = score scale / cap): tanh(y) = sign(y) (1 - 2 / (2^(2|y| log2 e) + 1))
// by the special-function unit, absolute error about 1e-7 (so about cap * 1e-7 on the logit).
// +-inf give +-cap (2^inf = inf, rcp(inf) = 0), NaN stays NaN.
__device__ __forceinline__ float soft_cap(float x, float tc, float cap) {
    const float y = x * tc;
    const float e = fast_exp2(fabsf(y) * 2.8853900817779268f);
    return cap * copysignf(1.f - 2.f * fast_rcp(e + 1.f), y);
}

}  // namespace ha::cuda
