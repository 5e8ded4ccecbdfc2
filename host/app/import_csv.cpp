// `segstream import-csv FILE`: a transactions export into events.h5 (io/csv_import.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/csv_import.hpp"

namespace segstream::app {

Action add_import_csv(CLI::App& sub) {
  auto o = std::make_shared<host::ImportCsvOptions>();
  sub.add_option("input", o->csv.input, "CSV or whitespace-separated transactions file")->required();
  sub.add_option("-o,--out", o->out, "Output events.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("--customer", o->csv.customer, "Customer id column (header name or 1-based position)")
      ->required();
  sub.add_option("--time", o->csv.time, "Time column")->required();
  sub.add_option("--amount", o->csv.amount, "Amount column (default: none, amount 0)");
  sub.add_option("--order", o->csv.order, "Order or invoice id column (stored as /events/order_id)");
  sub.add_option("--category", o->csv.category, "Category code column (integer)");
  sub.add_option("--channel", o->csv.channel, "Channel code column (integer)");
  sub.add_option("--event-type", o->csv.event_type,
                 "Event type column (code 0-12 or name; default: purchase)");
  sub.add_option("--discount", o->csv.discount, "Discount amount column");
  sub.add_option("--time-format", o->csv.time_format,
                 "auto, unix, unix_ms, or a pattern of %Y %m %d %H %M %S (e.g. '%m/%d/%Y %H:%M')")
      ->capture_default_str();
  sub.add_option("--delimiter", o->csv.delimiter, "comma, tab, semicolon, whitespace, or one character")
      ->capture_default_str();
  sub.add_option("--header", o->csv.header, "Is the first line a header: auto, yes, no")
      ->check(CLI::IsMember({"auto", "yes", "no"}))
      ->capture_default_str();
  sub.add_option("--on-bad-row", o->on_bad_row,
                 "error (stop, naming the line and column) or skip (count them)")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  sub.add_option("--max-bad-share", o->csv.max_bad_share,
                 "With --on-bad-row skip: more bad rows than this share of all rows is an error (1 = any)")
      ->capture_default_str();
  sub.footer(
      "Examples:\n"
      "  segstream import-csv orders.csv --customer CustomerID --time InvoiceDate --amount TotalPrice \\\n"
      "      --order InvoiceNo --out events.h5\n"
      "  segstream import-csv CDNOW_master.txt --delimiter whitespace --customer customer_id --time date \\\n"
      "      --time-format %Y%m%d --amount dollar_value --out cdnow.h5\n"
      "  segstream import-csv sample.txt --delimiter whitespace --header no --customer 1 --time 3 --amount 5 "
      "\\\n"
      "      --out sample.h5");

  return [o](const host::GlobalOptions& g) {
    io::check_outputs_apart({{"input", o->csv.input}}, {{"--out", o->out}});
    make_backend(g);
    const io::CsvImportOptions c = host::import_csv_config(*o);
    host::Progress bar("import-csv", "bytes");
    const io::CsvImportReport r =
        io::import_csv(c, o->out, o->overwrite, [&](auto d, auto t) { bar.update(d, t); });
    bar.finish();
    host::log_record(host::LogLevel::kInfo, "import-csv finished",
                     {{"out", o->out},
                      {"events", r.events},
                      {"customers", r.customers},
                      {"lines", r.lines},
                      {"skipped_rows", r.skipped_rows},
                      {"returns_from_negative_purchases", r.returns_from_negative_purchases},
                      {"text_ids", r.text_ids},
                      {"seconds", r.seconds}});
    std::printf("wrote %s: %s events of %s customers from %s lines of %s (%s header) in %.1f s\n",
                o->out.c_str(), with_commas(r.events).c_str(), with_commas(r.customers).c_str(),
                with_commas(r.lines).c_str(), o->csv.input.c_str(), r.had_header ? "with" : "no", r.seconds);
    std::printf("  events from %s to %s\n", format_iso_time(r.first_timestamp).c_str(),
                format_iso_time(r.last_timestamp).c_str());
    if (r.returns_from_negative_purchases)
      std::printf("  %s purchases with a negative amount recorded as returns\n",
                  with_commas(r.returns_from_negative_purchases).c_str());
    if (r.text_ids)
      std::printf("  %s customer ids are not plain integers: kept as text in the id table\n",
                  with_commas(r.text_ids).c_str());
    if (r.skipped_rows)
      std::printf("  skipped %s bad rows; the first: %s\n", with_commas(r.skipped_rows).c_str(),
                  r.first_bad_row.c_str());
  };
}

}  // namespace segstream::app
