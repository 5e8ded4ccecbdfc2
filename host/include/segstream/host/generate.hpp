// `segstream generate`: realistic synthetic customer bases with ground truth, the test bed of every stage.
//
// Event mode simulates each customer from a behavioural archetype (docs/GENERATOR.md): visits and the
// buying-journey funnel, purchases with spend, categories, channels and discounts, returns, reviews and
// referrals, app sessions, e-mail campaigns with opens and clicks, support tickets; weekend, hour-of-day
// and holiday timing; dropout and decline. A fraction of customers can switch archetype at a date (drift).
// Feature mode draws a K-component Gaussian mixture with known labels, for clustering at scale.
//
// Determinism: customer i's behaviour is drawn from RandomStream(seed, kCustomer, i) and its archetype from
// RandomStream(seed, kAssignment, i), so the data are the same for any --threads, --chunk-rows and
// generation batch size, and the file is the same bytes for any --threads (chunking changes the layout, not
// the data). Memory is bounded by one generation batch (plus the writer's staging), never by the number of
// customers.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace segstream::host {

enum class Archetype : std::uint8_t {
  kChampion = 0,
  kLoyal,
  kNewBuyer,
  kAtRisk,
  kLapsed,
  kSeasonal,
  kBargainHunter,
  kAppHeavy,
  kCategorySpecialist,
  kProspect,
};
inline constexpr int kArchetypeCount = 10;

const std::vector<std::string>& archetype_names();
std::optional<Archetype> parse_archetype(std::string_view name);
// The share of each archetype in a default customer base.
std::array<double, kArchetypeCount> default_archetype_mix();
// The archetype a drifting customer turns into (a plausible life-cycle step: champion → at_risk, …).
Archetype drift_target(Archetype from);

const std::vector<std::string>& category_names();  // code 0 = "none" (events without a product)
const std::vector<std::string>& channel_names();   // web, app, store, phone, email

enum class EventOrder : std::uint8_t { kCustomer, kShuffled };

struct EventGeneratorConfig {
  std::uint64_t customers = 1'000'000;
  std::int64_t start = 1735689600;  // 2025-01-01T00:00:00Z
  std::int64_t days = 365;
  std::uint64_t seed = 42;
  std::array<double, kArchetypeCount> mix = default_archetype_mix();
  double drift_fraction = 0.0;
  std::optional<std::int64_t> drift_at;  // Unix seconds; required when drift_fraction > 0
  EventOrder order = EventOrder::kCustomer;
  std::uint64_t shuffle_block = std::uint64_t{1} << 15;    // customers per shuffled block
  std::uint64_t batch_customers = std::uint64_t{1} << 15;  // generation batch (customer order only)
  std::uint64_t chunk_rows = 0;                            // 0 = the events default
  int threads = 0;                                         // 0 = OpenMP default

  std::int64_t end() const { return start + days * 86400; }
  void validate() const;  // UsageError for nonsensical values
};

struct MixtureGeneratorConfig {
  std::uint64_t rows = 1'000'000;
  std::uint64_t dims = 16;
  std::uint64_t clusters = 8;
  std::uint64_t seed = 42;
  double cluster_std = 1.0;  // mean within-cluster standard deviation per dimension
  double separation = 8.0;   // minimum distance between centres, in units of cluster_std
  // Windows: window w ≥ 2 observes the same rows again with fresh noise, and before each window after the
  // first a fraction `drift_fraction` of the rows moves to another component (uniformly among the others).
  std::uint64_t window = 1;
  double drift_fraction = 0.0;
  // Ids chosen so that the rows ascend in mix64(id), the order `features` writes (the file says so): update
  // then joins previous segments by merging instead of holding them sorted.
  bool key_order = false;
  std::uint64_t batch_rows = std::uint64_t{1} << 16;
  std::uint64_t chunk_rows = 0;  // 0 = the features default
  int threads = 0;
  void validate() const;
};

struct GenerateReport {
  std::uint64_t customers = 0;
  std::uint64_t events = 0;  // events mode: events written; mixture mode: rows
  std::array<std::uint64_t, 16> events_by_type{};
  std::array<std::uint64_t, kArchetypeCount> customers_by_archetype{};
  std::uint64_t drifted = 0;
  double seconds = 0;
};

using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Writes events.h5 (events plus /customers truth) to `out` atomically.
GenerateReport generate_events(const EventGeneratorConfig& config, const std::filesystem::path& out,
                               bool overwrite, const ProgressFn& progress = {});

// Writes a features.h5 drawn from a Gaussian mixture, with /truth/cluster and /truth/centers, atomically.
GenerateReport generate_mixture(const MixtureGeneratorConfig& config, const std::filesystem::path& out,
                                bool overwrite, const ProgressFn& progress = {});

}  // namespace segstream::host
