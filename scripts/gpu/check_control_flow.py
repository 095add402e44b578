#!/usr/bin/env python3
# No GPU needed (numpy only). A port of the control flow of fwd_kernel (forward.cuh),
# decode_kernel and combine_kernel (decode.cu), the per-row key ranges, sequence views and
# split-KV plan of launch.h / seq.cuh, and the launch choices of ops.cpp (exact_forward,
# exact_seqs): query-block order, key tile ranges, window and causal masks, the soft cap, warp
# skipping, online softmax, routing of a batch's sequences between the two kernels, split plans,
# fold and combine, paged key addressing. Checked against a float64 reference, and a batch of
# sequences bit for bit (here: float64 equality) against one call per sequence.
# Keep it in step with the kernels when they change.
import math, numpy as np
rng = np.random.default_rng(7)
np.seterr(invalid="ignore", over="ignore")  # np.where evaluates both branches; the kernels do not
NEG = -np.inf
KT, RG, MAX_SPLITS, DEC_ROWS = 64, 16, 128, 64
def ex2(x): return np.exp2(x)

# ---- reference ------------------------------------------------------------------------------
def bounds_ref(i, nq, nk, wl, wr, causal):
    pos = i + nk - nq
    right = (0 if wr < 0 else min(wr, 0)) if causal else wr
    lo = max(0, pos - wl) if wl >= 0 else 0
    hi = min(nk, pos + right + 1) if right >= 0 else nk
    return lo, hi

def reference(q, k, v, scale, causal, wl=-1, wr=-1, cap=0.0):
    """q [Hq, nq, D], k/v [Hkv, nk, D] of one sequence."""
    Hq, nq, D = q.shape; Hkv, nk = k.shape[0], k.shape[1]
    out = np.zeros_like(q); lse = np.full((Hq, nq), NEG)
    for h in range(Hq):
        kh = h // (Hq // Hkv)
        for i in range(nq):
            lo, hi = bounds_ref(i, nq, nk, wl, wr, causal)
            if hi <= lo: continue
            s = q[h, i] @ k[kh, lo:hi].T * scale
            if cap > 0: s = cap * np.tanh(s / cap)
            m = s.max(); p = np.exp(s - m)
            out[h, i] = p @ v[kh, lo:hi] / p.sum(); lse[h, i] = m + math.log(p.sum())
    return out, lse

# ---- launch.h ------------------------------------------------------------------------------
def key_bounds(i, nq, nk, wl, wr):
    pos = i + nk - nq
    a = pos - wl if wl >= 0 else 0
    b = pos + wr + 1 if wr >= 0 else nk
    return min(max(a, 0), nk), min(max(b, 0), nk)

def decode_shaped(nq, nk, G): return nk > 0 and nq > 0 and G * nq <= DEC_ROWS

