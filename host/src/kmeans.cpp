#include "segstream/host/kmeans.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <numeric>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/host/interrupt.hpp"
#include "segstream/kernels/behaviour_cuda.hpp"
#include "segstream/kernels/kmeans.hpp"
#include "segstream/kernels/kmeans_cpu.hpp"
#include "segstream/kernels/kmeans_cuda.hpp"

namespace segstream::host {
namespace {

// The CUDA side of a fit: the stream-model pipeline (kernels/kmeans_cuda.hpp), and whether every row is
// already resident on the device (after the first full pass, when the budget holds them).
struct Device {
#if SEGSTREAM_HAVE_CUDA
  std::unique_ptr<kernels::cuda::Pipeline> pipeline;
#endif
  bool resident = false;  // the pipeline keeps every row on the device
  bool loaded = false;    // and they are there
};

struct Data {
  const float* x;
  std::uint64_t rows;
  int d;
  const float* w;  // null = 1
  int threads;
  double weight(std::uint64_t i) const { return w != nullptr ? static_cast<double>(w[i]) : 1.0; }
  const float* row(std::uint64_t i) const { return x + i * static_cast<std::uint64_t>(d); }
};

// The seed of restart r: restarts draw from unrelated streams.
std::uint64_t restart_seed(std::uint64_t seed, int r) {
  return mix64(seed ^ (0x9E3779B97F4A7C15ull * (r + 1)));
}

// Index of the first element of the running sum `cum` that reaches `target` (numpy's searchsorted, left).
std::uint64_t search_cumulative(const std::vector<double>& cum, double target) {
  const auto it = std::lower_bound(cum.begin(), cum.end(), target);
  return std::min<std::uint64_t>(static_cast<std::uint64_t>(it - cum.begin()), cum.size() - 1);
}

// Rows [start, start + n): where they lie in memory, else read into `block`.
const float* rows_of(const RowSource& src, std::uint64_t start, std::uint64_t n, std::vector<float>& block) {
  if (const float* v = src.view(start, n)) return v;
  block.resize(n * static_cast<std::uint64_t>(src.d()));
  src.read(start, n, block.data());
  return block.data();
}

// The order mini-batches take rows in: epoch after epoch, the tiles of kTileRows rows in a Philox
// permutation, kWindowTiles tiles at a time read whole and their rows shuffled together. Reading whole tiles
// keeps a streamed source sequential enough; the shuffle mixes rows of several parts of the file.
class Visit {
 public:
  Visit(const RowSource& src, std::uint64_t seed, std::uint64_t salt)
      : src_(src),
        seed_(mix64(seed ^ (salt * 0xD1B54A32D192ED03ull))),
        tiles_((src.rows() + kTileRows - 1) / kTileRows) {}

  // The next n rows (and their weights) of the sequence.
  void next(std::uint64_t n, float* out, float* w) {
    const auto d = static_cast<std::uint64_t>(src_.d());
    for (std::uint64_t i = 0; i < n; ++i) {
      if (pos_ == order_.size()) load_window();
      // The window is megabytes and its rows are taken in random order: fetch a few rows ahead.
      if (pos_ + kAhead < order_.size()) {
        const float* ahead = window_.data() + order_[pos_ + kAhead] * d;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + d - 1);  // a row may straddle two cache lines
      }
      const std::uint64_t r = order_[pos_++];
      const float* from = window_.data() + r * d;
      for (std::uint64_t j = 0; j < d; ++j) out[i * d + j] = from[j];  // short rows: no memmove call
      w[i] = window_w_[r];
    }
  }

