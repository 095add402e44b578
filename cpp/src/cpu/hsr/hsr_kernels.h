// The per-instruction-set inner loops of HSR (scores, weights, P·V, block bounds, index
// statistics): templates in cpu/kern/hsr_*.h, instantiated once per ISA into the hsr section
// of the kernel table (cpu/kernels.h); the orchestration (hsr_*.cpp, key_index.cpp, approx/)
// is baseline code that calls through the section of the active path, hsr::active().
#pragma once
#include <cstdint>

namespace ha::cpu::hsr {

// The key (or value) rows of one (batch, kv head): element (j, d) lies at
// data + j*row + d*col elements; f32, bf16 (bf16 set) or f16 (f16 set).
struct RowSrc {
    const void* data;
    int64_t row, col;
    bool bf16;
    bool f16 = false;
    int64_t elem_bytes() const { return bf16 || f16 ? 2 : 4; }
};

constexpr int kMaxRows = 8;      // query rows per kernel call
constexpr int kChunkBlocks = 16; // blocks per centre chunk ([chunk][D][16] bf16 layout)

// Keys of a call are pos[0..n) when pos != nullptr, else first + [0..n). Query rows are fp32,
// zero-padded to a multiple of 16 elements; so are the P, S and O rows.
// The hsr section of the kernel table (cpu::Kernels::hsr).
struct Kernels {
    // S[r*lds + j] = q_r·k_j (raw float dot product). Causal masking is the caller's: the
    // rows may come from the index's key copy, whose slots are not cache positions.
    void (*scores)(int R, const float* Q, int64_t ldq, int64_t D, const RowSrc& k,
                   const int32_t* pos, int64_t first, int n, float* S, int64_t lds);
    // O_r = O_r·rescale[r] + Σ_j P[r*ldp + j]·v_j; keys whose weights are all 0 are not read.
    void (*pv)(int R, const float* P, int64_t ldp, int n, const RowSrc& v, const int32_t* pos,
               int64_t first, int64_t D, const float* rescale, float* O, int64_t ldo);
    // Online-softmax step in log2 units: x = S·c, m[r] -> max(m[r], max x),
    // P = 2^(x - m), alpha[r] = 2^(m_old - m_new), bsum[r] = Σ P.
    void (*softmax_weights)(int R, const float* S, int64_t lds, int n, float c, float* m,
                            float* alpha, float* bsum, float* P, int64_t ldp);
    // ReLU^power step, normalised by the running largest x = scale·S - bias (xm):
    // P = (max(x,0)/xm)^power, resc[r] = (xm_old/xm_new)^power, bsum[r] = Σ P.
    void (*relu_weights)(int R, const float* S, int64_t lds, int n, float scale, float bias,
                         int32_t power, float* xm, float* resc, float* bsum, float* P,
                         int64_t ldp);
    // Guarded ball bounds of 16·nchunks blocks: U[r*ldu + b] >= q_r·k for every key k of
    // block b, given centres (bf16, [chunk][D][16]), rho (slack per block, see key_index.h)
    // and nq[r] >= ||q_r||.
    void (*ball_bounds)(int R, const float* Q, int64_t ldq, int64_t D, const uint16_t* cen,
                        const float* rho, int64_t nchunks, const float* nq, float eta, float* U,
                        int64_t ldu);
    // Σ_d max(q_d·lo_d, q_d·hi_d) over Dp (zero-padded) elements, in float.
    float (*box_sum)(const float* q, int64_t Dp, const uint16_t* lo, const uint16_t* hi);
    // e[i] = 2^y[i] for y <= 0 (values below 2^-125 flush to 0).
    void (*exp2v)(const float* y, float* e, int64_t n);
    // Softmax buckets of blocks b < n with guarded bound U[b] (-inf: excluded, +inf or NaN:
    // must visit): y = max((U - top)·cl, -120), e[b] = 2^y·(1 + 2^-14)·(block size) and
    // lvl[b] = min(floor(-y), 120); excluded: lvl 255, e 0; must visit: lvl 0, e +inf.
    void (*bucket_prep)(const float* U, int64_t n, float top, float cl, const int32_t* bstart,
                        float* e, uint8_t* lvl);
    // Rows as fp32 into dst[j*ldd + d], zero-padded from D to ldd.
    void (*load_rows)(const RowSrc& src, const int32_t* pos, int64_t first, int n, int64_t D,
                      int64_t ldd, float* dst);
    // Sign sketches of keys first + [0, n): bit t of out[j] is set where plane t · k_j > 0;
    // planes_t is [D][64] (the 64 planes, transposed).
    void (*sketch64)(const float* planes_t, int64_t D, const RowSrc& k, int64_t first, int n, uint64_t* out);
    double (*sumsq)(const float* x, int64_t n);                   // Σ x², in double
    double (*dist2)(const float* x, const float* c, int64_t n);   // Σ (x - c)², in double
    // Sums bf16 rows (ld elements apart, n of them) into sum1 where proj > thr, else sum0.
    void (*split_sums)(const uint16_t* rows, int64_t ld, int64_t n, const float* proj,
                       float thr, float* sum0, float* sum1, int64_t* n0, int64_t* n1);
};

const Kernels& active();  // active_kernels().hsr: the ISA path in use (ha::cpu::get_isa())

}  // namespace ha::cpu::hsr
