#include "segstream/io/segments.hpp"

#include "small_datasets.hpp"

#include <algorithm>
#include <vector>

namespace segstream::io {

SegmentsWriter::SegmentsWriter(const std::filesystem::path& path, const std::string& display_name)
    : file_(File::create(path, display_name)) {
  const DatasetOptions rows{{0}, {kSegmentChunkRows}, true, 0};
  ids_ = file_.create_dataset<std::uint64_t>("/customer_id", rows);
  segment_ = file_.create_dataset<std::int32_t>("/segment", rows);
  distance2_ = file_.create_dataset<float>("/distance2", rows);
  margin_ = file_.create_dataset<float>("/margin", rows);
}

void SegmentsWriter::append(std::uint64_t n, const std::uint64_t* ids, const std::int32_t* segment,
                            const float* distance2, const float* margin) {
  ids_.write_rows(rows_, n, ids);
  segment_.write_rows(rows_, n, segment);
  distance2_.write_rows(rows_, n, distance2);
  margin_.write_rows(rows_, n, margin);
  rows_ += n;
}

void SegmentsWriter::append_previous(std::uint64_t n, const std::int32_t* previous) {
  if (!has_previous_) {
    const DatasetOptions rows{{0}, {kSegmentChunkRows}, true, 0};
    previous_ = file_.create_dataset<std::int32_t>("/previous_segment", rows);
    has_previous_ = true;
  }
  previous_.write_rows(previous_rows_, n, previous);
  previous_rows_ += n;
}

void SegmentsWriter::close(const SegmentsSummary& summary, const Provenance& provenance) {
  SEGSTREAM_ASSERT(!has_previous_ || previous_rows_ == rows_, "{} previous segments for {} rows",
                   previous_rows_, rows_);
  std::vector<std::int32_t> ids = summary.segment_id;
  for (std::int64_t s = 0; ids.empty() && s < summary.k; ++s) ids.push_back(static_cast<std::int32_t>(s));
  ids.resize(static_cast<std::size_t>(summary.k), 0);
  detail::write_vector(file_, "/segment_id", ids);
  if (!summary.migration.empty()) file_.set_attribute("migration", summary.migration);
  write_provenance(file_, provenance);
  file_.set_attribute("model", summary.model);
  file_.set_attribute("features", summary.features);
  file_.set_attribute("k", summary.k);
  file_.set_attribute("inertia", summary.inertia);
  if (summary.as_of) file_.set_attribute("as_of", *summary.as_of);
  if (!summary.customer_order.empty()) file_.set_attribute("customer_order", summary.customer_order);
  if (summary.profiles.k() > 0) write_profiles(file_, summary.profiles);
  ids_ = Dataset();
  segment_ = Dataset();
  distance2_ = Dataset();
  margin_ = Dataset();
  previous_ = Dataset();
  file_.close();
}

SegmentsReader::SegmentsReader(const std::filesystem::path& path) : file_(File::open(path)) {
  expect_format(file_, "segstream.segments", "segstream segments file");
  ids_ = file_.dataset("/customer_id", ElementType::kUint64, 1);
  segment_ = file_.dataset("/segment", ElementType::kInt32, 1);
  distance2_ = file_.dataset("/distance2", ElementType::kFloat32, 1);
  margin_ = file_.dataset("/margin", ElementType::kFloat32, 1);
  rows_ = ids_.rows();
  for (const Dataset* ds : {&segment_, &distance2_, &margin_})
    SEGSTREAM_CHECK_INPUT(ds->rows() == rows_, "{}: {} has {} rows but /customer_id has {}", file_.path(),
                          ds->name(), ds->rows(), rows_);
  summary_.model = file_.string_attribute("model");
  summary_.features = file_.string_attribute("features");
  summary_.k = file_.int_attribute("k");
  summary_.inertia = file_.float_attribute("inertia");
  SEGSTREAM_CHECK_INPUT(summary_.k >= 1, "{}: k is {}, expected at least one segment", file_.path(),
                        summary_.k);
  read_profiles(file_, static_cast<std::size_t>(summary_.k), summary_.profiles);
  // Files written before stable ids have none: their ids are the indices.
  if (file_.has("/segment_id")) {
    summary_.segment_id =
        detail::read_vector<std::int32_t>(file_, "/segment_id", static_cast<std::uint64_t>(summary_.k));
  } else {
    for (std::int64_t s = 0; s < summary_.k; ++s) summary_.segment_id.push_back(static_cast<std::int32_t>(s));
  }
  if (file_.has_attribute("migration")) summary_.migration = file_.string_attribute("migration");
  if (file_.has_attribute("as_of")) summary_.as_of = file_.time_attribute("as_of");
  if (file_.has_attribute("customer_order"))
    summary_.customer_order = file_.string_attribute("customer_order");
  if (file_.has("/previous_segment")) {
    previous_ = file_.dataset("/previous_segment", ElementType::kInt32, 1);
    SEGSTREAM_CHECK_INPUT(previous_.rows() == rows_,
                          "{}: /previous_segment has {} rows but /customer_id has {}", file_.path(),
                          previous_.rows(), rows_);
    has_previous_ = true;
  }
  // Every segment is one of the k: checked a block at a time.
  constexpr std::uint64_t kBlock = std::uint64_t{1} << 20;
  std::vector<std::int32_t> block;
  for (std::uint64_t start = 0; start < rows_; start += kBlock) {
    const std::uint64_t n = std::min(kBlock, rows_ - start);
    block.resize(n);
    segment_.read_rows(start, n, block.data());
    for (std::uint64_t i = 0; i < n; ++i)
      SEGSTREAM_CHECK_INPUT(block[i] >= 0 && block[i] < summary_.k,
                            "{}: /segment row {} is {}, expected 0..{}", file_.path(), start + i, block[i],
                            summary_.k - 1);
  }
}

void SegmentsReader::read(std::uint64_t start, std::uint64_t n, std::uint64_t* ids, std::int32_t* segment,
                          float* distance2, float* margin) const {
  if (ids != nullptr) ids_.read_rows(start, n, ids);
  if (segment != nullptr) segment_.read_rows(start, n, segment);
  if (distance2 != nullptr) distance2_.read_rows(start, n, distance2);
  if (margin != nullptr) margin_.read_rows(start, n, margin);
}

void SegmentsReader::read_previous(std::uint64_t start, std::uint64_t n, std::int32_t* previous) const {
  SEGSTREAM_EXPECTS(has_previous_, "{}: has no /previous_segment", file_.path());
  previous_.read_rows(start, n, previous);
}

}  // namespace segstream::io
