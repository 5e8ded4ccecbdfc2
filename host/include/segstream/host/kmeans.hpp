// Mini-batch k-means with scikit-learn's semantics (KMEANS.md), on rows held in memory, through the CPU
// backend's compute contract (kernels/kmeans_cpu.hpp).
//
// Initialisation: greedy k-means++ (2 + ⌊ln k⌋ candidates per centre) on a sample of rows, random rows, or
// given centres. Mini-batch steps: per centre c ← (c·W + Σ w·x) / (W + Σ w) over the batch's rows, W the
// weight absorbed so far; small clusters move to rows of the batch (--reassignment-ratio); early stopping
// on the exponentially weighted batch inertia (--max-no-improvement) or the centre shift (--tol). Optional
// full Lloyd passes (--refine) with exact per-cluster sums; empty clusters move to the rows farthest from
// their centres. Every random draw is Philox keyed by (seed, purpose, global index): the result does not
// depend on threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace segstream::host {

enum class KMeansInit : std::uint8_t { kKMeansPlusPlus, kRandom, kGiven };

struct KMeansConfig {
  int k = 8;
  std::uint64_t seed = 0;
  std::uint64_t batch_size = 1024;
  int max_epochs = 100;  // mini-batch steps are bounded by max_epochs · rows / batch_size
  KMeansInit init = KMeansInit::kKMeansPlusPlus;
  std::vector<float> init_centres;  // kGiven: k × d, row-major
  std::uint64_t init_size = 0;      // rows sampled for the initialisation; 0 = min(rows, max(3·batch, 3·k))
  double reassignment_ratio = 0.01;
  int max_no_improvement = 10;  // 0 = no early stopping on the inertia
  double tol = 0.0;             // centre-shift tolerance, × the mean feature variance
  int refine = 0;               // full Lloyd passes after the mini-batch phase
  bool lloyd = false;           // full-batch Lloyd (max_epochs passes) instead of mini-batches
  int n_init = 1;               // restarts; the lowest final inertia wins
  int threads = 0;              // 0 = OpenMP default
};

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
};

// Fits k centres to `rows` rows of d columns (row-major; weights null = all 1). UsageError for k < 1,
// k > rows, a bad option or given centres of the wrong shape; InputError naming the row and column of a
// non-finite value, and the row of a negative or non-finite weight, or when all weights are 0.
KMeansModel fit_kmeans(const float* x, std::uint64_t rows, int d, const float* weights,
                       const KMeansConfig& config);

// Labels, squared distances and margins of rows against a model's centres; returns Σ w·d².
double assign_kmeans(const KMeansModel& model, const float* x, std::uint64_t rows, const float* weights,
                     std::int32_t* labels, float* distance2, float* margin, int threads = 0);

}  // namespace segstream::host
