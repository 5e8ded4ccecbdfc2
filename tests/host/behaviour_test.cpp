// The behavioural feature set: every column on a hand-checked fixture, independence from event order,
// memory budget and threads, incremental state equal to a full recompute, and the bad inputs.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "event_fixture.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/kernels/bgnbd.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using io::EventType;
using test::Event;
using test::TempDir;

std::size_t column(const test::FeatureMatrix& m, const std::string& name) {
  const auto it = std::find(m.names.begin(), m.names.end(), name);
  EXPECT_NE(it, m.names.end()) << name;
  return static_cast<std::size_t>(it - m.names.begin());
}

float value(const test::FeatureMatrix& m, std::uint64_t customer, const std::string& name) {
  const auto row = std::find(m.ids.begin(), m.ids.end(), customer);
  EXPECT_NE(row, m.ids.end()) << customer;
  return m.values[static_cast<std::size_t>(row - m.ids.begin()) * m.names.size() + column(m, name)];
}

FeatureConfig behavioural() {
  FeatureConfig c;
  c.mode = FeatureMode::kBehavioural;
  return c;
}

// Customer 7 buys on Saturday 2025-01-04 (twice: one period) and Monday 2025-02-03, returns 20 on 03-05,
// uses the app, opens an e-mail and writes a review; customer 8 only browses; customer 9 views twice, adds
// to the cart once and opens a support ticket.
const std::vector<Event> kFixture = {
    {7, "2025-01-04T10:00:00", EventType::kPageView, 0, 1, 0},
    {7, "2025-01-04T10:30:00", EventType::kPurchase, 100, 1, 0},
    {7, "2025-01-04T20:00:00", EventType::kPurchase, 50, 2, 1, 5},
    {7, "2025-02-03T09:00:00", EventType::kPurchase, 30, 1, 1},
    {7, "2025-03-05T12:00:00", EventType::kReturn, -20, 1, 1},
    {7, "2025-03-30T08:00:00", EventType::kAppSession, 0, 0, 1},
    {7, "2025-03-31T08:00:00", EventType::kAppSession, 0, 0, 1},
    {7, "2025-03-31T09:00:00", EventType::kEmailSent, 0, 0, 4},
    {7, "2025-03-31T09:30:00", EventType::kEmailOpen, 0, 0, 4},
    {7, "2025-03-31T10:00:00", EventType::kReview, 0, 1, 0},
    {7, "2025-04-02T10:00:00", EventType::kPurchase, 999, 1, 0},  // after the as-of time
    {8, "2025-03-20T15:00:00", EventType::kPageView, 0, 3, 0},
    {8, "2025-03-21T15:00:00", EventType::kEmailSent, 0, 0, 4},
    {9, "2025-03-01T00:00:00", EventType::kPageView, 0, 0, 0},
    {9, "2025-03-02T12:00:00", EventType::kPageView, 0, 0, 0},
    {9, "2025-03-02T12:10:00", EventType::kCartAdd, 0, 0, 0},
    {9, "2025-03-10T12:00:00", EventType::kSupportTicket, 0, 0, 0},
};

