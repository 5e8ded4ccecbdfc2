// `segstream import-csv`: a transactions export (CSV or whitespace-separated) into events.h5.
//
// Real exports are messy; the importer accepts a header or none, CRLF line ends, leading and trailing
// spaces, leading zeros in ids, quoted fields, and several time formats. Columns are named by their header
// name or by 1-based position. It streams: memory is one block of events whatever the file's size. Every
// malformed row is an error naming the file, line and column, unless --on-bad-row skip, which counts and
// reports them instead (up to max_bad_share of the rows). Errors that can say what to do do so: a named
// column missing from a header that another delimiter would split suggests that delimiter, and a time that
// does not parse suggests a pattern that parses it (day and month swapped, when that is what went wrong).
// Distinct customers are counted exactly (a hash set of 16 bytes per customer). The output is written
// atomically.
//
// Conventions (docs/FORMATS.md, "events.h5 from import-csv"):
// - a customer id that is a plain decimal integer is its own key; any other text ("0042", "C-042",
//   "17850.0") gets a hashed key and is kept in the file's id table (customer_ids.hpp), so ids that differ
//   as text stay different customers and every output can give the original id back; two texts with one
//   key are an error naming both. Order ids follow the same rule without a table;
// - without an event-type column every row is a purchase; a purchase with a negative amount is recorded
//   as a return (code 7), the refund being the negative amount, and counted;
// - dates without a time are midnight UTC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace segstream::io {

enum class BadRowPolicy : std::uint8_t { kError, kSkip };

struct CsvImportOptions {
  std::filesystem::path input;
  // Delimiter: "comma", "tab", "semicolon", "whitespace" (runs of spaces and tabs), or one character.
  std::string delimiter = "comma";
  // "auto": the first line is a header when the time column's value on it does not parse; "yes"; "no".
  std::string header = "auto";
  // Columns, by header name or 1-based position. customer and time are required.
  std::string customer, time, amount, order, category, channel, event_type, discount;
  // "auto" (ISO dates and times, YYYYMMDD, Unix seconds), "unix", "unix_ms", or a pattern of %Y %m %d %H
  // %M %S and literal characters, such as "%m/%d/%Y %H:%M" (one-digit fields allowed).
  std::string time_format = "auto";
  BadRowPolicy on_bad_row = BadRowPolicy::kError;
  // Under kSkip: more bad rows than this share of all rows is an error (a file read with the wrong columns
  // or pattern is not a clean file with a few bad rows); 1 accepts any share.
  double max_bad_share = 0.01;
  std::uint64_t chunk_rows = 0;  // 0 = the events default
  int id_hash_bits = 63;         // the width of text-id hashes; tests narrow it to provoke collisions
};

// The longest line import-csv reads (1 MiB); a longer one is refused, naming its line, so that a file
// without newlines cannot make the import hold it whole.
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;

struct CsvImportReport {
  std::uint64_t lines = 0;         // lines read, header included
  std::uint64_t events = 0;        // events written
  std::uint64_t skipped_rows = 0;  // bad rows skipped under BadRowPolicy::kSkip
  std::uint64_t blank_lines = 0;
  std::uint64_t returns_from_negative_purchases = 0;
  std::uint64_t text_ids = 0;   // distinct customer ids kept as text (not plain integers)
  std::uint64_t customers = 0;  // distinct customers of the events written
  bool had_header = false;
  std::int64_t first_timestamp = 0, last_timestamp = 0;
  std::string first_bad_row;  // the first skipped row's error, for the report
  double seconds = 0;
};

CsvImportReport import_csv(
    const CsvImportOptions& options, const std::filesystem::path& out, bool overwrite,
    const std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>& progress = {});

}  // namespace segstream::io
