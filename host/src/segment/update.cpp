// `segstream update`: the previous model carried onto a new window (resegment.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "feature_rows.hpp"
#include "kmeans/passes.hpp"
#include "model_parts.hpp"
#include "profile.hpp"
#include "segstream/core/error.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/resegment.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/provenance.hpp"

namespace segstream::host {
namespace {

// The unit of each named column, from parallel lists of names and units ("" where none is recorded).
std::string unit_of(const std::vector<std::string>& names, const std::vector<std::string>& units,
                    const std::string& name) {
  if (units.size() != names.size()) return "";
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? "" : units[static_cast<std::size_t>(it - names.begin())];
}

// Half the median distance between a centre and its nearest other centre (infinite for one centre).
double default_new_segment_distance(const std::vector<float>& c, int k, int d) {
  if (k < 2) return std::numeric_limits<double>::infinity();
  const auto dd = static_cast<std::size_t>(d);
  std::vector<double> nearest;
  for (std::size_t a = 0; a < static_cast<std::size_t>(k); ++a) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t b = 0; b < static_cast<std::size_t>(k); ++b) {
      if (a == b) continue;
      double s = 0;
      for (std::size_t j = 0; j < dd; ++j) {
        const double t = static_cast<double>(c[a * dd + j]) - c[b * dd + j];
        s += t * t;
      }
      best = std::min(best, std::sqrt(s));
    }
    nearest.push_back(best);
  }
  std::sort(nearest.begin(), nearest.end());
  const std::size_t n = nearest.size();
  const double median = n % 2 == 1 ? nearest[n / 2] : (nearest[n / 2 - 1] + nearest[n / 2]) / 2;
  return median / 2;
}

// Names carried by id: a segment that kept its previous id keeps the previous name; a new one keeps the
// name its profile gave it unless a carried name has it, then it is numbered.
void carry_names(io::SegmentProfiles& p, const std::vector<std::int32_t>& ids, const io::ModelFile& prev) {
  std::map<std::int32_t, std::string> previous;
  if (prev.profiles.k() == prev.segment_id.size())
    for (std::size_t i = 0; i < prev.segment_id.size(); ++i) previous[prev.segment_id[i]] = prev.profiles.name[i];
  std::set<std::string> taken;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto it = previous.find(ids[i]);
    if (it == previous.end()) continue;
    p.name[i] = it->second;
    taken.insert(it->second);
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (previous.count(ids[i]) > 0) continue;
    std::string name = p.name[i];
    for (int n = 2; taken.count(name) > 0; ++n) name = fmt::format("{} {}", p.name[i], n);
    p.name[i] = name;
    taken.insert(name);
  }
}

}  // namespace

