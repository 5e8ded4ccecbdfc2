// k-means assign and accumulate on a CUDA device (kernels/kmeans_cuda.hpp), all through the stream-model
// Pipeline. One thread per row computes nearest_centre of kernels/kmeans.hpp with the centres in shared
// memory when they fit; the file is built with --fmad=false, so distances round as on the CPU. Cluster sums
// are added in 128-bit fixed point with two 64-bit atomics per value (the low word, then its carry into the
// high word): exact in any order.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "cuda_check.hpp"
#include "segstream/core/error.hpp"
#include "segstream/kernels/kmeans.hpp"
#include "segstream/kernels/kmeans_cuda.hpp"

namespace segstream::kernels::cuda {
namespace {

constexpr int kThreads = 256;

using cuda_detail::check;

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

// The inertia of each run of kInertiaRows rows, summed in row order as cpu::assign sums it.
__global__ void run_sums(const double* weighted, std::uint64_t rows, double* runs) {
  const std::uint64_t r = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::uint64_t first = r * kInertiaRows;
  if (first >= rows) return;
  const std::uint64_t end = first + kInertiaRows < rows ? first + kInertiaRows : rows;
  double s = 0;
  for (std::uint64_t i = first; i < end; ++i) s += weighted[i];
  runs[r] = s;
}

// Adds a 128-bit value (lo, hi) to the one at p: exact, in any order.
__device__ void add128_pair(unsigned long long* p, unsigned long long lo, unsigned long long hi) {
  const unsigned long long old = atomicAdd(p, lo);
  const unsigned long long high = hi + (old + lo < old ? 1ull : 0ull);
  if (high != 0) atomicAdd(p + 1, high);
}

// accumulate_rows with the block's sums first gathered in shared memory (k·d + k 128-bit values and k
// counts), then added to the global sums once per block: far fewer global atomics on the same few
// addresses when k is small. The same exact integers, so the same result.
__global__ void accumulate_rows_shared(const float* x, std::uint64_t rows, int d, int k,
                                       const std::int32_t* labels, const float* weights,
                                       unsigned long long* sums, unsigned long long* wsum,
                                       unsigned long long* counts) {
  extern __shared__ unsigned long long s_acc[];
  const int values = k * d;
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

std::size_t accumulate_shared_bytes(int k, int d) {
  return (2 * static_cast<std::size_t>(k) * static_cast<std::size_t>(d) + 3 * static_cast<std::size_t>(k)) *
         sizeof(unsigned long long);
}

unsigned blocks_for(std::uint64_t rows) {
  return static_cast<unsigned>((rows + kThreads - 1) / kThreads);
}

// The assign kernel for the shape: a register-row kernel for the common dimensions when the centres fit
// shared memory, else the generic one (centres in shared memory when they fit, else read from global).
void launch_assign(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                   const float* weights, std::int32_t* labels, float* distance2, float* margin,
                   double* weighted, cudaStream_t stream) {
  const std::size_t shared = static_cast<std::size_t>(k) * static_cast<std::size_t>(d) * sizeof(float);
  const bool use_shared = shared <= 48 * 1024;
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
  assign_rows<<<grid, kThreads, use_shared ? shared : 0, stream>>>(
      x, rows, d, centres, k, use_shared, weights, labels, distance2, margin, weighted);
#undef SEGSTREAM_ASSIGN_FIXED
  check(cudaGetLastError(), "assign launch");
}

}  // namespace

}  // namespace segstream::kernels::cuda

namespace segstream::kernels::cuda {

namespace {
constexpr int kSlots = 3;          // pinned host slots
constexpr int kDeviceBuffers = 2;  // device row buffers

template <class T>
T* device_alloc(std::size_t n, const char* what) {
  void* p = nullptr;
  check(cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(T)), what);
  return static_cast<T*>(p);
}

template <class T>
T* host_alloc(std::size_t n, const char* what) {
  void* p = nullptr;
  check(cudaHostAlloc(&p, std::max<std::size_t>(n, 1) * sizeof(T), cudaHostAllocDefault), what);
  return static_cast<T*>(p);
}

std::uint64_t runs_of(std::uint64_t rows) {
  return (rows + kInertiaRows - 1) / kInertiaRows;
}
}  // namespace

struct Pipeline::Impl {
  struct HostSlot {
    Slot pub;
    float* x = nullptr;
    float* w = nullptr;
    float* centres = nullptr;
    std::int32_t* labels = nullptr;
    float* distance2 = nullptr;
    float* margin = nullptr;
    double* runs = nullptr;
    unsigned long long* sums = nullptr;  // k·d and k 128-bit values, then k counts
    cudaEvent_t uploaded = nullptr, done = nullptr;
    bool in_flight = false;
    bool has_upload = false;
    bool computed = false;   // results of a compute are (or will be) in the slot
    bool took_sums = false;  // and the cluster sums with them
    std::uint64_t n = 0;
    const float* rows = nullptr;     // device rows of the uploaded block
    const float* weights = nullptr;  // device weights, or null
    int buffer = -1;                 // the device ring buffer the rows are in, or -1 (resident)
  };