def decode_plan(nq, nk, G, Hkv, wl, wr, batch, sms):
    lo0, _ = key_bounds(0, nq, nk, wl, wr); _, hi1 = key_bounds(nq - 1, nq, nk, wl, wr)
    t_lo = lo0 // KT
    tiles = (hi1 + KT - 1) // KT - t_lo if hi1 > lo0 else 0
    groups = (G * nq + RG - 1) // RG
    work = batch * Hkv * max(groups, 1)
    splits = 2 * max(sms, 1) // work
    splits = max(1, min(splits, MAX_SPLITS, max(1, tiles // 4)))
    chunk = (tiles + splits - 1) // splits if tiles > 0 else 1
    splits = (tiles + chunk - 1) // chunk if tiles > 0 else 1
    return splits, chunk, t_lo, hi1

def soft_cap(x, tc, cap):
    y = x * tc; e = ex2(np.abs(y) * 2.8853900817779268)
    return cap * np.copysign(1 - 2 / (e + 1), y)

# ---- memory: a call's tensors and its sequences (seq.cuh) ------------------------------------
class Call:
    """q/out rows and k/v keys of a call. Dense: q [B,Hq,Nq,D], k [B,Hkv,Nk,D]. Packed q:
    q [1,Hq,total,D] with cu_q. Keys: dense (optionally seqlens), packed (cu_k), or paged
    (pages [P,Hkv,ps,D], table, seqlens)."""
    def __init__(s, q, k, v, B, Nq, Nk, cu_q=None, cu_k=None, lens=None, table=None, ps=1):
        s.q, s.k, s.v, s.B, s.Nq, s.Nk = q, k, v, B, Nq, Nk
        s.cu_q, s.cu_k, s.lens, s.table, s.ps = cu_q, cu_k, lens, table, ps
        s.Hq, s.Hkv, s.D = q.shape[1], k.shape[1], q.shape[3]
        s.out = np.full(q.shape, np.nan); s.lse = np.full(q.shape[:3], np.nan)

    def seq(s, b):  # seq_view: rows, keys, q row 0, key accessor
        if s.cu_q is not None: nq, qb, q0 = s.cu_q[b + 1] - s.cu_q[b], 0, s.cu_q[b]
        else: nq, qb, q0 = s.Nq, b, 0
        if s.table is not None:
            nk = s.lens[b]; row = s.table[b]
            kv = lambda t, h, j: t[row[j // s.ps], h, j % s.ps]
        elif s.cu_k is not None:
            k0 = s.cu_k[b]; nk = s.lens[b] if s.lens is not None else s.cu_k[b + 1] - k0
            kv = lambda t, h, j, k0=k0: t[0, h, k0 + j]
        else:
            nk = s.lens[b] if s.lens is not None else s.Nk
            kv = lambda t, h, j, b=b: t[b, h, j]
        return nq, nk, qb, q0, kv

def load_keys(c, kv, h, j0, n, nrows):  # rows j0..j0+n-1, zero at or past nrows
    K = np.zeros((n, c.D)); V = np.zeros((n, c.D))
    for r in range(n):
        if j0 + r < nrows: K[r] = kv(c.k, h, j0 + r); V[r] = kv(c.v, h, j0 + r)
    return K, V

def softmax_step(s, m, l, o, sl2):
    mx = np.maximum(m, s.max(axis=1))
    alpha = np.where(m == NEG, 0.0, ex2((m - mx) * sl2))
    msc = np.where(mx == NEG, 0.0, mx * sl2)
    p = ex2(s * sl2 - msc[:, None])
    return mx, l * alpha + p.sum(axis=1), o * alpha[:, None], p

# ---- fwd_kernel ---------------------------------------------------------------------------
def fwd_kernel(c, a, BM, BN):
    G = c.Hq // c.Hkv; num_m = (a['Nq'] + BM - 1) // BM; BH = c.B * c.Hq
    capped = a['cap'] > 0; sc_raw = a['scale']; tc = sc_raw / a['cap'] if capped else 0.0
    sc = 1.0 if capped else sc_raw; sl2 = sc * 1.4426950408889634; wl, wr = a['wl'], a['wr']
    for bid in range(num_m * BH):
        bh = bid // num_m; mb = num_m - 1 - bid % num_m; b, h = bh // c.Hq, bh % c.Hq
        kvh = h // G; m0 = mb * BM
        Nq, Nk, qb, q0, kv = c.seq(b)
        if m0 >= Nq or (a['route'] and decode_shaped(Nq, Nk, G)): continue
        blk_lo, _ = key_bounds(m0, Nq, Nk, wl, wr); _, blk_hi = key_bounds(min(m0 + BM, Nq) - 1, Nq, Nk, wl, wr)
        t_begin = blk_lo // BN
        ntiles = (blk_hi + BN - 1) // BN - t_begin if blk_hi > blk_lo else 0
        Qt = np.zeros((BM, c.D)); nv = min(BM, Nq - m0); Qt[:nv] = c.q[qb, h, q0 + m0:q0 + m0 + nv]
        for warp in range(BM // 16):
            wrow0 = m0 + warp * 16
            rows = wrow0 + np.arange(16)
            rb = [key_bounds(r, Nq, Nk, wl, wr) if r < Nq else (0, 0) for r in rows]
            rlo = np.array([x[0] for x in rb])[:, None]; rhi = np.array([x[1] for x in rb])[:, None]
            w_lo = w_hi = w_in_lo = w_in_hi = 0
            if wrow0 < Nq:
                w_lo, w_in_hi = key_bounds(wrow0, Nq, Nk, wl, wr)
                w_in_lo, w_hi = key_bounds(min(wrow0 + 15, Nq - 1), Nq, Nk, wl, wr)
            m = np.full(16, NEG); l = np.zeros(16); o = np.zeros((16, c.D))
            for it in range(ntiles):
                n0 = (t_begin + it) * BN
                Kt, Vt = load_keys(c, kv, kvh, n0, BN, blk_hi)
                if not (wrow0 < Nq and n0 < w_hi and n0 + BN > w_lo): continue
                s = Qt[warp * 16:warp * 16 + 16] @ Kt.T
                if capped: s = soft_cap(s, tc, a['cap'])
                if n0 < w_in_lo or n0 + BN > w_in_hi:
                    key = n0 + np.arange(BN)[None, :]
                    s = np.where((key < rlo) | (key >= rhi), NEG, s)
                m, l, o, p = softmax_step(s, m, l, o, sl2)
                o = o + p @ Vt
            for r in range(16):
                row = wrow0 + r
                if row >= Nq: continue
                c.out[qb, h, q0 + row] = o[r] / l[r] if l[r] > 0 else 0.0
                c.lse[qb, h, q0 + row] = m[r] * sc + math.log(l[r]) if l[r] > 0 else NEG

# ---- decode_kernel and combine_kernel ---------------------------------------------------------
def decode_kernel(c, a, grid_splits, part_nq, po, pl):
    G = c.Hq // c.Hkv; groups = (G * a['Nq'] + RG - 1) // RG; wl, wr = a['wl'], a['wr']
    capped = a['cap'] > 0; sc_raw = a['scale']; tc = sc_raw / a['cap'] if capped else 0.0
    sc = 1.0 if capped else sc_raw; sl2 = sc * 1.4426950408889634
    R_part = c.B * c.Hq * part_nq
    for x in range(grid_splits * c.B * c.Hkv):
        split, z = x % grid_splits, x // grid_splits
        b, kvh = z // c.Hkv, z % c.Hkv
        Nq, Nk, qb, q0, kv = c.seq(b)
        if a['route'] and not decode_shaped(Nq, Nk, G): continue
        rows = G * Nq
        for rg in range(groups):
            p0 = rg * RG
            if p0 >= rows: continue
            p_end = min(rows, p0 + RG)
            splits, chunk, t_lo, k_hi = decode_plan(Nq, Nk, G, c.Hkv, wl, wr, a['plan_batch'], a['sms'])
            if split >= splits: continue
            kbeg = (t_lo + split * chunk) * KT; kend = min(kbeg + chunk * KT, k_hi)
            g_lo, _ = key_bounds(p0 // G, Nq, Nk, wl, wr); _, g_hi = key_bounds((p_end - 1) // G, Nq, Nk, wl, wr)
            kstart = max(kbeg, g_lo // KT * KT); kstop = min(kend, g_hi)
            ntiles = (kstop - kstart + KT - 1) // KT if kstop > kstart else 0
            pr = p0 + np.arange(16)
            rb = [key_bounds(p // G, Nq, Nk, wl, wr) if p < rows else (0, 0) for p in pr]
            rlo = np.array([x[0] for x in rb])[:, None]; rhi = np.array([x[1] for x in rb])[:, None]
            Qt = np.zeros((16, c.D))
            for r in range(16):
                p = p0 + r
                if p < rows: Qt[r] = c.q[qb, kvh * G + p % G, q0 + p // G]
            st = []
            for warp in range(4):
                m = np.full(16, NEG); l = np.zeros(16); o = np.zeros((16, c.D))
                for it in range(ntiles):
                    kw = kstart + it * KT + warp * 16
                    if kw >= kstop: continue
                    Kt, Vt = load_keys(c, kv, kvh, kw, 16, kstop)
                    s = Qt @ Kt.T
                    if capped: s = soft_cap(s, tc, a['cap'])
                    key = kw + np.arange(16)[None, :]
                    s = np.where((key >= kstop) | (key < rlo) | (key >= rhi), NEG, s)
                    m, l, o, p = softmax_step(s, m, l, o, sl2)
                    o = o + p @ Vt
                st.append((m, l, o))
            for r in range(16):
                p = p0 + r
                if p >= rows: continue
                M = max(w[0][r] for w in st); L = 0.0; acc = np.zeros(c.D)
                for (mw, lw, ow) in st:
                    cc = 0.0 if mw[r] == NEG else ex2((mw[r] - M) * sl2)
                    L += cc * lw[r]; acc += cc * ow[r]
                val = acc / L if L > 0 else np.zeros(c.D)
                ls = M * sc + math.log(L) if L > 0 else NEG
                qh, qi = kvh * G + p % G, p // G
                if splits == 1:
                    c.out[qb, qh, q0 + qi] = val; c.lse[qb, qh, q0 + qi] = ls
                else:
                    prow = (b * c.Hq + qh) * part_nq + qi
                    po[split * R_part + prow] = val; pl[split * R_part + prow] = ls

def combine_kernel(c, a, part_nq, po, pl):
    G = c.Hq // c.Hkv; R_part = c.B * c.Hq * part_nq
    for prow in range(R_part):
        qi = prow % part_nq; qh = (prow // part_nq) % c.Hq; b = prow // (part_nq * c.Hq)
        Nq, Nk, qb, q0, kv = c.seq(b)
        if qi >= Nq or (a['route'] and not decode_shaped(Nq, Nk, G)): continue
        S = decode_plan(Nq, Nk, G, c.Hkv, a['wl'], a['wr'], a['plan_batch'], a['sms'])[0]
        if S == 1: continue
        ls = np.array([pl[s * R_part + prow] for s in range(S)])
        M = ls.max(); L = NEG
        if M != NEG: L = M + math.log(np.exp(ls - M).sum())
        w = np.where((ls == NEG) | (L == NEG), 0.0, np.exp(ls - L))
        acc = np.zeros(c.D)
        for s in range(S):
            if w[s] != 0: acc += w[s] * po[s * R_part + prow]
        c.out[qb, qh, q0 + qi] = acc; c.lse[qb, qh, q0 + qi] = L

# ---- ops.cpp ------------------------------------------------------------------------------
def args(c, scale, causal, wl, wr, cap, sms):
    return dict(Nq=c.Nq, scale=scale, wl=wl, wr=0 if causal else wr, cap=cap, route=0,
                plan_batch=c.B, sms=sms)

def run_decode(c, a, grid_splits, part_nq):
    R = c.B * c.Hq * part_nq
    po = np.full((grid_splits * R, c.D), np.nan); pl = np.full(grid_splits * R, np.nan)
    decode_kernel(c, a, grid_splits, part_nq, po, pl)
    if grid_splits > 1: combine_kernel(c, a, part_nq, po, pl)

def exact_forward(c, scale, causal, wl=-1, wr=-1, cap=0.0, sms=132, tiles=(128, 64), decode_ok=True):
    a = args(c, scale, causal, wl, wr, cap, sms); G = c.Hq // c.Hkv
    if c.Nq == 0: return
    if decode_ok and decode_shaped(c.Nq, c.Nk, G):
        splits = decode_plan(c.Nq, c.Nk, G, c.Hkv, a['wl'], a['wr'], c.B, sms)[0]
        run_decode(c, a, splits, c.Nq)
    else:
        fwd_kernel(c, a, *tiles)

def exact_seqs(c, scale, causal, wl=-1, wr=-1, cap=0.0, sms=132, tiles=(128, 64), decode_ok=True):
    a = args(c, scale, causal, wl, wr, cap, sms)
    a.update(plan_batch=1, route=1 if decode_ok else 0)
    G = c.Hq // c.Hkv; fwd_nq = dec_nq = 0; splits = 1
    for b in range(c.B):
        nq, nk = c.seq(b)[:2]
        if nq == 0: continue
        if decode_ok and decode_shaped(nq, nk, G):
            dec_nq = max(dec_nq, nq)
            splits = max(splits, decode_plan(nq, nk, G, c.Hkv, a['wl'], a['wr'], 1, sms)[0])
        else: fwd_nq = max(fwd_nq, nq)
    if fwd_nq > 0:
        f = dict(a)
        if c.cu_q is not None: f['Nq'] = fwd_nq
        fwd_kernel(c, f, *tiles)
    if dec_nq > 0:
        d = dict(a)
        if c.cu_q is not None: d['Nq'] = dec_nq
        run_decode(c, d, splits, d['Nq'])

# ---- checks -------------------------------------------------------------------------------
def close(name, o, l, ro, rl):
    assert not np.isnan(o).any(), name + ": unwritten output"
    assert not np.isnan(l).any(), name + ": unwritten lse"
    err = np.abs(o - ro).max() if o.size else 0
    both_inf = np.isinf(l) & np.isinf(rl)
    lerr = np.abs(np.where(both_inf, 0, l - rl)).max() if l.size else 0
    assert err < 1e-9 and lerr < 1e-9 and (np.isinf(l) == np.isinf(rl)).all(), (name, err, lerr)

def dense(B, Hq, Hkv, Nq, Nk, D):
    q = rng.standard_normal((B, Hq, Nq, D)); k = rng.standard_normal((B, Hkv, Nk, D))
    return q, k, rng.standard_normal((B, Hkv, Nk, D))

def check_dense(B, Hq, Hkv, Nq, Nk, D, causal, wl=-1, wr=-1, cap=0.0, **kw):
    q, k, v = dense(B, Hq, Hkv, Nq, Nk, D)
    c = Call(q, k, v, B, Nq, Nk); exact_forward(c, 0.3, causal, wl, wr, cap, **kw)
    for b in range(B):
        ro, rl = reference(q[b], k[b], v[b], 0.3, causal, wl, wr, cap)
        close(f"dense {B,Hq,Hkv,Nq,Nk,D,causal,wl,wr,cap} {kw}", c.out[b], c.lse[b], ro, rl)

def alone(q, k, v, causal, wl, wr, cap, **kw):
    """ha_attention_exact on one sequence: q [Hq,nq,D], k/v [Hkv,nk,D]."""
    c = Call(q[None], k[None], v[None], 1, q.shape[1], k.shape[1])
    exact_forward(c, 0.3, causal, wl, wr, cap, **kw)
    return c.out[0], c.lse[0]

def check_batch(c, keys_of, causal, wl=-1, wr=-1, cap=0.0, **kw):
    """A seqs call against one exact_forward per sequence (bit for bit) and the reference."""
    exact_seqs(c, 0.3, causal, wl, wr, cap, **kw)
    for b in range(c.B):
        nq, nk, qb, q0, kv = c.seq(b)
        if nq == 0: continue
        q = c.q[qb, :, q0:q0 + nq]; k, v = keys_of(b, nk)
        ao, al = alone(q, k, v, causal, wl, wr, cap, **kw)
        o, l = c.out[qb, :, q0:q0 + nq], c.lse[qb, :, q0:q0 + nq]
        same = np.array_equal(o, ao) and np.array_equal(l, al)
        assert same, f"sequence {b} (nq={nq}, nk={nk}) differs from the call on it alone"
        ro, rl = reference(q, k, v, 0.3, causal, wl, wr, cap)
        close(f"seq {b} nq={nq} nk={nk}", o, l, ro, rl)
    if c.cu_q is not None:  # rows of no sequence untouched
        assert np.isnan(c.out[0, :, c.cu_q[-1]:]).all(), "rows of no sequence written"

def varlen(Hq, Hkv, D, nqs, nks, causal, wl=-1, wr=-1, cap=0.0, **kw):
    cu_q = np.concatenate([[0], np.cumsum(nqs)]).astype(int); cu_k = np.concatenate([[0], np.cumsum(nks)]).astype(int)
    q = rng.standard_normal((1, Hq, cu_q[-1] + 2, D)); k = rng.standard_normal((1, Hkv, cu_k[-1] + 1, D))
    v = rng.standard_normal(k.shape)
    c = Call(q, k, v, len(nqs), 0, 0, cu_q=cu_q, cu_k=cu_k)
    check_batch(c, lambda b, nk: (k[0, :, cu_k[b]:cu_k[b] + nk], v[0, :, cu_k[b]:cu_k[b] + nk]),
                causal, wl, wr, cap, **kw)

def paged(Hq, Hkv, D, ps, lens, nq, causal, wl=-1, wr=-1, cap=0.0, **kw):
    B = len(lens); used = sum((n + ps - 1) // ps for n in lens); P = used + 2
    perm = rng.permutation(P); maxp = max(1, max((n + ps - 1) // ps for n in lens))
    table = np.full((B, maxp + 1), -7); nxt = 0
    for b, n in enumerate(lens):
        for j in range((n + ps - 1) // ps): table[b, j] = perm[nxt]; nxt += 1
    k = rng.standard_normal((P, Hkv, ps, D)); v = rng.standard_normal(k.shape)
    q = rng.standard_normal((B, Hq, nq, D))
    c = Call(q, k, v, B, nq, 0, lens=np.array(lens), table=table, ps=ps)
    def keys_of(b, n):
        idx = [(table[b, j // ps], j % ps) for j in range(n)]
        kc = np.stack([k[p, :, r] for p, r in idx], axis=1) if n else np.zeros((Hkv, 0, D))
        vc = np.stack([v[p, :, r] for p, r in idx], axis=1) if n else np.zeros((Hkv, 0, D))
        return kc, vc
    check_batch(c, keys_of, causal, wl, wr, cap, **kw)

def padded(Hq, Hkv, D, cap_keys, lens, nq, causal, wl=-1, wr=-1, cap=0.0, **kw):
    B = len(lens); q, k, v = dense(B, Hq, Hkv, nq, cap_keys, D)
    c = Call(q, k, v, B, nq, cap_keys, lens=np.array(lens))
    check_batch(c, lambda b, n: (k[b, :, :n], v[b, :, :n]), causal, wl, wr, cap, **kw)

# Dense problems: causal, windows, soft cap (forward tiles of both shapes, and split-KV).
for (B, Hq, Hkv, Nq, Nk, D, causal, wl, wr, cap) in [
        (1,1,1,1,1,8,False,-1,-1,0),(2,4,2,17,33,8,True,-1,-1,0),(1,2,1,200,150,4,True,-1,-1,0),
        (1,1,1,513,515,4,True,-1,-1,0),(1,2,1,9,4,4,True,-1,-1,0),(1,2,1,4,0,4,False,-1,-1,0),
        (1,2,1,17,33,8,False,3,2,0),(1,2,1,17,33,8,True,5,-1,0),(1,2,2,70,130,4,True,31,-1,0),
        (1,2,2,100,300,4,False,-1,10,0),(1,2,2,100,300,4,False,64,64,0),(1,2,1,40,150,4,True,-1,-1,50.0),
        (1,2,1,9,4,4,True,1,-1,0),(1,2,1,20,20,4,False,0,0,0),(1,2,2,65,65,4,False,-1,-1,0.5),
        (1,2,1,300,700,4,True,129,-1,0),(1,2,1,5,3001,4,False,2000,100,0),(1,1,1,130,200,4,False,-1,-1,0)]:
    for tiles in [(128, 64), (64, 32)]:
        check_dense(B, Hq, Hkv, Nq, Nk, D, causal, wl, wr, cap, tiles=tiles, decode_ok=False)
print("forward control flow ok (causal, window, soft cap)")
for (B, Hq, Hkv, Nq, Nk, D, causal, wl, wr, cap) in [
        (1,32,8,1,700,4,False,-1,-1,0),(1,4,1,1,4099,4,False,-1,-1,0),(1,2,1,5,3001,4,True,-1,-1,0),
        (2,8,2,3,5000,4,True,-1,-1,0),(1,8,1,4,20000,2,True,-1,-1,0),(1,16,1,4,1000,4,False,-1,-1,0),
        (1,2,2,1,63,4,True,-1,-1,0),(1,8,2,1,4099,4,True,1000,-1,0),(1,32,8,1,700,4,True,100,-1,30.0),
        (1,8,2,3,300,4,True,0,5,0),(1,2,1,5,3001,4,False,2000,100,0),(1,8,1,8,3000,4,True,70,-1,0),
        (1,4,1,1,40000,4,True,4095,-1,0),(1,4,1,2,500,4,True,0,-1,0)]:
    check_dense(B, Hq, Hkv, Nq, Nk, D, causal, wl, wr, cap)
    print(f"  decode Hq={Hq} Hkv={Hkv} Nq={Nq} Nk={Nk} causal={causal} window=({wl},{wr}) cap={cap}: "
          f"{decode_plan(Nq, Nk, Hq // Hkv, Hkv, wl, 0 if causal else wr, B, 132)[0]} splits ok")
print("decode control flow ok (split plans over the visible keys)")

# Batches of sequences: each equals its own call bit for bit.
varlen(4, 2, 4, [17, 0, 130, 5, 70], [17, 9, 130, 3, 200], True)
varlen(2, 1, 4, [33, 1, 64], [33, 500, 64], False)
varlen(8, 2, 4, [100, 1, 7], [300, 2100, 7], True, 50, -1, 10.0)   # mixed: forward + decode
varlen(8, 2, 4, [1, 1, 1, 1, 1, 1], [3, 900, 1, 4100, 65, 0], True)  # decode of six, one empty
varlen(4, 4, 4, [20, 3, 16], [2000, 3000, 16], True, 100, -1, 0, tiles=(64, 32))
varlen(4, 2, 4, [2, 5], [700, 50], True, decode_ok=False)  # layout without split-KV
# Few multiprocessors: the SM count, not the tile count, bounds each sequence's splits, so a plan
# made for the batch (instead of per sequence, as if alone) would differ.
varlen(8, 2, 4, [1, 2, 1, 1], [4100, 3000, 1, 2600], True, sms=8)
print("varlen ok")
for ps in [1, 3, 16, 64, 100]:
    paged(8, 2, 4, ps, [int(x) for x in rng.integers(1, 700, 5)], 1, True)
    paged(4, 4, 4, ps, [int(x) for x in rng.integers(1, 300, 3)], 3, True, 40)
    paged(2, 1, 4, ps, [150, 400], 130, True, tiles=(64, 32))
paged(32, 8, 2, 16, [4099, 2500], 1, True, -1, -1, 50.0)
paged(8, 2, 2, 5, [3001, 1800, 7], 1, True, 1000, -1, 0, sms=8)
print("paged ok (page sizes 1, 3, 16, 64, 100)")
padded(8, 2, 4, 600, [600, 1, 0, 333], 1, True)
padded(4, 2, 4, 200, [70, 200], 9, True, 20)
print("padded caches ok")
print("splits for 128k keys, 8 kv heads, 32 q heads on 132 SMs:", decode_plan(1, 131072, 4, 8, -1, -1, 1, 132)[0])
