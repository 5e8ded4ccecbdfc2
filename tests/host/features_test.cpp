// Features from events: golden cases G1, G2 and G4 of FEATURES.md (lifetimes mode), lifetimes'
// calibration/holdout semantics on a hand-checked fixture, independence from event order and from the
// memory budget, and the bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "event_fixture.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/customer_ids.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using test::Event;
using test::read_features;
using test::TempDir;
using test::write_events;

constexpr auto kPurchase = io::EventType::kPurchase;

TEST(FeaturesGolden, G4SmallLifetimesExample) {
  TempDir dir;
  write_events(dir / "ev.h5", {{1, "2015-02-01", kPurchase, 1},
                               {1, "2015-02-06", kPurchase, 1},
                               {2, "2015-01-01", kPurchase, 1},
                               {3, "2015-01-01", kPurchase, 1},
                               {3, "2015-01-02", kPurchase, 1},
                               {3, "2015-01-05", kPurchase, 1}});
  FeatureConfig c;
  c.as_of = *parse_iso_time("2015-02-07");
  const FeatureReport r = compute_features(dir / "ev.h5", dir / "f.h5", false, c);
  EXPECT_EQ(r.customers, 3u);
  const auto f = read_features(dir / "f.h5");
  // (frequency, recency, T) as FEATURES.md states; monetary_value: every purchase here is 1.
  EXPECT_EQ(f.at(1), (std::vector<float>{1, 5, 6, 1}));
  EXPECT_EQ(f.at(2), (std::vector<float>{0, 0, 37, 0}));
  EXPECT_EQ(f.at(3), (std::vector<float>{2, 4, 37, 1}));
  EXPECT_EQ(io::FeatureFileReader(dir / "f.h5").feature_names(),
            (std::vector<std::string>{"frequency", "recency", "T", "monetary_value"}));
}

// CDNOW sample through import-csv, summarised at the calibration end 1997-09-30 in weeks.
std::map<std::uint64_t, std::vector<float>> cdnow_summary(const TempDir& dir) {
  io::CsvImportOptions o;
  o.input = test::golden_data("CDNOW_sample.txt");
  o.delimiter = "whitespace";
  o.customer = "2";  // the sample id, which the published summary uses
  o.time = "3";
  o.amount = "5";
  io::import_csv(o, dir / "cdnow.h5", false);
  FeatureConfig c;
  c.as_of = *parse_iso_time("1997-09-30");
  c.multiplier = 7;
  compute_features(dir / "cdnow.h5", dir / "summary.h5", false, c);
  // The sample ids below 1000 are zero-padded ("0001"), so kept as text: keyed here by their number.
  const io::CustomerIds ids = io::CustomerIds::read(io::File::open(dir / "summary.h5"));
  EXPECT_GT(ids.size(), 0u);
  std::map<std::uint64_t, std::vector<float>> by_number;
  for (auto& [key, row] : read_features(dir / "summary.h5")) by_number[std::stoull(ids.text(key))] = row;
  return by_number;
}

TEST(FeaturesGolden, G1CdnowSummaryMatchesThePublishedOne) {
  TempDir dir;
  const auto ours = cdnow_summary(dir);
  std::ifstream in(test::golden_data("cdnow_customers_summary_with_transactions.csv"));
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line.rfind("ID,x,t_x,T,zbar", 0), 0u);
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::stringstream ss(line);
    std::string id, x, t_x, t, zbar;
    std::getline(ss, id, ',');
    std::getline(ss, x, ',');
    std::getline(ss, t_x, ',');
    std::getline(ss, t, ',');
    std::getline(ss, zbar, ',');
    const auto& row = ours.at(std::stoull(id));
    ASSERT_NEAR(row[0], std::stod(x), 0.01) << "frequency of " << id;
    ASSERT_NEAR(row[1], std::stod(t_x), 0.01) << "recency of " << id;
    ASSERT_NEAR(row[2], std::stod(t), 0.01) << "T of " << id;
    ASSERT_NEAR(row[3], std::stod(zbar), 0.01) << "monetary_value of " << id;
    ++n;
  }
  EXPECT_EQ(n, 2357u);
  EXPECT_EQ(ours.size(), 2357u);
}

TEST(FeaturesGolden, G2CdnowMonetaryValueOfRepeatBuyers) {
  TempDir dir;
  std::vector<double> m;
  for (const auto& [id, row] : cdnow_summary(dir))
    if (row[0] > 0) m.push_back(row[3]);
  ASSERT_EQ(m.size(), 946u);
  const double mean = std::accumulate(m.begin(), m.end(), 0.0) / static_cast<double>(m.size());
  double ss = 0;
  for (double v : m) ss += (v - mean) * (v - mean);
  std::sort(m.begin(), m.end());
  const double median = (m[472] + m[473]) / 2;
  EXPECT_NEAR(mean, 35.08, 0.005);
  EXPECT_NEAR(std::sqrt(ss / static_cast<double>(m.size() - 1)), 30.28, 0.005);
  EXPECT_NEAR(m.front(), 2.99, 0.005);
  EXPECT_NEAR(median, 27.50, 0.005);
  EXPECT_NEAR(m.back(), 299.63, 0.005);
}