UpdateReport update_model(const std::filesystem::path& previous_model, const std::filesystem::path& features,
                          const std::filesystem::path& out_model, bool overwrite, const UpdateConfig& config,
                          kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  SEGSTREAM_EXPECTS(std::isfinite(config.half_life) && config.half_life > 0,
                    "--half-life must be a positive number of updates, not {}", config.half_life);
  SEGSTREAM_EXPECTS(std::isfinite(config.new_segment_distance) && config.new_segment_distance >= 0,
                    "--new-segment-distance must be 0 (automatic) or a positive distance, not {}",
                    config.new_segment_distance);
  SEGSTREAM_EXPECTS(config.min_improvement >= 0 && config.min_improvement < 1,
                    "--min-improvement must lie in [0, 1), not {}", config.min_improvement);
  const io::ModelFile prev = io::read_model(previous_model);
  const Transform t = detail::model_transform(prev);
  const io::FeatureFileReader r(features);
  const std::vector<int> idx = detail::model_columns(prev, previous_model, r);
  for (const std::string& name : prev.feature_names) {
    const std::string was = unit_of(prev.profiles.columns, prev.profiles.units, name);
    const std::string is = unit_of(r.feature_names(), r.metadata().units, name);
    SEGSTREAM_CHECK_INPUT(was.empty() || is.empty() || was == is,
                          "{}: column '{}' is in {}, but the model {} was fitted on it in {}", r.path(), name,
                          is, previous_model.string(), was);
  }
  const int k = prev.k, d = prev.d;
  const std::uint64_t n = r.rows();
  SEGSTREAM_CHECK_INPUT(n >= 1, "{}: has no customers to update the segments with", r.path());
  UpdateReport report;
  report.rows = n;
  report.k = k;
  report.d = d;
  io::AtomicOutput output(out_model, overwrite);

  const std::vector<float> weights = detail::read_weights(r);
  const float* w = weights.empty() ? nullptr : weights.data();
  const bool in_memory = detail::rows_fit_in_memory(r, static_cast<std::uint64_t>(d), config.host_memory);
  std::unique_ptr<float[], detail::FreeMemory> x;
  std::unique_ptr<RowSource> rows;
  if (in_memory) {
    x = detail::read_matrix(r, idx);
    if (t.kind != TransformKind::kNone) t.apply(x.get(), n);
    rows = std::make_unique<MemoryRows>(x.get(), n, d, w);
  } else {
    rows = std::make_unique<detail::FileRows>(r, idx, t.kind == TransformKind::kNone ? nullptr : &t, w);
  }

  // The window under the previous centres.
  const detail::Pass before = [&] {
    const auto pipeline = backend.make_pipeline(d, k, kPassRows, 0);
    detail::PassRunner runner(*pipeline);
    return detail::full_pass(runner, *rows, prev.centroids, k, 0, kernels::Accumulate::kCounts);
  }();
  report.inertia_before = before.inertia;

  // Trained from the previous centres, with their absorbed weights decayed.
  report.decay = std::pow(0.5, 1.0 / config.half_life);
  KMeansConfig kc = config.kmeans;
  kc.k = k;
  kc.init = KMeansInit::kGiven;
  kc.init_centres = prev.centroids;
  kc.init_absorbed.clear();
  for (double a : prev.absorbed_weight) kc.init_absorbed.push_back(a * report.decay);
  kc.n_init = 1;
  kc.breathe_given = true;  // groups that appear or go are followed; the ids are matched afterwards
  KMeansModel m = fit_kmeans(*rows, kc, backend);
  report.inertia_trained = m.inertia;
  report.moved = m.inertia <= before.inertia * (1 - config.min_improvement);
  if (!report.moved) {  // the previous centres stand; what they absorbed grows by the window
    m.centres = prev.centroids;
    m.inertia = before.inertia;
    m.counts.clear();
    m.cluster_weight.clear();
    m.absorbed.clear();
    for (int c = 0; c < k; ++c) {
      m.counts.push_back(before.sums.count(c));
      m.cluster_weight.push_back(before.sums.weight(c));
      m.absorbed.push_back(kc.init_absorbed[static_cast<std::size_t>(c)] + before.sums.weight(c));
    }
  }
  report.inertia = m.inertia;

  // Stable ids.
  report.new_segment_distance = config.new_segment_distance > 0
                                    ? config.new_segment_distance
                                    : default_new_segment_distance(prev.centroids, k, d);
  report.ids = match_segment_ids(prev.centroids, prev.segment_id, m.centres, d, report.new_segment_distance,
                                 prev.next_segment_id);

  // Profiles of the window, names carried by id.
  report.profiles = detail::profile_file(r, idx, t, w, m.centres.data(), k, backend);
  carry_names(report.profiles, report.ids.ids, prev);

  io::ModelFile file = detail::model_file(m, t, prev.feature_names);
  file.segment_id = report.ids.ids;
  file.next_segment_id = report.ids.next_id;
  file.retired_segment_id = prev.retired_segment_id;
  file.retired_segment_id.insert(file.retired_segment_id.end(), report.ids.retired.begin(),
                                 report.ids.retired.end());
  std::sort(file.retired_segment_id.begin(), file.retired_segment_id.end());
  file.profiles = report.profiles;
  nlohmann::json cfg = nlohmann::json::parse(prev.config.empty() ? "{}" : prev.config, nullptr, false);
  if (!cfg.is_object()) cfg = nlohmann::json::object();
  cfg["update"] = {{"previous_model", previous_model.filename().string()},
                   {"half_life", config.half_life},
                   {"decay", report.decay},
                   {"min_improvement", config.min_improvement},
                   {"new_segment_distance", report.new_segment_distance},
                   {"seed", kc.seed},
                   {"moved", report.moved},
                   {"inertia_before", report.inertia_before},
                   {"inertia_trained", report.inertia_trained},
                   {"created", report.ids.created},
                   {"retired", report.ids.retired}};
  file.config = cfg.dump();
  nlohmann::json source = {{"file", features.filename().string()}, {"rows", n}};
  if (r.metadata().as_of) source["as_of"] = *r.metadata().as_of;
  if (!r.metadata().mode.empty()) source["mode"] = r.metadata().mode;
  file.source = source.dump();
  const io::Provenance provenance{
      "segstream.model",
      "update",
      cfg,
      {io::fingerprint_input("model", previous_model), io::fingerprint_input("features", features)}};
  io::write_model(output.temp_path(), output.final_path().string(), file, provenance);
  output.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
