// The GPU benchmark harness: ceilings measured with CUDA events, the assign kernel launched directly on
// resident rows (through the backend's internal launcher), and a streamed epoch through the pipeline.
#include "kmeans_gpu_harness.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <vector>

#include "assign.cuh"
#include "check.cuh"
#include "resources.cuh"
#include "segstream/kernels/cuda.hpp"

namespace segstream::bench {
namespace {

using kernels::cuda::check;
using kernels::cuda::DeviceBuffer;
using kernels::cuda::Event;
using kernels::cuda::kThreads;

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
  Timer() : a_(true), b_(true) {}
  void start() { check(cudaEventRecord(a_.get()), "record event"); }
  double stop() {
    check(cudaEventRecord(b_.get()), "record event");
    check(cudaEventSynchronize(b_.get()), "wait for event");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a_.get(), b_.get()), "elapsed time");
    return ms * 1e-3;
  }

 private:
  Event a_, b_;
};

}  // namespace

AssignBenchmark benchmark_assign(std::uint64_t rows, int d, int k, int repeats) {
  AssignBenchmark r;
  Timer timer;
  const std::size_t values = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
  const std::size_t copy_bytes = std::size_t{1} << 30;
  {  // bandwidth: device-to-device copies of 1 GiB (each byte read once and written once)
    DeviceBuffer<char> from(copy_bytes, "benchmark buffer"), to(copy_bytes, "benchmark buffer");
    check(cudaMemset(from.get(), 1, copy_bytes), "memset");
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
      timer.start();
      check(cudaMemcpy(to.get(), from.get(), copy_bytes, cudaMemcpyDeviceToDevice), "copy");
      best = std::min(best, timer.stop());
    }
    r.copy_bytes_per_s = 2.0 * static_cast<double>(copy_bytes) / best;
  }
  {  // fp32: FMA chains over many blocks
    DeviceBuffer<float> out(1, "benchmark buffer");
    const unsigned blocks = 16384;
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
      timer.start();
      fma_chains<<<blocks, kThreads>>>(out.get(), 0.999f, 1e-3f);
      check(cudaGetLastError(), "fma_chains launch");
      best = std::min(best, timer.stop());
    }
    r.fp32_flops_per_s = 2.0 * 8 * 256 * static_cast<double>(blocks) * kThreads / best;
  }
  {  // host to device from pinned memory, 1 GiB
    kernels::cuda::PinnedBuffer<char> pinned(copy_bytes, "pinned benchmark buffer");
    DeviceBuffer<char> to(copy_bytes, "benchmark buffer");
    std::fill_n(pinned.get(), copy_bytes, 1);
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
      timer.start();
      check(cudaMemcpy(to.get(), pinned.get(), copy_bytes, cudaMemcpyHostToDevice), "copy");
      best = std::min(best, timer.stop());
    }
    r.h2d_bytes_per_s = static_cast<double>(copy_bytes) / best;
  }
  {  // the assign kernel on resident rows
    DeviceBuffer<float> x(values, "benchmark rows"),
        centres(static_cast<std::size_t>(k) * static_cast<std::size_t>(d), "benchmark centres"),
        distance2(rows, "benchmark distances"), margin(rows, "benchmark margins");
    DeviceBuffer<std::int32_t> labels(rows, "benchmark labels");
    DeviceBuffer<double> weighted(rows, "benchmark inertia");
    fill_random<<<kernels::cuda::blocks_for(values), kThreads>>>(x.get(), values, 1);
    fill_random<<<kernels::cuda::blocks_for(static_cast<std::uint64_t>(k) * d), kThreads>>>(
        centres.get(), static_cast<std::uint64_t>(k) * d, 2);
    check(cudaDeviceSynchronize(), "fill");
    double best = 1e30;
    for (int i = 0; i < repeats; ++i) {
      timer.start();
      kernels::cuda::launch_assign(x.get(), rows, d, centres.get(), k, nullptr, labels.get(), distance2.get(),
                                   margin.get(), weighted.get(), nullptr);
      best = std::min(best, timer.stop());
    }
    r.assign_seconds = best;
  }
  {  // one epoch streamed from pinned host memory through the pipeline, blocks of 2^20 rows
    const std::uint64_t block = std::min<std::uint64_t>(rows, std::uint64_t{1} << 20);
    const auto backend = kernels::cuda::make_backend(0, 1, 0);
    const auto pl = backend->make_pipeline(d, k, block, 0);
    std::vector<float> centres(static_cast<std::size_t>(k) * static_cast<std::size_t>(d), 0.5f);
    for (int s = 0; s < pl->depth(); ++s) {  // every slot filled once: the copies read real memory
      kernels::BlockPipeline::Slot& slot = pl->acquire();
      std::fill_n(slot.x, block * static_cast<std::uint64_t>(d), 1.0f);
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::deque<kernels::BlockPipeline::Slot*> pending;
    for (std::uint64_t start = 0; start < rows; start += block) {
      const std::uint64_t n = std::min(block, rows - start);
      if (pending.size() >= static_cast<std::size_t>(pl->depth())) {
        pl->wait(*pending.front());
        pending.pop_front();
      }
      kernels::BlockPipeline::Slot& slot = pl->acquire();
      pl->upload(slot, n, slot.x, nullptr);
      pl->compute(slot, centres.data(), {});
      pending.push_back(&slot);
    }
    while (!pending.empty()) {
      pl->wait(*pending.front());
      pending.pop_front();
    }
    r.streamed_epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return r;
}

}  // namespace segstream::bench
