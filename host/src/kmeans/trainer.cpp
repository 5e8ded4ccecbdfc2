// The k-means trainer: a state machine over TrainerState, written once against the compute contract.
//
//   kInit ──► kMiniBatch (one step per step()) ──► kLloyd (one pass per step(), --refine)
//     ▲          (--lloyd: kInit ──► kLloyd)         ──► kBreathe (one pass per step()) ──► kFinal ──┐
//     └────────────────────────────── the next restart (--n-init) ◄─────────────────────────────────┘
//
// Between two steps the state says everything: a trainer built from it continues the same fit. On a
// backend whose pipeline is deeper than one block, the next mini-batch is drawn and copied while the
// current one is computed; the state's visiting cursor is the one after the current step's batch, so a
// batch drawn ahead is simply drawn again by a resumed trainer.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "breathe.hpp"
#include "init.hpp"
#include "passes.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/kernels/cpu.hpp"
#include "visit.hpp"

namespace segstream::host {
namespace {

using detail::PassRunner;
using Phase = TrainerState::Phase;

// The seed of restart r: restarts draw from unrelated streams.
std::uint64_t restart_seed(std::uint64_t seed, int r) {
  return mix64(seed ^ (0x9E3779B97F4A7C15ull * (r + 1)));
}

// A digest of everything in the config that shapes the model (not the threads), so a state is resumed only
// by the fit that made it.
std::uint64_t config_digest(const KMeansConfig& c, std::uint64_t rows, int d) {
  std::uint64_t h = 0x243F6A8885A308D3ull;
  auto add = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = mix64(h ^ (std::uint64_t{b[i]} + 0x100 * (i & 7)));
  };
  auto value = [&add](const auto& v) { add(&v, sizeof v); };
  value(rows);
  value(d);
  value(c.k);
  value(c.seed);
  value(c.batch_size);
  value(c.max_epochs);
  value(c.init);
  value(c.init_size);
  value(c.reassignment_ratio);
  value(c.max_no_improvement);
  value(c.tol);
  value(c.refine);
  value(c.lloyd);
  value(c.n_init);
  value(c.breathe);
  value(c.breathe_rows);
  add(c.init_centres.data(), c.init_centres.size() * sizeof(float));
  add(c.init_absorbed.data(), c.init_absorbed.size() * sizeof(double));
  return h;
}

void validate(const RowSource& src, const KMeansConfig& cfg) {
  const std::uint64_t rows = src.rows();
  const int d = src.d();
  SEGSTREAM_EXPECTS(cfg.k >= 1, "--k must be at least 1 (got {})", cfg.k);
  SEGSTREAM_EXPECTS(d >= 1, "at least one feature column is needed");
  SEGSTREAM_EXPECTS(static_cast<std::uint64_t>(cfg.k) <= rows, "--k {} is more than the {} rows to cluster",
                    cfg.k, rows);
  SEGSTREAM_EXPECTS(cfg.batch_size >= 1, "--batch-size must be at least 1");
  SEGSTREAM_EXPECTS(cfg.max_epochs >= 1, "--max-epochs must be at least 1");
  SEGSTREAM_EXPECTS(cfg.n_init >= 0, "--n-init must be auto or at least 1");
  SEGSTREAM_EXPECTS(cfg.breathe >= 0, "--breathe must not be negative");
  SEGSTREAM_EXPECTS(cfg.refine >= 0, "--refine must not be negative");
  SEGSTREAM_EXPECTS(cfg.reassignment_ratio >= 0 && std::isfinite(cfg.reassignment_ratio),
                    "--reassignment-ratio must be a non-negative number");
  SEGSTREAM_EXPECTS(cfg.tol >= 0 && std::isfinite(cfg.tol), "--tol must be a non-negative number");
  if (cfg.init == KMeansInit::kGiven) {
    SEGSTREAM_EXPECTS(
        cfg.init_centres.size() == static_cast<std::size_t>(cfg.k) * static_cast<std::size_t>(d),
        "the initial centres are {} values, expected k × d = {} × {}", cfg.init_centres.size(), cfg.k, d);
    SEGSTREAM_EXPECTS(
        cfg.init_absorbed.empty() || cfg.init_absorbed.size() == static_cast<std::size_t>(cfg.k),
        "the initial absorbed weights are {} values, expected k = {}", cfg.init_absorbed.size(), cfg.k);
    for (double w : cfg.init_absorbed)
      SEGSTREAM_EXPECTS(std::isfinite(w) && w >= 0,
                        "an initial absorbed weight is {}, expected a finite "
                        "non-negative number",
                        w);
  } else {
    SEGSTREAM_EXPECTS(cfg.init_absorbed.empty(), "initial absorbed weights need given initial centres{}", "");
  }
  const float* weights = src.weights();
  if (weights == nullptr) return;
  double total_weight = 0;
  std::uint64_t positive = 0;
  for (std::uint64_t i = 0; i < rows; ++i) {
    SEGSTREAM_CHECK_INPUT(std::isfinite(weights[i]) && weights[i] >= 0,
                          "row {}: weight {} is not a finite non-negative number", i, weights[i]);
    total_weight += weights[i];
    positive += weights[i] > 0 ? 1 : 0;
  }
  SEGSTREAM_CHECK_INPUT(total_weight > 0, "all {} weights are 0", rows);
  SEGSTREAM_CHECK_INPUT(positive >= static_cast<std::uint64_t>(cfg.k),
                        "only {} rows have a positive weight, fewer than --k {}", positive, cfg.k);
}

}  // namespace