  int d, k;
  std::uint64_t block_rows, resident_rows;
  int multiprocessors = 1;
  cudaStream_t copy = nullptr, compute = nullptr;
  cudaEvent_t resident_copied = nullptr;  // after the latest copy into the resident rows
  HostSlot slots[kSlots];
  int next_slot = 0;
  float* ring_x[kDeviceBuffers] = {};
  float* ring_w[kDeviceBuffers] = {};
  cudaEvent_t consumed[kDeviceBuffers] = {};
  int next_buffer = 0;
  float* resident_x = nullptr;
  float* resident_w = nullptr;
  float* centres = nullptr;
  std::int32_t* labels = nullptr;
  float* distance2 = nullptr;
  float* margin = nullptr;
  double* weighted = nullptr;
  double* runs = nullptr;
  unsigned long long* sums = nullptr;

  std::size_t sum_words() const {
    return 2 * static_cast<std::size_t>(k) * static_cast<std::size_t>(d) + 3 * static_cast<std::size_t>(k);
  }

  void release() noexcept {
    if (copy != nullptr) (void)cudaStreamSynchronize(copy);
    if (compute != nullptr) (void)cudaStreamSynchronize(compute);
    for (HostSlot& s : slots) {
      for (void* p : {static_cast<void*>(s.x), static_cast<void*>(s.w), static_cast<void*>(s.centres),
                      static_cast<void*>(s.labels), static_cast<void*>(s.distance2),
                      static_cast<void*>(s.margin), static_cast<void*>(s.runs), static_cast<void*>(s.sums)})
        if (p != nullptr) (void)cudaFreeHost(p);
      if (s.uploaded != nullptr) (void)cudaEventDestroy(s.uploaded);
      if (s.done != nullptr) (void)cudaEventDestroy(s.done);
    }
    for (int b = 0; b < kDeviceBuffers; ++b) {
      if (ring_x[b] != nullptr) (void)cudaFree(ring_x[b]);
      if (ring_w[b] != nullptr) (void)cudaFree(ring_w[b]);
      if (consumed[b] != nullptr) (void)cudaEventDestroy(consumed[b]);
    }
    for (void* p :
         {static_cast<void*>(resident_x), static_cast<void*>(resident_w), static_cast<void*>(centres),
          static_cast<void*>(labels), static_cast<void*>(distance2), static_cast<void*>(margin),
          static_cast<void*>(weighted), static_cast<void*>(runs), static_cast<void*>(sums)})
      if (p != nullptr) (void)cudaFree(p);
    if (resident_copied != nullptr) (void)cudaEventDestroy(resident_copied);
    if (copy != nullptr) (void)cudaStreamDestroy(copy);
    if (compute != nullptr) (void)cudaStreamDestroy(compute);
  }

