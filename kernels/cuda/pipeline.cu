#include "pipeline.cuh"

#include <algorithm>

#include "accumulate.cuh"
#include "assign.cuh"
#include "check.cuh"
#include "segstream/core/error.hpp"

namespace segstream::kernels::cuda {

CudaPipeline::CudaPipeline(int d, int k, std::uint64_t block_rows, std::uint64_t resident_rows)
    : d_(d), k_(k), block_rows_(block_rows), resident_rows_(resident_rows) {
  const std::size_t bx = static_cast<std::size_t>(block_rows) * static_cast<std::size_t>(d);
  const std::size_t kd = static_cast<std::size_t>(k) * static_cast<std::size_t>(d);
  const std::size_t words = sum_words(k, d);
  slots_.reserve(kSlots);
  for (int i = 0; i < kSlots; ++i) {
    HostSlot& s = slots_.emplace_back();
    s.x = PinnedBuffer<float>(bx, "pinned rows");
    s.w = PinnedBuffer<float>(block_rows, "pinned weights");
    s.centres = PinnedBuffer<float>(kd, "pinned centres");
    s.labels = PinnedBuffer<std::int32_t>(block_rows, "pinned labels");
    s.distance2 = PinnedBuffer<float>(block_rows, "pinned distances");
    s.margin = PinnedBuffer<float>(block_rows, "pinned margins");
    s.runs = PinnedBuffer<double>(inertia_runs(block_rows), "pinned inertia");
    s.sums = PinnedBuffer<unsigned long long>(words, "pinned sums");
    s.pub = Slot{s.x.get(), s.w.get(), s.labels.get(), s.distance2.get(), s.margin.get(), i};
  }
  for (int b = 0; b < kDeviceBuffers; ++b) {
    ring_x_.emplace_back(bx, "device rows");
    ring_w_.emplace_back(block_rows, "device weights");
    consumed_.emplace_back();
  }
  if (resident_rows > 0) {
    resident_x_ = DeviceBuffer<float>(static_cast<std::size_t>(resident_rows) * static_cast<std::size_t>(d),
                                      "resident rows");
    resident_w_ = DeviceBuffer<float>(resident_rows, "resident weights");
  }
  centres_ = DeviceBuffer<float>(kd, "device centres");
  labels_ = DeviceBuffer<std::int32_t>(block_rows, "device labels");
  distance2_ = DeviceBuffer<float>(block_rows, "device distances");
  margin_ = DeviceBuffer<float>(block_rows, "device margins");
  weighted_ = DeviceBuffer<double>(block_rows, "device inertia");
  runs_ = DeviceBuffer<double>(inertia_runs(block_rows), "device inertia runs");
  sums_ = DeviceBuffer<unsigned long long>(words, "device sums");
  // On the compute stream: the streams do not wait for the legacy default stream.
  check(cudaMemsetAsync(sums_.get(), 0, words * sizeof(unsigned long long), compute_.get()), "clear sums");
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&multiprocessors_, cudaDevAttrMultiProcessorCount, device),
        "cudaDeviceGetAttribute");
}

CudaPipeline::~CudaPipeline() {
  (void)cudaStreamSynchronize(copy_.get());
  (void)cudaStreamSynchronize(compute_.get());
}

std::uint64_t CudaPipeline::device_bytes(int d, int k, std::uint64_t block_rows,
                                         std::uint64_t resident_rows) {
  const std::uint64_t du = static_cast<std::uint64_t>(d), ku = static_cast<std::uint64_t>(k);
  return kDeviceBuffers * block_rows * (du + 1) * 4 + resident_rows * (du + 1) * 4 + ku * du * 4 +
         block_rows * (4 + 4 + 4 + 8) + (block_rows / kInertiaRows + 1) * 8 + sum_words(k, d) * 8;
}

BlockPipeline::Slot& CudaPipeline::acquire() {
  HostSlot& s = slots_[static_cast<std::size_t>(next_slot_)];
  next_slot_ = (next_slot_ + 1) % kSlots;
  if (s.in_flight) {
    check(cudaEventSynchronize(s.done.get()), "wait for a block");
    s.in_flight = false;
  }
  if (s.has_upload) check(cudaEventSynchronize(s.uploaded.get()), "wait for a copy");
  s.has_upload = false;
  s.computed = false;
  s.took_sums = false;
  return s.pub;
}

