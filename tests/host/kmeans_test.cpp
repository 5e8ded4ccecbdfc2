// k-means on the CPU backend: the acceptance tests KMEANS.md ports from scikit-learn's test_k_means.py
// (weighted toy, empty clusters, one exact Lloyd iteration, stopping, weights, predict, determinism,
// mini-batch behaviour, recovery of separated blobs, errors), and the trainer's state: stopped at any step,
// serialised and resumed in a fresh trainer, it gives the uninterrupted model bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/host/kmeans.hpp"
#include "segstream/kernels/cpu.hpp"
#include "segstream/kernels/kmeans.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

const std::vector<float> kToy = {0, 0, 0.5f, 0, 0.5f, 1, 1, 1};
const std::vector<float> kToyWeights = {3, 1, 1, 3};

std::vector<std::int32_t> labels_of(const KMeansModel& m, const std::vector<float>& x) {
  const std::uint64_t rows = x.size() / static_cast<std::size_t>(m.d);
  std::vector<std::int32_t> labels(rows);
  std::vector<float> dist(rows);
  assign_kmeans(m, x.data(), rows, nullptr, labels.data(), dist.data(), nullptr, 1);
  return labels;
}

KMeansConfig given(int k, std::vector<float> centres, bool lloyd = true) {
  KMeansConfig c;
  c.k = k;
  c.init = KMeansInit::kGiven;
  c.init_centres = std::move(centres);
  c.lloyd = lloyd;
  return c;
}

using test::Blobs;
using test::blobs;

TEST(KMeansSklearn, WeightedToyExample) {
  const KMeansModel m = fit_kmeans(kToy.data(), 4, 2, kToyWeights.data(), given(2, {0, 0, 1, 1}));
  EXPECT_EQ(labels_of(m, kToy), (std::vector<std::int32_t>{0, 0, 1, 1}));
  EXPECT_FLOAT_EQ(static_cast<float>(m.inertia), 0.375f);
  EXPECT_EQ(m.centres, (std::vector<float>{0.125f, 0, 0.875f, 1}));
}

TEST(KMeansSklearn, EmptyClustersAreRelocated) {
  const KMeansModel m = fit_kmeans(kToy.data(), 4, 2, kToyWeights.data(), given(2, {0.5f, 0.5f, 3, 3}));
  for (std::uint64_t n : m.counts) EXPECT_GT(n, 0u);
  const std::vector<float> x = {-1, 1}, w = {1.9f, 0.1f};
  KMeansConfig c = given(2, {-1, 10});
  c.max_epochs = 1;
  const KMeansModel one = fit_kmeans(x.data(), 2, 1, w.data(), c);
  EXPECT_EQ(one.centres, (std::vector<float>{-1, 1}));
}

TEST(KMeansSklearn, OneLloydIterationEqualsANaiveReference) {
  std::vector<float> x;
  for (int i = 0; i < 500; ++i)
    x.push_back(static_cast<float>(RandomStream(9, RandomPurpose::kMixtureRow, i).uniform()));
  const std::vector<float> init(x.begin(), x.begin() + 25);
  KMeansConfig c = given(5, init);
  c.max_epochs = 1;
  const KMeansModel m = fit_kmeans(x.data(), 100, 5, nullptr, c);
  // E step, M step by hand
  std::vector<double> sum(25, 0.0), count(5, 0.0);
  for (int i = 0; i < 100; ++i) {
    int best = 0;
    float best_d = INFINITY;
    for (int c2 = 0; c2 < 5; ++c2) {
      float s = 0;
      for (int j = 0; j < 5; ++j) s += (x[i * 5 + j] - init[c2 * 5 + j]) * (x[i * 5 + j] - init[c2 * 5 + j]);
      if (s < best_d) best_d = s, best = c2;
    }
    count[best] += 1;
    for (int j = 0; j < 5; ++j) sum[best * 5 + j] += x[i * 5 + j];
  }
  for (int c2 = 0; c2 < 5; ++c2)
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(m.centres[c2 * 5 + j], sum[c2 * 5 + j] / count[c2], 1e-6);
  EXPECT_EQ(m.lloyd_passes, 1);
}

