// The CUDA backend's BlockPipeline (pipeline.cu; not installed): the stream model of ARCHITECTURE.md for the
// k-means loops.
//
// The host writes a block into one of kSlots pinned slots; upload() copies it on the copy stream into one
// of kDeviceBuffers device buffers (or into the resident rows), guarded by an event per buffer that the
// compute stream records when it has read the buffer. compute() waits on the compute stream for the
// slot's copy, assigns (and accumulates) there, and copies the results back into the slot's pinned
// buffers; wait() is the one host synchronisation per block. So the next block is read and copied while the
// current one is computed, and up to kSlots blocks are in flight. All memory is allocated up front.
#pragma once

#include <cstdint>
#include <vector>

#include "resources.cuh"
#include "segstream/kernels/backend.hpp"

namespace segstream::kernels::cuda {

class CudaPipeline final : public BlockPipeline {
 public:
  static constexpr int kSlots = 3;          // pinned host slots: the depth
  static constexpr int kDeviceBuffers = 2;  // device row buffers

  // resident_rows > 0 reserves device memory for that many rows (and weights) kept between passes.
  CudaPipeline(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows);
  // Waits for both streams before the buffers they use are freed.
  ~CudaPipeline() override;
  CudaPipeline(const CudaPipeline&) = delete;
  CudaPipeline& operator=(const CudaPipeline&) = delete;
  // Device memory a pipeline of these sizes takes, to check against a budget before making one.
  static std::uint64_t device_bytes(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows);

  int d() const override { return d_; }
  int k() const override { return k_; }
  std::uint64_t block_rows() const override { return block_rows_; }
  int depth() const override { return kSlots; }
  bool resident() const override { return resident_rows_ > 0; }

  Slot& acquire() override;
  void upload(Slot& slot, std::uint64_t n, const float* rows, const float* weights,
              std::int64_t keep_at = -1) override;
  void compute(Slot& slot, const float* centres, const BlockWork& work) override;
  void compute_resident(Slot& slot, std::uint64_t start, std::uint64_t n, const float* centres,
                        const BlockWork& work) override;
  double wait(Slot& slot) override;
  void take_sums(const Slot& slot, ClusterSums& sums) override;

 private:
  struct HostSlot {
    Slot pub;
    PinnedBuffer<float> x, w, centres;
    PinnedBuffer<std::int32_t> labels;
    PinnedBuffer<float> distance2, margin;
    PinnedBuffer<double> runs;
    PinnedBuffer<unsigned long long> sums;  // sum_words(k, d): the sums taken with this block
    Event uploaded, done;
    bool in_flight = false;   // a compute was issued and not yet waited for
    bool has_upload = false;  // an upload was issued whose copy may still read the pinned rows
    bool computed = false;    // results of a compute are (or will be) in the slot
    bool took_sums = false;   // and the cluster sums with them
    std::uint64_t n = 0;
    const float* rows = nullptr;     // device rows of the uploaded block
    const float* weights = nullptr;  // device weights, or null
    int buffer = -1;                 // the device ring buffer the rows are in, or -1 (resident)
  };

  void run_block(HostSlot& s, const float* rows, const float* w, std::uint64_t n, const float* host_centres,
                 const BlockWork& work);

  int d_, k_;
  std::uint64_t block_rows_, resident_rows_;
  int multiprocessors_ = 1;
  Stream copy_, compute_;
  Event resident_copied_;  // after the latest copy into the resident rows
  std::vector<HostSlot> slots_;
  int next_slot_ = 0;
  std::vector<DeviceBuffer<float>> ring_x_, ring_w_;
  std::vector<Event> consumed_;  // per device buffer: the compute stream has read it
  int next_buffer_ = 0;
  DeviceBuffer<float> resident_x_, resident_w_;
  bool resident_weighted_ = false;  // the resident rows were uploaded with weights
  DeviceBuffer<float> centres_;
  DeviceBuffer<std::int32_t> labels_;
  DeviceBuffer<float> distance2_, margin_;
  DeviceBuffer<double> weighted_, runs_;
  DeviceBuffer<unsigned long long> sums_;
};

}  // namespace segstream::kernels::cuda
