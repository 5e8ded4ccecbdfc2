// Per-cluster Σ w·x, Σ w and row counts in integer fixed point (kernels/kmeans.hpp's to_fixed), the result
// every backend's accumulation produces: the same bits for any order of the rows, threads, blocks or
// devices, since integer addition is exact. Partial sums merge with add(). Host memory; the backends fill
// the raw accumulators (a CUDA backend copies its device sums in with add_raw).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels {

#if defined(__CUDACC__)
using WideSum = __int128;  // nvcc's front end takes no __extension__ here
#else
__extension__ using WideSum = __int128;  // GCC and Clang; quiet under -Wpedantic
#endif

class ClusterSums {
 public:
  using Wide = WideSum;
  ClusterSums() = default;
  ClusterSums(int k, int d) { reset(k, d); }

  // k clusters of d columns, all sums zero.
  void reset(int k, int d) {
    k_ = k;
    d_ = d;
    sums_.assign(static_cast<std::size_t>(k) * static_cast<std::size_t>(d), 0);
    weights_.assign(static_cast<std::size_t>(k), 0);
    counts_.assign(static_cast<std::size_t>(k), 0);
  }
  int k() const { return k_; }
  int d() const { return d_; }

  double sum(int c, int j) const {  // Σ w·x_j over the rows of cluster c
    return static_cast<double>(sums_[static_cast<std::size_t>(c) * static_cast<std::size_t>(d_) +
                                     static_cast<std::size_t>(j)]) /
           kFixedScale;
  }
  double weight(int c) const {  // Σ w over the rows of cluster c
    return static_cast<double>(weights_[static_cast<std::size_t>(c)]) / kFixedScale;
  }
  std::uint64_t count(int c) const { return counts_[static_cast<std::size_t>(c)]; }

  void add(const ClusterSums& other) {
    add_raw(other.sums_.data(), other.weights_.data(), other.counts_.data());
  }
  // Adds fixed-point partial sums computed elsewhere: k × d sums, k weights, k counts.
  void add_raw(const Wide* sums, const Wide* weights, const std::uint64_t* counts) {
    for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += sums[i];
    for (std::size_t c = 0; c < weights_.size(); ++c) {
      weights_[c] += weights[c];
      counts_[c] += counts[c];
    }
  }

  // The raw accumulators, for a backend's accumulation: sums (k × d, row-major), weights (k), counts (k).
  Wide* raw_sums() { return sums_.data(); }
  Wide* raw_weights() { return weights_.data(); }
  std::uint64_t* raw_counts() { return counts_.data(); }

 private:
  int k_ = 0, d_ = 0;
  std::vector<Wide> sums_, weights_;
  std::vector<std::uint64_t> counts_;
};

}  // namespace segstream::kernels
