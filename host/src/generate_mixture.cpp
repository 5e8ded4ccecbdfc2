// The feature-matrix generator: a K-component Gaussian mixture with known labels, for clustering at scale.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

#include "parallel.hpp"

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"

namespace segstream::host {

void MixtureGeneratorConfig::validate() const {
  SEGSTREAM_EXPECTS(rows > 0, "--customers must be at least 1 (got {})", rows);
  SEGSTREAM_EXPECTS(dims > 0 && dims <= 4096, "--dims must be within [1, 4096] (got {})", dims);
  SEGSTREAM_EXPECTS(clusters > 0 && clusters <= 65536, "--clusters must be within [1, 65536] (got {})",
                    clusters);
  SEGSTREAM_EXPECTS(clusters <= rows, "--clusters ({}) must not exceed --customers ({})", clusters, rows);
  SEGSTREAM_EXPECTS(cluster_std > 0 && std::isfinite(cluster_std), "--cluster-std must be positive (got {})",
                    cluster_std);
  SEGSTREAM_EXPECTS(separation >= 0 && std::isfinite(separation),
                    "--separation must be non-negative (got {})", separation);
  SEGSTREAM_EXPECTS(window >= 1, "--window must be at least 1 (got {})", window);
  SEGSTREAM_EXPECTS(drift_fraction >= 0.0 && drift_fraction <= 1.0,
                    "--drift-fraction must be within [0, 1] (got {})", drift_fraction);
  SEGSTREAM_EXPECTS(drift_fraction == 0.0 || clusters >= 2, "--drift-fraction needs at least 2 clusters{}",
                    "");
  SEGSTREAM_EXPECTS(batch_rows > 0, "batch rows must be positive");
  SEGSTREAM_EXPECTS(threads >= 0, "--threads must be non-negative (got {})", threads);
}

namespace {

// Centres at least `separation · cluster_std` apart (rejection sampling in a box that grows when crowded),
// per-cluster spreads in [0.7, 1.3] · cluster_std, and mixing weights in [0.5, 1.5] before normalisation.
struct Mixture {
  std::vector<float> centers;  // K × D
  std::vector<double> spread;  // K
  std::vector<double> cdf;     // K

  explicit Mixture(const MixtureGeneratorConfig& c) {
    RandomStream rng(c.seed, RandomPurpose::kMixtureModel, 0);
    const std::size_t k = c.clusters, d = c.dims;
    const double min_dist = c.separation * c.cluster_std;
    double half = std::max(1.0, min_dist * std::pow(static_cast<double>(k), 1.0 / static_cast<double>(d)));
    centers.resize(k * d);
    for (std::size_t i = 0; i < k; ++i) {
      for (int attempt = 0;; ++attempt) {
        if (attempt > 0 && attempt % 200 == 0) half *= 1.25;
        for (std::size_t j = 0; j < d; ++j) centers[i * d + j] = static_cast<float>(rng.uniform(-half, half));
        bool ok = true;
        for (std::size_t o = 0; o < i && ok; ++o) {
          double dist2 = 0;
          for (std::size_t j = 0; j < d; ++j) {
            const double diff = centers[i * d + j] - centers[o * d + j];
            dist2 += diff * diff;
          }
          ok = dist2 >= min_dist * min_dist;
        }
        if (ok) break;
      }
    }
    spread.resize(k);
    cdf.resize(k);
    double total = 0;
    for (std::size_t i = 0; i < k; ++i) {
      spread[i] = c.cluster_std * rng.uniform(0.7, 1.3);
      cdf[i] = (total += rng.uniform(0.5, 1.5));
    }
    for (double& x : cdf) x /= total;
    cdf.back() = 1.0;
  }