TEST(KMeansSklearn, LloydStopsWhenConverged) {
  const Blobs b = blobs(300, 2, 3, 4);
  KMeansConfig c;
  c.k = 3;
  c.lloyd = true;
  c.max_epochs = 300;
  const KMeansModel m = fit_kmeans(b.x.data(), 300, 2, nullptr, c);
  EXPECT_LT(m.lloyd_passes, 300);
  EXPECT_EQ(m.stop_reason, "centres unchanged");
}

TEST(KMeansSklearn, FewerDistinctPointsThanClustersLeavesEmptyClusters) {
  std::vector<float> x;  // 4 distinct points, 100 rows
  for (int i = 0; i < 100; ++i) x.insert(x.end(), {static_cast<float>(i % 4), static_cast<float>(i % 4 * 3)});
  KMeansConfig c;
  c.k = 5;
  c.lloyd = true;
  const KMeansModel m = fit_kmeans(x.data(), 100, 2, nullptr, c);
  EXPECT_EQ(std::count(m.counts.begin(), m.counts.end(), std::uint64_t{0}), 1);  // `fit` warns about it
  EXPECT_EQ(m.inertia, 0.0);
}

TEST(KMeansSklearn, WeightsActLikeRepeatedRowsAndScaleFree) {
  const Blobs b = blobs(200, 3, 4, 6);
  std::vector<float> w(200), repeated;
  for (int i = 0; i < 200; ++i) {
    w[i] = static_cast<float>(1 + i % 3);
    for (int r = 0; r < 1 + i % 3; ++r)
      repeated.insert(repeated.end(), b.x.begin() + i * 3, b.x.begin() + i * 3 + 3);
  }
  const std::vector<float> init(b.x.begin(), b.x.begin() + 12);
  const KMeansModel weighted = fit_kmeans(b.x.data(), 200, 3, w.data(), given(4, init));
  const KMeansModel rows = fit_kmeans(repeated.data(), repeated.size() / 3, 3, nullptr, given(4, init));
  for (std::size_t i = 0; i < 12; ++i) EXPECT_NEAR(weighted.centres[i], rows.centres[i], 1e-5);
  EXPECT_NEAR(weighted.inertia, rows.inertia, 1e-6 * rows.inertia);
  const std::vector<float> ones(200, 1.0f);
  EXPECT_EQ(fit_kmeans(b.x.data(), 200, 3, ones.data(), given(4, init)).centres,
            fit_kmeans(b.x.data(), 200, 3, nullptr, given(4, init)).centres);
  std::vector<float> scaled(w);
  for (float& v : scaled) v *= 8;  // a power of two scales the sums exactly
  const KMeansModel s = fit_kmeans(b.x.data(), 200, 3, scaled.data(), given(4, init));
  for (std::size_t i = 0; i < 12; ++i) EXPECT_NEAR(s.centres[i], weighted.centres[i], 1e-6);
}

TEST(KMeansSklearn, PredictGivesTheFitLabelsAndCentresTheirIndex) {
  const Blobs b = blobs(600, 4, 5, 8);
  KMeansConfig c;
  c.k = 5;
  c.batch_size = 64;
  const KMeansModel m = fit_kmeans(b.x.data(), 600, 4, nullptr, c);
  const std::vector<std::int32_t> labels = labels_of(m, b.x);
  std::vector<std::uint64_t> counts(5, 0);
  for (auto l : labels) ++counts[static_cast<std::size_t>(l)];
  EXPECT_EQ(counts, m.counts);
  std::vector<std::int32_t> expected(5);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(labels_of(m, m.centres), expected);
}