  void run_block(HostSlot& s, const float* rows, const float* w, std::uint64_t n, const float* host_centres,
                 const Work& work) {
    const std::size_t kd = static_cast<std::size_t>(k) * static_cast<std::size_t>(d);
    std::copy_n(host_centres, kd, s.centres);
    check(cudaMemcpyAsync(centres, s.centres, kd * sizeof(float), cudaMemcpyHostToDevice, compute),
          "copy centres");
    if (n > 0) {
      launch_assign(rows, n, d, centres, k, w, labels, distance2, work.margin ? margin : nullptr, weighted,
                    compute);
      run_sums<<<blocks_for(runs_of(n)), kThreads, 0, compute>>>(weighted, n, runs);
      check(cudaGetLastError(), "run_sums launch");
      if (work.accumulate) {
        unsigned long long* dsums = sums;
        unsigned long long* dwsum = sums + 2 * kd;
        unsigned long long* dcounts = dwsum + 2 * static_cast<std::size_t>(k);
        const std::size_t acc_shared = accumulate_shared_bytes(k, d);
        if (acc_shared <= kSharedBytes) {
          // A few blocks per multiprocessor: each flushes k·d + k values to global memory once.
          const unsigned grid =
              std::min<unsigned>(blocks_for(n), 4u * static_cast<unsigned>(multiprocessors));
          accumulate_rows_shared<<<grid, kThreads, acc_shared, compute>>>(rows, n, d, k, labels, w, dsums,
                                                                          dwsum, dcounts);
        } else {
          accumulate_rows<<<blocks_for(n), kThreads, 0, compute>>>(rows, n, d, labels, w, dsums, dwsum,
                                                                   dcounts);
        }
        check(cudaGetLastError(), "accumulate launch");
      }
    }
    if (s.buffer >= 0) check(cudaEventRecord(consumed[s.buffer], compute), "record consumed");
    check(cudaMemcpyAsync(s.labels, labels, n * sizeof(std::int32_t), cudaMemcpyDeviceToHost, compute),
          "copy labels");
    check(cudaMemcpyAsync(s.distance2, distance2, n * sizeof(float), cudaMemcpyDeviceToHost, compute),
          "copy distances");
    if (work.margin)
      check(cudaMemcpyAsync(s.margin, margin, n * sizeof(float), cudaMemcpyDeviceToHost, compute),
            "copy margins");
    check(cudaMemcpyAsync(s.runs, runs, runs_of(n) * sizeof(double), cudaMemcpyDeviceToHost, compute),
          "copy inertia");
    if (work.take_sums) {
      check(cudaMemcpyAsync(s.sums, sums, sum_words() * sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                            compute),
            "copy sums");
      check(cudaMemsetAsync(sums, 0, sum_words() * sizeof(unsigned long long), compute), "clear sums");
    }
    check(cudaEventRecord(s.done, compute), "record done");
    s.n = n;
    s.in_flight = true;
    s.computed = true;
    s.took_sums = work.take_sums;
    s.has_upload = false;
  }
};

Pipeline::Pipeline(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows) : impl_(new Impl) {
  Impl& m = *impl_;
  m.d = d;
  m.k = k;
  m.block_rows = block_rows;
  m.resident_rows = resident_rows;
  try {
    const std::size_t bx = static_cast<std::size_t>(block_rows) * static_cast<std::size_t>(d);
    const std::size_t kd = static_cast<std::size_t>(k) * static_cast<std::size_t>(d);
    check(cudaStreamCreateWithFlags(&m.copy, cudaStreamNonBlocking), "create copy stream");
    check(cudaStreamCreateWithFlags(&m.compute, cudaStreamNonBlocking), "create compute stream");
    check(cudaEventCreateWithFlags(&m.resident_copied, cudaEventDisableTiming), "create event");
    for (int i = 0; i < kSlots; ++i) {
      Impl::HostSlot& s = m.slots[i];
      s.x = host_alloc<float>(bx, "pinned rows");
      s.w = host_alloc<float>(block_rows, "pinned weights");
      s.centres = host_alloc<float>(kd, "pinned centres");
      s.labels = host_alloc<std::int32_t>(block_rows, "pinned labels");
      s.distance2 = host_alloc<float>(block_rows, "pinned distances");
      s.margin = host_alloc<float>(block_rows, "pinned margins");
      s.runs = host_alloc<double>(runs_of(block_rows), "pinned inertia");
      s.sums = host_alloc<unsigned long long>(m.sum_words(), "pinned sums");
      check(cudaEventCreateWithFlags(&s.uploaded, cudaEventDisableTiming), "create event");
      check(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming), "create event");
      s.pub = Slot{s.x, s.w, s.labels, s.distance2, s.margin, i};
    }
    for (int b = 0; b < kDeviceBuffers; ++b) {
      m.ring_x[b] = device_alloc<float>(bx, "device rows");
      m.ring_w[b] = device_alloc<float>(block_rows, "device weights");
      check(cudaEventCreateWithFlags(&m.consumed[b], cudaEventDisableTiming), "create event");
    }
    if (resident_rows > 0) {
      m.resident_x = device_alloc<float>(
          static_cast<std::size_t>(resident_rows) * static_cast<std::size_t>(d), "resident rows");
      m.resident_w = device_alloc<float>(resident_rows, "resident weights");
    }
    m.centres = device_alloc<float>(kd, "device centres");
    m.labels = device_alloc<std::int32_t>(block_rows, "device labels");
    m.distance2 = device_alloc<float>(block_rows, "device distances");
    m.margin = device_alloc<float>(block_rows, "device margins");
    m.weighted = device_alloc<double>(block_rows, "device inertia");
    m.runs = device_alloc<double>(runs_of(block_rows), "device inertia runs");
    m.sums = device_alloc<unsigned long long>(m.sum_words(), "device sums");
    // On the compute stream: the streams do not wait for the legacy default stream.
    check(cudaMemsetAsync(m.sums, 0, m.sum_words() * sizeof(unsigned long long), m.compute), "clear sums");
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&m.multiprocessors, cudaDevAttrMultiProcessorCount, device),
          "cudaDeviceGetAttribute");
  } catch (...) {
    m.release();
    delete impl_;
    throw;
  }
}

