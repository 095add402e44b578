#!/usr/bin/env python3
# No GPU needed (numpy only). A port of the control flow of fwd_kernel (forward.cuh), decode_kernel
# and combine_kernel (decode.cu) and the split choice of ops.cpp: query-block order, causal key
# ranges, masks, warp skipping, online softmax, fold and combine, against a float64 reference.
# Keep it in step with the kernels when they change.
import math, numpy as np
rng = np.random.default_rng(7)
np.seterr(invalid="ignore")  # np.where evaluates both branches; the kernels do not
NEG = -np.inf
def ex2(x): return np.exp2(x)

def reference(q, k, v, scale, causal):
    B, Hq, Nq, D = q.shape; Hkv, Nk = k.shape[1], k.shape[2]
    out = np.zeros_like(q); lse = np.full((B, Hq, Nq), NEG)
    for b in range(B):
        for h in range(Hq):
            kh = h // (Hq // Hkv)
            for i in range(Nq):
                hi = min(Nk, i + Nk - Nq + 1) if causal else Nk
                if hi <= 0: continue
                s = q[b, h, i] @ k[b, kh, :hi].T * scale
                m = s.max(); p = np.exp(s - m)
                out[b, h, i] = p @ v[b, kh, :hi] / p.sum(); lse[b, h, i] = m + math.log(p.sum())
    return out, lse

def softmax_step(s, m, l, o, sl2):
    mx = np.maximum(m, s.max(axis=1))
    alpha = np.where(m == NEG, 0.0, ex2((m - mx) * sl2))
    msc = np.where(mx == NEG, 0.0, mx * sl2)
    p = ex2(s * sl2 - msc[:, None])
    return mx, l * alpha + p.sum(axis=1), o * alpha[:, None], p