TEST(KMeansSklearn, SameSeedSameModelForAnyThreadCount) {
  const Blobs b = blobs(5000, 8, 6, 10);
  KMeansConfig c;
  c.k = 6;
  c.seed = 77;
  c.batch_size = 256;
  c.refine = 3;
  c.threads = 1;
  const KMeansModel one = fit_kmeans(b.x.data(), 5000, 8, nullptr, c);
  c.threads = 2;
  const KMeansModel two = fit_kmeans(b.x.data(), 5000, 8, nullptr, c);
  EXPECT_EQ(one.centres, two.centres);
  EXPECT_EQ(one.inertia, two.inertia);
  EXPECT_EQ(one.inertia_history, two.inertia_history);
  c.seed = 78;
  EXPECT_NE(fit_kmeans(b.x.data(), 5000, 8, nullptr, c).inertia_history, one.inertia_history);
}

TEST(KMeansSklearn, MiniBatchBehaviour) {
  const Blobs b = blobs(3000, 2, 3, 12);
  KMeansConfig c;
  c.k = 3;
  c.batch_size = 100;
  c.max_no_improvement = 3;
  const KMeansModel m = fit_kmeans(b.x.data(), 3000, 2, nullptr, c);
  EXPECT_EQ(m.stop_reason, "no improvement in the smoothed batch inertia");
  EXPECT_GT(m.steps, 1u);
  EXPECT_LT(m.steps, 10u * 3000 / 100);  // fewer than ten epochs
  EXPECT_DOUBLE_EQ(test::adjusted_rand(labels_of(m, b.x), b.truth), 1.0);

  // One step over a batch of every row lowers that batch's inertia (from centres that are off).
  std::vector<float> off(m.centres);
  for (float& v : off) v += 0.7f;
  KMeansConfig step = given(3, off, false);
  step.batch_size = 3000;
  step.max_epochs = 1;
  step.reassignment_ratio = 0;
  KMeansModel before;
  before.k = 3;
  before.d = 2;
  before.centres = off;
  std::vector<std::int32_t> l0(3000);
  std::vector<float> d0(3000);
  const double inertia_before =
      assign_kmeans(before, b.x.data(), 3000, nullptr, l0.data(), d0.data(), nullptr, 1);
  const KMeansModel after = fit_kmeans(b.x.data(), 3000, 2, nullptr, step);
  EXPECT_EQ(after.steps, 1u);
  EXPECT_LT(after.inertia, inertia_before);

  // Perfect centres: a reassignment ratio of 1e-15 leaves them where they are, 1 moves some away.
  KMeansConfig g = given(3, m.centres, false);
  g.batch_size = 100;
  g.max_epochs = 1;
  g.reassignment_ratio = 1e-15;
  const KMeansModel still = fit_kmeans(b.x.data(), 3000, 2, nullptr, g);
  EXPECT_DOUBLE_EQ(test::adjusted_rand(labels_of(still, b.x), b.truth), 1.0);
  g.reassignment_ratio = 1;
  const KMeansModel moved = fit_kmeans(b.x.data(), 3000, 2, nullptr, g);
  EXPECT_GT(moved.inertia, still.inertia);

  // k = 100 with batches of 10 runs and keeps every centre finite.
  KMeansConfig many;
  many.k = 100;
  many.batch_size = 10;
  many.max_epochs = 2;
  const KMeansModel big = fit_kmeans(b.x.data(), 3000, 2, nullptr, many);
  for (float v : big.centres) EXPECT_TRUE(std::isfinite(v));
}

TEST(KMeansSklearn, EveryInitRecoversSeparatedBlobs) {
  // Three blobs for every initialisation, as scikit-learn's tests use; eight for k-means++.
  for (int k : {3, 8}) {
    const Blobs b = blobs(4000, 4, k, 14);
    for (KMeansInit init : {KMeansInit::kKMeansPlusPlus, KMeansInit::kKMeansParallel, KMeansInit::kRandom}) {
      if (k == 8 && init == KMeansInit::kRandom) continue;
      for (bool full : {true, false}) {
        KMeansConfig c;
        c.k = k;
        c.init = init;
        c.lloyd = full;
        c.n_init = init == KMeansInit::kRandom ? 5 : 1;
        c.refine = full ? 0 : 5;
        const KMeansModel m = fit_kmeans(b.x.data(), 4000, 4, nullptr, c);
        EXPECT_DOUBLE_EQ(test::adjusted_rand(labels_of(m, b.x), b.truth), 1.0)
            << "k " << k << " init " << static_cast<int>(init) << (full ? " lloyd" : " mini-batch");
      }
    }
  }
}

