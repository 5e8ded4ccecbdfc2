// RFM scoring conventions and segment maps; golden case G11 (FEATURES.md) on the published Online Retail
// RFM analysis in tests/data.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "segstream/core/error.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/rfm.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

// Splits a CSV line on commas outside double quotes.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      out.emplace_back();
    else if (c != '\r')
      out.back() += c;
  }
  return out;
}

TEST(RfmGolden, G11OnlineRetailRankCutElevenSegments) {
  const auto path = test::golden_data("mw_rfm_segments.csv");
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line.rfind("CustomerID,Recency,Frequency,Monetary,RScore,FScore,MScore", 0), 0u);
  std::vector<std::uint64_t> ids;
  std::vector<double> r, f, m;
  std::vector<int> rs, fs, ms;
  std::vector<std::string> segments;
  while (std::getline(in, line)) {
    const auto x = csv_fields(line);
    ASSERT_EQ(x.size(), 10u) << line;
    ids.push_back(std::stoull(x[0]));
    r.push_back(std::stod(x[1]));
    f.push_back(std::stod(x[2]));
    m.push_back(std::stod(x[3]));
    rs.push_back(std::stoi(x[4]));
    fs.push_back(std::stoi(x[5]));
    ms.push_back(std::stoi(x[6]));
    segments.push_back(x[9]);
  }
  ASSERT_EQ(ids.size(), 4338u);
  const RfmScores scores = score_rfm(r, f, m, ids, RfmScoring::kRankCut);
  const RfmSegmentMap map = RfmSegmentMap::rfm11();
  std::map<std::string, int> counts;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(scores.r[i], rs[i]) << "customer " << ids[i];
    ASSERT_EQ(scores.f[i], fs[i]) << "customer " << ids[i];
    ASSERT_EQ(scores.m[i], ms[i]) << "customer " << ids[i];
    const std::string& name = map.segment_names()[map.segment(scores.r[i], scores.f[i], scores.m[i])];
    ASSERT_EQ(name, segments[i]) << "customer " << ids[i];
    counts[name]++;
  }
  const std::map<std::string, int> expected = {{"Champions", 798},
                                               {"Loyal", 403},
                                               {"Potential Loyalists", 307},
                                               {"New Customers", 407},
                                               {"Promising", 243},
                                               {"Need Attention", 254},
                                               {"About to Sleep", 219},
                                               {"Cannot Lose Them", 125},
                                               {"At Risk", 348},
                                               {"Hibernating", 657},
                                               {"Lost", 577}};
  EXPECT_EQ(counts, expected);
}

// A non-finite R, F or M value is refused naming the file (issue 15: it named only the customer).
TEST(RfmBadInput, ANonFiniteValueNamesItsFile) {
  test::TempDir dir;
  io::FeatureFileWriter w(dir / "rfm-features.h5", {"recency_days", "frequency", "monetary"});
  const std::vector<float> rows = {1, 2, 3, 4, NAN, 6};
  const std::vector<std::uint64_t> ids = {11, 12};
  w.append(rows.data(), ids.data(), 2);
  io::FeatureFileMetadata m;
  m.mode = "rfm";
  w.close(m, {"segstream.features", "test", {}, {}});
  const std::string msg = test::input_error_of([&] {
    segment_rfm_file(dir / "rfm-features.h5", dir / "rfm.h5", false, RfmScoring::kRankCut,
                     RfmSegmentMap::rfm11());
  });
  EXPECT_NE(msg.find("rfm-features.h5: RFM value of customer 12 is not finite"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "rfm.h5"));
}

