// The CPU backend of the compute contract: a pipeline of depth one whose compute() runs the vectorised
// assign and the exact cluster sums before it returns, and the bucketed behavioural fold.
#include <omp.h>

#include <memory>
#include <vector>

#include "fold.hpp"
#include "segstream/core/error.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::kernels::cpu {
namespace {

// Threads pay for themselves only when a block has enough work: fewer than 2^18 distance terms (a
// mini-batch of 1,024 rows at small k·d) run on one. The results are the same either way.
constexpr std::uint64_t kThreadedTerms = std::uint64_t{1} << 18;

class CpuPipeline final : public BlockPipeline {
 public:
  CpuPipeline(int d, int k, std::uint64_t block_rows, int threads)
      : d_(d),
        k_(k),
        block_rows_(block_rows),
        threads_(threads),
        x_(block_rows * static_cast<std::uint64_t>(d)),
        w_(block_rows),
        labels_(block_rows),
        distance2_(block_rows),
        margin_(block_rows),
        sums_(k, d),
        taken_(k, d) {
    slot_ = Slot{x_.data(), w_.data(), labels_.data(), distance2_.data(), margin_.data(), 0};
  }

  int d() const override { return d_; }
  int k() const override { return k_; }
  std::uint64_t block_rows() const override { return block_rows_; }
  int depth() const override { return 1; }
  bool resident() const override { return false; }

  Slot& acquire() override { return slot_; }

  void upload(Slot&, std::uint64_t n, const float* rows, const float* weights, std::int64_t) override {
    SEGSTREAM_ASSERT(n <= block_rows_, "a block of {} rows is more than the pipeline's {}", n, block_rows_);
    n_ = n;
    rows_ = rows;
    weights_ = weights;
  }

  void compute(Slot&, const float* centres, const BlockWork& work) override {
    const int threads =
        n_ * static_cast<std::uint64_t>(k_) * static_cast<std::uint64_t>(d_) >= kThreadedTerms ? threads_ : 1;
    inertia_ = assign(rows_, n_, d_, centres, k_, weights_, labels_.data(), distance2_.data(),
                      work.margin ? margin_.data() : nullptr, threads);
    if (work.accumulate == Accumulate::kSums)
      accumulate(sums_, rows_, n_, labels_.data(), weights_, threads);
    else if (work.accumulate == Accumulate::kCounts)
      tally(sums_, n_, labels_.data(), weights_);
    if (work.take_sums) {
      std::swap(taken_, sums_);
      sums_.reset(k_, d_);
    }
  }

  void compute_resident(Slot&, std::uint64_t, std::uint64_t, const float*, const BlockWork&) override {
    SEGSTREAM_ASSERT(false, "the CPU pipeline keeps no resident rows{}", "");
  }

  double wait(Slot&) override { return inertia_; }

  void take_sums(const Slot&, ClusterSums& sums) override { sums.add(taken_); }

 private:
  int d_, k_;
  std::uint64_t block_rows_;
  int threads_;
  std::vector<float> x_, w_;
  std::vector<std::int32_t> labels_;
  std::vector<float> distance2_, margin_;
  ClusterSums sums_, taken_;
  Slot slot_;
  std::uint64_t n_ = 0;
  const float* rows_ = nullptr;
  const float* weights_ = nullptr;
  double inertia_ = 0;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads)
      : Backend(cpu_device_info(threads)), threads_(threads > 0 ? threads : omp_get_max_threads()) {}

  int threads() const override { return threads_; }

  std::unique_ptr<BlockPipeline> make_pipeline(int d, int k, std::uint64_t block_rows,
                                               std::uint64_t) override {
    return std::make_unique<CpuPipeline>(d, k, block_rows, threads_);
  }

  std::uint64_t fold_buckets() const override { return kFoldBuckets; }
  std::uint64_t fold_host_bytes_per_record() const override { return sizeof(BehaviourRecord); }
  std::uint64_t fold_passes(std::uint64_t, std::uint64_t, bool) const override { return 1; }
  void fold_behaviour(const BehaviourFold& fold, std::vector<BehaviourFoldOutput>& out) override {
    cpu::fold_buckets(fold, threads_, scratch_, out);
  }

 private:
  int threads_;
  std::vector<std::vector<BehaviourRecord>> scratch_;  // a record buffer per thread for the fold
};

}  // namespace

std::unique_ptr<Backend> make_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace segstream::kernels::cpu
