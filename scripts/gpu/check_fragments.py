#!/usr/bin/env python3
# No GPU needed (numpy only). Models ldmatrix / mma.m16n8k16 by the PTX ISA fragment tables and
# runs the address formulas copied from cpp/cuda/forward.cuh and decode.cu over the swizzled
# shared-memory tiles, checking S = QK^T and O = PV per warp and the ldmatrix bank phases.
# Keep the formulas in step with the kernels when they change.
import numpy as np
rng = np.random.default_rng(1)

def swz(DP, row, col):
    return row * DP + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7)

def store_tile(R, DP, M):          # M: R x DP logical -> flat swizzled smem
    s = np.full(R * DP, np.nan)
    for r in range(R):
        for c in range(DP):
            s[swz(DP, r, c)] = M[r, c]
    assert not np.isnan(s).any()
    return s

def ldmatrix_x4(smem, addrs, trans=False):
    # addrs[lane] = element index of the row start provided by that lane
    regs = [[None]*4 for _ in range(32)]
    for i in range(4):
        M = np.array([smem[addrs[8*i + j]: addrs[8*i + j] + 8] for j in range(8)])  # 8x8
        # rows must be contiguous 16 bytes: check the 8 elements are one swizzled chunk
        for l in range(32):
            r, c = l // 4, 2 * (l % 4)
            regs[l][i] = (M[c, r], M[c + 1, r]) if trans else (M[r, c], M[r, c + 1])
    return regs

def mma(C, A, B0, B1):
    # C[lane] 4 floats, A[lane] 4 pairs, B0/B1[lane] pairs
    Am = np.zeros((16, 16)); Bm = np.zeros((16, 8))
    for l in range(32):
        g, t = l // 4, l % 4
        a = A[l]
        Am[g, 2*t:2*t+2] = a[0]; Am[g+8, 2*t:2*t+2] = a[1]
        Am[g, 2*t+8:2*t+10] = a[2]; Am[g+8, 2*t+8:2*t+10] = a[3]
        Bm[2*t:2*t+2, g] = B0[l]; Bm[2*t+8:2*t+10, g] = B1[l]
    D = Am @ Bm
    for l in range(32):
        g, t = l // 4, l % 4
        C[l][0] += D[g, 2*t]; C[l][1] += D[g, 2*t+1]; C[l][2] += D[g+8, 2*t]; C[l][3] += D[g+8, 2*t+1]

def check_contig(addrs, DP):
    # each ldmatrix row address must start an aligned 8-element chunk
    for a in addrs: assert a % 8 == 0