 private:
  void load_window() {
    if (window_start_ >= permutation_.size()) {  // a new epoch: a Fisher–Yates permutation of the tiles
      permutation_.resize(tiles_);
      std::iota(permutation_.begin(), permutation_.end(), 0);
      RandomStream rng(seed_, RandomPurpose::kKMeansVisit, epoch_ << 32);  // one stream per epoch
      for (std::uint64_t t = tiles_; t > 1; --t)
        std::swap(permutation_[t - 1],
                  permutation_[static_cast<std::uint64_t>(rng.uniform() * static_cast<double>(t))]);
      window_start_ = 0;
      ++epoch_;
    }
    const auto d = static_cast<std::uint64_t>(src_.d());
    window_.clear();
    window_w_.clear();
    const std::uint64_t end = std::min<std::uint64_t>(permutation_.size(), window_start_ + kWindowTiles);
    for (std::uint64_t t = window_start_; t < end; ++t) {
      const std::uint64_t first = permutation_[t] * kTileRows;
      const std::uint64_t n = std::min(kTileRows, src_.rows() - first);
      const std::size_t at = window_.size();
      window_.resize(at + n * d);
      src_.read(first, n, window_.data() + at);
      for (std::uint64_t i = 0; i < n; ++i)
        window_w_.push_back(src_.weights() != nullptr ? src_.weights()[first + i] : 1.0f);
    }
    order_.resize(window_w_.size());
    std::iota(order_.begin(), order_.end(), 0);
    const std::uint64_t window_index = window_start_ / kWindowTiles;
    RandomStream rng(seed_, RandomPurpose::kKMeansVisit,
                     (std::uint64_t{1} << 63) | (epoch_ << 32) | window_index);
    for (std::uint64_t i = order_.size(); i > 1; --i)  // one stream per window
      std::swap(order_[i - 1], order_[static_cast<std::uint64_t>(rng.uniform() * static_cast<double>(i))]);
    pos_ = 0;
    window_start_ = end;
  }