TEST(KMeansSklearn, Errors) {
  KMeansConfig c;
  c.k = 5;
  EXPECT_THROW(fit_kmeans(kToy.data(), 4, 2, nullptr, c), UsageError);  // k > rows
  c.k = 0;
  EXPECT_THROW(fit_kmeans(kToy.data(), 4, 2, nullptr, c), UsageError);
  EXPECT_THROW(fit_kmeans(kToy.data(), 4, 2, nullptr, given(2, {0, 0, 1})), UsageError);
  std::vector<float> bad = kToy;
  bad[5] = NAN;
  try {
    c.k = 2;
    fit_kmeans(bad.data(), 4, 2, nullptr, c);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 2 column 1: nan is not a finite value"), std::string::npos)
        << e.what();
  }
  const std::vector<float> negative = {1, -1, 1, 1};
  EXPECT_THROW(fit_kmeans(kToy.data(), 4, 2, negative.data(), c), InputError);
  const std::vector<float> zero = {0, 0, 0, 0};
  EXPECT_THROW(fit_kmeans(kToy.data(), 4, 2, zero.data(), c), InputError);
}

// Rows held elsewhere: the trainer reads them through read() as it would from a file.
class ReadOnlyRows : public RowSource {
 public:
  explicit ReadOnlyRows(const MemoryRows& rows) : rows_(rows) {}
  std::uint64_t rows() const override { return rows_.rows(); }
  int d() const override { return rows_.d(); }
  void read(std::uint64_t start, std::uint64_t n, float* out) const override { rows_.read(start, n, out); }
  const float* weights() const override { return rows_.weights(); }

 private:
  const MemoryRows& rows_;
};

void expect_same_model(const KMeansModel& got, const KMeansModel& want, const std::string& what) {
  EXPECT_EQ(got.centres, want.centres) << what;
  EXPECT_EQ(got.absorbed, want.absorbed) << what;
  EXPECT_EQ(got.inertia, want.inertia) << what;
  EXPECT_EQ(got.inertia_history, want.inertia_history) << what;
  EXPECT_EQ(got.steps, want.steps) << what;
  EXPECT_EQ(got.lloyd_passes, want.lloyd_passes) << what;
  EXPECT_EQ(got.counts, want.counts) << what;
  EXPECT_EQ(got.cluster_weight, want.cluster_weight) << what;
  EXPECT_EQ(got.stop_reason, want.stop_reason) << what;
  EXPECT_EQ(got.restart, want.restart) << what;
  EXPECT_TRUE(got.breathing == want.breathing) << what;
}

