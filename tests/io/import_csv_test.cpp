// import-csv: real exports from tests/data and messy hand-made ones, every bad row it must name.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/customer_ids.hpp"
#include "segstream/io/events.hpp"
#include "test_util.hpp"

namespace segstream::io {
namespace {

using test::TempDir;

using Loaded = test::EventTable;
Loaded load(const std::filesystem::path& path) {
  return test::read_event_table(path);
}

std::size_t distinct(const std::vector<std::uint64_t>& v) {
  return std::set<std::uint64_t>(v.begin(), v.end()).size();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(ImportCsv, CdnowSampleWhitespaceWithoutHeader) {
  TempDir dir;
  CsvImportOptions o;
  o.input = test::golden_data("CDNOW_sample.txt");
  o.delimiter = "whitespace";
  o.customer = "1";
  o.time = "3";
  o.amount = "5";
  const CsvImportReport r = import_csv(o, dir / "cdnow.h5", false);
  EXPECT_FALSE(r.had_header);
  EXPECT_EQ(r.events, 6919u);
  EXPECT_EQ(r.customers, 2357u);
  const Loaded l = load(dir / "cdnow.h5");
  EXPECT_EQ(distinct(l.customer_id), 2357u);
  const CustomerIds ids = CustomerIds::read(EventFileReader(dir / "cdnow.h5").file());
  // The five-digit ids below 10000 are zero-padded, so kept as text; the others are plain integers.
  EXPECT_EQ(ids.text(l.customer_id[0]), "00004");
  EXPECT_EQ(r.text_ids, ids.size());
  std::set<std::uint64_t> padded;
  for (std::uint64_t key : l.customer_id) {
    const std::string text = ids.text(key);
    ASSERT_EQ(text.size(), 5u) << text;
    if (text[0] == '0') padded.insert(key);
  }
  EXPECT_EQ(padded.size(), ids.size());
  EXPECT_EQ(format_iso_time(l.timestamp[0]), "1997-01-01");
  EXPECT_FLOAT_EQ(l.amount[0], 29.33f);
  EXPECT_EQ(format_iso_time(r.first_timestamp), "1997-01-01");
  EXPECT_EQ(format_iso_time(r.last_timestamp), "1998-06-30");
  EXPECT_EQ(EventFileReader(dir / "cdnow.h5").file().int_attribute("as_of"), *parse_iso_time("1998-07-01"));
}

TEST(ImportCsv, CdnowMasterWithHeaderCrlfAndLeadingZeros) {
  TempDir dir;
  CsvImportOptions o;
  o.input = test::golden_data("CDNOW_master.txt");
  o.delimiter = "whitespace";
  o.customer = "customer_id";
  o.time = "date";
  o.time_format = "%Y%m%d";
  o.amount = "dollar_value";
  const CsvImportReport r = import_csv(o, dir / "master.h5", false);
  EXPECT_TRUE(r.had_header);
  EXPECT_EQ(r.events, 69659u);
  EXPECT_EQ(distinct(load(dir / "master.h5").customer_id), 23570u);
}

TEST(ImportCsv, OnlineRetailWithOrderIds) {
  TempDir dir;
  CsvImportOptions o;
  o.input = test::golden_data("mw_online_retail.csv");
  o.customer = "CustomerID";
  o.time = "InvoiceDate";
  o.amount = "TotalPrice";
  o.order = "InvoiceNo";
  const CsvImportReport r = import_csv(o, dir / "retail.h5", false);
  EXPECT_EQ(r.events, 18532u);
  const Loaded l = load(dir / "retail.h5");
  ASSERT_TRUE(l.has_order_id);
  EXPECT_EQ(distinct(l.customer_id), 4338u);
  EXPECT_EQ(distinct(l.order_id), 18532u) << "one row per invoice";
  EXPECT_EQ(l.customer_id[0], 17850u) << "a plain integer id is its own key";
  EXPECT_EQ(l.order_id[0], 536365u);
  EXPECT_EQ(r.text_ids, 0u);
  EXPECT_FALSE(EventFileReader(dir / "retail.h5").file().has("/id_text")) << "no table when none is needed";
  EXPECT_EQ(format_iso_time(r.first_timestamp), "2010-12-01");
  EXPECT_EQ(format_iso_time(r.last_timestamp), "2011-12-09");
}

TEST(ImportCsv, MessyExport) {
  TempDir dir;
  write_text(dir / "messy.csv",
             "\r\n"
             " Customer , When , Total , Kind \r\n"
             "  00042 , 2025-03-01 10:00:00 , 12.50 , purchase\r\n"
             "\"A-17\",\"2025-03-02\",\"1,234.0\",6\r\n"
             "17850.0,2025-03-03T08:00:00Z,-5,purchase\r\n"
             "\r\n"
             "42,2025-03-04,3,return\r\n");
  CsvImportOptions o;
  o.input = dir / "messy.csv";
  o.customer = "Customer";
  o.time = "When";
  o.amount = "Total";
  o.event_type = "Kind";
  o.on_bad_row = BadRowPolicy::kSkip;
  o.max_bad_share = 0.5;  // one bad row of four, on purpose
  const CsvImportReport r = import_csv(o, dir / "messy.h5", false);
  // "1,234.0" is not a number: the quoted comma is kept inside the field, and the row is skipped.
  EXPECT_EQ(r.events, 3u);
  EXPECT_EQ(r.skipped_rows, 1u);
  EXPECT_NE(r.first_bad_row.find("messy.csv:4: column 'Total' (amount): expected an amount, got '1,234.0'"),
            std::string::npos)
      << r.first_bad_row;
  EXPECT_EQ(r.blank_lines, 2u);
  EXPECT_EQ(r.returns_from_negative_purchases, 1u);
  const Loaded l = load(dir / "messy.h5");
  const CustomerIds ids = CustomerIds::read(EventFileReader(dir / "messy.h5").file());
  EXPECT_EQ(ids.text(l.customer_id[0]), "00042") << "trimmed, the zeros kept";
  EXPECT_EQ(ids.text(l.customer_id[1]), "17850.0");
  EXPECT_EQ(ids.text(l.customer_id[2]), "42");
  EXPECT_EQ(l.customer_id[2], 42u);
  EXPECT_EQ(ids.size(), 2u) << "the skipped row's id 'A-17' is not in the table";
  EXPECT_EQ(l.event_type[1], static_cast<int>(EventType::kReturn)) << "a negative purchase is a return";
  EXPECT_EQ(l.amount[1], -5.0f);
  EXPECT_EQ(l.event_type[2], static_cast<int>(EventType::kReturn));
  EXPECT_EQ(l.timestamp[0], *parse_iso_time("2025-03-01T10:00:00"));
  EXPECT_FALSE(l.has_order_id);
}

TEST(ImportCsv, IdsThatDifferAsTextStayDifferentCustomers) {
  TempDir dir;
  write_text(dir / "ids.csv",
             "id,t\nC-1,2025-01-01\nC-2,2025-01-02\nC-1,2025-01-03\n0042,2025-01-04\n42,2025-01-05\n"
             "C-042,2025-01-06\n0042,2025-01-07\n9223372036854775808,2025-01-08\n");
  CsvImportOptions o;
  o.input = dir / "ids.csv";
  o.customer = "id";
  o.time = "t";
  const CsvImportReport r = import_csv(o, dir / "ids.h5", false);
  EXPECT_EQ(r.text_ids, 5u) << "C-1, C-2, 0042, C-042 and an integer past 2^63";
  const Loaded l = load(dir / "ids.h5");
  EXPECT_EQ(l.customer_id[0], l.customer_id[2]);
  EXPECT_NE(l.customer_id[0], l.customer_id[1]);
  EXPECT_EQ(l.customer_id[3], l.customer_id[6]) << "'0042' twice is one customer";
  EXPECT_EQ(distinct({l.customer_id[3], l.customer_id[4], l.customer_id[5]}), 3u) << "0042, 42, C-042";
  EXPECT_EQ(l.customer_id[4], 42u);
  const CustomerIds ids = CustomerIds::read(EventFileReader(dir / "ids.h5").file());
  const char* texts[] = {"C-1", "C-2", "C-1", "0042", "42", "C-042", "0042", "9223372036854775808"};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(ids.text(l.customer_id[i]), texts[i]) << i;
  EXPECT_EQ(l.amount[0], 0.0f) << "no amount column: amount 0";
}

TEST(CustomerIds, KeysAndTheirTexts) {
  EXPECT_EQ(integer_key("0"), 0u);
  EXPECT_EQ(integer_key("17850"), 17850u);
  EXPECT_EQ(integer_key("9223372036854775807"), 9223372036854775807u);
  for (const char* text : {"", "00", "0042", "+42", "-1", "4 2", "17850.0", "1e3", "9223372036854775808",
                           "18446744073709551616", "C-042"})
    EXPECT_FALSE(integer_key(text).has_value()) << text;
  EXPECT_NE(text_key("0042") & kTextKeyBit, 0u) << "text keys never meet integer keys";
  EXPECT_NE(text_key("0042"), text_key("042"));
  EXPECT_EQ(text_key("C-042"), text_key("C-042"));
  const CustomerIds ids({text_key("b"), text_key("a")}, {"b", "a"});
  EXPECT_EQ(ids.text(text_key("a")), "a");
  EXPECT_EQ(ids.text(7), "7") << "a key without an entry is the id itself";
}

TEST(ImportCsvBadInput, IdKeyCollisionNamesBothIds) {
  TempDir dir;
  // With the hash narrowed to 8 bits, 40 distinct text ids must share a key somewhere.
  std::string text = "id,t\n";
  for (int i = 0; i < 40; ++i) text += "C-" + std::to_string(i) + ",2025-01-01\n";
  write_text(dir / "ids.csv", text);
  CsvImportOptions o;
  o.input = dir / "ids.csv";
  o.customer = "id";
  o.time = "t";
  o.id_hash_bits = 8;
  try {
    import_csv(o, dir / "ids.h5", false);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("ids.csv: customer ids 'C-"), std::string::npos) << m;
    EXPECT_NE(m.find("have the same 64-bit key"), std::string::npos) << m;
    EXPECT_EQ(std::count(m.begin(), m.end(), '\''), 4) << "both ids, quoted: " << m;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "ids.h5")) << "no partial output";
  o.on_bad_row = BadRowPolicy::kSkip;
  EXPECT_THROW(import_csv(o, dir / "ids.h5", false), InputError) << "a collision is never a skipped row";
}

TEST(ImportCsvBadInput, EmptyIdNamesTheRow) {
  TempDir dir;
  write_text(dir / "ids.csv", "id,t\nC-1,2025-01-01\n,2025-01-02\n");
  CsvImportOptions o;
  o.input = dir / "ids.csv";
  o.customer = "id";
  o.time = "t";
  try {
    import_csv(o, dir / "ids.h5", false);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ids.csv:3: column 'id' (customer): the customer id is empty"),
              std::string::npos)
        << e.what();
  }
}

