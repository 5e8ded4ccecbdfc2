// `segstream features --mode lifetimes | rfm`: the BTYD summary and classic RFM values from the purchases of
// every customer (features.hpp), and the pieces every mode shares.
#include "segstream/host/features.hpp"

#include "features_internal.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/customer_ids.hpp"
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

EventRing::EventRing(bool details, bool order_id) : storage(3, io::EventBuffer(kEventBlockRows)) {
  for (io::EventBuffer& b : storage) {
    io::EventColumns v = b.view();
    if (!details) {
      v.category = nullptr;
      v.channel = nullptr;
      v.discount = nullptr;
    }
    if (!order_id) v.order_id = nullptr;
    views.push_back(v);
  }
}

void log_pass(std::uint64_t part, std::uint64_t parts, const std::string& path) {
  log_record(LogLevel::kDebug, fmt::format("features: pass {} of {} over {}", part + 1, parts, path),
             {{"stage", "features"}, {"pass", part + 1}, {"passes", parts}});
}

void check_bad_share(const std::string& path, std::uint64_t skipped, std::uint64_t events,
                     const FeatureConfig& config) {
  SEGSTREAM_EXPECTS(
      std::isfinite(config.max_bad_share) && config.max_bad_share >= 0 && config.max_bad_share <= 1,
      "--max-bad-share: expected a share from 0 to 1, got {}", config.max_bad_share);
  SEGSTREAM_CHECK_INPUT(
      skipped == 0 || static_cast<double>(skipped) <= config.max_bad_share * static_cast<double>(events),
      "{}: {} of {} events ({:.1f}%) have a bad amount, more than --max-bad-share {} allows (raise it to "
      "accept them)",
      path, skipped, events,
      100.0 * static_cast<double>(skipped) / static_cast<double>(std::max<std::uint64_t>(events, 1)),
      config.max_bad_share);
}