// A fit stopped after any step, its state serialised and restored in a fresh trainer, ends with the model of
// the uninterrupted fit bit for bit: mini-batch steps with reassignment, early stopping on the inertia or
// the centre shift, Lloyd refinement, restarts, full Lloyd, k-means‖, weights, rows read rather than viewed.
TEST(KMeansTrainer, ResumedAfterAnyStepGivesTheUninterruptedModel) {
  const Blobs b = blobs(20000, 5, 6, 21);
  std::vector<float> w(20000);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(1 + i % 4);
  const MemoryRows memory(b.x.data(), 20000, 5, nullptr), weighted(b.x.data(), 20000, 5, w.data());
  const ReadOnlyRows streamed(weighted);
  struct Case {
    const char* name;
    const RowSource* rows;
    KMeansConfig config;
  };
  std::vector<Case> cases;
  KMeansConfig c;
  c.k = 6;
  c.seed = 5;
  c.batch_size = 512;
  c.refine = 2;
  c.n_init = 2;
  c.reassignment_ratio = 0.3;  // reassignments happen
  cases.push_back({"mini-batch, refined, two restarts", &memory, c});
  c.tol = 1e-3;
  c.n_init = 1;
  cases.push_back({"weighted, centre-shift tolerance, read rows", &streamed, c});
  KMeansConfig lloyd;
  lloyd.k = 6;
  lloyd.lloyd = true;
  lloyd.max_epochs = 5;
  cases.push_back({"Lloyd", &weighted, lloyd});
  KMeansConfig parallel;
  parallel.k = 6;
  parallel.init = KMeansInit::kKMeansParallel;
  parallel.batch_size = 2048;
  cases.push_back({"k-means||", &memory, parallel});
  KMeansConfig sampled;
  sampled.k = 6;
  sampled.seed = 8;
  sampled.breathe_rows = 3000;  // the non-local phase on a sample, confirmed by a full pass
  cases.push_back({"non-local phase on a sample, read rows", &streamed, sampled});
  const auto backend = kernels::cpu::make_backend(2);
  for (const Case& k : cases) {
    KMeansTrainer whole(*k.rows, k.config, *backend);
    int steps = 0, first_breath = -1;
    for (; !whole.done(); ++steps) {
      if (first_breath < 0 && whole.state().phase == TrainerState::Phase::kBreathe) first_breath = steps;
      whole.step();
    }
    const KMeansModel want = whole.model();
    expect_same_model(fit_kmeans(*k.rows, k.config), want, k.name);
    ASSERT_GE(steps, 4) << k.name;
    ASSERT_GE(first_breath, 0) << k.name;  // every case reaches the non-local phase
    RandomStream rng(3, RandomPurpose::kMixtureRow, static_cast<std::uint64_t>(steps));
    std::vector<int> stops{
        0, 1, 2, steps / 2, static_cast<int>(rng.below(static_cast<std::uint32_t>(steps))), steps - 1};
    if (first_breath >= 0) stops.insert(stops.end(), {first_breath, first_breath + 1, first_breath + 3});
    for (int stop : stops) {
      KMeansTrainer first(*k.rows, k.config, *backend);
      for (int s = 0; s < stop; ++s) first.step();
      const std::vector<std::uint8_t> bytes = serialize_trainer_state(first.state());
      const TrainerState restored = deserialize_trainer_state(bytes);
      ASSERT_TRUE(restored == first.state()) << k.name << ", after step " << stop;
      KMeansTrainer second(*k.rows, k.config, *backend, restored);
      while (!second.done()) second.step();
      expect_same_model(second.model(), want,
                        std::string(k.name) + ", resumed after step " + std::to_string(stop));
    }
  }
}

// Overlapping 2-D clusters of unequal sizes on a jittered 5 × 5 grid, the kind where mini-batch k-means and
// Lloyd stop with one centre straddling two clusters while two split a third.
Blobs overlapping_grid(std::uint64_t seed, std::vector<float>* centres) {
  Blobs b;
  for (int c = 0; c < 25; ++c) {
    RandomStream rc(seed, RandomPurpose::kMixtureModel, static_cast<std::uint64_t>(c));
    const double cx = c % 5 + 0.2 * rc.uniform(), cy = c / 5 + 0.2 * rc.uniform();
    const auto n = static_cast<std::uint64_t>(rc.uniform(80, 400));
    centres->insert(centres->end(), {static_cast<float>(cx), static_cast<float>(cy)});
    for (std::uint64_t i = 0; i < n; ++i) {
      RandomStream r(seed, RandomPurpose::kMixtureRow, (static_cast<std::uint64_t>(c) << 32) | i);
      b.x.push_back(static_cast<float>(cx + 0.13 * r.normal()));
      b.x.push_back(static_cast<float>(cy + 0.13 * r.normal()));
      b.truth.push_back(c);
    }
  }
  return b;
}

