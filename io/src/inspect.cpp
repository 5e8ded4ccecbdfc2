#include "segstream/io/inspect.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/time.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/prefetch.hpp"
#include "segstream/io/provenance.hpp"
#include "segstream/io/rfm.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/io/state.hpp"

namespace segstream::io {
namespace {

// Welford's running mean and variance, updated in row order, so the result does not depend on block sizes.
struct Moments {
  std::uint64_t n = 0, non_finite = 0;
  double mean = 0, m2 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  void add(double x) {
    if (!std::isfinite(x)) {
      ++non_finite;
      return;
    }
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
    min = std::min(min, x);
    max = std::max(max, x);
  }
};

std::vector<AttributeSummary> attributes_of(const AttributeHolder& holder) {
  std::vector<AttributeSummary> out;
  for (const auto& name : holder.attribute_names()) out.push_back({name, holder.attribute_as_text(name)});
  return out;
}

void summarise_columns(const Dataset& ds, DatasetSummary& summary,
                       const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const auto dims = ds.dims();
  if (dims.empty() || dims.size() > 2) return;
  const std::uint64_t rows = dims[0];
  const std::uint64_t cols = dims.size() == 2 ? dims[1] : 1;
  std::vector<std::string> names;
  if (dims.size() == 2 && ds.has_attribute("feature_names"))
    names = ds.string_list_attribute("feature_names");
  if (names.size() != cols) {
    names.clear();
    for (std::uint64_t c = 0; c < cols; ++c)
      names.push_back(cols == 1 ? ds.name() : ds.name() + "[" + std::to_string(c) + "]");
  }
  std::vector<Moments> moments(cols);
  const std::uint64_t block_rows = std::max<std::uint64_t>(1, (std::uint64_t{8} << 20) / (8 * cols));
  std::vector<std::vector<double>> storage(3, std::vector<double>(block_rows * cols));
  std::vector<std::vector<double>*> ring{&storage[0], &storage[1], &storage[2]};
  Prefetcher<std::vector<double>> reader(ring, rows, block_rows,
                                         [&](std::uint64_t start, std::uint64_t n, std::vector<double>& buf) {
                                           ds.read_rows(start, n, buf.data());
                                         });
  while (auto block = reader.next()) {
    throw_if_interrupted();
    const double* data = block->slot->data();
    for (std::uint64_t r = 0; r < block->rows; ++r)
      for (std::uint64_t c = 0; c < cols; ++c) moments[c].add(data[r * cols + c]);
    if (progress) progress(block->start + block->rows, rows);
  }
  for (std::uint64_t c = 0; c < cols; ++c) {
    const Moments& m = moments[c];
    ColumnSummary col{names[c], m.n, m.non_finite, 0, 0, 0, 0};
    if (m.n > 0) {
      col.min = m.min;
      col.max = m.max;
      col.mean = m.mean;
      col.stddev = std::sqrt(m.m2 / static_cast<double>(m.n));
    }
    summary.columns.push_back(std::move(col));
  }
}

// What features refuses in an events file's rows: an event code past the file's event type names, a time
// outside the stated range (core/time.hpp). One pass over the two columns.
void check_event_rows(const EventFileReader& events) {
  const File& file = events.file();
  const Group group = file.group("/events");
  const std::size_t known = group.has_attribute("event_type_names")
                                ? group.string_list_attribute("event_type_names").size()
                                : standard_event_type_names().size();
  const Dataset types = file.dataset("/events/event_type", ElementType::kUint8, 1);
  const Dataset times = file.dataset("/events/timestamp", ElementType::kInt64, 1);
  constexpr std::uint64_t kBlock = std::uint64_t{1} << 20;
  std::vector<std::uint8_t> type(std::min(kBlock, events.rows()));
  std::vector<std::int64_t> time(type.size());
  for (std::uint64_t start = 0; start < events.rows(); start += kBlock) {
    throw_if_interrupted();
    const std::uint64_t n = std::min(kBlock, events.rows() - start);
    types.read_rows(start, n, ElementType::kUint8, type.data());
    times.read_rows(start, n, ElementType::kInt64, time.data());
    for (std::uint64_t i = 0; i < n; ++i) {
      if (type[i] >= known)
        throw InputError(fmt::format("{}: row {}: /events/event_type is {}, not a known code (0..{})",
                                     file.path(), start + i, type[i], known - 1));
      if (!time_in_range(time[i]))
        throw InputError(fmt::format("{}: row {}: /events/timestamp {} is not a time from {}", file.path(),
                                     start + i, time[i], kTimeRangeText));
    }
  }
}

}  // namespace

FileSummary inspect_file(const std::filesystem::path& path, bool with_statistics,
                         const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  File file = File::open(path);
  FileSummary out;
  out.path = file.path();
  std::error_code ec;
  out.file_bytes = std::filesystem::file_size(path, ec);
  if (file.has_attribute("format")) out.format = file.string_attribute("format");
  // Files that say what they are are validated by their format's reader, so inspect doubles as a schema
  // check; a segstream format this build does not know is refused.
  if (out.format == "segstream.events" || (out.format.empty() && file.has("/events"))) {
    const EventFileReader validate(path);
    if (with_statistics) check_event_rows(validate);  // --no-stats checks the schema and metadata alone
  } else if (out.format == "segstream.features")
    FeatureFileReader validate(path);
  else if (out.format == "segstream.model")
    read_model(path);
  else if (out.format == "segstream.segments")
    SegmentsReader validate(path);
  else if (out.format == "segstream.rfm")
    read_rfm(path);
  else if (out.format == "segstream.state") {
    // The record's layout is the features engine's: its width is taken from the file, all else checked.
    const std::vector<hsize_t> dims =
        file.has("/state/record") ? file.dataset("/state/record").dims() : std::vector<hsize_t>{};
    const StateFileReader validate(path, dims.size() == 2 ? static_cast<std::size_t>(dims[1]) : 0);
  } else if (out.format.rfind("segstream.", 0) == 0)
    throw InputError(out.path + ": format '" + out.format + "' is not one this segstream reads");

  out.attributes = attributes_of(file);
  if (file.has("/events")) out.group_attributes_events = attributes_of(file.group("/events"));

  std::uint64_t total_rows = 0, done_rows = 0;
  std::vector<Dataset> datasets;
  for (const auto& name : file.dataset_paths()) {
    datasets.push_back(file.dataset(name));
    const auto type = datasets.back().element_type();
    if (type != ElementType::kString && type != ElementType::kOther) total_rows += datasets.back().rows();
  }
  for (const Dataset& ds : datasets) {
    DatasetSummary s;
    s.path = ds.name();
    const ElementType type = ds.element_type();
    s.type = element_type_name(type);
    for (auto d : ds.dims()) s.shape.push_back(d);
    for (auto c : ds.chunk_dims()) s.chunk.push_back(c);
    s.storage_bytes = ds.storage_bytes();
    s.attributes = attributes_of(ds);
    if (with_statistics && type != ElementType::kString && type != ElementType::kOther) {
      const std::uint64_t base = done_rows;
      summarise_columns(ds, s, [&](std::uint64_t done, std::uint64_t) {
        if (progress) progress(base + done, total_rows);
      });
      done_rows += ds.rows();
    }
    out.datasets.push_back(std::move(s));
  }
  return out;
}

}  // namespace segstream::io
