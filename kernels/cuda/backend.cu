// The CUDA backend of the compute contract: k-means through CudaPipeline, the behavioural fold through
// Thrust, both within a device memory budget (--gpu-memory; 80% of the free memory by default, taken when a
// pipeline or a fold is planned).
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "behaviour_fold.cuh"
#include "check.cuh"
#include "pipeline.cuh"
#include "segstream/core/error.hpp"
#include "segstream/kernels/cuda.hpp"

namespace segstream::kernels::cuda {
namespace {

constexpr std::uint64_t kFoldBuckets = 128;

class CudaBackend final : public Backend {
 public:
  CudaBackend(int ordinal, int threads, std::uint64_t gpu_memory)
      : Backend(device_info(ordinal)),
        threads_(threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        gpu_memory_(gpu_memory) {
    check(cudaSetDevice(ordinal), "cudaSetDevice");
  }

  int threads() const override { return threads_; }

  std::unique_ptr<BlockPipeline> make_pipeline(int d, int k, std::uint64_t block_rows,
                                               std::uint64_t rows) override {
    const std::uint64_t budget = memory_budget();
    const std::uint64_t streamed = CudaPipeline::device_bytes(d, k, block_rows, 0);
    if (streamed > budget)
      throw ResourceError(fmt::format(
          "k-means on the device needs {} MiB for blocks of {} rows, more than the device memory budget of "
          "{} MiB (--gpu-memory)",
          streamed >> 20, block_rows, budget >> 20));
    const bool resident = rows > 0 && CudaPipeline::device_bytes(d, k, block_rows, rows) <= budget;
    return std::make_unique<CudaPipeline>(d, k, block_rows, resident ? rows : 0);
  }

  // Runs of 128 of the partition's 1,024 buckets: each call's gathered copy is an eighth of the range, and
  // the host checks for a signal between calls (a whole partition can take seconds on the device).
  std::uint64_t fold_buckets() const override { return kFoldBuckets; }
  // The store and the run's records gathered into one array for the copy.
  std::uint64_t fold_host_bytes_per_record() const override { return 2 * sizeof(BehaviourRecord); }
  std::uint64_t fold_passes(std::uint64_t records, std::uint64_t carried, bool keep_states) const override {
    const std::uint64_t budget = memory_budget();
    SEGSTREAM_EXPECTS(budget >= (std::uint64_t{1} << 20), "--gpu-memory must be at least 1 MiB");
    // Customers are not known before the scan: count one per record, the worst case.
    const std::uint64_t per_record =
        kFoldBytesPerRecord + kFoldBytesPerCustomer + (keep_states ? kFoldBytesPerState : 0);
    return std::max<std::uint64_t>(1, ((records + carried) * per_record + budget - 1) / budget);
  }
  void fold_behaviour(const BehaviourFold& fold, std::vector<BehaviourFoldOutput>& out) override {
    cuda::fold_behaviour(fold, out);
  }

 private:
  std::uint64_t memory_budget() const { return gpu_memory_ > 0 ? gpu_memory_ : free_memory() / 10 * 8; }

  int threads_;
  std::uint64_t gpu_memory_;
};

}  // namespace

std::unique_ptr<Backend> make_backend(int ordinal, int threads, std::uint64_t gpu_memory) {
  return std::make_unique<CudaBackend>(ordinal, threads, gpu_memory);
}

}  // namespace segstream::kernels::cuda