// Fränti's centroid index: true centres that no fitted centre is nearest to, and the reverse; the larger.
int centroid_index(const std::vector<float>& truth, const std::vector<float>& fitted, int d) {
  auto orphans = [d](const std::vector<float>& a, const std::vector<float>& b) {
    const std::size_t na = a.size() / static_cast<std::size_t>(d),
                      nb = b.size() / static_cast<std::size_t>(d);
    std::vector<char> hit(na, 0);
    for (std::size_t i = 0; i < nb; ++i) {
      std::size_t best = 0;
      double best_d = INFINITY;
      for (std::size_t j = 0; j < na; ++j) {
        double s = 0;
        for (int t = 0; t < d; ++t) {
          const double v =
              static_cast<double>(b[i * static_cast<std::size_t>(d) + static_cast<std::size_t>(t)]) -
              a[j * static_cast<std::size_t>(d) + static_cast<std::size_t>(t)];
          s += v * v;
        }
        if (s < best_d) {
          best_d = s;
          best = j;
        }
      }
      hit[best] = 1;
    }
    return static_cast<int>(std::count(hit.begin(), hit.end(), 0));
  };
  return std::max(orphans(truth, fitted), orphans(fitted, truth));
}

// The non-local phase finds every cluster of overlapping grids where the local phases alone do not, never
// ends above the centres it started from, and says what it did.
TEST(KMeansBreathing, FindsTheClustersTheLocalPhasesMiss) {
  int found_local = 0, found_breathing = 0, runs = 0;
  for (std::uint64_t data_seed : {1, 2, 3}) {
    std::vector<float> truth;
    const Blobs b = overlapping_grid(data_seed, &truth);
    const std::uint64_t n = b.truth.size();
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      KMeansConfig c;
      c.k = 25;
      c.seed = seed;
      c.n_init = 1;
      c.breathe = 0;
      const KMeansModel local = fit_kmeans(b.x.data(), n, 2, nullptr, c);
      c.breathe = 5;
      const KMeansModel breathed = fit_kmeans(b.x.data(), n, 2, nullptr, c);
      ++runs;
      found_local += centroid_index(truth, local.centres, 2) == 0 ? 1 : 0;
      found_breathing += centroid_index(truth, breathed.centres, 2) == 0 ? 1 : 0;
      EXPECT_LE(breathed.inertia, local.inertia) << "data " << data_seed << " seed " << seed;
      const KMeansModel::Breathing& log = breathed.breathing;
      EXPECT_EQ(log.depth, 5);
      EXPECT_EQ(log.rows, n);
      EXPECT_FALSE(log.sampled);
      EXPECT_GE(log.rounds, 5);
      EXPECT_EQ(log.rounds - log.kept, 5);  // every round that did not help made m one smaller
      EXPECT_LE(log.after, log.before);
      EXPECT_DOUBLE_EQ(log.after, breathed.inertia);  // its rows are all the rows
      EXPECT_EQ(local.breathing.depth, 0);
    }
  }
  EXPECT_EQ(found_breathing, runs);
  EXPECT_LT(found_local, runs * 2 / 3);
}

// On a sample (more rows than --breathe-rows) the phase gives the same model for any thread count and
// whether the rows are held or read, and its centres are used only when a full pass finds them better.
TEST(KMeansBreathing, OnASampleTheSameModelEverywhere) {
  std::vector<float> truth;
  const Blobs b = overlapping_grid(4, &truth);
  const std::uint64_t n = b.truth.size();
  const MemoryRows memory(b.x.data(), n, 2, nullptr);
  const ReadOnlyRows read(memory);
  KMeansConfig c;
  c.k = 25;
  c.seed = 3;
  c.n_init = 1;
  c.breathe_rows = 2500;
  c.threads = 1;
  const KMeansModel one = fit_kmeans(memory, c);
  c.threads = 2;
  expect_same_model(fit_kmeans(memory, c), one, "two threads");
  expect_same_model(fit_kmeans(read, c), one, "rows read");
  EXPECT_TRUE(one.breathing.sampled);
  EXPECT_EQ(one.breathing.rows, 2500u);
  c.breathe = 0;
  const KMeansModel local = fit_kmeans(memory, c);
  EXPECT_LE(one.inertia, local.inertia);
  if (one.breathing.reverted) {
    EXPECT_EQ(one.centres, local.centres);
  }
}