def forward_warp(DP, BN, warp, Q, K, V):
    # Q: (nwarps*16) x DP; K, V: BN x DP. Returns S (16 x BN) and O (16 x DP) as the kernel's
    # register fragments would hold them (P = S here, no softmax, to test the index math).
    sQ = store_tile(Q.shape[0], DP, Q); sK = store_tile(BN, DP, K); sV = store_tile(BN, DP, V)
    KST = DP // 16
    qf = []
    for kk in range(KST):
        addrs = [swz(DP, warp*16 + (l & 15), kk*16 + (l >> 4)*8) for l in range(32)]
        check_contig(addrs, DP); qf.append(ldmatrix_x4(sQ, addrs))
    s = [[[0.0]*4 for _ in range(32)] for _ in range(BN // 8)]
    for kk in range(KST):
        for np_ in range(BN // 16):
            addrs = [swz(DP, np_*16 + (l & 7) + ((l >> 4) << 3), kk*16 + ((l >> 3) & 1)*8) for l in range(32)]
            check_contig(addrs, DP)
            kb = ldmatrix_x4(sK, addrs)
            mma(s[2*np_], qf[kk], [kb[l][0] for l in range(32)], [kb[l][1] for l in range(32)])
            mma(s[2*np_+1], qf[kk], [kb[l][2] for l in range(32)], [kb[l][3] for l in range(32)])
    S = np.zeros((16, BN))
    for nt in range(BN // 8):
        for l in range(32):
            g, t = l // 4, l % 4
            S[g, nt*8+2*t] = s[nt][l][0]; S[g, nt*8+2*t+1] = s[nt][l][1]
            S[g+8, nt*8+2*t] = s[nt][l][2]; S[g+8, nt*8+2*t+1] = s[nt][l][3]
    o = [[[0.0]*4 for _ in range(32)] for _ in range(DP // 8)]
    for kk in range(BN // 16):
        pa = [((s[2*kk][l][0], s[2*kk][l][1]), (s[2*kk][l][2], s[2*kk][l][3]),
               (s[2*kk+1][l][0], s[2*kk+1][l][1]), (s[2*kk+1][l][2], s[2*kk+1][l][3])) for l in range(32)]
        for dp in range(DP // 16):
            addrs = [swz(DP, kk*16 + (l & 7) + ((l >> 3) & 1)*8, dp*16 + (l >> 4)*8) for l in range(32)]
            check_contig(addrs, DP)
            vb = ldmatrix_x4(sV, addrs, trans=True)
            mma(o[2*dp], pa, [vb[l][0] for l in range(32)], [vb[l][1] for l in range(32)])
            mma(o[2*dp+1], pa, [vb[l][2] for l in range(32)], [vb[l][3] for l in range(32)])
    O = np.zeros((16, DP))
    for dt in range(DP // 8):
        for l in range(32):
            g, t = l // 4, l % 4
            O[g, dt*8+2*t] = o[dt][l][0]; O[g, dt*8+2*t+1] = o[dt][l][1]
            O[g+8, dt*8+2*t] = o[dt][l][2]; O[g+8, dt*8+2*t+1] = o[dt][l][3]
    return S, O

def bank_conflicts(DP, addr_fn):
    # worst number of distinct 16-byte chunk slots (mod 128 B) hit by one 8-lane phase
    worst = 1
    for ph in range(4):
        banks = [((addr_fn(l) * 2) % 128) // 16 for l in range(8*ph, 8*ph + 8)]
        worst = max(worst, 8 - len(set(banks)) + 1)
    return worst

for DP, BN, nw in [(64, 64, 8), (128, 64, 8), (256, 32, 4)]:
    Q = rng.standard_normal((nw*16, DP)); K = rng.standard_normal((BN, DP)); V = rng.standard_normal((BN, DP))
    for warp in (0, nw - 1):
        S, O = forward_warp(DP, BN, warp, Q, K, V)
        Sref = Q[warp*16:warp*16+16] @ K.T
        assert np.allclose(S, Sref), (DP, BN, warp)
        assert np.allclose(O, Sref @ V), (DP, BN, warp)
    # bank-conflict check of the three ldmatrix patterns
    bq = bank_conflicts(DP, lambda l: swz(DP, (l & 15), 16 + (l >> 4)*8))
    bk = bank_conflicts(DP, lambda l: swz(DP, 16 + (l & 7) + ((l >> 4) << 3), 16 + ((l >> 3) & 1)*8))
    bv = bank_conflicts(DP, lambda l: swz(DP, 16 + (l & 7) + ((l >> 3) & 1)*8, 16 + (l >> 4)*8))
    print(f"DP={DP} BN={BN}: S and O fragments match numpy; ldmatrix phase conflicts q/k/v = {bq}/{bk}/{bv}-way")

# decode: the warp's 16-key slice at rows warp*16.. of a 64-key stage (cK offset by warp*16*D)
for D in (64, 128):
    Q = rng.standard_normal((16, D)); K = rng.standard_normal((64, D)); V = rng.standard_normal((64, D))
    sK = store_tile(64, D, K)
    for warp in range(4):
        base = warp * 16 * D
        # kernel: cK + swz<D>(local_row, col) -- must equal swz<D>(warp*16 + local_row, col)
        for r in range(16):
            for c in range(D):
                assert base + swz(D, r, c) == swz(D, warp*16 + r, c)
    print(f"decode D={D}: per-warp base offset keeps the swizzle")
print("ok")
