// The k-means half of the compute contract on a CUDA device: the same results as kernels/kmeans_cpu.hpp
// (labels, squared distances and margins bit for bit, the inertia summed in the same order, cluster sums
// in the same fixed point), for blocks of rows copied from the host. Declared without CUDA types; defined
// when SEGSTREAM_HAVE_CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include "segstream/kernels/kmeans_cpu.hpp"

namespace segstream::kernels::cuda {

// As cpu::assign: labels, distance2 and (when not null) margin of `rows` rows; returns Σ w·distance2 summed
// in row order per run of kInertiaRows rows, then run by run.
double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin);

// As cpu::ClusterSums::accumulate: adds the rows to `sums` (exact, any order).
void accumulate(const float* x, std::uint64_t rows, int d, const std::int32_t* labels, const float* weights,
                cpu::ClusterSums& sums);

// assign, then accumulate of the same rows under the labels it found, with one copy of the rows.
double assign_accumulate(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                         const float* weights, std::int32_t* labels, float* distance2,
                         cpu::ClusterSums& sums);

}  // namespace segstream::kernels::cuda
