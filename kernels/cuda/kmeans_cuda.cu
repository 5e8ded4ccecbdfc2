// k-means assign and accumulate on a CUDA device (kernels/kmeans_cuda.hpp). One thread per row computes
// nearest_centre of kernels/kmeans.hpp with the centres in shared memory when they fit; the file is built
// with --fmad=false, so distances round as on the CPU. Cluster sums are added in 128-bit fixed point with
// two 64-bit atomics per value (the low word, then its carry into the high word): exact in any order.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/kernels/kmeans.hpp"
#include "segstream/kernels/kmeans_cuda.hpp"

namespace segstream::kernels::cuda {
namespace {

constexpr std::uint64_t kInertiaBlock = kInertiaRows;  // as cpu::assign
constexpr int kThreads = 256;

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw ResourceError(std::string("CUDA ") + what + ": " + cudaGetErrorName(status) + ": " +
                        cudaGetErrorString(status));
  }
}

// Device buffers kept between calls and grown as needed: full passes call assign and accumulate once per
// block of rows, and a cudaMalloc per block would stall every one of them.
class Workspace {
 public:
  enum Slot {
    kRows,
    kCentres,
    kWeights,
    kDistances,
    kMargins,
    kLabels,
    kWeighted,
    kSums,
    kWeightSums,
    kCounts,
    kSlots
  };
  template <class T>
  T* get(Slot slot, std::size_t n) {
    Entry& e = entries_[slot];
    const std::size_t bytes = std::max<std::size_t>(n, 1) * sizeof(T);
    if (bytes > e.bytes) {
      if (e.p != nullptr) (void)cudaFree(e.p);
      e.p = nullptr;
      e.bytes = 0;
      check(cudaMalloc(&e.p, bytes), "cudaMalloc");
      e.bytes = bytes;
    }
    return static_cast<T*>(e.p);
  }
  ~Workspace() {
    for (Entry& e : entries_)
      if (e.p != nullptr) (void)cudaFree(e.p);
  }

 private:
  struct Entry {
    void* p = nullptr;
    std::size_t bytes = 0;
  };
  Entry entries_[kSlots];
};

