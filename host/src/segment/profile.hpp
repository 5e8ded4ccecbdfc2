// Segment profiles (internal to host): what `fit` and `assign` learn about each segment from the rows they
// labelled, and the names derived from it (io/profile.hpp holds the stored form).
#pragma once

#include <cstdint>
#include <vector>

#include "segstream/host/segment.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/profile.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::host::detail {

// Accumulates, block by block in row order, every feature column of a features file per segment: exact
// sums for the means and standard deviations, and the rows of a uniform sample (every row up to
// kMedianRows, chosen by a hash of the row index, so the same whatever the blocks) for the medians.
class ProfileBuilder {
 public:
  static constexpr std::uint64_t kMedianRows = std::uint64_t{1} << 19;
  // `threads`: CPU threads for the medians (0: OpenMP's default).
  ProfileBuilder(const io::FeatureFileReader& r, int k, int threads);
  // Rows [start, start + n) with their segments; reads the rows from the file.
  void add(std::uint64_t start, std::uint64_t n, const std::int32_t* segment);
  // The profiles, named (host::name_segments).
  io::SegmentProfiles finish();

 private:
  const io::FeatureFileReader& r_;
  std::size_t k_, d_;
  int threads_;
  std::uint64_t threshold_;  // a row is in the median sample when mix64(row) <= threshold_
  std::vector<float> block_;
  std::vector<double> shift_;             // d: the first row, for numerically kind sums
  std::vector<double> sum_, sum2_;        // k × d, shifted
  std::vector<std::uint64_t> finite_;     // k × d
  std::vector<std::uint64_t> customers_;  // k
  std::vector<float> sample_;             // sampled rows × d
  std::vector<std::int32_t> sample_segment_;
  bool have_shift_ = false;
};

// Labels every row of a features file with the nearest of k centres (model space: the columns idx through
// t) and profiles the segments: one streamed pass on `backend`.
io::SegmentProfiles profile_file(const io::FeatureFileReader& r, const std::vector<int>& idx,
                                 const Transform& t, const float* weights, const float* centres, int k,
                                 kernels::Backend& backend);

}  // namespace segstream::host::detail
