// Segment profiles, stored under /profile in model.h5 (the fitted rows) and segments.h5 (the assigned
// rows) (docs/FORMATS.md, "Segment profiles"): per segment its customers, shares of customers and of
// revenue, the mean and median of every feature column in natural units, how far each mean lies from the
// population's in population standard deviations, what sets it apart, and its name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace segstream::io {

class File;

struct SegmentProfiles {
  std::vector<std::string> columns;  // D: every feature column of the profiled file
  std::vector<std::string> units;    // D, or empty
  std::string revenue_column;        // the column revenue shares are of; empty when the file has none
  std::uint64_t rows = 0;            // customers profiled
  std::uint64_t median_rows = 0;     // rows of the uniform sample the medians are taken over
  std::vector<double> population_mean, population_sd, population_median;  // D
  // k segments:
  std::vector<std::string> name;
  std::vector<std::uint64_t> customers;
  std::vector<double> customer_share, revenue_share;  // revenue_share empty without a revenue column
  std::vector<double> mean, median, z;                // k × D, row-major
  std::vector<std::string> apart;                     // what sets each segment apart, as text

  std::size_t k() const { return name.size(); }
  std::size_t d() const { return columns.size(); }
};

// Writes /profile into a file being written.
void write_profiles(const File& file, const SegmentProfiles& p);
// Reads /profile, validated for `k` segments (InputError naming the file and dataset); false when absent.
bool read_profiles(const File& file, std::size_t k, SegmentProfiles& out);

}  // namespace segstream::io
