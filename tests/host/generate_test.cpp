// The generator: determinism, event order, archetype behaviour, drift, and the feature mixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using io::EventType;
using test::TempDir;

// The events and the generator's truth.
struct LoadedEvents : test::EventTable {
  std::vector<std::uint64_t> truth_id;
  std::vector<std::uint8_t> truth_archetype, truth_after, truth_drifted;
  bool operator==(const LoadedEvents&) const = default;
};

LoadedEvents load(const std::filesystem::path& path) {
  LoadedEvents e;
  static_cast<test::EventTable&>(e) = test::read_event_table(path);
  const io::File file = io::File::open(path);
  e.truth_id = file.dataset("/customers/customer_id").read_all<std::uint64_t>();
  e.truth_archetype = file.dataset("/customers/archetype").read_all<std::uint8_t>();
  e.truth_after = file.dataset("/customers/archetype_after_drift").read_all<std::uint8_t>();
  e.truth_drifted = file.dataset("/customers/drifted").read_all<std::uint8_t>();
  return e;
}

EventGeneratorConfig small_config(std::uint64_t customers = 3000) {
  EventGeneratorConfig c;
  c.customers = customers;
  c.seed = 7;
  return c;
}

TEST(GenerateEvents, SameBytesForAnyThreadCount) {
  TempDir dir;
  EventGeneratorConfig c = small_config();
  c.threads = 1;
  generate_events(c, dir / "t1.h5", false);
  c.threads = 2;
  generate_events(c, dir / "t2.h5", false);
  c.threads = 5;
  generate_events(c, dir / "t5.h5", false);
  EXPECT_TRUE(test::files_equal(dir / "t1.h5", dir / "t2.h5"));
  EXPECT_TRUE(test::files_equal(dir / "t1.h5", dir / "t5.h5"));
}

TEST(GenerateEvents, SameDataForAnyBatchAndChunkSize) {
  TempDir dir;
  EventGeneratorConfig c = small_config();
  generate_events(c, dir / "a.h5", false);
  c.batch_customers = 1000;
  c.chunk_rows = 777;
  generate_events(c, dir / "b.h5", false);
  c.batch_customers = 1;
  c.chunk_rows = 1 << 20;
  c.threads = 3;
  generate_events(c, dir / "c.h5", false);
  const LoadedEvents a = load(dir / "a.h5");
  EXPECT_TRUE(a == load(dir / "b.h5"));
  EXPECT_TRUE(a == load(dir / "c.h5"));
}

TEST(GenerateEvents, SeedChangesTheData) {
  TempDir dir;
  EventGeneratorConfig c = small_config(500);
  generate_events(c, dir / "a.h5", false);
  c.seed = 8;
  generate_events(c, dir / "b.h5", false);
  EXPECT_FALSE(load(dir / "a.h5") == load(dir / "b.h5"));
}

TEST(GenerateEvents, CustomerOrderGroupsCustomersAndSortsTime) {
  TempDir dir;
  const EventGeneratorConfig c = small_config();
  generate_events(c, dir / "a.h5", false);
  const LoadedEvents e = load(dir / "a.h5");
  ASSERT_EQ(e.truth_id.size(), c.customers);
  std::set<std::uint64_t> seen_ids(e.truth_id.begin(), e.truth_id.end());
  EXPECT_EQ(seen_ids.size(), c.customers) << "customer ids must be unique";
  // Customers appear in truth order, each once, as one contiguous run sorted by time.
  std::size_t customer = 0;
  for (std::size_t i = 0; i < e.customer_id.size(); ++i) {
    if (i > 0 && e.customer_id[i] != e.customer_id[i - 1]) ++customer;
    ASSERT_LT(customer, e.truth_id.size());
    ASSERT_EQ(e.customer_id[i], e.truth_id[customer]) << "event " << i;
    if (i > 0 && e.customer_id[i] == e.customer_id[i - 1]) {
      ASSERT_LE(e.timestamp[i - 1], e.timestamp[i]);
    }
    ASSERT_GE(e.timestamp[i], c.start);
    ASSERT_LT(e.timestamp[i], c.end());
  }
  EXPECT_EQ(customer + 1, c.customers) << "every customer has at least one event";
}

