#include "segstream/io/events.hpp"

#include "parallel_pread.hpp"

#include <algorithm>
#include <cstring>

namespace segstream::io {

const std::vector<std::string>& standard_event_type_names() {
  static const std::vector<std::string> names = {
      "page_view", "content_view", "email_open",     "email_click", "search",   "cart_add",  "purchase",
      "return",    "app_session",  "support_ticket", "review",      "referral", "email_sent"};
  return names;
}

const std::array<EventColumnSpec, 7>& event_columns() {
  static const std::array<EventColumnSpec, 7> specs = {{{"customer_id", ElementType::kUint64},
                                                        {"timestamp", ElementType::kInt64},
                                                        {"event_type", ElementType::kUint8},
                                                        {"amount", ElementType::kFloat32},
                                                        {"category", ElementType::kUint16},
                                                        {"channel", ElementType::kUint8},
                                                        {"discount", ElementType::kFloat32}}};
  return specs;
}

void* EventColumns::column(std::size_t i) const {
  switch (i) {
    case 0:
      return customer_id;
    case 1:
      return timestamp;
    case 2:
      return event_type;
    case 3:
      return amount;
    case 4:
      return category;
    case 5:
      return channel;
    case 6:
      return discount;
    default:
      return nullptr;
  }
}

void EventBuffer::resize(std::size_t capacity) {
  customer_id_.resize(capacity);
  timestamp_.resize(capacity);
  event_type_.resize(capacity);
  amount_.resize(capacity);
  category_.resize(capacity);
  channel_.resize(capacity);
  discount_.resize(capacity);
  order_id_.resize(capacity);
}

EventColumns EventBuffer::view() {
  return EventColumns{customer_id_.data(), timestamp_.data(), event_type_.data(), amount_.data(),
                      category_.data(),    channel_.data(),   discount_.data(),   order_id_.data()};
}

EventFileReader::EventFileReader(const std::filesystem::path& path) : file_(File::open(path)) {
  expect_format(file_, "segstream.events", "segstream events file", true);
  if (!file_.has("/events"))
    throw InputError(file_.path() + ": group /events is missing (not an events file?)");
  std::optional<std::uint64_t> length;
  std::string first_name;
  for (const auto& spec : event_columns()) {
    const std::string name = std::string("/events/") + spec.name;
    Dataset ds = file_.dataset(name, spec.type, 1);
    const std::uint64_t n = ds.rows();
    if (length && n != *length)
      throw InputError(
          fmt::format("{}: dataset {} has {} rows but {} has {}; event columns must be of equal length",
                      file_.path(), name, n, first_name, *length));
    if (!length) {
      length = n;
      first_name = name;
    }
    columns_.push_back(std::move(ds));
  }
  rows_ = *length;
  for (const char* name : {"as_of", "window_start"})
    if (file_.has_attribute(name)) file_.time_attribute(name);  // refused when out of range
  if (rows_ == 0) throw InputError(file_.path() + ": /events has zero rows, expected at least one event");
  if (file_.has("/events/order_id")) {
    order_id_ = file_.dataset("/events/order_id", ElementType::kUint64, 1);
    if (order_id_->rows() != rows_)
      throw InputError(fmt::format("{}: dataset /events/order_id has {} rows but {} has {}", file_.path(),
                                   order_id_->rows(), first_name, rows_));
  }
}

void EventFileReader::read(std::uint64_t start, std::uint64_t count, const EventColumns& dst) const {
  // The direct pieces of all wanted columns go to the read pool together, so the disk sees them at once;
  // a column that does not qualify is read through HDF5, and a column without a destination not at all.
  std::vector<FileSegment> segments;
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (dst.column(i) != nullptr &&
        !columns_[i].plan_direct_read(start, count, event_columns()[i].type, dst.column(i), segments))
      columns_[i].read_rows(start, count, event_columns()[i].type, dst.column(i));
  if (order_id_ && dst.order_id != nullptr &&
      !order_id_->plan_direct_read(start, count, ElementType::kUint64, dst.order_id, segments))
    order_id_->read_rows(start, count, dst.order_id);
  if (!segments.empty()) detail::PreadPool::shared().read(columns_[0].direct_fd(), segments, file_.path());
}

EventFileWriter::EventFileWriter(const std::filesystem::path& path, std::uint64_t chunk_rows,
                                 const std::string& display_name, bool with_order_id)
    : file_(File::create(path, display_name)), chunk_rows_(chunk_rows), staging_(chunk_rows) {
  SEGSTREAM_EXPECTS(chunk_rows > 0, "chunk rows must be positive");
  file_.create_group("/events");
  DatasetOptions options{{0}, {chunk_rows}, true, 0};
  for (const auto& spec : event_columns())
    columns_.push_back(file_.create_dataset(std::string("/events/") + spec.name, spec.type, options));
  if (with_order_id) order_id_ = file_.create_dataset<std::uint64_t>("/events/order_id", options);
}

void EventFileWriter::append(const EventColumns& src, std::uint64_t count) {
  std::uint64_t done = 0;
  EventColumns stage = staging_.view();
  while (done < count) {
    const std::uint64_t take = std::min(count - done, chunk_rows_ - staged_);
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const std::size_t size = element_size(event_columns()[c].type);
      std::memcpy(static_cast<char*>(stage.column(c)) + staged_ * size,
                  static_cast<const char*>(src.column(c)) + done * size, take * size);
    }
    if (order_id_) {
      SEGSTREAM_ASSERT(src.order_id != nullptr, "events appended without the order ids the file expects");
      std::memcpy(stage.order_id + staged_, src.order_id + done, take * sizeof(std::uint64_t));
    }
    staged_ += take;
    done += take;
    if (staged_ == chunk_rows_) flush_staged();
  }
}

void EventFileWriter::flush_staged() {
  if (staged_ == 0) return;
  const EventColumns stage = staging_.view();
  for (std::size_t c = 0; c < columns_.size(); ++c)
    columns_[c].write_rows(written_, staged_, event_columns()[c].type, stage.column(c));
  if (order_id_) order_id_->write_rows(written_, staged_, stage.order_id);
  written_ += staged_;
  staged_ = 0;
}

void EventFileWriter::close(const Provenance& provenance) {
  write_provenance(file_, provenance);
  close();
}

void EventFileWriter::close() {
  flush_staged();
  file_.group("/events").set_attribute("event_type_names", standard_event_type_names());
  columns_.clear();
  order_id_.reset();
  file_.close();
}

}  // namespace segstream::io