// The InputError of importing `text` as bad.csv, having checked that no output was left.
std::string import_error(const TempDir& dir, const std::string& text, CsvImportOptions o) {
  write_text(dir / "bad.csv", text);
  o.input = dir / "bad.csv";
  try {
    import_csv(o, dir / "out.h5", false);
  } catch (const InputError& e) {
    EXPECT_FALSE(std::filesystem::exists(dir / "out.h5"));
    return e.what();
  }
  return "(no InputError)";
}

TEST(ImportCsv, TimeFormats) {
  TempDir dir;
  write_text(dir / "t.txt", "1;12/1/2010 8:26\n2;1/12/2011 17:05\n");
  CsvImportOptions o;
  o.input = dir / "t.txt";
  o.delimiter = ";";
  o.customer = "1";
  o.time = "2";
  o.time_format = "%m/%d/%Y %H:%M";
  const CsvImportReport r = import_csv(o, dir / "t.h5", false);
  EXPECT_FALSE(r.had_header);
  const Loaded l = load(dir / "t.h5");
  EXPECT_EQ(l.timestamp[0], *parse_iso_time("2010-12-01T08:26:00"));
  EXPECT_EQ(l.timestamp[1], *parse_iso_time("2011-01-12T17:05:00"));

  write_text(dir / "u.csv", "c,t\n1,1735689600\n2,1735689601\n");
  o.input = dir / "u.csv";
  o.delimiter = "comma";
  o.customer = "c";
  o.time = "t";
  o.time_format = "auto";
  const Loaded u = load((import_csv(o, dir / "u.h5", false), dir / "u.h5"));
  EXPECT_EQ(u.timestamp[0], 1735689600);
  // Milliseconds read as seconds are beyond 2200: refused, with the pattern that fits, and no output.
  const std::string ms_as_seconds = import_error(dir, "c,t\n1,1735689600\n2,1735689600123\n", o);
  EXPECT_NE(ms_as_seconds.find("bad.csv:3: column 't' (time): '1735689600123' is not a time from 1900-01-01 "
                               "to 2199-12-31 (as milliseconds it is one: give --time-format unix_ms)"),
            std::string::npos)
      << ms_as_seconds;
  o.time_format = "unix_ms";
  write_text(dir / "ms.csv", "c,t\n1,1735689600123\n");
  o.input = dir / "ms.csv";
  import_csv(o, dir / "ms.h5", false);
  EXPECT_EQ(load(dir / "ms.h5").timestamp[0], 1735689600);
}

