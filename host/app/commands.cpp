#include "commands.hpp"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>

#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/rfm.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/inspect.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::app {
namespace {

std::int64_t parse_date_option(const std::string& option, const std::string& text) {
  const auto t = parse_iso_time(text);
  if (!t) throw UsageError(option + ": expected a date YYYY-MM-DD (UTC), got '" + text + "'");
  return *t;
}

// A positive integer option value, at most `max`.
std::int64_t parse_count_option(const std::string& option, const std::string& text,
                                std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0 || v > max)
    throw UsageError(option + ": expected a positive integer" +
                     (max < 1000000 ? " up to " + std::to_string(max) : "") + " or a name, got '" + text +
                     "'");
  return v;
}

// "512M", "4G", "1048576" → bytes.
std::uint64_t parse_bytes_option(const std::string& option, const std::string& text) {
  std::string digits = text;
  std::uint64_t scale = 1;
  if (!digits.empty()) {
    const char suffix = static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back())));
    const std::string units = "KMGT";
    if (const auto at = units.find(suffix); at != std::string::npos) {
      scale = std::uint64_t{1} << (10 * (at + 1));
      digits.pop_back();
    }
  }
  return static_cast<std::uint64_t>(parse_count_option(option, digits)) * scale;
}

// "7,28,90" → numbers (UsageError naming the option for anything else).
std::vector<double> parse_number_list(const std::string& option, const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    double v = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || !std::isfinite(v))
      throw UsageError(option + ": expected comma-separated numbers, got '" + text + "'");
    out.push_back(v);
  }
  return out;
}

// "champion=2,lapsed" → weights; unnamed archetypes get weight 0.
std::array<double, host::kArchetypeCount> parse_mix(const std::string& text) {
  std::array<double, host::kArchetypeCount> mix{};
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const auto archetype = host::parse_archetype(name);
    if (!archetype) {
      std::string valid;
      for (const auto& n : host::archetype_names()) valid += (valid.empty() ? "" : ", ") + n;
      throw UsageError("--archetypes: unknown archetype '" + name + "' (expected one of: " + valid + ")");
    }
    double weight = 1.0;
    if (eq != std::string::npos) {
      try {
        std::size_t used = 0;
        weight = std::stod(item.substr(eq + 1), &used);
        if (used != item.size() - eq - 1) throw std::invalid_argument("trailing characters");
      } catch (const std::exception&) {
        throw UsageError("--archetypes: weight of '" + name + "' is not a number: '" + item.substr(eq + 1) +
                         "'");
      }
      if (!(weight >= 0.0)) throw UsageError("--archetypes: weight of '" + name + "' must be non-negative");
    }
    mix[static_cast<std::size_t>(*archetype)] = weight;
  }
  return mix;
}

// The run's backend, chosen once by --device (and logged with why).
std::unique_ptr<kernels::Backend> make_backend(const GlobalOptions& g, std::uint64_t gpu_memory = 0) {
  const auto kind = kernels::parse_device_kind(g.device);
  auto backend = kernels::make_backend({*kind, g.threads, gpu_memory});
  const kernels::DeviceInfo& device = backend->device();
  host::log_record(
      host::LogLevel::kDebug,
      fmt::format("device: {} ({}, {} {}) — {}", kernels::device_kind_name(device.kind), device.name,
                  device.threads, device.kind == kernels::DeviceKind::kCuda ? "SMs" : "threads", device.note),
      {{"device", kernels::device_kind_name(device.kind)}, {"device_name", device.name}});
  return backend;
}

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

