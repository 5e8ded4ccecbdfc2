#include "segstream/io/features.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::io {
namespace {

// Calls visit(row, id) for every customer id of the file, in blocks of 1M.
template <class Visit>
void for_each_id(const FeatureFileReader& r, std::vector<std::uint64_t>& block, Visit&& visit) {
  for (std::uint64_t start = 0; start < r.rows(); start += block.size()) {
    throw_if_interrupted();
    const std::uint64_t count = std::min<std::uint64_t>(block.size(), r.rows() - start);
    r.read_ids(start, count, block.data());
    for (std::uint64_t i = 0; i < count; ++i) visit(start + i, block[i]);
  }
}

[[noreturn]] void throw_duplicate(const FeatureFileReader& r, std::uint64_t id, std::uint64_t first,
                                  std::uint64_t second) {
  throw InputError(fmt::format(
      "{}: customer id {} is in rows {} and {}; a features file has one row per customer (merge the "
      "customer's rows, or compute features again)",
      r.path(), id, first, second));
}

}  // namespace

void check_unique_customer_ids(const FeatureFileReader& r, std::uint64_t budget_bytes) {
  const std::uint64_t n = r.rows();
  if (n < 2) return;
  std::vector<std::uint64_t> block(std::min<std::uint64_t>(n, std::uint64_t{1} << 20));
  if (r.metadata().customer_order == kMix64Order) {
    std::uint64_t last_key = 0, last_id = 0;
    for_each_id(r, block, [&](std::uint64_t row, std::uint64_t id) {
      const std::uint64_t key = mix64(id);
      if (row > 0 && key <= last_key) {
        if (key == last_key) throw_duplicate(r, id, row - 1, row);
        throw InputError(
            fmt::format("{}: row {} (customer {}) breaks the order its customer_order attribute "
                        "states ({}; the row before is customer {})",
                        r.path(), row, id, kMix64Order, last_id));
      }
      last_key = key;
      last_id = id;
    });
    return;
  }
  // Any other order: the keys of one part of the key space at a time, sorted; equal neighbours are a
  // repeated id, whose two rows one more pass finds.
  const std::uint64_t parts = std::max<std::uint64_t>(
      1, (n * sizeof(std::uint64_t) + budget_bytes - 1) / std::max<std::uint64_t>(budget_bytes, 1));
  std::vector<std::uint64_t> keys;
  keys.reserve(static_cast<std::size_t>(n / parts + n / parts / 8 + 1024));
  for (std::uint64_t part = 0; part < parts; ++part) {
    keys.clear();
    for_each_id(r, block, [&](std::uint64_t, std::uint64_t id) {
      const std::uint64_t key = mix64(id);
      if (key % parts == part) keys.push_back(key);  // the keys are evenly spread
    });
    std::sort(keys.begin(), keys.end());
    const auto repeated = std::adjacent_find(keys.begin(), keys.end());
    if (repeated == keys.end()) continue;
    const std::uint64_t id = unmix64(*repeated);
    std::uint64_t first = n;
    for_each_id(r, block, [&](std::uint64_t row, std::uint64_t each) {
      if (each != id) return;
      if (first == n) {
        first = row;
        return;
      }
      throw_duplicate(r, id, first, row);
    });
  }
}

std::uint64_t default_feature_chunk_rows(std::uint64_t columns) {
  const std::uint64_t target = (std::uint64_t{4} << 20) / (4 * std::max<std::uint64_t>(columns, 1));
  return std::clamp<std::uint64_t>(std::bit_floor(std::max<std::uint64_t>(target, 1)), 1024,
                                   std::uint64_t{1} << 20);
}