  static constexpr std::uint64_t kAhead = 16;
  const RowSource& src_;
  std::uint64_t seed_;
  std::uint64_t tiles_;
  std::uint64_t epoch_ = 0;
  std::vector<std::uint64_t> permutation_;
  std::uint64_t window_start_ = 0;
  std::vector<float> window_, window_w_;
  std::vector<std::uint64_t> order_;
  std::size_t pos_ = 0;
};

constexpr std::uint64_t kPassRows = 65536;  // rows per block of a full pass

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
    const double pot = cumulate(closest);
    for (int t = 0; t < trials; ++t)
      ids[static_cast<std::size_t>(t)] = search_cumulative(cum, rng.uniform() * pot);
#pragma omp parallel for schedule(static) num_threads(data.threads)
    for (int t = 0; t < trials; ++t) {
      const float* dt = distances_to(data.row(ids[static_cast<std::size_t>(t)]), t);
      auto& v = candidate[static_cast<std::size_t>(t)];
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) {
        v[i] = std::min(closest[i], w[i] * static_cast<double>(dt[i]));
        s += v[i];
      }
      potential[static_cast<std::size_t>(t)] = s;
    }
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
// them and reduced to k centres by the greedy k-means++ above. Two passes per round and one to weigh.
std::vector<float> kmeans_parallel(const RowSource& src, int k, std::uint64_t seed, int threads) {
  constexpr int kRounds = 5;
  constexpr std::uint64_t kBlock = 65536;
  const int d = src.d();
  std::vector<float> candidates = sample_rows(src, 1, seed, 3);
  const double oversample = 2.0 * k;
  std::vector<float> block, dist;
  std::vector<std::int32_t> labels;
  const float* rows = nullptr;  // the current block's rows
  // One pass: calls row(i, global index, distance², label) for every row against the candidates.
  auto pass = [&](auto&& row) {
    const auto m = static_cast<int>(candidates.size() / static_cast<std::size_t>(d));
    for (std::uint64_t start = 0; start < src.rows(); start += kBlock) {
      const std::uint64_t n = std::min(kBlock, src.rows() - start);
      dist.resize(n);
      labels.resize(n);
      rows = rows_of(src, start, n, block);
      kernels::cpu::assign(rows, n, d, candidates.data(), m, nullptr, labels.data(), dist.data(), nullptr,
                           threads);
      for (std::uint64_t i = 0; i < n; ++i) row(i, start + i, static_cast<double>(dist[i]), labels[i]);
    }
  };
  auto weight = [&](std::uint64_t row) {
    return src.weights() != nullptr ? static_cast<double>(src.weights()[row]) : 1.0;
  };
  for (int round = 0; round < kRounds; ++round) {
    double cost = 0;
    pass([&](std::uint64_t, std::uint64_t row, double d2, std::int32_t) { cost += weight(row) * d2; });
    if (cost <= 0) break;
    std::vector<float> added;
    pass([&](std::uint64_t i, std::uint64_t row, double d2, std::int32_t) {
      const double p = oversample * weight(row) * d2 / cost;
      if (p <= 0) return;
      if (p < 1 &&
          RandomStream(seed, RandomPurpose::kKMeansInit, (static_cast<std::uint64_t>(round + 1) << 48) | row)
                  .uniform() >= p)
        return;
      added.insert(added.end(), rows + i * static_cast<std::uint64_t>(d),
                   rows + (i + 1) * static_cast<std::uint64_t>(d));
    });
    candidates.insert(candidates.end(), added.begin(), added.end());
  }
  const std::size_t m = candidates.size() / static_cast<std::size_t>(d);
  std::vector<float> mass(m, 0.0f);
  std::vector<double> mass_sum(m, 0.0);
  pass([&](std::uint64_t, std::uint64_t row, double, std::int32_t label) {
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
  return kmeans_plus_plus(Data{candidates.data(), m, d, mass.data(), threads}, k, seed);
}

// Weighted mean of the per-column variances (scikit-learn's _tolerance scale), one pass over the rows.
double mean_variance(const RowSource& src) {
  const int d = src.d();
  std::vector<double> mean(static_cast<std::size_t>(d), 0), m2(static_cast<std::size_t>(d), 0);
  std::vector<float> block;
  double wsum = 0;
  for (std::uint64_t start = 0; start < src.rows(); start += kPassRows) {
    const std::uint64_t n = std::min(kPassRows, src.rows() - start);
    const float* rows = rows_of(src, start, n, block);
    for (std::uint64_t i = 0; i < n; ++i) {  // Welford, in row order
      const double w = src.weights() != nullptr ? src.weights()[start + i] : 1.0;
      if (w <= 0) continue;
      wsum += w;
      for (int j = 0; j < d; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        const double v = rows[i * static_cast<std::uint64_t>(d) + jj];
        const double delta = v - mean[jj];
        mean[jj] += delta * w / wsum;
        m2[jj] += w * delta * (v - mean[jj]);
      }
    }
  }
  double s = 0;
  for (double v : m2) s += v / wsum;
  return s / d;
}

struct Phase {
  std::vector<float> centres;
  std::vector<double> absorbed;
  std::vector<double> history;
  std::uint64_t steps = 0;
  int passes = 0;
  std::string stop;
};

// scikit-learn's MiniBatchKMeans steps, from the given centres.
void mini_batch(const RowSource& src, const KMeansConfig& cfg, std::uint64_t seed, int threads, Device* dev,
                Phase& ph) {
  const int k = cfg.k, d = src.d();
  const std::uint64_t rows = src.rows();
  const std::uint64_t batch = std::min<std::uint64_t>(cfg.batch_size, rows);
  const std::uint64_t steps =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(cfg.max_epochs) * rows / batch);
  const double tol = cfg.tol > 0 ? cfg.tol * mean_variance(src) : 0.0;
  ph.absorbed.assign(static_cast<std::size_t>(k), 0.0);
  Visit visit(src, seed, 0);
  // The CPU's batch buffers (the device path draws batches into its pinned slots instead).
  const std::uint64_t host_rows = dev == nullptr ? batch : 0;
  std::vector<float> host_x(host_rows * static_cast<std::uint64_t>(d)), host_w(host_rows), db(host_rows);
  std::vector<std::int32_t> lb(host_rows);
  kernels::cpu::ClusterSums sums(k, d);  // the batch's, exact: the same on either backend
  double ewa = 0, best_ewa = std::numeric_limits<double>::infinity();
  int no_improvement = 0;
  std::uint64_t since_reassign = 0;
  ph.stop = "max_epochs";
  // Threads pay for themselves only when a batch has enough work (the result is the same either way).
  const int batch_threads =
      batch * static_cast<std::uint64_t>(k) * static_cast<std::uint64_t>(d) >= (1u << 18) ? threads : 1;
  // One step's batch: its rows and weights (on the host), its inertia and its exact cluster sums. On the
  // device the next batch is drawn and copied while the current one is computed; the host waits once per
  // step, for the sums the centre update needs.
  const float* xb = nullptr;
  const float* wb = nullptr;
  double batch_inertia = 0;
#if SEGSTREAM_HAVE_CUDA
  kernels::cuda::Pipeline::Slot* staged = nullptr;
  auto stage = [&]() {
    kernels::cuda::Pipeline::Slot& slot = dev->pipeline->acquire();
    visit.next(batch, slot.x, slot.w);
    dev->pipeline->upload(slot, batch, true);
    staged = &slot;
  };
#endif
  auto run_step = [&]([[maybe_unused]] std::uint64_t step) {  // step: used by the device path
    if (dev != nullptr) {
#if SEGSTREAM_HAVE_CUDA
      if (staged == nullptr) stage();
      kernels::cuda::Pipeline::Slot& slot = *staged;
      dev->pipeline->compute(slot, ph.centres.data(), {true, false, true, true});
      if (step + 1 < steps) stage();
      batch_inertia = dev->pipeline->wait(slot);
      sums.reset(k, d);
      dev->pipeline->add_taken_sums(slot, sums);
      xb = slot.x;
      wb = slot.w;
#endif
      return;
    }
    visit.next(batch, host_x.data(), host_w.data());
    batch_inertia = kernels::cpu::assign(host_x.data(), batch, d, ph.centres.data(), k, host_w.data(),
                                         lb.data(), db.data(), nullptr, batch_threads);
    sums.reset(k, d);
    sums.accumulate(host_x.data(), batch, lb.data(), host_w.data(), batch_threads);
    xb = host_x.data();
    wb = host_w.data();
  };
  for (std::uint64_t step = 0; step < steps; ++step) {
    run_step(step);
    double shift = 0;
    for (int c = 0; c < k; ++c) {
      const auto cc = static_cast<std::size_t>(c);
      const double wsum = sums.weight(c);
      if (wsum <= 0) continue;
      const double total = ph.absorbed[cc] + wsum;
      for (int j = 0; j < d; ++j) {
        float& v = ph.centres[cc * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)];
        const float next =
            static_cast<float>((static_cast<double>(v) * ph.absorbed[cc] + sums.sum(c, j)) / total);
        shift += static_cast<double>(next - v) * static_cast<double>(next - v);
        v = next;
      }
      ph.absorbed[cc] = total;
    }
    // Small clusters move to rows of the batch, as scikit-learn does every 10·k rows.
    since_reassign += batch;
    if (cfg.reassignment_ratio > 0 && since_reassign >= 10 * static_cast<std::uint64_t>(k)) {
      since_reassign = 0;
      const double most = *std::max_element(ph.absorbed.begin(), ph.absorbed.end());
      std::vector<int> small;
      for (int c = 0; c < k; ++c)
        if (ph.absorbed[static_cast<std::size_t>(c)] < cfg.reassignment_ratio * most) small.push_back(c);
      const auto limit = static_cast<std::size_t>(0.5 * static_cast<double>(batch));
      if (small.size() > limit) {
        std::stable_sort(small.begin(), small.end(), [&](int a, int b) {
          return ph.absorbed[static_cast<std::size_t>(a)] < ph.absorbed[static_cast<std::size_t>(b)];
        });
        small.resize(limit);
      }
      if (!small.empty()) {
        // Rows drawn without replacement with probability ∝ weight (keys u^(1/w), the largest win).
        std::vector<std::pair<double, std::uint64_t>> keys;
        for (std::uint64_t i = 0; i < batch; ++i) {
          if (wb[i] <= 0) continue;
          RandomStream rng(seed, RandomPurpose::kKMeansReassign, step * batch + i);
          keys.emplace_back(std::log(rng.uniform()) / wb[i], i);
        }
        std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
          return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        double floor_weight = std::numeric_limits<double>::infinity();
        for (int c = 0; c < k; ++c)
          if (std::find(small.begin(), small.end(), c) == small.end())
            floor_weight = std::min(floor_weight, ph.absorbed[static_cast<std::size_t>(c)]);
        for (std::size_t r = 0; r < small.size() && r < keys.size(); ++r) {
          const auto c = static_cast<std::size_t>(small[r]);
          std::copy_n(xb + keys[r].second * static_cast<std::uint64_t>(d), d,
                      ph.centres.begin() + static_cast<std::ptrdiff_t>(c * static_cast<std::size_t>(d)));
          ph.absorbed[c] = std::isfinite(floor_weight) ? floor_weight : ph.absorbed[c];
        }
      }
    }
    ++ph.steps;
    // Convergence as scikit-learn judges it: the batch inertia per row, exponentially weighted. The first
    // step's inertia, measured against the initial centres, is left out of the average (as scikit-learn
    // leaves it out): starting from it, the average would keep falling for thousands of steps after the
    // centres have settled.
    const double per_row = batch_inertia / static_cast<double>(batch);
    if (step == 0) {
      ph.history.push_back(per_row);
      continue;
    }
    if (step == 1) {
      ewa = per_row;
    } else {
      const double alpha = std::min(1.0, static_cast<double>(batch) * 2.0 / (static_cast<double>(rows) + 1));
      ewa = ewa * (1 - alpha) + per_row * alpha;
    }
    ph.history.push_back(ewa);
    if (tol > 0 && shift <= tol) {
      ph.stop = "centre shift below tol";
      break;
    }
    if (ewa < best_ewa) {
      no_improvement = 0;
      best_ewa = ewa;
    } else {
      ++no_improvement;
    }
    if (cfg.max_no_improvement > 0 && no_improvement >= cfg.max_no_improvement) {
      ph.stop = "no improvement in the smoothed batch inertia";
      break;
    }
  }
}

