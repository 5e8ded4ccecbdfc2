#include "segstream/host/clv.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "nelder_mead.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::host {
namespace {

constexpr std::uint64_t kMaxFitRows = std::uint64_t{1} << 20;
constexpr std::size_t kBlock = 65536;

struct SpendRows {
  std::vector<double> x, log_m, m;
};

// Σ of one customer's log-likelihood over the rows (lifetimes' GammaGammaFitter._negative_log_likelihood
// term, negated), in fixed blocks summed in order: the same value for any thread count.
double spend_log_likelihood(const SpendRows& rows, const GammaGammaParams& g) {
  const std::size_t n = rows.x.size();
  const auto blocks = static_cast<std::int64_t>((n + kBlock - 1) / kBlock);
  std::vector<double> partial(static_cast<std::size_t>(blocks), 0.0);
  const double lgamma_q = std::lgamma(g.q), q_log_v = g.q * std::log(g.v);
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * kBlock, end = std::min(n, begin + kBlock);
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const double x = rows.x[i], px = g.p * x;
      sum += std::lgamma(px + g.q) - std::lgamma(px) - lgamma_q + q_log_v + (px - 1) * rows.log_m[i] +
             px * std::log(x) - (px + g.q) * std::log(x * rows.m[i] + g.v);
    }
    partial[static_cast<std::size_t>(b)] = sum;
  }
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

GammaGammaParams params_of(const std::array<double, 3>& log_params) {
  return {std::exp(log_params[0]), std::exp(log_params[1]), std::exp(log_params[2])};
}

}  // namespace

GammaGammaFit fit_gamma_gamma(std::span<const double> x, std::span<const double> m, double penalizer) {
  SEGSTREAM_EXPECTS(x.size() == m.size(), "Gamma-Gamma needs one frequency and spend per customer ({}, {})",
                    x.size(), m.size());
  SEGSTREAM_EXPECTS(std::isfinite(penalizer) && penalizer >= 0,
                    "Gamma-Gamma penalizer {} must be finite and >= 0", penalizer);
  std::uint64_t qualifying = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    SEGSTREAM_CHECK_INPUT(std::isfinite(x[i]) && x[i] >= 0 && std::isfinite(m[i]) && m[i] >= 0,
                          "Gamma-Gamma row {}: frequency {} and spend {} must be finite and >= 0", i, x[i],
                          m[i]);
    if (x[i] > 0 && m[i] > 0) ++qualifying;
  }
  SEGSTREAM_CHECK_INPUT(qualifying >= 2,
                        "Gamma-Gamma needs at least two customers with a repeat purchase and a positive "
                        "spend, found {}",
                        qualifying);
  // Every qualifying row, or a uniform sample of about kMaxFitRows of them.
  const double share =
      qualifying > kMaxFitRows ? static_cast<double>(kMaxFitRows) / static_cast<double>(qualifying) : 1.0;
  const auto threshold = share >= 1.0 ? std::numeric_limits<std::uint64_t>::max()
                                      : static_cast<std::uint64_t>(share * 18446744073709551616.0);
  SpendRows rows;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] > 0 && m[i] > 0)) continue;
    if (share < 1.0 && mix64(static_cast<std::uint64_t>(i)) >= threshold) continue;
    rows.x.push_back(x[i]);
    rows.m.push_back(m[i]);
    rows.log_m.push_back(std::log(m[i]));
  }
  const auto n = static_cast<double>(rows.x.size());
  const auto objective = [&](const std::array<double, 3>& log_params) {
    const GammaGammaParams g = params_of(log_params);
    const double f = -spend_log_likelihood(rows, g) / n + penalizer * (g.p * g.p + g.q * g.q + g.v * g.v);
    return std::isfinite(f) ? f : std::numeric_limits<double>::infinity();
  };
  // As the BG/NBD fit: restarts from the best point until one gains less than 1e-12.
  constexpr int kMaxIterations = 20000, kMaxRuns = 50;
  detail::Minimum<3> best = detail::nelder_mead<3>(objective, std::array<double, 3>{}, 1.0, kMaxIterations);
  int iterations = best.iterations;
  bool settled = false;
  for (int run = 1; run < kMaxRuns && !settled; ++run) {
    const detail::Minimum<3> next = detail::nelder_mead<3>(objective, best.x, 0.1, kMaxIterations);
    iterations += next.iterations;
    const double gain = best.f - next.f;
    settled = next.converged ? gain < 1e-12 : gain < 1e-12 * std::max(1.0, std::fabs(best.f));
    if (next.f <= best.f) best = next;
  }
  SEGSTREAM_CHECK_INPUT(settled && std::isfinite(best.f),
                        "Gamma-Gamma fit of {} customers did not converge in {} Nelder-Mead iterations",
                        rows.x.size(), iterations);
  GammaGammaFit fit{};
  fit.params = params_of(best.x);
  fit.log_likelihood = spend_log_likelihood(rows, fit.params);
  fit.customers = qualifying;
  fit.sampled = rows.x.size();
  fit.iterations = iterations;
  return fit;
}

double gamma_gamma_expected_spend(const GammaGammaParams& g, double x, double m) {
  if (x <= 0) return g.p * g.v / (g.q - 1);
  return g.p * (g.v + x * m) / (g.p * x + g.q - 1);
}

}  // namespace segstream::host