FeatureFileReader::FeatureFileReader(const std::filesystem::path& path) : file_(File::open(path)) {
  expect_format(file_, "segstream.features", "segstream features file", true);
  features_ = file_.dataset("/features", ElementType::kFloat32, 2);
  ids_ = file_.dataset("/customer_id", ElementType::kUint64, 1);
  const auto dims = features_.dims();
  rows_ = dims[0];
  columns_ = dims[1];
  if (rows_ == 0)
    throw InputError(file_.path() + ": /features has zero rows, expected at least one customer");
  if (columns_ == 0)
    throw InputError(file_.path() + ": /features has zero columns, expected at least one feature");
  if (ids_.rows() != rows_)
    throw InputError(fmt::format("{}: /customer_id has {} rows but /features has {}; expected one id per row",
                                 file_.path(), ids_.rows(), rows_));
  if (features_.has_attribute("feature_names")) {
    names_ = features_.string_list_attribute("feature_names");
    if (names_.size() != columns_)
      throw InputError(fmt::format("{}: /features has {} columns but its feature_names attribute names {}",
                                   file_.path(), columns_, names_.size()));
  } else {
    throw InputError(file_.path() + ": /features has no feature_names attribute");
  }
  const auto chunk = features_.chunk_dims();
  chunk_rows_ = chunk.empty() ? default_feature_chunk_rows(columns_) : chunk[0];
  if (file_.has_attribute("mode")) metadata_.mode = file_.string_attribute("mode");
  if (file_.has_attribute("as_of")) metadata_.as_of = file_.time_attribute("as_of");
  if (file_.has_attribute("customer_order"))
    metadata_.customer_order = file_.string_attribute("customer_order");
  if (file_.has_attribute("parameters")) metadata_.parameters = file_.string_attribute("parameters");
  if (features_.has_attribute("feature_units")) {
    metadata_.units = features_.string_list_attribute("feature_units");
    if (metadata_.units.size() != columns_)
      throw InputError(fmt::format("{}: /features has {} columns but its feature_units attribute gives {}",
                                   file_.path(), columns_, metadata_.units.size()));
  }
}

FeatureFileWriter::FeatureFileWriter(const std::filesystem::path& path,
                                     std::vector<std::string> feature_names, std::uint64_t chunk_rows,
                                     const std::string& display_name)
    : file_(File::create(path, display_name)),
      names_(std::move(feature_names)),
      chunk_rows_(chunk_rows ? chunk_rows : default_feature_chunk_rows(names_.size())) {
  SEGSTREAM_EXPECTS(!names_.empty(), "a feature matrix needs at least one column");
  const hsize_t d = names_.size();
  features_ = file_.create_dataset<float>("/features", DatasetOptions{{0, d}, {chunk_rows_, d}, true, 0});
  ids_ = file_.create_dataset<std::uint64_t>("/customer_id", DatasetOptions{{0}, {chunk_rows_}, true, 0});
  staged_rows_.resize(chunk_rows_ * d);
  staged_ids_.resize(chunk_rows_);
}

void FeatureFileWriter::append(const float* rows, const std::uint64_t* ids, std::uint64_t count) {
  const std::uint64_t d = names_.size();
  std::uint64_t done = 0;
  while (done < count) {
    const std::uint64_t take = std::min(count - done, chunk_rows_ - staged_);
    std::memcpy(staged_rows_.data() + staged_ * d, rows + done * d, take * d * sizeof(float));
    std::memcpy(staged_ids_.data() + staged_, ids + done, take * sizeof(std::uint64_t));
    staged_ += take;
    done += take;
    if (staged_ == chunk_rows_) flush_staged();
  }
}

void FeatureFileWriter::flush_staged() {
  if (staged_ == 0) return;
  features_.write_rows(written_, staged_, staged_rows_.data());
  ids_.write_rows(written_, staged_, staged_ids_.data());
  written_ += staged_;
  staged_ = 0;
}

void FeatureFileWriter::close(const FeatureFileMetadata& m, const Provenance& provenance) {
  SEGSTREAM_ASSERT(m.units.empty() || m.units.size() == names_.size(), "{} units for {} feature columns",
                   m.units.size(), names_.size());
  if (!m.units.empty()) features_.set_attribute("feature_units", m.units);
  write_provenance(file_, provenance);
  if (!m.mode.empty()) file_.set_attribute("mode", m.mode);
  if (m.as_of) file_.set_attribute("as_of", *m.as_of);
  if (!m.customer_order.empty()) file_.set_attribute("customer_order", m.customer_order);
  if (!m.parameters.empty()) file_.set_attribute("parameters", m.parameters);
  close();
}

void FeatureFileWriter::close() {
  flush_staged();
  features_.set_attribute("feature_names", names_);
  features_ = Dataset();
  ids_ = Dataset();
  file_.close();
}

}  // namespace segstream::io