TEST(GenerateEvents, ShuffledIsAPermutationWithinBlocks) {
  TempDir dir;
  EventGeneratorConfig c = small_config();
  generate_events(c, dir / "ordered.h5", false);
  c.order = EventOrder::kShuffled;
  c.shuffle_block = 1000;
  generate_events(c, dir / "shuffled.h5", false);
  c.threads = 1;
  c.chunk_rows = 1000;
  generate_events(c, dir / "shuffled-1t.h5", false);
  const LoadedEvents o = load(dir / "ordered.h5"), s = load(dir / "shuffled.h5");
  EXPECT_TRUE(s == load(dir / "shuffled-1t.h5")) << "shuffled output must not depend on threads or chunks";
  ASSERT_EQ(o.customer_id.size(), s.customer_id.size());
  EXPECT_NE(o.customer_id, s.customer_id);
  // Same multiset of events, and each block of 1000 customers keeps its own events.
  auto key = [](const LoadedEvents& e, std::size_t i) {
    return std::make_tuple(e.customer_id[i], e.timestamp[i], e.event_type[i], e.amount[i], e.category[i]);
  };
  std::vector<decltype(key(o, 0))> ko, ks;
  for (std::size_t i = 0; i < o.customer_id.size(); ++i) {
    ko.push_back(key(o, i));
    ks.push_back(key(s, i));
  }
  std::unordered_map<std::uint64_t, std::size_t> block_of;
  for (std::size_t i = 0; i < s.truth_id.size(); ++i) block_of[s.truth_id[i]] = i / 1000;
  std::size_t last_block = 0;
  for (std::size_t i = 0; i < s.customer_id.size(); ++i) {
    const std::size_t b = block_of.at(s.customer_id[i]);
    ASSERT_GE(b, last_block) << "events left their shuffle block";
    last_block = b;
  }
  std::sort(ko.begin(), ko.end());
  std::sort(ks.begin(), ks.end());
  EXPECT_EQ(ko, ks);
}

// Per-customer behaviour summarised from a generated base.
struct CustomerStats {
  int archetype = 0;
  std::array<int, 16> by_type{};
  double spend = 0, holiday_spend = 0;
  int discounted = 0, weekend_purchases = 0;
  std::int64_t first = INT64_MAX, last_purchase = INT64_MIN;
  int first_half_purchases = 0, second_half_purchases = 0;
  std::map<int, double> category_spend;
};

class ArchetypeBehaviour : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    config_ = small_config(20000);
    report_ = generate_events(config_, *dir_ / "base.h5", false);
    const LoadedEvents e = load(*dir_ / "base.h5");
    std::unordered_map<std::uint64_t, std::size_t> index;
    stats_.resize(e.truth_id.size());
    for (std::size_t i = 0; i < e.truth_id.size(); ++i) {
      index[e.truth_id[i]] = i;
      stats_[i].archetype = e.truth_archetype[i];
    }
    const std::int64_t mid = config_.start + config_.days * 86400 / 2;
    for (std::size_t i = 0; i < e.customer_id.size(); ++i) {
      CustomerStats& s = stats_[index.at(e.customer_id[i])];
      s.by_type[e.event_type[i]]++;
      s.first = std::min(s.first, e.timestamp[i]);
      if (e.event_type[i] == static_cast<int>(EventType::kPurchase)) {
        const CivilDate d = civil_from_days(day_of(e.timestamp[i]));
        s.spend += e.amount[i];
        if (d.month >= 11) s.holiday_spend += e.amount[i];
        s.discounted += e.discount[i] > 0;
        s.weekend_purchases += weekday_of_day(day_of(e.timestamp[i])) >= 5;
        s.last_purchase = std::max(s.last_purchase, e.timestamp[i]);
        (e.timestamp[i] < mid ? s.first_half_purchases : s.second_half_purchases)++;
        s.category_spend[e.category[i]] += e.amount[i];
      }
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  // Mean of f over customers of archetype a.
  template <class F>
  static double mean_of(Archetype a, F f) {
    double sum = 0;
    int n = 0;
    for (const auto& s : stats_)
      if (s.archetype == static_cast<int>(a)) {
        sum += f(s);
        ++n;
      }
    return n ? sum / n : NAN;
  }
  template <class F>
  static double mean_of_others(Archetype a, F f) {
    double sum = 0;
    int n = 0;
    for (const auto& s : stats_)
      if (s.archetype != static_cast<int>(a)) {
        sum += f(s);
        ++n;
      }
    return sum / n;
  }
  static int purchases(const CustomerStats& s) { return s.by_type[static_cast<int>(EventType::kPurchase)]; }

  static inline TempDir* dir_ = nullptr;
  static inline EventGeneratorConfig config_;
  static inline GenerateReport report_;
  static inline std::vector<CustomerStats> stats_;
};