Action add_generate(CLI::App& sub) {
  struct Options {
    std::string out;
    bool overwrite = false;
    std::int64_t customers = 1'000'000;
    std::int64_t days = 365;
    std::string start = "2025-01-01";
    std::uint64_t seed = 42;
    std::string archetypes;
    double drift_fraction = 0.0;
    std::string drift_at;
    std::string order = "customer";
    std::int64_t shuffle_block = std::int64_t{1} << 15;
    std::int64_t chunk_rows = 0;
    std::int64_t batch = std::int64_t{1} << 15;
    bool features_only = false;
    std::int64_t dims = 16;
    std::int64_t clusters = 8;
    double cluster_std = 1.0;
    double separation = 8.0;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("-o,--out", o->out, "Output file (events.h5, or features.h5 with --features-only)")
      ->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("-n,--customers", o->customers, "Number of customers (rows with --features-only)")
      ->capture_default_str();
  sub.add_option("--days", o->days, "Length of the generated window in days")->capture_default_str();
  sub.add_option("--start", o->start, "First day of the window (YYYY-MM-DD, UTC)")->capture_default_str();
  sub.add_option("--seed", o->seed, "Random seed; the output is a function of it alone")
      ->capture_default_str();
  sub.add_option(
      "--archetypes", o->archetypes,
      "Archetype mix as name[=weight],… (default: the built-in mix of all ten; see docs/GENERATOR.md)");
  sub.add_option("--drift-fraction", o->drift_fraction,
                 "Fraction of customers who switch archetype at --drift-at");
  sub.add_option("--drift-at", o->drift_at, "Date of the behaviour change (YYYY-MM-DD)");
  sub.add_option("--order", o->order,
                 "Event order: customer (grouped, time-sorted) or shuffled (within blocks)")
      ->check(CLI::IsMember({"customer", "shuffled"}))
      ->capture_default_str();
  sub.add_option("--shuffle-block", o->shuffle_block, "Customers per shuffled block")->capture_default_str();
  sub.add_option("--chunk-rows", o->chunk_rows, "HDF5 chunk rows (0 = default; does not change the data)");
  sub.add_option("--batch", o->batch, "Customers per generation batch (memory; does not change the data)")
      ->capture_default_str();
  sub.add_flag("--features-only", o->features_only,
               "Write a Gaussian-mixture feature matrix with true labels");
  sub.add_option("--dims", o->dims, "Feature columns (--features-only)")->capture_default_str();
  sub.add_option("--clusters", o->clusters, "Mixture components (--features-only)")->capture_default_str();
  sub.add_option("--cluster-std", o->cluster_std, "Within-cluster standard deviation (--features-only)")
      ->capture_default_str();
  sub.add_option("--separation", o->separation,
                 "Minimum centre distance in cluster_std units (--features-only)")
      ->capture_default_str();
  sub.footer(
      "Examples:\n"
      "  segstream generate --customers 100000 --out events.h5\n"
      "  segstream generate --customers 1000000 --drift-fraction 0.1 --drift-at 2025-07-01 --out events.h5\n"
      "  segstream generate --features-only --customers 10000000 --dims 16 --clusters 16 --out features.h5");

  return [o](const GlobalOptions& g) {
    make_backend(g);
    SEGSTREAM_EXPECTS(o->customers > 0, "--customers must be at least 1 (got {})", o->customers);
    SEGSTREAM_EXPECTS(o->chunk_rows >= 0, "--chunk-rows must be non-negative (got {})", o->chunk_rows);
    SEGSTREAM_EXPECTS(o->batch > 0, "--batch must be positive (got {})", o->batch);
    const int threads = g.threads > 0 ? g.threads : omp_get_max_threads();
    host::GenerateReport report;
    if (o->features_only) {
      SEGSTREAM_EXPECTS(o->dims > 0, "--dims must be at least 1 (got {})", o->dims);
      SEGSTREAM_EXPECTS(o->clusters > 0, "--clusters must be at least 1 (got {})", o->clusters);
      host::MixtureGeneratorConfig c;
      c.rows = static_cast<std::uint64_t>(o->customers);
      c.dims = static_cast<std::uint64_t>(o->dims);
      c.clusters = static_cast<std::uint64_t>(o->clusters);
      c.seed = o->seed;
      c.cluster_std = o->cluster_std;
      c.separation = o->separation;
      c.chunk_rows = static_cast<std::uint64_t>(o->chunk_rows);
      c.threads = threads;
      c.validate();
      host::log_info("generating a {}-component mixture: {} rows × {} columns, {} threads", c.clusters,
                     with_commas(c.rows), c.dims, threads);
      host::Progress bar("generate", "rows");
      report = host::generate_mixture(c, o->out, o->overwrite, [&](auto d, auto t) { bar.update(d, t); });
      bar.finish();
      std::printf("wrote %s: %s rows x %llu features from %llu clusters in %.1f s (%s rows/s)\n",
                  o->out.c_str(), with_commas(report.events).c_str(), static_cast<unsigned long long>(c.dims),
                  static_cast<unsigned long long>(c.clusters), report.seconds,
                  host::human_count(static_cast<double>(report.events) / report.seconds).c_str());
    } else {
      SEGSTREAM_EXPECTS(o->days > 0, "--days must be a positive number of days (got {})", o->days);
      SEGSTREAM_EXPECTS(o->shuffle_block > 0, "--shuffle-block must be positive (got {})", o->shuffle_block);
      host::EventGeneratorConfig c;
      c.customers = static_cast<std::uint64_t>(o->customers);
      c.days = o->days;
      c.start = parse_date_option("--start", o->start);
      c.seed = o->seed;
      if (!o->archetypes.empty()) c.mix = parse_mix(o->archetypes);
      c.drift_fraction = o->drift_fraction;
      if (!o->drift_at.empty()) c.drift_at = parse_date_option("--drift-at", o->drift_at);
      c.order = o->order == "shuffled" ? host::EventOrder::kShuffled : host::EventOrder::kCustomer;
      c.shuffle_block = static_cast<std::uint64_t>(o->shuffle_block);
      c.batch_customers = static_cast<std::uint64_t>(o->batch);
      c.chunk_rows = static_cast<std::uint64_t>(o->chunk_rows);
      c.threads = threads;
      c.validate();
      host::log_info("generating {} customers over {} days from {}, {} threads", with_commas(c.customers),
                     c.days, format_iso_time(c.start), threads);
      host::Progress bar("generate", "customers");
      report = host::generate_events(c, o->out, o->overwrite, [&](auto d, auto t) { bar.update(d, t); });
      bar.finish();
      nlohmann::json by_archetype, by_type;
      for (int a = 0; a < host::kArchetypeCount; ++a)
        by_archetype[host::archetype_names()[static_cast<std::size_t>(a)]] =
            report.customers_by_archetype[static_cast<std::size_t>(a)];
      for (int t = 0; t < io::kEventTypeCount; ++t)
        by_type[io::standard_event_type_names()[static_cast<std::size_t>(t)]] =
            report.events_by_type[static_cast<std::size_t>(t)];
      const double rate = static_cast<double>(report.events) / report.seconds;
      host::log_record(host::LogLevel::kInfo, "generate finished",
                       {{"out", o->out},
                        {"customers", report.customers},
                        {"events", report.events},
                        {"drifted", report.drifted},
                        {"seconds", report.seconds},
                        {"events_per_second", rate},
                        {"customers_by_archetype", by_archetype},
                        {"events_by_type", by_type}});
      std::printf("wrote %s: %s customers, %s events in %.1f s (%s events/s)\n", o->out.c_str(),
                  with_commas(report.customers).c_str(), with_commas(report.events).c_str(), report.seconds,
                  host::human_count(rate).c_str());
      if (report.drifted) std::printf("  drifted customers: %s\n", with_commas(report.drifted).c_str());
      std::printf("  customers by archetype:");
      for (int a = 0; a < host::kArchetypeCount; ++a)
        std::printf(" %s %s", host::archetype_names()[static_cast<std::size_t>(a)].c_str(),
                    with_commas(report.customers_by_archetype[static_cast<std::size_t>(a)]).c_str());
      std::printf("\n  events by type:");
      for (int t = 0; t < io::kEventTypeCount; ++t)
        std::printf(" %s %s", io::standard_event_type_names()[static_cast<std::size_t>(t)].c_str(),
                    with_commas(report.events_by_type[static_cast<std::size_t>(t)]).c_str());
      std::printf("\n");
    }
  };
}

Action add_inspect(CLI::App& sub) {
  struct Options {
    std::string file;
    bool no_stats = false;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("file", o->file, "HDF5 file to describe")->required();
  sub.add_flag("--no-stats", o->no_stats, "Skip the per-column statistics (no pass over the data)");
  sub.add_flag("--json", o->json, "Print the description as one JSON document");
  sub.footer(
      "Example:\n  segstream inspect events.h5\n  segstream inspect --json features.h5 > features.json");

  return [o](const GlobalOptions& g) {
    make_backend(g);
    host::Progress bar("inspect", "rows");
    const io::FileSummary s =
        io::inspect_file(o->file, !o->no_stats, [&](auto d, auto t) { bar.update(d, t); });
    bar.finish();
    if (o->json) {
      nlohmann::json doc = {{"path", s.path}, {"bytes", s.file_bytes}, {"format", s.format}};
      auto attrs = [](const std::vector<io::AttributeSummary>& list) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& a : list) j[a.name] = a.value;
        return j;
      };
      doc["attributes"] = attrs(s.attributes);
      doc["datasets"] = nlohmann::json::array();
      for (const auto& d : s.datasets) {
        nlohmann::json dj = {{"path", d.path},           {"type", d.type},
                             {"shape", d.shape},         {"chunk", d.chunk},
                             {"bytes", d.storage_bytes}, {"attributes", attrs(d.attributes)}};
        dj["columns"] = nlohmann::json::array();
        for (const auto& c : d.columns)
          dj["columns"].push_back({{"name", c.name},
                                   {"count", c.count},
                                   {"non_finite", c.non_finite},
                                   {"min", c.min},
                                   {"max", c.max},
                                   {"mean", c.mean},
                                   {"std", c.stddev}});
        doc["datasets"].push_back(dj);
      }
      std::printf("%s\n", doc.dump(2).c_str());
      return;
    }
    std::printf("%s  (%s%s)\n", s.path.c_str(), host::human_bytes(static_cast<double>(s.file_bytes)).c_str(),
                s.format.empty() ? "" : (", " + s.format).c_str());
    for (const auto& a : s.attributes) std::printf("  @%s = %s\n", a.name.c_str(), a.value.c_str());
    for (const auto& a : s.group_attributes_events)
      std::printf("  /events @%s = %s\n", a.name.c_str(), a.value.c_str());
    for (const auto& d : s.datasets) {
      std::string shape, chunk;
      for (auto x : d.shape) shape += (shape.empty() ? "" : " x ") + with_commas(x);
      for (auto x : d.chunk) chunk += (chunk.empty() ? "" : " x ") + std::to_string(x);
      std::printf("\n%s  %s [%s]  %s  %s\n", d.path.c_str(), d.type.c_str(), shape.c_str(),
                  chunk.empty() ? "contiguous" : ("chunks [" + chunk + "]").c_str(),
                  host::human_bytes(static_cast<double>(d.storage_bytes)).c_str());
      for (const auto& a : d.attributes) {
        std::string v = a.value;
        if (v.size() > 160) v = v.substr(0, 157) + "...";
        std::printf("  @%s = %s\n", a.name.c_str(), v.c_str());
      }
      int width = 24;  // the column of names fits the longest
      for (const auto& c : d.columns) width = std::max(width, static_cast<int>(c.name.size()));
      if (!d.columns.empty())
        std::printf("  %-*s %14s %10s %14s %14s %14s %14s\n", width, "column", "count", "non-finite", "min",
                    "max", "mean", "std");
      for (const auto& c : d.columns)
        std::printf("  %-*s %14s %10s %14.6g %14.6g %14.6g %14.6g\n", width, c.name.c_str(),
                    with_commas(c.count).c_str(), with_commas(c.non_finite).c_str(), c.min, c.max, c.mean,
                    c.stddev);
    }
  };
}