struct KMeansTrainer::Impl {
  using Slot = kernels::BlockPipeline::Slot;

  const RowSource& src;
  const KMeansConfig& cfg;
  kernels::Backend& backend;
  TrainerState st;
  std::uint64_t batch;      // rows per mini-batch step
  std::uint64_t max_steps;  // mini-batch steps at most
  int n_restarts;
  // Made on first use and kept for the whole fit, so rows resident on a device stay there between passes.
  std::unique_ptr<kernels::BlockPipeline> pipeline;
  std::unique_ptr<PassRunner> passes;
  std::unique_ptr<detail::Visit> visit;   // the mini-batch order of the current restart
  Slot* staged = nullptr;                 // the next step's batch, drawn and uploaded ahead
  std::vector<VisitCursor> cursor_after;  // per slot: the cursor after its batch was drawn
  kernels::ClusterSums sums;
  std::unique_ptr<detail::Breather> breather;  // the non-local phase of the current restart

  Impl(const RowSource& s, const KMeansConfig& c, kernels::Backend& b)
      : src(s),
        cfg(c),
        backend(b),
        batch(std::min<std::uint64_t>(c.batch_size, s.rows())),
        max_steps(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(c.max_epochs) * s.rows() / batch)),
        n_restarts(restarts(c, s.rows(), s.d())) {}

  kernels::BlockPipeline& pipe() {
    if (!pipeline) {
      // Blocks of a full pass, or a whole batch; every row stays on a device when its budget holds them.
      const std::uint64_t block = std::max(kPassRows, batch);
      pipeline = backend.make_pipeline(src.d(), cfg.k, block, src.rows());
      passes = std::make_unique<PassRunner>(*pipeline);
      cursor_after.assign(static_cast<std::size_t>(pipeline->depth()), VisitCursor{});
    }
    return *pipeline;
  }

  std::uint64_t seed() const { return restart_seed(cfg.seed, st.restart); }

  void step() {
    switch (st.phase) {
      case Phase::kInit:
        return init();
      case Phase::kMiniBatch:
        return mini_batch_step();
      case Phase::kLloyd:
        return lloyd_pass();
      case Phase::kBreathe:
        return breathe_step();
      case Phase::kFinal:
        return final_pass();
      case Phase::kDone:
        return;
    }
  }

  void init() {
    st.centres = detail::initial_centres(src, cfg, seed(), backend);
    st.history.clear();
    st.steps = 0;
    st.passes = 0;
    st.breath = TrainerState::Breath{};
    breather.reset();
    const auto k = static_cast<std::size_t>(cfg.k);
    if (cfg.lloyd) {
      st.absorbed.assign(k, 0.0);
      st.phase = Phase::kLloyd;
      return;
    }
    st.absorbed = cfg.init_absorbed.empty() ? std::vector<double>(k, 0.0) : cfg.init_absorbed;
    st.ewa = 0;
    st.best_ewa = std::numeric_limits<double>::infinity();
    st.no_improvement = 0;
    st.since_reassign = 0;
    st.visit = VisitCursor{};
    st.stop = "max_epochs";
    visit.reset();
    staged = nullptr;
    st.phase = Phase::kMiniBatch;
  }

  // Draws the next batch into a slot and uploads it.
  Slot& stage() {
    Slot& slot = pipe().acquire();
    visit->next(batch, slot.x, slot.w);
    cursor_after[static_cast<std::size_t>(slot.index)] = visit->cursor();
    pipeline->upload(slot, batch, slot.x, slot.w);
    return slot;
  }

  // One of scikit-learn's MiniBatchKMeans steps.
  void mini_batch_step() {
    const int k = cfg.k, d = src.d();
    const std::uint64_t rows = src.rows();
    if (!st.tol_known) {
      st.tol = cfg.tol > 0 ? cfg.tol * detail::mean_variance(src) : 0.0;
      st.tol_known = true;
    }
    if (!visit) visit = std::make_unique<detail::Visit>(src, seed(), 0, st.visit);
    kernels::BlockPipeline& pl = pipe();
    Slot& slot = staged != nullptr ? *staged : stage();
    staged = nullptr;
    pl.compute(slot, st.centres.data(), {false, kernels::Accumulate::kSums, true});
    const VisitCursor after = cursor_after[static_cast<std::size_t>(slot.index)];
    // The next batch is drawn and copied while this one is computed, where the ring has room for it.
    if (pl.depth() > 1 && st.steps + 1 < max_steps) staged = &stage();
    const double batch_inertia = pl.wait(slot);
    sums.reset(k, d);
    pl.take_sums(slot, sums);
    const float* xb = slot.x;
    const float* wb = slot.w;

    double shift = 0;
    for (int c = 0; c < k; ++c) {
      const auto cc = static_cast<std::size_t>(c);
      const double wsum = sums.weight(c);
      if (wsum <= 0) continue;
      const double total = st.absorbed[cc] + wsum;
      for (int j = 0; j < d; ++j) {
        float& v = st.centres[cc * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)];
        const float next =
            static_cast<float>((static_cast<double>(v) * st.absorbed[cc] + sums.sum(c, j)) / total);
        shift += static_cast<double>(next - v) * static_cast<double>(next - v);
        v = next;
      }
      st.absorbed[cc] = total;
    }
    reassign_small_clusters(xb, wb);
    const std::uint64_t step = st.steps++;
    st.visit = after;
    // Convergence as scikit-learn judges it: the batch inertia per row, exponentially weighted. The first
    // step's inertia, measured against the initial centres, is left out of the average (as scikit-learn
    // leaves it out): starting from it, the average would keep falling for thousands of steps after the
    // centres have settled.
    const double per_row = batch_inertia / static_cast<double>(batch);
    bool stopped = false;
    if (step == 0) {
      st.history.push_back(per_row);
    } else {
      if (step == 1) {
        st.ewa = per_row;
      } else {
        const double alpha =
            std::min(1.0, static_cast<double>(batch) * 2.0 / (static_cast<double>(rows) + 1));
        st.ewa = st.ewa * (1 - alpha) + per_row * alpha;
      }
      st.history.push_back(st.ewa);
      if (st.tol > 0 && shift <= st.tol) {
        st.stop = "centre shift below tol";
        stopped = true;
      } else {
        if (st.ewa < st.best_ewa) {
          st.no_improvement = 0;
          st.best_ewa = st.ewa;
        } else {
          ++st.no_improvement;
        }
        if (cfg.max_no_improvement > 0 && st.no_improvement >= cfg.max_no_improvement) {
          st.stop = "no improvement in the smoothed batch inertia";
          stopped = true;
        }
      }
    }
    if (stopped || st.steps == max_steps) {
      staged = nullptr;  // a batch drawn ahead is not used
      if (cfg.refine > 0)
        st.phase = Phase::kLloyd;
      else
        local_phases_done();
    }
  }

  // Small clusters move to rows of the batch, as scikit-learn does every 10·k rows.
  void reassign_small_clusters(const float* xb, const float* wb) {
    const int k = cfg.k, d = src.d();
    st.since_reassign += batch;
    if (!(cfg.reassignment_ratio > 0 && st.since_reassign >= 10 * static_cast<std::uint64_t>(k))) return;
    st.since_reassign = 0;
    const double most = *std::max_element(st.absorbed.begin(), st.absorbed.end());
    std::vector<int> small;
    for (int c = 0; c < k; ++c)
      if (st.absorbed[static_cast<std::size_t>(c)] < cfg.reassignment_ratio * most) small.push_back(c);
    const auto limit = static_cast<std::size_t>(0.5 * static_cast<double>(batch));
    if (small.size() > limit) {
      std::stable_sort(small.begin(), small.end(), [&](int a, int b) {
        return st.absorbed[static_cast<std::size_t>(a)] < st.absorbed[static_cast<std::size_t>(b)];
      });
      small.resize(limit);
    }
    if (small.empty()) return;
    // Rows drawn without replacement with probability ∝ weight (keys u^(1/w), the largest win).
    std::vector<std::pair<double, std::uint64_t>> keys;
    for (std::uint64_t i = 0; i < batch; ++i) {
      if (wb[i] <= 0) continue;
      RandomStream rng(seed(), RandomPurpose::kKMeansReassign, st.steps * batch + i);
      keys.emplace_back(std::log(rng.uniform()) / wb[i], i);
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    double floor_weight = std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c)
      if (std::find(small.begin(), small.end(), c) == small.end())
        floor_weight = std::min(floor_weight, st.absorbed[static_cast<std::size_t>(c)]);
    for (std::size_t r = 0; r < small.size() && r < keys.size(); ++r) {
      const auto c = static_cast<std::size_t>(small[r]);
      std::copy_n(xb + keys[r].second * static_cast<std::uint64_t>(d), d,
                  st.centres.begin() + static_cast<std::ptrdiff_t>(c * static_cast<std::size_t>(d)));
      st.absorbed[c] = std::isfinite(floor_weight) ? floor_weight : st.absorbed[c];
    }
  }

  // One full Lloyd pass with exact sums; the phase ends when no centre moves or the passes are done.
  void lloyd_pass() {
    const int k = cfg.k, d = src.d();
    pipe();
    const detail::Pass p = detail::full_pass(*passes, src, st.centres, k, static_cast<std::size_t>(k),
                                             kernels::Accumulate::kSums);
    st.history.push_back(p.inertia);
    std::vector<float> next = detail::lloyd_centres(p, st.centres, k, d);
    ++st.passes;
    const bool same = next == st.centres;
    st.centres.swap(next);
    const int limit = cfg.lloyd ? cfg.max_epochs : cfg.refine;
    if (same)
      st.stop = "centres unchanged";
    else if (st.passes >= limit)
      st.stop = "max passes";
    if (same || st.passes >= limit) local_phases_done();
  }

  // After the mini-batch steps and Lloyd passes: the non-local phase where it can run, else the final pass.
  void local_phases_done() {
    st.phase = Phase::kFinal;
    // Given centres are continued, not moved across the data: a warm start keeps its segments (update
    // retires and adds segments itself, before training).
    if (cfg.breathe <= 0 || cfg.k < 2 || cfg.init == KMeansInit::kGiven) return;
    if (!breather) breather = std::make_unique<detail::Breather>(src, cfg, seed(), backend);
    if (breather->begin(st)) st.phase = Phase::kBreathe;
  }

  // One pass of the non-local phase: over all rows to measure the centres it starts from when it works on a
  // sample, else a Lloyd pass over its rows.
  void breathe_step() {
    if (!breather) breather = std::make_unique<detail::Breather>(src, cfg, seed(), backend);
    if (st.breath.stage == TrainerState::Breath::Stage::kBefore) {
      pipe();
      st.breath.before_full =
          detail::full_pass(*passes, src, st.breath.before, cfg.k, 0, kernels::Accumulate::kNone).inertia;
      st.breath.stage = TrainerState::Breath::Stage::kConverge;
      return;
    }
    if (breather->step(st)) st.phase = Phase::kFinal;
  }

  // The final assignment of a restart (counts and weights only), and the choice of the best restart.
  void final_pass() {
    const int k = cfg.k;
    pipe();
    detail::Pass p = detail::full_pass(*passes, src, st.centres, k, 0, kernels::Accumulate::kCounts);
    // Centres the non-local phase found on a sample stand only if all rows agree they are better.
    if (st.breath.log.depth > 0 && st.breath.log.sampled && !(p.inertia < st.breath.before_full)) {
      st.centres = st.breath.before;
      st.absorbed = st.breath.before_absorbed;
      st.breath.log.reverted = true;
      p = detail::full_pass(*passes, src, st.centres, k, 0, kernels::Accumulate::kCounts);
    }
    KMeansModel m;
    m.k = k;
    m.d = src.d();
    m.centres = st.centres;
    m.absorbed = st.absorbed;
    m.inertia_history = st.history;
    m.steps = st.steps;
    m.lloyd_passes = st.passes;
    m.stop_reason = st.stop;
    m.restart = st.restart;
    m.breathing = st.breath.log;
    m.inertia = p.inertia;
    for (int c = 0; c < k; ++c) {
      m.counts.push_back(p.sums.count(c));
      m.cluster_weight.push_back(p.sums.weight(c));
    }
    if (!st.have_best || m.inertia < st.best.inertia) {
      st.best = std::move(m);
      st.have_best = true;
    }
    ++st.restart;
    st.phase = st.restart < n_restarts ? Phase::kInit : Phase::kDone;
  }
};