// --k auto: the jump method finds the number of clusters of separated blobs and of the overlapping grid,
// the same for any thread count, and refuses a range past the rows.
TEST(KMeansChooseK, FindsTheNumberOfClusters) {
  const auto one = kernels::cpu::make_backend(1), two = kernels::cpu::make_backend(2);
  const Blobs b = blobs(6000, 6, 7, 31);
  const MemoryRows rows(b.x.data(), 6000, 6, nullptr);
  KMeansConfig c;
  c.seed = 4;
  const KSelection sel = choose_k(rows, c, 2, 15, *one);
  EXPECT_EQ(sel.chosen, 7);
  ASSERT_EQ(sel.curve.size(), 14u);
  EXPECT_EQ(sel.curve.front().k, 2);
  EXPECT_EQ(sel.sample_rows, 6000u);
  EXPECT_GT(sel.effective_dims, 1.0);
  EXPECT_LE(sel.effective_dims, 6.0);
  for (std::size_t i = 1; i < sel.curve.size(); ++i)
    EXPECT_LE(sel.curve[i].inertia, sel.curve[i - 1].inertia * 1.0001) << sel.curve[i].k;
  const KSelection again = choose_k(rows, c, 2, 15, *two);
  EXPECT_EQ(again.chosen, sel.chosen);
  for (std::size_t i = 0; i < sel.curve.size(); ++i) EXPECT_EQ(again.curve[i].inertia, sel.curve[i].inertia);
  std::vector<float> truth;
  const Blobs g = overlapping_grid(5, &truth);
  const MemoryRows grid(g.x.data(), g.truth.size(), 2, nullptr);
  const int k = choose_k(grid, c, 2, 40, *one).chosen;
  EXPECT_GE(k, 22);
  EXPECT_LE(k, 28);
  EXPECT_THROW(choose_k(MemoryRows(b.x.data(), 10, 6, nullptr), c, 2, 20, *one), UsageError);
  EXPECT_THROW(choose_k(rows, c, 5, 3, *one), UsageError);
}

TEST(KMeansBreathing, UniformSamplesAreDistinctRowsInOrder) {
  const std::vector<std::uint64_t> s = sample_indices(1000000, 5000, 7, 1);
  ASSERT_EQ(s.size(), 5000u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::adjacent_find(s.begin(), s.end()), s.end());
  EXPECT_LT(s.back(), 1000000u);
  // Uniform: about a tenth in each tenth of the rows.
  for (std::uint64_t part = 0; part < 10; ++part) {
    const auto in = std::count_if(s.begin(), s.end(), [&](std::uint64_t r) { return r / 100000 == part; });
    EXPECT_NEAR(static_cast<double>(in), 500.0, 90.0) << part;
  }
  EXPECT_EQ(sample_indices(1000000, 5000, 7, 1), s);
  EXPECT_NE(sample_indices(1000000, 5000, 8, 1), s);
  EXPECT_EQ(sample_indices(10, 20, 7, 1).size(), 10u);
}

