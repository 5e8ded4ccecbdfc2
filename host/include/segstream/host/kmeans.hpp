// Mini-batch k-means with scikit-learn's semantics (KMEANS.md), written once against the compute contract
// (kernels/backend.hpp): the same model on every backend, for any number of threads, whether the rows are
// held in memory or read from a file.
//
// Initialisation: greedy k-means++ (2 + ⌊ln k⌋ candidates per centre) on a sample of rows; k-means‖ over
// all rows (5 rounds oversampling 2k rows each, then weighted k-means++ on the candidates); random rows; or
// given centres (optionally with the weights they absorbed). Mini-batch steps: per centre
// c ← (c·W + Σ w·x) / (W + Σ w) over the batch's rows, W the weight absorbed so far; small clusters move to
// rows of the batch (--reassignment-ratio); early stopping on the exponentially weighted batch inertia
// (--max-no-improvement) or the centre shift (--tol). Optional full Lloyd passes (--refine) with exact
// per-cluster sums; empty clusters move to the rows farthest from their centres. Then the non-local phase
// (breathing k-means, Fritzke 2020; on by default): m centres are added next to those with the largest
// error and Lloyd re-converges, the m least useful (utility = the margin their rows would lose) are removed
// and Lloyd re-converges, and the round is kept when the inertia fell; m shrinks by one after each round
// that did not help. It runs on the rows themselves, or on a sample of them when they are many, and then a
// full pass confirms it beat the centres it started from. Every random draw is Philox keyed by (seed,
// purpose, global index).
//
// The trainer keeps its whole state in one value (TrainerState) that step() advances and that serialises
// to bytes, so a fit can stop after any step and continue in a fresh trainer with the same result bit for
// bit; checkpoints, resume and warm starts are that one mechanism.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "segstream/kernels/backend.hpp"

namespace segstream::host {

enum class KMeansInit : std::uint8_t { kKMeansPlusPlus, kKMeansParallel, kRandom, kGiven };

struct KMeansConfig {
  int k = 8;
  std::uint64_t seed = 0;
  std::uint64_t batch_size = 1024;
  int max_epochs = 100;  // mini-batch steps are bounded by max_epochs · rows / batch_size
  KMeansInit init = KMeansInit::kKMeansPlusPlus;
  std::vector<float> init_centres;    // kGiven: k × d, row-major
  std::vector<double> init_absorbed;  // kGiven, optional: the weight each given centre absorbed (a warm
                                      // start); empty starts from 0, as scikit-learn's init= does
  std::uint64_t init_size = 0;  // rows sampled for the initialisation; 0 = min(rows, max(3·batch, 3·k))
  double reassignment_ratio = 0.01;
  int max_no_improvement = 10;     // 0 = no early stopping on the inertia
  double tol = 0.0;                // centre-shift tolerance, × the mean feature variance
  int refine = 0;                  // full Lloyd passes after the mini-batch phase
  bool lloyd = false;              // full-batch Lloyd (max_epochs passes) instead of mini-batches
  int n_init = 0;                  // restarts, the lowest final inertia wins; 0 = auto (restarts())
  int breathe = 5;                 // breathing depth m of the non-local phase; 0 = no such phase
  std::uint64_t breathe_rows = 0;  // rows the non-local phase works on; 0 = breathe_rows()'s default
  int threads = 0;                 // CPU threads when no backend is given (0 = OpenMP default)
};

// The restarts a fit runs: n_init, or for auto one (the non-local phase does what restarts would), three
// with the non-local phase off or on small data (rows × d × k ≤ 2^22, where restarts cost little).
int restarts(const KMeansConfig& config, std::uint64_t rows, int d);
// The rows the non-local phase works on: every row when there are at most breathe_rows (default
// 1024·k, at least 32,768 and at most 262,144), else a sample of that many.
std::uint64_t breathing_rows(const KMeansConfig& config, std::uint64_t rows);

struct KMeansModel {
  int k = 0;
  int d = 0;
  std::vector<float> centres;          // k × d
  std::vector<double> absorbed;        // weight each centre absorbed in the mini-batch phase
  std::vector<std::uint64_t> counts;   // rows per cluster in the final assignment
  std::vector<double> cluster_weight;  // Σ w per cluster in the final assignment
  double inertia = 0;                  // Σ w·d² of the final assignment
  std::vector<double>
      inertia_history;      // per mini-batch step (the smoothed batch inertia), then per Lloyd pass
  std::uint64_t steps = 0;  // mini-batch steps taken
  int lloyd_passes = 0;     // full passes taken (refine or lloyd)
  std::string stop_reason;  // why the last phase stopped
  int restart = 0;          // the restart that won
  // The non-local phase of the winning restart.
  struct Breathing {
    int depth = 0;             // m at the start (0: the phase did not run)
    std::uint64_t rows = 0;    // rows it worked on
    bool sampled = false;      // a sample of the rows, not all of them
    int rounds = 0, kept = 0;  // rounds tried, and those that lowered the inertia
    int passes = 0;            // Lloyd passes over its rows
    double before = 0;         // Σ w·d² on its rows of the centres it started from, after Lloyd
    double after = 0;          // … of its best centres
    bool reverted = false;     // sampled, and the full pass found its centres no better: not used
    bool operator==(const Breathing&) const = default;
  } breathing;
  // Wall seconds of each phase, summed over the restarts.
  struct Seconds {
    double init = 0, mini_batch = 0, lloyd = 0, breathe = 0, final_pass = 0;
  } seconds;
};

// The rows the trainer clusters: held in memory or read on demand (a features file through a transform).
// The trainer reads whole tiles of kTileRows rows, in an order drawn from the seed, so a model is the same
// whichever kind of source holds the rows.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual std::uint64_t rows() const = 0;
  virtual int d() const = 0;
  // Rows [start, start + n) into out (n × d, row-major); InputError naming row and column of a non-finite
  // value.
  virtual void read(std::uint64_t start, std::uint64_t n, float* out) const = 0;
  virtual const float* weights() const = 0;  // one per row, or null for all 1
  // Rows [start, start + n) where they already lie in memory row-major, or null (then use read).
  virtual const float* view(std::uint64_t /*start*/, std::uint64_t /*n*/) const { return nullptr; }
};