void CudaPipeline::upload(Slot& slot, std::uint64_t n, const float* rows, const float* weights,
                          std::int64_t keep_at) {
  HostSlot& s = slots_[static_cast<std::size_t>(slot.index)];
  SEGSTREAM_ASSERT(n <= block_rows_, "a block of {} rows is more than the pipeline's {}", n, block_rows_);
  // Rows that lie elsewhere in host memory go through the pinned slot, which the copy engine reads directly.
  if (rows != s.x.get()) std::copy_n(rows, n * static_cast<std::uint64_t>(d_), s.x.get());
  if (weights != nullptr && weights != s.w.get()) std::copy_n(weights, n, s.w.get());
  float* dx = nullptr;
  float* dw = nullptr;
  if (keep_at >= 0) {
    const auto at = static_cast<std::uint64_t>(keep_at);
    SEGSTREAM_ASSERT(at + n <= resident_rows_, "rows {}..{} are past the {} resident rows", at, at + n,
                     resident_rows_);
    dx = resident_x_.get() + at * static_cast<std::uint64_t>(d_);
    dw = resident_w_.get() + at;
    s.buffer = -1;
    resident_weighted_ = weights != nullptr;
  } else {
    const int b = next_buffer_;
    next_buffer_ = (next_buffer_ + 1) % kDeviceBuffers;
    check(cudaStreamWaitEvent(copy_.get(), consumed_[static_cast<std::size_t>(b)].get(), 0),
          "wait for a device buffer");
    dx = ring_x_[static_cast<std::size_t>(b)].get();
    dw = ring_w_[static_cast<std::size_t>(b)].get();
    s.buffer = b;
  }
  check(cudaMemcpyAsync(dx, s.x.get(), n * static_cast<std::uint64_t>(d_) * sizeof(float),
                        cudaMemcpyHostToDevice, copy_.get()),
        "copy rows");
  if (weights != nullptr)
    check(cudaMemcpyAsync(dw, s.w.get(), n * sizeof(float), cudaMemcpyHostToDevice, copy_.get()),
          "copy weights");
  check(cudaEventRecord(s.uploaded.get(), copy_.get()), "record upload");
  if (keep_at >= 0) check(cudaEventRecord(resident_copied_.get(), copy_.get()), "record upload");
  s.has_upload = true;
  s.n = n;
  s.rows = dx;
  s.weights = weights != nullptr ? dw : nullptr;
}

void CudaPipeline::compute(Slot& slot, const float* centres, const BlockWork& work) {
  HostSlot& s = slots_[static_cast<std::size_t>(slot.index)];
  SEGSTREAM_ASSERT(s.has_upload, "compute() of a slot with nothing uploaded{}", "");
  check(cudaStreamWaitEvent(compute_.get(), s.uploaded.get(), 0), "wait for the rows");
  run_block(s, s.rows, s.weights, s.n, centres, work);
  s.has_upload = true;  // the host copy may still be in flight until the next acquire()
}

void CudaPipeline::compute_resident(Slot& slot, std::uint64_t start, std::uint64_t n, const float* centres,
                                    const BlockWork& work) {
  HostSlot& s = slots_[static_cast<std::size_t>(slot.index)];
  SEGSTREAM_ASSERT(n <= block_rows_ && start + n <= resident_rows_,
                   "resident rows {}..{} are not held (block {}, resident {})", start, start + n, block_rows_,
                   resident_rows_);
  s.buffer = -1;
  // Every copy into the resident rows is ordered before this (the copy stream runs them in order).
  check(cudaStreamWaitEvent(compute_.get(), resident_copied_.get(), 0), "wait for the resident rows");
  run_block(s, resident_x_.get() + start * static_cast<std::uint64_t>(d_),
            resident_weighted_ ? resident_w_.get() + start : nullptr, n, centres, work);
}

