#include "segstream/io/csv_import.hpp"

#include "segstream/io/customer_ids.hpp"

#include "fingerprint.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/text.hpp"
#include "segstream/core/time.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/events.hpp"

namespace segstream::io {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits one line into fields. `delimiter` 0 means runs of spaces and tabs; otherwise fields may be quoted
// with ", a doubled "" standing for one quote. Returns false for an unterminated quote.
bool split_fields(std::string_view line, char delimiter, std::vector<std::string>& fields) {
  fields.clear();
  if (delimiter == 0) {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i == line.size()) break;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      fields.emplace_back(line.substr(start, i - start));
    }
    return true;
  }
  std::string field;
  std::size_t i = 0;
  for (;;) {
    field.clear();
    std::string_view rest = line.substr(i);
    const std::size_t lead = rest.find_first_not_of(" \t");
    if (lead != std::string_view::npos && rest[lead] == '"') {
      i += lead + 1;
      for (;;) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      while (i < line.size() && line[i] != delimiter) ++i;  // ignore anything after the closing quote
    } else {
      const std::size_t end = line.find(delimiter, i);
      field.assign(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? line.size() : end;
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // past the delimiter
  }
  return true;
}

char delimiter_of(const std::string& name) {
  if (name == "comma" || name == ",") return ',';
  if (name == "tab" || name == "\\t") return '\t';
  if (name == "semicolon" || name == ";") return ';';
  if (name == "whitespace" || name == "space") return 0;
  if (name.size() == 1 && name[0] != '"') return name[0];
  throw UsageError("--delimiter: expected comma, tab, semicolon, whitespace or one character, got '" + name +
                   "'");
}

// Parses times by a pattern of %Y %m %d %H %M %S and literal characters (a space matches one or more
// spaces), or "auto", "unix", "unix_ms".
class TimeParser {
 public:
  explicit TimeParser(std::string format) : format_(std::move(format)) {
    if (format_ != "auto" && format_ != "unix" && format_ != "unix_ms" &&
        format_.find('%') == std::string::npos)
      throw UsageError("--time-format: expected auto, unix, unix_ms or a pattern such as %Y-%m-%d, got '" +
                       format_ + "'");
  }
  const std::string& format() const { return format_; }

  std::optional<std::int64_t> parse(std::string_view text) const {
    text = trim(text);
    if (format_ == "auto") {
      if (text.size() == 8 && all_digits(text)) return pattern(text, "%Y%m%d");
      if (all_digits(text) || (text.size() > 1 && text[0] == '-' && all_digits(text.substr(1))))
        return integer(text, 1);
      return parse_iso_time(text);
    }
    if (format_ == "unix") return integer(text, 1);
    if (format_ == "unix_ms") {
      auto ms = integer(text, 1);
      if (!ms) return std::nullopt;
      return *ms >= 0 ? *ms / 1000 : -((-*ms + 999) / 1000);
    }
    return pattern(text, format_);
  }

 private:
  static std::optional<std::int64_t> integer(std::string_view text, std::int64_t scale) {
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return v * scale;
  }

  static std::optional<std::int64_t> pattern(std::string_view text, std::string_view fmt) {
    int year = -1, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    std::size_t t = 0;
    for (std::size_t f = 0; f < fmt.size(); ++f) {
      if (fmt[f] == '%' && f + 1 < fmt.size()) {
        const char spec = fmt[++f];
        const std::size_t max_digits = spec == 'Y' ? 4 : 2;
        std::size_t n = 0;
        int value = 0;
        while (t < text.size() && n < max_digits && text[t] >= '0' && text[t] <= '9') {
          value = value * 10 + (text[t++] - '0');
          ++n;
        }
        if (n == 0 || (spec == 'Y' && n != 4)) return std::nullopt;
        switch (spec) {
          case 'Y':
            year = value;
            break;
          case 'm':
            month = value;
            break;
          case 'd':
            day = value;
            break;
          case 'H':
            hour = value;
            break;
          case 'M':
            minute = value;
            break;
          case 'S':
            second = value;
            break;
          default:
            return std::nullopt;
        }
      } else if (fmt[f] == ' ') {
        if (t >= text.size() || text[t] != ' ') return std::nullopt;
        while (t < text.size() && text[t] == ' ') ++t;
      } else {
        if (t >= text.size() || text[t] != fmt[f]) return std::nullopt;
        ++t;
      }
    }
    if (t != text.size() || year < 0 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 ||
        second > 60)
      return std::nullopt;
    const CivilDate date{year, static_cast<unsigned>(month), static_cast<unsigned>(day)};
    const std::int64_t days = days_from_civil(date);
    const CivilDate back = civil_from_days(days);
    if (back.month != date.month || back.day != date.day) return std::nullopt;
    return days * kSecondsPerDay + hour * 3600 + minute * 60 + second;
  }

  std::string format_;
};

// A bad row: the message names the file, line and column; thrown as InputError or counted and skipped.
struct BadRow {
  std::string message;
};

// Distinct 64-bit keys: open addressing, at most half full (16 bytes a key). Key 0 is held aside.
class KeySet {
 public:
  void insert(std::uint64_t key) {
    if (key == 0) {
      size_ += has_zero_ ? 0 : 1;
      has_zero_ = true;
      return;
    }
    if (2 * (used_ + 1) > slots_.size()) grow();
    if (place(slots_, key)) {
      ++used_;
      ++size_;
    }
  }
  std::uint64_t size() const { return size_; }

 private:
  static bool place(std::vector<std::uint64_t>& slots, std::uint64_t key) {
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
      if (slots[i] == key) return false;
      if (slots[i] == 0) {
        slots[i] = key;
        return true;
      }
    }
  }
  void grow() {
    std::vector<std::uint64_t> bigger(std::max<std::size_t>(1024, slots_.size() * 2), 0);
    for (std::uint64_t k : slots_)
      if (k != 0) place(bigger, k);
    slots_.swap(bigger);
  }
  std::vector<std::uint64_t> slots_;
  std::uint64_t used_ = 0, size_ = 0;
  bool has_zero_ = false;
};

