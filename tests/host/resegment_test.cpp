// The pieces of dynamic re-segmentation: the optimal assignment against brute force, stable segment ids,
// MONIC's transitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/host/resegment.hpp"

namespace segstream::host {
namespace {

// The least total cost over every way of giving min(rows, cols) rows distinct columns, by enumeration.
double brute_force(const std::vector<double>& cost, int rows, int cols) {
  const bool wide = rows <= cols;
  const int n = wide ? rows : cols, m = wide ? cols : rows;
  auto at = [&](int small, int large) {
    return wide ? cost[static_cast<std::size_t>(small * cols + large)]
                : cost[static_cast<std::size_t>(large * cols + small)];
  };
  std::vector<int> pick(static_cast<std::size_t>(m));
  std::iota(pick.begin(), pick.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {  // the first n entries of each permutation of the m indices (repeats are harmless)
    double s = 0;
    for (int i = 0; i < n; ++i) s += at(i, pick[static_cast<std::size_t>(i)]);
    best = std::min(best, s);
  } while (std::next_permutation(pick.begin(), pick.end()));
  return best;
}

double total(const std::vector<double>& cost, int cols, const std::vector<int>& to) {
  double s = 0;
  for (std::size_t i = 0; i < to.size(); ++i)
    if (to[i] >= 0) s += cost[i * static_cast<std::size_t>(cols) + static_cast<std::size_t>(to[i])];
  return s;
}

TEST(Resegment, AssignmentIsTheBruteForceOptimum) {
  RandomStream rng(11, RandomPurpose::kMixtureRow, 0);
  for (int rows = 1; rows <= 7; ++rows)
    for (int cols = 1; cols <= 7; ++cols) {
      for (int trial = 0; trial < 6; ++trial) {
        std::vector<double> cost(static_cast<std::size_t>(rows * cols));
        // Trial 0 draws from a few integers, so equal-cost assignments abound.
        for (double& c : cost) c = trial == 0 ? static_cast<double>(static_cast<int>(rng.uniform() * 3)) : rng.uniform() * 10;
        const std::vector<int> to = min_cost_assignment(cost, rows, cols);
        ASSERT_EQ(to.size(), static_cast<std::size_t>(rows));
        std::set<int> used;
        int assigned = 0;
        for (int c : to) {
          if (c < 0) continue;
          ASSERT_LT(c, cols);
          ASSERT_TRUE(used.insert(c).second) << "column " << c << " taken twice";
          ++assigned;
        }
        ASSERT_EQ(assigned, std::min(rows, cols));
        EXPECT_NEAR(total(cost, cols, to), brute_force(cost, rows, cols), 1e-9)
            << rows << " × " << cols << " trial " << trial;
        EXPECT_EQ(min_cost_assignment(cost, rows, cols), to) << "the same matrix, the same answer";
      }
    }
  EXPECT_EQ(min_cost_assignment({}, 0, 3), std::vector<int>{});
  EXPECT_EQ(min_cost_assignment({}, 2, 0), (std::vector<int>{-1, -1}));
  EXPECT_THROW(min_cost_assignment({1, 2, 3}, 2, 2), UsageError);
  EXPECT_THROW(min_cost_assignment({1, std::numeric_limits<double>::infinity()}, 1, 2), UsageError);
}

// A 3 × 3 case worked by hand: the greedy choice (row 0 takes its cheapest, column 0) is not optimal.
TEST(Resegment, AssignmentIsNotGreedy) {
  const std::vector<double> cost = {1, 2, 9,  //
                                    2, 9, 9,  //
                                    9, 9, 1};
  EXPECT_EQ(min_cost_assignment(cost, 3, 3), (std::vector<int>{1, 0, 2}));
}

std::vector<float> centres(std::initializer_list<std::pair<float, float>> points) {
  std::vector<float> c;
  for (const auto& [x, y] : points) {
    c.push_back(x);
    c.push_back(y);
  }
  return c;
}

TEST(Resegment, IdsFollowTheCentresAndAreNeverReused) {
  const std::vector<float> prev = centres({{0, 0}, {10, 0}, {0, 10}});
  const std::vector<std::int32_t> prev_ids = {4, 7, 2};
  // The same centres, moved a little and listed in another order: every id follows its centre.
  IdMatch m = match_segment_ids(prev, prev_ids, centres({{0.5F, 10}, {0, 0.3F}, {9.6F, 0}}), 2, 3.0, 8);
  EXPECT_EQ(m.ids, (std::vector<std::int32_t>{2, 4, 7}));
  EXPECT_TRUE(m.created.empty());
  EXPECT_TRUE(m.retired.empty());
  EXPECT_EQ(m.next_id, 8);
  EXPECT_NEAR(m.distance[0], 0.5, 1e-6);
  EXPECT_NEAR(m.distance[2], 0.4, 1e-6);

  // One group went and another came: the far centre gets a new id and the left-over id is retired, even
  // though the optimal matching pairs them.
  m = match_segment_ids(prev, prev_ids, centres({{0, 0}, {10, 0}, {30, 30}}), 2, 3.0, 8);
  EXPECT_EQ(m.ids, (std::vector<std::int32_t>{4, 7, 8}));
  EXPECT_EQ(m.created, std::vector<std::int32_t>{8});
  EXPECT_EQ(m.retired, std::vector<std::int32_t>{2});
  EXPECT_EQ(m.next_id, 9);
  EXPECT_EQ(m.distance[2], -1);

  // More segments than before, and fewer.
  m = match_segment_ids(prev, prev_ids, centres({{0, 0}, {10, 0}, {0, 10}, {5, 5}}), 2, 3.0, 8);
  EXPECT_EQ(m.ids, (std::vector<std::int32_t>{4, 7, 2, 8}));
  m = match_segment_ids(prev, prev_ids, centres({{0, 10}, {10, 0.5F}}), 2, 3.0, 8);
  EXPECT_EQ(m.ids, (std::vector<std::int32_t>{2, 7}));
  EXPECT_EQ(m.retired, std::vector<std::int32_t>{4});

  // A pair beyond the distance costs the distance, as leaving both unmatched would. Here the uncapped
  // optimum (X to B's id at 2, Y to A's at 2.5: 4.5) beats X to A at 1 and Y to B at 5.5; capped at 3,
  // X keeps A's id and Y, far from B, is new.
  const std::vector<float> ab = centres({{0, 0}, {3, 0}}), xy = centres({{1, 0}, {-2.5F, 0}});
  m = match_segment_ids(ab, {4, 7}, xy, 2, 3.0, 8);
  EXPECT_EQ(m.ids, (std::vector<std::int32_t>{4, 8}));
  EXPECT_EQ(m.retired, std::vector<std::int32_t>{7});
  m = match_segment_ids(ab, {4, 7}, xy, 2, 100.0, 8);
  EXPECT_EQ(m.ids, (std::vector<std::int32_t>{7, 4}));

  // An id at or above the next id would be reused.
  EXPECT_THROW(match_segment_ids(prev, {4, 8, 2}, prev, 2, 3.0, 8), InputError);
}

// Three successive updates, each replacing one group: ids only grow, and none comes back.
TEST(Resegment, ThreeUpdatesNeverReuseAnId) {
  std::vector<float> c = centres({{0, 0}, {10, 0}, {0, 10}});
  std::vector<std::int32_t> ids = {0, 1, 2};
  std::int32_t next = 3;
  std::set<std::int32_t> seen(ids.begin(), ids.end()), retired;
  for (int round = 1; round <= 3; ++round) {
    std::vector<float> moved = c;
    moved[static_cast<std::size_t>(2 * (round % 3))] += 50.0F * static_cast<float>(round);  // one group jumps far
    const IdMatch m = match_segment_ids(c, ids, moved, 2, 3.0, next);
    ASSERT_EQ(m.created.size(), 1u);
    ASSERT_EQ(m.retired.size(), 1u);
    EXPECT_TRUE(seen.insert(m.created[0]).second) << "id " << m.created[0] << " reused";
    for (std::int32_t r : m.retired) EXPECT_TRUE(retired.insert(r).second);
    for (std::int32_t id : m.ids) EXPECT_EQ(retired.count(id), 0u) << "a retired id came back";
    c = moved;
    ids = m.ids;
    next = m.next_id;
  }
  EXPECT_EQ(next, 6);
}

TEST(Resegment, MonicTransitions) {
  // Old segments (rows) × new (columns), customers in both.
  // 0 survives into 0; 1 and 2 are absorbed into 1; 3 splits 40/40/20 over 2, 3, 4; 4 scatters and
  // disappears; new segment 5 emerges from nothing.
  const std::vector<std::uint64_t> counts = {
      90, 5,  5,  0,  0,  0,  //
      0,  80, 10, 10, 0,  0,  //
      0,  70, 0,  0,  30, 0,  //
      0,  0,  40, 40, 20, 0,  //
      20, 20, 20, 20, 20, 0,  //
  };
  const Transitions t = monic_transitions(counts, 5, 6);
  EXPECT_EQ(t.kind, (std::vector<std::string>{"survived", "absorbed", "absorbed", "split", "disappeared"}));
  EXPECT_EQ(t.into[0], std::vector<int>{0});
  EXPECT_EQ(t.into[1], std::vector<int>{1});
  EXPECT_EQ(t.into[2], std::vector<int>{1});
  EXPECT_EQ(t.into[3], (std::vector<int>{2, 3}));
  EXPECT_TRUE(t.into[4].empty());
  EXPECT_EQ(t.emerged, (std::vector<std::uint8_t>{0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(t.match, 0.5);
  EXPECT_EQ(t.split_part, 0.25);
  // A stricter match: 0 (90% in new 0) survives only while the threshold is at most 0.9.
  EXPECT_EQ(monic_transitions(counts, 5, 6, 0.95, 0.25).kind[0], "disappeared");
  // An old segment with no customer left in the data disappeared.
  EXPECT_EQ(monic_transitions({0, 0}, 1, 2).kind[0], "disappeared");
  EXPECT_THROW(monic_transitions(counts, 5, 5), UsageError);
  EXPECT_THROW(monic_transitions(counts, 5, 6, 0.5, 0.6), UsageError);
}

}  // namespace
}  // namespace segstream::host
