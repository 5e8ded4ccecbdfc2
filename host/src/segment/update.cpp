// `segstream update`: the previous model carried onto a new window (resegment.hpp).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "emerge.hpp"
#include "feature_rows.hpp"
#include "kmeans/passes.hpp"
#include "model_parts.hpp"
#include "profile.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/resegment.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/customer_ids.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/provenance.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::host {
namespace {

constexpr std::uint64_t kEmergeSample = 65536;  // rows of the window the new groups are looked for in
constexpr std::uint64_t kEmergeSalt = 7;        // its sample's draws (uniform_sample), apart from fit's

// The unit of each named column, from parallel lists of names and units ("" where none is recorded).
std::string unit_of(const std::vector<std::string>& names, const std::vector<std::string>& units,
                    const std::string& name) {
  if (units.size() != names.size()) return "";
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? "" : units[static_cast<std::size_t>(it - names.begin())];
}

// The median, over the previous segments that hold customers of the window, of their RMS radius there
// (the root mean squared distance of their customers to the centre); infinite when none holds any.
double default_new_segment_distance(const detail::Pass& before, int k) {
  std::vector<double> radius;
  for (int c = 0; c < k; ++c) {
    const double w = before.sums.weight(c);
    if (w > 0) radius.push_back(std::sqrt(before.error[static_cast<std::size_t>(c)] / w));
  }
  if (radius.empty()) return std::numeric_limits<double>::infinity();
  std::sort(radius.begin(), radius.end());
  const std::size_t n = radius.size();
  return n % 2 == 1 ? radius[n / 2] : (radius[n / 2 - 1] + radius[n / 2]) / 2;
}

// Names carried by id: a segment that kept its previous id keeps the previous name; a new one keeps the
// name its profile gave it unless a carried name has it, then it is numbered.
void carry_names(io::SegmentProfiles& p, const std::vector<std::int32_t>& ids, const io::ModelFile& prev) {
  std::map<std::int32_t, std::string> previous;
  if (prev.profiles.k() == prev.segment_id.size())
    for (std::size_t i = 0; i < prev.segment_id.size(); ++i)
      previous[prev.segment_id[i]] = prev.profiles.name[i];
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

// A CSV field, quoted when it holds a comma, a quote, a line break or edge spaces.
std::string csv_field(const std::string& text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// The previous segments file must be of the previous model: its provenance names the model's fingerprint.
void expect_segments_of(const std::filesystem::path& segments, const std::filesystem::path& model) {
  const io::File f = io::File::open(segments);
  io::expect_format(f, "segstream.segments", "segstream segments file");
  const std::string want = io::fingerprint_input("model", model).fingerprint;
  std::string got;
  const nlohmann::json p = nlohmann::json::parse(f.string_attribute("provenance"), nullptr, false);
  if (p.is_object() && p.contains("inputs") && p["inputs"].is_array())
    for (const nlohmann::json& in : p["inputs"])
      if (in.value("role", "") == "model" && in.contains("fingerprint") && in["fingerprint"].is_string())
        got = in["fingerprint"].get<std::string>();
  SEGSTREAM_CHECK_INPUT(
      !want.empty() && got == want,
      "{}: these segments were not assigned with the model {} (its fingerprint {}, theirs {})", f.path(),
      model.string(), want.empty() ? "none" : want, got.empty() ? "none" : got);
}

}  // namespace

std::string Migrations::json() const {
  const std::size_t kp = from_id.size(), kn = to_id.size();
  nlohmann::json m = nlohmann::json::array();
  for (std::size_t i = 0; i <= kp; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t j = 0; j <= kn; ++j) row.push_back(matrix[i * (kn + 1) + j]);
    m.push_back(row);
  }
  nlohmann::json drift_rows = nlohmann::json::array();
  const std::size_t d = kn > 0 ? drift.size() / kn : 0;
  for (std::size_t j = 0; j < kn; ++j) {
    if (d == 0 || std::isnan(drift[j * d])) {
      drift_rows.push_back(nullptr);
      continue;
    }
    drift_rows.push_back(std::vector<double>(drift.begin() + static_cast<std::ptrdiff_t>(j * d),
                                             drift.begin() + static_cast<std::ptrdiff_t>((j + 1) * d)));
  }
  nlohmann::json kinds = nlohmann::json::array();
  for (std::size_t i = 0; i < kp; ++i) {
    std::vector<std::int32_t> into;
    for (int j : transitions.into[i]) into.push_back(to_id[static_cast<std::size_t>(j)]);
    kinds.push_back({{"from", from_id[i]}, {"kind", transitions.kind[i]}, {"into", into}});
  }
  std::vector<std::int32_t> emerged;
  for (std::size_t j = 0; j < kn; ++j)
    if (transitions.emerged[j] != 0) emerged.push_back(to_id[j]);
  return nlohmann::json{
      {"from_id", from_id},
      {"to_id", to_id},
      {"matrix", m},
      {"rows", "previous segments, then customers new to the data"},
      {"columns", "these segments, then customers gone from the data"},
      {"both", both},
      {"changed", changed},
      {"changed_share", both > 0 ? static_cast<double>(changed) / static_cast<double>(both) : 0.0},
      {"arrived", arrived},
      {"gone", gone},
      {"entered", entered},
      {"exited", exited},
      {"drift", drift_rows},
      {"transitions",
       {{"method", "MONIC (Spiliopoulou et al. 2006), overlap |X ∩ Y| / |X| over customers in both"},
        {"match", transitions.match},
        {"split_part", transitions.split_part},
        {"from", kinds},
        {"emerged", emerged}}}}
      .dump();
}

namespace {

// Every customer of the window labelled with the next model (hysteresis against the previous segments when
// given), written to segments.h5 with its profile and the migrations; the changes CSV beside it.
void write_segments(const io::FeatureFileReader& r, const std::vector<int>& idx, const Transform& t,
                    const float* w, const io::ModelFile& next, const std::string& next_name,
                    const std::filesystem::path& next_written, const io::ModelFile& prev,
                    const std::filesystem::path& previous_model, const UpdateConfig& config,
                    io::AtomicOutput& out, io::AtomicOutput* changes, kernels::Backend& backend,
                    UpdateReport& report) {
  const int k = next.k, d = next.d;
  const auto kn = static_cast<std::size_t>(k), kp = prev.segment_id.size();
  // Segment index by id (−1: not a segment of that model), looked up once per customer: ids lie below
  // the next model's next id, which bounds the previous model's too.
  std::vector<int> next_index(static_cast<std::size_t>(next.next_segment_id), -1), prev_index = next_index;
  for (std::size_t c = 0; c < kn; ++c)
    next_index[static_cast<std::size_t>(next.segment_id[c])] = static_cast<int>(c);
  for (std::size_t c = 0; c < kp; ++c)
    prev_index[static_cast<std::size_t>(prev.segment_id[c])] = static_cast<int>(c);
  std::unique_ptr<PreviousSegments> previous;
  if (!config.previous_segments.empty()) {
    expect_segments_of(config.previous_segments, previous_model);
    previous = std::make_unique<PreviousSegments>(config.previous_segments, prev.segment_id,
                                                  r.metadata().customer_order == io::kMix64Order,
                                                  config.host_memory);
  }
  // The changes CSV, with each customer's own id.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> csv(nullptr, &std::fclose);
  const io::CustomerIds window_ids = io::CustomerIds::read(r.file());
  io::CustomerIds previous_ids;
  std::map<std::int32_t, std::string> names;
  for (std::size_t c = 0; c < prev.segment_id.size() && c < prev.profiles.k(); ++c)
    names[prev.segment_id[c]] = prev.profiles.name[c];
  for (std::size_t c = 0; c < kn && c < next.profiles.k(); ++c)
    names[next.segment_id[c]] = next.profiles.name[c];
  // Each id's number and quoted name, made once; the lines gather in a buffer written 1 MiB at a time.
  std::vector<std::string> number(static_cast<std::size_t>(next.next_segment_id)), quoted(number.size());
  for (std::size_t id = 0; id < number.size(); ++id) number[id] = std::to_string(id);
  for (const auto& [id, name] : names) quoted[static_cast<std::size_t>(id)] = csv_field(name);
  std::string pending;
  auto put = [&](const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), csv.get()) != text.size())
      throw ResourceError(
          fmt::format("{}: write failed ({})", changes->final_path().string(), std::strerror(errno)));
  };
  auto change = [&](const std::string& id, std::int32_t from, std::int32_t to) {
    if (!csv) return;
    const std::string none;
    const auto fi = static_cast<std::size_t>(from), ti = static_cast<std::size_t>(to);
    pending += csv_field(id);
    pending += ',';
    pending += from < 0 ? "new" : number[fi];
    pending += ',';
    pending += to < 0 ? "gone" : number[ti];
    pending += ',';
    pending += from < 0 ? none : quoted[fi];
    pending += ',';
    pending += to < 0 ? none : quoted[ti];
    pending += '\n';
    if (pending.size() >= (std::size_t{1} << 20)) {
      put(pending);
      pending.clear();
    }
  };
  if (changes != nullptr) {
    csv.reset(std::fopen(changes->temp_path().c_str(), "wb"));
    if (!csv)
      throw ResourceError(
          fmt::format("{}: cannot write ({})", changes->final_path().string(), std::strerror(errno)));
    put("customer_id,from,to,from_name,to_name\n");
    previous_ids = io::CustomerIds::read(io::File::open(config.previous_segments));
  }

  Migrations& mg = report.migrations;
  mg.from_id = prev.segment_id;
  mg.to_id = next.segment_id;
  mg.matrix.assign((kp + 1) * (kn + 1), 0);
  const double keep = (1 - config.hysteresis) * (1 - config.hysteresis);  // on squared distances
  io::SegmentsWriter writer(out.temp_path(), out.final_path().string());
  detail::ProfileBuilder profile(r, k, backend.threads());
  const detail::ProfiledRows rows(r, idx, t.kind == TransformKind::kNone ? nullptr : &t, w);
  const auto pipeline = backend.make_pipeline(d, k, kPassRows, 0);
  detail::PassRunner runner(*pipeline);
  std::vector<std::uint64_t> ids;
  std::vector<std::int32_t> label, before;
  std::vector<float> d2, margin;
  double inertia = 0;
  runner.run(
      rows, next.centroids.data(), {true, kernels::Accumulate::kNone, false}, nullptr,
      [&](std::uint64_t start, std::uint64_t n, const kernels::BlockPipeline::Slot& slot, const float* x) {
        SEGSTREAM_ASSERT(x != nullptr, "the rows of block {} are not in host memory", start);
        ids.resize(n);
        r.read_ids(start, n, ids.data());
        label.assign(slot.labels, slot.labels + n);
        d2.assign(slot.distance2, slot.distance2 + n);
        margin.assign(slot.margin, slot.margin + n);
        before.assign(n, -1);
        if (previous) previous->lookup(start, n, ids.data(), before.data());
        for (std::uint64_t i = 0; i < n; ++i) {
          const int held_at = before[i] < 0 ? -1 : next_index[static_cast<std::size_t>(before[i])];
          if (held_at >= 0 && held_at != label[i] && config.hysteresis > 0) {
            const float held = kernels::squared_distance(
                x + i * static_cast<std::uint64_t>(d),
                next.centroids.data() + static_cast<std::size_t>(held_at) * static_cast<std::size_t>(d), d);
            if (!(static_cast<double>(d2[i]) < keep * static_cast<double>(held))) {
              margin[i] = d2[i] - held;
              label[i] = held_at;
              d2[i] = held;
              ++report.held;
            }
          }
          inertia += static_cast<double>(d2[i]) * (w != nullptr ? static_cast<double>(w[start + i]) : 1.0);
          const std::int32_t to = next.segment_id[static_cast<std::size_t>(label[i])];
          if (!previous) continue;
          const std::size_t from =
              before[i] < 0 ? kp : static_cast<std::size_t>(prev_index[static_cast<std::size_t>(before[i])]);
          ++mg.matrix[from * (kn + 1) + static_cast<std::size_t>(label[i])];
          if (before[i] != to) change(window_ids.text(ids[i]), before[i], to);
        }
        writer.append(n, ids.data(), label.data(), d2.data(), margin.data());
        if (previous) writer.append_previous(n, before.data());
        std::vector<float> natural = rows.take(start);
        profile.add(start, n, label.data(), natural.data());
        rows.give_back(std::move(natural));
      });
  if (previous) {
    previous->gone([&](std::uint64_t id, std::int32_t from) {
      ++mg.matrix[static_cast<std::size_t>(prev_index[static_cast<std::size_t>(from)]) * (kn + 1) + kn];
      change(previous_ids.text(id), from, -1);
    });
    mg.entered.assign(kn, 0);
    mg.exited.assign(kp, 0);
    std::vector<std::uint64_t> both(kp * kn);
    for (std::size_t i = 0; i <= kp; ++i)
      for (std::size_t j = 0; j <= kn; ++j) {
        const std::uint64_t c = mg.matrix[i * (kn + 1) + j];
        const bool same = i < kp && j < kn && prev.segment_id[i] == next.segment_id[j];
        if (i < kp && j < kn) {
          both[i * kn + j] = c;
          mg.both += c;
          if (!same) mg.changed += c;
        }
        if (i == kp) mg.arrived += c;
        if (j == kn) mg.gone += c;
        if (j < kn && !same) mg.entered[j] += c;
        if (i < kp && !same) mg.exited[i] += c;
      }
    mg.transitions = monic_transitions(both, static_cast<int>(kp), k);
    report.migrations_counted = true;
  }
  io::SegmentProfiles profiles = profile.finish();
  profiles.name = next.profiles.name;
  window_ids.write(writer.file());
  nlohmann::json cfg = {{"model", next_name},
                        {"features", std::filesystem::path(r.path()).filename().string()},
                        {"hysteresis", config.hysteresis},
                        {"previous_segments", config.previous_segments.filename().string()}};
  io::InputFingerprint model_input = io::fingerprint_input("model", next_written);
  model_input.file = next_name;
  std::vector<io::InputFingerprint> inputs = {model_input,
                                              io::fingerprint_input("previous model", previous_model),
                                              io::fingerprint_input("features", r.path())};
  if (previous) inputs.push_back(io::fingerprint_input("segments", config.previous_segments));
  writer.close(
      {next_name, std::filesystem::path(r.path()).filename().string(), k, inertia, profiles, next.segment_id,
       report.migrations_counted ? mg.json() : "", r.metadata().as_of, r.metadata().customer_order},
      {"segstream.segments", "update", cfg, inputs});
  if (csv) {
    put(pending);
    std::FILE* raw = csv.get();
    if (std::fflush(raw) != 0 || std::ferror(raw) != 0)
      throw ResourceError(
          fmt::format("{}: write failed ({})", changes->final_path().string(), std::strerror(errno)));
    if (std::fclose(csv.release()) != 0)
      throw ResourceError(
          fmt::format("{}: write failed ({})", changes->final_path().string(), std::strerror(errno)));
  }
  report.segments_written = true;
  report.segments_inertia = inertia;
}

}  // namespace

