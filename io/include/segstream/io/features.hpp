// features.h5: one row per customer, `/features` float32 [N × D] chunked by rows in natural units, and
// `/customer_id` uint64 [N] (docs/FORMATS.md). The reader validates the schema; row blocks stream into
// caller-provided buffers (row-major, rows × D). The writer appends rows with whole-chunk writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segstream/io/hdf5.hpp"
#include "segstream/io/provenance.hpp"

namespace segstream::io {

// Rows per chunk for a D-column float32 matrix: about 4 MiB per chunk, a power of two between 1,024 and
// 1,048,576 rows. Streaming reads whole chunks straight into the caller's buffer.
std::uint64_t default_feature_chunk_rows(std::uint64_t columns);

// The customer_order of files whose rows ascend by the SplitMix64 finaliser of the id (`features`' order).
inline constexpr std::string_view kMix64Order = "ascending mix64(customer_id)";

// What a features file says about its columns and rows besides the matrix.
struct FeatureFileMetadata {
  std::string mode;                // behavioral | lifetimes | rfm | synthetic-mixture; empty: none recorded
  std::vector<std::string> units;  // one per column, or empty
  std::optional<std::int64_t> as_of;  // the observation end t0 (Unix s)
  std::string customer_order;         // e.g. "ascending mix64(customer_id)", or empty
  std::string parameters;             // JSON of the feature set's parameters, or empty
};

class FeatureFileReader {
 public:
  // Validates the format (segstream.features, version 1, when the file names one: files written by other
  // tools may have none), /features (float32, rank 2, at least one row and column), /customer_id (uint64,
  // rank 1, one per row), the feature_names attribute (one per column) and feature_units when present.
  explicit FeatureFileReader(const std::filesystem::path& path);
  const std::string& path() const { return file_.path(); }
  const File& file() const { return file_; }
  std::uint64_t rows() const { return rows_; }
  std::uint64_t columns() const { return columns_; }
  const std::vector<std::string>& feature_names() const { return names_; }
  const FeatureFileMetadata& metadata() const { return metadata_; }
  std::uint64_t chunk_rows() const { return chunk_rows_; }

  // Rows [start, start + count) into dst (count × columns floats, row-major).
  void read_rows(std::uint64_t start, std::uint64_t count, float* dst) const {
    features_.read_rows(start, count, dst);
  }
  void read_ids(std::uint64_t start, std::uint64_t count, std::uint64_t* dst) const {
    ids_.read_rows(start, count, dst);
  }

 private:
  File file_;
  Dataset features_;
  Dataset ids_;
  std::vector<std::string> names_;
  FeatureFileMetadata metadata_;
  std::uint64_t rows_ = 0;
  std::uint64_t columns_ = 0;
  std::uint64_t chunk_rows_ = 0;
};

// Throws InputError naming both rows when a customer id appears twice in the file (a features file has one
// row per customer: a repeated one would count twice in a fit and be ambiguous in segments). A file in
// features' order (kMix64Order) is checked in one streaming pass, and a break of that order is refused as
// well; any other order sorts the ids' keys, in as many passes over the ids as `budget_bytes` (8 bytes a
// customer) requires.
void check_unique_customer_ids(const FeatureFileReader& r, std::uint64_t budget_bytes);

class FeatureFileWriter {
 public:
  FeatureFileWriter(const std::filesystem::path& path, std::vector<std::string> feature_names,
                    std::uint64_t chunk_rows = 0 /* 0 = default_feature_chunk_rows */,
                    const std::string& display_name = "");
  const File& file() const { return file_; }
  std::uint64_t columns() const { return names_.size(); }
  std::uint64_t rows() const { return written_ + staged_; }
  // Appends `count` rows (row-major) and their customer ids.
  void append(const float* rows, const std::uint64_t* ids, std::uint64_t count);
  // Writes the rest, the feature_names attribute, the metadata and the provenance (format
  // segstream.features), and closes (ResourceError on a full disk).
  void close(const FeatureFileMetadata& metadata, const Provenance& provenance);
  // The same without metadata or provenance: feature files that only tests read.
  void close();

 private:
  void flush_staged();
  File file_;
  std::vector<std::string> names_;
  Dataset features_;
  Dataset ids_;
  std::uint64_t chunk_rows_;
  std::vector<float> staged_rows_;
  std::vector<std::uint64_t> staged_ids_;
  std::uint64_t staged_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace segstream::io