// --- bad input: each names the file, line and column, and leaves no output -------------------------------

CsvImportOptions basic() {
  CsvImportOptions o;
  o.customer = "id";
  o.time = "t";
  o.amount = "amt";
  return o;
}

// Issue 15's cases: a value past a float's range, a byte-order mark, bytes that must not reach the terminal,
// a line without end, times beyond the stated range.
TEST(ImportCsvBadInput, AmountBeyondAFloatIsRefused) {
  TempDir dir;
  const std::string e = import_error(dir, "id,t,amt\n1,2025-01-01,3\n2,2025-01-02,1e39\n", basic());
  EXPECT_NE(e.find("bad.csv:3: column 'amt' (amount): an amount is beyond the range of a 32-bit float, "
                   "±3.4e38 ('1e39')"),
            std::string::npos)
      << e;
  EXPECT_NE(import_error(dir, "id,t,amt\n1,2025-01-01,-4e38\n", basic()).find("bad.csv:2: column 'amt'"),
            std::string::npos);
}

TEST(ImportCsv, AByteOrderMarkBeforeTheHeaderIsSkipped) {
  TempDir dir;
  write_text(dir / "bom.csv", "\xEF\xBB\xBFid,t,amt\n7,2025-01-01,3\n");
  CsvImportOptions o = basic();
  o.input = dir / "bom.csv";
  const CsvImportReport r = import_csv(o, dir / "bom.h5", false);
  EXPECT_EQ(r.events, 1u);
  EXPECT_TRUE(r.had_header);
  EXPECT_EQ(load(dir / "bom.h5").timestamp[0], *parse_iso_time("2025-01-01"));
}

