// segments.h5, written by `assign` (docs/FORMATS.md): every customer's segment, squared distance and margin,
// in the row order of the features file. The one writer (streaming, blocks of rows in order) and the one
// validating reader of the format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "segstream/io/profile.hpp"
#include "segstream/io/provenance.hpp"

namespace segstream::io {

// Rows per chunk of every segments dataset.
inline constexpr std::uint64_t kSegmentChunkRows = 65536;

struct SegmentsSummary {
  std::string model;     // the model file's name
  std::string features;  // the features file's name
  std::int64_t k = 0;
  double inertia = 0;        // Σ w·d² over all rows, in model space
  SegmentProfiles profiles;  // of the assigned rows, with the model's names (k() == 0: none stored)
  std::vector<std::int32_t>
      segment_id;                     // k: the model's stable id of each segment (written: 0..k−1 if empty)
  std::string migration;              // JSON: how customers moved since the previous segments (update)
  std::optional<std::int64_t> as_of;  // the features file's observation end t0 (Unix s), when it has one
  std::string customer_order;         // the features file's customer_order, when it states one
};

class SegmentsWriter {
 public:
  // Errors name `display_name` (see File::create).
  SegmentsWriter(const std::filesystem::path& path, const std::string& display_name);
  // Appends n rows: ids, segments, squared distances and margins.
  void append(std::uint64_t n, const std::uint64_t* ids, const std::int32_t* segment, const float* distance2,
              const float* margin);
  // With each append (update): the same rows' previous segment ids (−1: new to the data).
  void append_previous(std::uint64_t n, const std::int32_t* previous);
  std::uint64_t rows() const { return rows_; }
  const File& file() const { return file_; }
  // Writes the summary and the provenance and closes (ResourceError on a full disk).
  void close(const SegmentsSummary& summary, const Provenance& provenance);

 private:
  File file_;
  Dataset ids_, segment_, distance2_, margin_, previous_;
  bool has_previous_ = false;
  std::uint64_t rows_ = 0, previous_rows_ = 0;
};

// Validates format and version, the four datasets (1-D, their types, of equal length) and the summary, with
// every segment in [0, k).
class SegmentsReader {
 public:
  explicit SegmentsReader(const std::filesystem::path& path);
  const std::string& path() const { return file_.path(); }
  std::uint64_t rows() const { return rows_; }
  const SegmentsSummary& summary() const { return summary_; }
  const File& file() const { return file_; }
  void read(std::uint64_t start, std::uint64_t n, std::uint64_t* ids, std::int32_t* segment, float* distance2,
            float* margin) const;
  bool has_previous() const { return has_previous_; }
  void read_previous(std::uint64_t start, std::uint64_t n, std::int32_t* previous) const;

 private:
  File file_;
  Dataset ids_, segment_, distance2_, margin_, previous_;
  bool has_previous_ = false;
  std::uint64_t rows_ = 0;
  SegmentsSummary summary_;
};

}  // namespace segstream::io
