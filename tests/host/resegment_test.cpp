// The pieces of dynamic re-segmentation: the optimal assignment against brute force, stable segment ids,
// MONIC's transitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/host/resegment.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/segments.hpp"
#include "test_util.hpp"

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
        for (double& c : cost)
          c = trial == 0 ? static_cast<double>(static_cast<int>(rng.uniform() * 3)) : rng.uniform() * 10;
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
    moved[static_cast<std::size_t>(2 * (round % 3))] +=
        50.0F * static_cast<float>(round);  // one group jumps far
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

// A segments file of the given customers and segment indices (k segments).
// With `order`, the file states it as its customer_order (as one assigned from `features`' files does).
void write_segments(const std::filesystem::path& path, const std::vector<std::uint64_t>& ids,
                    const std::vector<std::int32_t>& segment, std::int64_t k, const std::string& order = "") {
  io::SegmentsWriter w(path, path.filename().string());
  const std::vector<float> d2(ids.size(), 1.0f), margin(ids.size(), 0.5f);
  w.append(ids.size(), ids.data(), segment.data(), d2.data(), margin.data());
  w.close({"m.h5", "f.h5", k, 1, {}, {}, "", std::nullopt, order}, {"segstream.segments", "assign", {}, {}});
}

// Customers in ascending mix64(id) order, as `features` writes them.
void sort_by_key(std::vector<std::uint64_t>& ids) {
  std::sort(ids.begin(), ids.end(), [](std::uint64_t a, std::uint64_t b) { return mix64(a) < mix64(b); });
}

// Previous customers 0..149,999 (more than two blocks of the file); the window drops every fifth, keeps the
// rest and adds 30,000 new ones. Every way of joining gives the reference's answers: the merge when both
// are in key order, the sorted lookup when the previous file is shuffled or the window is not said to be
// sorted, with the window handed over in uneven pieces.
TEST(Resegment, PreviousSegmentsJoinByCustomerId) {
  test::TempDir dir;
  const std::vector<std::int32_t> stable = {10, 11, 14, 20};
  std::vector<std::uint64_t> prev_ids(150000);
  std::iota(prev_ids.begin(), prev_ids.end(), std::uint64_t{0});
  std::vector<std::uint64_t> window_ids;
  for (std::uint64_t id : prev_ids)
    if (id % 5 != 0) window_ids.push_back(id);
  for (std::uint64_t id = 1000000; id < 1030000; ++id) window_ids.push_back(id);
  sort_by_key(window_ids);
  auto segment_of = [](std::uint64_t id) { return static_cast<std::int32_t>(mix64(id * 7 + 1) % 4); };
  for (const bool shuffled : {false, true}) {
    std::vector<std::uint64_t> ids = prev_ids;
    if (shuffled) {
      RandomStream rng(3, RandomPurpose::kMixtureRow, 1);
      for (std::size_t i = ids.size() - 1; i > 0; --i)
        std::swap(ids[i], ids[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i + 1))]);
    } else {
      sort_by_key(ids);
    }
    std::vector<std::int32_t> seg;
    std::map<std::uint64_t, std::int32_t> want;
    for (std::uint64_t id : ids) {
      seg.push_back(segment_of(id));
      want[id] = stable[static_cast<std::size_t>(seg.back())];
    }
    const auto path = dir / (shuffled ? "shuffled.h5" : "sorted.h5");
    write_segments(path, ids, seg, 4);
    for (const bool window_sorted : {true, false}) {
      SCOPED_TRACE(std::string(shuffled ? "shuffled" : "sorted") + (window_sorted ? ", window sorted" : ""));
      PreviousSegments prev(path, stable, window_sorted);
      EXPECT_EQ(prev.merged(), window_sorted && !shuffled);
      EXPECT_EQ(prev.previous_rows(), prev_ids.size());
      std::vector<std::int32_t> got(window_ids.size());
      for (std::uint64_t at = 0, piece = 1; at < window_ids.size(); at += piece, piece = piece * 3 + 7) {
        const std::uint64_t n = std::min<std::uint64_t>(piece, window_ids.size() - at);
        prev.lookup(at, n, window_ids.data() + at, got.data() + at);
      }
      for (std::size_t i = 0; i < window_ids.size(); ++i) {
        const auto it = want.find(window_ids[i]);
        ASSERT_EQ(got[i], it == want.end() ? -1 : it->second) << "customer " << window_ids[i];
      }
      std::vector<std::uint64_t> gone;
      prev.gone([&](std::uint64_t id, std::int32_t s) {
        EXPECT_EQ(s, want.at(id));
        gone.push_back(id);
      });
      std::sort(gone.begin(), gone.end());
      ASSERT_EQ(gone.size(), 30000u);
      for (std::size_t i = 0; i < gone.size(); ++i) ASSERT_EQ(gone[i], 5 * i);
    }
  }
}

