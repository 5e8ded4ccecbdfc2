// `segstream features`: per-customer features from events.h5 into features.h5 (FEATURES.md).
//
// The engine reads events in any order, customers' events spread anywhere in the file. It keeps the
// purchases of one range of customers in memory at a time, sorts them by customer and time, and folds each
// customer's purchases in time order with the per-element math of the kernels headers. When the whole base
// does not fit the memory budget (--host-memory), customers are split into ranges of their hashed id and
// the file is read once per range; the output is the same bytes whatever the number of ranges, because rows
// are always written in ascending order of mix64(customer_id).
//
// Modes: `behavioral` (every family of FEATURES.md's behavioural set, from all events; behaviour.cpp),
// `lifetimes` (the BTYD summary of the lifetimes library, with calibration and holdout) and `rfm` (recency
// in days, frequency in orders or periods, monetary value).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "segstream/io/csv_import.hpp"
#include "segstream/kernels/backend.hpp"
#include "segstream/kernels/bgnbd.hpp"

namespace segstream::host {

enum class FeatureMode : std::uint8_t { kBehavioural, kLifetimes, kRfm };
// "behavioral" (or "behavioural") | "lifetimes" | "rfm"; UsageError otherwise.
FeatureMode parse_feature_mode(const std::string& name);

struct FeatureConfig {
  FeatureMode mode = FeatureMode::kLifetimes;
  // Observation end t0 (Unix s): events after it are ignored. Default: the last second before the events
  // file's `as_of` attribute (its window's end).
  std::optional<std::int64_t> as_of;
  // Observation start (Unix s): events before it are ignored, so every customer is described by the
  // window [since, as_of] alone (equal-length windows compare like with like). Default: no start.
  std::optional<std::int64_t> since;
  std::int64_t unit_seconds = 86400;  // the period
  double multiplier = 1.0;            // durations are divided by it
  std::vector<std::uint8_t> purchase_types = {6};
  std::optional<std::int64_t> calibration_end;  // lifetimes holdout split
  // rfm: the reference time of recency_days. Default: the events file's `as_of` (the day after its last
  // event for imported files), else t0 + 1 s.
  std::optional<std::int64_t> t_ref;
  std::uint64_t host_memory = std::uint64_t{2} << 30;      // bytes for the events held at once
  io::BadRowPolicy on_bad_row = io::BadRowPolicy::kError;  // NaN or infinite amounts
  double max_bad_share = 0.01;  // kSkip: more skipped rows than this share of the events is an error

  // behavioral mode
  std::array<int, 3> windows = {7, 28, 90};               // events_<w>d, days, 1..120
  std::uint32_t season_months = (1u << 11) | (1u << 12);  // holiday_share: bit m for month m
  int top_categories = 5;                                 // category_share columns (0..16)
  std::optional<kernels::BgNbdParams> bgnbd;              // p_alive; fitted on a sample when absent
  std::filesystem::path state_in;                         // incremental: yesterday's state (optional)
  std::filesystem::path state_out;                        // incremental: today's state (optional)
};

struct FeatureReport {
  std::uint64_t customers = 0;               // rows written
  std::uint64_t events = 0;                  // events in the file
  std::uint64_t purchases = 0;               // purchase events at or before t0 that were used
  std::uint64_t after_as_of = 0;             // events after t0, ignored
  std::uint64_t skipped_rows = 0;            // bad amounts skipped under BadRowPolicy::kSkip
  std::uint64_t holdout_only_customers = 0;  // first purchase after the calibration end: left out
  std::uint64_t partitions = 0;              // passes over the file
  std::uint64_t negative_purchases = 0;      // behavioral: purchases with amount < 0, counted as returns
  std::uint64_t state_customers = 0;         // customers carried in from --state-in
  std::uint64_t before_state = 0;            // events at or before the state's as-of time, ignored
  std::uint64_t before_since = 0;            // events before --since, ignored
  std::uint64_t peak_held_bytes = 0;  // behavioral: event records held at once (the memory budget's part)
  std::uint64_t bgnbd_sample = 0;     // customers the BG/NBD fit used (0 when given)
  bool amounts = true;  // lifetimes and rfm: some purchase had an amount (else monetary is 0 for everyone)
  std::optional<kernels::BgNbdParams> bgnbd;  // the parameters p_alive used
  std::int64_t as_of = 0;
  double seconds = 0;
};

// One column of the behavioural feature set (FEATURES.md): its name, unit, family (purchase, usage,
// engagement, loyalty, occasion, benefit, journey, churn) and whether `fit` clusters it by default.
struct BehaviourColumn {
  std::string name;
  std::string unit;
  std::string family;
  bool clustered = false;
};

// The column registry: the behavioural columns of a run, in the order kernels::behaviour_features writes
// them — the base columns (the usage windows named by `windows`, durations in periods of `unit_seconds`),
// one category_share per name in `categories`, one channel_share per name in `channels`, then the journey,
// churn and has_purchase columns.
std::vector<BehaviourColumn> behaviour_column_registry(const std::array<int, 3>& windows,
                                                       std::int64_t unit_seconds,
                                                       const std::vector<std::string>& categories,
                                                       const std::vector<std::string>& channels);

// The columns `fit` clusters by default on a file of `features --mode behavioral`: the registry's clustered
// columns for the default windows, one or two per family, leaving out the windows that repeat events_28d,
// the hour columns, the per-category and per-channel shares and the has_purchase flag.
const std::vector<std::string>& default_behavioural_columns();

// The behaviour family of a behavioural column by its name (purchase, usage, engagement, loyalty, occasion,
// benefit, journey, churn), or "" for a name the feature set does not have.
std::string behaviour_family(const std::string& column);

using FeatureProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// The behavioural feature set (behaviour.cpp), folded on `backend`; compute_features calls it for
// FeatureMode::kBehavioural.
FeatureReport compute_behaviour(const std::filesystem::path& events, const std::filesystem::path& out,
                                bool overwrite, const FeatureConfig& config, const FeatureProgress& progress,
                                kernels::Backend& backend);

// Any mode. The behavioural set is folded on `backend`; lifetimes and rfm hold only purchases and run on
// the host. Without a backend, the CPU backend with OpenMP's default threads.
FeatureReport compute_features(const std::filesystem::path& events, const std::filesystem::path& out,
                               bool overwrite, const FeatureConfig& config, const FeatureProgress& progress,
                               kernels::Backend& backend);
FeatureReport compute_features(const std::filesystem::path& events, const std::filesystem::path& out,
                               bool overwrite, const FeatureConfig& config,
                               const FeatureProgress& progress = {});

}  // namespace segstream::host
