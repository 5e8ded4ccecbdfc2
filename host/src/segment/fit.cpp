// `segstream fit`: features.h5 → model.h5 (segment.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "feature_rows.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::host {

using detail::FileRows;
using detail::FreeMemory;
using detail::column_indices;
using detail::matrix_memory;
using detail::read_columns;
using detail::read_weights;

// Rows per block of the in-memory read.
constexpr std::uint64_t kBlockRows = 65536;

FitReport fit_model(const std::filesystem::path& features, const std::filesystem::path& out, bool overwrite,
                    const FitConfig& config) {
  const auto backend = kernels::cpu::make_backend(config.kmeans.threads);
  return fit_model(features, out, overwrite, config, *backend);
}

FitReport fit_model(const std::filesystem::path& features, const std::filesystem::path& out, bool overwrite,
                    const FitConfig& config, kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  FitReport report;
  const io::FeatureFileReader r(features);
  const std::vector<int> idx = column_indices(r, config.columns);
  const auto d = static_cast<int>(idx.size());
  const std::uint64_t n = r.rows();
  // The rows are held in memory when they fit the budget (the matrix and a pass's labels and distances),
  // else read from the file on every pass; the model is the same either way.
  const std::uint64_t in_memory_bytes = n * (static_cast<std::uint64_t>(d) * sizeof(float) + 12);
  const bool in_memory = in_memory_bytes <= config.host_memory;
  const std::uint64_t streamed_bytes =
      n * sizeof(float) +
      (kWindowTiles * kTileRows + kBlockRows) * (static_cast<std::uint64_t>(d) * sizeof(float) + 12);
  if (!in_memory && streamed_bytes > config.host_memory)
    throw ResourceError(
        fmt::format("{}: streaming {} rows needs about {} MiB (their weights and the read windows), "
                    "more than --host-memory {} MiB",
                    r.path(), n, streamed_bytes >> 20, config.host_memory >> 20));
  io::AtomicOutput output(out, overwrite);

  std::unique_ptr<float[], FreeMemory> x;
  std::vector<float> block;
  if (in_memory) {
    x = matrix_memory(n * static_cast<std::uint64_t>(d));
    for (std::uint64_t start = 0; start < n; start += kBlockRows) {
      throw_if_interrupted();
      const std::uint64_t rows = std::min(kBlockRows, n - start);
      read_columns(r, idx, start, rows, block, x.get() + start * static_cast<std::uint64_t>(d));
    }
  }
  const std::vector<float> weights = read_weights(r);
  const float* w = weights.empty() ? nullptr : weights.data();
  report.read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();

  // The transform is fitted on the first rows of the trainer's visiting order (all rows up to
  // transform_sample).
  std::unique_ptr<RowSource> untransformed;
  if (in_memory)
    untransformed = std::make_unique<MemoryRows>(x.get(), n, d, w);
  else
    untransformed = std::make_unique<FileRows>(r, idx, nullptr, w);
  std::vector<float> sample;  // `none` fits nothing
  if (config.transform != TransformKind::kNone)
    sample = sample_rows(*untransformed, std::min(n, config.transform_sample), config.kmeans.seed, 2);
  const Transform transform =
      fit_transform(config.transform, sample.data(), sample.size() / static_cast<std::size_t>(d), d);
  std::vector<float>().swap(sample);
  const bool identity = transform.kind == TransformKind::kNone;
  std::unique_ptr<RowSource> rows_source;
  if (in_memory) {
    if (!identity) transform.apply(x.get(), n);
    rows_source = std::make_unique<MemoryRows>(x.get(), n, d, w);
  } else {
    rows_source = std::make_unique<FileRows>(r, idx, identity ? nullptr : &transform, w);
  }

  KMeansConfig kc = config.kmeans;
  std::vector<std::string> names;
  for (int j : idx) names.push_back(r.feature_names()[static_cast<std::size_t>(j)]);
  if (!config.init_model.empty()) {
    // The earlier model's centres in natural units, through this fit's transform.
    const io::ModelFile init = io::read_model(config.init_model);
    SEGSTREAM_EXPECTS(init.k == kc.k && init.d == d,
                      "--init {}: /centroids_raw is {} × {}, expected --k × columns = {} × {}",
                      config.init_model.string(), init.k, init.d, kc.k, d);
    kc.init_centres = init.centroids_raw;
    transform.apply(kc.init_centres.data(), static_cast<std::uint64_t>(kc.k));
    kc.init = KMeansInit::kGiven;
    if (config.keep_absorbed) {
      for (double v : init.absorbed_weight)
        SEGSTREAM_CHECK_INPUT(std::isfinite(v) && v >= 0,
                              "--init {}: /absorbed_weight holds {}, expected finite non-negative weights",
                              config.init_model.string(), v);
      kc.init_absorbed = init.absorbed_weight;
    }
  } else {
    SEGSTREAM_EXPECTS(!config.keep_absorbed, "--keep-absorbed needs --init FILE (a model to warm-start from)");
  }
  report.rows = n;
  report.d = d;
  report.in_memory = in_memory;
  {
    // The trainer, step by step; each phase is logged (at debug level) as it begins.
    KMeansTrainer trainer(*rows_source, kc, backend);
    std::optional<std::pair<TrainerState::Phase, int>> shown;
    while (!trainer.done()) {
      throw_if_interrupted();
      const TrainerState& st = trainer.state();
      if (shown != std::make_pair(st.phase, st.restart)) {
        shown = std::make_pair(st.phase, st.restart);
        log_record(LogLevel::kDebug,
                   fmt::format("fit: {} (restart {} of {})", phase_name(st.phase), st.restart + 1, kc.n_init),
                   {{"stage", "fit"}, {"phase", phase_name(st.phase)}, {"restart", st.restart + 1}});
      }
      trainer.step();
    }
    report.model = trainer.model();
  }
  const KMeansModel& m = report.model;

  io::ModelFile file;
  file.k = m.k;
  file.d = d;
  file.feature_names = names;
  file.centroids = m.centres;
  file.centroids_raw = m.centres;
  transform.invert(file.centroids_raw.data(), static_cast<std::uint64_t>(m.k));
  for (int c = 0; c < m.k; ++c) file.segment_id.push_back(c);
  file.counts = m.counts;
  file.cluster_weight = m.cluster_weight;
  file.absorbed_weight = m.absorbed;
  file.inertia_history = m.inertia_history;
  file.transform = transform_name(transform.kind);
  file.log1p = transform.log1p;
  file.center = transform.center;
  file.scale = transform.scale;
  file.inertia = m.inertia;
  file.steps = static_cast<std::int64_t>(m.steps);
  file.lloyd_passes = m.lloyd_passes;
  file.stop_reason = m.stop_reason;
  const char* init_name = kc.init == KMeansInit::kGiven            ? "given"
                          : kc.init == KMeansInit::kRandom         ? "random"
                          : kc.init == KMeansInit::kKMeansParallel ? "k-means-parallel"
                                                                   : "k-means++";
  nlohmann::json cfg = {{"k", kc.k},
                        {"seed", kc.seed},
                        {"batch_size", kc.batch_size},
                        {"max_epochs", kc.max_epochs},
                        {"init", init_name},
                        {"init_model", config.init_model.filename().string()},
                        {"init_size", kc.init_size},
                        {"reassignment_ratio", kc.reassignment_ratio},
                        {"max_no_improvement", kc.max_no_improvement},
                        {"tol", kc.tol},
                        {"refine", kc.refine},
                        {"n_init", kc.n_init},
                        {"transform", transform_name(transform.kind)},
                        {"columns", names},
                        {"weights", weights.empty() ? "none" : "/weight"},
                        {"restart_kept", m.restart}};
  if (config.keep_absorbed) cfg["keep_absorbed"] = true;  // recorded when used: older models have no key
  file.config = cfg.dump();
  nlohmann::json source = {{"file", features.filename().string()}, {"rows", n}};
  if (r.metadata().as_of) source["as_of"] = *r.metadata().as_of;
  if (!r.metadata().mode.empty()) source["mode"] = r.metadata().mode;
  file.source = source.dump();
  io::Provenance provenance{"segstream.model", "fit", cfg, {io::fingerprint_input("features", features)}};
  if (!config.init_model.empty()) provenance.inputs.push_back(io::fingerprint_input("model", config.init_model));
  io::write_model(output.temp_path(), output.final_path().string(), file, provenance);
  output.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
