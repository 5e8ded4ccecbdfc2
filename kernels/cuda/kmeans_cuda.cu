// k-means assign and accumulate on a CUDA device (kernels/kmeans_cuda.hpp). One thread per row computes
// nearest_centre of kernels/kmeans.hpp with the centres in shared memory when they fit; the file is built
// with --fmad=false, so distances round as on the CPU. Cluster sums are added in 128-bit fixed point with
// two 64-bit atomics per value (the low word, then its carry into the high word): exact in any order.
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/kernels/kmeans.hpp"
#include "segstream/kernels/kmeans_cuda.hpp"

namespace segstream::kernels::cuda {
namespace {

constexpr std::uint64_t kInertiaBlock = 4096;  // as cpu::assign
constexpr int kThreads = 256;

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw ResourceError(std::string("CUDA ") + what + ": " + cudaGetErrorName(status) + ": " +
                        cudaGetErrorString(status));
  }
}

// A device buffer freed on scope exit.
template <class T>
struct Buffer {
  T* p = nullptr;
  explicit Buffer(std::size_t n) {
    if (n > 0) check(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc");
  }
  ~Buffer() {
    if (p != nullptr) (void)cudaFree(p);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

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

__device__ void add128(unsigned long long* p, long long v) {
  const auto u = static_cast<unsigned long long>(v);
  const unsigned long long old = atomicAdd(p, u);
  const unsigned long long carry = old + u < old ? 1ull : 0ull;
  const unsigned long long high = (v < 0 ? ~0ull : 0ull) + carry;
  if (high != 0) atomicAdd(p + 1, high);
}

__global__ void accumulate_rows(const float* x, std::uint64_t rows, int d, const std::int32_t* labels,
                                const float* weights, unsigned long long* sums, unsigned long long* wsum,
                                unsigned long long* counts) {
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows) return;
  const int c = labels[i];
  const double w = weights != nullptr ? static_cast<double>(weights[i]) : 1.0;
  for (int j = 0; j < d; ++j)
    add128(sums + 2 * (static_cast<std::uint64_t>(c) * d + j),
           to_fixed(w * x[i * static_cast<std::uint64_t>(d) + j]));
  add128(wsum + 2 * c, to_fixed(w));
  atomicAdd(counts + c, 1ull);
}

unsigned blocks_for(std::uint64_t rows) {
  return static_cast<unsigned>((rows + kThreads - 1) / kThreads);
}

}  // namespace

double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin) {
  if (rows == 0) return 0;
  const std::size_t values = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
  Buffer<float> d_x(values), d_c(static_cast<std::size_t>(k) * d), d_w(weights != nullptr ? rows : 0),
      d_d2(rows), d_margin(margin != nullptr ? rows : 0);
  Buffer<std::int32_t> d_labels(rows);
  Buffer<double> d_weighted(rows);
  check(cudaMemcpy(d_x.p, x, values * sizeof(float), cudaMemcpyHostToDevice), "copy rows");
  check(cudaMemcpy(d_c.p, centres, static_cast<std::size_t>(k) * d * sizeof(float), cudaMemcpyHostToDevice),
        "copy centres");
  if (weights != nullptr)
    check(cudaMemcpy(d_w.p, weights, rows * sizeof(float), cudaMemcpyHostToDevice), "copy weights");
  const std::size_t shared = static_cast<std::size_t>(k) * d * sizeof(float);
  const bool use_shared = shared <= 48 * 1024;
  assign_rows<<<blocks_for(rows), kThreads, use_shared ? shared : 0>>>(
      d_x.p, rows, d, d_c.p, k, use_shared, d_w.p, d_labels.p, d_d2.p, d_margin.p, d_weighted.p);
  check(cudaGetLastError(), "assign_rows launch");
  check(cudaMemcpy(labels, d_labels.p, rows * sizeof(std::int32_t), cudaMemcpyDeviceToHost), "copy labels");
  check(cudaMemcpy(distance2, d_d2.p, rows * sizeof(float), cudaMemcpyDeviceToHost), "copy distances");
  if (margin != nullptr)
    check(cudaMemcpy(margin, d_margin.p, rows * sizeof(float), cudaMemcpyDeviceToHost), "copy margins");
  std::vector<double> weighted(rows);
  check(cudaMemcpy(weighted.data(), d_weighted.p, rows * sizeof(double), cudaMemcpyDeviceToHost),
        "copy inertia");
  // The inertia in cpu::assign's order: rows within a block, then the blocks.
  double total = 0;
  for (std::uint64_t b = 0; b < rows; b += kInertiaBlock) {
    double s = 0;
    for (std::uint64_t i = b; i < rows && i < b + kInertiaBlock; ++i) s += weighted[i];
    total += s;
  }
  return total;
}