TEST(ImportCsvBadInput, InputBytesAreEscapedInMessages) {
  TempDir dir;
  const std::string text = std::string("id,t,amt\n1,2025-01-01,3\x1b[2J\r\x01") + '\0' + "\xff\n";
  const std::string e = import_error(dir, text, basic());
  EXPECT_NE(
      e.find("bad.csv:2: column 'amt' (amount): expected an amount, got '3\\x1b[2J\\x0d\\x01\\x00\\xff'"),
      std::string::npos)
      << e;
  for (char c : e) EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) << "raw byte in: " << e;
}

TEST(ImportCsvBadInput, ALineLongerThanTheBoundIsRefused) {
  TempDir dir;
  std::string text = "id,t,amt\n1,2025-01-01,3\n2,2025-01-01,";
  text.append(kMaxLineBytes, '9');
  text += "\n";
  const std::string e = import_error(dir, text, basic());
  EXPECT_NE(e.find("bad.csv:3: the line is longer than 1048576 bytes"), std::string::npos) << e;
  // A line of exactly the bound is read.
  std::string fits = "id,t,amt\n1,2025-01-01,";
  fits.append(kMaxLineBytes - std::string("1,2025-01-01,").size() - 2, ' ');
  fits += "3\n";
  write_text(dir / "fits.csv", fits);
  CsvImportOptions o = basic();
  o.input = dir / "fits.csv";
  EXPECT_EQ(import_csv(o, dir / "fits.h5", false).events, 1u);
}