inline constexpr std::uint64_t kTileRows = 4096;   // rows read together by the mini-batch sequence
inline constexpr std::uint64_t kWindowTiles = 16;  // tiles whose rows are shuffled together
inline constexpr std::uint64_t kPassRows = 65536;  // rows per block of a full pass

// Rows already in memory (row-major; weights null = all 1).
class MemoryRows : public RowSource {
 public:
  MemoryRows(const float* x, std::uint64_t rows, int d, const float* weights)
      : x_(x), rows_(rows), d_(d), w_(weights) {}
  std::uint64_t rows() const override { return rows_; }
  int d() const override { return d_; }
  void read(std::uint64_t start, std::uint64_t n, float* out) const override;
  const float* weights() const override { return w_; }
  const float* view(std::uint64_t start, std::uint64_t) const override {
    return x_ + start * static_cast<std::uint64_t>(d_);
  }

 private:
  const float* x_;
  std::uint64_t rows_;
  int d_;
  const float* w_;
};

// The first `n` rows of the order the trainer visits rows in with (seed, salt): whole tiles in a Philox
// permutation, shuffled a window of tiles at a time; their weights in *weights when asked. Used for the
// initialisation and transform samples.
std::vector<float> sample_rows(const RowSource& source, std::uint64_t n, std::uint64_t seed,
                               std::uint64_t salt, std::vector<float>* weights = nullptr);

// A uniform sample of n distinct rows (all rows when n ≥ rows), in row order, drawn from (seed, salt) by
// Floyd's algorithm: the same rows whatever the source, its chunking or the order the rows were written in.
// Reads only the blocks of kPassRows rows that hold a sampled row. Their weights in *weights when asked (all
// 1 without weights).
std::vector<float> uniform_sample(const RowSource& source, std::uint64_t n, std::uint64_t seed,
                                  std::uint64_t salt, std::vector<float>* weights = nullptr);
// The row indices of that sample, ascending.
std::vector<std::uint64_t> sample_indices(std::uint64_t rows, std::uint64_t n, std::uint64_t seed,
                                          std::uint64_t salt);

// Where the visiting order stands: the permutations of tiles drawn so far (epochs begun), the first tile
// of the window being taken, and the rows of that window already taken. With the step count, these are all
// the trainer's random-number counters.
struct VisitCursor {
  std::uint64_t epoch = 0;
  std::uint64_t window_begin = 0;
  std::uint64_t position = 0;
  bool operator==(const VisitCursor&) const = default;
};

// The trainer's whole state between two steps: everything a fresh trainer needs to continue the same fit.
struct TrainerState {
  enum class Phase : std::uint8_t { kInit, kMiniBatch, kLloyd, kBreathe, kFinal, kDone };
  // The run it belongs to (checked when a trainer resumes it).
  std::uint64_t rows = 0;
  int d = 0, k = 0;
  std::uint64_t config_digest = 0;  // of the KMeansConfig, given centres included

