// `segstream fit`: features.h5 → model.h5 (segment.hpp). The rows of the chosen columns are held in memory
// when they fit --host-memory and read from the file on every pass otherwise; the transform into model space
// is fitted on a sample; the trainer runs on the backend; the model goes out through io's model module.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "feature_rows.hpp"
#include "model_parts.hpp"
#include "profile.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::host::detail {

constexpr std::uint64_t kBlockRows = 65536;  // rows per block of the in-memory read

// Whether the rows fit the budget in memory (the matrix and a pass's labels and distances); ResourceError
// when they fit neither held nor streamed (their weights and the read windows).
bool rows_fit_in_memory(const io::FeatureFileReader& r, std::uint64_t d, std::uint64_t host_memory) {
  const std::uint64_t n = r.rows();
  if (n * (d * sizeof(float) + 12) <= host_memory) return true;
  const std::uint64_t streamed =
      n * sizeof(float) + (kWindowTiles * kTileRows + kBlockRows) * (d * sizeof(float) + 12);
  if (streamed > host_memory)
    throw ResourceError(
        fmt::format("{}: streaming {} rows needs about {} MiB (their weights and the read windows), "
                    "more than --host-memory {} MiB",
                    r.path(), n, streamed >> 20, host_memory >> 20));
  return false;
}

// Every row of the chosen columns, read into memory that is not zeroed first.
std::unique_ptr<float[], FreeMemory> read_matrix(const io::FeatureFileReader& r,
                                                 const std::vector<int>& idx) {
  const auto d = static_cast<std::uint64_t>(idx.size());
  const std::uint64_t n = r.rows();
  std::unique_ptr<float[], FreeMemory> x = detail::matrix_memory(n * d);
  std::vector<float> block;
  for (std::uint64_t start = 0; start < n; start += kBlockRows) {
    throw_if_interrupted();
    const std::uint64_t rows = std::min(kBlockRows, n - start);
    detail::read_columns(r, idx, start, rows, block, x.get() + start * d);
  }
  return x;
}

// The model file of a fitted model: centres in model space and in natural units, the transform, the final
// assignment's counts and weights, the trainer's absorbed weights and history.
io::ModelFile model_file(const KMeansModel& m, const Transform& transform,
                         const std::vector<std::string>& names) {
  io::ModelFile file;
  file.k = m.k;
  file.d = m.d;
  file.feature_names = names;
  file.centroids = m.centres;
  file.centroids_raw = m.centres;
  transform.invert(file.centroids_raw.data(), static_cast<std::uint64_t>(m.k));
  for (int c = 0; c < m.k; ++c) file.segment_id.push_back(c);
  file.next_segment_id = m.k;
  file.counts = m.counts;
  file.cluster_weight = m.cluster_weight;
  file.absorbed_weight = m.absorbed;
  file.inertia_history = m.inertia_history;
  file.transform = transform_name(transform.kind);
  file.log1p = transform.log1p;
  file.center = transform.center;
  file.scale = transform.scale;
  file.clip = transform.clip;
  file.weight = transform.weight;
  file.inertia = m.inertia;
  file.steps = static_cast<std::int64_t>(m.steps);
  file.lloyd_passes = m.lloyd_passes;
  file.stop_reason = m.stop_reason;
  if (m.breathing.depth > 0)
    file.breathing = nlohmann::json{{"depth", m.breathing.depth},
                                    {"rows", m.breathing.rows},
                                    {"sampled", m.breathing.sampled},
                                    {"rounds", m.breathing.rounds},
                                    {"kept", m.breathing.kept},
                                    {"lloyd_passes", m.breathing.passes},
                                    {"inertia_before", m.breathing.before},
                                    {"inertia_after", m.breathing.after},
                                    {"reverted", m.breathing.reverted}}
                         .dump();
  return file;
}

Transform model_transform(const io::ModelFile& model) {
  Transform t;
  t.kind = parse_transform(model.transform);
  t.log1p = model.log1p;
  t.center = model.center;
  t.scale = model.scale;
  t.clip = model.clip;
  t.weight = model.weight;
  return t;
}