// One full pass: the exact per-cluster sums and the inertia of the current centres, and the rows farthest
// from their centres (largest distance first, then lowest index; rows of weight 0 last), which empty
// clusters take.
struct Pass {
  kernels::cpu::ClusterSums sums;
  double inertia = 0;
  struct Far {
    float distance2;
    std::uint64_t row;
    std::int32_t label;
    float weight;
    std::vector<float> x;  // filled at the end of the pass
  };
  std::vector<Far> farthest;
};

// One full pass over the rows in blocks: on the CPU, or through the device pipeline (the next block is
// read and copied while the current one is computed; resident rows are not copied again).
Pass full_pass(const RowSource& src, const std::vector<float>& centres, int k, std::size_t keep_far,
               int threads, Device* dev, bool sums = true) {
  const int d = src.d();
  Pass p;
  p.sums.reset(k, d);
  std::vector<float> block, dist;
  std::vector<std::int32_t> labels;
  auto before = [](const Pass::Far& a, const Pass::Far& b) {
    if ((a.weight > 0) != (b.weight > 0)) return a.weight > 0;
    return a.distance2 != b.distance2 ? a.distance2 > b.distance2 : a.row < b.row;
  };
  // The block's rows, by label and distance, for the empty clusters to take.
  auto keep_farthest = [&](std::uint64_t start, std::uint64_t n, const float* d2, const std::int32_t* l) {
    const float* w = src.weights() != nullptr ? src.weights() + start : nullptr;
    for (std::uint64_t i = 0; i < n && keep_far > 0; ++i) {
      Pass::Far f{d2[i], start + i, l[i], w != nullptr ? w[i] : 1.0f, {}};
      if (p.farthest.size() == keep_far && !before(f, p.farthest.back())) continue;
      p.farthest.insert(std::upper_bound(p.farthest.begin(), p.farthest.end(), f, before), std::move(f));
      if (p.farthest.size() > keep_far) p.farthest.pop_back();
    }
  };
  if (dev != nullptr) {
#if SEGSTREAM_HAVE_CUDA
    kernels::cuda::Pipeline& pl = *dev->pipeline;
    const bool weighted = src.weights() != nullptr;
    struct Pending {
      kernels::cuda::Pipeline::Slot* slot;
      std::uint64_t start, n;
      bool last;
    };
    std::deque<Pending> pending;
    auto finish = [&]() {
      const Pending q = pending.front();
      pending.pop_front();
      p.inertia += pl.wait(*q.slot);
      keep_farthest(q.start, q.n, q.slot->distance2, q.slot->labels);
      if (q.last) pl.add_taken_sums(*q.slot, p.sums);
    };
    for (std::uint64_t start = 0; start < src.rows(); start += kPassRows) {
      throw_if_interrupted();
      const std::uint64_t n = std::min(kPassRows, src.rows() - start);
      const bool last = start + n == src.rows();
      if (pending.size() >= 3) finish();  // the ring has three slots: the oldest block frees one
      kernels::cuda::Pipeline::Slot& slot = pl.acquire();
      const kernels::cuda::Pipeline::Work work{weighted, false, true, last};
      if (dev->loaded) {
        pl.compute_resident(slot, start, n, centres.data(), work);
      } else {
        if (const float* v = src.view(start, n))
          std::copy_n(v, n * static_cast<std::uint64_t>(d), slot.x);
        else
          src.read(start, n, slot.x);
        if (weighted) std::copy_n(src.weights() + start, n, slot.w);
        pl.upload(slot, n, weighted, dev->resident ? static_cast<std::int64_t>(start) : -1);
        pl.compute(slot, centres.data(), work);
      }
      pending.push_back({&slot, start, n, last});
    }
    while (!pending.empty()) finish();
    dev->loaded = dev->resident;
#else
    throw UsageError("this segstream was built without the CUDA backend (--device cuda)");
#endif
  } else {
    for (std::uint64_t start = 0; start < src.rows(); start += kPassRows) {
      const std::uint64_t n = std::min(kPassRows, src.rows() - start);
      labels.resize(n);
      dist.resize(n);
      const float* rows = rows_of(src, start, n, block);
      const float* w = src.weights() != nullptr ? src.weights() + start : nullptr;
      p.inertia += kernels::cpu::assign(rows, n, d, centres.data(), k, w, labels.data(), dist.data(), nullptr,
                                        threads);
      if (sums)
        p.sums.accumulate(rows, n, labels.data(), w, threads);
      else
        p.sums.tally(n, labels.data(), w);
      keep_farthest(start, n, dist.data(), labels.data());
    }
  }
  for (Pass::Far& f : p.farthest) {
    f.x.resize(static_cast<std::size_t>(d));
    src.read(f.row, 1, f.x.data());
  }
  return p;
}

