#include "breathe.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::host::detail {
namespace {

constexpr std::uint64_t kSampleSalt = 5;  // sample_rows salt of the phase's rows
constexpr double kImprovement = 1e-4;     // a round is kept when Σ w·d² falls by more than this share
constexpr double kOffset = 0.01;          // added centres sit this × the RMS error from their parent
constexpr double kLloydTolerance = 1e-4;  // × the mean feature variance (scikit-learn's tol)

// Indices 0..n−1 ordered by `key` (descending or ascending), ties to the lower index.
std::vector<int> order_by(const std::vector<double>& key, bool descending) {
  std::vector<int> order(key.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const double ka = key[static_cast<std::size_t>(a)], kb = key[static_cast<std::size_t>(b)];
    return descending ? ka > kb : ka < kb;
  });
  return order;
}

}  // namespace

Breather::Breather(const RowSource& src, const KMeansConfig& config, std::uint64_t seed,
                   kernels::Backend& backend)
    : src_(src), cfg_(config), seed_(seed), backend_(backend) {
  const std::uint64_t rows = src.rows(), n = breathing_rows(config, rows);
  const int d = src.d();
  sampled_ = n < rows;
  if (!sampled_ && src.view(0, rows) != nullptr) {
    work_ = &src;
  } else {  // the sample, or every row (in row order) of a source that does not hold them in memory
    x_ = uniform_sample(src, n, seed, kSampleSalt, &w_);
    held_ = std::make_unique<MemoryRows>(x_.data(), n, d, src.weights() != nullptr ? w_.data() : nullptr);
    work_ = held_.get();
  }
  auto total = [](const RowSource& r) {
    double t = r.weights() == nullptr ? static_cast<double>(r.rows()) : 0.0;
    for (std::uint64_t i = 0; r.weights() != nullptr && i < r.rows(); ++i) t += r.weights()[i];
    return t;
  };
  total_weight_ = total(*work_);
  absorbed_scale_ = total_weight_ > 0 ? total(src) / total_weight_ : 1.0;
}

PassRunner& Breather::runner(int centres) {
  Runner& r = runners_[centres];
  if (!r.pipeline) {
    r.pipeline = backend_.make_pipeline(src_.d(), centres, kPassRows, work_->rows());
    r.passes = std::make_unique<PassRunner>(*r.pipeline);
  }
  return *r.passes;
}

bool Breather::begin(TrainerState& st) {
  TrainerState::Breath& b = st.breath;
  b = TrainerState::Breath{};
  // Rows of positive weight bound the centres Lloyd can keep apart.
  std::uint64_t positive = work_->rows();
  if (const float* w = work_->weights())
    positive = static_cast<std::uint64_t>(std::count_if(w, w + work_->rows(), [](float v) { return v > 0; }));
  const std::uint64_t room = positive > static_cast<std::uint64_t>(cfg_.k) ? positive - cfg_.k : 0;
  b.m = static_cast<int>(std::min<std::uint64_t>(
      {static_cast<std::uint64_t>(std::max(cfg_.breathe, 0)), static_cast<std::uint64_t>(cfg_.k), room}));
  if (cfg_.k < 2 || b.m < 1) return false;
  b.stage = sampled_ ? TrainerState::Breath::Stage::kBefore : TrainerState::Breath::Stage::kConverge;
  b.work = st.centres;
  b.before = st.centres;
  b.before_absorbed = st.absorbed;
  b.tol = kLloydTolerance * mean_variance(*work_);
  b.log.depth = b.m;
  b.log.rows = work_->rows();
  b.log.sampled = sampled_;
  return true;
}