std::int64_t resolve_as_of(const io::EventFileReader& reader, const FeatureConfig& config) {
  if (config.as_of) return *config.as_of;
  SEGSTREAM_CHECK_INPUT(reader.file().has_attribute("as_of"),
                        "{}: has no as_of attribute; give the observation end with --as-of", reader.path());
  return reader.file().time_attribute("as_of") - 1;
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

namespace {

// One run of the lifetimes or rfm mode: the purchases of one hash range of customers at a time are held,
// sorted by customer and time, and folded customer by customer.
class PurchaseRun {
 public:
  PurchaseRun(const std::filesystem::path& events, const std::filesystem::path& out, bool overwrite,
              const FeatureConfig& config, const FeatureProgress& progress)
      : events_(events),
        config_(config),
        progress_(progress),
        reader_(events),
        known_types_(detail::event_type_names(reader_).size()),
        rfm_(config.mode == FeatureMode::kRfm),
        orders_(rfm_ && reader_.has_order_id()) {
    report_.events = reader_.rows();
    report_.as_of = detail::resolve_as_of(reader_, config);
    params_.unit_seconds = config.unit_seconds;
    params_.multiplier = config.multiplier;
    params_.observation_end = report_.as_of;
    SEGSTREAM_EXPECTS(!config.since || *config.since <= report_.as_of,
                      "--since {} must not come after --as-of {}",
                      config.since ? format_iso_time(*config.since) : "", format_iso_time(report_.as_of));
    SEGSTREAM_EXPECTS(!config.since || !config.calibration_end || *config.since <= *config.calibration_end,
                      "--since {} must not come after --calibration-end {}",
                      config.since ? format_iso_time(*config.since) : "",
                      config.calibration_end ? format_iso_time(*config.calibration_end) : "");
    SEGSTREAM_EXPECTS(!(rfm_ && config.calibration_end),
                      "--calibration-end applies to --mode lifetimes only");
    t_ref_ = config.t_ref                            ? *config.t_ref
             : reader_.file().has_attribute("as_of") ? reader_.file().time_attribute("as_of")
                                                     : report_.as_of + 1;
    SEGSTREAM_EXPECTS(
        !config.t_ref || *config.t_ref >= report_.as_of,
        "--t-ref {} comes before the observation end {} (--as-of, or the end of the events file's "
        "window): a purchase between them would have a negative recency",
        config.t_ref ? format_iso_time(*config.t_ref) : "", format_iso_time(report_.as_of));
    if (config.calibration_end) {
      SEGSTREAM_EXPECTS(*config.calibration_end < report_.as_of,
                        "--calibration-end {} must come before --as-of {}",
                        format_iso_time(*config.calibration_end), format_iso_time(report_.as_of));
      params_.holdout = true;
      params_.calibration_end = *config.calibration_end;
    }
    for (std::uint8_t t : config.purchase_types) is_purchase_[t] = true;
    // Purchases of all customers would need events × sizeof(Purchase) bytes at most; split the hash space
    // into as many ranges as the budget requires.
    parts_ = std::max<std::uint64_t>(
        1, (reader_.rows() * sizeof(Purchase) + config.host_memory - 1) / config.host_memory);
    report_.partitions = parts_;
    output_.emplace(out, overwrite);
    writer_.emplace(output_->temp_path(), rfm_ ? rfm_columns() : lifetimes_columns(params_.holdout), 0,
                    output_->final_path().string());
  }

  FeatureReport run() {
    for (std::uint64_t part = 0; part < parts_; ++part) {
      detail::log_pass(part, parts_, reader_.path());
      hold(part);
      fold();
      writer_->append(rows_.data(), ids_.data(), ids_.size());
      report_.customers += ids_.size();
    }
    SEGSTREAM_CHECK_INPUT(
        report_.customers > 0, "{}: no customer has a purchase {}at or before {} (purchase types: {})",
        reader_.path(), config_.since ? "from " + format_iso_time(*config_.since) + " " : std::string(),
        format_iso_time(report_.as_of),
        config_.purchase_types.size() == 1 && config_.purchase_types[0] == 6 ? "purchase" : "as given");
    report_.amounts = any_amount_;
    detail::check_bad_share(reader_.path(), report_.skipped_rows, report_.events, config_);
    finish();
    return report_;
  }

 private:
  // One pass over the events: the purchases of the range, counted once (on the first pass).
  void hold(std::uint64_t part) {
    const std::string& in = reader_.path();
    const std::int64_t since = config_.since.value_or(std::numeric_limits<std::int64_t>::min());
    held_.clear();
    io::EventBlockStream stream(reader_, ring_.views, detail::kEventBlockRows);
    while (auto block = stream.next()) {
      throw_if_interrupted();
      const io::EventColumns& c = block->columns;
      for (std::uint64_t i = 0; i < block->rows; ++i) {
        const std::uint8_t type = c.event_type[i];
        if (type >= known_types_)
          throw InputError(fmt::format("{}: row {}: /events/event_type is {}, not a known code (0..{})", in,
                                       block->start + i, type, known_types_ - 1));
        if (!time_in_range(c.timestamp[i]))
          throw InputError(fmt::format("{}: row {}: /events/timestamp {} is not a time from {}", in,
                                       block->start + i, c.timestamp[i], kTimeRangeText));
        if (c.timestamp[i] > report_.as_of) {
          if (part == 0) ++report_.after_as_of;
          continue;
        }
        if (c.timestamp[i] < since) {
          if (part == 0) ++report_.before_since;
          continue;
        }
        if (!is_purchase_[type]) continue;
        if (!std::isfinite(c.amount[i])) {
          if (config_.on_bad_row == io::BadRowPolicy::kError)
            throw InputError(fmt::format("{}: row {}: /events/amount is {}, expected a finite amount", in,
                                         block->start + i, c.amount[i]));
          if (part == 0) ++report_.skipped_rows;
          continue;
        }
        const std::uint64_t key = mix64(c.customer_id[i]);
        if (detail::partition_of(key, parts_) != part) continue;
        held_.push_back(Purchase{key, c.customer_id[i], c.timestamp[i], static_cast<double>(c.amount[i]),
                                 orders_ ? c.order_id[i] : 0});
      }
      if (progress_) progress_(part * reader_.rows() + block->start + block->rows, parts_ * reader_.rows());
    }
    report_.purchases += held_.size();
  }

  // Customer by customer in key order (ids break the astronomically rare key tie), purchases in time order;
  // equal times ordered by amount so the sums are the same whatever the file order.
  void fold() {
    std::sort(held_.begin(), held_.end(), [](const Purchase& a, const Purchase& b) {
      if (a.key != b.key) return a.key < b.key;
      if (a.customer_id != b.customer_id) return a.customer_id < b.customer_id;
      if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
      if (a.amount != b.amount) return a.amount < b.amount;
      return a.order_id < b.order_id;
    });
    rows_.clear();
    ids_.clear();
    for (std::size_t i = 0; i < held_.size();) {
      std::size_t j = i;
      while (j < held_.size() && held_[j].customer_id == held_[i].customer_id && held_[j].key == held_[i].key)
        ++j;
      if (rfm_)
        fold_rfm(i, j);
      else
        fold_lifetimes(i, j);
      i = j;
    }
  }

  bool any_amount_ = false;  // some purchase folded had an amount

  // recency_days, frequency (distinct orders, else distinct periods) and monetary of purchases [i, j).
  void fold_rfm(std::size_t i, std::size_t j) {
    kernels::RfmAccumulator acc;
    customer_orders_.clear();
    for (std::size_t k = i; k < j; ++k) {
      acc.add(held_[k].timestamp, held_[k].amount, config_.unit_seconds);
      customer_orders_.push_back(held_[k].order_id);
      any_amount_ = any_amount_ || held_[k].amount != 0;
    }
    double frequency = acc.periods;
    if (orders_) {
      std::sort(customer_orders_.begin(), customer_orders_.end());
      frequency = static_cast<double>(std::unique(customer_orders_.begin(), customer_orders_.end()) -
                                      customer_orders_.begin());
    }
    ids_.push_back(held_[i].customer_id);
    rows_.insert(rows_.end(), {static_cast<float>(acc.recency_days(t_ref_)), static_cast<float>(frequency),
                               static_cast<float>(acc.monetary)});
  }

  // The BTYD summary of purchases [i, j), with the holdout columns when there is a calibration end.
  void fold_lifetimes(std::size_t i, std::size_t j) {
    kernels::LifetimesAccumulator acc;
    for (std::size_t k = i; k < j; ++k) {
      acc.add(held_[k].timestamp, held_[k].amount, params_);
      any_amount_ = any_amount_ || held_[k].amount != 0;
    }
    if (!acc.has_summary()) {
      ++report_.holdout_only_customers;
      return;
    }
    ids_.push_back(held_[i].customer_id);
    rows_.insert(rows_.end(),
                 {static_cast<float>(acc.frequency()), static_cast<float>(acc.recency(params_)),
                  static_cast<float>(acc.age(params_)), static_cast<float>(acc.monetary_value())});
    if (params_.holdout)
      rows_.insert(
          rows_.end(),
          {static_cast<float>(acc.frequency_holdout()), static_cast<float>(acc.monetary_value_holdout()),
           static_cast<float>(kernels::LifetimesAccumulator::duration_holdout(params_))});
  }

  // The units, parameters and provenance, then the file renamed into place.
  void finish() {
    const std::string duration_unit =
        fmt::format("{} s periods / {}", config_.unit_seconds, config_.multiplier);
    std::vector<std::string> units =
        rfm_
            ? std::vector<std::string>{"days", orders_ ? "orders" : "purchase periods", "currency"}
            : std::vector<std::string>{"repeat periods", duration_unit, duration_unit, "currency per period"};
    if (params_.holdout) units.insert(units.end(), {"periods", "currency per purchase", duration_unit});
    nlohmann::json params = {{"unit_seconds", config_.unit_seconds},
                             {"multiplier", config_.multiplier},
                             {"purchase_types", config_.purchase_types},
                             {"as_of", format_iso_time(report_.as_of)},
                             {"source", events_.filename().string()}};
    if (config_.calibration_end) params["calibration_end"] = format_iso_time(*config_.calibration_end);
    if (config_.since) params["since"] = format_iso_time(*config_.since);
    if (rfm_) {
      params["t_ref"] = format_iso_time(t_ref_);
      params["frequency"] = orders_ ? "distinct orders" : "distinct purchase periods";
    }
    io::CustomerIds::read(reader_.file()).write(writer_->file());
    writer_->close(
        {rfm_ ? "rfm" : "lifetimes", units, report_.as_of, std::string(io::kMix64Order), params.dump()},
        {"segstream.features", "features", params, {io::fingerprint_input("events", events_)}});
    output_->commit();
  }

  const std::filesystem::path events_;
  const FeatureConfig& config_;
  const FeatureProgress& progress_;
  const io::EventFileReader reader_;
  const std::size_t known_types_;
  const bool rfm_, orders_;
  FeatureReport report_;
  kernels::LifetimesParams params_;
  std::int64_t t_ref_ = 0;
  std::array<bool, 256> is_purchase_{};
  std::uint64_t parts_ = 1;
  std::optional<io::AtomicOutput> output_;
  std::optional<io::FeatureFileWriter> writer_;
  detail::EventRing ring_{false, orders_};  // the columns the folds use
  std::vector<Purchase> held_;
  std::vector<float> rows_;
  std::vector<std::uint64_t> ids_;
  std::vector<std::uint64_t> customer_orders_;
};

}  // namespace

FeatureReport compute_features(const std::filesystem::path& events_path, const std::filesystem::path& out,
                               bool overwrite, const FeatureConfig& config, const FeatureProgress& progress,
                               kernels::Backend& backend) {
  if (config.mode == FeatureMode::kBehavioural)
    return compute_behaviour(events_path, out, overwrite, config, progress, backend);
  SEGSTREAM_EXPECTS(config.state_in.empty() && config.state_out.empty(),
                    "--state-in and --state-out apply to --mode behavioral only");
  const auto t_begin = std::chrono::steady_clock::now();
  detail::check_common_config(config);
  FeatureReport report = PurchaseRun(events_path, out, overwrite, config, progress).run();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