// Full Lloyd passes with exact sums; stops early when no centre moves.
void lloyd(const RowSource& src, int k, int passes, int threads, Device* dev, Phase& ph) {
  const int d = src.d();
  for (int pass = 0; pass < passes; ++pass) {
    throw_if_interrupted();
    const Pass p = full_pass(src, ph.centres, k, static_cast<std::size_t>(k), threads, dev);
    ph.history.push_back(p.inertia);
    std::vector<double> sum(ph.centres.size()), weight(static_cast<std::size_t>(k));
    std::vector<int> empty;
    for (int c = 0; c < k; ++c) {
      weight[static_cast<std::size_t>(c)] = p.sums.weight(c);
      if (weight[static_cast<std::size_t>(c)] <= 0) empty.push_back(c);
      for (int j = 0; j < d; ++j)
        sum[static_cast<std::size_t>(c) * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)] =
            p.sums.sum(c, j);
    }
    // Empty clusters take the rows farthest from their centres, and those rows leave their old clusters
    // (scikit-learn's _relocate_empty_clusters).
    for (std::size_t e = 0; e < empty.size() && e < p.farthest.size(); ++e) {
      const Pass::Far& f = p.farthest[e];
      const auto old = static_cast<std::size_t>(f.label);
      const auto to = static_cast<std::size_t>(empty[e]);
      for (int j = 0; j < d; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        sum[old * static_cast<std::size_t>(d) + jj] -= static_cast<double>(f.weight) * f.x[jj];
        sum[to * static_cast<std::size_t>(d) + jj] = static_cast<double>(f.weight) * f.x[jj];
      }
      weight[old] -= f.weight;
      weight[to] = f.weight;
    }
    std::vector<float> next(ph.centres.size());
    for (int c = 0; c < k; ++c) {
      const auto cc = static_cast<std::size_t>(c);
      for (int j = 0; j < d; ++j) {
        const std::size_t at = cc * static_cast<std::size_t>(d) + static_cast<std::size_t>(j);
        next[at] = weight[cc] > 0 ? static_cast<float>(sum[at] / weight[cc]) : ph.centres[at];
      }
    }
    ++ph.passes;
    const bool same = next == ph.centres;
    ph.centres.swap(next);
    if (same) {
      ph.stop = "centres unchanged";
      return;
    }
  }
  ph.stop = "max passes";
}

}  // namespace

