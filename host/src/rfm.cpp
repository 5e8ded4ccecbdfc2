#include "segstream/host/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "segstream/core/error.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/rfm.hpp"

namespace segstream::host {

RfmScoring parse_rfm_scoring(std::string_view name) {
  if (name == "rank-cut") return RfmScoring::kRankCut;
  if (name == "quintile") return RfmScoring::kQuintile;
  throw UsageError("unknown RFM scoring '" + std::string(name) + "' (expected rank-cut or quintile)");
}

std::vector<std::uint8_t> score_dimension(std::span<const double> values, std::span<const std::uint64_t> ids,
                                          RfmScoring scoring, bool higher_is_better) {
  const std::size_t n = values.size();
  SEGSTREAM_EXPECTS(ids.size() == n, "RFM scoring needs one id per value ({} ids, {} values)", ids.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    SEGSTREAM_CHECK_INPUT(std::isfinite(values[i]), "RFM value of customer {} is not finite ({})", ids[i],
                          values[i]);
  std::vector<std::uint8_t> scores(n);
  if (n == 0) return scores;
  // Order by value, ties by id: defines "first" ranks, and groups ties together for "min" ranks.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return values[a] != values[b] ? values[a] < values[b] : ids[a] < ids[b];
  });
  std::vector<double> rank(n);
  if (scoring == RfmScoring::kRankCut) {
    for (std::size_t i = 0; i < n;) {
      std::size_t j = i;
      while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
      for (std::size_t k = i; k <= j; ++k) rank[order[k]] = static_cast<double>(i + 1);  // ties: lowest rank
      i = j + 1;
    }
    const double lo = *std::min_element(rank.begin(), rank.end());
    const double hi = *std::max_element(rank.begin(), rank.end());
    std::array<double, 6> edges{};
    if (lo == hi) {  // pandas widens a zero range by 0.1% on each side
      const double pad = lo != 0 ? 0.001 * std::fabs(lo) : 0.001;
      for (int e = 0; e < 6; ++e) edges[static_cast<std::size_t>(e)] = (lo - pad) + (2 * pad) * e / 5.0;
    } else {
      for (int e = 0; e < 6; ++e) edges[static_cast<std::size_t>(e)] = lo + (hi - lo) * e / 5.0;
      edges[0] -= (hi - lo) * 0.001;
    }
    for (std::size_t i = 0; i < n; ++i) {
      int bin = 1;  // (edges[bin-1], edges[bin]]
      while (bin < 5 && rank[i] > edges[static_cast<std::size_t>(bin)]) ++bin;
      scores[i] = static_cast<std::uint8_t>(higher_is_better ? bin : 6 - bin);
    }
  } else {
    for (std::size_t k = 0; k < n; ++k) {
      const auto bin = static_cast<int>((5 * (k + 1) + n - 1) / n);  // ceil(5 · rank / n), rank = k + 1
      scores[order[k]] = static_cast<std::uint8_t>(higher_is_better ? bin : 6 - bin);
    }
  }
  return scores;
}

RfmScores score_rfm(std::span<const double> recency_days, std::span<const double> frequency,
                    std::span<const double> monetary, std::span<const std::uint64_t> ids,
                    RfmScoring scoring) {
  SEGSTREAM_EXPECTS(recency_days.size() == frequency.size() && frequency.size() == monetary.size(),
                    "R, F and M need one value per customer ({}, {}, {})", recency_days.size(),
                    frequency.size(), monetary.size());
  return RfmScores{score_dimension(recency_days, ids, scoring, false),
                   score_dimension(frequency, ids, scoring, true),
                   score_dimension(monetary, ids, scoring, true)};
}

