#include "init.hpp"

#include <algorithm>
#include <cmath>

#include "passes.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/parallel_errors.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::host::detail {
namespace {

// Rows in host memory for the k-means++ of a sample.
struct Data {
  const float* x;
  std::uint64_t rows;
  int d;
  const float* w;  // null = 1
  int threads;
  double weight(std::uint64_t i) const { return w != nullptr ? static_cast<double>(w[i]) : 1.0; }
  const float* row(std::uint64_t i) const { return x + i * static_cast<std::uint64_t>(d); }
};

// Index of the first element of the running sum `cum` that reaches `target` (numpy's searchsorted, left).
std::uint64_t search_cumulative(const std::vector<double>& cum, double target) {
  const auto it = std::lower_bound(cum.begin(), cum.end(), target);
  return std::min<std::uint64_t>(static_cast<std::uint64_t>(it - cum.begin()), cum.size() - 1);
}

// Greedy k-means++ over the rows of `data` (scikit-learn's _kmeans_plusplus with sample weights).
std::vector<float> kmeans_plus_plus(const Data& data, int k, std::uint64_t seed) {
  const int d = data.d;
  const std::size_t n = data.rows;
  RandomStream rng(seed, RandomPurpose::kKMeansInit, 1);
  std::vector<float> centres(static_cast<std::size_t>(k) * static_cast<std::size_t>(d));
  std::vector<double> cum(n);
  auto cumulate = [&](const std::vector<double>& values) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) cum[i] = s += values[i];
    return s;
  };
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = data.weight(i);
  const std::uint64_t first = search_cumulative(cum, rng.uniform() * cumulate(w));
  std::copy_n(data.row(first), d, centres.begin());
  // Squared distances of every sample row to one row, by the vectorised assign against a single centre
  // (the bits of squared_distance).
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<std::vector<float>> dist(static_cast<std::size_t>(trials), std::vector<float>(n));
  std::vector<std::vector<std::int32_t>> unused(static_cast<std::size_t>(trials),
                                                std::vector<std::int32_t>(n));
  auto distances_to = [&](const float* centre, int t) {
    const auto tt = static_cast<std::size_t>(t);
    kernels::cpu::assign(data.x, n, d, centre, 1, nullptr, unused[tt].data(), dist[tt].data(), nullptr, 1);
    return dist[tt].data();
  };
  std::vector<double> closest(n);
  const float* d0 = distances_to(centres.data(), 0);
  for (std::size_t i = 0; i < n; ++i) closest[i] = w[i] * static_cast<double>(d0[i]);
  std::vector<std::vector<double>> candidate(static_cast<std::size_t>(trials), std::vector<double>(n));
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(trials));
  std::vector<double> potential(static_cast<std::size_t>(trials));
  for (int c = 1; c < k; ++c) {
    throw_if_interrupted();  // a centre costs `trials` passes over the sample: at k = 100,000, minutes in all
    const double pot = cumulate(closest);
    for (int t = 0; t < trials; ++t)
      ids[static_cast<std::size_t>(t)] = search_cumulative(cum, rng.uniform() * pot);
    ParallelErrors errors;  // the distance kernel allocates its buffers
#pragma omp parallel for schedule(static) num_threads(data.threads)
    for (int t = 0; t < trials; ++t) {
      errors.run([&] {
        const float* dt = distances_to(data.row(ids[static_cast<std::size_t>(t)]), t);
        auto& v = candidate[static_cast<std::size_t>(t)];
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) {
          v[i] = std::min(closest[i], w[i] * static_cast<double>(dt[i]));
          s += v[i];
        }
        potential[static_cast<std::size_t>(t)] = s;
      });
    }
    errors.rethrow();
    const auto best =
        static_cast<std::size_t>(std::min_element(potential.begin(), potential.end()) - potential.begin());
    closest.swap(candidate[best]);
    std::copy_n(data.row(ids[best]), d, centres.begin() + static_cast<std::ptrdiff_t>(c) * d);
  }
  return centres;
}