void MemoryRows::read(std::uint64_t start, std::uint64_t n, float* out) const {
  const auto d = static_cast<std::uint64_t>(d_);
  std::copy_n(x_ + start * d, n * d, out);
}

std::vector<float> sample_rows(const RowSource& source, std::uint64_t n, std::uint64_t seed,
                               std::uint64_t salt, std::vector<float>* weights) {
  Visit visit(source, seed, salt);
  std::vector<float> x(n * static_cast<std::uint64_t>(source.d())), w(n);
  visit.next(n, x.data(), w.data());
  if (weights != nullptr) *weights = std::move(w);
  return x;
}

double assign_kmeans(const KMeansModel& model, const float* x, std::uint64_t rows, const float* weights,
                     std::int32_t* labels, float* distance2, float* margin, int threads) {
  return kernels::cpu::assign(x, rows, model.d, model.centres.data(), model.k, weights, labels, distance2,
                              margin, threads > 0 ? threads : omp_get_max_threads());
}

KMeansModel fit_kmeans(const float* x, std::uint64_t rows, int d, const float* weights,
                       const KMeansConfig& cfg) {
  SEGSTREAM_EXPECTS(d >= 1, "at least one feature column is needed");
  for (std::uint64_t i = 0; i < rows; ++i)
    for (int j = 0; j < d; ++j)
      SEGSTREAM_CHECK_INPUT(
          std::isfinite(x[i * static_cast<std::uint64_t>(d) + static_cast<std::uint64_t>(j)]),
          "row {} column {}: {} is not a finite value", i, j,
          x[i * static_cast<std::uint64_t>(d) + static_cast<std::uint64_t>(j)]);
  return fit_kmeans(MemoryRows(x, rows, d, weights), cfg);
}

