#include "segstream/host/segment.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>

#include <nlohmann/json.hpp>

#include "kmeans/passes.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/version.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::host {
namespace {

constexpr std::uint64_t kBlockRows = 65536;

// Column indices of `wanted` in the file's names; when none are wanted, the default behavioural columns for
// a file of `features --mode behavioral`, else all columns. UsageError naming a missing one.
std::vector<int> column_indices(const io::FeatureFileReader& r, std::vector<std::string> wanted) {
  const auto& names = r.feature_names();
  std::vector<int> idx;
  if (wanted.empty() && r.file().has_attribute("mode") && r.file().string_attribute("mode") == "behavioral")
    wanted = default_behavioural_columns();
  if (wanted.empty()) {
    for (std::size_t j = 0; j < names.size(); ++j) idx.push_back(static_cast<int>(j));
    return idx;
  }
  for (const std::string& w : wanted) {
    const auto it = std::find(names.begin(), names.end(), w);
    if (it == names.end()) {
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
      throw UsageError(fmt::format("--columns: {} has no column '{}' (it has: {})", r.path(), w, all));
    }
    idx.push_back(static_cast<int>(it - names.begin()));
  }
  return idx;
}

// Rows [start, start + n) of the chosen columns into out (n × idx.size()), checking every value is finite.
void read_columns(const io::FeatureFileReader& r, const std::vector<int>& idx, std::uint64_t start,
                  std::uint64_t n, std::vector<float>& block, float* out) {
  const std::uint64_t all = r.columns();
  const std::size_t d = idx.size();
  bool every_column = d == all;
  for (std::size_t j = 0; j < d && every_column; ++j) every_column = idx[j] == static_cast<int>(j);
  if (every_column) {
    // The common case: the rows go straight into `out`, then one branch-free scan for non-finite values
    // (exponent bits all set), and the slow loop below only to name the first one.
    r.read_rows(start, n, out);
    const auto* bits = reinterpret_cast<const std::uint32_t*>(out);
    std::uint32_t bad = 0;
    for (std::uint64_t i = 0; i < n * all; ++i)
      bad |= static_cast<std::uint32_t>((bits[i] & 0x7f800000u) == 0x7f800000u);
    if (bad == 0) return;
    block.assign(out, out + n * all);
  } else {
    block.resize(n * all);
    r.read_rows(start, n, block.data());
  }
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const float v = block[i * all + static_cast<std::uint64_t>(idx[j])];
      if (!std::isfinite(v))
        throw InputError(fmt::format("{}: row {}, column {}: {} is not a finite value", r.path(), start + i,
                                     r.feature_names()[static_cast<std::size_t>(idx[j])], v));
      out[i * d + j] = v;
    }
}

struct FreeMemory {
  void operator()(float* p) const { std::free(p); }
};

// Memory for a matrix the file fills, left uninitialised (zero-filling gigabytes first would cost as much as
// reading them) and in huge pages where the kernel offers them (a page fault per 4 KiB costs a fifth of
// the read).
std::unique_ptr<float[], FreeMemory> matrix_memory(std::uint64_t values) {
  constexpr std::size_t kHuge = std::size_t{1} << 21;
  const std::size_t bytes = (std::max<std::uint64_t>(values, 1) * sizeof(float) + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
  if (p == nullptr) throw std::bad_alloc();
  (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it the pages are small
  return std::unique_ptr<float[], FreeMemory>(static_cast<float*>(p));
}

// The file's optional /weight (float32, one per row), checked: finite and not negative.
std::vector<float> read_weights(const io::FeatureFileReader& r) {
  if (!r.file().is_dataset("/weight")) return {};
  const io::Dataset ds = r.file().dataset("/weight", io::ElementType::kFloat32, 1);
  SEGSTREAM_CHECK_INPUT(ds.rows() == r.rows(), "{}: /weight has {} rows, /features {}", r.path(), ds.rows(),
                        r.rows());
  std::vector<float> w = ds.read_all<float>();
  for (std::size_t i = 0; i < w.size(); ++i)
    SEGSTREAM_CHECK_INPUT(std::isfinite(w[i]) && w[i] >= 0,
                          "{}: /weight row {}: {} is not a finite non-negative weight", r.path(), i, w[i]);
  return w;
}

double quantile(std::vector<double> v, double q) {
  const auto at = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at];
}

void write_small(const io::File& f, const std::string& name, const std::vector<float>& v, hsize_t rows,
                 hsize_t cols) {
  const io::Dataset ds = f.create_dataset<float>(name, io::DatasetOptions{{rows, cols}, {}, false, 0});
  if (rows > 0) ds.write_rows(0, rows, v.data());
}
template <class T>
void write_vector(const io::File& f, const std::string& name, const std::vector<T>& v) {
  const io::Dataset ds = f.create_dataset<T>(name, io::DatasetOptions{{v.size()}, {}, false, 0});
  if (!v.empty()) ds.write_rows(0, v.size(), v.data());
}

// A features file's chosen columns as trainer rows, through a transform (none when null), read on demand.
class FileRows : public RowSource {
 public:
  FileRows(const io::FeatureFileReader& r, const std::vector<int>& idx, const Transform* t,
           const float* weights)
      : r_(r), idx_(idx), t_(t), w_(weights) {}
  std::uint64_t rows() const override { return r_.rows(); }
  int d() const override { return static_cast<int>(idx_.size()); }
  void read(std::uint64_t start, std::uint64_t n, float* out) const override {
    read_columns(r_, idx_, start, n, block_, out);
    if (t_ != nullptr) t_->apply(out, n);
  }
  const float* weights() const override { return w_; }

 private:
  const io::FeatureFileReader& r_;
  const std::vector<int>& idx_;
  const Transform* t_;
  const float* w_;
  mutable std::vector<float> block_;
};

}  // namespace

