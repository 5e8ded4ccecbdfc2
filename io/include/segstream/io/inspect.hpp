// What `segstream inspect` shows: every dataset of an HDF5 file with its shape, type, chunking and
// attributes, and summary statistics per column computed in one streamed pass.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace segstream::io {

struct ColumnSummary {
  std::string name;         // column name (feature_names for 2-D datasets), else the dataset name
  std::uint64_t count = 0;  // finite values
  std::uint64_t non_finite = 0;
  double min = 0, max = 0, mean = 0, stddev = 0;  // over finite values (population standard deviation)
};

struct AttributeSummary {
  std::string name;
  std::string value;  // rendered as text
};

struct DatasetSummary {
  std::string path;
  std::string type;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> chunk;  // empty when contiguous
  std::uint64_t storage_bytes = 0;
  std::vector<AttributeSummary> attributes;
  std::vector<ColumnSummary> columns;  // numeric datasets only
};

struct FileSummary {
  std::string path;
  std::uint64_t file_bytes = 0;
  std::string format;  // the root `format` attribute, if any
  std::vector<AttributeSummary> attributes;
  std::vector<AttributeSummary> group_attributes_events;  // attributes of /events, when present
  std::vector<DatasetSummary> datasets;
};

// Opens, validates files that declare a segstream format (or hold /events) with that format's reader, and
// summarises every dataset.
// `progress(rows_done, rows_total)` is called while statistics are computed.
FileSummary inspect_file(const std::filesystem::path& path, bool with_statistics,
                         const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

}  // namespace segstream::io
