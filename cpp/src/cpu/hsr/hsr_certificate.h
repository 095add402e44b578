// The softmax certificate: a proven upper bound on the probability mass of the keys a row
// leaves out, and on the output error this causes.
//
// Per row (log2 units, m the running max of computed scaled scores):
//   kept mass   S >= S_low = Sd·(1 − kappa)·2^-err   (Sd: the computed sum of 2^(x − m))
//   dropped     D <= R = Σ_{unvisited b} n_b·2^(c·U_b − m)
//   p_D = D/(S + D) <= R/(S_low + R), and a row stops only when that is <= eps.
// kappa covers the float sums and err the float scores (dot_err) and exp2 rounding. Blocks
// are bucketed by 2^(c·(U_b − U_max)) (one bucket per factor of 2), whose suffix sums give R
// for "everything below level L" in O(1).
// The error bound: o − ô = Σ_{dropped b} P_b·(μ_b − ô) with P_b <= R_b/S_low and μ_b inside
// the block's value range, so |o_d − ô_d| <= Σ_b R_b/S_low · max(vmax_b,d − ô_d, ô_d − vmin_b,d).
#pragma once
#include <cstdint>

#include "cpu/hsr/hsr_state.h"

namespace ha::cpu::hsr::detail {

struct Cert {
    double a;      // log2 of the prefactor 2^(c·Umax − m), rounded up
    double s_low;  // certified lower bound of the kept mass (relative to 2^m)
};

Cert certificate(const Context& cx, const Unit& u, int r);

// True when the mass of everything at levels >= L is certified to be <= eps (with a margin
// for the final rounding to float).
bool certified_at(const Context& cx, const Unit& u, int r, int L, const Cert& ct, int64_t nb);

// Σ mass over the blocks row r has not visited, rounded up.
double unvisited_mass(const Unit& u, int r, int64_t nb);

// Certified bound on max_d |o_d − ô_d| for the normalised output o of row r, given the
// unvisited mass dropped_sum.
double error_bound(const Context& cx, const Unit& u, int r, const float* o, const Cert& ct,
                   double dropped_sum);

}  // namespace ha::cpu::hsr::detail