Pipeline::~Pipeline() {
  impl_->release();
  delete impl_;
}

int Pipeline::d() const {
  return impl_->d;
}
int Pipeline::k() const {
  return impl_->k;
}
std::uint64_t Pipeline::block_rows() const {
  return impl_->block_rows;
}
std::uint64_t Pipeline::resident_rows() const {
  return impl_->resident_rows;
}

std::uint64_t Pipeline::device_bytes(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows) {
  const std::uint64_t du = static_cast<std::uint64_t>(d), ku = static_cast<std::uint64_t>(k);
  return kDeviceBuffers * block_rows * (du + 1) * 4 + resident_rows * (du + 1) * 4 + ku * du * 4 +
         block_rows * (4 + 4 + 4 + 8) + (block_rows / kInertiaRows + 1) * 8 + (2 * ku * du + 3 * ku) * 8;
}

Pipeline::Slot& Pipeline::acquire() {
  Impl& m = *impl_;
  Impl::HostSlot& s = m.slots[m.next_slot];
  m.next_slot = (m.next_slot + 1) % kSlots;
  if (s.in_flight) {
    check(cudaEventSynchronize(s.done), "wait for a block");
    s.in_flight = false;
  }
  if (s.has_upload) check(cudaEventSynchronize(s.uploaded), "wait for a copy");
  s.has_upload = false;
  s.computed = false;
  s.took_sums = false;
  return s.pub;
}