KMeansTrainer::KMeansTrainer(const RowSource& rows, const KMeansConfig& config, kernels::Backend& backend)
    : impl_(std::make_unique<Impl>(rows, config, backend)) {
  validate(rows, config);
  TrainerState& st = impl_->st;
  st.rows = rows.rows();
  st.d = rows.d();
  st.k = config.k;
  st.config_digest = config_digest(config, rows.rows(), rows.d());
}

KMeansTrainer::KMeansTrainer(const RowSource& rows, const KMeansConfig& config, kernels::Backend& backend,
                             TrainerState state)
    : KMeansTrainer(rows, config, backend) {
  const TrainerState& fresh = impl_->st;
  SEGSTREAM_CHECK_INPUT(
      state.rows == fresh.rows && state.d == fresh.d && state.k == fresh.k &&
          state.config_digest == fresh.config_digest,
      "the saved k-means state belongs to another fit ({} rows × {} columns, k = {}; this fit "
      "has {} × {}, k = {}, or other options)",
      state.rows, state.d, state.k, fresh.rows, fresh.d, fresh.k);
  const auto kd = static_cast<std::size_t>(state.k) * static_cast<std::size_t>(state.d);
  SEGSTREAM_CHECK_INPUT(
      state.phase == Phase::kInit ||
          (state.centres.size() == kd && state.absorbed.size() == static_cast<std::size_t>(state.k)),
      "the saved k-means state holds {} centre values and {} weights, expected {} and {}",
      state.centres.size(), state.absorbed.size(), kd, state.k);
  SEGSTREAM_CHECK_INPUT(state.restart >= 0 && state.restart <= impl_->n_restarts,
                        "the saved k-means state is at restart {} of {}", state.restart, impl_->n_restarts);
  impl_->st = std::move(state);
}

