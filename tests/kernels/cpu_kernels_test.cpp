// The CPU backend's batch kernels against kernels/kmeans.hpp's scalar formulas: the vectorised assign gives
// their bits, the cluster sums are exact whatever the order and split of the rows, and the fixed point
// rounds to nearest with ties to even.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "segstream/core/philox.hpp"
#include "segstream/kernels/cluster_sums.hpp"
#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/kmeans.hpp"
#include "test_util.hpp"

namespace segstream::kernels {
namespace {

TEST(KMeansSums, ExactWhateverTheOrder) {
  const test::Blobs b = test::blobs(10000, 3, 4, 16);
  std::vector<std::int32_t> labels(b.truth);
  ClusterSums all(4, 3);
  cpu::accumulate(all, b.x.data(), 10000, labels.data(), nullptr, 2);
  ClusterSums halves(4, 3), second(4, 3);
  cpu::accumulate(second, b.x.data() + 3 * 7001, 10000 - 7001, labels.data() + 7001, nullptr, 1);
  cpu::accumulate(halves, b.x.data(), 7001, labels.data(), nullptr, 1);
  halves.add(second);
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(all.count(c), halves.count(c));
    EXPECT_EQ(all.weight(c), halves.weight(c));
    for (int j = 0; j < 3; ++j) EXPECT_EQ(all.sum(c, j), halves.sum(c, j));
  }
}

// The 64-bit runs of accumulate give the plain 128-bit sum of every term, for terms small and large
// (values up to 10^7: fixed-point terms past 2^52 take the 128-bit path; exact halves of the unit) over
// more rows than one run, on the vector paths and off them.
TEST(KMeansSums, RunsEqualTheTermByTermSum) {
  const std::uint64_t rows = 40000;  // two threads of 20,000 rows, each more than one run
  const int d = 11, k = 4;
  std::vector<float> x(rows * d), w(rows);
  std::vector<std::int32_t> labels(rows);
  RandomStream rng(5, RandomPurpose::kMixtureRow, 0);
  for (std::uint64_t i = 0; i < rows; ++i) {
    for (int j = 0; j < d; ++j)
      x[i * d + static_cast<std::uint64_t>(j)] =
          static_cast<float>((rng.uniform() - 0.5) * ((j == 2 || j == 9) && i % 3 == 0 ? 2e7 : 8));
    w[i] = static_cast<float>(rng.uniform() * 3);
    labels[i] = static_cast<std::int32_t>(i % k);
    if (i % 7 == 0) {  // exact halves of the fixed-point unit, which round to even
      w[i] = 1;
      for (int j = 0; j < d; ++j)
        x[i * d + static_cast<std::uint64_t>(j)] =
            std::ldexp(static_cast<float>(2 * static_cast<int>(rng.uniform() * 1000) - 999), -33);
    }
  }
  ClusterSums got(k, d);
  cpu::accumulate(got, x.data(), rows, labels.data(), w.data(), 2);
  std::vector<ClusterSums::Wide> sums(k * d, 0), weights(k, 0);
  std::vector<std::uint64_t> counts(k, 0);
  for (std::uint64_t i = 0; i < rows; ++i) {
    const auto c = static_cast<std::size_t>(labels[i]);
    for (int j = 0; j < d; ++j)
      sums[c * d + static_cast<std::size_t>(j)] +=
          to_fixed(static_cast<double>(w[i]) * x[i * d + static_cast<std::uint64_t>(j)]);
    weights[c] += to_fixed(w[i]);
    ++counts[c];
  }
  ClusterSums want(k, d);
  want.add_raw(sums.data(), weights.data(), counts.data());
  for (int c = 0; c < k; ++c) {
    EXPECT_EQ(got.count(c), want.count(c));
    EXPECT_EQ(got.weight(c), want.weight(c));
    for (int j = 0; j < d; ++j) EXPECT_EQ(got.sum(c, j), want.sum(c, j)) << c << " " << j;
  }
}

// The blocked, vectorised assign gives the scalar formula's bits: labels (ties to the smallest index),
// distances and margins, for row counts that are not multiples of the vector width, centre counts that are
// not multiples of the group, and duplicated (tied) centres; with each vector kernel the processor runs.
TEST(KMeansKernels, AssignEqualsTheScalarFormula) {
  const std::vector<std::string> kernels = cpu::assign_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.back(), "baseline");
  for (const std::string& kernel : kernels) {
    SCOPED_TRACE("kernel " + kernel);
    cpu::use_assign_kernel(kernel);
    for (const int d : {1, 3, 16, 17}) {
      for (const int k : {1, 3, 4, 5, 64, 67}) {
        const std::uint64_t rows = 1000 + static_cast<std::uint64_t>(d + k);
        std::vector<float> x(rows * static_cast<std::uint64_t>(d)), centres(static_cast<std::size_t>(k * d));
        RandomStream rng(7, RandomPurpose::kMixtureRow, static_cast<std::uint64_t>(d * 1000 + k));
        for (float& v : x) v = static_cast<float>(rng.uniform() * 8 - 4);
        for (float& v : centres) v = static_cast<float>(rng.uniform() * 8 - 4);
        if (k > 2) std::copy_n(centres.begin(), d, centres.begin() + 2 * d);  // centre 2 ties centre 0
        std::copy_n(centres.begin(), d, x.begin() + 5 * d);                   // a row on a centre
        std::vector<std::int32_t> labels(rows);
        std::vector<float> dist(rows), margin(rows);
        cpu::assign(x.data(), rows, d, centres.data(), k, nullptr, labels.data(), dist.data(), margin.data(),
                    2);
        for (std::uint64_t i = 0; i < rows; ++i) {
          const Nearest n =
              nearest_centre(x.data() + i * static_cast<std::uint64_t>(d), centres.data(), k, d);
          ASSERT_EQ(labels[i], n.label) << "d=" << d << " k=" << k << " row " << i;
          ASSERT_EQ(dist[i], n.distance2) << "d=" << d << " k=" << k << " row " << i;
          if (k == 1)
            ASSERT_TRUE(std::isinf(margin[i]));
          else
            ASSERT_EQ(margin[i], n.second2 - n.distance2) << "d=" << d << " k=" << k << " row " << i;
        }
      }
    }
  }
  cpu::use_assign_kernel("");
  EXPECT_THROW(cpu::use_assign_kernel("sse9"), std::exception);
}