const std::vector<std::string>& default_behavioural_columns() {
  static const std::vector<std::string> columns = {"recency_days",
                                                   "frequency",
                                                   "monetary_total",
                                                   "avg_order_value",
                                                   "tenure_days",
                                                   "interpurchase_mean_days",
                                                   "return_rate",
                                                   "events_28d",
                                                   "active_days_28d",
                                                   "app_sessions_28d",
                                                   "email_open_rate",
                                                   "repeat_ratio",
                                                   "active_month_ratio",
                                                   "weekend_share",
                                                   "holiday_share",
                                                   "discount_share",
                                                   "journey_stage",
                                                   "churn_risk",
                                                   "p_alive"};
  return columns;
}

TransformKind parse_transform(const std::string& name) {
  if (name == "auto") return TransformKind::kAuto;
  if (name == "zscore") return TransformKind::kZScore;
  if (name == "robust") return TransformKind::kRobust;
  if (name == "none") return TransformKind::kNone;
  throw UsageError("--transform: unknown transform '" + name + "' (expected auto, zscore, robust or none)");
}

const char* transform_name(TransformKind kind) {
  switch (kind) {
    case TransformKind::kAuto:
      return "auto";
    case TransformKind::kZScore:
      return "zscore";
    case TransformKind::kRobust:
      return "robust";
    case TransformKind::kNone:
      return "none";
  }
  return "?";
}

void Transform::apply(float* rows, std::uint64_t n) const {
  const std::size_t d = center.size();
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      float& v = rows[i * d + j];
      const double x = log1p[j] ? std::log1p(static_cast<double>(v)) : static_cast<double>(v);
      v = static_cast<float>((x - center[j]) / scale[j]);
    }
}

void Transform::invert(float* rows, std::uint64_t n) const {
  const std::size_t d = center.size();
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      float& v = rows[i * d + j];
      const double x = static_cast<double>(v) * scale[j] + center[j];
      v = static_cast<float>(log1p[j] ? std::expm1(x) : x);
    }
}