TEST(ImportCsvBadInput, TimesBeyondTheRangeAreRefused) {
  TempDir dir;
  EXPECT_NE(
      import_error(dir, "id,t,amt\n1,9999-12-31,3\n", basic())
          .find("bad.csv:2: column 't' (time): '9999-12-31' is not a time from 1900-01-01 to 2199-12-31"),
      std::string::npos);
  EXPECT_NE(import_error(dir, "id,t,amt\n1,1899-12-31,3\n", basic()).find("is not a time from 1900-01-01"),
            std::string::npos);
}

TEST(ImportCsvBadInput, NanOrInfiniteAmount) {
  TempDir dir;
  EXPECT_NE(import_error(dir, "id,t,amt\n1,2025-01-01,3\n2,2025-01-02,nan\n", basic())
                .find("bad.csv:3: column 'amt' (amount): an amount is not a finite number ('nan')"),
            std::string::npos);
  EXPECT_NE(import_error(dir, "id,t,amt\n1,2025-01-01,inf\n", basic()).find("bad.csv:2: column 'amt'"),
            std::string::npos);
  CsvImportOptions skip = basic();
  skip.on_bad_row = BadRowPolicy::kSkip;
  write_text(dir / "skip.csv", "id,t,amt\n1,2025-01-01,3\n2,2025-01-02,nan\n3,2025-01-02,-inf\n");
  skip.input = dir / "skip.csv";
  // Two bad rows of three are far more than the default 1%: an error, with what to check, and no output.
  try {
    import_csv(skip, dir / "skip.h5", false);
    ADD_FAILURE() << "two bad rows of three were skipped without complaint";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("skip.csv: 2 of 3 rows (66.7%) are bad, more than --max-bad-share 0.01"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("the first: "), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "skip.h5"));
  skip.max_bad_share = 1;  // a threshold given: accepted, counted
  const CsvImportReport r = import_csv(skip, dir / "skip.h5", false);
  EXPECT_EQ(r.events, 1u);
  EXPECT_EQ(r.skipped_rows, 2u);
  EXPECT_EQ(r.customers, 1u);
}

TEST(ImportCsvBadInput, ASkippedShareWithinTheThresholdIsAccepted) {
  TempDir dir;
  std::string text = "id,t,amt\n";
  for (int i = 0; i < 199; ++i) text += std::to_string(i % 50) + ",2025-01-01," + std::to_string(i) + "\n";
  text += "7,2025-01-02,nan\n";  // one bad row in 200: 0.5%
  write_text(dir / "ok.csv", text);
  CsvImportOptions o = basic();
  o.input = dir / "ok.csv";
  o.on_bad_row = BadRowPolicy::kSkip;
  const CsvImportReport r = import_csv(o, dir / "ok.h5", false);
  EXPECT_EQ(r.events, 199u);
  EXPECT_EQ(r.skipped_rows, 1u);
  EXPECT_EQ(r.customers, 50u);
  o.max_bad_share = 0.001;
  EXPECT_THROW(import_csv(o, dir / "strict.h5", false), InputError);
  o.max_bad_share = 2;
  EXPECT_THROW(import_csv(o, dir / "x.h5", false), UsageError);
}