Action add_import_csv(CLI::App& sub) {
  struct Options {
    io::CsvImportOptions csv;
    std::string input, out, on_bad_row = "error";
    bool overwrite = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("input", o->input, "CSV or whitespace-separated transactions file")->required();
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
  sub.footer(
      "Examples:\n"
      "  segstream import-csv orders.csv --customer CustomerID --time InvoiceDate --amount TotalPrice \\\n"
      "      --order InvoiceNo --out events.h5\n"
      "  segstream import-csv CDNOW_master.txt --delimiter whitespace --customer customer_id --time date \\\n"
      "      --time-format %Y%m%d --amount dollar_value --out cdnow.h5\n"
      "  segstream import-csv sample.txt --delimiter whitespace --header no --customer 1 --time 3 --amount 5 "
      "\\\n"
      "      --out sample.h5");

  return [o](const GlobalOptions& g) {
    make_backend(g);
    o->csv.input = o->input;
    o->csv.on_bad_row = o->on_bad_row == "skip" ? io::BadRowPolicy::kSkip : io::BadRowPolicy::kError;
    host::Progress bar("import-csv", "bytes");
    const io::CsvImportReport r =
        io::import_csv(o->csv, o->out, o->overwrite, [&](auto d, auto t) { bar.update(d, t); });
    bar.finish();
    host::log_record(host::LogLevel::kInfo, "import-csv finished",
                     {{"out", o->out},
                      {"events", r.events},
                      {"lines", r.lines},
                      {"skipped_rows", r.skipped_rows},
                      {"returns_from_negative_purchases", r.returns_from_negative_purchases},
                      {"hashed_customer_ids", r.hashed_customer_ids},
                      {"seconds", r.seconds}});
    std::printf("wrote %s: %s events from %s lines of %s (%s header) in %.1f s\n", o->out.c_str(),
                with_commas(r.events).c_str(), with_commas(r.lines).c_str(), o->input.c_str(),
                r.had_header ? "with" : "no", r.seconds);
    std::printf("  events from %s to %s\n", format_iso_time(r.first_timestamp).c_str(),
                format_iso_time(r.last_timestamp).c_str());
    if (r.returns_from_negative_purchases)
      std::printf("  %s purchases with a negative amount recorded as returns\n",
                  with_commas(r.returns_from_negative_purchases).c_str());
    if (r.hashed_customer_ids)
      std::printf("  %s rows had a non-numeric customer id, mapped to a 64-bit hash\n",
                  with_commas(r.hashed_customer_ids).c_str());
    if (r.skipped_rows)
      std::printf("  skipped %s bad rows; the first: %s\n", with_commas(r.skipped_rows).c_str(),
                  r.first_bad_row.c_str());
  };
}

Action add_features(CLI::App& sub) {
  struct Options {
    std::string events, out, mode = "behavioral", as_of, calibration_end, t_ref, unit = "day",
                             purchase_types = "purchase";
    std::string windows = "7,28,90", season_months = "11,12", bgnbd, state_in, state_out;
    int top_categories = 5;
    std::string host_memory = "2G", gpu_memory, on_bad_row = "error";
    double multiplier = 1.0;
    bool overwrite = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("--events", o->events, "Input events.h5")->required();
  sub.add_option("-o,--out", o->out, "Output features.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("--mode", o->mode,
                 "Feature set: behavioral (every family of the behavioural set), lifetimes (the BTYD summary "
                 "of the lifetimes library) or rfm (recency days, frequency, monetary)")
      ->check(CLI::IsMember({"behavioral", "behavioural", "lifetimes", "rfm"}))
      ->capture_default_str();
  sub.add_option("--windows", o->windows,
                 "behavioral: the three usage windows of events_<w>d, in days (1-120)")
      ->capture_default_str();
  sub.add_option("--season-months", o->season_months, "behavioral: months of holiday_share, comma-separated")
      ->capture_default_str();
  sub.add_option("--top-categories", o->top_categories,
                 "behavioral: category_share columns for this many top categories by spend (0-16)")
      ->capture_default_str();
  sub.add_option("--bgnbd", o->bgnbd,
                 "behavioral: BG/NBD parameters r,alpha,a,b for p_alive (default: fitted on a sample of "
                 "customers, in --unit / --multiplier time)");
  sub.add_option("--state-in", o->state_in,
                 "behavioral: state saved by an earlier run (--state-out); only events after its as-of time "
                 "are read from --events");
  sub.add_option("--state-out", o->state_out,
                 "behavioral: save the per-customer state as of --as-of, for the next incremental run");
  sub.add_option("--t-ref", o->t_ref,
                 "rfm: reference time of recency_days (default: the events file's as_of, the day after its "
                 "last event for imported files)");
  sub.add_option(
      "--as-of", o->as_of,
      "Observation end: events after it are ignored (YYYY-MM-DD[THH:MM:SS]; default: the end of the "
      "events file's window)");
  sub.add_option("--unit", o->unit, "Period: day, hour, week, or a number of seconds")->capture_default_str();
  sub.add_option("--multiplier", o->multiplier, "Durations are divided by it (7 with --unit day gives weeks)")
      ->capture_default_str();
  sub.add_option("--calibration-end", o->calibration_end,
                 "Split calibration (<= this) and holdout (after it, to --as-of), lifetimes-style");
  sub.add_option("--purchase-types", o->purchase_types,
                 "Event types that count as purchases: names or codes, comma-separated")
      ->capture_default_str();
  sub.add_option("--host-memory", o->host_memory, "Memory for the purchases held at once, e.g. 512M, 4G")
      ->capture_default_str();
  sub.add_option("--gpu-memory", o->gpu_memory,
                 "behavioral with --device cuda: device memory per pass, e.g. 16G (default: 80% of the free "
                 "memory)");
  sub.add_option("--on-bad-row", o->on_bad_row,
                 "NaN or infinite amounts: error (naming the row) or skip (count)")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  sub.footer(
      "Examples:\n"
      "  segstream features --events events.h5 --out features.h5 --state-out state-2026-11-28.h5\n"
      "  segstream features --events day.h5 --state-in state-2026-11-28.h5 --as-of 2026-11-29T23:59:59 "
      "--out features.h5\n"
      "  segstream features --events cdnow.h5 --mode lifetimes --as-of 1997-09-30 --multiplier 7 --out "
      "summary.h5\n"
      "  segstream features --events cdnow.h5 --mode lifetimes --calibration-end 1997-09-30 --as-of "
      "1998-06-30 --out "
      "holdout.h5");

  return [o](const GlobalOptions& g) {
    host::FeatureConfig c;
    c.mode = host::parse_feature_mode(o->mode);
    if (!o->as_of.empty()) c.as_of = parse_date_option("--as-of", o->as_of);
    if (!o->t_ref.empty()) c.t_ref = parse_date_option("--t-ref", o->t_ref);
    if (!o->calibration_end.empty())
      c.calibration_end = parse_date_option("--calibration-end", o->calibration_end);
    if (o->unit == "day")
      c.unit_seconds = 86400;
    else if (o->unit == "hour")
      c.unit_seconds = 3600;
    else if (o->unit == "week")
      c.unit_seconds = 7 * 86400;
    else
      c.unit_seconds = parse_count_option("--unit", o->unit);
    c.multiplier = o->multiplier;
    c.purchase_types.clear();
    std::stringstream types(o->purchase_types);
    for (std::string t; std::getline(types, t, ',');) {
      const auto& names = io::standard_event_type_names();
      const auto it = std::find(names.begin(), names.end(), t);
      c.purchase_types.push_back(
          it != names.end() ? static_cast<std::uint8_t>(it - names.begin())
                            : static_cast<std::uint8_t>(parse_count_option("--purchase-types", t, 255)));
    }
    c.host_memory = parse_bytes_option("--host-memory", o->host_memory);
    const std::uint64_t gpu_memory = o->gpu_memory.empty() ? 0 : parse_bytes_option("--gpu-memory", o->gpu_memory);
    c.on_bad_row = o->on_bad_row == "skip" ? io::BadRowPolicy::kSkip : io::BadRowPolicy::kError;
    const std::vector<double> windows = parse_number_list("--windows", o->windows);
    if (windows.size() != 3) throw UsageError("--windows takes three numbers of days, e.g. 7,28,90");
    for (int i = 0; i < 3; ++i) c.windows[i] = static_cast<int>(windows[i]);
    c.season_months = 0;
    for (double m : parse_number_list("--season-months", o->season_months)) {
      if (m < 1 || m > 12 || m != std::floor(m)) throw UsageError("--season-months takes months 1-12");
      c.season_months |= 1u << static_cast<int>(m);
    }
    c.top_categories = o->top_categories;
    if (!o->bgnbd.empty()) {
      const std::vector<double> v = parse_number_list("--bgnbd", o->bgnbd);
      if (v.size() != 4) throw UsageError("--bgnbd takes four numbers r,alpha,a,b");
      c.bgnbd = kernels::BgNbdParams{v[0], v[1], v[2], v[3]};
    }
    c.state_in = o->state_in;
    c.state_out = o->state_out;
    host::Progress bar("features", "event rows");
    // The behavioural set is folded on the backend; lifetimes and rfm hold only purchases and run on the host.
    const auto backend = make_backend(g, gpu_memory);
    const host::FeatureReport r = host::compute_features(
        o->events, o->out, o->overwrite, c, [&](auto d, auto t) { bar.update(d, t); }, *backend);
    bar.finish();
    host::log_record(host::LogLevel::kInfo, "features finished",
                     {{"out", o->out},
                      {"customers", r.customers},
                      {"events", r.events},
                      {"purchases", r.purchases},
                      {"after_as_of", r.after_as_of},
                      {"skipped_rows", r.skipped_rows},
                      {"holdout_only_customers", r.holdout_only_customers},
                      {"negative_purchases", r.negative_purchases},
                      {"state_customers", r.state_customers},
                      {"before_state", r.before_state},
                      {"bgnbd_sample", r.bgnbd_sample},
                      {"partitions", r.partitions},
                      {"peak_held_bytes", r.peak_held_bytes},
                      {"seconds", r.seconds}});
    std::printf("wrote %s: %s customers (%s mode, as of %s) from %s events in %.1f s, %llu pass%s\n",
                o->out.c_str(), with_commas(r.customers).c_str(), o->mode.c_str(),
                format_iso_time(r.as_of).c_str(), with_commas(r.events).c_str(), r.seconds,
                static_cast<unsigned long long>(r.partitions), r.partitions == 1 ? "" : "es");
    if (r.after_as_of)
      std::printf("  %s events after the as-of time ignored\n", with_commas(r.after_as_of).c_str());
    if (r.holdout_only_customers)
      std::printf("  %s customers first seen in the holdout left out\n",
                  with_commas(r.holdout_only_customers).c_str());
    if (r.skipped_rows)
      std::printf("  %s rows with a bad amount skipped\n", with_commas(r.skipped_rows).c_str());
    if (r.negative_purchases)
      std::printf("  %s purchases with a negative amount counted as returns\n",
                  with_commas(r.negative_purchases).c_str());
    if (r.state_customers)
      std::printf("  %s customers carried in from %s; %s events at or before its as-of time ignored\n",
                  with_commas(r.state_customers).c_str(), o->state_in.c_str(),
                  with_commas(r.before_state).c_str());
    if (r.bgnbd)
      std::printf(
          "  p_alive: BG/NBD r=%.4g alpha=%.4g a=%.4g b=%.4g (%s)\n", r.bgnbd->r, r.bgnbd->alpha, r.bgnbd->a,
          r.bgnbd->b,
          r.bgnbd_sample ? ("fitted on " + with_commas(r.bgnbd_sample) + " customers").c_str() : "given");
  };
}

Action add_rfm(CLI::App& sub) {
  struct Options {
    std::string features, out, scoring = "rank-cut", map = "rfm11";
    bool overwrite = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("--features", o->features, "features.h5 written by `segstream features --mode rfm`")
      ->required();
  sub.add_option("-o,--out", o->out, "Output rfm.h5 (scores and segment per customer, summary per segment)")
      ->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("--scoring", o->scoring, "Scoring convention: rank-cut or quintile")
      ->check(CLI::IsMember({"rank-cut", "quintile"}))
      ->capture_default_str();
  sub.add_option("--map", o->map,
                 "Segment map: rfm11 (11 segments on R, F, M), rf10 (classic R/F grid) or a CSV")
      ->capture_default_str();
  sub.footer(
      "Example:\n"
      "  segstream features --events retail.h5 --mode rfm --out rfm-features.h5\n"
      "  segstream rfm --features rfm-features.h5 --scoring rank-cut --map rfm11 --out rfm.h5");

  return [o](const GlobalOptions& g) {
    make_backend(g);
    const host::RfmSegmentMap map = host::RfmSegmentMap::named(o->map);
    const host::RfmReport r =
        host::segment_rfm_file(o->features, o->out, o->overwrite, host::parse_rfm_scoring(o->scoring), map);
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& s : r.segments)
      segments.push_back({{"segment", s.name}, {"customers", s.customers}, {"revenue", s.revenue}});
    host::log_record(host::LogLevel::kInfo, "rfm finished",
                     {{"out", o->out}, {"customers", r.customers}, {"segments", segments}});
    std::printf("wrote %s: %s customers, %s scoring, map %s\n", o->out.c_str(),
                with_commas(r.customers).c_str(), o->scoring.c_str(), map.name().c_str());
    std::printf("  %-22s %12s %9s %16s %9s\n", "segment", "customers", "share", "revenue", "share");
    for (const auto& s : r.segments)
      std::printf("  %-22s %12s %8.1f%% %16.2f %8.1f%%\n", s.name.c_str(), with_commas(s.customers).c_str(),
                  100 * s.customer_share, s.revenue, 100 * s.revenue_share);
  };
}

Action add_fit(CLI::App& sub) {
  struct Options {
    std::string features, out, columns, init = "k-means++", transform = "auto", host_memory = "8G",
                                        gpu_memory;
    host::KMeansConfig k;
    bool overwrite = false, keep_absorbed = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("--features", o->features, "Input features.h5")->required();
  sub.add_option("-o,--out", o->out, "Output model.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("-k,--k", o->k.k, "Number of segments")->required();
  sub.add_option("--columns", o->columns, "Feature columns to cluster, comma-separated (default: all)");
  sub.add_option("--transform", o->transform,
                 "Model space: auto (log1p of heavy-tailed columns, then z-score), zscore, robust, none")
      ->check(CLI::IsMember({"auto", "zscore", "robust", "none"}))
      ->capture_default_str();
  sub.add_option("--seed", o->k.seed, "Seed of every random draw")->capture_default_str();
  sub.add_option("--batch-size", o->k.batch_size, "Rows per mini-batch step")->capture_default_str();
  sub.add_option("--max-epochs", o->k.max_epochs, "Bound on the mini-batch steps, in passes over the rows")
      ->capture_default_str();
  sub.add_option("--init", o->init,
                 "k-means++, k-means-parallel, random, or a model.h5 whose centres start the fit")
      ->capture_default_str();
  sub.add_flag("--keep-absorbed", o->keep_absorbed,
               "With --init FILE: continue from the weights its centres absorbed (a warm start), not from 0");
  sub.add_option("--init-size", o->k.init_size,
                 "Rows sampled for the initialisation (0 = max(3 x batch, 3 x k), capped at the rows)")
      ->capture_default_str();
  sub.add_option("--reassignment-ratio", o->k.reassignment_ratio,
                 "Centres that absorbed less than this share of the largest move to sampled rows")
      ->capture_default_str();
  sub.add_option("--max-no-improvement", o->k.max_no_improvement,
                 "Stop after this many steps without a better smoothed batch inertia (0 = never)")
      ->capture_default_str();
  sub.add_option("--tol", o->k.tol, "Stop when the centres move less than this x the mean feature variance")
      ->capture_default_str();
  sub.add_option("--refine", o->k.refine, "Full Lloyd passes after the mini-batch phase")
      ->capture_default_str();
  sub.add_option("--n-init", o->k.n_init, "Restarts; the lowest inertia wins")->capture_default_str();
  sub.add_option("--host-memory", o->host_memory, "Memory for the rows held, e.g. 8G")->capture_default_str();
  sub.add_option("--gpu-memory", o->gpu_memory,
                 "With --device cuda: device memory for the pipeline, and for every row when it fits, e.g. "
                 "16G (default: 80% of the free memory)");
  sub.footer(
      "Example:\n"
      "  segstream fit --features features.h5 --k 8 --refine 2 --out model.h5\n"
      "  segstream assign --model model.h5 --features features.h5 --out segments.h5");
  return [o](const GlobalOptions& g) {
    host::FitConfig c;
    c.kmeans = o->k;
    c.kmeans.threads = g.threads;
    std::stringstream cols(o->columns);
    for (std::string name; std::getline(cols, name, ',');)
      if (!name.empty()) c.columns.push_back(name);
    c.transform = host::parse_transform(o->transform);
    c.host_memory = parse_bytes_option("--host-memory", o->host_memory);
    const std::uint64_t gpu_memory = o->gpu_memory.empty() ? 0 : parse_bytes_option("--gpu-memory", o->gpu_memory);
    if (o->init == "k-means++")
      c.kmeans.init = host::KMeansInit::kKMeansPlusPlus;
    else if (o->init == "k-means-parallel")
      c.kmeans.init = host::KMeansInit::kKMeansParallel;
    else if (o->init == "random")
      c.kmeans.init = host::KMeansInit::kRandom;
    else
      c.init_model = o->init;
    c.keep_absorbed = o->keep_absorbed;
    const auto backend = make_backend(g, gpu_memory);
    const host::FitReport r = host::fit_model(o->features, o->out, o->overwrite, c, *backend);
    const auto empty = std::count(r.model.counts.begin(), r.model.counts.end(), std::uint64_t{0});
    if (empty > 0)
      host::log_warn("{} of {} segments are empty: the rows have fewer distinct points than --k", empty,
                     r.model.k);
    host::log_record(host::LogLevel::kInfo, "fit finished",
                     {{"out", o->out},
                      {"rows", r.rows},
                      {"columns", r.d},
                      {"k", r.model.k},
                      {"inertia", r.model.inertia},
                      {"steps", r.model.steps},
                      {"lloyd_passes", r.model.lloyd_passes},
                      {"stop_reason", r.model.stop_reason},
                      {"seconds", r.seconds},
                      {"read_seconds", r.read_seconds},
                      {"init_seconds", r.model.seconds.init},
                      {"mini_batch_seconds", r.model.seconds.mini_batch},
                      {"lloyd_seconds", r.model.seconds.lloyd},
                      {"final_pass_seconds", r.model.seconds.final_pass}});
    std::printf(
        "wrote %s: %d segments of %s rows x %d columns in %.1f s (%llu mini-batch steps, %d Lloyd "
        "passes; %s)\n  inertia %.6g\n",
        o->out.c_str(), r.model.k, with_commas(r.rows).c_str(), r.d, r.seconds,
        static_cast<unsigned long long>(r.model.steps), r.model.lloyd_passes, r.model.stop_reason.c_str(),
        r.model.inertia);
    for (int s = 0; s < r.model.k; ++s)
      std::printf("  segment %3d  %12s rows  %5.1f%%\n", s,
                  with_commas(r.model.counts[static_cast<std::size_t>(s)]).c_str(),
                  100.0 * static_cast<double>(r.model.counts[static_cast<std::size_t>(s)]) /
                      static_cast<double>(r.rows));
  };
}

Action add_assign(CLI::App& sub) {
  struct Options {
    std::string model, features, out;
    bool overwrite = false;
  };
  auto o = std::make_shared<Options>();
  sub.add_option("--model", o->model, "model.h5 written by `segstream fit`")->required();
  sub.add_option("--features", o->features, "features.h5 with the model's columns")->required();
  sub.add_option("-o,--out", o->out, "Output segments.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.footer("Example:\n  segstream assign --model model.h5 --features features.h5 --out segments.h5");
  return [o](const GlobalOptions& g) {
    const auto backend = make_backend(g);
    const host::AssignReport r = host::assign_segments(o->model, o->features, o->out, o->overwrite, *backend);
    host::log_record(
        host::LogLevel::kInfo, "assign finished",
        {{"out", o->out}, {"rows", r.rows}, {"k", r.k}, {"inertia", r.inertia}, {"seconds", r.seconds}});
    std::printf("wrote %s: %s customers in %d segments in %.1f s; inertia %.6g\n", o->out.c_str(),
                with_commas(r.rows).c_str(), r.k, r.seconds, r.inertia);
    for (int s = 0; s < r.k; ++s)
      std::printf(
          "  segment %3d  %12s customers  %5.1f%%\n", s,
          with_commas(r.counts[static_cast<std::size_t>(s)]).c_str(),
          100.0 * static_cast<double>(r.counts[static_cast<std::size_t>(s)]) / static_cast<double>(r.rows));
  };
}

}  // namespace segstream::app