Transform fit_transform(TransformKind kind, const float* rows, std::uint64_t n, int d) {
  Transform t;
  t.kind = kind;
  const auto dd = static_cast<std::size_t>(d);
  t.log1p.assign(dd, 0);
  t.center.assign(dd, 0.0);
  t.scale.assign(dd, 1.0);
  if (kind == TransformKind::kNone || n == 0) return t;
  std::vector<double> col(n);
  for (std::size_t j = 0; j < dd; ++j) {
    double lo = INFINITY;
    for (std::uint64_t i = 0; i < n; ++i) lo = std::min(lo, col[i] = rows[i * dd + j]);
    if (kind == TransformKind::kAuto && lo >= 0) {
      double mean = 0, m2 = 0, m3 = 0;
      for (double v : col) mean += v;
      mean /= static_cast<double>(n);
      for (double v : col) {
        m2 += (v - mean) * (v - mean);
        m3 += (v - mean) * (v - mean) * (v - mean);
      }
      m2 /= static_cast<double>(n);
      m3 /= static_cast<double>(n);
      if (m2 > 0 && m3 / std::pow(m2, 1.5) > 2.0) {
        t.log1p[j] = 1;
        for (double& v : col) v = std::log1p(v);
      }
    }
    if (kind == TransformKind::kRobust) {
      const double median = quantile(col, 0.5), iqr = quantile(col, 0.75) - quantile(col, 0.25);
      t.center[j] = median;
      t.scale[j] = iqr > 0 ? iqr : 1.0;
    } else {
      double mean = 0, m2 = 0;
      for (double v : col) mean += v;
      mean /= static_cast<double>(n);
      for (double v : col) m2 += (v - mean) * (v - mean);
      const double sd = std::sqrt(m2 / static_cast<double>(n));
      t.center[j] = mean;
      t.scale[j] = sd > 0 ? sd : 1.0;
    }
  }
  return t;
}

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
    const io::File init = io::File::open(config.init_model);
    const io::Dataset c = init.dataset("/centroids_raw", io::ElementType::kFloat32, 2);
    const auto dims = c.dims();
    SEGSTREAM_EXPECTS(dims[0] == static_cast<hsize_t>(kc.k) && dims[1] == static_cast<hsize_t>(d),
                      "--init {}: /centroids_raw is {} × {}, expected --k × columns = {} × {}", init.path(),
                      dims[0], dims[1], kc.k, d);
    kc.init_centres = c.read_all<float>();
    transform.apply(kc.init_centres.data(), static_cast<std::uint64_t>(kc.k));
    kc.init = KMeansInit::kGiven;
    if (config.keep_absorbed) {
      const io::Dataset a = init.dataset("/absorbed_weight", io::ElementType::kFloat64, 1);
      SEGSTREAM_CHECK_INPUT(a.rows() == static_cast<std::uint64_t>(kc.k), "--init {}: /absorbed_weight has {} values, "
                            "expected --k = {}", init.path(), a.rows(), kc.k);
      kc.init_absorbed = a.read_all<double>();
      for (double v : kc.init_absorbed)
        SEGSTREAM_CHECK_INPUT(std::isfinite(v) && v >= 0, "--init {}: /absorbed_weight holds {}, expected finite "
                              "non-negative weights", init.path(), v);
    }
  } else {
    SEGSTREAM_EXPECTS(!config.keep_absorbed, "--keep-absorbed needs --init FILE (a model to warm-start from)");
  }
  report.rows = n;
  report.d = d;
  report.in_memory = in_memory;
  report.model = fit_kmeans(*rows_source, kc, backend);
  const KMeansModel& m = report.model;

  io::File f = io::File::create(output.temp_path(), output.final_path().string());
  const auto k = static_cast<hsize_t>(m.k);
  write_small(f, "/centroids", m.centres, k, static_cast<hsize_t>(d));
  std::vector<float> raw = m.centres;
  transform.invert(raw.data(), k);
  write_small(f, "/centroids_raw", raw, k, static_cast<hsize_t>(d));
  f.dataset("/centroids").set_attribute("feature_names", names);
  f.dataset("/centroids_raw").set_attribute("feature_names", names);
  std::vector<std::int32_t> ids(m.k);
  for (int c = 0; c < m.k; ++c) ids[static_cast<std::size_t>(c)] = c;
  write_vector(f, "/segment_id", ids);
  write_vector(f, "/counts", m.counts);
  write_vector(f, "/cluster_weight", m.cluster_weight);
  write_vector(f, "/absorbed_weight", m.absorbed);
  write_vector(f, "/inertia_history", m.inertia_history);
  f.create_group("/scaler");
  write_vector(f, "/scaler/log1p", transform.log1p);
  write_vector(f, "/scaler/center", transform.center);
  write_vector(f, "/scaler/scale", transform.scale);
  f.set_attribute("format", "segstream.model");
  f.set_attribute("format_version", std::int64_t{1});
  f.set_attribute("created_by", std::string("segstream ") + kVersion + " (" + kGitCommit + ") fit");
  f.set_attribute("transform", transform_name(transform.kind));
  f.set_attribute("inertia", m.inertia);
  f.set_attribute("steps", static_cast<std::int64_t>(m.steps));
  f.set_attribute("lloyd_passes", static_cast<std::int64_t>(m.lloyd_passes));
  f.set_attribute("stop_reason", m.stop_reason);
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
  f.set_attribute("config", cfg.dump());
  nlohmann::json source = {{"file", features.filename().string()}, {"rows", n}};
  if (r.file().has_attribute("as_of")) source["as_of"] = r.file().int_attribute("as_of");
  if (r.file().has_attribute("mode")) source["mode"] = r.file().string_attribute("mode");
  f.set_attribute("source", source.dump());
  f.close();
  output.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

