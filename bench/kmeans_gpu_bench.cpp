// The CUDA assign kernel against its roofline, measured in one run on the device it runs on
// (bench/gpu_kmeans.sh runs it on a lent GPU and keeps the output in bench/results/):
//
//   kmeans_gpu_bench [ROWS]    (default 2^24 rows per shape)
//
// For d ∈ {8, 16, 32, 64} and k ∈ {8, 64, 256}, on ROWS resident random rows: the kernel's best time of
// five; its memory bound (each row read once, label, distance, margin and weighted distance written, at the
// measured device copy bandwidth); its compute bound (3·N·k·d single-precision operations — a subtraction,
// a multiplication and an addition per term, unfused for the CPU's bits — at half the measured FMA flop
// rate, one operation per FMA slot); and the share of the larger bound it reaches. Then one epoch of the
// same rows streamed from pinned host memory through the pipeline, as a share of the measured
// host-to-device bandwidth.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kmeans_gpu_harness.hpp"
#include "segstream/kernels/cuda.hpp"

int main(int argc, char** argv) {
  using namespace segstream;
  std::string why;
  if (kernels::cuda::device_count(&why) == 0) {
    std::fprintf(stderr, "kmeans_gpu_bench: no CUDA device: %s\n", why.c_str());
    return 77;
  }
  const std::uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (std::uint64_t{1} << 24);
  std::printf("# rows %llu per shape\n", static_cast<unsigned long long>(rows));
  std::printf("%4s %4s %10s %12s %10s %10s %9s %8s %12s %8s\n", "d", "k", "assign_ms", "rows_per_s", "mem_ms",
              "fp32_ms", "bound", "share", "stream_ms", "h2d_share");
  for (const int d : {8, 16, 32, 64}) {
    for (const int k : {8, 64, 256}) {
      const bench::AssignBenchmark b = bench::benchmark_assign(rows, d, k, 5);
      const double bytes = static_cast<double>(rows) * (4.0 * d + 4 + 4 + 4 + 8);
      const double mem = bytes / b.copy_bytes_per_s;
      const double ops = 3.0 * static_cast<double>(rows) * k * d;
      const double compute = ops / (b.fp32_flops_per_s / 2);
      const double bound = mem > compute ? mem : compute;
      const double h2d = static_cast<double>(rows) * 4.0 * d / b.h2d_bytes_per_s;
      std::printf("%4d %4d %10.3f %12.4g %10.3f %10.3f %9s %7.1f%% %12.3f %7.1f%%\n", d, k,
                  b.assign_seconds * 1e3, static_cast<double>(rows) / b.assign_seconds, mem * 1e3,
                  compute * 1e3, mem > compute ? "memory" : "compute", 100 * bound / b.assign_seconds,
                  b.streamed_epoch_seconds * 1e3, 100 * h2d / b.streamed_epoch_seconds);
      if (d == 8 && k == 8)
        std::printf("# measured: device copy %.1f GB/s, fp32 FMA %.1f TFLOP/s, pinned H2D %.1f GB/s\n",
                    b.copy_bytes_per_s / 1e9, b.fp32_flops_per_s / 1e12, b.h2d_bytes_per_s / 1e9);
    }
  }
  return 0;
}