// k-means‖ (Bahmani et al. 2012) over every row of the source: from one row of the visiting order, each of
// kRounds rounds adds every row with probability min(1, ℓ·w·D²/ψ), ψ the cost of the current candidates
// and ℓ = 2k, drawn by Philox keyed on (round, row); the candidates are weighted by the rows nearest to
// them and reduced to k centres by the greedy k-means++ above. Two passes per round and one to weigh, each
// through the backend (a streamed pipeline: the candidates change every round).
std::vector<float> kmeans_parallel(const RowSource& src, int k, std::uint64_t seed,
                                   kernels::Backend& backend) {
  constexpr int kRounds = 5;
  const int d = src.d();
  std::vector<float> candidates = sample_rows(src, 1, seed, 3);
  const double oversample = 2.0 * k;
  auto weight = [&](std::uint64_t row) {
    return src.weights() != nullptr ? static_cast<double>(src.weights()[row]) : 1.0;
  };
  // One pass: calls row(global index, row values, distance², label) for every row against the candidates.
  auto pass = [&](kernels::BlockPipeline& pl, auto&& row) {
    PassRunner runner(pl);
    std::vector<float> block;
    runner.run(src, candidates.data(), {}, nullptr,
               [&](std::uint64_t start, std::uint64_t n, const kernels::BlockPipeline::Slot& slot,
                   const float* rows) {
                 if (rows == nullptr) rows = rows_of(src, start, n, block);
                 for (std::uint64_t i = 0; i < n; ++i)
                   row(start + i, rows + i * static_cast<std::uint64_t>(d),
                       static_cast<double>(slot.distance2[i]), slot.labels[i]);
               });
  };
  auto candidate_count = [&] { return static_cast<int>(candidates.size() / static_cast<std::size_t>(d)); };
  for (int round = 0; round < kRounds; ++round) {
    const auto pl = backend.make_pipeline(d, candidate_count(), kPassRows, 0);
    double cost = 0;
    pass(*pl, [&](std::uint64_t row, const float*, double d2, std::int32_t) { cost += weight(row) * d2; });
    if (cost <= 0) break;
    std::vector<float> added;
    pass(*pl, [&](std::uint64_t row, const float* x, double d2, std::int32_t) {
      const double p = oversample * weight(row) * d2 / cost;
      if (p <= 0) return;
      if (p < 1 &&
          RandomStream(seed, RandomPurpose::kKMeansInit, (static_cast<std::uint64_t>(round + 1) << 48) | row)
                  .uniform() >= p)
        return;
      added.insert(added.end(), x, x + d);
    });
    candidates.insert(candidates.end(), added.begin(), added.end());
  }
  const auto m = static_cast<std::size_t>(candidate_count());
  std::vector<float> mass(m, 0.0f);
  std::vector<double> mass_sum(m, 0.0);
  const auto pl = backend.make_pipeline(d, candidate_count(), kPassRows, 0);
  pass(*pl, [&](std::uint64_t row, const float*, double, std::int32_t label) {
    mass_sum[static_cast<std::size_t>(label)] += weight(row);
  });
  for (std::size_t c = 0; c < m; ++c) mass[c] = static_cast<float>(mass_sum[c]);
  if (m <= static_cast<std::size_t>(k)) {
    // Fewer candidates than centres: every candidate, then repeated rows of the visiting order.
    std::vector<float> more = sample_rows(src, static_cast<std::uint64_t>(k) - m, seed, 4);
    candidates.insert(candidates.end(), more.begin(), more.end());
    candidates.resize(static_cast<std::size_t>(k) * static_cast<std::size_t>(d));
    return candidates;
  }
  return kmeans_plus_plus(Data{candidates.data(), m, d, mass.data(), backend.threads()}, k, seed);
}

}  // namespace

std::vector<float> initial_centres(const RowSource& src, const KMeansConfig& cfg, std::uint64_t seed,
                                   kernels::Backend& backend) {
  if (cfg.init == KMeansInit::kGiven) return cfg.init_centres;
  if (cfg.init == KMeansInit::kKMeansParallel) return kmeans_parallel(src, cfg.k, seed, backend);
  // The initialisation sample: init_size rows drawn uniformly (all rows for Lloyd).
  const std::uint64_t rows = src.rows();
  const int d = src.d();
  const std::uint64_t default_size =
      std::max<std::uint64_t>(3 * cfg.batch_size, 3 * static_cast<std::uint64_t>(cfg.k));
  const std::uint64_t size =
      std::min(rows, cfg.init_size > 0 ? cfg.init_size : (cfg.lloyd ? rows : default_size));
  std::vector<float> sw;
  const std::vector<float> sx = uniform_sample(src, size, seed, 1, &sw);
  const Data data{sx.data(), size, d, sw.data(), backend.threads()};
  if (cfg.init == KMeansInit::kKMeansPlusPlus) return kmeans_plus_plus(data, cfg.k, seed);
  // k rows of positive weight, drawn by sorting the sample on random keys.
  std::vector<std::pair<double, std::uint64_t>> keys;
  for (std::uint64_t i = 0; i < size; ++i)
    if (data.weight(i) > 0)
      keys.emplace_back(RandomStream(seed, RandomPurpose::kKMeansInit, 2 + i).uniform(), i);
  std::sort(keys.begin(), keys.end());
  SEGSTREAM_CHECK_INPUT(keys.size() >= static_cast<std::size_t>(cfg.k),
                        "the initialisation sample has {} rows of positive weight, fewer than --k {}",
                        keys.size(), cfg.k);
  std::vector<float> centres;
  for (int c = 0; c < cfg.k; ++c)
    centres.insert(centres.end(), data.row(keys[static_cast<std::size_t>(c)].second),
                   data.row(keys[static_cast<std::size_t>(c)].second) + d);
  return centres;
}

}  // namespace segstream::host::detail
