// The BG/NBD model of Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", with the formulas
// of the `lifetimes` library's BetaGeoFitter (golden case G9 in FEATURES.md). Per customer: x = frequency
// (repeat purchases), t_x = recency (time of the last purchase since the first), T = age (time since the
// first purchase), all in one time unit; the parameters (r, α) are the gamma mixing of purchase rates and
// (a, b) the beta mixing of dropout probabilities. Host and device code share these functions (SEGSTREAM_HD).
#pragma once

#include <cmath>

#include "segstream/core/hd.hpp"

namespace segstream::kernels {

struct BgNbdParams {
  double r, alpha, a, b;
};

// log(e^u + e^v) without overflow; e^-inf counts as 0.
SEGSTREAM_HD double bgnbd_logaddexp(double u, double v) {
  const double hi = u > v ? u : v;
  const double lo = u > v ? v : u;
  if (hi == -INFINITY) return hi;
  return hi + std::log1p(std::exp(lo - hi));
}

// One customer's log-likelihood, lifetimes' BetaGeoFitter._negative_log_likelihood term (unweighted), in
// two parts: A1 + A2 depend on x alone, so a fit computes them once per distinct x. The lgamma differences
// are grouped pairwise, so x = 0 gives exactly 0 for them however large a + b grows.
SEGSTREAM_HD double bgnbd_log_likelihood_count_terms(const BgNbdParams& p, double x) {
  const double a1 = (std::lgamma(p.r + x) - std::lgamma(p.r)) + p.r * std::log(p.alpha);
  const double a2 =
      (std::lgamma(p.b + x) - std::lgamma(p.b)) + (std::lgamma(p.a + p.b) - std::lgamma(p.a + p.b + x));
  return a1 + a2;
}

// log(e^A3 + e^A4), just A3 when x == 0, from log(α + t_x), log(α + T) and log_a_b = log(a) − log(b + x − 1):
// a fit computes these once per distinct value rather than per customer.
SEGSTREAM_HD double bgnbd_log_likelihood_time_terms_from_logs(const BgNbdParams& p, double x,
                                                              double log_alpha_t_x, double log_alpha_T,
                                                              double log_a_b) {
  const double a3 = -(p.r + x) * log_alpha_T;
  if (x == 0) return a3;
  return bgnbd_logaddexp(a3, log_a_b - (p.r + x) * log_alpha_t_x);
}

SEGSTREAM_HD double bgnbd_log_likelihood_time_terms(const BgNbdParams& p, double x, double t_x, double T) {
  const double log_a_b = x > 0 ? std::log(p.a) - std::log(p.b + x - 1) : 0.0;
  return bgnbd_log_likelihood_time_terms_from_logs(p, x, std::log(p.alpha + t_x), std::log(p.alpha + T),
                                                   log_a_b);
}

SEGSTREAM_HD double bgnbd_log_likelihood(const BgNbdParams& p, double x, double t_x, double T) {
  return bgnbd_log_likelihood_count_terms(p, x) + bgnbd_log_likelihood_time_terms(p, x, t_x, T);
}

// P(alive | x, t_x, T): lifetimes' conditional_probability_alive, 1 / (1 + e^d) with d its log_div, so a
// long-silent customer gives 0 rather than inf / inf.
// For a customer with no repeat purchase (x = 0) BG/NBD's P(alive) is 1 by construction (it lets a customer
// drop out only after a repeat purchase). The behavioural feature set uses MBG/NBD's value there (Batislam,
// Denizel and Filiztekin 2007, which lets a customer drop out right after the first purchase):
// 1 / (1 + a/b · ((α + T) / (α + t_x))^r), falling with the time since that purchase.
SEGSTREAM_HD double one_time_buyer_p_alive(const BgNbdParams& p, double t_x, double T) {
  const double d = p.r * (std::log(p.alpha + T) - std::log(p.alpha + t_x)) + std::log(p.a) - std::log(p.b);
  if (d > 0) {
    const double e = std::exp(-d);
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + std::exp(d));
}

SEGSTREAM_HD double bgnbd_p_alive(const BgNbdParams& p, double x, double t_x, double T) {
  if (x == 0) return 1.0;
  const double d =
      (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x)) + std::log(p.a) - std::log(p.b + x - 1);
  // 1 / (1 + e^d) = e^-d / (1 + e^-d); take whichever exponent is not positive.
  if (d > 0) {
    const double e = std::exp(-d);
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + std::exp(d));
}

// Gauss' hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 and c > 0 by its power series. Its terms
// fall like k^(a+b-c-1) z^k, so for a + b > c the series runs on Euler's transformation
// 2F1(a, b; c; z) = (1 - z)^(c-a-b) 2F1(c-a, c-b; c; z), whose terms fall like k^(c-a-b-1) z^k: the same
// value (lifetimes switches to it when the direct form overflows), fewer terms.
SEGSTREAM_HD double hyp2f1(double a, double b, double c, double z) {
  if (z == 0) return 1.0;
  double scale = 1.0;
  if (a + b > c) {
    scale = std::pow(1.0 - z, c - a - b);
    const double ea = c - a;
    b = c - b;
    a = ea;
  }
  constexpr int kMaxTerms = 1000000;
  double term = 1.0, sum = 1.0;
  for (int k = 0; k < kMaxTerms; ++k) {
    term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
    sum += term;
    // Stop once the terms no longer grow and are below the last bits of the sum: past k > -a, -b the
    // terms keep one sign, so the tail is about term / (1 - z).
    const bool settled = k + 1 > -a && k + 1 > -b;
    if (settled && std::fabs(term) <= 1e-17 * (1.0 - z) * std::fabs(sum)) break;
    if (term == 0) break;
  }
  return scale * sum;
}

// E[purchases in (T, T + t] | x, t_x, T]: lifetimes' conditional_expected_number_of_purchases_up_to_time.
// The formula needs a != 1 and a + b + x > 1 (hyp2f1's c > 0), as lifetimes' does.
SEGSTREAM_HD double bgnbd_conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x,
                                                         double T) {
  const double ha = p.r + x, hb = p.b + x, hc = p.a + p.b + x - 1;
  const double z = t / (p.alpha + T + t);
  const double ln_hyp = std::log(hyp2f1(ha, hb, hc, z));
  const double first = (p.a + p.b + x - 1) / (p.a - 1);
  const double second = 1 - std::exp(ln_hyp + (p.r + x) * std::log((p.alpha + T) / (p.alpha + t + T)));
  const double odds =
      x > 0 ? p.a / (p.b + x - 1) * std::exp((p.r + x) * std::log((p.alpha + T) / (p.alpha + t_x))) : 0.0;
  return first * second / (1 + odds);
}

}  // namespace segstream::kernels
