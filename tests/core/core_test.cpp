// The header-only vocabulary: counter-based RNG, distributions, calendar arithmetic, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"

namespace segstream {
namespace {

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, MatchesRandom123KnownAnswers) {
  EXPECT_EQ(Philox4x32::generate({0, 0, 0, 0}, {0, 0}),
            (Philox4x32::Block{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(
      Philox4x32::generate({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
      (Philox4x32::Block{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(
      Philox4x32::generate({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
      (Philox4x32::Block{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(RandomStream, IsAFunctionOfSeedPurposeAndIndex) {
  RandomStream a(7, RandomPurpose::kCustomer, 123), b(7, RandomPurpose::kCustomer, 123);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
  RandomStream other_index(7, RandomPurpose::kCustomer, 124), other_purpose(7, RandomPurpose::kShuffle, 123),
      other_seed(8, RandomPurpose::kCustomer, 123), c(7, RandomPurpose::kCustomer, 123);
  const std::uint64_t first = c.next_u64();
  EXPECT_NE(first, other_index.next_u64());
  EXPECT_NE(first, other_purpose.next_u64());
  EXPECT_NE(first, other_seed.next_u64());
}

TEST(RandomStream, DistributionsHaveTheirMoments) {
  RandomStream rng(1, RandomPurpose::kCustomer, 0);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0, se = 0, sp = 0, sp_big = 0, sl = 0;
  double umin = 1, umax = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    umin = std::min(umin, u);
    umax = std::max(umax, u);
    su += u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
    se += rng.exponential(2.0);
    sp += rng.poisson(3.5);
    sp_big += rng.poisson(40.0);
    sl += rng.lognormal_mean(5.0, 0.5);
  }
  EXPECT_GT(umin, 0.0);
  EXPECT_LT(umax, 1.0);
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
  EXPECT_NEAR(se / n, 0.5, 0.01);
  EXPECT_NEAR(sp / n, 3.5, 0.03);
  EXPECT_NEAR(sp_big / n, 40.0, 0.1);
  EXPECT_NEAR(sl / n, 5.0, 0.05);
}

TEST(RandomStream, BelowIsInRangeAndCoversIt) {
  RandomStream rng(3, RandomPurpose::kShuffle, 9);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const auto v = rng.below(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(Mix64, IsABijectionOnASample) {
  std::set<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < 100000; ++i) ids.insert(mix64(i));
  EXPECT_EQ(ids.size(), 100000u);
}

TEST(Time, ParsesAndFormatsIsoDates) {
  EXPECT_EQ(parse_iso_time("1970-01-01"), 0);
  EXPECT_EQ(parse_iso_time("2025-01-01"), 1735689600);
  EXPECT_EQ(parse_iso_time("2015-02-07T12:30:05Z"), 1423312205);
  EXPECT_EQ(parse_iso_time("2015-02-07 12:30:05"), 1423312205);
  EXPECT_FALSE(parse_iso_time("2025-02-30"));
  EXPECT_FALSE(parse_iso_time("2025-13-01"));
  EXPECT_FALSE(parse_iso_time("yesterday"));
  EXPECT_FALSE(parse_iso_time("2025-01-01T25:00:00"));
  EXPECT_EQ(format_iso_time(1735689600), "2025-01-01");
  EXPECT_EQ(format_iso_time(1423312205), "2015-02-07T12:30:05Z");
  EXPECT_EQ(format_iso_time(-86400), "1969-12-31");
}

TEST(Time, CivilRoundTripAndWeekdays) {
  for (std::int64_t d = -800000; d < 800000; d += 997) EXPECT_EQ(days_from_civil(civil_from_days(d)), d);
  EXPECT_EQ(weekday_of_day(0), 3);                              // 1970-01-01: Thursday
  EXPECT_EQ(weekday_of_day(days_from_civil({2025, 1, 4})), 5);  // Saturday
  EXPECT_EQ(weekday_of_day(days_from_civil({2025, 1, 5})), 6);  // Sunday
  EXPECT_EQ(day_of(-1), -1);
  EXPECT_EQ(day_of(86399), 0);
}

TEST(Errors, CarryTheirExitCodes) {
  EXPECT_EQ(UsageError("x").code(), ExitCode::kUsage);
  EXPECT_EQ(InputError("x").code(), ExitCode::kBadInput);
  EXPECT_EQ(ResourceError("x").code(), ExitCode::kResource);
  EXPECT_EQ(InterruptedError("x").code(), ExitCode::kInterrupted);
  EXPECT_THROW(SEGSTREAM_EXPECTS(1 > 2, "k must be positive (k={})", 0), UsageError);
  try {
    SEGSTREAM_CHECK_INPUT(false, "{}: row {} column {}", "f.h5", 3, "amount");
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "f.h5: row 3 column amount");
  }
}

}  // namespace
}  // namespace segstream