// G11 end to end: the invoices through import-csv, `features --mode rfm` and `rfm`, against the published
// per-customer R, F, M values, scores and segments.
TEST(RfmGolden, G11EndToEndFromTheInvoices) {
  test::TempDir dir;
  io::CsvImportOptions csv;
  csv.input = test::golden_data("mw_online_retail.csv");
  csv.customer = "CustomerID";
  csv.time = "InvoiceDate";
  csv.amount = "TotalPrice";
  csv.order = "InvoiceNo";
  io::import_csv(csv, dir / "retail.h5", false);
  FeatureConfig fc;
  fc.mode = FeatureMode::kRfm;  // t_ref defaults to the day after the last invoice, as published
  compute_features(dir / "retail.h5", dir / "rfm-features.h5", false, fc);
  const RfmReport report = segment_rfm_file(dir / "rfm-features.h5", dir / "rfm.h5", false,
                                            RfmScoring::kRankCut, RfmSegmentMap::rfm11());
  ASSERT_EQ(report.customers, 4338u);

  // Ours, by customer id.
  const io::FeatureFileReader features(dir / "rfm-features.h5");
  ASSERT_EQ(features.feature_names(), (std::vector<std::string>{"recency_days", "frequency", "monetary"}));
  std::vector<float> x(features.rows() * 3);
  std::vector<std::uint64_t> fid(features.rows());
  features.read_rows(0, features.rows(), x.data());
  features.read_ids(0, features.rows(), fid.data());
  const io::File rfm = io::File::open(dir / "rfm.h5");
  const auto ids = rfm.dataset("/customer_id").read_all<std::uint64_t>();
  const auto scores = rfm.dataset("/scores").read_all<std::uint8_t>();
  const auto segment = rfm.dataset("/segment").read_all<std::uint8_t>();
  const auto names = rfm.dataset("/segment").string_list_attribute("segment_names");
  ASSERT_EQ(ids, fid);
  std::map<std::uint64_t, std::size_t> row_of;
  for (std::size_t i = 0; i < ids.size(); ++i) row_of[ids[i]] = i;

  std::ifstream in(test::golden_data("mw_rfm_segments.csv"));
  std::string line;
  std::getline(in, line);
  std::size_t n = 0;
  while (std::getline(in, line)) {
    const auto v = csv_fields(line);
    const std::size_t i = row_of.at(std::stoull(v[0]));
    ASSERT_EQ(x[i * 3], std::stod(v[1])) << "recency of " << v[0];
    ASSERT_EQ(x[i * 3 + 1], std::stod(v[2])) << "frequency of " << v[0];
    ASSERT_NEAR(x[i * 3 + 2], std::stod(v[3]), 0.01 + 1e-6 * std::stod(v[3])) << "monetary of " << v[0];
    ASSERT_EQ(scores[i * 3], std::stoi(v[4])) << v[0];
    ASSERT_EQ(scores[i * 3 + 1], std::stoi(v[5])) << v[0];
    ASSERT_EQ(scores[i * 3 + 2], std::stoi(v[6])) << v[0];
    ASSERT_EQ(names[segment[i]], v[9]) << v[0];
    ++n;
  }
  EXPECT_EQ(n, 4338u);
  std::uint64_t total = 0;
  for (const auto& s : report.segments) total += s.customers;
  EXPECT_EQ(total, 4338u);
  EXPECT_EQ(report.segments[0].name, "Champions");
  EXPECT_EQ(report.segments[0].customers, 798u);
}

TEST(Rfm, BuiltInElevenSegmentMapEqualsThePublishedTable) {
  const auto path = test::golden_data("rfm_map_11_segments.csv");
  const RfmSegmentMap from_file = RfmSegmentMap::from_csv(path), built_in = RfmSegmentMap::rfm11();
  for (std::uint8_t r = 1; r <= 5; ++r)
    for (std::uint8_t f = 1; f <= 5; ++f)
      for (std::uint8_t m = 1; m <= 5; ++m)
        ASSERT_EQ(from_file.segment_names()[from_file.segment(r, f, m)],
                  built_in.segment_names()[built_in.segment(r, f, m)])
            << int(r) << int(f) << int(m);
}

