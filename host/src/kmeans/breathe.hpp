// The non-local phase of a fit (internal to the trainer): breathing k-means (Fritzke, "Breathing K-Means",
// arXiv:2006.15666, 2020) over TrainerState::Breath, one Lloyd pass per step.
//
//   converge ──► breathe in (+m centres beside those of largest error) ──► converge
//            ──► breathe out (−m of least utility, never two neighbours) ──► converge
//            ──► kept when Σ w·d² fell by more than 1e-4 of it, else m ← m − 1; until m = 0
//
// A Lloyd run ends when its centres move less than 1e-4 × the mean feature variance (scikit-learn's tol) or
// after kMaxLloydPasses passes; its result is the centres its last pass evaluated, so their error and utility
// are exact. The rows are the fit's own when there are few enough (breathing_rows), else a sample of them
// drawn from the seed; either way the same for every backend, thread count and source.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "passes.hpp"
#include "segstream/host/kmeans.hpp"

namespace segstream::host::detail {

inline constexpr int kMaxLloydPasses = 100;

class Breather {
 public:
  Breather(const RowSource& src, const KMeansConfig& config, std::uint64_t seed, kernels::Backend& backend);

  // The rows it works on, and whether they are a sample.
  const RowSource& rows() const { return *work_; }
  bool sampled() const { return sampled_; }

  // Starts the phase from st.centres (the stage is kBefore when the rows are a sample: the trainer then
  // measures the starting centres over all rows and sets kConverge). False when the phase cannot run
  // (k = 1, or too few rows to add a centre).
  bool begin(TrainerState& st);
  // One Lloyd pass; true when the phase is over and st.centres and st.absorbed hold its result.
  bool step(TrainerState& st);

 private:
  struct Runner {
    std::unique_ptr<kernels::BlockPipeline> pipeline;
    std::unique_ptr<PassRunner> passes;
  };
  PassRunner& runner(int centres);
  void breathe_in(TrainerState::Breath& b, const Pass& p, double inertia) const;
  void breathe_out(TrainerState::Breath& b, const Pass& p) const;

  const RowSource& src_;
  const KMeansConfig& cfg_;
  std::uint64_t seed_;
  kernels::Backend& backend_;
  std::vector<float> x_, w_;  // the sample, or a copy of rows that do not lie in memory
  std::unique_ptr<MemoryRows> held_;
  const RowSource* work_ = nullptr;
  bool sampled_ = false;
  double total_weight_ = 0;    // of the phase's rows
  double absorbed_scale_ = 1;  // all rows' weight over theirs
  std::map<int, Runner> runners_;
};

}  // namespace segstream::host::detail
