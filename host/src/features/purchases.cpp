// `segstream features --mode lifetimes | rfm`: the BTYD summary and classic RFM values from the purchases of
// every customer (features.hpp), and the pieces every mode shares.
#include "segstream/host/features.hpp"

#include "features_internal.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/streams.hpp"
#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/lifetimes.hpp"
#include "segstream/kernels/rfm_fold.hpp"

namespace segstream::host {
namespace {

// One purchase held in memory: 40 bytes.
struct Purchase {
  std::uint64_t key;  // mix64(customer_id): the output order and the partition
  std::uint64_t customer_id;
  std::int64_t timestamp;
  double amount;
  std::uint64_t order_id;  // 0 when the file has no order ids
};

std::vector<std::string> rfm_columns() {
  return {"recency_days", "frequency", "monetary"};
}

std::vector<std::string> lifetimes_columns(bool holdout) {
  std::vector<std::string> names = {"frequency", "recency", "T", "monetary_value"};
  if (holdout) names.insert(names.end(), {"frequency_holdout", "monetary_value_holdout", "duration_holdout"});
  return names;
}

}  // namespace

namespace detail {

void check_common_config(const FeatureConfig& config) {
  SEGSTREAM_EXPECTS(config.unit_seconds > 0, "--unit must be a positive number of seconds (got {})",
                    config.unit_seconds);
  SEGSTREAM_EXPECTS(config.multiplier > 0 && std::isfinite(config.multiplier),
                    "--multiplier must be positive (got {})", config.multiplier);
  SEGSTREAM_EXPECTS(!config.purchase_types.empty(), "at least one purchase event type is needed");
  SEGSTREAM_EXPECTS(config.host_memory >= (std::uint64_t{1} << 20), "--host-memory must be at least 1 MiB");
}

std::vector<std::string> event_type_names(const io::EventFileReader& reader) {
  const io::Group events = reader.file().group("/events");
  return events.has_attribute("event_type_names") ? events.string_list_attribute("event_type_names")
                                                  : io::standard_event_type_names();
}

std::int64_t resolve_as_of(const io::EventFileReader& reader, const FeatureConfig& config) {
  if (config.as_of) return *config.as_of;
  SEGSTREAM_CHECK_INPUT(reader.file().has_attribute("as_of"),
                        "{}: has no as_of attribute; give the observation end with --as-of", reader.path());
  return reader.file().int_attribute("as_of") - 1;
}

}  // namespace detail

FeatureMode parse_feature_mode(const std::string& name) {
  if (name == "behavioral" || name == "behavioural") return FeatureMode::kBehavioural;
  if (name == "lifetimes") return FeatureMode::kLifetimes;
  if (name == "rfm") return FeatureMode::kRfm;
  throw UsageError("unknown feature mode '" + name + "' (expected behavioral, lifetimes or rfm)");
}

FeatureReport compute_features(const std::filesystem::path& events_path, const std::filesystem::path& out,
                               bool overwrite, const FeatureConfig& config, const FeatureProgress& progress) {
  const auto backend = kernels::cpu::make_backend(0);
  return compute_features(events_path, out, overwrite, config, progress, *backend);
}

FeatureReport compute_features(const std::filesystem::path& events_path, const std::filesystem::path& out,
                               bool overwrite, const FeatureConfig& config, const FeatureProgress& progress,
                               kernels::Backend& backend) {
  if (config.mode == FeatureMode::kBehavioural)
    return compute_behaviour(events_path, out, overwrite, config, progress, backend);
  SEGSTREAM_EXPECTS(config.state_in.empty() && config.state_out.empty(),
                    "--state-in and --state-out apply to --mode behavioral only");
  const auto t_begin = std::chrono::steady_clock::now();
  detail::check_common_config(config);

  const io::EventFileReader reader(events_path);
  const std::string& in = reader.path();
  const std::size_t known_types = detail::event_type_names(reader).size();
  FeatureReport report;
  report.events = reader.rows();
  report.as_of = detail::resolve_as_of(reader, config);
  kernels::LifetimesParams params;
  params.unit_seconds = config.unit_seconds;
  params.multiplier = config.multiplier;
  params.observation_end = report.as_of;
  const bool rfm = config.mode == FeatureMode::kRfm;
  SEGSTREAM_EXPECTS(!(rfm && config.calibration_end), "--calibration-end applies to --mode lifetimes only");
  const std::int64_t t_ref = config.t_ref                           ? *config.t_ref
                             : reader.file().has_attribute("as_of") ? reader.file().int_attribute("as_of")
                                                                    : report.as_of + 1;
  const bool orders = rfm && reader.has_order_id();
  if (config.calibration_end) {
    SEGSTREAM_EXPECTS(*config.calibration_end < report.as_of,
                      "--calibration-end {} must come before --as-of {}",
                      format_iso_time(*config.calibration_end), format_iso_time(report.as_of));
    params.holdout = true;
    params.calibration_end = *config.calibration_end;
  }
  std::array<bool, 256> is_purchase{};
  for (std::uint8_t t : config.purchase_types) is_purchase[t] = true;

  // Purchases of all customers would need events × sizeof(Purchase) bytes at most; split the hash space into
  // as many ranges as the budget requires.
  const std::uint64_t parts = std::max<std::uint64_t>(
      1, (reader.rows() * sizeof(Purchase) + config.host_memory - 1) / config.host_memory);
  report.partitions = parts;

  io::AtomicOutput output(out, overwrite);
  const std::vector<std::string> names = rfm ? rfm_columns() : lifetimes_columns(params.holdout);
  io::FeatureFileWriter writer(output.temp_path(), names, 0, output.final_path().string());

  const std::uint64_t block_rows = std::uint64_t{1} << 18;
  std::vector<io::EventBuffer> storage(3, io::EventBuffer(block_rows));
  // Only the columns the folds use are read (category, channel and discount are a quarter of the bytes).
  std::vector<io::EventColumns> ring;
  for (io::EventBuffer& b : storage) {
    io::EventColumns v = b.view();
    v.category = nullptr;
    v.channel = nullptr;
    v.discount = nullptr;
    if (!orders) v.order_id = nullptr;
    ring.push_back(v);
  }
  std::vector<Purchase> held;
  std::vector<float> rows;
  std::vector<std::uint64_t> ids;

  for (std::uint64_t part = 0; part < parts; ++part) {
    log_record(LogLevel::kDebug, fmt::format("features: pass {} of {} over {}", part + 1, parts, in),
               {{"stage", "features"}, {"pass", part + 1}, {"passes", parts}});
    held.clear();
    io::EventBlockStream stream(reader, ring, block_rows);
    while (auto block = stream.next()) {
      throw_if_interrupted();
      const io::EventColumns& c = block->columns;
      for (std::uint64_t i = 0; i < block->rows; ++i) {
        const std::uint8_t type = c.event_type[i];
        if (type >= known_types)
          throw InputError(fmt::format("{}: row {}: /events/event_type is {}, not a known code (0..{})", in,
                                       block->start + i, type, known_types - 1));
        if (c.timestamp[i] > report.as_of) {
          if (part == 0) ++report.after_as_of;
          continue;
        }
        if (!is_purchase[type]) continue;
        if (!std::isfinite(c.amount[i])) {
          if (config.on_bad_row == io::BadRowPolicy::kError)
            throw InputError(fmt::format("{}: row {}: /events/amount is {}, expected a finite amount", in,
                                         block->start + i, c.amount[i]));
          if (part == 0) ++report.skipped_rows;
          continue;
        }
        const std::uint64_t key = mix64(c.customer_id[i]);
        if (detail::partition_of(key, parts) != part) continue;
        held.push_back(Purchase{key, c.customer_id[i], c.timestamp[i], static_cast<double>(c.amount[i]),
                                orders ? c.order_id[i] : 0});
      }
      if (progress) progress(part * reader.rows() + block->start + block->rows, parts * reader.rows());
    }
    report.purchases += held.size();
    // Customer by customer in key order (ids break the astronomically rare key tie), purchases in time
    // order; equal times ordered by amount so the sums are the same whatever the file order.
    std::sort(held.begin(), held.end(), [](const Purchase& a, const Purchase& b) {
      if (a.key != b.key) return a.key < b.key;
      if (a.customer_id != b.customer_id) return a.customer_id < b.customer_id;
      if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
      if (a.amount != b.amount) return a.amount < b.amount;
      return a.order_id < b.order_id;
    });
    rows.clear();
    ids.clear();
    std::vector<std::uint64_t> customer_orders;
    for (std::size_t i = 0; i < held.size();) {
      std::size_t j = i;
      while (j < held.size() && held[j].customer_id == held[i].customer_id && held[j].key == held[i].key) ++j;
      if (rfm) {
        kernels::RfmAccumulator acc;
        customer_orders.clear();
        for (std::size_t k = i; k < j; ++k) {
          acc.add(held[k].timestamp, held[k].amount, config.unit_seconds);
          customer_orders.push_back(held[k].order_id);
        }
        double frequency = acc.periods;
        if (orders) {
          std::sort(customer_orders.begin(), customer_orders.end());
          frequency = static_cast<double>(std::unique(customer_orders.begin(), customer_orders.end()) -
                                          customer_orders.begin());
        }
        ids.push_back(held[i].customer_id);
        rows.insert(rows.end(), {static_cast<float>(acc.recency_days(t_ref)), static_cast<float>(frequency),
                                 static_cast<float>(acc.monetary)});
      } else {
        kernels::LifetimesAccumulator acc;
        for (std::size_t k = i; k < j; ++k) acc.add(held[k].timestamp, held[k].amount, params);
        if (!acc.has_summary()) {
          ++report.holdout_only_customers;
        } else {
          ids.push_back(held[i].customer_id);
          rows.insert(rows.end(),
                      {static_cast<float>(acc.frequency()), static_cast<float>(acc.recency(params)),
                       static_cast<float>(acc.age(params)), static_cast<float>(acc.monetary_value())});
          if (params.holdout)
            rows.insert(rows.end(),
                        {static_cast<float>(acc.frequency_holdout()),
                         static_cast<float>(acc.monetary_value_holdout()),
                         static_cast<float>(kernels::LifetimesAccumulator::duration_holdout(params))});
        }
      }
      i = j;
    }
    writer.append(rows.data(), ids.data(), ids.size());
    report.customers += ids.size();
  }
  SEGSTREAM_CHECK_INPUT(
      report.customers > 0, "{}: no customer has a purchase at or before {} (purchase types: {})", in,
      format_iso_time(report.as_of),
      config.purchase_types.size() == 1 && config.purchase_types[0] == 6 ? "purchase" : "as given");

  const std::string duration_unit = fmt::format("{} s periods / {}", config.unit_seconds, config.multiplier);
  std::vector<std::string> units =
      rfm ? std::vector<std::string>{"days", orders ? "orders" : "purchase periods", "currency"}
          : std::vector<std::string>{"repeat periods", duration_unit, duration_unit, "currency per period"};
  if (params.holdout) units.insert(units.end(), {"periods", "currency per purchase", duration_unit});
  nlohmann::json params_json = {{"unit_seconds", config.unit_seconds},
                                {"multiplier", config.multiplier},
                                {"purchase_types", config.purchase_types},
                                {"as_of", format_iso_time(report.as_of)},
                                {"source", events_path.filename().string()}};
  if (config.calibration_end) params_json["calibration_end"] = format_iso_time(*config.calibration_end);
  if (rfm) {
    params_json["t_ref"] = format_iso_time(t_ref);
    params_json["frequency"] = orders ? "distinct orders" : "distinct purchase periods";
  }
  writer.close({rfm ? "rfm" : "lifetimes", units, report.as_of, "ascending mix64(customer_id)", params_json.dump()},
               {"segstream.features", "features", params_json, {io::fingerprint_input("events", events_path)}});
  output.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