void Pipeline::upload(Slot& slot, std::uint64_t n, bool weighted, std::int64_t keep_at) {
  Impl& m = *impl_;
  Impl::HostSlot& s = m.slots[slot.index];
  SEGSTREAM_ASSERT(n <= m.block_rows, "a block of {} rows is more than the pipeline's {}", n, m.block_rows);
  float* dx = nullptr;
  float* dw = nullptr;
  if (keep_at >= 0) {
    const auto at = static_cast<std::uint64_t>(keep_at);
    SEGSTREAM_ASSERT(at + n <= m.resident_rows, "rows {}..{} are past the {} resident rows", at, at + n,
                     m.resident_rows);
    dx = m.resident_x + at * static_cast<std::uint64_t>(m.d);
    dw = m.resident_w + at;
    s.buffer = -1;
  } else {
    const int b = m.next_buffer;
    m.next_buffer = (m.next_buffer + 1) % kDeviceBuffers;
    check(cudaStreamWaitEvent(m.copy, m.consumed[b], 0), "wait for a device buffer");
    dx = m.ring_x[b];
    dw = m.ring_w[b];
    s.buffer = b;
  }
  check(cudaMemcpyAsync(dx, s.x, n * static_cast<std::uint64_t>(m.d) * sizeof(float), cudaMemcpyHostToDevice,
                        m.copy),
        "copy rows");
  if (weighted)
    check(cudaMemcpyAsync(dw, s.w, n * sizeof(float), cudaMemcpyHostToDevice, m.copy), "copy weights");
  check(cudaEventRecord(s.uploaded, m.copy), "record upload");
  if (keep_at >= 0) check(cudaEventRecord(m.resident_copied, m.copy), "record upload");
  s.has_upload = true;
  s.n = n;
  s.rows = dx;
  s.weights = weighted ? dw : nullptr;
}

void Pipeline::compute(Slot& slot, const float* centres, const Work& work) {
  Impl& m = *impl_;
  Impl::HostSlot& s = m.slots[slot.index];
  SEGSTREAM_ASSERT(s.has_upload, "compute() of a slot with nothing uploaded");
  check(cudaStreamWaitEvent(m.compute, s.uploaded, 0), "wait for the rows");
  m.run_block(s, s.rows, work.weighted ? s.weights : nullptr, s.n, centres, work);
  s.has_upload = true;  // the host copy may still be in flight until the next acquire()
}

void Pipeline::compute_resident(Slot& slot, std::uint64_t start, std::uint64_t n, const float* centres,
                                const Work& work) {
  Impl& m = *impl_;
  Impl::HostSlot& s = m.slots[slot.index];
  SEGSTREAM_ASSERT(n <= m.block_rows && start + n <= m.resident_rows,
                   "resident rows {}..{} are not held (block {}, resident {})", start, start + n,
                   m.block_rows, m.resident_rows);
  s.buffer = -1;
  // Every copy into the resident rows is ordered before this (the copy stream runs them in order).
  check(cudaStreamWaitEvent(m.compute, m.resident_copied, 0), "wait for the resident rows");
  m.run_block(s, m.resident_x + start * static_cast<std::uint64_t>(m.d),
              work.weighted ? m.resident_w + start : nullptr, n, centres, work);
}

double Pipeline::wait(Slot& slot) {
  Impl& m = *impl_;
  Impl::HostSlot& s = m.slots[slot.index];
  SEGSTREAM_ASSERT(s.computed, "wait() on slot {} with nothing computed", slot.index);
  if (s.in_flight) {
    check(cudaEventSynchronize(s.done), "wait for a block");
    s.in_flight = false;
  }
  double total = 0;
  for (std::uint64_t r = 0; r < runs_of(s.n); ++r) total += s.runs[r];
  return total;
}

void Pipeline::add_taken_sums(const Slot& slot, cpu::ClusterSums& sums) const {
  const Impl& m = *impl_;
  const Impl::HostSlot& s = m.slots[slot.index];
  SEGSTREAM_ASSERT(s.computed && s.took_sums && !s.in_flight, "slot {} holds no cluster sums to take",
                   slot.index);
  using Wide = cpu::ClusterSums::Wide;
  using UWide = unsigned __int128;
  auto wide = [](unsigned long long lo, unsigned long long hi) {
    return static_cast<Wide>((static_cast<UWide>(hi) << 64) | static_cast<UWide>(lo));
  };
  const std::size_t kd = static_cast<std::size_t>(m.k) * static_cast<std::size_t>(m.d);
  std::vector<Wide> wide_sums(kd), ww(static_cast<std::size_t>(m.k));
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(m.k));
  for (std::size_t i = 0; i < kd; ++i) wide_sums[i] = wide(s.sums[2 * i], s.sums[2 * i + 1]);
  for (std::size_t c = 0; c < ww.size(); ++c) {
    ww[c] = wide(s.sums[2 * kd + 2 * c], s.sums[2 * kd + 2 * c + 1]);
    counts[c] = s.sums[2 * kd + 2 * ww.size() + c];
  }
  sums.add_raw(wide_sums.data(), ww.data(), counts.data());
}

