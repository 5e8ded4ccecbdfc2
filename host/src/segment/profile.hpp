// Segment profiles (internal to host): what `fit` and `assign` learn about each segment from the rows they
// labelled, and the names derived from it (io/profile.hpp holds the stored form).
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "segstream/host/kmeans.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/profile.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::host::detail {

// Accumulates, block by block in row order (runs of kChunkRows from each block's start in parallel), every
// feature column of a features file per segment: exact sums for the means and standard deviations, and the
// rows of a uniform sample (every row up to kMedianRows, chosen by a hash of the row index, so the same
// whatever the blocks) for the medians.
class ProfileBuilder {
 public:
  static constexpr std::uint64_t kMedianRows = std::uint64_t{1} << 19;
  static constexpr std::uint64_t kChunkRows = 4096;  // rows summed on their own before they join the sums
  // `threads`: CPU threads for the medians (0: OpenMP's default).
  ProfileBuilder(const io::FeatureFileReader& r, int k, int threads);
  // Rows [start, start + n) with their segments, the rows as read with every column of the file.
  void add(std::uint64_t start, std::uint64_t n, const std::int32_t* segment, const float* rows);
  // The profiles, named (host::name_segments).
  io::SegmentProfiles finish();

 private:
  const io::FeatureFileReader& r_;
  std::size_t k_, d_;
  int threads_;
  std::uint64_t threshold_;  // a row is in the median sample when mix64(row) <= threshold_
  struct Partial {           // one run of kChunkRows rows of a block
    std::vector<double> sum, sum2;
    std::vector<std::uint64_t> finite, customers;
    std::vector<std::uint64_t> sampled;  // the run's rows in the median sample, as block offsets
  };
  std::vector<Partial> partial_;
  std::vector<double> shift_;             // d: the first row, for numerically kind sums
  std::vector<double> sum_, sum2_;        // k × d, shifted
  std::vector<std::uint64_t> finite_;     // k × d
  std::vector<std::uint64_t> customers_;  // k
  std::vector<float> sample_;             // sampled rows × d
  std::vector<std::int32_t> sample_segment_;
  bool have_shift_ = false;
};

// A features file's rows in model space (the columns idx through t, checked finite as FileRows checks
// them) for a pass that also profiles: each block is read once with every column, and those natural rows
// stay held, oldest first, until the pass's callback takes them for the profile.
class ProfiledRows : public RowSource {
 public:
  ProfiledRows(const io::FeatureFileReader& r, const std::vector<int>& idx, const Transform* t,
               const float* weights)
      : r_(r), idx_(idx), t_(t), w_(weights) {}
  std::uint64_t rows() const override { return r_.rows(); }
  int d() const override { return static_cast<int>(idx_.size()); }
  const float* weights() const override { return w_; }
  void read(std::uint64_t start, std::uint64_t n, float* out) const override;
  // The natural rows of the oldest block held, which must start at `start`; give them back when done.
  std::vector<float> take(std::uint64_t start) const;
  void give_back(std::vector<float> rows) const;

 private:
  const io::FeatureFileReader& r_;
  const std::vector<int>& idx_;
  const Transform* t_;
  const float* w_;
  mutable std::deque<std::pair<std::uint64_t, std::vector<float>>> held_;
  mutable std::vector<std::vector<float>> spare_;
};

// Labels every row of a features file with the nearest of k centres (model space: the columns idx through
// t) and profiles the segments: one streamed pass on `backend`.
io::SegmentProfiles profile_file(const io::FeatureFileReader& r, const std::vector<int>& idx,
                                 const Transform& t, const float* weights, const float* centres, int k,
                                 kernels::Backend& backend);

}  // namespace segstream::host::detail