void CudaPipeline::run_block(HostSlot& s, const float* rows, const float* w, std::uint64_t n,
                             const float* host_centres, const BlockWork& work) {
  const std::size_t kd = static_cast<std::size_t>(k_) * static_cast<std::size_t>(d_);
  const cudaStream_t stream = compute_.get();
  std::copy_n(host_centres, kd, s.centres.get());
  check(cudaMemcpyAsync(centres_.get(), s.centres.get(), kd * sizeof(float), cudaMemcpyHostToDevice, stream),
        "copy centres");
  if (n > 0) {
    launch_assign(rows, n, d_, centres_.get(), k_, w, labels_.get(), distance2_.get(),
                  work.margin ? margin_.get() : nullptr, weighted_.get(), stream);
    launch_inertia_runs(weighted_.get(), n, runs_.get(), stream);
    if (work.accumulate != Accumulate::kNone)
      launch_accumulate(rows, n, d_, k_, labels_.get(), w, work.accumulate == Accumulate::kSums, sums_.get(),
                        multiprocessors_, stream);
  }
  if (s.buffer >= 0)
    check(cudaEventRecord(consumed_[static_cast<std::size_t>(s.buffer)].get(), stream), "record consumed");
  check(cudaMemcpyAsync(s.labels.get(), labels_.get(), n * sizeof(std::int32_t), cudaMemcpyDeviceToHost,
                        stream),
        "copy labels");
  check(
      cudaMemcpyAsync(s.distance2.get(), distance2_.get(), n * sizeof(float), cudaMemcpyDeviceToHost, stream),
      "copy distances");
  if (work.margin)
    check(cudaMemcpyAsync(s.margin.get(), margin_.get(), n * sizeof(float), cudaMemcpyDeviceToHost, stream),
          "copy margins");
  check(cudaMemcpyAsync(s.runs.get(), runs_.get(), inertia_runs(n) * sizeof(double), cudaMemcpyDeviceToHost,
                        stream),
        "copy inertia");
  if (work.take_sums) {
    const std::size_t words = sum_words(k_, d_);
    check(cudaMemcpyAsync(s.sums.get(), sums_.get(), words * sizeof(unsigned long long),
                          cudaMemcpyDeviceToHost, stream),
          "copy sums");
    check(cudaMemsetAsync(sums_.get(), 0, words * sizeof(unsigned long long), stream), "clear sums");
  }
  check(cudaEventRecord(s.done.get(), stream), "record done");
  s.n = n;
  s.in_flight = true;
  s.computed = true;
  s.took_sums = work.take_sums;
  s.has_upload = false;
}

double CudaPipeline::wait(Slot& slot) {
  HostSlot& s = slots_[static_cast<std::size_t>(slot.index)];
  SEGSTREAM_ASSERT(s.computed, "wait() on slot {} with nothing computed", slot.index);
  if (s.in_flight) {
    check(cudaEventSynchronize(s.done.get()), "wait for a block");
    s.in_flight = false;
  }
  double total = 0;
  for (std::uint64_t r = 0; r < inertia_runs(s.n); ++r) total += s.runs.get()[r];
  return total;
}

void CudaPipeline::take_sums(const Slot& slot, ClusterSums& sums) {
  const HostSlot& s = slots_[static_cast<std::size_t>(slot.index)];
  SEGSTREAM_ASSERT(s.computed && s.took_sums && !s.in_flight, "slot {} holds no cluster sums to take",
                   slot.index);
  using Wide = ClusterSums::Wide;
  using UWide = unsigned __int128;
  auto wide = [](unsigned long long lo, unsigned long long hi) {
    return static_cast<Wide>((static_cast<UWide>(hi) << 64) | static_cast<UWide>(lo));
  };
  const std::size_t kd = static_cast<std::size_t>(k_) * static_cast<std::size_t>(d_);
  const auto k = static_cast<std::size_t>(k_);
  const unsigned long long* raw = s.sums.get();
  std::vector<Wide> wide_sums(kd), wide_weights(k);
  std::vector<std::uint64_t> counts(k);
  for (std::size_t i = 0; i < kd; ++i) wide_sums[i] = wide(raw[2 * i], raw[2 * i + 1]);
  for (std::size_t c = 0; c < k; ++c) {
    wide_weights[c] = wide(raw[2 * kd + 2 * c], raw[2 * kd + 2 * c + 1]);
    counts[c] = raw[2 * kd + 2 * k + c];
  }
  sums.add_raw(wide_sums.data(), wide_weights.data(), counts.data());
}

}  // namespace segstream::kernels::cuda
