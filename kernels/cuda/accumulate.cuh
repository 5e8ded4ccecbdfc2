// The CUDA cluster-sum kernels (accumulate.cu), launched by the pipeline (not installed).
//
// Per-cluster Σ w·x, Σ w and counts in the fixed point of kernels/kmeans.hpp, added as 128-bit values with
// two 64-bit atomics per value (the low word, then its carry into the high word): exact in any order, so
// the result is the CPU backend's cluster_sums.hpp bits whatever the scheduling.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace segstream::kernels::cuda {

// 64-bit words of the device sums of k clusters of d columns: k·d and k 128-bit values (sums, then
// weights), then k counts.
inline std::size_t sum_words(int k, int d) {
  return 2 * static_cast<std::size_t>(k) * static_cast<std::size_t>(d) + 3 * static_cast<std::size_t>(k);
}

// Adds rows (device, n × d) under their labels to `sums` (device, sum_words(k, d) words), with weights (null:
// all 1); with values false only the weights and counts. `multiprocessors` sizes the grid of the
// shared-memory kernel.
void launch_accumulate(const float* rows, std::uint64_t n, int d, int k, const std::int32_t* labels,
                       const float* weights, bool values, unsigned long long* sums, int multiprocessors,
                       cudaStream_t stream);

}  // namespace segstream::kernels::cuda