KMeansTrainer::~KMeansTrainer() = default;

bool KMeansTrainer::done() const {
  return impl_->st.phase == Phase::kDone;
}

void KMeansTrainer::step() {
  auto& st = impl_->st;
  const Phase phase = st.phase;
  const auto t0 = std::chrono::steady_clock::now();
  impl_->step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  switch (phase) {
    case Phase::kInit:
      st.seconds.init += s;
      break;
    case Phase::kMiniBatch:
      st.seconds.mini_batch += s;
      break;
    case Phase::kLloyd:
      st.seconds.lloyd += s;
      break;
    case Phase::kBreathe:
      st.seconds.breathe += s;
      break;
    case Phase::kFinal:
      st.seconds.final_pass += s;
      break;
    case Phase::kDone:
      break;
  }
}

const TrainerState& KMeansTrainer::state() const {
  return impl_->st;
}

KMeansModel KMeansTrainer::model() const {
  const TrainerState& st = impl_->st;
  SEGSTREAM_ASSERT(st.phase == Phase::kDone && st.have_best, "model() of a fit that has not finished{}", "");
  KMeansModel m = st.best;
  m.seconds = st.seconds;
  return m;
}

const char* phase_name(TrainerState::Phase phase) {
  switch (phase) {
    case Phase::kInit:
      return "initialisation";
    case Phase::kMiniBatch:
      return "mini-batch steps";
    case Phase::kLloyd:
      return "Lloyd passes";
    case Phase::kBreathe:
      return "non-local phase";
    case Phase::kFinal:
      return "final pass";
    case Phase::kDone:
      return "done";
  }
  return "?";
}