def fwd_kernel(q, k, v, scale, causal, BM, BN):
    B, Hq, Nq, D = q.shape; Hkv, Nk = k.shape[1], k.shape[2]
    out = np.full_like(q, np.nan); lse = np.full((B, Hq, Nq), np.nan)
    sl2 = scale * 1.4426950408889634; diag = Nk - Nq
    num_m = (Nq + BM - 1) // BM
    for bid in range(num_m * B * Hq):
        BH = B * Hq; bh = bid % BH; mb = num_m - 1 - bid // BH
        b, h = bh // Hq, bh % Hq; kvh = h // (Hq // Hkv); m0 = mb * BM
        n_end = Nk
        if causal:
            last_row = min(m0 + BM, Nq) - 1; lim = last_row + diag + 1
            n_end = 0 if lim < 0 else lim
        ntiles = (n_end + BN - 1) // BN
        Qt = np.zeros((BM, D)); rows_valid = min(BM, Nq - m0); Qt[:rows_valid] = q[b, h, m0:m0 + rows_valid]
        for warp in range(BM // 16):
            wrow0 = m0 + warp * 16
            m = np.full(16, NEG); l = np.zeros(16); o = np.zeros((16, D))
            for it in range(ntiles):
                n0 = it * BN
                Kt = np.zeros((BN, D)); Vt = np.zeros((BN, D))
                nv = max(0, min(BN, n_end - n0)); Kt[:nv] = k[b, kvh, n0:n0 + nv]; Vt[:nv] = v[b, kvh, n0:n0 + nv]
                if causal and not (n0 <= wrow0 + 15 + diag): continue
                s = Qt[warp*16:warp*16+16] @ Kt.T
                if n0 + BN > Nk or (causal and n0 + BN - 1 > wrow0 + diag):
                    key = n0 + np.arange(BN)[None, :]; row = wrow0 + np.arange(16)[:, None]
                    s = np.where((key >= Nk) | (causal & (key > row + diag)), NEG, s)
                m, l, o, p = softmax_step(s, m, l, o, sl2)
                o = o + p @ Vt
            for r in range(16):
                row = wrow0 + r
                if row >= Nq: continue
                inv = 1 / l[r] if l[r] > 0 else 0.0
                out[b, h, row] = o[r] * inv
                lse[b, h, row] = m[r] * scale + math.log(l[r]) if l[r] > 0 else NEG
    return out, lse

def choose_splits(B, Hkv, groups, Nk, sms):
    KT = 64; tiles = (Nk + KT - 1) // KT; work = B * Hkv * groups
    splits = (2 * sms + work - 1) // work
    splits = max(1, min(splits, 128, max(1, tiles // 4)))
    chunk = ((tiles + splits - 1) // splits) * KT
    return (Nk + chunk - 1) // chunk, chunk

def decode(q, k, v, scale, causal, sms=132):
    B, Hq, Nq, D = q.shape; Hkv, Nk = k.shape[1], k.shape[2]
    G = Hq // Hkv; rows = G * Nq; RG = 16; KT = 64
    groups = (rows + RG - 1) // RG
    splits, chunk = choose_splits(B, Hkv, groups, Nk, sms)
    R_total = B * Hq * Nq
    po = np.full((splits, R_total, D), np.nan); pl = np.full((splits, R_total), np.nan)
    out = np.full_like(q, np.nan); lse = np.full((B, Hq, Nq), np.nan)
    sl2 = scale * 1.4426950408889634; diag = Nk - Nq
    for z in range(B * Hkv):
        b, kvh = z // Hkv, z % Hkv
        for rg in range(groups):
            p0 = rg * RG; p_end = min(rows, p0 + RG)
            pr = p0 + np.arange(16)
            lim = np.where(pr < rows, pr // G + diag, 2**62)
            Qt = np.zeros((16, D))
            for r in range(16):
                p = p0 + r
                if p < rows: Qt[r] = q[b, kvh * G + p % G, p // G]
            for split in range(splits):
                kbeg = split * chunk; kend = min(Nk, kbeg + chunk)
                if causal:
                    L = (p_end - 1) // G + diag + 1
                    if L < kend: kend = 0 if L < 0 else L
                ntiles = (kend - kbeg + KT - 1) // KT if kend > kbeg else 0
                st = []
                for warp in range(4):
                    m = np.full(16, NEG); l = np.zeros(16); o = np.zeros((16, D))
                    for it in range(ntiles):
                        kw = kbeg + it * KT + warp * 16
                        if kw >= kend: continue
                        Kt = np.zeros((16, D)); Vt = np.zeros((16, D))
                        nv = max(0, min(16, kend - kw)); Kt[:nv] = k[b, kvh, kw:kw + nv]; Vt[:nv] = v[b, kvh, kw:kw + nv]
                        s = Qt @ Kt.T
                        key = kw + np.arange(16)[None, :]
                        s = np.where((key >= kend) | (causal & (key > lim[:, None])), NEG, s)
                        m, l, o, p = softmax_step(s, m, l, o, sl2)
                        o = o + p @ Vt
                    st.append((m, l, o))
                for r in range(16):
                    p = p0 + r
                    if p >= rows: continue
                    M = max(w[0][r] for w in st)
                    Lsum = 0.0; acc = np.zeros(D)
                    if M != NEG:
                        for (mw, lw, ow) in st:
                            c = 0.0 if mw[r] == NEG else ex2((mw[r] - M) * sl2)
                            Lsum += c * lw[r]; acc += c * ow[r]
                    val = acc / Lsum if Lsum > 0 else np.zeros(D)
                    ls = M * scale + math.log(Lsum) if Lsum > 0 else NEG
                    qh, qi = kvh * G + p % G, p // G
                    if splits == 1:
                        out[b, qh, qi] = val; lse[b, qh, qi] = ls
                    else:
                        grow = (b * Hq + qh) * Nq + qi
                        po[split, grow] = val; pl[split, grow] = ls
    if splits > 1:
        for grow in range(R_total):
            qi = grow % Nq; qh = (grow // Nq) % Hq; b = grow // (Nq * Hq)
            M = pl[:, grow].max(); L = NEG
            if M != NEG: L = M + math.log(np.exp(pl[:, grow] - M).sum())
            w = np.where((pl[:, grow] == NEG) | (L == NEG), 0.0, np.exp(pl[:, grow] - L))
            out[b, qh, qi] = (w[:, None] * np.where(w[:, None] != 0, po[:, grow], 0)).sum(0); lse[b, qh, qi] = L
    return out, lse, splits

def check(name, got, want):
    o, l = got[0], got[1]
    assert not np.isnan(o).any(), name + ": unwritten output"
    assert not np.isnan(l).any(), name + ": unwritten lse"
    err = np.abs(o - want[0]).max() if o.size else 0
    both_inf = np.isinf(l) & np.isinf(want[1])
    lerr = np.abs(np.where(both_inf, 0, l - want[1])).max() if l.size else 0
    assert err < 1e-9 and lerr < 1e-9 and (np.isinf(l) == np.isinf(want[1])).all(), (name, err, lerr)

cases = [(1,1,1,1,1,64,False),(2,4,2,17,33,16,True),(1,2,1,200,150,16,True),(1,1,1,513,515,8,True),
         (1,2,1,9,4,8,True),(1,2,2,65,65,8,False),(1,2,1,4,0,8,False),(2,6,3,129,257,8,True),(1,2,2,300,700,8,True)]
for (B,Hq,Hkv,Nq,Nk,D,causal) in cases:
    q = rng.standard_normal((B,Hq,Nq,D)); k = rng.standard_normal((B,Hkv,Nk,D)); v = rng.standard_normal((B,Hkv,Nk,D))
    ref = reference(q,k,v,0.3,causal)
    for BM,BN in [(128,64),(64,32)]:
        check(f"fwd {B,Hq,Hkv,Nq,Nk,D,causal} {BM}x{BN}", fwd_kernel(q,k,v,0.3,causal,BM,BN), ref)
print("forward control flow ok")
dcases = [(1,32,8,1,700,8,False),(1,4,1,1,4099,8,False),(1,2,1,5,3001,8,True),(2,8,2,3,5000,8,True),
          (1,8,1,4,20000,4,True),(1,16,1,4,1000,8,False),(1,4,4,16,3000,4,False),(1,1,1,17,3000,4,True),
          (1,2,2,1,63,8,True),(1,8,1,8,300,4,True),(1,1,1,64,640,4,True)]
for (B,Hq,Hkv,Nq,Nk,D,causal) in dcases:
    q = rng.standard_normal((B,Hq,Nq,D)); k = rng.standard_normal((B,Hkv,Nk,D)); v = rng.standard_normal((B,Hkv,Nk,D))
    ref = reference(q,k,v,0.3,causal)
    o, l, splits = decode(q,k,v,0.3,causal)
    check(f"decode {B,Hq,Hkv,Nq,Nk,D,causal}", (o,l), ref)
    print(f"  decode B={B} Hq={Hq} Hkv={Hkv} Nq={Nq} Nk={Nk} causal={causal}: {splits} splits ok")
print("splits for 128k keys, 8 kv heads, 32 q heads on 132 SMs:", choose_splits(1, 8, 1, 131072, 132))
