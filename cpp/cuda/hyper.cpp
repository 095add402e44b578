// HyperAttention on a CUDA device: the host side. Same plan (cpu/hyper/hyper_plan.h), same
// hyperplanes and same sampled keys (cpu/hyper/hyper_random.h, drawn here on the host and
// uploaded) as the CPU backend, so both compute the same estimator up to rounding.
//
// One call:
//  1. Nk <= min_seq_len: exact attention (the CUDA exact path), nothing else.
//  2. a scan of q and k for non-finite elements; its flag is read back (the stream is
//     synchronised once): any such element makes the call exact attention (hyperattn.h).
//  3. the plan, the hyperplanes, the samples of every (batch, kv head, rect), the per-level
//     task lists (one task = up to 64 rows of one sorted query block with its key window) and
//     the CUB segment offsets are built on the host and uploaded into one pool allocation.
//  4. per chunk of kv-head groups (bounded scratch): ranks of the keys and queries, per-rect
//     stable sorts (CUB segmented radix sort), the inverse key permutations and the sorted
//     positions of the samples, then per recursion level one rect-kernel launch; causal: the
//     exact leaves by the exact forward kernel (written into out, their lse into scratch) and
//     the finish kernel that merges each row's state with its leaf.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/hyper/hyper_plan.h"
#include "cpu/hyper/hyper_random.h"
#include "cuda_backend.h"
#include "error.h"
#include "hyper_launch.h"
#include "hyper_tables.h"
#include "runtime.h"

