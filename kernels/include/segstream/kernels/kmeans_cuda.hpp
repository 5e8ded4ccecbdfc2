// The k-means half of the compute contract on a CUDA device: the same results as kernels/kmeans_cpu.hpp
// (labels, squared distances and margins bit for bit, the inertia summed in the same order, cluster sums
// in the same fixed point), for blocks of rows copied from the host. Declared without CUDA types; defined
// when SEGSTREAM_HAVE_CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include "segstream/kernels/kmeans_cpu.hpp"

namespace segstream::kernels::cuda {

// As cpu::assign, for one block in one call (through a Pipeline of that block's size; the loops over many
// blocks use a Pipeline directly): labels, distance2 and (when not null) margin of `rows` rows; returns
// Σ w·distance2 summed in row order per run of kInertiaRows rows, then run by run.
double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin);

// assign, and the rows added to `sums` under the labels it found, as cpu::ClusterSums::accumulate adds
// them (exact, any order).
double assign_accumulate(const float* x, std::uint64_t rows, int d, const float* centres, int k,
                         const float* weights, std::int32_t* labels, float* distance2,
                         cpu::ClusterSums& sums);

// Measurements for bench/kmeans_gpu_bench, taken in one run so the kernel is judged against the same
// device's own limits: the device-to-device copy bandwidth (bytes read + written per second), the fp32
// rate of a fused multiply-add chain (flops per second, 2 per FMA), the pinned host-to-device copy
// bandwidth, the assign kernel's time on `rows` resident random rows (best of `repeats`), and one epoch of
// the same rows streamed from pinned host memory through a Pipeline (copy overlapped with assign).
struct AssignBenchmark {
  double copy_bytes_per_s = 0;
  double fp32_flops_per_s = 0;
  double h2d_bytes_per_s = 0;
  double assign_seconds = 0;
  double streamed_epoch_seconds = 0;
};
AssignBenchmark benchmark_assign(std::uint64_t rows, int d, int k, int repeats);

// The stream model of ARCHITECTURE.md for k-means: the host writes blocks of rows into a ring of three
// pinned slots; each is copied on a copy stream into one of two device buffers (or into a resident copy of
// all rows) and assigned, and optionally accumulated, on a compute stream, whose results come back into the
// slot's pinned buffers. The host waits once per block, for that block's results, so reading the next
// block, its copy and the current block's kernels overlap. Results are those of cpu::assign and
// cpu::ClusterSums bit for bit. All memory is allocated up front; nothing is allocated per block.
class Pipeline {
 public:
  struct Slot {
    float* x = nullptr;                    // block_rows × d, pinned: the host writes rows here
    float* w = nullptr;                    // block_rows weights, pinned
    const std::int32_t* labels = nullptr;  // results, valid after wait()
    const float* distance2 = nullptr;
    const float* margin = nullptr;  // when asked for
    int index = 0;
  };
  struct Work {
    bool weighted = false;    // the slot's (or the resident) weights apply; else all 1
    bool margin = false;      // compute margins too
    bool accumulate = false;  // add the rows to the device's cluster sums
    bool take_sums = false;   // after this block, copy the cluster sums back into the slot and clear them
  };
  // d columns, k centres, blocks of up to block_rows rows; resident_rows > 0 reserves device memory for
  // that many rows (and their weights) to be kept between passes.
  Pipeline(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  int d() const;
  int k() const;
  std::uint64_t block_rows() const;
  std::uint64_t resident_rows() const;
  // Device memory this pipeline takes for given sizes, to check against a budget before making one.
  static std::uint64_t device_bytes(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows);

  // The next slot of the ring, once its earlier block's results are in.
  Slot& acquire();
  // Copies n rows (and weights when weighted) of the slot to the device on the copy stream; with
  // keep_at ≥ 0 they are kept in the resident rows from row keep_at on.
  void upload(Slot& slot, std::uint64_t n, bool weighted, std::int64_t keep_at = -1);
  // Assigns the uploaded rows to `centres` (k × d, read now) on the compute stream.
  void compute(Slot& slot, const float* centres, const Work& work);
  // Assigns resident rows [start, start + n) (no copy of rows).
  void compute_resident(Slot& slot, std::uint64_t start, std::uint64_t n, const float* centres,
                        const Work& work);
  // Waits for the slot's results; returns its Σ w·distance2 summed as cpu::assign sums it.
  double wait(Slot& slot);
  // The cluster sums taken with the slot's block (Work::take_sums), added into `sums`.
  void add_taken_sums(const Slot& slot, cpu::ClusterSums& sums) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace segstream::kernels::cuda