KMeansModel fit_kmeans(const RowSource& src, const KMeansConfig& cfg) {
  const std::uint64_t rows = src.rows();
  const int d = src.d();
  SEGSTREAM_EXPECTS(cfg.k >= 1, "--k must be at least 1 (got {})", cfg.k);
  SEGSTREAM_EXPECTS(d >= 1, "at least one feature column is needed");
  SEGSTREAM_EXPECTS(static_cast<std::uint64_t>(cfg.k) <= rows, "--k {} is more than the {} rows to cluster",
                    cfg.k, rows);
  SEGSTREAM_EXPECTS(cfg.batch_size >= 1, "--batch-size must be at least 1");
  SEGSTREAM_EXPECTS(cfg.max_epochs >= 1, "--max-epochs must be at least 1");
  SEGSTREAM_EXPECTS(cfg.n_init >= 1, "--n-init must be at least 1");
  SEGSTREAM_EXPECTS(cfg.refine >= 0, "--refine must not be negative");
  SEGSTREAM_EXPECTS(cfg.reassignment_ratio >= 0 && std::isfinite(cfg.reassignment_ratio),
                    "--reassignment-ratio must be a non-negative number");
  SEGSTREAM_EXPECTS(cfg.tol >= 0 && std::isfinite(cfg.tol), "--tol must be a non-negative number");
  if (cfg.init == KMeansInit::kGiven)
    SEGSTREAM_EXPECTS(
        cfg.init_centres.size() == static_cast<std::size_t>(cfg.k) * static_cast<std::size_t>(d),
        "the initial centres are {} values, expected k × d = {} × {}", cfg.init_centres.size(), cfg.k, d);
  const float* weights = src.weights();
  double total_weight = 0;
  std::uint64_t positive = 0;
  if (weights != nullptr)
    for (std::uint64_t i = 0; i < rows; ++i) {
      SEGSTREAM_CHECK_INPUT(std::isfinite(weights[i]) && weights[i] >= 0,
                            "row {}: weight {} is not a finite non-negative number", i, weights[i]);
      total_weight += weights[i];
      positive += weights[i] > 0 ? 1 : 0;
    }
  SEGSTREAM_CHECK_INPUT(weights == nullptr || total_weight > 0, "all {} weights are 0", rows);
  SEGSTREAM_CHECK_INPUT(weights == nullptr || positive >= static_cast<std::uint64_t>(cfg.k),
                        "only {} rows have a positive weight, fewer than --k {}", positive, cfg.k);

  const int threads = cfg.threads > 0 ? cfg.threads : omp_get_max_threads();
  Device device;
  Device* dev = nullptr;
  if (cfg.cuda) {
#if SEGSTREAM_HAVE_CUDA
    // Blocks of a full pass, or a whole batch; every row stays on the device when the budget holds them.
    const std::uint64_t block = std::max(kPassRows, std::min<std::uint64_t>(cfg.batch_size, rows));
    const std::uint64_t budget = cfg.gpu_memory > 0 ? cfg.gpu_memory : kernels::cuda_free_memory() / 10 * 8;
    const std::uint64_t streamed = kernels::cuda::Pipeline::device_bytes(d, cfg.k, block, 0);
    if (streamed > budget)
      throw ResourceError(
          fmt::format("k-means on the device needs {} MiB for blocks of {} rows, more than the "
                      "device memory budget of {} MiB (--gpu-memory)",
                      streamed >> 20, block, budget >> 20));
    device.resident = kernels::cuda::Pipeline::device_bytes(d, cfg.k, block, rows) <= budget;
    device.pipeline = std::make_unique<kernels::cuda::Pipeline>(d, cfg.k, block, device.resident ? rows : 0);
    dev = &device;
#else
    throw UsageError("this segstream was built without the CUDA backend (--device cuda)");
#endif
  }
  KMeansModel best;
  KMeansModel::Seconds seconds;
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&clock](double& into) {
    const auto now = std::chrono::steady_clock::now();
    into += std::chrono::duration<double>(now - clock).count();
    clock = now;
  };
  for (int r = 0; r < cfg.n_init; ++r) {
    const std::uint64_t seed = restart_seed(cfg.seed, r);
    Phase ph;
    if (cfg.init == KMeansInit::kGiven) {
      ph.centres = cfg.init_centres;
    } else if (cfg.init == KMeansInit::kKMeansParallel) {
      ph.centres = kmeans_parallel(src, cfg.k, seed, threads);
    } else {
      // The initialisation sample: the first init_size rows of the visiting order (all rows for Lloyd).
      const std::uint64_t default_size =
          std::max<std::uint64_t>(3 * cfg.batch_size, 3 * static_cast<std::uint64_t>(cfg.k));
      const std::uint64_t size =
          std::min(rows, cfg.init_size > 0 ? cfg.init_size : (cfg.lloyd ? rows : default_size));
      std::vector<float> sw;
      const std::vector<float> sx = sample_rows(src, size, seed, 1, &sw);
      const Data data{sx.data(), size, d, sw.data(), threads};
      if (cfg.init == KMeansInit::kKMeansPlusPlus) {
        ph.centres = kmeans_plus_plus(data, cfg.k, seed);
      } else {
        // k rows of positive weight, drawn by sorting the sample on random keys.
        std::vector<std::pair<double, std::uint64_t>> keys;
        for (std::uint64_t i = 0; i < size; ++i)
          if (data.weight(i) > 0)
            keys.emplace_back(RandomStream(seed, RandomPurpose::kKMeansInit, 2 + i).uniform(), i);
        std::sort(keys.begin(), keys.end());
        SEGSTREAM_CHECK_INPUT(keys.size() >= static_cast<std::size_t>(cfg.k),
                              "the initialisation sample has {} rows of positive weight, fewer than --k {}",
                              keys.size(), cfg.k);
        for (int c = 0; c < cfg.k; ++c)
          ph.centres.insert(ph.centres.end(), data.row(keys[static_cast<std::size_t>(c)].second),
                            data.row(keys[static_cast<std::size_t>(c)].second) + d);
      }
    }
    lap(seconds.init);
    if (cfg.lloyd) {
      ph.absorbed.assign(static_cast<std::size_t>(cfg.k), 0.0);
      lloyd(src, cfg.k, cfg.max_epochs, threads, dev, ph);
      lap(seconds.lloyd);
    } else {
      mini_batch(src, cfg, seed, threads, dev, ph);
      lap(seconds.mini_batch);
      if (cfg.refine > 0) lloyd(src, cfg.k, cfg.refine, threads, dev, ph);
      lap(seconds.lloyd);
    }
    KMeansModel m;
    m.k = cfg.k;
    m.d = d;
    m.centres = std::move(ph.centres);
    m.absorbed = std::move(ph.absorbed);
    m.inertia_history = std::move(ph.history);
    m.steps = ph.steps;
    m.lloyd_passes = ph.passes;
    m.stop_reason = ph.stop;
    m.restart = r;
    const Pass final_pass = full_pass(src, m.centres, cfg.k, 0, threads, dev, false);
    m.inertia = final_pass.inertia;
    lap(seconds.final_pass);
    for (int c = 0; c < cfg.k; ++c) {
      m.counts.push_back(final_pass.sums.count(c));
      m.cluster_weight.push_back(final_pass.sums.weight(c));
    }
    if (r == 0 || m.inertia < best.inertia) best = std::move(m);
  }
  best.seconds = seconds;
  return best;
}

}  // namespace segstream::host