namespace {

// One block through a pipeline of its size: the one-call API below, for callers with a single block.
double one_block(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
                 std::int32_t* labels, float* distance2, float* margin, cpu::ClusterSums* sums) {
  if (rows == 0) return 0;
  Pipeline pl(d, k, rows, 0);
  Pipeline::Slot& slot = pl.acquire();
  std::copy_n(x, rows * static_cast<std::uint64_t>(d), slot.x);
  if (weights != nullptr) std::copy_n(weights, rows, slot.w);
  pl.upload(slot, rows, weights != nullptr);
  pl.compute(slot, centres, {weights != nullptr, margin != nullptr, sums != nullptr, sums != nullptr});
  const double inertia = pl.wait(slot);
  std::copy_n(slot.labels, rows, labels);
  std::copy_n(slot.distance2, rows, distance2);
  if (margin != nullptr) std::copy_n(slot.margin, rows, margin);
  if (sums != nullptr) pl.add_taken_sums(slot, *sums);
  return inertia;
}

}  // namespace

double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin) {
  return one_block(x, rows, d, centres, k, weights, labels, distance2, margin, nullptr);
}

double assign_accumulate(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                         const float* weights, std::int32_t* labels, float* distance2,
                         cpu::ClusterSums& sums) {
  return one_block(x, rows, d, centres, k, weights, labels, distance2, nullptr, &sums);
}

}  // namespace segstream::kernels::cuda

namespace segstream::kernels::cuda {
namespace {

__global__ void fill_random(float* v, std::uint64_t n, std::uint32_t seed) {
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;  // a hash is random enough here
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  v[i] = static_cast<float>(h & 0xffffff) / 16777216.0f * 8.0f - 4.0f;
}

// 2 × 256 FMAs per thread in 8 independent chains: a compute-bound kernel to measure the fp32 rate.
__global__ void fma_chains(float* out, float a, float b) {
  float v[8];
#pragma unroll
  for (int c = 0; c < 8; ++c) v[c] = threadIdx.x * 1e-3f + c;
  for (int it = 0; it < 256; ++it) {
#pragma unroll
    for (int c = 0; c < 8; ++c) v[c] = fmaf(v[c], a, b);
  }
  float s = 0;
#pragma unroll
  for (int c = 0; c < 8; ++c) s += v[c];
  if (s == 12345.678f) out[0] = s;  // keeps the chains alive
}

class Timer {
 public:
  Timer() {
    check(cudaEventCreate(&a_), "create event");
    check(cudaEventCreate(&b_), "create event");
  }
  ~Timer() {
    (void)cudaEventDestroy(a_);
    (void)cudaEventDestroy(b_);
  }
  void start() { check(cudaEventRecord(a_), "record event"); }
  double stop() {
    check(cudaEventRecord(b_), "record event");
    check(cudaEventSynchronize(b_), "wait for event");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a_, b_), "elapsed time");
    return ms * 1e-3;
  }

 private:
  cudaEvent_t a_ = nullptr, b_ = nullptr;
};

template <class T>
struct DeviceArray {
  T* p = nullptr;
  explicit DeviceArray(std::size_t n) { p = device_alloc<T>(n, "benchmark buffer"); }
  ~DeviceArray() { (void)cudaFree(p); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
};

}  // namespace