TEST_F(ArchetypeBehaviour, EveryEventTypeOccurs) {
  for (int t = 0; t < io::kEventTypeCount; ++t)
    EXPECT_GT(report_.events_by_type[static_cast<std::size_t>(t)], 0u)
        << io::standard_event_type_names()[static_cast<std::size_t>(t)];
}

TEST_F(ArchetypeBehaviour, MixFollowsTheDefaultShares) {
  const auto mix = default_archetype_mix();
  for (int a = 0; a < kArchetypeCount; ++a)
    EXPECT_NEAR(static_cast<double>(report_.customers_by_archetype[static_cast<std::size_t>(a)]) / 20000.0,
                mix[static_cast<std::size_t>(a)], 0.015)
        << archetype_names()[static_cast<std::size_t>(a)];
}

TEST_F(ArchetypeBehaviour, ChampionsSpendMostAndBuyOften) {
  const double champion = mean_of(Archetype::kChampion, [](auto& s) { return s.spend; });
  for (int a = 1; a < kArchetypeCount; ++a)
    EXPECT_GT(champion, 2.0 * mean_of(static_cast<Archetype>(a), [](auto& s) { return s.spend; }))
        << archetype_names()[static_cast<std::size_t>(a)];
  EXPECT_GT(mean_of(Archetype::kChampion, purchases), 15.0);
}

TEST_F(ArchetypeBehaviour, ProspectsBrowseButNeverBuy) {
  EXPECT_EQ(mean_of(Archetype::kProspect, purchases), 0.0);
  EXPECT_GT(mean_of(Archetype::kProspect, [](auto& s) { return s.by_type[0]; }), 1.0);
  // They arrived recently: first event within the last 160 days.
  const std::int64_t cutoff = config_.end() - 160 * 86400;
  EXPECT_EQ(mean_of(Archetype::kProspect, [&](auto& s) { return s.first < cutoff ? 1.0 : 0.0; }), 0.0);
}

TEST_F(ArchetypeBehaviour, NewBuyersArrivedRecentlyAndBought) {
  const std::int64_t cutoff = config_.end() - 80 * 86400;
  EXPECT_EQ(mean_of(Archetype::kNewBuyer, [&](auto& s) { return s.first < cutoff ? 1.0 : 0.0; }), 0.0);
  EXPECT_EQ(mean_of(Archetype::kNewBuyer, [](auto& s) { return purchases(s) > 0 ? 0.0 : 1.0; }), 0.0);
}

TEST_F(ArchetypeBehaviour, AtRiskCustomersSlowDown) {
  const double first = mean_of(Archetype::kAtRisk, [](auto& s) { return s.first_half_purchases; });
  const double second = mean_of(Archetype::kAtRisk, [](auto& s) { return s.second_half_purchases; });
  EXPECT_LT(second, 0.4 * first);
  const double loyal_ratio = mean_of(Archetype::kLoyal, [](auto& s) { return s.second_half_purchases; }) /
                             mean_of(Archetype::kLoyal, [](auto& s) { return s.first_half_purchases; });
  EXPECT_GT(loyal_ratio, 0.8);
}