RfmSegmentMap RfmSegmentMap::rfm11() {
  // The 125-cell map of the published Online Retail RFM analysis (mwoitek/python-customer-segmentation),
  // as transcribed in shared/data/rfm_map_11_segments.csv. cells[R-1][F-1][M-1] = index into the names.
  // clang-format off
  static constexpr std::uint8_t cells[5][5][5] = {
    {{10, 10,  7,  7,  7}, {10,  9,  9,  8,  8}, {10,  9,  8,  8,  8}, {10,  8,  8,  7,  8}, {10,  8,  8,  7,  7}},  // R = 1; F = 1..5, each M = 1..5
    {{ 9,  9,  6,  7,  7}, { 6,  9,  9,  8,  8}, { 9,  9,  9,  8,  8}, { 9,  8,  8,  8,  8}, { 9,  8,  8,  8,  8}},  // R = 2; F = 1..5, each M = 1..5
    {{ 3,  6,  4,  4,  4}, { 6,  9,  2,  5,  5}, { 6,  9,  2,  5,  1}, { 2,  2,  5,  1,  1}, { 2,  2,  2,  1,  1}},  // R = 3; F = 1..5, each M = 1..5
    {{ 3,  3,  4,  4,  4}, { 3,  3,  2,  4,  4}, { 2,  2,  2,  5,  1}, { 2,  2,  5,  1,  0}, { 2,  2,  2,  0,  0}},  // R = 4; F = 1..5, each M = 1..5
    {{ 3,  3,  4,  4,  4}, { 4,  4,  4,  4,  4}, { 2,  2,  2,  5,  5}, { 2,  2,  1,  0,  0}, { 2,  2,  2,  0,  0}},  // R = 5; F = 1..5, each M = 1..5
  };
  // clang-format on
  RfmSegmentMap map;
  map.name_ = "rfm11";
  map.names_ = {"Champions",
                "Loyal",
                "Potential Loyalists",
                "New Customers",
                "Promising",
                "Need Attention",
                "About to Sleep",
                "Cannot Lose Them",
                "At Risk",
                "Hibernating",
                "Lost"};
  for (int r = 0; r < 5; ++r)
    for (int f = 0; f < 5; ++f)
      for (int m = 0; m < 5; ++m)
        map.cells_[static_cast<std::size_t>(r) * 25 + static_cast<std::size_t>(f) * 5 +
                   static_cast<std::size_t>(m)] = cells[r][f][m];
  return map;
}

RfmSegmentMap RfmSegmentMap::rf10() {
  // The classic R/F grid; M does not enter. Rows R = 1..5, columns F = 1..5.
  // clang-format off
  static constexpr std::uint8_t grid[5][5] = {
      {9, 9, 7, 7, 8},  // R 1: Hibernating ×2, At Risk ×2, Can't Lose Them
      {9, 9, 7, 7, 8},  // R 2
      {6, 6, 5, 1, 1},  // R 3: About to Sleep ×2, Need Attention, Loyal Customers ×2
      {4, 2, 2, 1, 1},  // R 4: Promising, Potential Loyalists ×2, Loyal Customers ×2
      {3, 2, 2, 0, 0},  // R 5: New Customers, Potential Loyalists ×2, Champions ×2
  };
  // clang-format on
  RfmSegmentMap map;
  map.name_ = "rf10";
  map.names_ = {"Champions",       "Loyal Customers", "Potential Loyalists", "New Customers",
                "Promising",       "Need Attention",  "About to Sleep",      "At Risk",
                "Can't Lose Them", "Hibernating"};
  for (int r = 0; r < 5; ++r)
    for (int f = 0; f < 5; ++f)
      for (int m = 0; m < 5; ++m)
        map.cells_[static_cast<std::size_t>(r) * 25 + static_cast<std::size_t>(f) * 5 +
                   static_cast<std::size_t>(m)] = grid[r][f];
  return map;
}

RfmSegmentMap RfmSegmentMap::from_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot read the RFM map");
  RfmSegmentMap map;
  map.name_ = path.filename().string();
  map.csv_path_ = path;
  std::array<bool, 125> seen{};
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line_no == 1) continue;  // the header R,F,M,segment
    std::stringstream ss(line);
    std::string r, f, m, segment;
    std::getline(ss, r, ',');
    std::getline(ss, f, ',');
    std::getline(ss, m, ',');
    std::getline(ss, segment);
    auto score = [&](const std::string& s) {
      if (s.size() != 1 || s[0] < '1' || s[0] > '5')
        throw InputError(
            fmt::format("{}:{}: expected scores 1..5 in R,F,M, got '{}'", path.string(), line_no, line));
      return s[0] - '0';
    };
    const int cell = (score(r) - 1) * 25 + (score(f) - 1) * 5 + (score(m) - 1);
    if (segment.empty())
      throw InputError(fmt::format("{}:{}: the segment name is empty", path.string(), line_no));
    auto it = std::find(map.names_.begin(), map.names_.end(), segment);
    if (it == map.names_.end()) {
      SEGSTREAM_CHECK_INPUT(map.names_.size() < 255, "{}: more than 255 segment names", path.string());
      map.names_.push_back(segment);
      it = map.names_.end() - 1;
    }
    map.cells_[static_cast<std::size_t>(cell)] = static_cast<std::uint8_t>(it - map.names_.begin());
    seen[static_cast<std::size_t>(cell)] = true;
  }
  const auto missing = std::count(seen.begin(), seen.end(), false);
  SEGSTREAM_CHECK_INPUT(missing == 0, "{}: the map leaves {} of the 125 (R, F, M) cells without a segment",
                        path.string(), missing);
  return map;
}