// to_fixed rounds to nearest with ties to even (as rint does under the default rounding mode), and
// saturates out of range.
TEST(KMeansSums, FixedPointRoundsToNearestEven) {
  const double ulp = 1.0 / kFixedScale;
  std::vector<double> values = {0,         0.5 * ulp,     -0.5 * ulp,    1.5 * ulp,      -1.5 * ulp,
                                2.5 * ulp, -2.5 * ulp,    0.49999 * ulp, -0.49999 * ulp, 1e9,
                                -1e9,      2147483647.75, -2147483647.75};
  RandomStream rng(3, RandomPurpose::kMixtureRow, 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform() * 2 - 1;
    values.push_back(u * std::ldexp(1.0, static_cast<int>(rng.uniform() * 60) - 40));
    values.push_back(std::floor(u * 1e6) * 0.5 * ulp);  // exact halves
  }
  for (const double v : values)
    ASSERT_EQ(to_fixed(v), static_cast<std::int64_t>(std::nearbyint(v * kFixedScale))) << v;
  EXPECT_EQ(to_fixed(0.5 * ulp), 0);  // ties to even
  EXPECT_EQ(to_fixed(1.5 * ulp), 2);
  EXPECT_EQ(to_fixed(2.5 * ulp), 2);
  EXPECT_EQ(to_fixed(-2.5 * ulp), -2);
  // Beyond the range, both signs saturate at the same bound on every backend.
  EXPECT_EQ(to_fixed(1e10), std::int64_t{9223372036854774784});
  EXPECT_EQ(to_fixed(-1e300), -std::int64_t{9223372036854774784});
}

}  // namespace
}  // namespace segstream::kernels