bool Breather::step(TrainerState& st) {
  using Stage = TrainerState::Breath::Stage;
  TrainerState::Breath& b = st.breath;
  const int d = src_.d();
  const int kk = static_cast<int>(b.work.size() / static_cast<std::size_t>(d));
  const Pass p = full_pass(runner(kk), *work_, b.work, kk, static_cast<std::size_t>(kk),
                           kernels::Accumulate::kSums, true);
  std::vector<float> next = lloyd_centres(p, b.work, kk, d);
  double shift = 0;
  for (std::size_t i = 0; i < next.size(); ++i)
    shift += static_cast<double>(next[i] - b.work[i]) * static_cast<double>(next[i] - b.work[i]);
  ++b.passes;
  ++b.log.passes;
  if (shift > b.tol && b.passes < kMaxLloydPasses) {
    b.work.swap(next);
    return false;
  }
  // The run is over; its result is the centres this pass evaluated.
  b.passes = 0;
  auto keep = [&] {
    b.best = b.work;
    b.best_weight.assign(static_cast<std::size_t>(kk), 0.0);
    for (int c = 0; c < kk; ++c) b.best_weight[static_cast<std::size_t>(c)] = p.sums.weight(c);
    b.log.after = p.inertia;
  };
  switch (b.stage) {
    case Stage::kBefore:  // measured by the trainer, which then sets kConverge
      SEGSTREAM_ASSERT(false,
                       "a Lloyd pass of the non-local phase before its starting centres were measured{}", "");
      [[fallthrough]];
    case Stage::kConverge:
      keep();
      b.log.before = p.inertia;
      breathe_in(b, p, p.inertia);
      b.stage = Stage::kIn;
      return false;
    case Stage::kIn:
      breathe_out(b, p);
      b.stage = Stage::kOut;
      return false;
    case Stage::kOut:
      ++b.log.rounds;
      if (p.inertia < b.log.after * (1 - kImprovement)) {
        keep();
        ++b.log.kept;
      } else {
        --b.m;
      }
      if (b.m > 0) {
        breathe_in(b, p, p.inertia);
        b.stage = Stage::kIn;
        return false;
      }
      break;
  }
  // Done: the best centres, with the weight of their clusters (scaled from a sample to all rows) as what
  // they absorbed.
  st.centres = b.best;
  st.absorbed.resize(b.best_weight.size());
  for (std::size_t c = 0; c < b.best_weight.size(); ++c) st.absorbed[c] = b.best_weight[c] * absorbed_scale_;
  return true;
}

// m new centres, one beside each of the m of largest error, offset by a small random vector.
void Breather::breathe_in(TrainerState::Breath& b, const Pass& p, double inertia) const {
  const auto d = static_cast<std::size_t>(src_.d());
  const std::vector<int> order = order_by(p.error, true);
  const double rmse = std::sqrt(inertia / std::max(total_weight_, 1e-300));
  const std::size_t k = b.work.size() / d;
  b.work.resize((k + static_cast<std::size_t>(b.m)) * d);
  for (int j = 0; j < b.m; ++j) {
    const auto parent = static_cast<std::size_t>(order[static_cast<std::size_t>(j)]);
    RandomStream rng(seed_, RandomPurpose::kKMeansBreathe,
                     (static_cast<std::uint64_t>(b.log.rounds) << 32) | static_cast<std::uint64_t>(j));
    for (std::size_t i = 0; i < d; ++i)
      b.work[(k + static_cast<std::size_t>(j)) * d + i] =
          static_cast<float>(b.work[parent * d + i] + kOffset * rmse * (rng.uniform() - 0.5));
  }
}

// The m centres of least utility go, except that a centre whose nearest neighbour went is kept (while enough
// others remain), so no two neighbours leave together.
void Breather::breathe_out(TrainerState::Breath& b, const Pass& p) const {
  const auto d = static_cast<std::size_t>(src_.d());
  const std::size_t kk = b.work.size() / d;
  std::vector<std::size_t> nearest(kk, 0);
  for (std::size_t a = 0; a < kk; ++a) {
    if ((a & 255) == 0) throw_if_interrupted();  // k² distances: seconds at k = 10,000
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < kk; ++c) {
      if (c == a) continue;
      double s = 0;
      for (std::size_t i = 0; i < d; ++i) {
        const double t = static_cast<double>(b.work[a * d + i]) - b.work[c * d + i];
        s += t * t;
      }
      if (s < best) {
        best = s;
        nearest[a] = c;
      }
    }
  }
  std::vector<char> removed(kk, 0), frozen(kk, 0);
  std::size_t n_removed = 0, n_frozen = 0;
  const auto m = static_cast<std::size_t>(b.m);
  for (int c : order_by(p.utility, false)) {
    const auto cc = static_cast<std::size_t>(c);
    if (frozen[cc] != 0) continue;
    removed[cc] = 1;
    if (n_frozen + m < kk && frozen[nearest[cc]] == 0) {
      frozen[nearest[cc]] = 1;
      ++n_frozen;
    }
    if (++n_removed == m) break;
  }
  std::vector<float> kept;
  kept.reserve((kk - m) * d);
  for (std::size_t c = 0; c < kk; ++c)
    if (removed[c] == 0)
      kept.insert(kept.end(), b.work.begin() + static_cast<std::ptrdiff_t>(c * d),
                  b.work.begin() + static_cast<std::ptrdiff_t>((c + 1) * d));
  b.work.swap(kept);
}

}  // namespace segstream::host::detail