AssignBenchmark benchmark_assign(std::uint64_t rows, int d, int k, int repeats) {
  AssignBenchmark r;
  Timer timer;
  const std::size_t values = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
  const std::size_t copy_bytes = std::size_t{1} << 30;
  {  // bandwidth: device-to-device copies of 1 GiB (each byte read once and written once)
    DeviceArray<char> from(copy_bytes), to(copy_bytes);
    check(cudaMemset(from.p, 1, copy_bytes), "memset");
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
      timer.start();
      check(cudaMemcpy(to.p, from.p, copy_bytes, cudaMemcpyDeviceToDevice), "copy");
      best = std::min(best, timer.stop());
    }
    r.copy_bytes_per_s = 2.0 * static_cast<double>(copy_bytes) / best;
  }
  {  // fp32: FMA chains over many blocks
    DeviceArray<float> out(1);
    const unsigned blocks = 16384;
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
      timer.start();
      fma_chains<<<blocks, kThreads>>>(out.p, 0.999f, 1e-3f);
      check(cudaGetLastError(), "fma_chains launch");
      best = std::min(best, timer.stop());
    }
    r.fp32_flops_per_s = 2.0 * 8 * 256 * static_cast<double>(blocks) * kThreads / best;
  }
  {  // host to device from pinned memory, 1 GiB
    struct Pinned {
      char* p;
      ~Pinned() { (void)cudaFreeHost(p); }
    } pinned{host_alloc<char>(copy_bytes, "pinned benchmark buffer")};
    DeviceArray<char> to(copy_bytes);
    std::fill_n(pinned.p, copy_bytes, 1);
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
      timer.start();
      check(cudaMemcpy(to.p, pinned.p, copy_bytes, cudaMemcpyHostToDevice), "copy");
      best = std::min(best, timer.stop());
    }
    r.h2d_bytes_per_s = static_cast<double>(copy_bytes) / best;
  }
  {  // the assign kernel on resident rows
    DeviceArray<float> x(values), centres(static_cast<std::size_t>(k) * static_cast<std::size_t>(d)),
        distance2(rows), margin(rows);
    DeviceArray<std::int32_t> labels(rows);
    DeviceArray<double> weighted(rows);
    fill_random<<<blocks_for(values), kThreads>>>(x.p, values, 1);
    fill_random<<<blocks_for(static_cast<std::uint64_t>(k) * d), kThreads>>>(
        centres.p, static_cast<std::uint64_t>(k) * d, 2);
    check(cudaDeviceSynchronize(), "fill");
    double best = 1e30;
    for (int i = 0; i < repeats; ++i) {
      timer.start();
      launch_assign(x.p, rows, d, centres.p, k, nullptr, labels.p, distance2.p, margin.p, weighted.p,
                    nullptr);
      best = std::min(best, timer.stop());
    }
    r.assign_seconds = best;
  }
  {  // one epoch streamed from pinned host memory through the pipeline, blocks of 2^20 rows
    const std::uint64_t block = std::min<std::uint64_t>(rows, std::uint64_t{1} << 20);
    Pipeline pl(d, k, block, 0);
    std::vector<float> centres(static_cast<std::size_t>(k) * static_cast<std::size_t>(d), 0.5f);
    for (int s = 0; s < 3; ++s) {  // every slot filled once: the copies read real memory
      Pipeline::Slot& slot = pl.acquire();
      std::fill_n(slot.x, block * static_cast<std::uint64_t>(d), 1.0f);
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::deque<Pipeline::Slot*> pending;
    for (std::uint64_t start = 0; start < rows; start += block) {
      const std::uint64_t n = std::min(block, rows - start);
      if (pending.size() >= 2) {
        pl.wait(*pending.front());
        pending.pop_front();
      }
      Pipeline::Slot& slot = pl.acquire();
      pl.upload(slot, n, false);
      pl.compute(slot, centres.data(), {false, false, false, false});
      pending.push_back(&slot);
    }
    while (!pending.empty()) {
      pl.wait(*pending.front());
      pending.pop_front();
    }
    r.streamed_epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return r;
}

}  // namespace segstream::kernels::cuda