TEST(KMeansTrainer, StatesOfOtherFitsAndBrokenBytesAreRefused) {
  const Blobs b = blobs(3000, 3, 4, 22);
  const MemoryRows rows(b.x.data(), 3000, 3, nullptr);
  KMeansConfig c;
  c.k = 4;
  const auto backend = kernels::cpu::make_backend(1);
  KMeansTrainer t(rows, c, *backend);
  t.step();
  t.step();
  const std::vector<std::uint8_t> bytes = serialize_trainer_state(t.state());
  KMeansConfig other = c;
  other.seed = 9;
  EXPECT_NE(test::input_error_of([&] {
              KMeansTrainer(rows, other, *backend, t.state());
            }).find("the saved k-means state belongs to another fit"),
            std::string::npos);
  const MemoryRows fewer(b.x.data(), 2999, 3, nullptr);
  EXPECT_THROW(KMeansTrainer(fewer, c, *backend, t.state()), InputError);
  for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{20}, bytes.size() - 1}) {
    const std::vector<std::uint8_t> truncated(bytes.begin(),
                                              bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(deserialize_trainer_state(truncated), InputError) << cut;
  }
  std::vector<std::uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_THROW(deserialize_trainer_state(longer), InputError);
  std::vector<std::uint8_t> foreign = bytes;
  foreign[0] ^= 0xff;
  EXPECT_NE(
      test::input_error_of([&] { deserialize_trainer_state(foreign); }).find("not a saved k-means state"),
      std::string::npos);
}

// A warm start with the weights the centres absorbed continues their running averages: the first batches
// move them less than from zero (scikit-learn's init=, the default), and the absorbed weights only grow.
TEST(KMeansTrainer, WarmStartKeepsTheAbsorbedWeights) {
  const Blobs b = blobs(8000, 3, 4, 23);
  KMeansConfig c;
  c.k = 4;
  c.batch_size = 256;
  c.reassignment_ratio = 0;
  const KMeansModel first = fit_kmeans(b.x.data(), 8000, 3, nullptr, c);
  KMeansConfig warm = given(4, first.centres, false);
  warm.batch_size = 256;
  warm.max_epochs = 1;
  warm.max_no_improvement = 0;
  warm.reassignment_ratio = 0;
  const KMeansModel cold = fit_kmeans(b.x.data(), 8000, 3, nullptr, warm);
  warm.init_absorbed = first.absorbed;
  const KMeansModel kept = fit_kmeans(b.x.data(), 8000, 3, nullptr, warm);
  double moved_cold = 0, moved_kept = 0;
  for (std::size_t i = 0; i < first.centres.size(); ++i) {
    moved_cold += std::fabs(cold.centres[i] - first.centres[i]);
    moved_kept += std::fabs(kept.centres[i] - first.centres[i]);
  }
  EXPECT_LT(moved_kept, moved_cold);
  // Every row of every batch is absorbed by one centre: the kept weights grow by exactly the rows visited,
  // the cold ones start from 0. (Per centre the two runs differ: the cold centres move further, so a few
  // rows near a boundary fall to another centre.)
  double sum_first = 0, sum_kept = 0, sum_cold = 0;
  for (int k = 0; k < 4; ++k) {
    const auto kk = static_cast<std::size_t>(k);
    EXPECT_GT(kept.absorbed[kk], first.absorbed[kk]);
    sum_first += first.absorbed[kk];
    sum_kept += kept.absorbed[kk];
    sum_cold += cold.absorbed[kk];
  }
  EXPECT_EQ(kept.steps, cold.steps);
  EXPECT_DOUBLE_EQ(sum_kept - sum_first, static_cast<double>(kept.steps * 256));
  EXPECT_DOUBLE_EQ(sum_cold, static_cast<double>(cold.steps * 256));
  warm.init_absorbed = {1, 2};
  EXPECT_THROW(fit_kmeans(b.x.data(), 8000, 3, nullptr, warm), UsageError);
  warm.init_absorbed = {1, 2, -1, 4};
  EXPECT_THROW(fit_kmeans(b.x.data(), 8000, 3, nullptr, warm), UsageError);
  KMeansConfig plus;
  plus.k = 4;
  plus.init_absorbed = first.absorbed;
  EXPECT_THROW(fit_kmeans(b.x.data(), 8000, 3, nullptr, plus), UsageError);
}

}  // namespace
}  // namespace segstream::host