TEST(Behaviour, EveryColumnOnAHandCheckedFixture) {
  TempDir dir;
  test::write_events(dir / "ev.h5", kFixture);
  FeatureConfig c = behavioural();
  c.as_of = *parse_iso_time("2025-03-31T23:59:59");
  c.bgnbd = kernels::BgNbdParams{0.243, 4.414, 0.793, 2.426};
  const FeatureReport r = compute_features(dir / "ev.h5", dir / "f.h5", false, c);
  EXPECT_EQ(r.customers, 3u);
  EXPECT_EQ(r.after_as_of, 1u);
  const test::FeatureMatrix m = test::read_matrix(dir / "f.h5");
  auto v = [&](std::uint64_t id, const char* name) { return static_cast<double>(value(m, id, name)); };
  constexpr double kTol = 1e-5;
  const double recency = 56 + 53999.0 / 86400;  // 02-03 09:00 → 03-31 23:59:59
  EXPECT_NEAR(v(7, "recency_days"), recency, kTol);
  EXPECT_EQ(v(7, "frequency"), 2);
  EXPECT_EQ(v(7, "monetary_total"), 180);
  EXPECT_EQ(v(7, "avg_order_value"), 60);
  EXPECT_NEAR(v(7, "tenure_days"), 86 + 50399.0 / 86400, kTol);
  EXPECT_EQ(v(7, "interpurchase_mean_days"), 30);
  EXPECT_EQ(v(7, "interpurchase_cv"), 0);
  EXPECT_NEAR(v(7, "return_rate"), 20.0 / 180, kTol);
  EXPECT_EQ(v(7, "events_7d"), 4);   // two app sessions, the open, the review; the e-mail sent is no action
  EXPECT_EQ(v(7, "events_28d"), 5);  // and the return
  EXPECT_EQ(v(7, "events_90d"), 9);  // every action since 2025-01-01
  EXPECT_EQ(v(7, "active_days_28d"), 3);
  EXPECT_EQ(v(7, "app_sessions_28d"), 2);
  EXPECT_EQ(v(7, "email_open_rate"), 1);
  EXPECT_EQ(v(7, "email_click_rate"), 0);
  EXPECT_NEAR(v(7, "repeat_ratio"), 2.0 / 3, kTol);
  EXPECT_NEAR(v(7, "active_month_ratio"), 2.0 / 3, kTol);  // January and February of January–March
  // Shares over purchases are shrunk toward the calendar by two pseudo-purchases: two of three purchases on
  // a Saturday, none in November or December (61 of 365.2425 days).
  const double season = 61 / 365.2425;
  EXPECT_NEAR(v(7, "weekend_share"), (2 + 2 * 2.0 / 7) / 5, kTol);
  EXPECT_NEAR(v(7, "holiday_share"), 2 * season / 5, kTol);
  // Hours of the nine actions: 8 ×2, 9 ×2, 10 ×3, 12, 20.
  double entropy = 0;
  for (double n : {2.0, 2.0, 3.0, 1.0, 1.0}) entropy -= n / 9 * std::log2(n / 9);
  EXPECT_NEAR(v(7, "hour_entropy"), entropy, kTol);
  EXPECT_EQ(v(7, "peak_hour"), 10);
  EXPECT_NEAR(v(7, "discount_share"), 1.0 / 3, kTol);
  // Spend 130 in category 1 and 50 in category 2, the base's spend (customer 7's alone) the same: the
  // unbiased Herfindahl index of three purchases shrunk toward the base's.
  const double h = (130.0 / 180) * (130.0 / 180) + (50.0 / 180) * (50.0 / 180);
  EXPECT_NEAR(v(7, "category_concentration"), (2 * ((3 * h - 1) / 2) + 2 * h) / 4, kTol);
  EXPECT_NEAR(v(7, "discount_spend_share"), 50.0 / 180, kTol);
  // The mean direction of the nine actions' hours, each at the middle of its hour.
  double hour_cos = 0, hour_sin = 0;
  for (auto [hour, count] : {std::pair{8, 2}, {9, 2}, {10, 3}, {12, 1}, {20, 1}}) {
    const double angle = (hour + 0.5) * 2 * M_PI / 24;
    hour_cos += count / 9.0 * std::cos(angle);
    hour_sin += count / 9.0 * std::sin(angle);
  }
  EXPECT_NEAR(v(7, "hour_cos"), hour_cos, kTol);
  EXPECT_NEAR(v(7, "hour_sin"), hour_sin, kTol);
  // One page view and no cart add; three purchases without a cart add do not make a conversion rate.
  EXPECT_NEAR(v(7, "cart_rate"), 1.0 / 3, kTol);
  EXPECT_NEAR(v(7, "conversion_rate"), 0.5, kTol);
  EXPECT_EQ(v(7, "support_per_month"), 0);
  // Spend by category over all customers: 1 → 130, 2 → 50; the file names no categories or channels.
  EXPECT_EQ(m.names[29], "category_share_1");
  EXPECT_EQ(m.names[30], "category_share_2");
  EXPECT_NEAR(v(7, "category_share_1"), 130.0 / 180, kTol);
  EXPECT_NEAR(v(7, "category_share_2"), 50.0 / 180, kTol);
  EXPECT_NEAR(v(7, "channel_share_0"), 3.0 / 9, kTol);
  EXPECT_NEAR(v(7, "channel_share_1"), 5.0 / 9, kTol);
  EXPECT_EQ(v(7, "channel_share_2"), 0);
  EXPECT_NEAR(v(7, "channel_share_4"), 1.0 / 9, kTol);
  EXPECT_EQ(v(7, "journey_stage"), 5);
  EXPECT_NEAR(v(7, "churn_risk"), recency / 30, kTol);
  // BG/NBD with x = 1 repeat day, t_x = 30, T = 86 days.
  const double p_alive = 1 / (1 + 0.793 / 2.426 * std::pow((4.414 + 86) / (4.414 + 30), 1.243));
  EXPECT_NEAR(v(7, "p_alive"), p_alive, kTol);
  EXPECT_EQ(v(7, "has_purchase"), 1);

  // Customer 8 never bought: purchase features are 0 and flagged, recency counts from the first event.
  const double since_first = 11 + 32399.0 / 86400;
  EXPECT_NEAR(v(8, "recency_days"), since_first, kTol);
  EXPECT_NEAR(v(8, "tenure_days"), since_first, kTol);
  // Without a gap of its own, churn_risk compares with the base's typical gap α / r (in days here).
  EXPECT_NEAR(v(8, "churn_risk"), since_first / (4.414 / 0.243), kTol);
  for (const char* zero :
       {"frequency", "monetary_total", "avg_order_value", "interpurchase_mean_days", "return_rate",
        "events_7d", "email_open_rate", "repeat_ratio", "active_month_ratio", "hour_entropy",
        "discount_share", "discount_spend_share", "journey_stage", "has_purchase"})
    EXPECT_EQ(v(8, zero), 0) << zero;
  EXPECT_NEAR(v(8, "weekend_share"), 2.0 / 7, kTol) << "the calendar's share without purchases";
  EXPECT_NEAR(v(8, "holiday_share"), season, kTol);
  EXPECT_NEAR(v(8, "category_concentration"), h, kTol) << "the base's without purchases";
  EXPECT_EQ(v(8, "events_28d"), 1);
  EXPECT_EQ(v(8, "active_days_28d"), 1);
  EXPECT_EQ(v(8, "peak_hour"), 15);
  EXPECT_EQ(v(8, "p_alive"), 1);
  EXPECT_NEAR(v(8, "hour_cos"), std::cos(15.5 * 2 * M_PI / 24), kTol);
  EXPECT_NEAR(v(8, "hour_sin"), std::sin(15.5 * 2 * M_PI / 24), kTol);

  // Customer 9: two page views with one cart add, that cart add without a purchase, and one ticket over a
  // tenure of 30 days and 86,399 seconds.
  EXPECT_NEAR(v(9, "cart_rate"), 2.0 / 4, kTol);
  EXPECT_NEAR(v(9, "conversion_rate"), 1.0 / 3, kTol);
  EXPECT_NEAR(v(9, "support_per_month"), 30 / (30 + 86399.0 / 86400), kTol);
  for (float x : m.values) EXPECT_TRUE(std::isfinite(x));
}

