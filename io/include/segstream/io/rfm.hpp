// rfm.h5, written by `segstream rfm` (docs/FORMATS.md): every customer's R, F and M scores and segment, in
// the order of the features file, and a summary per segment. The one writer and the one validating reader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "segstream/io/customer_ids.hpp"
#include "segstream/io/provenance.hpp"

namespace segstream::io {

struct RfmFile {
  std::vector<std::uint64_t> customer_id;                      // n
  std::vector<std::uint8_t> scores;                            // n × 3: R, F, M, each 1..5
  std::vector<std::uint8_t> segment;                           // n, indices into segment_names
  std::vector<std::string> segment_names;                      // s, in the map's order
  std::vector<std::uint64_t> customers;                        // s
  std::vector<double> revenue, customer_share, revenue_share;  // s
  std::string scoring;                                         // rank-cut | quintile
  std::string map;                                             // rfm11 | rf10 | a CSV's name
  std::string source;                                          // the features file's name
  CustomerIds ids;                                             // the customers' own ids
};

void write_rfm(const std::filesystem::path& path, const std::string& display_name, const RfmFile& rfm,
               const Provenance& provenance);

// Validates format and version, the per-customer datasets (of one length, scores 1..5, segments that name
// one of the summary's) and the summary (of one length).
RfmFile read_rfm(const std::filesystem::path& path);

}  // namespace segstream::io