TEST(Resegment, PreviousSegmentsRefuseWhatCannotBeJoined) {
  test::TempDir dir;
  std::vector<std::uint64_t> ids = {1, 2, 3, 4};
  sort_by_key(ids);
  write_segments(dir / "p.h5", ids, {0, 1, 0, 1}, 2);
  // Segment ids for a model of another k: the file is of another model.
  EXPECT_THROW(PreviousSegments(dir / "p.h5", {0, 1, 2}, true), InputError);
  // A window said to be sorted that is not.
  {
    PreviousSegments prev(dir / "p.h5", {0, 1}, true);
    ASSERT_TRUE(prev.merged());
    std::vector<std::uint64_t> window = {ids[2], ids[1]};
    std::vector<std::int32_t> out(2);
    EXPECT_THROW(prev.lookup(0, 2, window.data(), out.data()), InputError);
  }
  // A customer of the previous file twice in an unsorted window.
  {
    PreviousSegments prev(dir / "p.h5", {0, 1}, false);
    std::vector<std::uint64_t> window = {ids[0], ids[0]};
    std::vector<std::int32_t> out(2);
    EXPECT_THROW(prev.lookup(0, 2, window.data(), out.data()), InputError);
  }
  // A previous file with a customer twice.
  write_segments(dir / "dup.h5", {7, 8, 7}, {0, 0, 1}, 2);
  EXPECT_THROW(PreviousSegments(dir / "dup.h5", {0, 1}, false), InputError);
  EXPECT_THROW(PreviousSegments(dir / "dup.h5", {0, 1}, true), InputError);
  // A sorted lookup beyond its memory budget: 4 customers need about 84 bytes.
  write_segments(dir / "unsorted.h5", {ids[1], ids[0], ids[2], ids[3]}, {0, 1, 0, 1}, 2);
  EXPECT_THROW(PreviousSegments(dir / "unsorted.h5", {0, 1}, true, 64), ResourceError);
  EXPECT_NO_THROW(PreviousSegments(dir / "unsorted.h5", {0, 1}, true, 1024));
  EXPECT_NO_THROW(PreviousSegments(dir / "p.h5", {0, 1}, true, 64)) << "the merge needs no such memory";
  // A file that states the mix64 order is merged at its word, and refused where its rows break it.
  write_segments(dir / "stated.h5", ids, {0, 1, 0, 1}, 2, std::string(io::kMix64Order));
  {
    PreviousSegments prev(dir / "stated.h5", {0, 1}, true);
    ASSERT_TRUE(prev.merged());
    std::vector<std::int32_t> out(4);
    prev.lookup(0, 4, ids.data(), out.data());
    EXPECT_EQ(out, (std::vector<std::int32_t>{0, 1, 0, 1}));
  }
  write_segments(dir / "false.h5", {ids[1], ids[0], ids[2], ids[3]}, {0, 1, 0, 1}, 2,
                 std::string(io::kMix64Order));
  {
    PreviousSegments prev(dir / "false.h5", {0, 1}, true);
    std::vector<std::int32_t> out(4);
    try {
      prev.lookup(0, 4, ids.data(), out.data());
      FAIL() << "a file whose rows break the order it states was merged";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("breaks the ascending mix64(id) order"), std::string::npos)
          << e.what();
    }
  }
  // Not a segments file at all.
  EXPECT_THROW(PreviousSegments(dir / "missing.h5", {0, 1}, true), std::exception);
}

}  // namespace
}  // namespace segstream::host