std::vector<int> model_columns(const io::ModelFile& model, const std::filesystem::path& model_path,
                               const io::FeatureFileReader& r) {
  std::vector<int> idx;
  for (const std::string& name : model.feature_names) {
    const auto& have = r.feature_names();
    const auto it = std::find(have.begin(), have.end(), name);
    SEGSTREAM_CHECK_INPUT(it != have.end(), "{}: has no column '{}', which the model {} was fitted on",
                          r.path(), name, model_path.string());
    idx.push_back(static_cast<int>(it - have.begin()));
  }
  return idx;
}

}  // namespace segstream::host::detail

namespace segstream::host {
namespace {

using detail::FileRows;
using detail::FreeMemory;
using detail::model_file;
using detail::read_matrix;
using detail::rows_fit_in_memory;

// The positions, among the sample's d columns, of those to cluster: all but the columns whose values are one
// value, or all but at most 0.1% of them. Those carry no segment structure, and z-scoring a nearly
// constant column makes its few other values dominate the distances. Each left out is described in
// *dropped; InputError when none is left.
std::vector<std::size_t> informative_columns(const std::vector<float>& sample, std::size_t d,
                                             const std::vector<std::string>& names, const std::string& path,
                                             std::vector<std::string>* dropped) {
  const std::uint64_t n = sample.size() / d;
  std::vector<std::size_t> keep;
  if (n == 0) {  // no rows: the trainer names the problem
    for (std::size_t j = 0; j < d; ++j) keep.push_back(j);
    return keep;
  }
  // A value held by more than half the rows is what a majority vote (Boyer and Moore) leaves: one pass
  // over the rows for every column, then one that counts it.
  std::vector<float> candidate(d, 0.0f);
  std::vector<std::uint64_t> votes(d, 0), same(d, 0);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const float v = sample[i * d + j];
      if (votes[j] == 0) {
        candidate[j] = v;
        votes[j] = 1;
      } else if (v == candidate[j]) {
        ++votes[j];
      } else {
        --votes[j];
      }
    }
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) same[j] += sample[i * d + j] == candidate[j] ? 1 : 0;
  for (std::size_t j = 0; j < d; ++j) {
    const float value = candidate[j];
    if ((n - same[j]) * 1000 <= n)
      dropped->push_back(same[j] == n
                             ? fmt::format("{} (always {})", names[j], value)
                             : fmt::format("{} ({} in {:.2f}% of rows)", names[j], value,
                                           100.0 * static_cast<double>(same[j]) / static_cast<double>(n)));
    else
      keep.push_back(j);
  }
  if (keep.empty()) {
    std::string all;
    for (const std::string& s : *dropped) all += (all.empty() ? "" : ", ") + s;
    throw InputError(
        fmt::format("{}: every column to cluster is constant or nearly so ({}): there is nothing "
                    "to segment",
                    path, all));
  }
  return keep;
}

// The columns `keep` of a row-major matrix of d columns, in place.
void keep_columns(float* x, std::uint64_t rows, std::size_t d, const std::vector<std::size_t>& keep) {
  if (keep.size() == d) return;
  for (std::uint64_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < keep.size(); ++j) x[i * keep.size() + j] = x[i * d + keep[j]];
}

// --init FILE: the earlier model's centres in natural units, through this fit's transform, and with
// --keep-absorbed the weights they absorbed.
// 1/√(columns of its family) per column (a column of no family is a family of its own).
std::vector<double> family_weights(const std::vector<std::string>& names) {
  std::map<std::string, int> count;
  std::vector<std::string> family;
  family.reserve(names.size());
  for (const std::string& name : names) {
    const std::string f = behaviour_family(name);
    family.push_back(f.empty() ? "column " + name : f);
    ++count[family.back()];
  }
  std::vector<double> w;
  w.reserve(family.size());
  for (const std::string& f : family) w.push_back(1.0 / std::sqrt(static_cast<double>(count[f])));
  return w;
}

void start_from_model(const FitConfig& config, const Transform& transform, int d, KMeansConfig& kc) {
  if (config.init_model.empty()) {
    SEGSTREAM_EXPECTS(!config.keep_absorbed,
                      "--keep-absorbed needs --init FILE (a model to warm-start from)");
    return;
  }
  const io::ModelFile init = io::read_model(config.init_model);
  SEGSTREAM_EXPECTS(init.k == kc.k && init.d == d,
                    "--init {}: /centroids_raw is {} × {}, expected --k × columns = {} × {}",
                    config.init_model.string(), init.k, init.d, kc.k, d);
  kc.init_centres = init.centroids_raw;
  transform.apply(kc.init_centres.data(), static_cast<std::uint64_t>(kc.k));
  kc.init = KMeansInit::kGiven;
  if (!config.keep_absorbed) return;
  for (double v : init.absorbed_weight)
    SEGSTREAM_CHECK_INPUT(std::isfinite(v) && v >= 0,
                          "--init {}: /absorbed_weight holds {}, expected finite non-negative weights",
                          config.init_model.string(), v);
  kc.init_absorbed = init.absorbed_weight;
}