TEST(Behaviour, HashOfIdsIsInvertible) {
  for (std::uint64_t id : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{7}, ~std::uint64_t{0},
                           std::uint64_t{0x123456789abcdefull}})
    EXPECT_EQ(unmix64(mix64(id)), id);
}

// About 1.3 million events, so the BG/NBD sample is a key range smaller than the whole base.
void generate(const std::filesystem::path& path, EventOrder order) {
  EventGeneratorConfig g;
  g.customers = 12000;
  g.seed = 11;
  g.order = order;
  g.shuffle_block = 7000;
  generate_events(g, path, false);
}

TEST(Behaviour, SameBytesForAnyOrderMemoryBudgetAndThreads) {
  TempDir dir;
  generate(dir / "ordered.h5", EventOrder::kCustomer);
  generate(dir / "shuffled.h5", EventOrder::kShuffled);
  FeatureConfig c = behavioural();
  const FeatureReport one = compute_features(dir / "ordered.h5", dir / "a.h5", false, c);
  EXPECT_EQ(one.partitions, 1u);
  EXPECT_GT(one.bgnbd_sample, 1000u);
  EXPECT_LT(one.bgnbd_sample, one.customers);
  c.host_memory = std::uint64_t{2} << 20;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const FeatureReport many = compute_features(dir / "shuffled.h5", dir / "b.h5", false, c);
  omp_set_num_threads(threads);
  EXPECT_GT(many.partitions, 10u);
  EXPECT_EQ(one.customers, many.customers);
  EXPECT_EQ(one.bgnbd_sample, many.bgnbd_sample);
  const test::FeatureMatrix a = test::read_matrix(dir / "a.h5"), b = test::read_matrix(dir / "b.h5");
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.names, b.names);
}