Workspace& workspace() {
  thread_local Workspace w;
  return w;
}

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
  Workspace& ws = workspace();
  float* d_x = ws.get<float>(Workspace::kRows, values);
  float* d_c = ws.get<float>(Workspace::kCentres, static_cast<std::size_t>(k) * d);
  float* d_w = weights != nullptr ? ws.get<float>(Workspace::kWeights, rows) : nullptr;
  float* d_d2 = ws.get<float>(Workspace::kDistances, rows);
  float* d_margin = margin != nullptr ? ws.get<float>(Workspace::kMargins, rows) : nullptr;
  auto* d_labels = ws.get<std::int32_t>(Workspace::kLabels, rows);
  auto* d_weighted = ws.get<double>(Workspace::kWeighted, rows);
  check(cudaMemcpy(d_x, x, values * sizeof(float), cudaMemcpyHostToDevice), "copy rows");
  check(cudaMemcpy(d_c, centres, static_cast<std::size_t>(k) * d * sizeof(float), cudaMemcpyHostToDevice),
        "copy centres");
  if (weights != nullptr)
    check(cudaMemcpy(d_w, weights, rows * sizeof(float), cudaMemcpyHostToDevice), "copy weights");
  const std::size_t shared = static_cast<std::size_t>(k) * d * sizeof(float);
  const bool use_shared = shared <= 48 * 1024;
  assign_rows<<<blocks_for(rows), kThreads, use_shared ? shared : 0>>>(d_x, rows, d, d_c, k, use_shared, d_w,
                                                                       d_labels, d_d2, d_margin, d_weighted);
  check(cudaGetLastError(), "assign_rows launch");
  check(cudaMemcpy(labels, d_labels, rows * sizeof(std::int32_t), cudaMemcpyDeviceToHost), "copy labels");
  check(cudaMemcpy(distance2, d_d2, rows * sizeof(float), cudaMemcpyDeviceToHost), "copy distances");
  if (margin != nullptr)
    check(cudaMemcpy(margin, d_margin, rows * sizeof(float), cudaMemcpyDeviceToHost), "copy margins");
  std::vector<double> weighted(rows);
  check(cudaMemcpy(weighted.data(), d_weighted, rows * sizeof(double), cudaMemcpyDeviceToHost),
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

namespace {

// Adds the rows, labels and weights already in the workspace to `sums`.
void accumulate_resident(std::uint64_t rows, int d, bool weighted, cpu::ClusterSums& sums) {
  const int k = sums.k();
  Workspace& ws = workspace();
  float* d_x = ws.get<float>(Workspace::kRows, static_cast<std::size_t>(rows) * static_cast<std::size_t>(d));
  float* d_w = weighted ? ws.get<float>(Workspace::kWeights, rows) : nullptr;
  auto* d_labels = ws.get<std::int32_t>(Workspace::kLabels, rows);
  auto* d_sums = ws.get<unsigned long long>(Workspace::kSums, static_cast<std::size_t>(k) * d * 2);
  auto* d_wsum = ws.get<unsigned long long>(Workspace::kWeightSums, static_cast<std::size_t>(k) * 2);
  auto* d_counts = ws.get<unsigned long long>(Workspace::kCounts, static_cast<std::size_t>(k));
  check(cudaMemset(d_sums, 0, static_cast<std::size_t>(k) * d * 2 * sizeof(unsigned long long)),
        "clear sums");
  check(cudaMemset(d_wsum, 0, static_cast<std::size_t>(k) * 2 * sizeof(unsigned long long)), "clear weights");
  check(cudaMemset(d_counts, 0, static_cast<std::size_t>(k) * sizeof(unsigned long long)), "clear counts");
  accumulate_rows<<<blocks_for(rows), kThreads>>>(d_x, rows, d, d_labels, d_w, d_sums, d_wsum, d_counts);
  check(cudaGetLastError(), "accumulate_rows launch");
  std::vector<unsigned long long> s(static_cast<std::size_t>(k) * d * 2), w(static_cast<std::size_t>(k) * 2),
      n(static_cast<std::size_t>(k));
  check(cudaMemcpy(s.data(), d_sums, s.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
        "copy sums");
  check(cudaMemcpy(w.data(), d_wsum, w.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
        "copy weights");
  check(cudaMemcpy(n.data(), d_counts, n.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost),
        "copy counts");
  using Wide = cpu::ClusterSums::Wide;
  using UWide = unsigned __int128;
  auto wide = [](unsigned long long lo, unsigned long long hi) {
    return static_cast<Wide>((static_cast<UWide>(hi) << 64) | static_cast<UWide>(lo));
  };
  std::vector<Wide> wide_sums(static_cast<std::size_t>(k) * d), ww(static_cast<std::size_t>(k));
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < wide_sums.size(); ++i) wide_sums[i] = wide(s[2 * i], s[2 * i + 1]);
  for (std::size_t c = 0; c < ww.size(); ++c) {
    ww[c] = wide(w[2 * c], w[2 * c + 1]);
    counts[c] = n[c];
  }
  sums.add_raw(wide_sums.data(), ww.data(), counts.data());
}

}  // namespace

void accumulate(const float* x, std::uint64_t rows, int d, const std::int32_t* labels, const float* weights,
                cpu::ClusterSums& sums) {
  if (rows == 0) return;
  const std::size_t values = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
  Workspace& ws = workspace();
  float* d_x = ws.get<float>(Workspace::kRows, values);
  float* d_w = weights != nullptr ? ws.get<float>(Workspace::kWeights, rows) : nullptr;
  auto* d_labels = ws.get<std::int32_t>(Workspace::kLabels, rows);
  check(cudaMemcpy(d_x, x, values * sizeof(float), cudaMemcpyHostToDevice), "copy rows");
  check(cudaMemcpy(d_labels, labels, rows * sizeof(std::int32_t), cudaMemcpyHostToDevice), "copy labels");
  if (weights != nullptr)
    check(cudaMemcpy(d_w, weights, rows * sizeof(float), cudaMemcpyHostToDevice), "copy weights");
  accumulate_resident(rows, d, weights != nullptr, sums);
}

double assign_accumulate(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                         const float* weights, std::int32_t* labels, float* distance2,
                         cpu::ClusterSums& sums) {
  const double inertia = assign(x, rows, d, centres, k, weights, labels, distance2, nullptr);
  if (rows > 0) accumulate_resident(rows, d, weights != nullptr, sums);  // rows and labels are on the device
  return inertia;
}

}  // namespace segstream::kernels::cuda