// The trainer, step by step; each phase is logged (at debug level) as it begins.
KMeansModel train(const RowSource& rows, const KMeansConfig& kc, kernels::Backend& backend) {
  KMeansTrainer trainer(rows, kc, backend);
  std::optional<std::pair<TrainerState::Phase, int>> shown;
  while (!trainer.done()) {
    throw_if_interrupted();
    const TrainerState& st = trainer.state();
    if (shown != std::make_pair(st.phase, st.restart)) {
      shown = std::make_pair(st.phase, st.restart);
      log_record(LogLevel::kDebug,
                 fmt::format("fit: {} (restart {} of {})", phase_name(st.phase), st.restart + 1,
                             restarts(kc, rows.rows(), rows.d())),
                 {{"stage", "fit"}, {"phase", phase_name(st.phase)}, {"restart", st.restart + 1}});
    }
    trainer.step();
  }
  return trainer.model();
}

// The fit's options as the model records them (docs/FORMATS.md, model.h5 `config`).
nlohmann::json config_json(const FitConfig& config, const KMeansConfig& kc, const Transform& transform,
                           const std::vector<std::string>& names, bool weighted, int restart) {
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
                        {"n_init", kc.n_init > 0 ? nlohmann::json(kc.n_init) : nlohmann::json("auto")},
                        {"breathe", kc.breathe},
                        {"breathe_rows", kc.breathe_rows},
                        {"transform", transform_name(transform.kind)},
                        {"clip", transform.clip},
                        {"family_weights", !transform.weight.empty()},
                        {"columns", names},
                        {"weights", weighted ? "/weight" : "none"},
                        {"restart_kept", restart}};
  if (config.keep_absorbed) cfg["keep_absorbed"] = true;  // recorded when used: older models have no key
  return cfg;
}

}  // namespace

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
  io::check_unique_customer_ids(r, config.host_memory);
  std::vector<std::string> wanted = config.columns;
  if (wanted.empty() && r.metadata().mode == "behavioral" && !r.metadata().parameters.empty()) {
    const nlohmann::json params = nlohmann::json::parse(r.metadata().parameters, nullptr, false);
    if (params.is_object() && params.value("transactions_only", false)) {
      // Purchases alone: the columns of what a transactions export can tell.
      for (const std::string& name : default_behavioural_columns()) {
        const std::string family = behaviour_family(name);
        if (family != "usage" && family != "engagement" && family != "journey") wanted.push_back(name);
      }
      report.preset = "transactions";
    }
  }
  const std::vector<int> candidates = detail::column_indices(r, wanted);
  const std::size_t dc = candidates.size();
  SEGSTREAM_EXPECTS(dc >= 1, "at least one feature column is needed{}", "");
  const std::uint64_t n = r.rows();
  report.rows = n;
  report.in_memory = rows_fit_in_memory(r, dc, config.host_memory);
  io::AtomicOutput output(out, overwrite);

  std::unique_ptr<float[], FreeMemory> x;
  if (report.in_memory) x = read_matrix(r, candidates);
  const std::vector<float> weights = detail::read_weights(r);
  const float* w = weights.empty() ? nullptr : weights.data();
  report.read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();

  // One uniform sample of the candidate columns, in natural units, finds the columns to leave out and
  // fits the transform.
  std::vector<float> sample;
  {
    const MemoryRows held(x.get(), report.in_memory ? n : 0, static_cast<int>(dc), w);
    const FileRows file(r, candidates, nullptr, w);
    const RowSource& raw = report.in_memory ? static_cast<const RowSource&>(held) : file;
    sample = uniform_sample(raw, std::min(n, config.transform_sample), config.kmeans.seed, 2);
  }
  std::vector<std::string> candidate_names;
  candidate_names.reserve(dc);
  for (int j : candidates) candidate_names.push_back(r.feature_names()[static_cast<std::size_t>(j)]);
  const std::vector<std::size_t> keep =
      informative_columns(sample, dc, candidate_names, r.path(), &report.dropped_columns);
  std::vector<int> idx;
  idx.reserve(keep.size());
  for (std::size_t j : keep) idx.push_back(candidates[j]);
  const auto d = static_cast<int>(idx.size());
  report.d = d;
  keep_columns(sample.data(), sample.size() / dc, dc, keep);
  sample.resize(sample.size() / dc * keep.size());
  if (report.in_memory) keep_columns(x.get(), n, dc, keep);
  Transform transform =
      fit_transform(config.transform, sample.data(), sample.size() / keep.size(), d, config.clip);
  std::vector<std::string> names;
  names.reserve(idx.size());
  for (int j : idx) names.push_back(r.feature_names()[static_cast<std::size_t>(j)]);
  if (config.family_weights && r.metadata().mode == "behavioral" && transform.kind != TransformKind::kNone)
    transform.weight = family_weights(names);

  std::unique_ptr<RowSource> rows_source;
  if (report.in_memory) {
    if (transform.kind != TransformKind::kNone) transform.apply(x.get(), n);
    rows_source = std::make_unique<MemoryRows>(x.get(), n, d, w);
  } else {
    rows_source =
        std::make_unique<FileRows>(r, idx, transform.kind == TransformKind::kNone ? nullptr : &transform, w);
  }

  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  report.prepare_seconds = since(t_begin) - report.read_seconds;

  KMeansConfig kc = config.kmeans;
  if (config.k_auto) {
    SEGSTREAM_EXPECTS(config.init_model.empty(),
                      "--k auto cannot start from a model (--init FILE has its k){}", "");
    report.k_selection = choose_k(*rows_source, kc, config.k_min, config.k_max, backend);
    kc.k = report.k_selection->chosen;
    for (const KSelection::Point& p : report.k_selection->curve)
      log_record(LogLevel::kDebug, fmt::format("fit: --k auto, k {}: jump {:.4g}", p.k, p.jump),
                 {{"stage", "fit"},
                  {"k", p.k},
                  {"inertia", p.inertia},
                  {"distortion", p.distortion},
                  {"jump", p.jump}});
  }
  start_from_model(config, transform, d, kc);
  report.model = train(*rows_source, kc, backend);

  nlohmann::json cfg = config_json(config, kc, transform, names, !weights.empty(), report.model.restart);
  if (!report.dropped_columns.empty()) cfg["dropped_columns"] = report.dropped_columns;
  if (!report.preset.empty()) cfg["preset"] = report.preset;
  io::ModelFile file = model_file(report.model, transform, names);
  const auto t_profile = std::chrono::steady_clock::now();
  report.profiles =
      detail::profile_file(r, idx, transform, w, report.model.centres.data(), report.model.k, backend);
  report.profile_seconds = since(t_profile);
  file.profiles = report.profiles;
  file.config = cfg.dump();
  if (report.k_selection) {
    const KSelection& sel = *report.k_selection;
    nlohmann::json curve = nlohmann::json::array();
    for (const KSelection::Point& p : sel.curve)
      curve.push_back({{"k", p.k}, {"inertia", p.inertia}, {"distortion", p.distortion}, {"jump", p.jump}});
    file.k_selection = nlohmann::json{
        {"criterion", "jump (Sugar and James 2003), Y = effective dimension / 2"},
        {"k_min", sel.k_min},
        {"k_max", sel.k_max},
        {"sample_rows", sel.sample_rows},
        {"effective_dimension", sel.effective_dims},
        {"chosen", sel.chosen},
        {"curve", curve}}.dump();
  }
  nlohmann::json source = {{"file", features.filename().string()}, {"rows", n}};
  if (r.metadata().as_of) source["as_of"] = *r.metadata().as_of;
  if (!r.metadata().mode.empty()) source["mode"] = r.metadata().mode;
  file.source = source.dump();
  io::Provenance provenance{"segstream.model", "fit", cfg, {io::fingerprint_input("features", features)}};
  if (!config.init_model.empty())
    provenance.inputs.push_back(io::fingerprint_input("model", config.init_model));
  const auto t_write = std::chrono::steady_clock::now();
  io::write_model(output.temp_path(), output.final_path().string(), file, provenance);
  output.commit();
  report.write_seconds = since(t_write);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
