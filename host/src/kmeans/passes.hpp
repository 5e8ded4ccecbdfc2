// Full passes over the rows through a backend's pipeline (internal to the trainer and assign).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "segstream/core/interrupt.hpp"
#include "segstream/host/kmeans.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::host::detail {

// Full passes over a source through one pipeline: blocks of kPassRows rows in row order, with up to the
// pipeline's depth of blocks in flight (so on a device the next block is read and copied while the current
// one is computed). When the pipeline is resident, the first pass leaves every row in device memory and
// later passes compute them there without copying.
class PassRunner {
 public:
  explicit PassRunner(kernels::BlockPipeline& pipeline) : pl_(pipeline) {}

  kernels::BlockPipeline& pipeline() { return pl_; }

  // Assigns every row of `src` to `centres` (the pipeline's k) as `work` says (take_sums is set on the last
  // block when work accumulates, and the pass's sums are then added into *sums). Calls
  // on_block(start, n, slot, rows) for every block in row order once its results are in; `rows` is the
  // block's rows in host memory, or null when they were computed from the device's resident copy. Returns
  // the pass's Σ w·d², summed block by block. InterruptedError between blocks when a signal arrived.
  template <class OnBlock>
  double run(const RowSource& src, const float* centres, kernels::BlockWork work, kernels::ClusterSums* sums,
             OnBlock&& on_block) {
    using Slot = kernels::BlockPipeline::Slot;
    struct Pending {
      Slot* slot;
      std::uint64_t start, n;
      const float* rows;
      bool last;
    };
    std::deque<Pending> pending;
    double inertia = 0;
    auto finish = [&] {
      const Pending q = pending.front();
      pending.pop_front();
      inertia += pl_.wait(*q.slot);
      if (q.last && sums != nullptr && work.accumulate != kernels::Accumulate::kNone)
        pl_.take_sums(*q.slot, *sums);
      on_block(q.start, q.n, *q.slot, q.rows);
    };
    const float* weights = src.weights();
    for (std::uint64_t start = 0; start < src.rows(); start += kPassRows) {
      throw_if_interrupted();
      const std::uint64_t n = std::min(kPassRows, src.rows() - start);
      const bool last = start + n == src.rows();
      if (pending.size() >= static_cast<std::size_t>(pl_.depth())) finish();
      Slot& slot = pl_.acquire();
      kernels::BlockWork block_work = work;
      block_work.take_sums = last && work.accumulate != kernels::Accumulate::kNone;
      const float* rows = nullptr;
      if (loaded_) {
        pl_.compute_resident(slot, start, n, centres, block_work);
      } else {
        rows = src.view(start, n);
        if (rows == nullptr) {
          src.read(start, n, slot.x);
          rows = slot.x;
        }
        pl_.upload(slot, n, rows, weights != nullptr ? weights + start : nullptr,
                   pl_.resident() ? static_cast<std::int64_t>(start) : -1);
        pl_.compute(slot, centres, block_work);
      }
      pending.push_back({&slot, start, n, rows, last});
    }
    while (!pending.empty()) finish();
    loaded_ = pl_.resident();
    return inertia;
  }

 private:
  kernels::BlockPipeline& pl_;
  bool loaded_ = false;  // every row is in the pipeline's resident copy
};

// One full pass: the exact per-cluster sums (or only weights and counts) and the inertia of the current
// centres, and the rows farthest from their centres (largest distance first, then lowest index; rows of
// weight 0 last), which empty clusters take.
struct Pass {
  kernels::ClusterSums sums;
  double inertia = 0;
  struct Far {
    float distance2;
    std::uint64_t row;
    std::int32_t label;
    float weight;
    std::vector<float> x;  // filled at the end of the pass
  };
  std::vector<Far> farthest;
  // With per_cluster: each cluster's error Σ w·d² and utility Σ w·margin (what its rows would lose if the
  // centre were removed), summed in row order.
  std::vector<double> error, utility;
};

Pass full_pass(PassRunner& runner, const RowSource& src, const std::vector<float>& centres, int k,
               std::size_t keep_far, kernels::Accumulate accumulate, bool per_cluster = false);

// Lloyd's update from a pass with exact sums and the k farthest rows: every centre to its cluster's mean;
// empty clusters take the rows farthest from their centres, which leave their old clusters (scikit-learn's
// _relocate_empty_clusters); a centre with no weight and no row left to take stays.
std::vector<float> lloyd_centres(const Pass& p, const std::vector<float>& centres, int k, int d);

// Weighted mean of the per-column variances (scikit-learn's _tolerance scale), one pass over the rows.
double mean_variance(const RowSource& src);

// Rows [start, start + n): where they lie in memory, else read into `block`.
const float* rows_of(const RowSource& src, std::uint64_t start, std::uint64_t n, std::vector<float>& block);

}  // namespace segstream::host::detail