  int restart = 0;
  Phase phase = Phase::kInit;
  std::vector<float> centres;    // k × d
  std::vector<double> absorbed;  // k
  std::vector<double> history;
  std::uint64_t steps = 0;  // mini-batch steps of this restart (the batch counter of every draw)
  int passes = 0;           // Lloyd passes of this restart
  std::string stop;
  double ewa = 0, best_ewa = 0;  // the smoothed batch inertia and its best
  int no_improvement = 0;
  std::uint64_t since_reassign = 0;  // rows since the last small-cluster reassignment
  VisitCursor visit;                 // after the batches of `steps`
  bool tol_known = false;            // --tol × the mean feature variance, computed once
  double tol = 0;
  // The non-local phase: what it works on, where it stands, its best centres so far.
  struct Breath {
    enum class Stage : std::uint8_t {
      kBefore,    // a full pass measures the centres it starts from (when it works on a sample)
      kConverge,  // Lloyd from those centres
      kIn,        // Lloyd after m centres were added
      kOut        // Lloyd after m centres were removed
    };
    Stage stage = Stage::kBefore;
    int m = 0;                        // the breathing depth now
    std::vector<float> work;          // the centres Lloyd is converging (k or k + m of them)
    int passes = 0;                   // passes of the current Lloyd run
    double tol = 0;                   // Lloyd's centre-shift tolerance on the phase's rows
    std::vector<float> best;          // k × d, the best centres so far
    std::vector<double> best_weight;  // Σ w of their clusters on the phase's rows
    std::vector<float> before;        // the centres the phase started from, and their absorbed weights
    std::vector<double> before_absorbed;
    double before_full = 0;  // Σ w·d² of `before` over all rows (sampled only)
    KMeansModel::Breathing log;
    bool operator==(const Breath&) const = default;
  } breath;
  bool have_best = false;  // the best finished restart so far
  KMeansModel best;
  KMeansModel::Seconds seconds;

  bool operator==(const TrainerState&) const;  // every field but the seconds
};

// "initialisation", "mini-batch steps", "Lloyd passes", "non-local phase", "final pass", "done".
const char* phase_name(TrainerState::Phase phase);

// The state as bytes, and back (InputError naming what is wrong with bytes that are not a state).
std::vector<std::uint8_t> serialize_trainer_state(const TrainerState& state);
TrainerState deserialize_trainer_state(std::span<const std::uint8_t> bytes);

// A fit, one step at a time: the initialisation of a restart, one mini-batch step, one Lloyd pass, or the
// final pass of a restart. The rows, the config and the backend must outlive it.
class KMeansTrainer {
 public:
  // A new fit. UsageError for k < 1, k > rows, a bad option or given centres of the wrong shape;
  // InputError naming the row of a negative or non-finite weight, or when all weights are 0.
  KMeansTrainer(const RowSource& rows, const KMeansConfig& config, kernels::Backend& backend);
  // Continues a fit from a state saved after any step (InputError when it belongs to another fit).
  KMeansTrainer(const RowSource& rows, const KMeansConfig& config, kernels::Backend& backend,
                TrainerState state);
  ~KMeansTrainer();
  KMeansTrainer(const KMeansTrainer&) = delete;
  KMeansTrainer& operator=(const KMeansTrainer&) = delete;

  bool done() const;
  void step();  // InterruptedError between blocks of a pass when a signal arrived
  const TrainerState& state() const;
  KMeansModel model() const;  // the winning restart, once done()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Fits k centres to the source's rows on `backend`: a trainer stepped to the end. Errors as the trainer's;
// InputError naming the row and column of a non-finite value.
KMeansModel fit_kmeans(const RowSource& rows, const KMeansConfig& config, kernels::Backend& backend);
// The same on the CPU backend with config.threads.
KMeansModel fit_kmeans(const RowSource& rows, const KMeansConfig& config);
// The same on rows in memory (row-major; weights null = all 1), checking every value is finite.
KMeansModel fit_kmeans(const float* x, std::uint64_t rows, int d, const float* weights,
                       const KMeansConfig& config);

// --k auto: k chosen by Sugar and James's jump method ("Finding the number of clusters in a data set", JASA
// 2003) on a uniform sample of the rows. For each k of the range the sample is fitted with the config (its
// k replaced) and its distortion d_k = Σ w·d² / (Σ w · columns) measured; the chosen k maximises the jump
// d_k^−Y − d_{k−1}^−Y with Y = p/2, p the sample's effective dimension (the participation ratio
// (Σλ)² / Σλ² of its covariance's eigenvalues, which counts correlated columns once), d_0^−Y = 0.
struct KSelection {
  int k_min = 0, k_max = 0;
  std::uint64_t sample_rows = 0;
  double effective_dims = 0;
  struct Point {
    int k;
    double inertia;     // of the sample's fit
    double distortion;  // d_k
    double jump;        // d_k^−Y − d_{k−1}^−Y, scaled by the largest d^−Y of the range
  };
  std::vector<Point> curve;
  int chosen = 0;
};

inline constexpr std::uint64_t kKSelectionRows = 20000;  // rows of the sample --k auto fits

// UsageError when k_min < 1, k_max < k_min or the rows are fewer than k_max.
KSelection choose_k(const RowSource& rows, const KMeansConfig& config, int k_min, int k_max,
                    kernels::Backend& backend, std::uint64_t sample_rows = kKSelectionRows);

// Labels, squared distances and margins of rows against a model's centres (CPU backend); returns Σ w·d².
double assign_kmeans(const KMeansModel& model, const float* x, std::uint64_t rows, const float* weights,
                     std::int32_t* labels, float* distance2, float* margin, int threads = 0);

}  // namespace segstream::host
