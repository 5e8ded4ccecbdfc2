#include "segstream/kernels/kmeans_cpu.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::cpu {
namespace {
constexpr std::uint64_t kBlockRows = 4096;  // rows per fixed block of the inertia sum

// Squared distances of one row to every centre, the centres transposed (d × k): the additions of
// squared_distance in the same order (j ascending) for each centre, vectorised across the centres, so the
// results are the same bits. Compiled for AVX-512, AVX2 and the baseline, chosen at run time; this file is
// built with -ffp-contract=off so no multiply-add is fused.
__attribute__((target_clones("avx512f", "avx2", "default"))) void distances(const float* x, const float* ct,
                                                                            int k, int d, float* out) {
  for (int c = 0; c < k; ++c) out[c] = 0;
  for (int j = 0; j < d; ++j) {
    const float xj = x[j];
    const float* col = ct + static_cast<std::ptrdiff_t>(j) * k;
    for (int c = 0; c < k; ++c) {
      const float t = xj - col[c];
      out[c] += t * t;
    }
  }
}
}  // namespace

double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin, int threads) {
  const std::uint64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  std::vector<double> block_inertia(blocks, 0.0);
  std::vector<float> ct(static_cast<std::size_t>(k) * static_cast<std::size_t>(d));
  for (int c = 0; c < k; ++c)
    for (int j = 0; j < d; ++j)
      ct[static_cast<std::size_t>(j) * static_cast<std::size_t>(k) + static_cast<std::size_t>(c)] =
          centres[static_cast<std::size_t>(c) * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)];
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> dist(static_cast<std::size_t>(k));
#pragma omp for schedule(static)
    for (std::int64_t bi = 0; bi < static_cast<std::int64_t>(blocks); ++bi) {
      const auto b = static_cast<std::uint64_t>(bi);
      const std::uint64_t end = std::min(rows, (b + 1) * kBlockRows);
      double s = 0;
      for (std::uint64_t i = b * kBlockRows; i < end; ++i) {
        distances(x + i * static_cast<std::uint64_t>(d), ct.data(), k, d, dist.data());
        Nearest n;  // nearest_centre's choice: ties go to the smallest index
        for (int c = 0; c < k; ++c) n.offer(c, dist[static_cast<std::size_t>(c)]);
        labels[i] = n.label;
        distance2[i] = n.distance2;
        if (margin != nullptr) margin[i] = n.second2 - n.distance2;
        s += static_cast<double>(n.distance2) * (weights != nullptr ? static_cast<double>(weights[i]) : 1.0);
      }
      block_inertia[b] = s;
    }
  }
  double total = 0;
  for (double v : block_inertia) total += v;
  return total;
}

void ClusterSums::reset(int k, int d) {
  k_ = k;
  d_ = d;
  sums_.assign(static_cast<std::size_t>(k) * static_cast<std::size_t>(d), 0);
  weights_.assign(static_cast<std::size_t>(k), 0);
  counts_.assign(static_cast<std::size_t>(k), 0);
}

void ClusterSums::add(const ClusterSums& o) {
  for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += o.sums_[i];
  for (std::size_t c = 0; c < weights_.size(); ++c) {
    weights_[c] += o.weights_[c];
    counts_[c] += o.counts_[c];
  }
}

void ClusterSums::add_raw(const Wide* sums, const Wide* weights, const std::uint64_t* counts) {
  for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += sums[i];
  for (std::size_t c = 0; c < weights_.size(); ++c) {
    weights_[c] += weights[c];
    counts_[c] += counts[c];
  }
}

double ClusterSums::sum(int c, int j) const {
  return static_cast<double>(sums_[static_cast<std::size_t>(c) * static_cast<std::size_t>(d_) +
                                   static_cast<std::size_t>(j)]) /
         kFixedScale;
}

double ClusterSums::weight(int c) const {
  return static_cast<double>(weights_[static_cast<std::size_t>(c)]) / kFixedScale;
}

void ClusterSums::accumulate(const float* x, std::uint64_t rows, const std::int32_t* labels,
                             const float* weights, int threads) {
  const int nthreads =
      std::max(1, std::min<int>(threads, static_cast<int>((rows + kBlockRows - 1) / kBlockRows)));
  std::vector<ClusterSums> partial(static_cast<std::size_t>(nthreads), ClusterSums(k_, d_));
#pragma omp parallel num_threads(nthreads)
  {
    ClusterSums& p = partial[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(rows); ++ii) {
      const auto i = static_cast<std::uint64_t>(ii);
      const auto c = static_cast<std::size_t>(labels[i]);
      const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
      const float* row = x + i * static_cast<std::uint64_t>(d_);
      Wide* s = p.sums_.data() + c * static_cast<std::size_t>(d_);
      for (int j = 0; j < d_; ++j) s[j] += to_fixed(w * static_cast<double>(row[j]));
      p.weights_[c] += to_fixed(w);
      ++p.counts_[c];
    }
  }
  for (const ClusterSums& p : partial) add(p);
}

}  // namespace segstream::kernels::cpu