// The delimiter a header line seems to use when it is not the one given: " (the header splits by
// whitespace into names that include 'X': give --delimiter whitespace)", or "".
std::string delimiter_hint(const std::string& header, const std::string& wanted, const std::string& given) {
  const std::vector<std::pair<std::string, char>> candidates = {
      {"whitespace", 0}, {"tab", '\t'}, {"semicolon", ';'}, {"comma", ','}};
  for (const auto& [name, d] : candidates) {
    if (d == delimiter_of(given)) continue;
    std::vector<std::string> parts;
    if (!split_fields(header, d, parts) || parts.size() < 2) continue;
    for (const auto& p : parts)
      if (trim(p) == wanted)
        return fmt::format("; the line splits into columns by {}, '{}' among them: give --delimiter {}",
                           name == "whitespace" ? "spaces or tabs" : name, wanted, name);
  }
  return "";
}

// What to try when a time does not parse: the first of the usual patterns that parses it, and when the
// given pattern has day and month, whether swapping them does (rows before it parsed: a day above 12 came).
std::string time_hint(std::string_view text, const std::string& format, std::uint64_t parsed_before) {
  if (format.find("%m") != std::string::npos && format.find("%d") != std::string::npos) {
    std::string swapped = format;
    const std::size_t m = swapped.find("%m"), d = swapped.find("%d");
    swapped[m + 1] = 'd';
    swapped[d + 1] = 'm';
    if (TimeParser(swapped).parse(text))
      return fmt::format(
          "; it parses as {}{}: are day and month swapped? give --time-format '{}'", swapped,
          parsed_before > 0 ? fmt::format(" (the {} rows before it parsed both ways)", parsed_before) : "",
          swapped);
  }
  static const char* const kPatterns[] = {
      "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",    "%Y-%m-%d",       "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
      "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",    "%m/%d/%Y",       "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
      "%d/%m/%Y",          "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",          "%d-%m-%Y %H:%M",
      "%d-%m-%Y",          "%Y%m%d%H%M%S"};
  for (const char* p : kPatterns)
    if (p != format && TimeParser(p).parse(text))
      return fmt::format("; it parses with --time-format '{}'", p);
  return "; give its pattern with --time-format, e.g. '%d/%m/%Y %H:%M'";
}

