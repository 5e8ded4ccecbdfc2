// RFM scoring and named RFM segments: the rule-based baseline every marketer knows, next to the k-means
// segments (FEATURES.md, "rfm mode").
//
// Input: per customer, recency in days (smaller is better), frequency (orders or purchase periods) and
// monetary value (total spend). Output: scores 1–5 per dimension by a named scoring convention, and a
// segment name per customer by a named map. Conventions differ between tools, so each has a name:
//
// - `rank-cut` (the convention of the published Online Retail RFM analysis, golden case G11): rank the
//   values with ties taking the lowest rank (pandas rank(method="min")), cut the rank range into five
//   equal-width bins closed on the right (pandas cut(rank, 5): edges linspace(min, max, 6), the lowest
//   lowered by 0.1% of the range), score = bin 1–5; recency reversed (5 = most recent).
// - `quintile`: rank with ties broken by customer id, then five groups of (as nearly as possible) equal
//   size: score = ceil(5 · rank / n); recency reversed. Deterministic whatever the input order.
//
// Maps: `rfm11` — the 125 (R, F, M) cells to 11 segments used with rank-cut scoring for G11; `rf10` — the
// classic 10-cell map on R and F (11 and 12 → Hibernating … 54 and 55 → Champions); or a CSV file with the
// columns R,F,M,segment covering all 125 cells.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace segstream::host {

enum class RfmScoring : std::uint8_t { kRankCut, kQuintile };
RfmScoring parse_rfm_scoring(std::string_view name);  // "rank-cut" | "quintile"; UsageError otherwise

struct RfmScores {
  std::vector<std::uint8_t> r, f, m;  // 1..5 per customer
};

// Scores n customers. `ids` (n customer ids) break ties for the quintile convention. Values must be
// finite (InputError naming the customer otherwise).
RfmScores score_rfm(std::span<const double> recency_days, std::span<const double> frequency,
                    std::span<const double> monetary, std::span<const std::uint64_t> ids, RfmScoring scoring);

// The score 1..5 of each value under one convention (`higher_is_better` false reverses it, as for recency).
std::vector<std::uint8_t> score_dimension(std::span<const double> values, std::span<const std::uint64_t> ids,
                                          RfmScoring scoring, bool higher_is_better);

class RfmSegmentMap {
 public:
  static RfmSegmentMap rfm11();
  static RfmSegmentMap rf10();
  // A CSV with a header R,F,M,segment and one row per cell; every one of the 125 cells must be present.
  static RfmSegmentMap from_csv(const std::filesystem::path& path);
  // "rfm11", "rf10", or a path to a CSV map.
  static RfmSegmentMap named(const std::string& name);

  const std::string& name() const { return name_; }
  // The CSV the map was read from; empty for the built-in maps.
  const std::filesystem::path& csv_path() const { return csv_path_; }
  const std::vector<std::string>& segment_names() const { return names_; }
  // The segment index (into segment_names()) of a cell; scores 1..5.
  std::uint8_t segment(std::uint8_t r, std::uint8_t f, std::uint8_t m) const {
    return cells_[(static_cast<std::size_t>(r) - 1) * 25 + (static_cast<std::size_t>(f) - 1) * 5 +
                  (static_cast<std::size_t>(m) - 1)];
  }

 private:
  std::string name_;
  std::filesystem::path csv_path_;
  std::vector<std::string> names_;
  std::array<std::uint8_t, 125> cells_{};
};

}  // namespace segstream::host

namespace segstream::host {

struct RfmSegmentSummary {
  std::string name;
  std::uint64_t customers = 0;
  double revenue = 0;         // Σ monetary of its customers
  double customer_share = 0;  // of all customers
  double revenue_share = 0;   // of all revenue
};

struct RfmReport {
  std::uint64_t customers = 0;
  std::vector<RfmSegmentSummary> segments;  // in the map's order
};

// `segstream rfm`: scores the recency_days, frequency and monetary columns of a features.h5 written by
// `features --mode rfm` and writes rfm.h5 (docs/FORMATS.md): per customer the three scores and the
// segment, per segment the customers, revenue and shares.
RfmReport segment_rfm_file(const std::filesystem::path& features, const std::filesystem::path& out,
                           bool overwrite, RfmScoring scoring, const RfmSegmentMap& map);

}  // namespace segstream::host
