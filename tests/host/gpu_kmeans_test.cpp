// k-means on the CUDA backend against the CPU backend (label `gpu`; skipped cleanly without a device): whole
// fits and assignments, resident on the device and streamed through it, give the CPU's models and segments
// files bit for bit, and a fit stopped at any step resumes on the device to the same model. (The kernels and
// the pipeline block by block are tests/kernels' backend conformance.)
#include <gtest/gtest.h>

#include <vector>

#include "segstream/host/generate.hpp"
#include "segstream/host/kmeans.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/hdf5.hpp"
#include "test_util.hpp"

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/cuda.hpp"

namespace segstream::kernels {
namespace {

std::vector<float> values(std::uint64_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  for (std::uint64_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(RandomStream(seed, RandomPurpose::kMixtureRow, i).normal() * 3.0);
  return v;
}

// Whole fits on the device equal the CPU's, bit for bit: mini-batch steps, Lloyd refinement with an empty
// cluster relocated, full Lloyd, weights, batches larger than a pass block, rows resident or streamed
// through the device ring.
TEST(CudaKMeans, FitsEqualTheCpuBackend) {
  std::string why;
  if (cuda::device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  const int d = 8;  // the register-row kernel
  const std::uint64_t rows = 150001;
  std::vector<float> x = values(rows * d, 7);
  for (std::uint64_t i = 0; i < rows; ++i) x[i * d] += static_cast<float>(i % 6) * 8.0f;  // six groups
  std::vector<float> weights = values(rows, 8);
  for (float& w : weights) w = std::abs(w);
  struct Case {
    const char* name;
    int k;
    std::uint64_t batch;
    int refine;
    bool lloyd, weighted;
    std::uint64_t gpu_memory;  // 0: the default (resident); small: streamed through the ring
  };
  const std::uint64_t small = std::uint64_t{8} << 20;  // the ring fits (5.8 MiB), every row does not (11)
  for (const Case& c : {Case{"mini-batch", 6, 1024, 0, false, false, 0},
                        Case{"mini-batch, weighted, refined", 9, 1024, 3, false, true, 0},
                        Case{"mini-batch, streamed", 6, 4096, 2, false, true, small},
                        Case{"batch larger than a block", 6, 100000, 1, false, false, 0},
                        Case{"Lloyd", 12, 1024, 0, true, true, 0},
                        Case{"Lloyd, streamed", 12, 1024, 0, true, false, small}}) {
    host::KMeansConfig cfg;
    cfg.k = c.k;
    cfg.seed = 11;
    cfg.batch_size = c.batch;
    cfg.refine = c.refine;
    cfg.lloyd = c.lloyd;
    cfg.max_epochs = c.lloyd ? 8 : 3;
    cfg.threads = 2;
    const float* w = c.weighted ? weights.data() : nullptr;
    const host::KMeansModel cpu_model = host::fit_kmeans(x.data(), rows, d, w, cfg);
    const auto gpu = cuda::make_backend(0, 2, c.gpu_memory);
    const host::KMeansModel gpu_model = host::fit_kmeans(host::MemoryRows(x.data(), rows, d, w), cfg, *gpu);
    EXPECT_EQ(gpu_model.centres, cpu_model.centres) << c.name;
    EXPECT_EQ(gpu_model.inertia, cpu_model.inertia) << c.name;
    EXPECT_EQ(gpu_model.inertia_history, cpu_model.inertia_history) << c.name;
    EXPECT_EQ(gpu_model.steps, cpu_model.steps) << c.name;
    EXPECT_EQ(gpu_model.lloyd_passes, cpu_model.lloyd_passes) << c.name;
    EXPECT_EQ(gpu_model.counts, cpu_model.counts) << c.name;
    EXPECT_EQ(gpu_model.cluster_weight, cpu_model.cluster_weight) << c.name;
  }
  // A budget too small for the pipeline itself is a resource error before anything runs.
  host::KMeansConfig cfg;
  cfg.k = 6;
  const auto tiny = cuda::make_backend(0, 2, 1024);
  EXPECT_THROW(host::fit_kmeans(host::MemoryRows(x.data(), rows, d, nullptr), cfg, *tiny), ResourceError);
}

// A fit on the device stopped after any step and resumed in a fresh trainer on the device ends with the
// CPU's uninterrupted model bit for bit; a state saved on the device continues on the CPU alike.
TEST(CudaKMeans, ResumedFitsEqualTheCpuBackend) {
  std::string why;
  if (cuda::device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  const int d = 8;
  const std::uint64_t rows = 70001;
  std::vector<float> x = values(rows * d, 9);
  for (std::uint64_t i = 0; i < rows; ++i) x[i * d] += static_cast<float>(i % 5) * 8.0f;
  const host::MemoryRows source(x.data(), rows, d, nullptr);
  host::KMeansConfig cfg;
  cfg.k = 5;
  cfg.seed = 3;
  cfg.batch_size = 2048;
  cfg.refine = 2;
  cfg.n_init = 2;
  const auto cpu_backend = cpu::make_backend(2);
  const auto gpu = cuda::make_backend(0, 2, 0);
  const host::KMeansModel want = host::fit_kmeans(source, cfg, *cpu_backend);
  int steps = 0;
  {
    host::KMeansTrainer whole(source, cfg, *gpu);
    for (; !whole.done(); ++steps) whole.step();
    EXPECT_EQ(whole.model().centres, want.centres);
  }
  for (int stop : {1, steps / 3, steps / 2, steps - 1}) {
    host::KMeansTrainer first(source, cfg, *gpu);
    for (int s = 0; s < stop; ++s) first.step();
    const auto bytes = host::serialize_trainer_state(first.state());
    for (Backend* next : {static_cast<Backend*>(gpu.get()), static_cast<Backend*>(cpu_backend.get())}) {
      host::KMeansTrainer second(source, cfg, *next, host::deserialize_trainer_state(bytes));
      while (!second.done()) second.step();
      const host::KMeansModel got = second.model();
      EXPECT_EQ(got.centres, want.centres) << "stopped after step " << stop;
      EXPECT_EQ(got.inertia, want.inertia) << "stopped after step " << stop;
      EXPECT_EQ(got.inertia_history, want.inertia_history) << "stopped after step " << stop;
      EXPECT_EQ(got.counts, want.counts) << "stopped after step " << stop;
    }
  }
}

// fit and assign through files with --device cuda write what the CPU writes.
TEST(CudaKMeans, FitAndAssignFilesEqualTheCpuBackend) {
  std::string why;
  if (cuda::device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  test::TempDir dir;
  host::MixtureGeneratorConfig g;
  g.rows = 200003;
  g.dims = 6;
  g.clusters = 7;
  g.seed = 4;
  host::generate_mixture(g, dir / "f.h5", false);
  host::FitConfig c;
  c.kmeans.k = 7;
  c.kmeans.seed = 2;
  c.kmeans.refine = 2;
  const host::FitReport cpu_fit = host::fit_model(dir / "f.h5", dir / "cpu-model.h5", false, c);
  const auto gpu = cuda::make_backend(0, 2, 0);
  const host::FitReport gpu_fit = host::fit_model(dir / "f.h5", dir / "gpu-model.h5", false, c, *gpu);
  EXPECT_EQ(gpu_fit.model.centres, cpu_fit.model.centres);
  EXPECT_EQ(gpu_fit.model.inertia, cpu_fit.model.inertia);
  const host::AssignReport a1 =
      host::assign_segments(dir / "cpu-model.h5", dir / "f.h5", dir / "s1.h5", false);
  const host::AssignReport a2 =
      host::assign_segments(dir / "cpu-model.h5", dir / "f.h5", dir / "s2.h5", false, *gpu);
  EXPECT_EQ(a1.inertia, a2.inertia);
  EXPECT_EQ(a1.profiles.customers, a2.profiles.customers);
  const io::File s1 = io::File::open(dir / "s1.h5"), s2 = io::File::open(dir / "s2.h5");
  EXPECT_EQ(s1.dataset("/segment").read_all<std::int32_t>(), s2.dataset("/segment").read_all<std::int32_t>());
  EXPECT_EQ(s1.dataset("/distance2").read_all<float>(), s2.dataset("/distance2").read_all<float>());
  EXPECT_EQ(s1.dataset("/margin").read_all<float>(), s2.dataset("/margin").read_all<float>());
  EXPECT_EQ(s1.dataset("/customer_id").read_all<std::uint64_t>(),
            s2.dataset("/customer_id").read_all<std::uint64_t>());
}

}  // namespace
}  // namespace segstream::kernels