TEST(Behaviour, IncrementalStateGivesTheFullRecompute) {
  TempDir dir;
  generate(dir / "ev.h5", EventOrder::kShuffled);
  const std::int64_t end = *parse_iso_time("2025-12-31T23:59:59");
  FeatureConfig full = behavioural();
  full.as_of = end;
  compute_features(dir / "ev.h5", dir / "full.h5", false, full);

  // Two steps of state: as of 12-01, then 12-20 (19 days later), then the last day.
  FeatureConfig step = behavioural();
  step.as_of = *parse_iso_time("2025-12-01T23:59:59");
  step.state_out = dir / "s1.h5";
  compute_features(dir / "ev.h5", dir / "f1.h5", false, step);
  step.as_of = *parse_iso_time("2025-12-20T23:59:59");
  step.state_in = dir / "s1.h5";
  step.state_out = dir / "s2.h5";
  step.host_memory = std::uint64_t{8} << 20;
  const FeatureReport mid = compute_features(dir / "ev.h5", dir / "f2.h5", false, step);
  EXPECT_GT(mid.before_state, 0u);
  EXPECT_GT(mid.partitions, 1u);
  step.as_of = end;
  step.state_in = dir / "s2.h5";
  step.state_out.clear();
  step.host_memory = std::uint64_t{2} << 30;
  const FeatureReport last = compute_features(dir / "ev.h5", dir / "inc.h5", false, step);
  EXPECT_GT(last.state_customers, 10000u);
  const test::FeatureMatrix a = test::read_matrix(dir / "full.h5"), b = test::read_matrix(dir / "inc.h5");
  EXPECT_EQ(a.names, b.names);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.values, b.values);
}

// --since describes each customer by the window alone: the same file as one that holds only the window's
// events, in every mode; customers with no event in the window are left out.
TEST(Behaviour, SinceGivesTheWindowAlone) {
  TempDir dir;
  std::vector<Event> late, all = kFixture;
  all.push_back({10, "2025-01-15T10:00:00", EventType::kPurchase, 40, 1, 0});  // only before the window
  all.push_back({11, "2025-02-10T10:00:00", EventType::kPurchase, 15, 2, 0});  // before and in it
  all.push_back({11, "2025-03-10T18:00:00", EventType::kPurchase, 25, 2, 0});
  all.push_back({11, "2025-03-24T18:00:00", EventType::kPurchase, 35, 1, 1});
  for (const Event& e : all)
    if (std::string(e.when) >= "2025-03-01") late.push_back(e);
  test::write_events(dir / "all.h5", all);
  test::write_events(dir / "late.h5", late);
  for (FeatureMode mode : {FeatureMode::kBehavioural, FeatureMode::kLifetimes, FeatureMode::kRfm}) {
    FeatureConfig c = behavioural();
    c.mode = mode;
    c.as_of = *parse_iso_time("2025-03-31T23:59:59");
    c.t_ref = *parse_iso_time("2025-04-01");
    c.bgnbd = kernels::BgNbdParams{0.243, 4.414, 0.793, 2.426};
    const FeatureReport alone = compute_features(dir / "late.h5", dir / "alone.h5", true, c);
    c.since = *parse_iso_time("2025-03-01");
    const FeatureReport since = compute_features(dir / "all.h5", dir / "since.h5", true, c);
    EXPECT_EQ(since.customers, alone.customers);
    EXPECT_EQ(since.before_since, all.size() - late.size());
    const test::FeatureMatrix a = test::read_matrix(dir / "alone.h5"),
                              b = test::read_matrix(dir / "since.h5");
    EXPECT_EQ(a.names, b.names);
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.values, b.values);
    EXPECT_EQ(std::find(b.ids.begin(), b.ids.end(), 10u), b.ids.end());
  }
}

