#include "passes.hpp"

#include <algorithm>

namespace segstream::host::detail {

const float* rows_of(const RowSource& src, std::uint64_t start, std::uint64_t n, std::vector<float>& block) {
  if (const float* v = src.view(start, n)) return v;
  block.resize(n * static_cast<std::uint64_t>(src.d()));
  src.read(start, n, block.data());
  return block.data();
}

Pass full_pass(PassRunner& runner, const RowSource& src, const std::vector<float>& centres, int k,
               std::size_t keep_far, kernels::Accumulate accumulate, bool per_cluster) {
  const int d = src.d();
  Pass p;
  p.sums.reset(k, d);
  if (per_cluster) {
    p.error.assign(static_cast<std::size_t>(k), 0.0);
    p.utility.assign(static_cast<std::size_t>(k), 0.0);
  }
  auto before = [](const Pass::Far& a, const Pass::Far& b) {
    if ((a.weight > 0) != (b.weight > 0)) return a.weight > 0;
    return a.distance2 != b.distance2 ? a.distance2 > b.distance2 : a.row < b.row;
  };
  const float* weights = src.weights();
  p.inertia = runner.run(
      src, centres.data(), {per_cluster, accumulate, false}, &p.sums,
      [&](std::uint64_t start, std::uint64_t n, const kernels::BlockPipeline::Slot& slot, const float*) {
        for (std::uint64_t i = 0; i < n && per_cluster; ++i) {
          const double w = weights != nullptr ? weights[start + i] : 1.0;
          const auto c = static_cast<std::size_t>(slot.labels[i]);
          p.error[c] += w * slot.distance2[i];
          p.utility[c] += w * slot.margin[i];
        }
        // The block's rows, by label and distance, for the empty clusters to take.
        for (std::uint64_t i = 0; i < n && keep_far > 0; ++i) {
          Pass::Far f{slot.distance2[i],
                      start + i,
                      slot.labels[i],
                      weights != nullptr ? weights[start + i] : 1.0f,
                      {}};
          if (p.farthest.size() == keep_far && !before(f, p.farthest.back())) continue;
          p.farthest.insert(std::upper_bound(p.farthest.begin(), p.farthest.end(), f, before), std::move(f));
          if (p.farthest.size() > keep_far) p.farthest.pop_back();
        }
      });
  for (Pass::Far& f : p.farthest) {
    f.x.resize(static_cast<std::size_t>(d));
    src.read(f.row, 1, f.x.data());
  }
  return p;
}

std::vector<float> lloyd_centres(const Pass& p, const std::vector<float>& centres, int k, int d) {
  const auto dd = static_cast<std::size_t>(d);
  std::vector<double> sum(centres.size()), weight(static_cast<std::size_t>(k));
  std::vector<int> empty;
  for (int c = 0; c < k; ++c) {
    const auto cc = static_cast<std::size_t>(c);
    weight[cc] = p.sums.weight(c);
    if (weight[cc] <= 0) empty.push_back(c);
    for (int j = 0; j < d; ++j) sum[cc * dd + static_cast<std::size_t>(j)] = p.sums.sum(c, j);
  }
  for (std::size_t e = 0; e < empty.size() && e < p.farthest.size(); ++e) {
    const Pass::Far& f = p.farthest[e];
    const auto old = static_cast<std::size_t>(f.label);
    const auto to = static_cast<std::size_t>(empty[e]);
    for (std::size_t j = 0; j < dd; ++j) {
      sum[old * dd + j] -= static_cast<double>(f.weight) * f.x[j];
      sum[to * dd + j] = static_cast<double>(f.weight) * f.x[j];
    }
    weight[old] -= f.weight;
    weight[to] = f.weight;
  }
  std::vector<float> next(centres.size());
  for (std::size_t c = 0; c < static_cast<std::size_t>(k); ++c)
    for (std::size_t j = 0; j < dd; ++j)
      next[c * dd + j] =
          weight[c] > 0 ? static_cast<float>(sum[c * dd + j] / weight[c]) : centres[c * dd + j];
  return next;
}

double mean_variance(const RowSource& src) {
  const int d = src.d();
  std::vector<double> mean(static_cast<std::size_t>(d), 0), m2(static_cast<std::size_t>(d), 0);
  std::vector<float> block;
  double wsum = 0;
  for (std::uint64_t start = 0; start < src.rows(); start += kPassRows) {
    throw_if_interrupted();
    const std::uint64_t n = std::min(kPassRows, src.rows() - start);
    const float* rows = rows_of(src, start, n, block);
    for (std::uint64_t i = 0; i < n; ++i) {  // Welford, in row order
      const double w = src.weights() != nullptr ? src.weights()[start + i] : 1.0;
      if (w <= 0) continue;
      wsum += w;
      for (int j = 0; j < d; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        const double v = rows[i * static_cast<std::uint64_t>(d) + jj];
        const double delta = v - mean[jj];
        mean[jj] += delta * w / wsum;
        m2[jj] += w * delta * (v - mean[jj]);
      }
    }
  }
  double s = 0;
  for (double v : m2) s += v / wsum;
  return s / d;
}

}  // namespace segstream::host::detail