namespace ha::cuda {
namespace {

namespace hp = ha::cpu::hyper;

// Scratch memory of one chunk of groups at most (the plan's tables come on top).
constexpr size_t kChunkBudget = size_t(3) << 30;

size_t up(size_t x) { return (x + 255) & ~size_t(255); }

// Offsets of the pieces of one allocation.
struct Carve {
    size_t used = 0;
    size_t take(size_t bytes) {
        const size_t o = used;
        used += up(bytes);
        return o;
    }
};

bool tile_aligned(const void* data, const int64_t* shape, const int64_t* strides) {
    if (reinterpret_cast<uintptr_t>(data) % 16 != 0) return false;
    for (int i = 0; i < 3; ++i)
        if (shape[i] > 1 && strides[i] % 8 != 0) return false;
    return shape[3] <= 1 || strides[3] == 1;
}

void* offset(void* p, int64_t elems) { return static_cast<uint16_t*>(p) + elems; }

HyperView hview(const void* data, const int64_t* strides, int64_t B, int64_t H, int64_t N,
                int64_t D) {
    HyperView x{};
    x.data = data;
    for (int i = 0; i < 4; ++i) x.strides[i] = strides[i];
    x.B = int(B);
    x.H = int(H);
    x.N = int(N);
    x.D = int(D);
    return x;
}

struct Chunk {
    int64_t b0, nb, hk0, nhk;
};

#define HA_CU(what, expr)                                     \
    do {                                                      \
        const cudaError_t e_ = (expr);                        \
        if (e_ != cudaSuccess) return device_error(what, e_); \
    } while (0)
#define HA_ST(expr)                    \
    do {                               \
        const int32_t st_ = (expr);    \
        if (st_ != HA_OK) return st_;  \
    } while (0)

template <class T>
int32_t upload(void* dst, const std::vector<T>& src, cudaStream_t s) {
    if (src.empty()) return HA_OK;
    HA_CU("HyperAttention: uploading its plan",
          cudaMemcpyAsync(dst, src.data(), src.size() * sizeof(T), cudaMemcpyHostToDevice, s));
    return HA_OK;
}

}  // namespace

int32_t hyper_forward(const HyperProblem& hpb) {
    const ExactProblem& p = hpb.base;
    HA_ST(require_device("q", p.device));
    DeviceGuard guard(p.device);
    if (guard.error() != cudaSuccess) return device_error("cudaSetDevice", guard.error());
    cudaStream_t s = nullptr;
    HA_ST(prepare_call(p, &s));

    const int64_t B = p.q.shape[0], Hq = p.q.shape[1], Nq = p.q.shape[2], D = p.q.shape[3];
    const int64_t Hkv = p.k.shape[1], Nk = p.k.shape[2], G = Hq / Hkv;
    if (B * Hq * Nq == 0) return HA_OK;
    // At or below min_seq_len keys the answer is exact attention itself.
    if (Nk <= hpb.min_seq_len) return exact_forward(p);

    // Non-finite policy: with a non-finite element in q or k the whole call is exact.
    {
        Scratch fs;
        HA_ST(fs.allocate(p.device, sizeof(int32_t), s));
        int32_t* flag = static_cast<int32_t*>(fs.get());
        HA_CU("HyperAttention: non-finite scan", cudaMemsetAsync(flag, 0, sizeof(int32_t), s));
        HA_CU("HyperAttention: non-finite scan",
              launch_hyper_nonfinite(hview(p.q.data, p.q.strides, B, Hq, Nq, D), p.dtype, flag, s));
        HA_CU("HyperAttention: non-finite scan",
              launch_hyper_nonfinite(hview(p.k.data, p.k.strides, B, Hkv, Nk, D), p.dtype, flag, s));
        int32_t host_flag = 0;
        HA_CU("HyperAttention: reading the non-finite flag",
              cudaMemcpyAsync(&host_flag, flag, sizeof(int32_t), cudaMemcpyDeviceToHost, s));
        HA_CU("HyperAttention: reading the non-finite flag", cudaStreamSynchronize(s));
        HA_ST(fs.release());
        if (host_flag) return exact_forward(p);
    }

    // ---- the plan, on the host ----------------------------------------------------------
    const int r = hpb.lsh_projections;
    const HyperTables tb_ = hyper_tables(B, Hkv, Nq, Nk, p.causal, hpb.block_size,
                                         hpb.sample_size, hpb.min_seq_len, hpb.seed);
    const hp::Plan& plan = tb_.plan;
    const int nrects = int(plan.rects.size());
    const std::vector<HyperRect>& rects = tb_.rects;
    const std::vector<HyperSeg>& qsegs = tb_.qsegs;
    const std::vector<HyperSeg>& ksegs = tb_.ksegs;
    const std::vector<HyperSampleSeg>& ssegs = tb_.ssegs;
    const std::vector<HyperTask>& tasks = tb_.tasks;
    const std::vector<int64_t>& level_begin = tb_.level_begin;
    const std::vector<int32_t>& samp = tb_.samp;
    const int64_t qtotal = tb_.qtotal, ktotal = tb_.ktotal, stotal = tb_.stotal;
    const std::vector<float> planes = hp::hyperplanes(hpb.seed, r, D);

    // ---- chunks of groups -------------------------------------------------------------
    const int64_t groups = B * Hkv;
    const size_t state_row = p.causal ? size_t(D + 3) * 4 : 0;
    const size_t per_group = size_t(Nk) * 2 + size_t(ktotal) * 12 + size_t(stotal) * 4 +
                             size_t(G) * (size_t(Nq) * 2 + size_t(qtotal) * 12 +
                                          size_t(Nq) * state_row) +
                             size_t(nrects) * size_t(G + 1) * 8;
    int64_t gpc = std::clamp<int64_t>(int64_t(kChunkBudget / per_group), 1, groups);
    // CUB indexes with int: a chunk's sorted entries and segments stay below 2^31.
    const int64_t int_cap = int64_t(INT32_MAX) / std::max<int64_t>(1, G * std::max(qtotal, ktotal) + G * nrects);
    if (int_cap < 1)
        return fail(HA_ERR_UNSUPPORTED,
                    "q: HyperAttention on CUDA sorts one kv head's %" PRId64
                    " query entries with 32-bit offsets; this problem is too long",
                    G * qtotal);
    gpc = std::min(gpc, int_cap);
    std::vector<Chunk> chunks;
    int64_t gmax;
    if (gpc >= Hkv) {
        const int64_t nbpc = gpc / Hkv;
        for (int64_t b0 = 0; b0 < B; b0 += nbpc) chunks.push_back({b0, std::min(nbpc, B - b0), 0, Hkv});
        gmax = std::min(nbpc, B) * Hkv;
    } else {
        const int64_t nch = (Hkv + gpc - 1) / gpc, per = (Hkv + nch - 1) / nch;
        for (int64_t b = 0; b < B; ++b)
            for (int64_t hk0 = 0; hk0 < Hkv; hk0 += per)
                chunks.push_back({b, 1, hk0, std::min(per, Hkv - hk0)});
        gmax = per;
    }
    const int64_t hmax = gmax * G;

    // CUB segment offsets for the largest chunk (a smaller one uses their prefix).
    std::vector<int32_t> kbeg, kend, qbeg, qend;
    for (int64_t lg = 0; lg < gmax; ++lg)
        for (const HyperSeg& sg : ksegs) {
            kbeg.push_back(int32_t(lg * ktotal + sg.off));
            kend.push_back(int32_t(lg * ktotal + sg.off + sg.n));
        }
    for (int64_t hl = 0; hl < hmax; ++hl)
        for (const HyperSeg& sg : qsegs) {
            qbeg.push_back(int32_t(hl * qtotal + sg.off));
            qend.push_back(int32_t(hl * qtotal + sg.off + sg.n));
        }
    size_t ktemp = 0, qtemp = 0;
    HA_CU("HyperAttention: sort sizing",
          hyper_sort(nullptr, &ktemp, nullptr, nullptr, nullptr, nullptr, int(gmax * ktotal),
                     int(gmax * nrects), nullptr, nullptr, r, s));
    HA_CU("HyperAttention: sort sizing",
          hyper_sort(nullptr, &qtemp, nullptr, nullptr, nullptr, nullptr, int(hmax * qtotal),
                     int(hmax * nrects), nullptr, nullptr, r, s));
    const size_t temp_bytes = std::max(ktemp, qtemp);

    Carve cv;
    const size_t o_planes = cv.take(planes.size() * 4), o_samp = cv.take(samp.size() * 4),
                 o_rects = cv.take(rects.size() * sizeof(HyperRect)),
                 o_qsegs = cv.take(qsegs.size() * sizeof(HyperSeg)),
                 o_ksegs = cv.take(ksegs.size() * sizeof(HyperSeg)),
                 o_ssegs = cv.take(ssegs.size() * sizeof(HyperSampleSeg)),
                 o_tasks = cv.take(tasks.size() * sizeof(HyperTask)),
                 o_kbeg = cv.take(kbeg.size() * 4), o_kend = cv.take(kend.size() * 4),
                 o_qbeg = cv.take(qbeg.size() * 4), o_qend = cv.take(qend.size() * 4);
    const size_t o_kranks = cv.take(size_t(gmax * Nk) * 2),
                 o_kkin = cv.take(size_t(gmax * ktotal) * 2),
                 o_kkout = cv.take(size_t(gmax * ktotal) * 2),
                 o_kvin = cv.take(size_t(gmax * ktotal) * 4),
                 o_kvout = cv.take(size_t(gmax * ktotal) * 4),
                 o_spos = cv.take(size_t(gmax * stotal) * 4),
                 o_qranks = cv.take(size_t(hmax * Nq) * 2),
                 o_qkin = cv.take(size_t(hmax * qtotal) * 2),
                 o_qkout = cv.take(size_t(hmax * qtotal) * 2),
                 o_qvin = cv.take(size_t(hmax * qtotal) * 4),
                 o_qvout = cv.take(size_t(hmax * qtotal) * 4),
                 o_sto = cv.take(p.causal ? size_t(hmax * Nq * D) * 4 : 0),
                 o_stml = cv.take(p.causal ? size_t(hmax * Nq) * 8 : 0),
                 o_leaf = cv.take(p.causal ? size_t(hmax * Nq) * 4 : 0),
                 o_temp = cv.take(temp_bytes);
    Scratch scratch;
    HA_ST(scratch.allocate(p.device, cv.used, s));
    char* base = static_cast<char*>(scratch.get());
    auto at = [&](size_t off) { return static_cast<void*>(base + off); };
    float* d_planes = static_cast<float*>(at(o_planes));
    int32_t* d_samp = static_cast<int32_t*>(at(o_samp));
    HyperRect* d_rects = static_cast<HyperRect*>(at(o_rects));
    HyperSeg* d_qsegs = static_cast<HyperSeg*>(at(o_qsegs));
    HyperSeg* d_ksegs = static_cast<HyperSeg*>(at(o_ksegs));
    HyperSampleSeg* d_ssegs = static_cast<HyperSampleSeg*>(at(o_ssegs));
    HyperTask* d_tasks = static_cast<HyperTask*>(at(o_tasks));
    int32_t* d_kbeg = static_cast<int32_t*>(at(o_kbeg));
    int32_t* d_kend = static_cast<int32_t*>(at(o_kend));
    int32_t* d_qbeg = static_cast<int32_t*>(at(o_qbeg));
    int32_t* d_qend = static_cast<int32_t*>(at(o_qend));
    uint16_t* d_kranks = static_cast<uint16_t*>(at(o_kranks));
    uint16_t* d_kkin = static_cast<uint16_t*>(at(o_kkin));
    uint16_t* d_kkout = static_cast<uint16_t*>(at(o_kkout));
    int32_t* d_kvin = static_cast<int32_t*>(at(o_kvin));
    int32_t* d_kvout = static_cast<int32_t*>(at(o_kvout));
    int32_t* d_spos = static_cast<int32_t*>(at(o_spos));
    uint16_t* d_qranks = static_cast<uint16_t*>(at(o_qranks));
    uint16_t* d_qkin = static_cast<uint16_t*>(at(o_qkin));
    uint16_t* d_qkout = static_cast<uint16_t*>(at(o_qkout));
    int32_t* d_qvin = static_cast<int32_t*>(at(o_qvin));
    int32_t* d_qvout = static_cast<int32_t*>(at(o_qvout));
    float* d_sto = static_cast<float*>(at(o_sto));
    float* d_stml = static_cast<float*>(at(o_stml));
    float* d_leaf = static_cast<float*>(at(o_leaf));
    void* d_temp = at(o_temp);

    HA_ST(upload(d_planes, planes, s));
    HA_ST(upload(d_samp, samp, s));
    HA_ST(upload(d_rects, rects, s));
    HA_ST(upload(d_qsegs, qsegs, s));
    HA_ST(upload(d_ksegs, ksegs, s));
    HA_ST(upload(d_ssegs, ssegs, s));
    HA_ST(upload(d_tasks, tasks, s));
    HA_ST(upload(d_kbeg, kbeg, s));
    HA_ST(upload(d_kend, kend, s));
    HA_ST(upload(d_qbeg, qbeg, s));
    HA_ST(upload(d_qend, qend, s));

    float qscale = 1.f;
    if (p.dtype == HA_DTYPE_BF16) {  // as the exact kernel (FwdArgs::qscale)
        int e;
        std::frexp(p.scale * 1.4426950408889634f, &e);
        qscale = std::ldexp(1.f, e - 1);
    }
    const float sl2 = p.scale / qscale * 1.4426950408889634f;

    for (const Chunk& c : chunks) {
        const int64_t nG = c.nb * c.nhk, nH = nG * G, Hq_c = c.nhk * G, g0 = c.b0 * Hkv + c.hk0;
        const void* qd = offset(p.q.data, c.b0 * p.q.strides[0] + c.hk0 * G * p.q.strides[1]);
        const void* kd = offset(p.k.data, c.b0 * p.k.strides[0] + c.hk0 * p.k.strides[1]);
        const void* vd = offset(p.v.data, c.b0 * p.v.strides[0] + c.hk0 * p.v.strides[1]);
        void* od = offset(p.out.data, c.b0 * p.out.strides[0] + c.hk0 * G * p.out.strides[1]);
        float* ld = p.lse ? p.lse + c.b0 * p.lse_strides[0] + c.hk0 * G * p.lse_strides[1] : nullptr;
        const int64_t qshape[4] = {c.nb, Hq_c, Nq, D}, kshape[4] = {c.nb, c.nhk, Nk, D};
        const bool aligned = D % 8 == 0 && tile_aligned(qd, qshape, p.q.strides) &&
                             tile_aligned(kd, kshape, p.k.strides) &&
                             tile_aligned(vd, kshape, p.v.strides);

        // Keys: ranks, per-rect sorted order, its inverse, the samples' sorted positions.
        HA_CU("HyperAttention: hashing keys",
              launch_hyper_hash(p.dtype, hview(kd, p.k.strides, c.nb, c.nhk, Nk, D), d_planes, r,
                                d_kranks, s));
        HA_CU("HyperAttention: key sort",
              launch_hyper_gather_ranks(d_kranks, Nk, d_ksegs, nrects, ktotal, nG, d_kkin, d_kvin, s));
        size_t tb = 0;
        HA_CU("HyperAttention: key sort",
              hyper_sort(nullptr, &tb, d_kkin, d_kkout, d_kvin, d_kvout, int(nG * ktotal),
                         int(nG * nrects), d_kbeg, d_kend, r, s));
        if (tb > temp_bytes) return fail(HA_ERR_INTERNAL, "HyperAttention: sort scratch grew");
        HA_CU("HyperAttention: key sort",
              hyper_sort(d_temp, &tb, d_kkin, d_kkout, d_kvin, d_kvout, int(nG * ktotal),
                         int(nG * nrects), d_kbeg, d_kend, r, s));
        HA_CU("HyperAttention: key permutations",
              launch_hyper_inverse(d_kvout, d_ksegs, nrects, ktotal, nG, d_kvin, s));
        HA_CU("HyperAttention: sampled keys",
              launch_hyper_sample_pos(d_kvin, d_samp + g0 * stotal, d_ssegs, int(ssegs.size()),
                                      ktotal, stotal, nG, d_spos, s));

        // Queries: ranks and per-rect sorted order.
        HA_CU("HyperAttention: hashing queries",
              launch_hyper_hash(p.dtype, hview(qd, p.q.strides, c.nb, Hq_c, Nq, D), d_planes, r,
                                d_qranks, s));
        HA_CU("HyperAttention: query sort",
              launch_hyper_gather_ranks(d_qranks, Nq, d_qsegs, nrects, qtotal, nH, d_qkin, d_qvin, s));
        tb = 0;
        HA_CU("HyperAttention: query sort",
              hyper_sort(nullptr, &tb, d_qkin, d_qkout, d_qvin, d_qvout, int(nH * qtotal),
                         int(nH * nrects), d_qbeg, d_qend, r, s));
        if (tb > temp_bytes) return fail(HA_ERR_INTERNAL, "HyperAttention: sort scratch grew");
        HA_CU("HyperAttention: query sort",
              hyper_sort(d_temp, &tb, d_qkin, d_qkout, d_qvin, d_qvout, int(nH * qtotal),
                         int(nH * nrects), d_qbeg, d_qend, r, s));

        if (p.causal) {
            HA_CU("HyperAttention: state", cudaMemsetAsync(d_sto, 0, size_t(nH * Nq * D) * 4, s));
            HA_CU("HyperAttention: state", cudaMemsetAsync(d_stml, 0, size_t(nH * Nq) * 8, s));
        }

        HyperRectArgs ra{};
        ra.q = qd;
        ra.k = kd;
        ra.v = vd;
        ra.out = od;
        ra.lse = ld;
        for (int i = 0; i < 4; ++i) {
            ra.qs[i] = p.q.strides[i];
            ra.ks[i] = p.k.strides[i];
            ra.vs[i] = p.v.strides[i];
            ra.os[i] = p.out.strides[i];
        }
        for (int i = 0; i < 3; ++i) ra.ls[i] = p.lse_strides[i];
        ra.Hq = int(Hq_c);
        ra.Hkv = int(c.nhk);
        ra.G = int(G);
        ra.Nq = int(Nq);
        ra.D = int(D);
        ra.heads = int(nH);
        ra.sl2 = sl2;
        ra.qscale = qscale;
        ra.rects = d_rects;
        ra.qperm = d_qvout;
        ra.qtotal = qtotal;
        ra.kperm = d_kvout;
        ra.ktotal = ktotal;
        ra.samp = d_samp + g0 * stotal;
        ra.spos = d_spos;
        ra.stotal = stotal;
        ra.st_o = d_sto;
        ra.st_ml = d_stml;
        ra.finish = p.causal ? 0 : 1;
        // Levels in order: a causal row's pieces always merge in the same order.
        const int64_t max_tasks = std::max<int64_t>(1, 0x7fffffff / std::max<int64_t>(1, nH));
        for (int level = 0; level < plan.levels; ++level)
            for (int64_t t0 = level_begin[size_t(level)]; t0 < level_begin[size_t(level) + 1];
                 t0 += max_tasks) {
                ra.tasks = d_tasks + t0;
                ra.ntasks = std::min(max_tasks, level_begin[size_t(level) + 1] - t0);
                HA_CU("HyperAttention: rect kernel", launch_hyper_rects(p.dtype, aligned, ra, s));
            }
        if (!p.causal) continue;

        // The exact causal squares, into out (their lse into scratch), then the merge.
        for (const hp::Leaf& lf : plan.leaves) {
            ExactProblem e{};
            e.dtype = p.dtype;
            e.device = p.device;
            e.q.data = offset(const_cast<void*>(qd), lf.q0 * p.q.strides[2]);
            e.k.data = offset(const_cast<void*>(kd), lf.k0 * p.k.strides[2]);
            e.v.data = offset(const_cast<void*>(vd), lf.k0 * p.v.strides[2]);
            e.out.data = offset(od, lf.q0 * p.out.strides[2]);
            const int64_t qs_[4] = {c.nb, Hq_c, lf.n, D}, ks_[4] = {c.nb, c.nhk, lf.n, D};
            for (int i = 0; i < 4; ++i) {
                e.q.shape[i] = e.out.shape[i] = qs_[i];
                e.k.shape[i] = e.v.shape[i] = ks_[i];
                e.q.strides[i] = p.q.strides[i];
                e.k.strides[i] = p.k.strides[i];
                e.v.strides[i] = p.v.strides[i];
                e.out.strides[i] = p.out.strides[i];
            }
            e.lse = d_leaf + lf.q0;
            e.lse_strides[0] = Hq_c * Nq;
            e.lse_strides[1] = Nq;
            e.lse_strides[2] = 1;
            e.scale = p.scale;
            e.causal = true;
            e.stream = p.stream;
            HA_CU("HyperAttention: exact leaves", launch_exact_view(e, s));
        }
        HyperFinishArgs fa{};
        fa.out = od;
        fa.lse = ld;
        for (int i = 0; i < 4; ++i) fa.os[i] = p.out.strides[i];
        for (int i = 0; i < 3; ++i) fa.ls[i] = p.lse_strides[i];
        fa.Hq = int(Hq_c);
        fa.Nq = int(Nq);
        fa.D = int(D);
        fa.heads = int(nH);
        fa.empty_rows = plan.empty_rows;
        fa.st_o = d_sto;
        fa.st_ml = d_stml;
        fa.leaf_lse = d_leaf;
        HA_CU("HyperAttention: finish kernel", launch_hyper_finish(p.dtype, fa, s));
    }
    HA_ST(scratch.release());
    if (!p.stream) HA_CU("HyperAttention", cudaStreamSynchronize(s));
    return HA_OK;
}

#undef HA_CU
#undef HA_ST

}  // namespace ha::cuda