int restarts(const KMeansConfig& c, std::uint64_t rows, int d) {
  if (c.n_init > 0) return c.n_init;
  const double work = static_cast<double>(rows) * d * c.k;
  return c.breathe > 0 && work > 0x1p22 ? 1 : 3;
}

std::uint64_t breathing_rows(const KMeansConfig& c, std::uint64_t rows) {
  const std::uint64_t cap =
      c.breathe_rows > 0
          ? c.breathe_rows
          : std::clamp<std::uint64_t>(1024 * static_cast<std::uint64_t>(std::max(c.k, 1)), 32768, 262144);
  return std::min(rows, cap);
}

void MemoryRows::read(std::uint64_t start, std::uint64_t n, float* out) const {
  const auto d = static_cast<std::uint64_t>(d_);
  std::copy_n(x_ + start * d, n * d, out);
}

std::vector<float> sample_rows(const RowSource& source, std::uint64_t n, std::uint64_t seed,
                               std::uint64_t salt, std::vector<float>* weights) {
  detail::Visit visit(source, seed, salt);
  std::vector<float> x(n * static_cast<std::uint64_t>(source.d())), w(n);
  visit.next(n, x.data(), w.data());
  if (weights != nullptr) *weights = std::move(w);
  return x;
}

std::vector<std::uint64_t> sample_indices(std::uint64_t rows, std::uint64_t n, std::uint64_t seed,
                                          std::uint64_t salt) {
  std::vector<std::uint64_t> out;
  if (n >= rows) {
    out.resize(rows);
    std::iota(out.begin(), out.end(), std::uint64_t{0});
    return out;
  }
  // Floyd: for j = rows − n … rows − 1 take a uniform t ≤ j, or j itself when t is taken already.
  RandomStream rng(seed, RandomPurpose::kRowSample, salt);
  std::unordered_set<std::uint64_t> taken;
  taken.reserve(n * 2);
  for (std::uint64_t j = rows - n; j < rows; ++j) {
    auto t = static_cast<std::uint64_t>(rng.uniform() * static_cast<double>(j + 1));
    t = std::min(t, j);
    if (!taken.insert(t).second) taken.insert(j);
  }
  out.assign(taken.begin(), taken.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<float> uniform_sample(const RowSource& source, std::uint64_t n, std::uint64_t seed,
                                  std::uint64_t salt, std::vector<float>* weights) {
  const std::vector<std::uint64_t> rows = sample_indices(source.rows(), n, seed, salt);
  const auto d = static_cast<std::uint64_t>(source.d());
  std::vector<float> x(rows.size() * d), w(rows.size(), 1.0f);
  std::vector<float> block;
  for (std::size_t i = 0; i < rows.size();) {
    throw_if_interrupted();
    const std::uint64_t start = rows[i] / kPassRows * kPassRows;
    const std::uint64_t count = std::min(kPassRows, source.rows() - start);
    const float* b = detail::rows_of(source, start, count, block);
    for (; i < rows.size() && rows[i] < start + count; ++i) {
      std::copy_n(b + (rows[i] - start) * d, d, x.begin() + static_cast<std::ptrdiff_t>(i * d));
      if (source.weights() != nullptr) w[i] = source.weights()[rows[i]];
    }
  }
  if (weights != nullptr) *weights = std::move(w);
  return x;
}

KMeansModel fit_kmeans(const RowSource& rows, const KMeansConfig& config, kernels::Backend& backend) {
  KMeansTrainer trainer(rows, config, backend);
  while (!trainer.done()) {
    throw_if_interrupted();
    trainer.step();
  }
  return trainer.model();
}

KMeansModel fit_kmeans(const RowSource& rows, const KMeansConfig& config) {
  const auto backend = kernels::cpu::make_backend(config.threads);
  return fit_kmeans(rows, config, *backend);
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

double assign_kmeans(const KMeansModel& model, const float* x, std::uint64_t rows, const float* weights,
                     std::int32_t* labels, float* distance2, float* margin, int threads) {
  return kernels::cpu::assign(x, rows, model.d, model.centres.data(), model.k, weights, labels, distance2,
                              margin, threads > 0 ? threads : omp_get_max_threads());
}

}  // namespace segstream::host