struct Column {
  std::string role;  // "customer", "time", ...
  std::string spec;  // as given
  int index = -1;    // 0-based field index, -1 when not mapped
};

}  // namespace

CsvImportReport import_csv(const CsvImportOptions& options, const std::filesystem::path& out, bool overwrite,
                           const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const auto t_begin = std::chrono::steady_clock::now();
  const std::string in = options.input.string();
  SEGSTREAM_EXPECTS(!options.customer.empty(), "import-csv needs --customer COLUMN");
  SEGSTREAM_EXPECTS(!options.time.empty(), "import-csv needs --time COLUMN");
  SEGSTREAM_EXPECTS(options.header == "auto" || options.header == "yes" || options.header == "no",
                    "--header: expected auto, yes or no, got '{}'", options.header);
  const char delimiter = delimiter_of(options.delimiter);
  const TimeParser time_parser(options.time_format);

  std::error_code ec;
  if (!std::filesystem::exists(options.input, ec)) throw InputError(in + ": no such file");
  if (std::filesystem::is_directory(options.input, ec))
    throw InputError(in + ": is a directory, expected a CSV file");
  std::ifstream file(options.input, std::ios::binary);
  if (!file) throw InputError(in + ": cannot read");
  std::vector<char> io_buffer(std::size_t{1} << 20);
  file.rdbuf()->pubsetbuf(io_buffer.data(), static_cast<std::streamsize>(io_buffer.size()));
  const std::uint64_t total_bytes = std::filesystem::file_size(options.input, ec);

  std::vector<Column> columns = {{"customer", options.customer},     {"time", options.time},
                                 {"amount", options.amount},         {"order", options.order},
                                 {"category", options.category},     {"channel", options.channel},
                                 {"event_type", options.event_type}, {"discount", options.discount}};
  enum { kCustomer, kTime, kAmount, kOrder, kCategory, kChannel, kType, kDiscount };
  const bool by_name = std::any_of(columns.begin(), columns.end(),
                                   [](const Column& c) { return !c.spec.empty() && !all_digits(c.spec); });
  if (by_name && options.header == "no")
    throw UsageError(
        "columns are named, so the first line must be a header (drop --header no or give positions)");

  SEGSTREAM_EXPECTS(
      std::isfinite(options.max_bad_share) && options.max_bad_share >= 0 && options.max_bad_share <= 1,
      "--max-bad-share: expected a share from 0 to 1, got {}", options.max_bad_share);
  CsvImportReport report;
  KeySet customers;
  std::string line;
  std::vector<std::string> fields;
  std::uint64_t bytes_done = 0;
  // The input's fingerprint, from exactly the bytes read (a line, then its newline unless it was the last).
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> digest(XXH3_createState(), XXH3_freeState);
  if (!digest) throw std::bad_alloc();
  XXH3_64bits_reset(digest.get());
  // Lines are read into a buffer of kMaxLineBytes: a longer one (a file without newlines, a runaway
  // quote) is refused rather than held whole.
  std::vector<char> line_buffer(kMaxLineBytes + 1);
  auto next_line = [&]() -> bool {
    if ((report.lines & 0xFFF) == 0) throw_if_interrupted();  // every 4,096 lines
    file.getline(line_buffer.data(), static_cast<std::streamsize>(line_buffer.size()));
    const auto got = static_cast<std::size_t>(file.gcount());
    if (file.bad()) throw InputError(in + ": read error");
    if (file.fail()) {
      if (got == 0 && file.eof()) return false;
      throw InputError(
          fmt::format("{}:{}: the line is longer than {} bytes (is this a text file of one row "
                      "a line? check --delimiter and the quotes)",
                      in, report.lines + 1, kMaxLineBytes));
    }
    const bool newline = !file.eof();  // the delimiter was read and counted in gcount
    line.assign(line_buffer.data(), newline ? got - 1 : got);
    XXH3_64bits_update(digest.get(), line.data(), line.size());
    if (newline) XXH3_64bits_update(digest.get(), "\n", 1);
    bytes_done += line.size() + 1;
    ++report.lines;
    if (report.lines == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 byte-order mark
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  auto where = [&](const Column& c) {
    return fmt::format("{}:{}: column '{}' ({})", in, report.lines, c.spec, c.role);
  };

  // Find the first non-blank line; decide whether it is a header; resolve the columns.
  bool have_line = false;
  while (next_line()) {
    if (trim(line).empty()) {
      ++report.blank_lines;
      continue;
    }
    have_line = true;
    break;
  }
  if (!have_line) throw InputError(in + ": no rows (the file is empty)");
  if (!split_fields(line, delimiter, fields))
    throw InputError(fmt::format("{}:{}: unterminated quote", in, report.lines));
  bool header = options.header == "yes" || by_name;
  if (options.header == "auto" && !by_name) {
    const int t = std::stoi(options.time) - 1;
    header = t >= static_cast<int>(fields.size()) || !time_parser.parse(fields[static_cast<std::size_t>(t)]);
  }
  std::size_t needed_fields = 0;
  for (Column& c : columns) {
    if (c.spec.empty()) continue;
    if (all_digits(c.spec)) {
      c.index = std::stoi(c.spec) - 1;
      if (c.index < 0) throw UsageError("--" + c.role + ": column positions start at 1");
    } else {
      for (std::size_t i = 0; i < fields.size(); ++i)
        if (trim(fields[i]) == c.spec) c.index = static_cast<int>(i);
      if (c.index < 0) {
        std::string names;
        for (const auto& f : fields) names += (names.empty() ? "" : ", ") + std::string(trim(f));
        throw InputError(fmt::format("{}: column '{}' ({}) is not in the header line (columns: {}){}", in,
                                     escape_text(c.spec), c.role, escape_text(names, 400),
                                     delimiter_hint(line, c.spec, options.delimiter)));
      }
    }
    needed_fields = std::max(needed_fields, static_cast<std::size_t>(c.index) + 1);
  }
  report.had_header = header;

  AtomicOutput output(out, overwrite);
  const bool with_order = columns[kOrder].index >= 0;
  EventFileWriter writer(output.temp_path(), options.chunk_rows ? options.chunk_rows : kDefaultEventChunkRows,
                         output.final_path().string(), with_order);
  constexpr std::size_t kBlock = std::size_t{1} << 16;
  EventBuffer block(kBlock);
  EventColumns cols = block.view();
  std::size_t filled = 0;
  std::int64_t first_ts = std::numeric_limits<std::int64_t>::max(),
               last_ts = std::numeric_limits<std::int64_t>::min();
  const auto& type_names = standard_event_type_names();
  CustomerIdCollector ids;

  auto field = [&](int column) -> std::string_view {
    return trim(fields[static_cast<std::size_t>(columns[static_cast<std::size_t>(column)].index)]);
  };
  auto parse_float = [&](int column, const char* what) -> float {
    const std::string_view text = field(column);
    double v = 0;
    const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
    const auto [ptr, err] = std::from_chars(begin, text.data() + text.size(), v);
    if (text.empty() || err != std::errc() || ptr != text.data() + text.size())
      throw BadRow{fmt::format("{}: expected {}, got '{}'", where(columns[static_cast<std::size_t>(column)]),
                               what, escape_text(text))};
    if (!std::isfinite(v))
      throw BadRow{fmt::format("{}: {} is not a finite number ('{}')",
                               where(columns[static_cast<std::size_t>(column)]), what, escape_text(text))};
    // Amounts are stored as 32-bit floats: a value past their range would become infinity.
    if (!std::isfinite(static_cast<float>(v)))
      throw BadRow{fmt::format("{}: {} is beyond the range of a 32-bit float, ±3.4e38 ('{}')",
                               where(columns[static_cast<std::size_t>(column)]), what, escape_text(text))};
    return static_cast<float>(v);
  };
  auto parse_small = [&](int column, unsigned max, const char* what) -> unsigned {
    const std::string_view text = field(column);
    unsigned v = 0;
    const auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || err != std::errc() || ptr != text.data() + text.size() || v > max)
      throw BadRow{fmt::format("{}: expected {} (an integer 0..{}), got '{}'",
                               where(columns[static_cast<std::size_t>(column)]), what, max,
                               escape_text(text))};
    return v;
  };

  auto parse_row = [&](std::size_t at) {
    if (fields.size() < needed_fields)
      throw BadRow{fmt::format("{}:{}: expected at least {} fields, found {}", in, report.lines,
                               needed_fields, fields.size())};
    const std::string_view id_text = field(kCustomer);
    if (id_text.empty()) throw BadRow{where(columns[kCustomer]) + ": the customer id is empty"};
    const auto integer = integer_key(id_text);
    const std::uint64_t key = integer ? *integer : text_key(id_text, options.id_hash_bits);
    cols.customer_id[at] = key;
    const auto ts = time_parser.parse(field(kTime));
    if (!ts)
      throw BadRow{fmt::format("{}: cannot parse '{}' as a time (--time-format {}){}", where(columns[kTime]),
                               escape_text(field(kTime)), time_parser.format(),
                               time_hint(field(kTime), time_parser.format(), report.events + filled))};
    if (!time_in_range(*ts))
      throw BadRow{fmt::format("{}: '{}' is not a time from {}{}", where(columns[kTime]),
                               escape_text(field(kTime)), kTimeRangeText,
                               time_in_range(*ts / 1000) && time_parser.format() != "unix_ms"
                                   ? " (as milliseconds it is one: give --time-format unix_ms)"
                                   : "")};
    cols.timestamp[at] = *ts;
    cols.amount[at] = columns[kAmount].index >= 0 ? parse_float(kAmount, "an amount") : 0.0f;
    std::uint8_t type = static_cast<std::uint8_t>(EventType::kPurchase);
    if (columns[kType].index >= 0) {
      const std::string_view text = field(kType);
      unsigned code = 0;
      const auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), code);
      if (!text.empty() && err == std::errc() && ptr == text.data() + text.size() &&
          code < type_names.size()) {
        type = static_cast<std::uint8_t>(code);
      } else {
        const auto it = std::find(type_names.begin(), type_names.end(), text);
        if (it == type_names.end())
          throw BadRow{
              fmt::format("{}: unknown event type '{}' (expected a code 0..{} or a name such as purchase)",
                          where(columns[kType]), escape_text(text), type_names.size() - 1)};
        type = static_cast<std::uint8_t>(it - type_names.begin());
      }
    }
    bool negative_purchase = false;
    if (type == static_cast<std::uint8_t>(EventType::kPurchase) && cols.amount[at] < 0) {
      type = static_cast<std::uint8_t>(EventType::kReturn);
      negative_purchase = true;
    }
    cols.event_type[at] = type;
    cols.category[at] = columns[kCategory].index >= 0
                            ? static_cast<std::uint16_t>(parse_small(kCategory, 65535, "a category code"))
                            : 0;
    cols.channel[at] = columns[kChannel].index >= 0
                           ? static_cast<std::uint8_t>(parse_small(kChannel, 255, "a channel code"))
                           : 0;
    cols.discount[at] = columns[kDiscount].index >= 0 ? parse_float(kDiscount, "a discount") : 0.0f;
    if (with_order) {
      const std::string_view order = field(kOrder);
      if (order.empty()) throw BadRow{where(columns[kOrder]) + ": the order id is empty"};
      const auto numeric = integer_key(order);
      cols.order_id[at] = numeric ? *numeric : text_key(order);
    }
    // Counted only once the whole row is good.
    if (!integer) {
      if (const auto earlier = ids.add(key, id_text, report.lines))
        throw InputError(fmt::format(
            "{}: customer ids '{}' (line {}) and '{}' (line {}) have the same 64-bit key {:#018x}; they "
            "cannot be kept apart (rename one of them)",
            in, escape_text(earlier->text), earlier->line, escape_text(id_text), report.lines, key));
    }
    report.returns_from_negative_purchases += negative_purchase;
    first_ts = std::min(first_ts, *ts);
    last_ts = std::max(last_ts, *ts);
  };

  bool pending = !header;  // the first line is data
  for (;;) {
    if (!pending) {
      if (!next_line()) break;
      if (trim(line).empty()) {
        ++report.blank_lines;
        continue;
      }
      if (!split_fields(line, delimiter, fields)) {
        const std::string message = fmt::format("{}:{}: unterminated quote", in, report.lines);
        if (options.on_bad_row == BadRowPolicy::kError) throw InputError(message);
        if (report.skipped_rows++ == 0) report.first_bad_row = message;
        continue;
      }
    }
    pending = false;
    try {
      parse_row(filled);
      customers.insert(cols.customer_id[filled]);
      ++filled;
    } catch (const BadRow& bad) {
      if (options.on_bad_row == BadRowPolicy::kError) throw InputError(bad.message);
      if (report.skipped_rows++ == 0) report.first_bad_row = bad.message;
    }
    if (filled == kBlock) {
      writer.append(cols, filled);
      report.events += filled;
      filled = 0;
      if (progress) progress(bytes_done, total_bytes);
    }
  }
  if (file.bad()) throw InputError(in + ": read error");
  writer.append(cols, filled);
  report.events += filled;
  const std::uint64_t rows = report.events + report.skipped_rows;
  if (report.skipped_rows > 0 &&
      static_cast<double>(report.skipped_rows) > options.max_bad_share * static_cast<double>(rows))
    throw InputError(fmt::format(
        "{}: {} of {} rows ({:.1f}%) are bad, more than --max-bad-share {} allows; the first: {} (check the "
        "columns, --delimiter and --time-format, or raise --max-bad-share)",
        in, report.skipped_rows, rows,
        100.0 * static_cast<double>(report.skipped_rows) / static_cast<double>(rows), options.max_bad_share,
        report.first_bad_row));
  if (report.events == 0)
    throw InputError(in + ": no event rows (only a header, blank lines or skipped rows)");

  report.customers = customers.size();
  report.text_ids = ids.size();
  report.first_timestamp = first_ts;
  report.last_timestamp = last_ts;
  const File& f = writer.file();
  std::move(ids).finish().write(f);
  f.set_attribute("source", options.input.filename().string());
  f.set_attribute("window_start", first_ts - (first_ts % kSecondsPerDay + kSecondsPerDay) % kSecondsPerDay);
  f.set_attribute("as_of", (day_of(last_ts) + 1) * kSecondsPerDay);  // the day after the last event
  std::string mapping;
  for (const Column& c : columns)
    if (c.index >= 0) mapping += (mapping.empty() ? "" : ", ") + c.role + "=" + c.spec;
  f.set_attribute("import_columns", mapping);
  f.set_attribute("import_time_format", time_parser.format());
  const nlohmann::json config = {
      {"columns", mapping},
      {"delimiter", options.delimiter},
      {"header", options.header},
      {"time_format", time_parser.format()},
      {"on_bad_row", options.on_bad_row == BadRowPolicy::kSkip ? "skip" : "error"}};
  writer.close(
      {"segstream.events",
       "import-csv",
       config,
       {fingerprint_read_input("csv", options.input, total_bytes, XXH3_64bits_digest(digest.get()))}});
  output.commit();
  if (progress) progress(total_bytes, total_bytes);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::io