AssignReport assign_segments(const std::filesystem::path& model_path, const std::filesystem::path& features,
                             const std::filesystem::path& out, bool overwrite, int threads) {
  const auto backend = kernels::cpu::make_backend(threads);
  return assign_segments(model_path, features, out, overwrite, *backend);
}

AssignReport assign_segments(const std::filesystem::path& model_path, const std::filesystem::path& features,
                             const std::filesystem::path& out, bool overwrite, kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  const io::File mf = io::File::open(model_path);
  SEGSTREAM_CHECK_INPUT(mf.has_attribute("format") && mf.string_attribute("format") == "segstream.model",
                        "{}: not a segstream model (format attribute 'segstream.model' expected)", mf.path());
  const io::Dataset cd = mf.dataset("/centroids", io::ElementType::kFloat32, 2);
  KMeansModel model;
  model.k = static_cast<int>(cd.dims()[0]);
  model.d = static_cast<int>(cd.dims()[1]);
  model.centres = cd.read_all<float>();
  const std::vector<std::string> names = cd.string_list_attribute("feature_names");
  Transform t;
  t.kind = parse_transform(mf.string_attribute("transform"));
  t.log1p = mf.dataset("/scaler/log1p").read_all<std::uint8_t>();
  t.center = mf.dataset("/scaler/center").read_all<double>();
  t.scale = mf.dataset("/scaler/scale").read_all<double>();
  SEGSTREAM_CHECK_INPUT(
      names.size() == static_cast<std::size_t>(model.d) && t.center.size() == names.size() &&
          t.scale.size() == names.size() && t.log1p.size() == names.size(),
      "{}: the model's feature names, transform and centroids disagree in dimension", mf.path());

  const io::FeatureFileReader r(features);
  std::vector<int> idx;
  for (const std::string& name : names) {
    const auto& have = r.feature_names();
    const auto it = std::find(have.begin(), have.end(), name);
    SEGSTREAM_CHECK_INPUT(it != have.end(), "{}: has no column '{}', which the model {} was fitted on",
                          r.path(), name, mf.path());
    idx.push_back(static_cast<int>(it - have.begin()));
  }
  const std::vector<float> weights = read_weights(r);

  io::AtomicOutput output(out, overwrite);
  io::File f = io::File::create(output.temp_path(), output.final_path().string());
  const io::Dataset ids_ds =
      f.create_dataset<std::uint64_t>("/customer_id", io::DatasetOptions{{0}, {kBlockRows}, true, 0});
  const io::Dataset seg_ds =
      f.create_dataset<std::int32_t>("/segment", io::DatasetOptions{{0}, {kBlockRows}, true, 0});
  const io::Dataset d2_ds =
      f.create_dataset<float>("/distance2", io::DatasetOptions{{0}, {kBlockRows}, true, 0});
  const io::Dataset margin_ds =
      f.create_dataset<float>("/margin", io::DatasetOptions{{0}, {kBlockRows}, true, 0});
  AssignReport report;
  report.k = model.k;
  report.rows = r.rows();
  report.counts.assign(static_cast<std::size_t>(model.k), 0);
  std::vector<std::uint64_t> ids;
  // The stream model: block i + 1 is read and copied while block i is assigned, and block i − 1 written.
  const FileRows rows(r, idx, &t, weights.empty() ? nullptr : weights.data());
  const auto pipeline = backend.make_pipeline(model.d, model.k, kBlockRows, 0);
  detail::PassRunner runner(*pipeline);
  report.inertia = runner.run(rows, model.centres.data(), {true, kernels::Accumulate::kNone, false}, nullptr,
                              [&](std::uint64_t start, std::uint64_t n, const kernels::BlockPipeline::Slot& slot,
                                  const float*) {
                                for (std::uint64_t i = 0; i < n; ++i)
                                  ++report.counts[static_cast<std::size_t>(slot.labels[i])];
                                ids.resize(n);
                                r.read_ids(start, n, ids.data());
                                ids_ds.write_rows(start, n, ids.data());
                                seg_ds.write_rows(start, n, slot.labels);
                                d2_ds.write_rows(start, n, slot.distance2);
                                margin_ds.write_rows(start, n, slot.margin);
                              });
  f.set_attribute("format", "segstream.segments");
  f.set_attribute("format_version", std::int64_t{1});
  f.set_attribute("created_by", std::string("segstream ") + kVersion + " (" + kGitCommit + ") assign");
  f.set_attribute("model", model_path.filename().string());
  f.set_attribute("features", features.filename().string());
  f.set_attribute("k", static_cast<std::int64_t>(model.k));
  f.set_attribute("inertia", report.inertia);
  f.close();
  output.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
