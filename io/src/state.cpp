#include "segstream/io/state.hpp"

#include <nlohmann/json.hpp>

namespace segstream::io {

StateFileWriter::StateFileWriter(const std::filesystem::path& path, const std::string& display_name,
                                 std::size_t record_bytes)
    : file_(File::create(path, display_name)), record_bytes_(record_bytes) {
  file_.create_group("/state");
  ids_ = file_.create_dataset<std::uint64_t>("/state/customer_id", DatasetOptions{{0}, {kChunk}, true, 1});
  records_ = file_.create_dataset<std::uint8_t>(
      "/state/record", DatasetOptions{{0, record_bytes}, {kChunk, record_bytes}, true, 1});
}

void StateFileWriter::append(std::uint64_t n, const std::uint64_t* ids, const void* records) {
  staged_ids_.insert(staged_ids_.end(), ids, ids + n);
  const auto* bytes = static_cast<const std::uint8_t*>(records);
  staged_.insert(staged_.end(), bytes, bytes + n * record_bytes_);
  if (staged_ids_.size() >= kChunk) flush(staged_ids_.size() / kChunk * kChunk);
}

void StateFileWriter::flush(std::uint64_t n) {
  if (n == 0) return;
  ids_.write_rows(rows_, n, staged_ids_.data());
  records_.write_rows(rows_, n, staged_.data());
  rows_ += n;
  staged_ids_.erase(staged_ids_.begin(), staged_ids_.begin() + static_cast<std::ptrdiff_t>(n));
  staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(n * record_bytes_));
}

void StateFileWriter::close(const StateMetadata& m, const Provenance& provenance) {
  flush(staged_ids_.size());
  ids_ = Dataset();
  records_ = Dataset();
  write_provenance(file_, provenance);
  file_.set_attribute("as_of", m.as_of);
  file_.set_attribute("identity", m.identity);
  file_.set_attribute("events_folded", static_cast<std::int64_t>(m.events_folded));
  file_.set_attribute("category_cents", nlohmann::json(m.category_cents).dump());
  file_.set_attribute("channel_slots", m.channel_slots);
  file_.close();
}

StateFileReader::StateFileReader(const std::filesystem::path& path, std::size_t record_bytes)
    : file_(File::open(path)) {
  const std::string& in = file_.path();
  expect_format(file_, "segstream.state", "segstream state file");
  metadata_.as_of = file_.time_attribute("as_of");
  metadata_.identity = file_.string_attribute("identity");
  const std::int64_t folded = file_.int_attribute("events_folded");
  SEGSTREAM_CHECK_INPUT(folded >= 0, "{}: events_folded is {}, expected a count", in, folded);
  metadata_.events_folded = static_cast<std::uint64_t>(folded);
  try {
    metadata_.category_cents =
        nlohmann::json::parse(file_.string_attribute("category_cents")).get<std::vector<std::int64_t>>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(in + ": category_cents is not a JSON list of integers");
  }
  metadata_.channel_slots = file_.int_attribute("channel_slots");
  ids_ = file_.dataset("/state/customer_id", ElementType::kUint64, 1);
  records_ = file_.dataset("/state/record", ElementType::kUint8, 2);
  customers_ = ids_.rows();
  SEGSTREAM_CHECK_INPUT(records_.rows() == customers_ && records_.dims()[1] == record_bytes,
                        "{}: /state/record is {} x {}, expected {} x {}", in, records_.rows(),
                        records_.dims()[1], customers_, record_bytes);
}

void StateFileReader::read(std::uint64_t start, std::uint64_t n, std::uint64_t* ids, void* records) const {
  ids_.read_rows(start, n, ids);
  records_.read_rows(start, n, static_cast<std::uint8_t*>(records));
}

}  // namespace segstream::io
