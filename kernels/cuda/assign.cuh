// The CUDA assign kernels (assign.cu), launched by the pipeline and by the GPU benchmark (not installed).
//
// One thread per row computes kernels/kmeans.hpp's nearest_centre with the centres in shared memory when
// they fit; the file is built with --fmad=false, so every distance rounds as on the CPU. For dimensions
// 4, 8, …, 64 a templated kernel keeps the row in registers. The weighted distances of each run of
// kInertiaRows rows are then summed in row order, as the CPU backend sums them.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace segstream::kernels::cuda {

inline constexpr int kThreads = 256;  // threads per block of every k-means kernel

inline unsigned blocks_for(std::uint64_t items) {
  return static_cast<unsigned>((items + kThreads - 1) / kThreads);
}

// Runs of kInertiaRows rows in `rows` rows.
std::uint64_t inertia_runs(std::uint64_t rows);

// Device pointers: x rows × d (row-major), centres k × d, weights rows (null: all 1); writes labels,
// distance2, margin (when not null) and weighted[i] = w_i · distance2_i, on `stream`. Picks the register-row
// kernel for the common dimensions when the centres fit shared memory, else the generic one.
void launch_assign(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                   const float* weights, std::int32_t* labels, float* distance2, float* margin,
                   double* weighted, cudaStream_t stream);

// runs[r] = Σ weighted[i] over run r (rows r·kInertiaRows … ), in row order.
void launch_inertia_runs(const double* weighted, std::uint64_t rows, double* runs, cudaStream_t stream);

}  // namespace segstream::kernels::cuda
