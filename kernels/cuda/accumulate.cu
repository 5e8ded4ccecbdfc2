#include "accumulate.cuh"

#include <algorithm>

#include "assign.cuh"
#include "check.cuh"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::cuda {
namespace {

__device__ void add128(unsigned long long* p, long long v) {
  const auto u = static_cast<unsigned long long>(v);
  const unsigned long long old = atomicAdd(p, u);
  const unsigned long long carry = old + u < old ? 1ull : 0ull;
  const unsigned long long high = (v < 0 ? ~0ull : 0ull) + carry;
  if (high != 0) atomicAdd(p + 1, high);
}

// Adds a 128-bit value (lo, hi) to the one at p: exact, in any order.
__device__ void add128_pair(unsigned long long* p, unsigned long long lo, unsigned long long hi) {
  const unsigned long long old = atomicAdd(p, lo);
  const unsigned long long high = hi + (old + lo < old ? 1ull : 0ull);
  if (high != 0) atomicAdd(p + 1, high);
}

// One thread per row, straight into the global sums (for k·d too large for shared memory).
template <bool kValues>
__global__ void accumulate_rows(const float* x, std::uint64_t rows, int d, const std::int32_t* labels,
                                const float* weights, unsigned long long* sums, unsigned long long* wsum,
                                unsigned long long* counts) {
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows) return;
  const int c = labels[i];
  const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
  if (kValues)
    for (int j = 0; j < d; ++j)
      add128(sums + 2 * (static_cast<std::uint64_t>(c) * d + j),
             to_fixed(w * x[i * static_cast<std::uint64_t>(d) + j]));
  add128(wsum + 2 * c, to_fixed(w));
  atomicAdd(counts + c, 1ull);
}

// accumulate_rows with the block's sums first gathered in shared memory (k·d + k 128-bit values and k
// counts), then added to the global sums once per block: far fewer global atomics on the same few
// addresses when k is small. The same exact integers, so the same result.
template <bool kValues>
__global__ void accumulate_rows_shared(const float* x, std::uint64_t rows, int d, int k,
                                       const std::int32_t* labels, const float* weights,
                                       unsigned long long* sums, unsigned long long* wsum,
                                       unsigned long long* counts) {
  extern __shared__ unsigned long long s_acc[];
  const int values = kValues ? k * d : 0;
  unsigned long long* s_sums = s_acc;
  unsigned long long* s_wsum = s_acc + 2 * values;
  unsigned long long* s_counts = s_wsum + 2 * k;
  for (int i = threadIdx.x; i < 2 * values + 3 * k; i += blockDim.x) s_acc[i] = 0;
  __syncthreads();
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += stride) {
    const int c = labels[i];
    const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
    if (kValues)
      for (int j = 0; j < d; ++j)
        add128(s_sums + 2 * (c * d + j), to_fixed(w * x[i * static_cast<std::uint64_t>(d) + j]));
    add128(s_wsum + 2 * c, to_fixed(w));
    atomicAdd(s_counts + c, 1ull);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < values + k; i += blockDim.x) {
    const unsigned long long lo = s_acc[2 * i], hi = s_acc[2 * i + 1];
    if (lo == 0 && hi == 0) continue;
    add128_pair(i < values ? sums + 2 * i : wsum + 2 * (i - values), lo, hi);
  }
  for (int c = threadIdx.x; c < k; c += blockDim.x)
    if (s_counts[c] != 0) atomicAdd(counts + c, s_counts[c]);
}

constexpr std::size_t kSharedBytes = 48 * 1024;

template <bool kValues>
void launch(const float* rows, std::uint64_t n, int d, int k, const std::int32_t* labels, const float* w,
            unsigned long long* sums, int multiprocessors, cudaStream_t stream) {
  const std::size_t kd = static_cast<std::size_t>(k) * static_cast<std::size_t>(d);
  unsigned long long* dwsum = sums + 2 * kd;
  unsigned long long* dcounts = dwsum + 2 * static_cast<std::size_t>(k);
  const std::size_t shared =
      ((kValues ? 2 * kd : 0) + 3 * static_cast<std::size_t>(k)) * sizeof(unsigned long long);
  if (shared <= kSharedBytes) {
    // A few blocks per multiprocessor: each flushes k·d + k values to global memory once.
    const unsigned grid = std::min<unsigned>(blocks_for(n), 4u * static_cast<unsigned>(multiprocessors));
    accumulate_rows_shared<kValues>
        <<<grid, kThreads, shared, stream>>>(rows, n, d, k, labels, w, sums, dwsum, dcounts);
  } else {
    accumulate_rows<kValues>
        <<<blocks_for(n), kThreads, 0, stream>>>(rows, n, d, labels, w, sums, dwsum, dcounts);
  }
  check(cudaGetLastError(), "accumulate launch");
}

}  // namespace

void launch_accumulate(const float* rows, std::uint64_t n, int d, int k, const std::int32_t* labels,
                       const float* weights, bool values, unsigned long long* sums, int multiprocessors,
                       cudaStream_t stream) {
  if (n == 0) return;
  if (values)
    launch<true>(rows, n, d, k, labels, weights, sums, multiprocessors, stream);
  else
    launch<false>(rows, n, d, k, labels, weights, sums, multiprocessors, stream);
}

}  // namespace segstream::kernels::cuda