// Errors that can say what to do: the delimiter the header seems to use, the pattern a time parses with.
TEST(ImportCsvBadInput, ErrorsSuggestTheFix) {
  TempDir dir;
  std::string msg = import_error(dir, "id t amt\n1 2025-01-01 3\n", basic());
  EXPECT_NE(msg.find("column 'id' (customer) is not in the header line"), std::string::npos) << msg;
  EXPECT_NE(msg.find("give --delimiter whitespace"), std::string::npos) << msg;
  msg = import_error(dir, "id;t;amt\n1;2025-01-01;3\n", basic());
  EXPECT_NE(msg.find("give --delimiter semicolon"), std::string::npos) << msg;
  // Month first, until a day above 12 comes: the swapped pattern is named.
  CsvImportOptions us = basic();
  us.time_format = "%m/%d/%Y";
  msg = import_error(dir, "id,t,amt\n1,01/02/2025,3\n2,03/04/2025,3\n3,25/04/2025,1\n", us);
  EXPECT_NE(msg.find("bad.csv:4: column 't' (time): cannot parse '25/04/2025'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("are day and month swapped? give --time-format '%d/%m/%Y'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the 2 rows before it parsed both ways"), std::string::npos) << msg;
  // No pattern given: one that parses it is suggested.
  msg = import_error(dir, "id,t,amt\n1,25.04.2025 10:30,3\n", basic());
  EXPECT_NE(msg.find("it parses with --time-format '%d.%m.%Y %H:%M'"), std::string::npos) << msg;
  msg = import_error(dir, "id,t,amt\n1,yesterday,3\n", basic());
  EXPECT_NE(msg.find("give its pattern with --time-format"), std::string::npos) << msg;
}

TEST(ImportCsvBadInput, UnparseableDate) {
  TempDir dir;
  const std::string msg = import_error(dir, "id,t,amt\n1,2025-02-30,3\n", basic());
  EXPECT_NE(msg.find("bad.csv:2: column 't' (time): cannot parse '2025-02-30' as a time"), std::string::npos)
      << msg;
}

TEST(ImportCsvBadInput, MalformedLine) {
  TempDir dir;
  std::string msg = import_error(dir, "id,t,amt\n1,2025-01-01,3\n2,2025-01-02\n", basic());
  EXPECT_NE(msg.find("bad.csv:3: expected at least 3 fields, found 2"), std::string::npos) << msg;
  msg = import_error(dir, "id,t,amt\n1,\"2025-01-01,3\n", basic());
  EXPECT_NE(msg.find("bad.csv:2: unterminated quote"), std::string::npos) << msg;
}

TEST(ImportCsvBadInput, MissingColumn) {
  TempDir dir;
  CsvImportOptions o = basic();
  o.amount = "price";
  const std::string msg = import_error(dir, "id,t,amt\n1,2025-01-01,3\n", o);
  EXPECT_NE(msg.find("bad.csv: column 'price' (amount) is not in the header line (columns: id, t, amt)"),
            std::string::npos)
      << msg;
}

TEST(ImportCsvBadInput, UnknownEventType) {
  TempDir dir;
  CsvImportOptions o = basic();
  o.event_type = "kind";
  const std::string msg = import_error(dir, "id,t,amt,kind\n1,2025-01-01,3,teleport\n", o);
  EXPECT_NE(msg.find("bad.csv:2: column 'kind' (event_type): unknown event type 'teleport'"),
            std::string::npos)
      << msg;
  EXPECT_NE(import_error(dir, "id,t,amt,kind\n1,2025-01-01,3,99\n", o).find("unknown event type '99'"),
            std::string::npos);
}

TEST(ImportCsvBadInput, EmptyAndHeaderOnlyFiles) {
  TempDir dir;
  EXPECT_NE(import_error(dir, "", basic()).find("bad.csv: no rows (the file is empty)"), std::string::npos);
  EXPECT_NE(import_error(dir, "\n\n", basic()).find("bad.csv: no rows"), std::string::npos);
  EXPECT_NE(import_error(dir, "id,t,amt\n", basic()).find("bad.csv: no event rows"), std::string::npos);
  EXPECT_TRUE(dir.entries() == std::vector<std::string>{"bad.csv"});
}

TEST(ImportCsvBadInput, MissingFileAndBadOptions) {
  TempDir dir;
  CsvImportOptions o = basic();
  o.input = dir / "nope.csv";
  EXPECT_THROW(import_csv(o, dir / "out.h5", false), InputError);
  write_text(dir / "x.csv", "1,2025-01-01\n");
  o.input = dir / "x.csv";
  o.header = "no";
  EXPECT_THROW(import_csv(o, dir / "out.h5", false), UsageError) << "named columns need a header";
  o = basic();
  o.input = dir / "x.csv";
  o.delimiter = "pipes";
  EXPECT_THROW(import_csv(o, dir / "out.h5", false), UsageError);
  o.delimiter = "comma";
  o.time_format = "dd.mm.yyyy";
  EXPECT_THROW(import_csv(o, dir / "out.h5", false), UsageError);
}

}  // namespace
}  // namespace segstream::io
