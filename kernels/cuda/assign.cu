#include "assign.cuh"

#include "check.cuh"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::cuda {
namespace {

__global__ void assign_rows(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                            bool shared_centres, const float* weights, std::int32_t* labels, float* distance2,
                            float* margin, double* weighted) {
  extern __shared__ float s_centres[];
  if (shared_centres) {
    for (int i = threadIdx.x; i < k * d; i += blockDim.x) s_centres[i] = centres[i];
    __syncthreads();
  }
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows) return;
  const Nearest n =
      nearest_centre(x + i * static_cast<std::uint64_t>(d), shared_centres ? s_centres : centres, k, d);
  labels[i] = n.label;
  distance2[i] = n.distance2;
  if (margin != nullptr) margin[i] = n.second2 - n.distance2;
  weighted[i] =
      static_cast<double>(n.distance2) * (weights != nullptr ? static_cast<double>(weights[i]) : 1.0);
}

// assign_rows for a dimension known at compile time (a multiple of 4) with the centres in shared memory:
// each thread holds its row in registers, loaded 16 bytes at a time, and reads the centres 16 bytes at a
// time as a broadcast (every thread of a warp reads the same centre). The sum runs j ascending with the same
// operations as squared_distance, so the results are its bits; there is no N × k matrix anywhere.
template <int D>
__global__ void assign_rows_fixed(const float* x, std::uint64_t rows, const float* centres, int k,
                                  const float* weights, std::int32_t* labels, float* distance2, float* margin,
                                  double* weighted) {
  extern __shared__ float s_centres[];
  for (int i = threadIdx.x; i < k * D; i += blockDim.x) s_centres[i] = centres[i];
  __syncthreads();
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows) return;
  float xr[D];
  const auto* row = reinterpret_cast<const float4*>(x + i * D);
#pragma unroll
  for (int q = 0; q < D / 4; ++q) {
    const float4 v = row[q];
    xr[4 * q] = v.x;
    xr[4 * q + 1] = v.y;
    xr[4 * q + 2] = v.z;
    xr[4 * q + 3] = v.w;
  }
  Nearest n;
  for (int c = 0; c < k; ++c) {
    const auto* cc = reinterpret_cast<const float4*>(s_centres + c * D);
    float s = 0;
#pragma unroll
    for (int q = 0; q < D / 4; ++q) {
      const float4 v = cc[q];
      float t = xr[4 * q] - v.x;
      s += t * t;
      t = xr[4 * q + 1] - v.y;
      s += t * t;
      t = xr[4 * q + 2] - v.z;
      s += t * t;
      t = xr[4 * q + 3] - v.w;
      s += t * t;
    }
    n.offer(c, s);
  }
  labels[i] = n.label;
  distance2[i] = n.distance2;
  if (margin != nullptr) margin[i] = n.second2 - n.distance2;
  weighted[i] =
      static_cast<double>(n.distance2) * (weights != nullptr ? static_cast<double>(weights[i]) : 1.0);
}

// The inertia of each run of kInertiaRows rows, summed in row order as the CPU backend sums it.
__global__ void inertia_runs_kernel(const double* weighted, std::uint64_t rows, double* runs) {
  const std::uint64_t r = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::uint64_t first = r * kInertiaRows;
  if (first >= rows) return;
  const std::uint64_t end = first + kInertiaRows < rows ? first + kInertiaRows : rows;
  double s = 0;
  for (std::uint64_t i = first; i < end; ++i) s += weighted[i];
  runs[r] = s;
}

constexpr std::size_t kSharedCentreBytes = 48 * 1024;

}  // namespace

std::uint64_t inertia_runs(std::uint64_t rows) {
  return (rows + kInertiaRows - 1) / kInertiaRows;
}

void launch_assign(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                   const float* weights, std::int32_t* labels, float* distance2, float* margin,
                   double* weighted, cudaStream_t stream) {
  const std::size_t shared = static_cast<std::size_t>(k) * static_cast<std::size_t>(d) * sizeof(float);
  const bool use_shared = shared <= kSharedCentreBytes;
  const unsigned grid = blocks_for(rows);
#define SEGSTREAM_ASSIGN_FIXED(D)                                                                  \
  case D:                                                                                          \
    assign_rows_fixed<D><<<grid, kThreads, shared, stream>>>(x, rows, centres, k, weights, labels, \
                                                             distance2, margin, weighted);         \
    check(cudaGetLastError(), "assign launch");                                                    \
    return;
  if (use_shared) {
    switch (d) {
      SEGSTREAM_ASSIGN_FIXED(4)
      SEGSTREAM_ASSIGN_FIXED(8)
      SEGSTREAM_ASSIGN_FIXED(12)
      SEGSTREAM_ASSIGN_FIXED(16)
      SEGSTREAM_ASSIGN_FIXED(24)
      SEGSTREAM_ASSIGN_FIXED(32)
      SEGSTREAM_ASSIGN_FIXED(48)
      SEGSTREAM_ASSIGN_FIXED(64)
      default:
        break;
    }
  }
#undef SEGSTREAM_ASSIGN_FIXED
  assign_rows<<<grid, kThreads, use_shared ? shared : 0, stream>>>(
      x, rows, d, centres, k, use_shared, weights, labels, distance2, margin, weighted);
  check(cudaGetLastError(), "assign launch");
}

void launch_inertia_runs(const double* weighted, std::uint64_t rows, double* runs, cudaStream_t stream) {
  inertia_runs_kernel<<<blocks_for(inertia_runs(rows)), kThreads, 0, stream>>>(weighted, rows, runs);
  check(cudaGetLastError(), "inertia runs launch");
}

}  // namespace segstream::kernels::cuda
