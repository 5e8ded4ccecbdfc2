// Conformance of the CUDA k-means kernels with the CPU backend (label `gpu`; skipped cleanly without a
// device): labels, squared distances and margins bit for bit, the same inertia, and exact cluster sums, on
// the awkward sizes (one row, a block and one, odd dimensions, k = 1, centres that do not fit shared
// memory, tied centres).
#include <gtest/gtest.h>

#include <vector>

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
       {Case{1, 3, 1}, Case{4095, 1, 7}, Case{4097, 16, 64}, Case{65537, 33, 5}, Case{20000, 16, 800}}) {
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
    cpu::ClusterSums s1(c.k, c.d), s2(c.k, c.d);
    s1.accumulate(x.data(), c.rows, l1.data(), weights.data(), 2);
    cuda::accumulate(x.data(), c.rows, c.d, l1.data(), weights.data(), s2);
    cpu::ClusterSums s3(c.k, c.d);  // both in one call, the rows copied once
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

}  // namespace
}  // namespace segstream::kernels
