// `update`: the previous model carried onto a new window — unchanged data changes nothing, a group that
// appears gets a new id and one that goes is retired, ids are never reused, bad input is refused.
#include <gtest/gtest.h>

#include <set>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/host/resegment.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/kernels/cpu.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using test::TempDir;

// A window of customers 1..n in 2 columns: customer i belongs to group centres[i % groups] (well apart),
// with unit noise drawn from `seed`.
void window(const std::filesystem::path& path, std::uint64_t n, const std::vector<std::pair<float, float>>& centres,
            std::uint64_t seed) {
  std::vector<float> rows;
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < n; ++i) {
    RandomStream r(seed, RandomPurpose::kMixtureRow, i);
    const auto& [x, y] = centres[i % centres.size()];
    rows.push_back(x + static_cast<float>(r.normal()));
    rows.push_back(y + static_cast<float>(r.normal()));
    ids.push_back(i + 1);
  }
  io::FeatureFileWriter w(path, {"a", "b"});
  w.append(rows.data(), ids.data(), n);
  w.close();
}

std::vector<std::int32_t> labels(const std::filesystem::path& segments) {
  const io::SegmentsReader r(segments);
  std::vector<std::int32_t> s(r.rows());
  r.read(0, r.rows(), nullptr, s.data(), nullptr, nullptr);
  return s;
}

const std::vector<std::pair<float, float>> kGroups = {{0, 0}, {20, 0}, {0, 20}, {20, 20}};

TEST(Update, UnchangedDataChangesNothing) {
  TempDir dir;
  window(dir / "w1.h5", 20000, kGroups, 1);
  FitConfig fc;
  fc.kmeans.k = 4;
  fc.kmeans.seed = 2;
  fit_model(dir / "w1.h5", dir / "m1.h5", false, fc);
  const auto backend = kernels::cpu::make_backend(2);
  UpdateConfig uc;
  const UpdateReport u = update_model(dir / "m1.h5", dir / "w1.h5", dir / "m2.h5", false, uc, *backend);
  EXPECT_FALSE(u.moved) << "inertia " << u.inertia_before << " -> " << u.inertia_trained;
  EXPECT_TRUE(u.ids.created.empty());
  EXPECT_TRUE(u.ids.retired.empty());
  const io::ModelFile m1 = io::read_model(dir / "m1.h5"), m2 = io::read_model(dir / "m2.h5");
  EXPECT_EQ(m2.centroids, m1.centroids);
  EXPECT_EQ(m2.segment_id, m1.segment_id);
  EXPECT_EQ(m2.profiles.name, m1.profiles.name);
  EXPECT_EQ(m2.next_segment_id, 4);
  EXPECT_TRUE(m2.retired_segment_id.empty());
  assign_segments(dir / "m1.h5", dir / "w1.h5", dir / "s1.h5", false, 2);
  assign_segments(dir / "m2.h5", dir / "w1.h5", dir / "s2.h5", false, 2);
  EXPECT_EQ(labels(dir / "s2.h5"), labels(dir / "s1.h5"));
  // The same for one thread.
  const auto one = kernels::cpu::make_backend(1);
  update_model(dir / "m1.h5", dir / "w1.h5", dir / "m2b.h5", false, uc, *one);
  EXPECT_EQ(io::read_model(dir / "m2b.h5").centroids, m2.centroids);
}

// Each window replaces one group by a new one away from every other, inside the range the previous model
// space spans (it clamps at 3 deviations): the new group's segment gets a new id, the gone group's id is
// retired, and across three updates no id comes back.
TEST(Update, GroupsThatComeAndGoGetNewIdsAndRetireOld) {
  TempDir dir;
  std::vector<std::pair<float, float>> groups = kGroups;
  window(dir / "w0.h5", 20000, groups, 1);
  FitConfig fc;
  fc.kmeans.k = 4;
  fc.kmeans.seed = 2;
  fit_model(dir / "w0.h5", dir / "m0.h5", false, fc);
  const auto backend = kernels::cpu::make_backend(2);
  std::set<std::int32_t> ever = {0, 1, 2, 3}, retired;
  for (int round = 1; round <= 3; ++round) {
    const std::pair<float, float> arrives[] = {{10, 10}, {-15, 10}, {10, 35}};
    groups[static_cast<std::size_t>(round)] = arrives[round - 1];
    const auto w = dir / ("w" + std::to_string(round) + ".h5");
    window(w, 20000, groups, static_cast<std::uint64_t>(round) + 1);
    UpdateConfig uc;
    uc.half_life = 1;
    const UpdateReport u =
        update_model(dir / ("m" + std::to_string(round - 1) + ".h5"), w,
                     dir / ("m" + std::to_string(round) + ".h5"), false, uc, *backend);
    SCOPED_TRACE("round " + std::to_string(round));
    EXPECT_TRUE(u.moved);
    ASSERT_EQ(u.ids.created.size(), 1u);
    ASSERT_EQ(u.ids.retired.size(), 1u);
    EXPECT_TRUE(ever.insert(u.ids.created[0]).second) << "id reused";
    EXPECT_TRUE(retired.insert(u.ids.retired[0]).second);
    const io::ModelFile m = io::read_model(dir / ("m" + std::to_string(round) + ".h5"));
    EXPECT_EQ(m.next_segment_id, 4 + round);
    EXPECT_EQ(m.retired_segment_id.size(), static_cast<std::size_t>(round));
    for (std::int32_t id : m.segment_id) EXPECT_EQ(retired.count(id), 0u);
    // The new id sits where the new group is.
    for (int c = 0; c < m.k; ++c)
      if (m.segment_id[static_cast<std::size_t>(c)] == u.ids.created[0])
        EXPECT_NEAR(m.centroids_raw[static_cast<std::size_t>(2 * c)], arrives[round - 1].first, 1.0F);
  }
}

TEST(Update, BadInputIsRefusedWithoutOutput) {
  TempDir dir;
  window(dir / "w.h5", 5000, kGroups, 1);
  FitConfig fc;
  fc.kmeans.k = 4;
  fit_model(dir / "w.h5", dir / "m.h5", false, fc);
  const auto backend = kernels::cpu::make_backend(2);
  UpdateConfig uc;
  for (const double h : {0.0, -1.0}) {
    uc.half_life = h;
    EXPECT_THROW(update_model(dir / "m.h5", dir / "w.h5", dir / "out.h5", false, uc, *backend), UsageError);
  }
  uc = UpdateConfig{};
  // Features without the model's columns.
  {
    std::vector<float> rows = {1, 2};
    std::vector<std::uint64_t> ids = {1};
    io::FeatureFileWriter w(dir / "other.h5", {"a", "c"});
    w.append(rows.data(), ids.data(), 1);
    w.close();
  }
  EXPECT_NE(test::input_error_of([&] { update_model(dir / "m.h5", dir / "other.h5", dir / "out.h5", false, uc, *backend); })
                .find("has no column 'b'"),
            std::string::npos);
  // Not a model.
  EXPECT_THROW(update_model(dir / "w.h5", dir / "w.h5", dir / "out.h5", false, uc, *backend), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.h5"));
}

}  // namespace
}  // namespace segstream::host