TEST(Rfm, ClassicRfMapCells) {
  const RfmSegmentMap map = RfmSegmentMap::rf10();
  auto name = [&](int r, int f) {
    return map.segment_names()[map.segment(static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(f), 3)];
  };
  EXPECT_EQ(name(1, 1), "Hibernating");
  EXPECT_EQ(name(2, 4), "At Risk");
  EXPECT_EQ(name(1, 5), "Can't Lose Them");
  EXPECT_EQ(name(3, 2), "About to Sleep");
  EXPECT_EQ(name(3, 3), "Need Attention");
  EXPECT_EQ(name(4, 5), "Loyal Customers");
  EXPECT_EQ(name(4, 1), "Promising");
  EXPECT_EQ(name(5, 1), "New Customers");
  EXPECT_EQ(name(5, 3), "Potential Loyalists");
  EXPECT_EQ(name(5, 5), "Champions");
  EXPECT_EQ(map.segment_names().size(), 10u);
}

TEST(Rfm, RankCutGivesTiesOneScoreAndReversesRecency) {
  const std::vector<double> v = {10, 20, 20, 30, 40, 50, 60, 70, 80, 90};
  std::vector<std::uint64_t> ids(v.size());
  std::iota(ids.begin(), ids.end(), std::uint64_t{100});
  const auto up = score_dimension(v, ids, RfmScoring::kRankCut, true);
  const auto down = score_dimension(v, ids, RfmScoring::kRankCut, false);
  EXPECT_EQ(up[1], up[2]) << "tied values share a score";
  EXPECT_EQ(up.front(), 1);
  EXPECT_EQ(up.back(), 5);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(up[i] + down[i], 6);
  // One distinct value: pandas widens the empty range and every rank lands in the middle bin.
  const std::vector<double> same(4, 7.0);
  const std::vector<std::uint64_t> four = {1, 2, 3, 4};
  for (auto s : score_dimension(same, four, RfmScoring::kRankCut, true)) EXPECT_EQ(s, 3);
}

TEST(Rfm, QuintilesAreEqualSizedAndIndependentOfInputOrder) {
  std::vector<double> v;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 1000; ++i) {
    v.push_back(i % 7);  // many ties
    ids.push_back(static_cast<std::uint64_t>(1000 - i));
  }
  const auto s = score_dimension(v, ids, RfmScoring::kQuintile, true);
  std::array<int, 6> sizes{};
  for (auto x : s) sizes[x]++;
  for (int q = 1; q <= 5; ++q) EXPECT_EQ(sizes[static_cast<std::size_t>(q)], 200);
  // Reversing the input order gives every customer the same score.
  std::vector<double> rv(v.rbegin(), v.rend());
  std::vector<std::uint64_t> rids(ids.rbegin(), ids.rend());
  const auto rs = score_dimension(rv, rids, RfmScoring::kQuintile, true);
  for (std::size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s[i], rs[s.size() - 1 - i]);
}

TEST(Rfm, BadInputs) {
  const std::vector<double> nan_values = {1, std::nan(""), 3};
  const std::vector<std::uint64_t> ids = {1, 2, 3};
  EXPECT_THROW(score_dimension(nan_values, ids, RfmScoring::kRankCut, true), InputError);
  EXPECT_THROW(parse_rfm_scoring("deciles"), UsageError);
  EXPECT_THROW(RfmSegmentMap::named("rfm99"), UsageError);
  test::TempDir dir;
  std::ofstream(dir / "partial.csv") << "R,F,M,segment\n5,5,5,Champions\n";
  const std::string msg = test::input_error_of([&] { RfmSegmentMap::from_csv(dir / "partial.csv"); });
  EXPECT_NE(msg.find("leaves 124 of the 125 (R, F, M) cells without a segment"), std::string::npos) << msg;
  std::ofstream(dir / "bad.csv") << "R,F,M,segment\n6,5,5,Champions\n";
  EXPECT_THROW(RfmSegmentMap::from_csv(dir / "bad.csv"), InputError);
}

}  // namespace
}  // namespace segstream::host
