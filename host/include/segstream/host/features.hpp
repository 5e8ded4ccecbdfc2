// `segstream features`: per-customer features from events.h5 into features.h5 (FEATURES.md).
//
// The engine reads events in any order, customers' events spread anywhere in the file. It keeps the
// purchases of one range of customers in memory at a time, sorts them by customer and time, and folds each
// customer's purchases in time order with the per-element math of the kernels headers. When the whole base
// does not fit the memory budget (--host-memory), customers are split into ranges of their hashed id and
// the file is read once per range; the output is the same bytes whatever the number of ranges, because rows
// are always written in ascending order of mix64(customer_id).
//
// Modes: `lifetimes` (the BTYD summary of the lifetimes library, with calibration and holdout) and `rfm`
// (recency in days, frequency in orders or periods, monetary value). The behavioural feature set, the CUDA
// backend and incremental state come next (issue 3).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "segstream/io/csv_import.hpp"

namespace segstream::host {

enum class FeatureMode : std::uint8_t { kLifetimes, kRfm };
// "lifetimes" | "rfm"; UsageError otherwise.
FeatureMode parse_feature_mode(const std::string& name);

struct FeatureConfig {
  FeatureMode mode = FeatureMode::kLifetimes;
  // Observation end t0 (Unix s): events after it are ignored. Default: the last second before the events
  // file's `as_of` attribute (its window's end).
  std::optional<std::int64_t> as_of;
  std::int64_t unit_seconds = 86400;  // the period
  double multiplier = 1.0;            // durations are divided by it
  std::vector<std::uint8_t> purchase_types = {6};
  std::optional<std::int64_t> calibration_end;  // lifetimes holdout split
  // rfm: the reference time of recency_days. Default: the events file's `as_of` (the day after its last
  // event for imported files), else t0 + 1 s.
  std::optional<std::int64_t> t_ref;
  std::uint64_t host_memory = std::uint64_t{2} << 30;      // bytes for the purchases held at once
  io::BadRowPolicy on_bad_row = io::BadRowPolicy::kError;  // NaN or infinite amounts
};

struct FeatureReport {
  std::uint64_t customers = 0;               // rows written
  std::uint64_t events = 0;                  // events in the file
  std::uint64_t purchases = 0;               // purchase events at or before t0 that were used
  std::uint64_t after_as_of = 0;             // events after t0, ignored
  std::uint64_t skipped_rows = 0;            // bad amounts skipped under BadRowPolicy::kSkip
  std::uint64_t holdout_only_customers = 0;  // first purchase after the calibration end: left out
  std::uint64_t partitions = 0;              // passes over the file
  std::int64_t as_of = 0;
  double seconds = 0;
};

using FeatureProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

FeatureReport compute_features(const std::filesystem::path& events, const std::filesystem::path& out,
                               bool overwrite, const FeatureConfig& config,
                               const FeatureProgress& progress = {});

}  // namespace segstream::host
