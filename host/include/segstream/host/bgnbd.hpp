// Maximum-likelihood fit of the BG/NBD model (kernels/bgnbd.hpp) as the `lifetimes` library's
// BetaGeoFitter does it (golden case G9 in FEATURES.md).
//
// Like lifetimes, the fit divides times by max(T) / 10 (alpha is scaled back afterwards) and minimises the
// weighted mean negative log-likelihood over the logs of (r, α, a, b), plus penalizer · Σ params² on the
// scaled parameters. Equal (x, t_x, T) rows are merged into weighted unique rows first, so the cost of an
// evaluation grows with the distinct rows rather than the customers. The optimiser is Nelder–Mead from
// all parameters 1, restarted at its optimum until a restart gains less than 1e-12: deterministic, and
// independent of the input order and the number of threads.
#pragma once

#include <cstdint>
#include <span>

#include "segstream/kernels/bgnbd.hpp"

namespace segstream::host {

struct BgNbdFit {
  kernels::BgNbdParams params;  // in the input's time unit
  double log_likelihood;        // Σ over customers, in the input's time unit, without the penalty
  std::uint64_t customers;
  int iterations;  // Nelder–Mead iterations over all restarts
};

// Fits frequency x, recency t_x and age T of n customers. UsageError when the spans differ in length or
// are empty, or the penalizer is negative; InputError naming the row when a value is not finite, x is
// negative or not a whole number, t_x is negative, T < t_x, or t_x != 0 with x == 0 (lifetimes' checks),
// and when the optimiser does not converge.
BgNbdFit fit_bgnbd(std::span<const double> x, std::span<const double> t_x, std::span<const double> T,
                   double penalizer = 0);

}  // namespace segstream::host
