// Conformance of the CUDA backend of the behavioural feature set with the CPU backend (label `gpu`; skipped
// cleanly without a device): the same events, every feature of every customer, in one pass and in several,
// with and without a carried state.
#include <gtest/gtest.h>

#include <cmath>

#include "event_fixture.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/kernels/cuda.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using test::TempDir;

// Counts, days and shares are the same bytes (same operations in the same order, no contracted
// multiply-adds); log2, sqrt and pow of the device's math library may differ in the last place.
void expect_conformant(const test::FeatureMatrix& cpu, const test::FeatureMatrix& gpu) {
  ASSERT_EQ(cpu.names, gpu.names);
  ASSERT_EQ(cpu.ids, gpu.ids);
  ASSERT_EQ(cpu.values.size(), gpu.values.size());
  std::size_t exact = 0, reported = 0;
  for (std::size_t i = 0; i < cpu.values.size(); ++i) {
    const float a = cpu.values[i], b = gpu.values[i];
    if (a == b) {
      ++exact;
      continue;
    }
    if (std::fabs(a - b) > 1e-6f * std::max(1.0f, std::fabs(a)) && reported++ < 10)
      ADD_FAILURE() << "customer " << cpu.ids[i / cpu.names.size()] << " " << cpu.names[i % cpu.names.size()]
                    << ": cpu " << a << " gpu " << b;
  }
  ::testing::Test::RecordProperty("exact_values", static_cast<int>(exact));
  EXPECT_EQ(reported, 0u);
  EXPECT_GT(static_cast<double>(exact), 0.99 * static_cast<double>(cpu.values.size()));
}

TEST(CudaBehaviour, SameFeaturesAsTheCpuBackend) {
  std::string why;
  if (kernels::cuda::device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  TempDir dir;
  EventGeneratorConfig g;
  g.customers = 30000;  // about 3 million events: the BG/NBD sample is a hash range
  g.seed = 5;
  g.order = EventOrder::kShuffled;
  g.shuffle_block = 100000;
  generate_events(g, dir / "ev.h5", false);

  FeatureConfig c;
  c.mode = FeatureMode::kBehavioural;
  compute_features(dir / "ev.h5", dir / "cpu.h5", false, c);
  const auto gpu = kernels::cuda::make_backend(0, 2, 0);
  const FeatureReport one = compute_features(dir / "ev.h5", dir / "gpu.h5", false, c, {}, *gpu);
  EXPECT_EQ(one.partitions, 1u);
  expect_conformant(test::read_matrix(dir / "cpu.h5"), test::read_matrix(dir / "gpu.h5"));

  const auto small =
      kernels::cuda::make_backend(0, 2, std::uint64_t{64} << 20);  // several passes on the device
  const FeatureReport many = compute_features(dir / "ev.h5", dir / "gpu-many.h5", false, c, {}, *small);
  EXPECT_GT(many.partitions, 2u);
  expect_conformant(test::read_matrix(dir / "cpu.h5"), test::read_matrix(dir / "gpu-many.h5"));

  // A state saved by the CPU and continued on the device.
  FeatureConfig step;
  step.mode = FeatureMode::kBehavioural;
  step.as_of = *parse_iso_time("2025-12-10T23:59:59");
  step.state_out = dir / "state.h5";
  compute_features(dir / "ev.h5", dir / "early.h5", false, step);
  step.state_out.clear();
  step.state_in = dir / "state.h5";
  step.as_of = *parse_iso_time("2025-12-31T23:59:59");
  compute_features(dir / "ev.h5", dir / "gpu-state.h5", false, step, {}, *gpu);
  expect_conformant(test::read_matrix(dir / "cpu.h5"), test::read_matrix(dir / "gpu-state.h5"));
}

}  // namespace
}  // namespace segstream::host