TEST(Features, CalibrationAndHoldoutAsLifetimesDefinesThem) {
  TempDir dir;
  write_events(dir / "ev.h5", {{1, "2020-01-01T09:00:00", kPurchase, 10},
                               {1, "2020-01-01T18:00:00", kPurchase, 5},  // same day: one period of 15
                               {1, "2020-01-10", kPurchase, 20},
                               {1, "2020-02-05T08:00:00", kPurchase, 7},  // holdout
                               {1, "2020-02-05T20:00:00", kPurchase, 3},
                               {1, "2020-02-20", kPurchase, 4},
                               {1, "2020-01-05", io::EventType::kPageView, 0},
                               {2, "2020-02-10", kPurchase, 50},  // first seen in the holdout: left out
                               {3, "2020-03-05", kPurchase, 9},   // after as-of: ignored
                               {4, "2020-01-03", io::EventType::kPageView, 0}});  // never bought
  FeatureConfig c;
  c.as_of = *parse_iso_time("2020-03-01");
  c.calibration_end = *parse_iso_time("2020-01-31");
  const FeatureReport r = compute_features(dir / "ev.h5", dir / "f.h5", false, c);
  EXPECT_EQ(r.customers, 1u);
  EXPECT_EQ(r.holdout_only_customers, 1u);
  EXPECT_EQ(r.after_as_of, 1u);
  const auto f = read_features(dir / "f.h5");
  ASSERT_EQ(f.size(), 1u);
  const auto& a = f.at(1);
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0], 1);                   // frequency: periods Jan 1 and Jan 10
  EXPECT_EQ(a[1], 9);                   // recency: Jan 10 − Jan 1
  EXPECT_EQ(a[2], 30);                  // T: Jan 31 − Jan 1
  EXPECT_EQ(a[3], 20);                  // monetary_value: the repeat period's sum
  EXPECT_EQ(a[4], 2);                   // frequency_holdout: Feb 5 and Feb 20
  EXPECT_FLOAT_EQ(a[5], 14.0f / 3.0f);  // monetary_value_holdout: mean of the three holdout rows
  EXPECT_EQ(a[6], 30);                  // duration_holdout: Jan 31 → Mar 1 (2020 is a leap year)
}

TEST(Features, SameOutputForAnyEventOrderAndMemoryBudget) {
  TempDir dir;
  EventGeneratorConfig g;
  g.customers = 20000;
  g.seed = 3;
  generate_events(g, dir / "ordered.h5", false);
  g.order = EventOrder::kShuffled;
  g.shuffle_block = 5000;
  generate_events(g, dir / "shuffled.h5", false);
  FeatureConfig c;
  c.multiplier = 7;
  const FeatureReport one = compute_features(dir / "ordered.h5",
                                             dir /
                                                 "a"
                                                 ".h5",
                                             false, c);
  EXPECT_EQ(one.partitions, 1u);
  c.host_memory = std::uint64_t{1} << 20;  // about 70 passes
  const FeatureReport many = compute_features(dir / "shuffled.h5", dir / "b.h5", false, c);
  EXPECT_GT(many.partitions, 50u);
  EXPECT_EQ(one.customers, many.customers);
  const test::FeatureMatrix a = test::read_matrix(dir / "a.h5"), b = test::read_matrix(dir / "b.h5");
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.values, b.values);
}

TEST(FeaturesBadInput, NanAmountNamesTheRowOrIsSkipped) {
  TempDir dir;
  write_events(dir / "ev.h5", {{1, "2020-01-01", kPurchase, 10}, {1, "2020-01-02", kPurchase, NAN}});
  FeatureConfig c;
  c.as_of = *parse_iso_time("2020-02-01");
  const std::string msg =
      test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "f.h5", false, c); });
  EXPECT_NE(msg.find("ev.h5: row 1: /events/amount is nan, expected a finite amount"), std::string::npos)
      << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "f.h5"));
  c.on_bad_row = io::BadRowPolicy::kSkip;
  // One bad event of two is far above the default 1%: refused, naming the share, with no output.
  const std::string share =
      test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "f.h5", false, c); });
  EXPECT_NE(share.find("ev.h5: 1 of 2 events (50.0%) have a bad amount, more than --max-bad-share 0.01"),
            std::string::npos)
      << share;
  EXPECT_FALSE(std::filesystem::exists(dir / "f.h5"));
  c.max_bad_share = 0.5;
  const FeatureReport r = compute_features(dir / "ev.h5", dir / "f.h5", false, c);
  EXPECT_EQ(r.skipped_rows, 1u);
  EXPECT_EQ(read_features(dir / "f.h5").at(1)[0], 0);
}

TEST(FeaturesBadInput, UnknownEventTypeCode) {
  TempDir dir;
  write_events(dir / "ev.h5",
               {{1, "2020-01-01", kPurchase, 10}, {1, "2020-01-02", static_cast<io::EventType>(40), 1}});
  FeatureConfig c;
  c.as_of = *parse_iso_time("2020-02-01");
  const std::string msg =
      test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "f.h5", false, c); });
  EXPECT_NE(msg.find("row 1: /events/event_type is 40, not a known code (0..12)"), std::string::npos) << msg;
  EXPECT_TRUE(dir.entries() == std::vector<std::string>{"ev.h5"});
}

TEST(FeaturesBadInput, NothingToSummariseAndBadOptions) {
  TempDir dir;
  write_events(dir / "ev.h5", {{1, "2020-01-01", io::EventType::kPageView, 0}});
  FeatureConfig c;
  c.as_of = *parse_iso_time("2020-02-01");
  EXPECT_THROW(compute_features(dir / "ev.h5", dir / "f.h5", false, c), InputError);
  write_events(dir / "p.h5", {{1, "2020-01-01", kPurchase, 3}});
  c.calibration_end = *parse_iso_time("2020-03-01");
  EXPECT_THROW(compute_features(dir / "p.h5", dir / "f.h5", false, c), UsageError);
  FeatureConfig no_as_of;  // the file has no as_of attribute to fall back on
  EXPECT_THROW(compute_features(dir / "p.h5", dir / "f.h5", false, no_as_of), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "f.h5"));
}

}  // namespace
}  // namespace segstream::host