TEST_F(ArchetypeBehaviour, LapsedCustomersStoppedBuyingLongAgo) {
  const double days_since = mean_of(Archetype::kLapsed, [&](auto& s) {
    return s.last_purchase == INT64_MIN ? 365.0
                                        : static_cast<double>(config_.end() - s.last_purchase) / 86400.0;
  });
  const double loyal_days = mean_of(Archetype::kLoyal, [&](auto& s) {
    return s.last_purchase == INT64_MIN ? 365.0
                                        : static_cast<double>(config_.end() - s.last_purchase) / 86400.0;
  });
  EXPECT_GT(days_since, 150.0);
  EXPECT_LT(loyal_days, 60.0);
}

TEST_F(ArchetypeBehaviour, SeasonalShoppersBuyInTheHolidays) {
  double spend = 0, holiday = 0;
  for (const auto& s : stats_)
    if (s.archetype == static_cast<int>(Archetype::kSeasonal)) {
      spend += s.spend;
      holiday += s.holiday_spend;
    }
  EXPECT_GT(holiday / spend, 0.6);
}

TEST_F(ArchetypeBehaviour, BargainHuntersUseDiscounts) {
  auto share = [](Archetype a) {
    double d = 0, p = 0;
    for (const auto& s : stats_)
      if (s.archetype == static_cast<int>(a)) {
        d += s.discounted;
        p += purchases(s);
      }
    return d / p;
  };
  EXPECT_GT(share(Archetype::kBargainHunter), 0.7);
  EXPECT_LT(share(Archetype::kChampion), 0.2);
}

TEST_F(ArchetypeBehaviour, AppHeavyUsersUseTheAppAndSpendLittle) {
  auto sessions = [](auto& s) { return s.by_type[static_cast<int>(EventType::kAppSession)]; };
  EXPECT_GT(mean_of(Archetype::kAppHeavy, sessions), 10.0 * mean_of_others(Archetype::kAppHeavy, sessions));
  EXPECT_LT(mean_of(Archetype::kAppHeavy, [](auto& s) { return s.spend; }),
            mean_of(Archetype::kLoyal, [](auto& s) { return s.spend; }));
}

TEST_F(ArchetypeBehaviour, SpecialistsConcentrateOnOneCategory) {
  auto top_share = [](const CustomerStats& s) {
    double top = 0;
    for (auto& [c, v] : s.category_spend) top = std::max(top, v);
    return s.spend > 0 ? top / s.spend : NAN;
  };
  double spec = 0, loyal = 0;
  int ns = 0, nl = 0;
  for (const auto& s : stats_) {
    if (purchases(s) < 5) continue;
    if (s.archetype == static_cast<int>(Archetype::kCategorySpecialist)) spec += top_share(s), ++ns;
    if (s.archetype == static_cast<int>(Archetype::kLoyal)) loyal += top_share(s), ++nl;
  }
  EXPECT_GT(spec / ns, 0.8);
  EXPECT_LT(loyal / nl, 0.65);
}