void accumulate(const float* x, std::uint64_t rows, int d, const std::int32_t* labels, const float* weights,
                cpu::ClusterSums& sums) {
  if (rows == 0) return;
  const int k = sums.k();
  const std::size_t values = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
  Buffer<float> d_x(values), d_w(weights != nullptr ? rows : 0);
  Buffer<std::int32_t> d_labels(rows);
  Buffer<unsigned long long> d_sums(static_cast<std::size_t>(k) * d * 2),
      d_wsum(static_cast<std::size_t>(k) * 2), d_counts(static_cast<std::size_t>(k));
  check(cudaMemcpy(d_x.p, x, values * sizeof(float), cudaMemcpyHostToDevice), "copy rows");
  check(cudaMemcpy(d_labels.p, labels, rows * sizeof(std::int32_t), cudaMemcpyHostToDevice), "copy labels");
  if (weights != nullptr)
    check(cudaMemcpy(d_w.p, weights, rows * sizeof(float), cudaMemcpyHostToDevice), "copy weights");
  check(cudaMemset(d_sums.p, 0, static_cast<std::size_t>(k) * d * 2 * sizeof(unsigned long long)),
        "clear sums");
  check(cudaMemset(d_wsum.p, 0, static_cast<std::size_t>(k) * 2 * sizeof(unsigned long long)),
        "clear weights");
  check(cudaMemset(d_counts.p, 0, static_cast<std::size_t>(k) * sizeof(unsigned long long)), "clear counts");
  accumulate_rows<<<blocks_for(rows), kThreads>>>(d_x.p, rows, d, d_labels.p, d_w.p, d_sums.p, d_wsum.p,
                                                  d_counts.p);
  check(cudaGetLastError(), "accumulate_rows launch");
  std::vector<unsigned long long> s(static_cast<std::size_t>(k) * d * 2), w(static_cast<std::size_t>(k) * 2),
      n(static_cast<std::size_t>(k));
  check(cudaMemcpy(s.data(), d_sums.p, s.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
        "copy sums");
  check(cudaMemcpy(w.data(), d_wsum.p, w.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
        "copy weights");
  check(cudaMemcpy(n.data(), d_counts.p, n.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
        "copy counts");
  using Wide = cpu::ClusterSums::Wide;
  using UWide = unsigned __int128;
  auto wide = [](unsigned long long lo, unsigned long long hi) {
    return static_cast<Wide>((static_cast<UWide>(hi) << 64) | static_cast<UWide>(lo));
  };
  std::vector<Wide> ws(static_cast<std::size_t>(k) * d), ww(static_cast<std::size_t>(k));
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < ws.size(); ++i) ws[i] = wide(s[2 * i], s[2 * i + 1]);
  for (std::size_t c = 0; c < ww.size(); ++c) {
    ww[c] = wide(w[2 * c], w[2 * c + 1]);
    counts[c] = n[c];
  }
  sums.add_raw(ws.data(), ww.data(), counts.data());
}

}  // namespace segstream::kernels::cuda