// A state made --since a date is carried on only by runs with the same --since, and the window must end
// after it starts.
TEST(BehaviourBadInput, SinceThatDoesNotFitTheRun) {
  TempDir dir;
  test::write_events(dir / "ev.h5", kFixture);
  FeatureConfig c = behavioural();
  c.bgnbd = kernels::BgNbdParams{0.243, 4.414, 0.793, 2.426};
  c.as_of = *parse_iso_time("2025-03-01T23:59:59");
  c.since = *parse_iso_time("2025-03-02");
  EXPECT_THROW(compute_features(dir / "ev.h5", dir / "f.h5", false, c), UsageError);
  c.since = *parse_iso_time("2025-02-01");
  c.state_out = dir / "s.h5";
  compute_features(dir / "ev.h5", dir / "f.h5", false, c);
  c.state_out.clear();
  c.state_in = dir / "s.h5";
  c.as_of = *parse_iso_time("2025-03-31T23:59:59");
  compute_features(dir / "ev.h5", dir / "g.h5", false, c);  // the same --since carries on
  c.since.reset();
  std::string msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "h.h5", false, c); });
  EXPECT_NE(msg.find("s.h5: the state was made with since = \"2025-02-01\", this run has no --since"),
            std::string::npos)
      << msg;
  c.since = *parse_iso_time("2025-01-01");
  msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "h.h5", false, c); });
  EXPECT_NE(msg.find("the state was made with since = \"2025-02-01\", this run has \"2025-01-01"),
            std::string::npos)
      << msg;
  c.state_in.clear();
  c.since = *parse_iso_time("2025-03-31T12:00:00");
  msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "h.h5", false, c); });
  EXPECT_NE(msg.find("no events from 2025-03-31T12:00:00Z at or before 2025-03-31T23:59:59Z"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "h.h5"));
}

TEST(BehaviourBadInput, StateThatDoesNotFitTheRun) {
  TempDir dir;
  test::write_events(dir / "ev.h5", kFixture);
  FeatureConfig c = behavioural();
  c.bgnbd = kernels::BgNbdParams{0.243, 4.414, 0.793, 2.426};
  c.as_of = *parse_iso_time("2025-03-01T23:59:59");
  c.state_out = dir / "s.h5";
  compute_features(dir / "ev.h5", dir / "f.h5", false, c);
  c.state_out.clear();
  c.state_in = dir / "s.h5";
  c.as_of = *parse_iso_time("2025-03-02T12:00:00");
  std::string msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "g.h5", false, c); });
  EXPECT_NE(msg.find("must be a whole number of days later"), std::string::npos) << msg;
  c.as_of = *parse_iso_time("2025-02-01T23:59:59");
  msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "g.h5", false, c); });
  EXPECT_NE(msg.find("after --as-of"), std::string::npos) << msg;
  c.as_of = *parse_iso_time("2025-03-31T23:59:59");
  c.unit_seconds = 3600;
  msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "g.h5", false, c); });
  EXPECT_NE(msg.find("s.h5: the state was made with unit_seconds = 86400, this run has 3600"),
            std::string::npos)
      << msg;
  c.unit_seconds = 86400;
  c.state_in = dir / "ev.h5";
  msg = test::input_error_of([&] { compute_features(dir / "ev.h5", dir / "g.h5", false, c); });
  EXPECT_NE(msg.find("not a segstream state file"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "g.h5"));
}

