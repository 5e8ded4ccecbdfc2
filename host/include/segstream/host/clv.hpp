// Spend per purchase: the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves
// for Customer Base Analysis") with the formulas of the `lifetimes` library's GammaGammaFitter. With BG/NBD's
// expected purchases (kernels/bgnbd.hpp) it gives a customer's expected value in a coming period.
#pragma once

#include <cstdint>
#include <span>

namespace segstream::host {

struct GammaGammaParams {
  double p, q, v;
};

struct GammaGammaFit {
  GammaGammaParams params;
  double log_likelihood;    // Σ over the customers fitted, without the penalty
  std::uint64_t customers;  // customers fitted (those with a repeat purchase and a positive spend)
  std::uint64_t sampled;    // of them, the rows the likelihood was summed over (all up to 2^20)
  int iterations;
};

// Fits the spend model to customers' repeat purchases x and their mean value m (lifetimes' frequency and
// monetary_value): customers with x > 0 and m > 0 only, as lifetimes' examples filter them. Above 2^20 such
// customers the likelihood is summed over a uniform sample of 2^20 of them (row i is in it when mix64(i)
// falls below the share), which moves the parameters by far less than their standard errors. Minimises the
// mean negative log-likelihood plus penalizer · (p² + q² + v²) over log parameters by Nelder–Mead.
// InputError when a value is not finite or negative, when fewer than two customers qualify, or when the fit
// does not converge.
GammaGammaFit fit_gamma_gamma(std::span<const double> x, std::span<const double> m, double penalizer = 0);

// E[spend per purchase | x, m]: p (v + x m) / (p x + q − 1), the population mean p v / (q − 1) when x = 0
// (lifetimes' conditional_expected_average_profit). Needs q > 1.
double gamma_gamma_expected_spend(const GammaGammaParams& g, double x, double m);

}  // namespace segstream::host