TEST(GenerateEvents, DriftSwitchesTheChosenFractionAtTheDate) {
  TempDir dir;
  EventGeneratorConfig c = small_config(10000);
  c.drift_fraction = 0.3;
  c.drift_at = *parse_iso_time("2025-07-01");
  const GenerateReport report = generate_events(c, dir / "d.h5", false);
  const LoadedEvents e = load(dir / "d.h5");
  EXPECT_NEAR(static_cast<double>(report.drifted) / 10000.0, 0.3, 0.02);
  std::unordered_map<std::uint64_t, std::size_t> index;
  for (std::size_t i = 0; i < e.truth_id.size(); ++i) {
    index[e.truth_id[i]] = i;
    const bool changed = e.truth_after[i] != e.truth_archetype[i];
    ASSERT_EQ(changed, e.truth_drifted[i] == 1);
    if (changed) {
      ASSERT_EQ(e.truth_after[i],
                static_cast<int>(drift_target(static_cast<Archetype>(e.truth_archetype[i]))));
    }
  }
  // Drifted prospects become new buyers: no purchase before the date, at least one after.
  std::vector<int> before(e.truth_id.size()), after(e.truth_id.size());
  for (std::size_t i = 0; i < e.customer_id.size(); ++i)
    if (e.event_type[i] == static_cast<int>(EventType::kPurchase))
      (e.timestamp[i] < *c.drift_at ? before : after)[index.at(e.customer_id[i])]++;
  int prospects = 0;
  for (std::size_t i = 0; i < e.truth_id.size(); ++i)
    if (e.truth_drifted[i] && e.truth_archetype[i] == static_cast<int>(Archetype::kProspect)) {
      ++prospects;
      EXPECT_EQ(before[i], 0);
      EXPECT_GT(after[i], 0);
    }
  EXPECT_GT(prospects, 100);
  // Their first purchases spread over the weeks after the date instead of piling up at its first second.
  std::vector<std::int64_t> first_after(e.truth_id.size(), INT64_MAX),
      first_seen(e.truth_id.size(), INT64_MAX);
  for (std::size_t i = 0; i < e.customer_id.size(); ++i) {
    const std::size_t who = index.at(e.customer_id[i]);
    first_seen[who] = std::min(first_seen[who], e.timestamp[i]);
    if (e.event_type[i] == static_cast<int>(EventType::kPurchase) && e.timestamp[i] >= *c.drift_at)
      first_after[who] = std::min(first_after[who], e.timestamp[i]);
  }
  int within_first_day = 0, drifting_new_buyers = 0, seen_before = 0;
  for (std::size_t i = 0; i < e.truth_id.size(); ++i) {
    if (!e.truth_drifted[i]) continue;
    if (e.truth_archetype[i] == static_cast<int>(Archetype::kProspect))
      within_first_day += first_after[i] < *c.drift_at + 86400;
    if (e.truth_archetype[i] == static_cast<int>(Archetype::kNewBuyer)) {
      ++drifting_new_buyers;
      seen_before += first_seen[i] < *c.drift_at;  // they were new buyers before they became loyal
    }
  }
  EXPECT_LT(within_first_day, prospects / 5);
  EXPECT_EQ(seen_before, drifting_new_buyers);
  // Without drift the same seed gives the same archetypes.
  c.drift_fraction = 0;
  c.drift_at.reset();
  generate_events(c, dir / "n.h5", false);
  EXPECT_EQ(load(dir / "n.h5").truth_archetype, e.truth_archetype);
}

TEST(GenerateEvents, RejectsNonsensicalConfigurations) {
  TempDir dir;
  EventGeneratorConfig c = small_config();
  c.customers = 0;
  EXPECT_THROW(generate_events(c, dir / "x.h5", false), UsageError);
  c = small_config();
  c.days = -5;
  EXPECT_THROW(generate_events(c, dir / "x.h5", false), UsageError);
  c = small_config();
  c.drift_fraction = 0.2;
  EXPECT_THROW(generate_events(c, dir / "x.h5", false), UsageError);
  c.drift_at = c.start - 86400;
  EXPECT_THROW(generate_events(c, dir / "x.h5", false), UsageError);
  c = small_config();
  c.mix.fill(0.0);
  EXPECT_THROW(generate_events(c, dir / "x.h5", false), UsageError);
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_FALSE(parse_archetype("whale").has_value());
  EXPECT_EQ(parse_archetype("lapsed"), Archetype::kLapsed);
}

TEST(GenerateMixture, DeterministicWithTruth) {
  TempDir dir;
  MixtureGeneratorConfig c;
  c.rows = 20000;
  c.dims = 7;
  c.clusters = 5;
  c.threads = 1;
  generate_mixture(c, dir / "a.h5", false);
  c.threads = 2;
  c.batch_rows = 999;
  generate_mixture(c, dir / "b.h5", false);
  EXPECT_TRUE(test::files_equal(dir / "a.h5", dir / "b.h5"));

  io::FeatureFileReader r(dir / "a.h5");
  ASSERT_EQ(r.rows(), 20000u);
  ASSERT_EQ(r.columns(), 7u);
  std::vector<float> x(r.rows() * r.columns());
  r.read_rows(0, r.rows(), x.data());
  const auto labels = r.file().dataset("/truth/cluster").read_all<std::int32_t>();
  const auto centers = r.file().dataset("/truth/centers").read_all<float>();
  ASSERT_EQ(centers.size(), 5u * 7u);
  // Every point is nearest to its own centre (separation 8σ makes the mixture separable).
  std::array<int, 5> sizes{};
  for (std::size_t i = 0; i < r.rows(); ++i) {
    int best = -1;
    double best_d = INFINITY;
    for (int k = 0; k < 5; ++k) {
      double d = 0;
      for (int j = 0; j < 7; ++j)
        d += std::pow(x[i * 7 + j] - centers[static_cast<std::size_t>(k) * 7 + j], 2);
      if (d < best_d) best_d = d, best = k;
    }
    ASSERT_EQ(best, labels[i]) << "row " << i;
    sizes[static_cast<std::size_t>(best)]++;
  }
  for (int s : sizes) EXPECT_GT(s, 20000 / 5 / 4);
}