  std::uint32_t pick(double u) const {
    return static_cast<std::uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  }
};

struct RowBatch {
  std::vector<float> rows;
  std::vector<std::uint64_t> ids;
  std::vector<std::int32_t> labels, previous;  // the component in this window and in the one before
  std::uint64_t first = 0, count = 0;
};

}  // namespace

GenerateReport generate_mixture(const MixtureGeneratorConfig& config, const std::filesystem::path& out,
                                bool overwrite, const ProgressFn& progress) {
  config.validate();
  const auto t_begin = std::chrono::steady_clock::now();
  const Mixture mixture(config);
  const std::uint64_t d = config.dims, clusters = config.clusters;
  std::vector<std::string> names;
  for (std::uint64_t j = 0; j < d; ++j) names.push_back("x" + std::to_string(j));

  io::AtomicOutput output(out, overwrite);
  io::check_free_space(output,
                       static_cast<long double>(config.rows) * (4.0L * static_cast<long double>(d) + 8.0L),
                       fmt::format("{} rows of {} float32 columns and an id", config.rows, d));
  io::FeatureFileWriter writer(output.temp_path(), names, config.chunk_rows, output.final_path().string());
  const io::File& file = writer.file();
  file.create_group("/truth");
  const std::uint64_t label_chunk = std::min<std::uint64_t>(config.rows, std::uint64_t{1} << 18);
  io::Dataset labels =
      file.create_dataset<std::int32_t>("/truth/cluster", io::DatasetOptions{{0}, {label_chunk}, true, 0});
  io::Dataset previous;
  if (config.window > 1)
    previous = file.create_dataset<std::int32_t>("/truth/previous_cluster",
                                                 io::DatasetOptions{{0}, {label_chunk}, true, 0});

  const std::uint64_t id_offset = mix64(config.seed ^ 0x5E6573747265616Dull);
  // Key order: row r's key mix64(id) is base + r · gap, ascending; the id is the key's preimage.
  const std::uint64_t key_gap = std::max<std::uint64_t>(1, ~std::uint64_t{0} / config.rows);
  const std::uint64_t key_base = id_offset % key_gap;
  const int threads = config.threads > 0 ? config.threads : omp_get_max_threads();
  // Two batches alternate: batch b is drawn while batch b − 1 is written by one thread of the team.
  RowBatch buffers[2];
  const RowBatch* unwritten = nullptr;
  auto write_batch = [&](const RowBatch& buf) {
    writer.append(buf.rows.data(), buf.ids.data(), buf.count);
    labels.write_rows(buf.first, buf.count, buf.labels.data());
    if (config.window > 1) previous.write_rows(buf.first, buf.count, buf.previous.data());
  };
  constexpr std::uint64_t kTaskRows = 2048;
  GenerateReport report;
  report.customers = config.rows;

  for (std::uint64_t first = 0, b = 0; first < config.rows; first += config.batch_rows, ++b) {
    throw_if_interrupted();
    const std::uint64_t n = std::min(config.batch_rows, config.rows - first);
    RowBatch& buf = buffers[b % 2];
    buf.rows.resize(n * d);
    buf.ids.resize(n);
    buf.labels.resize(n);
    buf.previous.resize(config.window > 1 ? n : 0);
    buf.first = first;
    buf.count = n;
    const auto tasks = static_cast<std::int64_t>((n + kTaskRows - 1) / kTaskRows);
    std::vector<std::uint64_t> drifted(static_cast<std::size_t>(tasks), 0);
    detail::run_tasks_beside(
        threads, tasks,
        [&] {
          if (unwritten != nullptr) write_batch(*unwritten);
        },
        [&](std::int64_t task) {
          const std::uint64_t lo = static_cast<std::uint64_t>(task) * kTaskRows,
                              hi = std::min(n, lo + kTaskRows);
          for (std::uint64_t r = lo; r < hi; ++r) {
            const std::uint64_t row = first + r;
            RandomStream rng(config.seed, RandomPurpose::kMixtureRow, row);
            std::uint32_t k = mixture.pick(rng.uniform());
            if (config.window > 1) {
              // The component walks window by window; window 1's stream then only decided the first.
              RandomStream drift(config.seed, RandomPurpose::kMixtureDrift, row);
              std::uint32_t before = k;
              for (std::uint64_t w = 2; w <= config.window; ++w) {
                before = k;
                const double moves = drift.uniform(), to = drift.uniform();
                if (moves < config.drift_fraction)
                  k = static_cast<std::uint32_t>(
                      (k + 1 +
                       std::min<std::uint64_t>(clusters - 2,
                                               static_cast<std::uint64_t>(to * (clusters - 1)))) %
                      clusters);
              }
              buf.previous[r] = static_cast<std::int32_t>(before);
              rng = RandomStream(mix64(config.seed ^ (config.window * 0x9E3779B97F4A7C15ull)),
                                 RandomPurpose::kMixtureWindow, row);
            }
            const float* c = &mixture.centers[k * d];
            float* x = &buf.rows[r * d];
            const double s = mixture.spread[k];
            for (std::uint64_t j = 0; j < d; ++j) x[j] = static_cast<float>(c[j] + s * rng.normal());
            buf.ids[r] = config.key_order ? unmix64(key_base + row * key_gap) : mix64(row + id_offset);
            buf.labels[r] = static_cast<std::int32_t>(k);
            if (config.window > 1 && buf.previous[r] != buf.labels[r])
              ++drifted[static_cast<std::size_t>(task)];
          }
        });
    unwritten = &buf;
    for (std::uint64_t m : drifted) report.drifted += m;
    report.events += n;
    if (progress) progress(first + n, config.rows);
  }
  if (unwritten != nullptr) write_batch(*unwritten);

  io::Dataset centers =
      file.create_dataset<float>("/truth/centers", io::DatasetOptions{{config.clusters, d}, {}, false, 0});
  centers.write_rows(0, config.clusters, mixture.centers.data());
  centers = io::Dataset();
  labels = io::Dataset();
  previous = io::Dataset();
  nlohmann::json params = {{"rows", config.rows},
                           {"dims", config.dims},
                           {"clusters", config.clusters},
                           {"seed", config.seed},
                           {"cluster_std", config.cluster_std},
                           {"separation", config.separation}};
  if (config.window > 1) {  // window 1's file stays as it was before windows existed
    params["window"] = config.window;
    params["drift_fraction"] = config.drift_fraction;
  }
  file.set_attribute("generator", params.dump());
  if (config.key_order) params["order"] = "key";
  writer.close(
      {"synthetic-mixture", {}, std::nullopt, config.key_order ? std::string(io::kMix64Order) : "", ""},
      {"segstream.features", "generate --features-only", params, {}});
  output.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
