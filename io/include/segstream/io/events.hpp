// events.h5: the raw behaviour of customers, one row per event, as seven 1-D columns of equal length under
// /events (docs/FORMATS.md). Readers validate the schema up front and read row ranges into caller-provided
// column buffers (host or pinned memory); the writer appends with whole-chunk writes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "segstream/io/hdf5.hpp"
#include "segstream/io/provenance.hpp"

namespace segstream::io {

// The standard event-type codes (FEATURES.md); the names are stored in the `event_type_names` attribute.
enum class EventType : std::uint8_t {
  kPageView = 0,
  kContentView = 1,
  kEmailOpen = 2,
  kEmailClick = 3,
  kSearch = 4,
  kCartAdd = 5,
  kPurchase = 6,
  kReturn = 7,
  kAppSession = 8,
  kSupportTicket = 9,
  kReview = 10,
  kReferral = 11,
  kEmailSent = 12,  // extension: the denominator of email_open_rate (docs/DESIGN-NOTES.md)
};
inline constexpr int kEventTypeCount = 13;
const std::vector<std::string>& standard_event_type_names();

struct EventColumnSpec {
  const char* name;
  ElementType type;
};
// The seven columns in file order: customer_id, timestamp, event_type, amount, category, channel, discount.
const std::array<EventColumnSpec, 7>& event_columns();

// A non-owning view of event columns: element i of every pointer is event i. May point into pinned memory.
struct EventColumns {
  std::uint64_t* customer_id = nullptr;
  std::int64_t* timestamp = nullptr;
  std::uint8_t* event_type = nullptr;
  float* amount = nullptr;
  std::uint16_t* category = nullptr;
  std::uint8_t* channel = nullptr;
  float* discount = nullptr;
  // Optional eighth column /events/order_id (imported transactions that carry an order or invoice id);
  // nullptr when absent or not wanted.
  std::uint64_t* order_id = nullptr;
  // The i-th of the seven standard columns, in event_columns() order.
  void* column(std::size_t i) const;
};

// Owning host storage for `capacity` events.
class EventBuffer {
 public:
  explicit EventBuffer(std::size_t capacity = 0) { resize(capacity); }
  void resize(std::size_t capacity);
  std::size_t capacity() const { return customer_id_.size(); }
  EventColumns view();

 private:
  std::vector<std::uint64_t> customer_id_;
  std::vector<std::int64_t> timestamp_;
  std::vector<std::uint8_t> event_type_;
  std::vector<float> amount_;
  std::vector<std::uint16_t> category_;
  std::vector<std::uint8_t> channel_;
  std::vector<float> discount_;
  std::vector<std::uint64_t> order_id_;
};

// Opens events.h5 and validates it: a file that names a format names segstream.events (version 1; files
// written by other tools may have no format attribute), every column present, 1-D, of its type, all of one
// length, at least one row. Errors are InputError naming the file and dataset.
class EventFileReader {
 public:
  explicit EventFileReader(const std::filesystem::path& path);
  const std::string& path() const { return file_.path(); }
  std::uint64_t rows() const { return rows_; }
  const File& file() const { return file_; }
  bool has_order_id() const { return order_id_.has_value(); }
  // Reads events [start, start + count) into dst (and order ids when dst.order_id and the file has them).
  // A column whose pointer in dst is null is not read: a stage that needs four columns reads four.
  void read(std::uint64_t start, std::uint64_t count, const EventColumns& dst) const;

 private:
  File file_;
  std::vector<Dataset> columns_;
  std::optional<Dataset> order_id_;
  std::uint64_t rows_ = 0;
};

// Default rows per chunk of each event column: 2^18 rows (2 MiB of uint64), large enough that a sequential
// pass does few chunk look-ups, small enough for a short last chunk not to matter.
inline constexpr std::uint64_t kDefaultEventChunkRows = std::uint64_t{1} << 18;

// Appends events to a new events.h5 (normally an AtomicOutput's temporary path). Rows are staged per
// column and written one whole chunk at a time, so HDF5 never reads a chunk back to complete it.
class EventFileWriter {
 public:
  // Errors name `display_name` when given (see File::create).
  // With `with_order_id`, the file also gets /events/order_id, taken from EventColumns::order_id.
  EventFileWriter(const std::filesystem::path& path, std::uint64_t chunk_rows = kDefaultEventChunkRows,
                  const std::string& display_name = "", bool with_order_id = false);
  const File& file() const { return file_; }
  std::uint64_t rows() const { return written_ + staged_; }
  void append(const EventColumns& src, std::uint64_t count);
  // Writes the last partial chunk, the standard attributes and the provenance (format segstream.events),
  // and closes the file (ResourceError on a full disk or a file-size limit).
  void close(const Provenance& provenance);
  // The same without provenance: event files that only tests read.
  void close();

 private:
  void flush_staged();
  File file_;
  std::vector<Dataset> columns_;
  std::optional<Dataset> order_id_;
  std::uint64_t chunk_rows_;
  EventBuffer staging_;
  std::uint64_t staged_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace segstream::io
