// --k auto (kmeans.hpp): the jump method on a uniform sample.
#include <algorithm>
#include <cmath>
#include <limits>

#include "passes.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/kmeans.hpp"

namespace segstream::host {
namespace {

constexpr std::uint64_t kSampleSalt = 6;

// The participation ratio (Σλ)² / Σλ² of the weighted covariance's eigenvalues (Jacobi rotations: d is a
// few dozen columns at most).
double effective_dimension(const std::vector<float>& x, const std::vector<float>& w, int d) {
  const auto dd = static_cast<std::size_t>(d);
  const std::size_t n = w.size();
  std::vector<double> mean(dd, 0.0), cov(dd * dd, 0.0);
  double wsum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    wsum += w[i];
    for (std::size_t j = 0; j < dd; ++j) mean[j] += static_cast<double>(w[i]) * x[i * dd + j];
  }
  if (wsum <= 0) return 1;
  for (double& m : mean) m /= wsum;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < dd; ++a) {
      const double va = x[i * dd + a] - mean[a];
      for (std::size_t b = a; b < dd; ++b)
        cov[a * dd + b] += static_cast<double>(w[i]) * va * (x[i * dd + b] - mean[b]);
    }
  for (std::size_t a = 0; a < dd; ++a)
    for (std::size_t b = a; b < dd; ++b) cov[b * dd + a] = cov[a * dd + b] /= wsum;
  // Cyclic Jacobi sweeps until the off-diagonal mass is negligible.
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (std::size_t a = 0; a < dd; ++a)
      for (std::size_t b = 0; b < dd; ++b) (a == b ? diag : off) += cov[a * dd + b] * cov[a * dd + b];
    if (off <= 1e-24 * diag) break;
    for (std::size_t p = 0; p < dd; ++p)
      for (std::size_t q = p + 1; q < dd; ++q) {
        const double apq = cov[p * dd + q];
        if (std::fabs(apq) < 1e-300) continue;
        const double theta = (cov[q * dd + q] - cov[p * dd + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t r = 0; r < dd; ++r) {  // columns p and q
          const double rp = cov[r * dd + p], rq = cov[r * dd + q];
          cov[r * dd + p] = c * rp - s * rq;
          cov[r * dd + q] = s * rp + c * rq;
        }
        for (std::size_t r = 0; r < dd; ++r) {  // rows p and q
          const double pr = cov[p * dd + r], qr = cov[q * dd + r];
          cov[p * dd + r] = c * pr - s * qr;
          cov[q * dd + r] = s * pr + c * qr;
        }
      }
  }
  double sum = 0, sum2 = 0;
  for (std::size_t a = 0; a < dd; ++a) {
    const double l = std::max(cov[a * dd + a], 0.0);
    sum += l;
    sum2 += l * l;
  }
  return sum2 > 0 ? sum * sum / sum2 : 1;
}

}  // namespace

KSelection choose_k(const RowSource& rows, const KMeansConfig& config, int k_min, int k_max,
                    kernels::Backend& backend, std::uint64_t sample_rows) {
  SEGSTREAM_EXPECTS(k_min >= 1 && k_max >= k_min, "--k-range must be LO-HI with 1 ≤ LO ≤ HI (got {}-{})",
                    k_min, k_max);
  SEGSTREAM_EXPECTS(static_cast<std::uint64_t>(k_max) <= rows.rows(),
                    "--k auto tries up to {} segments but there are only {} rows", k_max, rows.rows());
  const int d = rows.d();
  KSelection sel;
  sel.k_min = k_min;
  sel.k_max = k_max;
  std::vector<float> w;
  std::vector<float> x =
      uniform_sample(rows, std::min(sample_rows, rows.rows()), config.seed, kSampleSalt, &w);
  sel.sample_rows = w.size();
  const MemoryRows sample(x.data(), sel.sample_rows, d, rows.weights() != nullptr ? w.data() : nullptr);
  sel.effective_dims = effective_dimension(x, w, d);
  double wsum = 0;
  for (float v : w) wsum += v;
  const double per = wsum * d;
  // Distortions from k_min − 1 (k = 0 counts as d^−Y = 0; k = 1 is the total scatter).
  std::vector<double> distortion;
  std::vector<double> inertia;
  for (int k = std::max(1, k_min - 1); k <= k_max; ++k) {
    throw_if_interrupted();
    KMeansConfig c = config;
    c.k = k;
    c.init = config.init == KMeansInit::kGiven ? KMeansInit::kKMeansPlusPlus : config.init;
    c.init_centres.clear();
    c.init_absorbed.clear();
    const KMeansModel m = fit_kmeans(sample, c, backend);
    inertia.push_back(m.inertia);
    distortion.push_back(m.inertia / per);
  }
  const double y = sel.effective_dims / 2;
  // d^−Y in logs, scaled by the largest term so that no power overflows.
  std::vector<double> log_term;
  log_term.reserve(distortion.size());
  for (double dist : distortion) log_term.push_back(-y * std::log(std::max(dist, 1e-300)));
  const double top = *std::max_element(log_term.begin(), log_term.end());
  auto term = [&](std::size_t i) { return std::exp(log_term[i] - top); };
  const std::size_t first = k_min == 1 ? 0 : 1;  // index of k_min in distortion
  double best = -std::numeric_limits<double>::infinity();
  for (std::size_t i = first; i < distortion.size(); ++i) {
    const int k = std::max(1, k_min - 1) + static_cast<int>(i);
    const double jump = term(i) - (i == 0 ? 0.0 : term(i - 1));
    sel.curve.push_back({k, inertia[i], distortion[i], jump});
    if (jump > best) {
      best = jump;
      sel.chosen = k;
    }
  }
  return sel;
}

}  // namespace segstream::host
