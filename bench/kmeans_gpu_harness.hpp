// The measurements of kmeans_gpu_bench (kmeans_gpu_harness.cu), taken in one run so the assign kernel is
// judged against the same device's own limits. Plain C++: the benchmark's main needs no nvcc.
#pragma once

#include <cstdint>

namespace segstream::bench {

// The device-to-device copy bandwidth (bytes read + written per second), the fp32 rate of a fused
// multiply-add chain (flops per second, 2 per FMA), the pinned host-to-device copy bandwidth, the assign
// kernel's time on `rows` resident random rows (best of `repeats`), and one epoch of the same rows streamed
// from pinned host memory through the CUDA backend's pipeline (copy overlapped with assign).
struct AssignBenchmark {
  double copy_bytes_per_s = 0;
  double fp32_flops_per_s = 0;
  double h2d_bytes_per_s = 0;
  double assign_seconds = 0;
  double streamed_epoch_seconds = 0;
};
AssignBenchmark benchmark_assign(std::uint64_t rows, int d, int k, int repeats);

}  // namespace segstream::bench
