// Conformance of the CUDA k-means backend with the CPU backend (label `gpu`; skipped cleanly without a
// device): the kernels (labels, squared distances and margins bit for bit, the same inertia, exact cluster
// sums) on the awkward sizes (one row, a block and one, odd dimensions, k = 1, centres that do not fit
// shared memory, tied centres); the stream-model pipeline block by block; and whole fits and assignments,
// resident on the device and streamed through it, against the CPU's models and segments files.
#include <gtest/gtest.h>

#include <vector>

#include "segstream/host/generate.hpp"
#include "segstream/host/kmeans.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/hdf5.hpp"
#include "test_util.hpp"

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/kernels/cuda_device.hpp"
#include "segstream/kernels/kmeans_cpu.hpp"
#include "segstream/kernels/kmeans_cuda.hpp"

namespace segstream::kernels {
namespace {

std::vector<float> values(std::uint64_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  for (std::uint64_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(RandomStream(seed, RandomPurpose::kMixtureRow, i).normal() * 3.0);
  return v;
}

TEST(CudaKMeans, SameAsTheCpuBackend) {
  std::string why;
  if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  struct Case {
    std::uint64_t rows;
    int d, k;
  };
  for (const Case& c :
       {Case{1, 3, 1}, Case{4095, 1, 7}, Case{4097, 16, 64}, Case{65537, 33, 5}, Case{20000, 16, 800},
        Case{3001, 8, 64}, Case{2049, 32, 256}, Case{1000, 64, 8}, Case{257, 12, 3}, Case{999, 20, 9},
        Case{100, 4, 2}, Case{300, 24, 17}, Case{300, 48, 40}}) {
    const std::vector<float> x = values(c.rows * static_cast<std::uint64_t>(c.d), 1);
    std::vector<float> centres = values(static_cast<std::uint64_t>(c.k) * c.d, 2);
    if (c.k > 2) std::copy_n(centres.begin(), c.d, centres.begin() + c.d);  // centres 0 and 1 tie
    const std::vector<float> w = values(c.rows, 3);
    std::vector<float> weights(c.rows);
    for (std::uint64_t i = 0; i < c.rows; ++i) weights[i] = std::abs(w[i]);
    std::vector<std::int32_t> l1(c.rows), l2(c.rows);
    std::vector<float> d1(c.rows), d2(c.rows), m1(c.rows), m2(c.rows);
    const double i1 = cpu::assign(x.data(), c.rows, c.d, centres.data(), c.k, weights.data(), l1.data(),
                                  d1.data(), m1.data(), 2);
    const double i2 = cuda::assign(x.data(), c.rows, c.d, centres.data(), c.k, weights.data(), l2.data(),
                                   d2.data(), m2.data());
    EXPECT_EQ(l1, l2) << c.rows << " x " << c.d << ", k " << c.k;
    EXPECT_EQ(d1, d2);
    EXPECT_EQ(m1, m2);
    EXPECT_EQ(i1, i2);
    EXPECT_EQ(
        cpu::assign(x.data(), c.rows, c.d, centres.data(), c.k, nullptr, l1.data(), d1.data(), m1.data(), 2),
        cuda::assign(x.data(), c.rows, c.d, centres.data(), c.k, nullptr, l2.data(), d2.data(), m2.data()))
        << "unweighted";
    EXPECT_EQ(l1, l2);
    cpu::ClusterSums s1(c.k, c.d), s2(c.k, c.d);
    s1.accumulate(x.data(), c.rows, l1.data(), weights.data(), 2);
    {  // in two calls, each adding to the sums the other left
      const std::uint64_t half = c.rows / 2;
      std::vector<std::int32_t> lh(c.rows);
      std::vector<float> dh(c.rows);
      cuda::assign_accumulate(x.data(), half, c.d, centres.data(), c.k, weights.data(), lh.data(), dh.data(),
                              s2);
      cuda::assign_accumulate(x.data() + half * c.d, c.rows - half, c.d, centres.data(), c.k,
                              weights.data() + half, lh.data() + half, dh.data() + half, s2);
      EXPECT_EQ(lh, l1);
    }
    cpu::ClusterSums s3(c.k, c.d);  // in one call
    std::vector<std::int32_t> l3(c.rows);
    std::vector<float> d3(c.rows);
    EXPECT_EQ(cuda::assign_accumulate(x.data(), c.rows, c.d, centres.data(), c.k, weights.data(), l3.data(),
                                      d3.data(), s3),
              i1);
    EXPECT_EQ(l1, l3);
    for (int k = 0; k < c.k; ++k)
      for (const cpu::ClusterSums* s : {&s2, &s3}) {
        EXPECT_EQ(s1.count(k), s->count(k));
        EXPECT_EQ(s1.weight(k), s->weight(k));
        for (int j = 0; j < c.d; ++j) EXPECT_EQ(s1.sum(k, j), s->sum(k, j));
      }
  }
}

void pipeline_case(int d, int k);

// The pipeline, block by block with blocks of several sizes in flight, equals cpu::assign and
// ClusterSums; rows kept resident give the same results again without being copied.
TEST(CudaKMeans, PipelineBlocksEqualTheCpuBackend) {
  std::string why;
  if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  struct Shape {
    int d, k;  // 8: the register-row kernel; 7: the generic one; k = 800, d = 16: centres and sums too
  };           // large for shared memory
  for (const Shape& shape : {Shape{8, 13}, Shape{7, 13}, Shape{16, 800}}) pipeline_case(shape.d, shape.k);
}

void pipeline_case(int d, int k) {
  const std::uint64_t block = 1000, rows = 4321;
  const std::vector<float> x = values(rows * d, 4);
  const std::vector<float> centres = values(static_cast<std::uint64_t>(k) * d, 5);
  std::vector<float> weights = values(rows, 6);
  for (float& w : weights) w = std::abs(w);
  cuda::Pipeline pl(d, k, block, rows);
  cpu::ClusterSums want(k, d);
  std::vector<std::int32_t> labels(rows);
  std::vector<float> dist(rows), margin(rows);
  double want_inertia = 0;
  for (std::uint64_t start = 0; start < rows; start += block) {
    const std::uint64_t n = std::min(block, rows - start);
    want_inertia += cpu::assign(x.data() + start * d, n, d, centres.data(), k, weights.data() + start,
                                labels.data() + start, dist.data() + start, margin.data() + start, 1);
  }
  want.accumulate(x.data(), rows, labels.data(), weights.data(), 1);
  for (const bool resident : {false, true}) {
    for (const bool again : {false, true}) {  // again: from the resident rows
      if (again && !resident) continue;
      double inertia = 0;
      cpu::ClusterSums got(k, d);
      std::vector<std::pair<cuda::Pipeline::Slot*, std::uint64_t>> pending;
      auto finish = [&] {
        auto [slot, start] = pending.front();
        pending.erase(pending.begin());
        inertia += pl.wait(*slot);
        const std::uint64_t n = std::min(block, rows - start);
        for (std::uint64_t i = 0; i < n; ++i) {
          ASSERT_EQ(slot->labels[i], labels[start + i]) << "d " << d << ", k " << k << ", row " << start + i;
          ASSERT_EQ(slot->distance2[i], dist[start + i]);
          ASSERT_EQ(slot->margin[i], margin[start + i]);
        }
        if (start + n == rows) pl.add_taken_sums(*slot, got);
      };
      for (std::uint64_t start = 0; start < rows; start += block) {
        const std::uint64_t n = std::min(block, rows - start);
        if (pending.size() >= 2) finish();
        cuda::Pipeline::Slot& slot = pl.acquire();
        const cuda::Pipeline::Work work{true, true, true, start + n == rows};
        if (again) {
          pl.compute_resident(slot, start, n, centres.data(), work);
        } else {
          std::copy_n(x.data() + start * d, n * d, slot.x);
          std::copy_n(weights.data() + start, n, slot.w);
          pl.upload(slot, n, true, resident ? static_cast<std::int64_t>(start) : -1);
          pl.compute(slot, centres.data(), work);
        }
        pending.emplace_back(&slot, start);
      }
      while (!pending.empty()) finish();
      EXPECT_EQ(inertia, want_inertia) << "d " << d << ", k " << k;
      for (int c = 0; c < k; ++c) {
        EXPECT_EQ(got.count(c), want.count(c));
        EXPECT_EQ(got.weight(c), want.weight(c));
        for (int j = 0; j < d; ++j) EXPECT_EQ(got.sum(c, j), want.sum(c, j));
      }
    }
  }
}

// Whole fits on the device equal the CPU's, bit for bit: mini-batch steps, Lloyd refinement with an empty
// cluster relocated, full Lloyd, weights, batches larger than a pass block, rows resident or streamed
// through the device ring.
TEST(CudaKMeans, FitsEqualTheCpuBackend) {
  std::string why;
  if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
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
    cfg.cuda = true;
    cfg.gpu_memory = c.gpu_memory;
    const host::KMeansModel gpu_model = host::fit_kmeans(x.data(), rows, d, w, cfg);
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
  cfg.cuda = true;
  cfg.gpu_memory = 1024;
  EXPECT_THROW(host::fit_kmeans(x.data(), rows, d, nullptr, cfg), ResourceError);
}

// fit and assign through files with --device cuda write what the CPU writes.
TEST(CudaKMeans, FitAndAssignFilesEqualTheCpuBackend) {
  std::string why;
  if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
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
  c.kmeans.cuda = true;
  const host::FitReport gpu_fit = host::fit_model(dir / "f.h5", dir / "gpu-model.h5", false, c);
  EXPECT_EQ(gpu_fit.model.centres, cpu_fit.model.centres);
  EXPECT_EQ(gpu_fit.model.inertia, cpu_fit.model.inertia);
  const host::AssignReport a1 =
      host::assign_segments(dir / "cpu-model.h5", dir / "f.h5", dir / "s1.h5", false);
  const host::AssignReport a2 =
      host::assign_segments(dir / "cpu-model.h5", dir / "f.h5", dir / "s2.h5", false, 0, true);
  EXPECT_EQ(a1.inertia, a2.inertia);
  EXPECT_EQ(a1.counts, a2.counts);
  const io::File s1 = io::File::open(dir / "s1.h5"), s2 = io::File::open(dir / "s2.h5");
  EXPECT_EQ(s1.dataset("/segment").read_all<std::int32_t>(), s2.dataset("/segment").read_all<std::int32_t>());
  EXPECT_EQ(s1.dataset("/distance2").read_all<float>(), s2.dataset("/distance2").read_all<float>());
  EXPECT_EQ(s1.dataset("/margin").read_all<float>(), s2.dataset("/margin").read_all<float>());
  EXPECT_EQ(s1.dataset("/customer_id").read_all<std::uint64_t>(),
            s2.dataset("/customer_id").read_all<std::uint64_t>());
}

}  // namespace
}  // namespace segstream::kernels
