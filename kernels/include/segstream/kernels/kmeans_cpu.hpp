// The k-means half of the compute contract on the CPU (OpenMP): assign a block of rows to their nearest
// centres, and accumulate exact per-cluster sums. The oracle the CUDA backend is tested against.
#pragma once

#include <cstdint>
#include <vector>

namespace segstream::kernels::cpu {

// labels[i], distance2[i] and (when not null) margin[i] = second-best minus best squared distance
// (infinity when k = 1) for rows x[i·d .. i·d + d) of a row-major block. Returns Σ w_i·distance2_i in double
// (w = 1 when weights is null), summed as kernels/kmeans.hpp's kInertiaRows says, so the total does not
// depend on `threads`.
double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin, int threads);

#if defined(__CUDACC__)
using WideSum = __int128;  // nvcc's front end takes no __extension__ here
#else
__extension__ using WideSum = __int128;  // GCC and Clang; quiet under -Wpedantic
#endif

// Per-cluster Σ w·x, Σ w and counts in integer fixed point (kernels/kmeans.hpp): the same bits for any order
// of the rows, threads or blocks. Merge partial sums with add().
class ClusterSums {
 public:
  using Wide = WideSum;
  ClusterSums() = default;
  ClusterSums(int k, int d) { reset(k, d); }
  void reset(int k, int d);
  int k() const { return k_; }
  int d() const { return d_; }
  void add(const ClusterSums& other);
  double sum(int c, int j) const;  // Σ w·x_j over the rows of cluster c
  double weight(int c) const;      // Σ w over the rows of cluster c
  std::uint64_t count(int c) const { return counts_[static_cast<std::size_t>(c)]; }
  // Adds fixed-point partial sums computed elsewhere (a device): k × d sums, k weights, k counts.
  void add_raw(const Wide* sums, const Wide* weights, const std::uint64_t* counts);
  // Adds rows with their labels; weights null means 1.
  void accumulate(const float* x, std::uint64_t rows, const std::int32_t* labels, const float* weights,
                  int threads);
  // Adds only the weights and counts of rows with their labels (the sums stay as they are).
  void tally(std::uint64_t rows, const std::int32_t* labels, const float* weights);

 private:
  int k_ = 0, d_ = 0;
  std::vector<Wide> sums_, weights_;
  std::vector<std::uint64_t> counts_;
};

}  // namespace segstream::kernels::cpu