TEST(BehaviourBadInput, AmountsTypesAndEmptyFiles) {
  TempDir dir;
  FeatureConfig c = behavioural();
  c.as_of = *parse_iso_time("2025-03-31T23:59:59");
  c.bgnbd = kernels::BgNbdParams{1, 1, 1, 1};
  test::write_events(dir / "nan.h5", {{1, "2025-01-01", EventType::kPurchase, 10},
                                      {1, "2025-01-02", EventType::kReturn, INFINITY}});
  std::string msg = test::input_error_of([&] { compute_features(dir / "nan.h5", dir / "f.h5", false, c); });
  EXPECT_NE(msg.find("nan.h5: row 1: /events/amount is inf, expected a finite amount"), std::string::npos)
      << msg;
  c.on_bad_row = io::BadRowPolicy::kSkip;
  msg = test::input_error_of([&] { compute_features(dir / "nan.h5", dir / "f.h5", false, c); });
  EXPECT_NE(msg.find("1 of 2 events (50.0%) have a bad amount"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "f.h5"));
  c.max_bad_share = 1;
  EXPECT_EQ(compute_features(dir / "nan.h5", dir / "f.h5", false, c).skipped_rows, 1u);
  c.on_bad_row = io::BadRowPolicy::kError;

  // A purchase with a negative amount counts as a return, as import-csv stores refunds.
  test::write_events(dir / "neg.h5", {{1, "2025-01-01", EventType::kPurchase, 10},
                                      {1, "2025-01-02", EventType::kPurchase, -4}});
  EXPECT_EQ(compute_features(dir / "neg.h5", dir / "n.h5", false, c).negative_purchases, 1u);
  const test::FeatureMatrix n = test::read_matrix(dir / "n.h5");
  EXPECT_EQ(value(n, 1, "monetary_total"), 10);
  EXPECT_NEAR(value(n, 1, "return_rate"), 0.4, 1e-6);

  test::write_events(dir / "type.h5", {{1, "2025-01-01", static_cast<EventType>(77), 0}});
  msg = test::input_error_of([&] { compute_features(dir / "type.h5", dir / "t.h5", false, c); });
  EXPECT_NE(msg.find("row 0: /events/event_type is 77, not a known code (0..12)"), std::string::npos) << msg;

  // Only events after the as-of time: nothing to write.
  test::write_events(dir / "late.h5", {{1, "2025-06-01", EventType::kPurchase, 10}});
  msg = test::input_error_of([&] { compute_features(dir / "late.h5", dir / "l.h5", false, c); });
  EXPECT_NE(msg.find("no events at or before 2025-03-31T23:59:59Z"), std::string::npos) << msg;

  c.windows = {7, 28, 200};
  EXPECT_THROW(compute_features(dir / "neg.h5", dir / "w.h5", false, c), UsageError);
  c.windows = {7, 28, 90};
  c.bgnbd = kernels::BgNbdParams{-1, 1, 1, 1};
  EXPECT_THROW(compute_features(dir / "neg.h5", dir / "w.h5", false, c), UsageError);
  c.bgnbd.reset();  // one buyer is too few to fit p_alive's model on
  msg = test::input_error_of([&] { compute_features(dir / "neg.h5", dir / "w.h5", false, c); });
  EXPECT_NE(msg.find("give the parameters with --bgnbd"), std::string::npos) << msg;
  for (const char* f : {"t.h5", "l.h5", "w.h5"}) EXPECT_FALSE(std::filesystem::exists(dir / f)) << f;
}

}  // namespace
}  // namespace segstream::host