RfmSegmentMap RfmSegmentMap::named(const std::string& name) {
  if (name == "rfm11") return rfm11();
  if (name == "rf10") return rf10();
  if (std::filesystem::exists(name)) return from_csv(name);
  throw UsageError("unknown RFM map '" + name + "' (expected rfm11, rf10 or a CSV file with R,F,M,segment)");
}

}  // namespace segstream::host

// ---------------------------------------------------------------------------------------------------------
// rfm.h5

namespace segstream::host {

RfmReport segment_rfm_file(const std::filesystem::path& features, const std::filesystem::path& out,
                           bool overwrite, RfmScoring scoring, const RfmSegmentMap& map) {
  const io::FeatureFileReader reader(features);
  const auto& names = reader.feature_names();
  auto column = [&](const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    SEGSTREAM_CHECK_INPUT(it != names.end(),
                          "{}: has no '{}' feature (write it with `segstream features --mode rfm`)",
                          reader.path(), name);
    return static_cast<std::size_t>(it - names.begin());
  };
  const std::size_t cr = column("recency_days"), cf = column("frequency"), cm = column("monetary");
  const std::uint64_t n = reader.rows(), d = reader.columns();
  // Ranks need every customer at once: 3 doubles and an id per customer, read a block at a time.
  std::vector<double> r(n), f(n), m(n);
  std::vector<std::uint64_t> ids(n);
  const std::uint64_t block = std::uint64_t{1} << 16;
  std::vector<float> rows(block * d);
  for (std::uint64_t at = 0; at < n; at += block) {
    const std::uint64_t k = std::min(block, n - at);
    reader.read_rows(at, k, rows.data());
    reader.read_ids(at, k, ids.data() + at);
    for (std::uint64_t i = 0; i < k; ++i) {
      r[at + i] = rows[i * d + cr];
      f[at + i] = rows[i * d + cf];
      m[at + i] = rows[i * d + cm];
    }
  }
  const RfmScores scores = naming_file(reader.path(), [&] { return score_rfm(r, f, m, ids, scoring); });
  std::vector<std::uint8_t> score_matrix(n * 3), segment(n);
  RfmReport report;
  report.customers = n;
  report.segments.resize(map.segment_names().size());
  double revenue = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    score_matrix[i * 3] = scores.r[i];
    score_matrix[i * 3 + 1] = scores.f[i];
    score_matrix[i * 3 + 2] = scores.m[i];
    segment[i] = map.segment(scores.r[i], scores.f[i], scores.m[i]);
    report.segments[segment[i]].customers++;
    report.segments[segment[i]].revenue += m[i];
    revenue += m[i];
  }
  io::RfmFile file;
  file.customer_id = std::move(ids);
  file.scores = std::move(score_matrix);
  file.segment = std::move(segment);
  file.segment_names = map.segment_names();
  for (std::size_t s = 0; s < report.segments.size(); ++s) {
    RfmSegmentSummary& seg = report.segments[s];
    seg.name = map.segment_names()[s];
    seg.customer_share = static_cast<double>(seg.customers) / static_cast<double>(n);
    seg.revenue_share = revenue != 0 ? seg.revenue / revenue : 0;
    file.customers.push_back(seg.customers);
    file.revenue.push_back(seg.revenue);
    file.customer_share.push_back(seg.customer_share);
    file.revenue_share.push_back(seg.revenue_share);
  }
  file.scoring = scoring == RfmScoring::kRankCut ? "rank-cut" : "quintile";
  file.map = map.name();
  file.source = features.filename().string();
  file.ids = io::CustomerIds::read(reader.file());
  io::Provenance provenance{"segstream.rfm",
                            "rfm",
                            {{"scoring", file.scoring}, {"map", file.map}},
                            {io::fingerprint_input("features", features)}};
  if (!map.csv_path().empty()) provenance.inputs.push_back(io::fingerprint_input("map", map.csv_path()));
  io::AtomicOutput output(out, overwrite);
  io::write_rfm(output.temp_path(), output.final_path().string(), file, provenance);
  output.commit();
  return report;
}

}  // namespace segstream::host