// Later windows observe the same rows: the same ids, fresh noise around the same centres, and a fraction
// --drift-fraction of the rows moved to another component before each window. Window 1 is the file
// written without windows, byte for byte.
TEST(GenerateMixture, WindowsDriftTheGivenFraction) {
  TempDir dir;
  MixtureGeneratorConfig c;
  c.rows = 40000;
  c.dims = 5;
  c.clusters = 4;
  generate_mixture(c, dir / "plain.h5", false);
  c.drift_fraction = 0.1;
  generate_mixture(c, dir / "w1.h5", false);
  EXPECT_TRUE(test::files_equal(dir / "plain.h5", dir / "w1.h5"));
  c.window = 2;
  const GenerateReport two = generate_mixture(c, dir / "w2.h5", false);
  c.window = 3;
  c.threads = 1;
  c.batch_rows = 777;
  generate_mixture(c, dir / "w3.h5", false);
  const io::FeatureFileReader r1(dir / "w1.h5"), r2(dir / "w2.h5"), r3(dir / "w3.h5");
  const auto ids1 = r1.file().dataset("/customer_id").read_all<std::uint64_t>();
  EXPECT_EQ(ids1, r2.file().dataset("/customer_id").read_all<std::uint64_t>());
  const auto k1 = r1.file().dataset("/truth/cluster").read_all<std::int32_t>();
  const auto k2 = r2.file().dataset("/truth/cluster").read_all<std::int32_t>();
  EXPECT_EQ(k1, r2.file().dataset("/truth/previous_cluster").read_all<std::int32_t>());
  EXPECT_EQ(k2, r3.file().dataset("/truth/previous_cluster").read_all<std::int32_t>());
  std::uint64_t moved = 0;
  for (std::size_t i = 0; i < k1.size(); ++i) moved += k1[i] != k2[i];
  EXPECT_EQ(moved, two.drifted);
  EXPECT_NEAR(static_cast<double>(moved) / static_cast<double>(c.rows), 0.1, 0.01);
  // Fresh noise: no row is where it was.
  std::vector<float> x1(c.rows * c.dims), x2(c.rows * c.dims);
  r1.read_rows(0, c.rows, x1.data());
  r2.read_rows(0, c.rows, x2.data());
  std::uint64_t same = 0;
  for (std::size_t i = 0; i < x1.size(); ++i) same += x1[i] == x2[i];
  EXPECT_LT(same, x1.size() / 1000);
  // Key order: the same rows, ids whose mix64 ascends (as features writes), and the file says so.
  c.window = 2;
  c.key_order = true;
  generate_mixture(c, dir / "key.h5", false);
  const io::FeatureFileReader rk(dir / "key.h5");
  EXPECT_EQ(rk.metadata().customer_order, "ascending mix64(customer_id)");
  const auto key_ids = rk.file().dataset("/customer_id").read_all<std::uint64_t>();
  for (std::size_t i = 1; i < key_ids.size(); ++i) ASSERT_LT(mix64(key_ids[i - 1]), mix64(key_ids[i])) << i;
  EXPECT_EQ(k2, rk.file().dataset("/truth/cluster").read_all<std::int32_t>());
  c.key_order = false;
  c.window = 0;
  EXPECT_THROW(generate_mixture(c, dir / "bad.h5", false), UsageError);
  c.window = 2;
  c.drift_fraction = 1.5;
  EXPECT_THROW(generate_mixture(c, dir / "bad.h5", false), UsageError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.h5"));
}

}  // namespace
}  // namespace segstream::host