UpdateReport update_model(const std::filesystem::path& previous_model, const std::filesystem::path& features,
                          const std::filesystem::path& out_model, const std::filesystem::path& out_segments,
                          bool overwrite, const UpdateConfig& config, kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  SEGSTREAM_EXPECTS(std::isfinite(config.half_life) && config.half_life > 0,
                    "--half-life must be a positive number of updates, not {}", config.half_life);
  SEGSTREAM_EXPECTS(std::isfinite(config.new_segment_distance) && config.new_segment_distance >= 0,
                    "--new-segment-distance must be 0 (automatic) or a positive distance, not {}",
                    config.new_segment_distance);
  SEGSTREAM_EXPECTS(config.min_improvement >= 0 && config.min_improvement < 1,
                    "--min-improvement must lie in [0, 1), not {}", config.min_improvement);
  SEGSTREAM_EXPECTS(config.min_segment_share >= 0 && config.min_segment_share < 1,
                    "--min-segment-share must lie in [0, 1), not {}", config.min_segment_share);
  SEGSTREAM_EXPECTS(config.hysteresis >= 0 && config.hysteresis < 1,
                    "--hysteresis must lie in [0, 1), not {}", config.hysteresis);
  SEGSTREAM_EXPECTS(!out_segments.empty() || (config.previous_segments.empty() && config.changes.empty()),
                    "--previous-segments and --changes need --out (the segments to write){}", "");
  SEGSTREAM_EXPECTS(config.changes.empty() || !config.previous_segments.empty(),
                    "--changes needs --previous-segments (the segments the changes are from){}", "");
  const io::ModelFile prev = io::read_model(previous_model);
  const Transform t = detail::model_transform(prev);
  const io::FeatureFileReader r(features);
  const std::vector<int> idx = detail::model_columns(prev, previous_model, r);
  io::check_unique_customer_ids(r, config.host_memory);
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
  std::optional<io::AtomicOutput> segments_output, changes_output;
  if (!out_segments.empty()) segments_output.emplace(out_segments, overwrite);
  if (!config.changes.empty()) changes_output.emplace(config.changes, overwrite);

  const std::vector<float> weights = detail::read_weights(r);
  const float* w = weights.empty() ? nullptr : weights.data();
  const bool in_memory = detail::rows_fit_in_memory(r, static_cast<std::uint64_t>(d), config.host_memory);
  report.in_memory = in_memory;
  std::unique_ptr<float[], detail::FreeMemory> x;
  std::unique_ptr<RowSource> rows;
  if (in_memory) {
    x = detail::read_matrix(r, idx);
    if (t.kind != TransformKind::kNone) t.apply(x.get(), n);
    rows = std::make_unique<MemoryRows>(x.get(), n, d, w);
  } else {
    rows = std::make_unique<detail::FileRows>(r, idx, t.kind == TransformKind::kNone ? nullptr : &t, w);
  }

  const auto since = [](std::chrono::steady_clock::time_point from) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
  };
  report.read_seconds = since(t_begin);
  auto t_phase = std::chrono::steady_clock::now();
  // The window under the previous centres.
  const detail::Pass before = [&] {
    const auto pipeline = backend.make_pipeline(d, k, kPassRows, 0);
    detail::PassRunner runner(*pipeline);
    return detail::full_pass(runner, *rows, prev.centroids, k, 0, kernels::Accumulate::kCounts, true);
  }();
  report.inertia_before = before.inertia;

  report.new_segment_distance =
      config.new_segment_distance > 0 ? config.new_segment_distance : default_new_segment_distance(before, k);
  report.decay = std::pow(0.5, 1.0 / config.half_life);
  const auto dd = static_cast<std::size_t>(d);

  report.before_seconds = since(t_phase);
  t_phase = std::chrono::steady_clock::now();
  // Groups no previous centre covers get centres of their own, found on a uniform sample of the window.
  // With --min-segment-share 0 segments neither come nor go, and the sample is not read.
  std::vector<float> grown = prev.centroids;
  std::vector<double> sample_share(static_cast<std::size_t>(k), 1.0);
  if (config.min_segment_share > 0) {
    std::vector<float> sw;
    const std::vector<float> sx = uniform_sample(*rows, std::min<std::uint64_t>(n, kEmergeSample),
                                                 config.kmeans.seed, kEmergeSalt, &sw);
    detail::EmergeConfig ec;
    ec.min_share = config.min_segment_share;
    ec.min_distance = report.new_segment_distance;
    ec.max_new = k;
    report.grown = detail::grow_centres(sx, sw, d, grown, ec);
    // Segments whose groups left the window (their share of the sample under every centre, new ones too)
    // are retired before training, so that their centres do not take part of another group.
    sample_share = detail::nearest_shares(sx, sw, d, grown);
  }
  double prev_weight = 0;
  for (double v : prev.cluster_weight) prev_weight += v;
  std::vector<float> start, kept_centres;  // kept_centres: the previous centres among them
  std::vector<double> start_absorbed;
  std::vector<std::int32_t> start_ids;
  const auto keep = [&](std::size_t c) {
    const auto from = grown.begin() + static_cast<std::ptrdiff_t>(c * dd);
    start.insert(start.end(), from, from + static_cast<std::ptrdiff_t>(dd));
    if (c < static_cast<std::size_t>(k)) {
      kept_centres.insert(kept_centres.end(), from, from + static_cast<std::ptrdiff_t>(dd));
      start_absorbed.push_back(prev.absorbed_weight[c] * report.decay);
      start_ids.push_back(prev.segment_id[c]);
    } else {
      start_absorbed.push_back(0.0);
    }
  };
  for (std::size_t c = 0; c < grown.size() / dd; ++c) {
    const double was =
        prev_weight > 0 && c < prev.cluster_weight.size() ? prev.cluster_weight[c] / prev_weight : 0;
    if (c < static_cast<std::size_t>(k) && grown.size() / dd > 1 &&
        sample_share[c] < config.min_segment_share && sample_share[c] < was / 10) {
      report.dropped.push_back(prev.segment_id[c]);
      continue;
    }
    keep(c);
  }
  if (start.empty()) {  // every group left: the largest stays, so that the window has a segment
    const auto c =
        static_cast<std::size_t>(std::max_element(prev.cluster_weight.begin(), prev.cluster_weight.end()) -
                                 prev.cluster_weight.begin());
    report.dropped.erase(std::find(report.dropped.begin(), report.dropped.end(), prev.segment_id[c]));
    keep(c);
  }
  const int k_next = static_cast<int>(start.size() / dd);

  report.emerge_seconds = since(t_phase);
  t_phase = std::chrono::steady_clock::now();
  // Trained from those centres, with their absorbed weights decayed.
  KMeansConfig kc = config.kmeans;
  kc.k = k_next;
  kc.init = KMeansInit::kGiven;
  kc.init_centres = start;
  kc.init_absorbed = start_absorbed;
  kc.n_init = 1;
  KMeansModel m = fit_kmeans(*rows, kc, backend);
  report.inertia_trained = m.inertia;
  const bool same_segments = report.dropped.empty() && report.grown == 0;
  report.moved = !same_segments || m.inertia <= before.inertia * (1 - config.min_improvement);
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
  report.k = k_next;

  // Stable ids: the centres kept from the previous model are matched with the trained ones; the retired
  // before training join the retired.
  report.ids = match_segment_ids(kept_centres, start_ids, m.centres, d, report.new_segment_distance,
                                 prev.next_segment_id);
  report.ids.retired.insert(report.ids.retired.end(), report.dropped.begin(), report.dropped.end());
  std::sort(report.ids.retired.begin(), report.ids.retired.end());

  report.train_seconds = since(t_phase);
  t_phase = std::chrono::steady_clock::now();
  // Profiles of the window, names carried by id.
  report.profiles = detail::profile_file(r, idx, t, w, m.centres.data(), k_next, backend);
  report.profile_seconds = since(t_phase);
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
                   {"min_segment_share", config.min_segment_share},
                   {"grown", report.grown},
                   {"dropped", report.dropped},
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
  // How each id's centre moved (natural units), kept in the model with the ids made and retired.
  {
    std::map<std::int32_t, std::size_t> prev_index;
    for (std::size_t c = 0; c < prev.segment_id.size(); ++c) prev_index[prev.segment_id[c]] = c;
    Migrations& mg = report.migrations;
    mg.drift.assign(static_cast<std::size_t>(k_next) * dd, std::numeric_limits<double>::quiet_NaN());
    nlohmann::json drift = nlohmann::json::object();
    for (std::size_t j = 0; j < static_cast<std::size_t>(k_next); ++j) {
      const auto it = prev_index.find(file.segment_id[j]);
      if (it == prev_index.end()) continue;
      std::vector<double> by_column;
      for (std::size_t c = 0; c < dd; ++c) {
        mg.drift[j * dd + c] =
            static_cast<double>(file.centroids_raw[j * dd + c]) - prev.centroids_raw[it->second * dd + c];
        by_column.push_back(mg.drift[j * dd + c]);
      }
      drift[std::to_string(file.segment_id[j])] = by_column;
    }
    file.migration = nlohmann::json{
        {"previous_model", previous_model.filename().string()},
        {"created", report.ids.created},
        {"retired", report.ids.retired},
        {"columns", prev.feature_names},
        {"drift", drift}}.dump();
  }
  const io::Provenance provenance{
      "segstream.model",
      "update",
      cfg,
      {io::fingerprint_input("model", previous_model), io::fingerprint_input("features", features)}};
  io::write_model(output.temp_path(), output.final_path().string(), file, provenance);
  t_phase = std::chrono::steady_clock::now();
  if (segments_output)
    write_segments(r, idx, t, w, file, out_model.filename().string(), output.temp_path(), prev,
                   previous_model, config, *segments_output, changes_output ? &*changes_output : nullptr,
                   backend, report);
  if (segments_output) report.segments_seconds = since(t_phase);
  throw_if_interrupted();  // the model, segments and changes, or none of them
  output.commit(io::AtomicOutput::OnInterrupt::kKeep);
  if (segments_output) segments_output->commit(io::AtomicOutput::OnInterrupt::kKeep);
  if (changes_output) changes_output->commit(io::AtomicOutput::OnInterrupt::kKeep);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
