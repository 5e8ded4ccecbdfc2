// The report's content (report.hpp): everything the page shows, gathered from the model, its segments and
// the optional lifetimes and truth files into one JSON document.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/core/version.hpp"
#include "segstream/host/bgnbd.hpp"
#include "segstream/host/clv.hpp"
#include "segstream/host/report.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/provenance.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/kernels/bgnbd.hpp"

namespace segstream::host {
namespace {

using nlohmann::json;

constexpr std::uint64_t kChunk = io::kSegmentChunkRows;

// A finite number, or null (JSON has no NaN).
json number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string name_of(const std::filesystem::path& p) {
  return p.filename().string();
}

// The fingerprint of the model that the segments were assigned with, from their provenance.
std::string assigned_model_fingerprint(const io::File& segments) {
  if (!segments.has_attribute("provenance")) return "";
  const json provenance = json::parse(segments.string_attribute("provenance"), nullptr, false);
  if (!provenance.is_object() || !provenance.contains("inputs")) return "";
  for (const json& input : provenance["inputs"])
    if (input.value("role", "") == "model" && input.contains("fingerprint") &&
        input["fingerprint"].is_string())
      return input["fingerprint"].get<std::string>();
  return "";
}

// Every customer's segment index, by customer id: the segments file's (mix64(id), segment) pairs, sorted.
class SegmentOf {
 public:
  SegmentOf(const io::SegmentsReader& segments, std::uint64_t memory) {
    const std::uint64_t rows = segments.rows();
    const std::uint64_t need = rows * sizeof(std::pair<std::uint64_t, std::int32_t>);
    if (memory > 0 && need > memory)
      throw ResourceError(
          fmt::format("{}: joining its {} customers by id needs about {} MiB, more than "
                      "--host-memory {} MiB",
                      segments.path(), rows, need >> 20, memory >> 20));
    pairs_.reserve(rows);
    std::vector<std::uint64_t> ids;
    std::vector<std::int32_t> segment;
    for (std::uint64_t start = 0; start < rows; start += kChunk) {
      const std::uint64_t n = std::min(kChunk, rows - start);
      ids.resize(n);
      segment.resize(n);
      segments.read(start, n, ids.data(), segment.data(), nullptr, nullptr);
      for (std::uint64_t i = 0; i < n; ++i) pairs_.emplace_back(mix64(ids[i]), segment[i]);
    }
    std::sort(pairs_.begin(), pairs_.end());
  }
  // The segment index of a customer, or −1 when the segments do not have it.
  std::int32_t operator()(std::uint64_t id) const {
    const std::uint64_t key = mix64(id);
    const auto it = std::lower_bound(pairs_.begin(), pairs_.end(), key,
                                     [](const auto& p, std::uint64_t k) { return p.first < k; });
    return it != pairs_.end() && it->first == key ? it->second : -1;
  }

 private:
  std::vector<std::pair<std::uint64_t, std::int32_t>> pairs_;
};

// A column of a profile by name, or −1.
int column_of(const io::SegmentProfiles& p, const std::string& name) {
  const auto it = std::find(p.columns.begin(), p.columns.end(), name);
  return it == p.columns.end() ? -1 : static_cast<int>(it - p.columns.begin());
}

// The segment KPIs that the profile alone gives (KPI definitions in kpi_definitions()).
void profile_kpis(const io::SegmentProfiles& p, std::size_t s, json& kpi) {
  const std::size_t d = p.d();
  const auto mean = [&](int c) { return p.mean[s * d + static_cast<std::size_t>(c)]; };
  const auto varies = [&](int c) { return c >= 0 && p.population_sd[static_cast<std::size_t>(c)] > 0; };
  const int conversion = column_of(p, "conversion_rate");
  kpi["conversion_rate"] = varies(conversion) ? number(mean(conversion)) : json(nullptr);
  const int revenue = p.revenue_column.empty() ? -1 : column_of(p, p.revenue_column);
  const int frequency = column_of(p, "frequency");
  kpi["avg_order_value"] = revenue >= 0 && frequency >= 0 && mean(frequency) > 0
                               ? number(mean(revenue) / mean(frequency))
                               : json(nullptr);
  const int buyer = column_of(p, "has_purchase");
  kpi["buyer_share"] = buyer >= 0 ? number(mean(buyer)) : json(nullptr);
  const int alive = column_of(p, "p_alive");
  kpi["p_alive"] = varies(alive) ? number(mean(alive)) : json(nullptr);
  const int recency = column_of(p, "recency_days");
  kpi["recency_days"] = recency >= 0 ? number(mean(recency)) : json(nullptr);
}

json kpi_definitions() {
  return {
      {"conversion_rate",
       "the mean of the customers' conversion_rate: the share of cart adds that became "
       "purchases, (purchases + 1) / (cart adds + 2) per customer"},
      {"avg_order_value",
       "revenue per purchase period: the segment's revenue over its purchase periods "
       "(Σ revenue column / Σ frequency)"},
      {"buyer_share", "the share of the segment's customers with a purchase"},
      {"p_alive", "the mean BG/NBD probability that a customer is still active"},
      {"recency_days", "the mean days since the last purchase (without one: since the first event)"},
      {"expected_purchases", "lifetimes file: the mean BG/NBD expected purchases in the horizon"},
      {"expected_value",
       "lifetimes file: the mean expected revenue in the horizon, each customer's BG/NBD "
       "expected purchases × Gamma-Gamma expected spend per purchase (undiscounted)"},
      {"holdout_churn_rate",
       "lifetimes file with a holdout window: the share of the segment's customers in "
       "it who made no purchase in the holdout window"},
  };
}

// The lifetimes file: BG/NBD and Gamma-Gamma fitted over its customers, then per segment the mean expected
// purchases and value in the horizon and, with a holdout window, the share who bought nothing in it.
json lifetimes_section(const ReportOptions& o, const SegmentOf& segment_of, std::size_t k, json& segments) {
  const io::FeatureFileReader r(o.lifetimes);
  SEGSTREAM_CHECK_INPUT(r.metadata().mode == "lifetimes",
                        "{}: --lifetimes expects a file of `features --mode lifetimes`, not mode '{}'",
                        r.path(), r.metadata().mode);
  const auto& names = r.feature_names();
  const auto col = [&](const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
  };
  const int cf = col("frequency"), cr = col("recency"), cT = col("T"), cm = col("monetary_value"),
            ch = col("frequency_holdout"), cd = col("duration_holdout");
  SEGSTREAM_CHECK_INPUT(cf >= 0 && cr >= 0 && cT >= 0 && cm >= 0,
                        "{}: /features lacks a lifetimes column (frequency, recency, T, monetary_value)",
                        r.path());
  const std::uint64_t rows = r.rows(), d = r.columns();
  std::vector<double> x(rows), t_x(rows), T(rows), m(rows), holdout;
  std::vector<std::int32_t> seg(rows);
  if (ch >= 0) holdout.resize(rows);
  double duration_holdout = 0;
  std::vector<float> block;
  std::vector<std::uint64_t> ids;
  std::uint64_t joined = 0;
  for (std::uint64_t start = 0; start < rows; start += kChunk) {
    const std::uint64_t n = std::min(kChunk, rows - start);
    block.resize(n * d);
    ids.resize(n);
    r.read_rows(start, n, block.data());
    r.read_ids(start, n, ids.data());
    for (std::uint64_t i = 0; i < n; ++i) {
      const float* row = block.data() + i * d;
      const std::uint64_t at = start + i;
      x[at] = row[cf], t_x[at] = row[cr], T[at] = row[cT], m[at] = row[cm];
      if (ch >= 0) holdout[at] = row[ch];
      if (cd >= 0) duration_holdout = std::max(duration_holdout, static_cast<double>(row[cd]));
      seg[at] = segment_of(ids[i]);
      if (seg[at] >= 0) ++joined;
    }
  }
  SEGSTREAM_CHECK_INPUT(joined > 0, "{}: none of its {} customers is in the segments file {}", r.path(), rows,
                        name_of(o.segments));
  const BgNbdFit bgnbd = naming_file(r.path(), [&] { return fit_bgnbd(x, t_x, T); });
  const GammaGammaFit spend = naming_file(r.path(), [&] { return fit_gamma_gamma(x, m); });
  SEGSTREAM_CHECK_INPUT(spend.params.q > 1,
                        "{}: the Gamma-Gamma fit gives q = {} (≤ 1), so the mean spend per purchase is not "
                        "finite; the spends are too dispersed for the model",
                        r.path(), spend.params.q);
  // The horizon in the file's periods: durations are in units of unit_seconds divided by the multiplier
  // (days / 7 = weeks), so a period is unit_seconds · multiplier seconds.
  const json params =
      json::parse(r.metadata().parameters.empty() ? "{}" : r.metadata().parameters, nullptr, false);
  const double unit_seconds = params.is_object() ? params.value("unit_seconds", 86400.0) : 86400.0;
  const double multiplier = params.is_object() ? params.value("multiplier", 1.0) : 1.0;
  const double period_seconds = unit_seconds * multiplier;
  const double horizon = o.horizon_days * 86400.0 / period_seconds;

  std::vector<double> purchases(k, 0), value(k, 0), churned(k, 0), count(k, 0);
  for (std::uint64_t i = 0; i < rows; ++i) {
    if (seg[i] < 0) continue;
    const auto s = static_cast<std::size_t>(seg[i]);
    const double e = kernels::bgnbd_conditional_expected_purchases(bgnbd.params, horizon, x[i], t_x[i], T[i]);
    purchases[s] += e;
    value[s] += e * gamma_gamma_expected_spend(spend.params, x[i], m[i]);
    if (ch >= 0 && holdout[i] == 0) churned[s] += 1;
    count[s] += 1;
  }
  for (std::size_t s = 0; s < k; ++s) {
    json& kpi = segments[s]["kpi"];
    kpi["lifetimes_customers"] = static_cast<std::uint64_t>(count[s]);
    kpi["expected_purchases"] = count[s] > 0 ? number(purchases[s] / count[s]) : json(nullptr);
    kpi["expected_value"] = count[s] > 0 ? number(value[s] / count[s]) : json(nullptr);
    kpi["expected_revenue"] = number(value[s]);
    kpi["holdout_churn_rate"] = ch >= 0 && count[s] > 0 ? number(churned[s] / count[s]) : json(nullptr);
  }
  json section = {{"file", name_of(o.lifetimes)},
                  {"customers", rows},
                  {"joined", joined},
                  {"horizon_days", o.horizon_days},
                  {"period_days", period_seconds / 86400.0},
                  {"bgnbd",
                   {{"r", bgnbd.params.r},
                    {"alpha", bgnbd.params.alpha},
                    {"a", bgnbd.params.a},
                    {"b", bgnbd.params.b},
                    {"customers", bgnbd.customers}}},
                  {"gamma_gamma",
                   {{"p", spend.params.p},
                    {"q", spend.params.q},
                    {"v", spend.params.v},
                    {"customers", spend.customers},
                    {"sampled", spend.sampled}}},
                  {"holdout", ch >= 0}};
  if (ch >= 0) section["holdout_days"] = duration_holdout * period_seconds / 86400.0;
  return section;
}

// The adjusted Rand index (Hubert & Arabie 1985) of a contingency table (rows × cols).
double adjusted_rand_index(const std::vector<std::uint64_t>& table, std::size_t rows, std::size_t cols) {
  const auto pairs = [](double n) { return n * (n - 1) / 2; };
  double index = 0, a = 0, b = 0, n = 0;
  std::vector<double> col_sum(cols, 0);
  for (std::size_t i = 0; i < rows; ++i) {
    double row_sum = 0;
    for (std::size_t j = 0; j < cols; ++j) {
      const auto c = static_cast<double>(table[i * cols + j]);
      index += pairs(c);
      row_sum += c;
      col_sum[j] += c;
    }
    a += pairs(row_sum);
    n += row_sum;
  }
  for (double c : col_sum) b += pairs(c);
  const double expected = a * b / pairs(n), max = (a + b) / 2;
  return max == expected ? 1.0 : (index - expected) / (max - expected);
}

// Segments against a generated base's truth: events.h5's /customers archetypes (after the drift when the
// segments' as-of is past it) or a synthetic features file's /truth/cluster.
json truth_section(const ReportOptions& o, const SegmentOf& segment_of, std::size_t k,
                   std::optional<std::int64_t> as_of) {
  const io::File f = io::File::open(o.truth);
  std::vector<std::uint64_t> ids;
  std::vector<std::int32_t> cls;
  std::vector<std::string> names;
  std::string kind;
  if (f.has("/customers/archetype")) {
    kind = "archetype";
    const io::Group g = f.group("/customers");
    names = g.string_list_attribute("archetype_names");
    const std::int64_t drift_at = g.has_attribute("drift_at") ? g.int_attribute("drift_at") : 0;
    const bool after =
        drift_at > 0 && as_of && *as_of >= drift_at && f.has("/customers/archetype_after_drift");
    if (after) kind = "archetype after the drift";
    ids = f.dataset("/customers/customer_id", io::ElementType::kUint64, 1).read_all<std::uint64_t>();
    const auto a = f.dataset(after ? "/customers/archetype_after_drift" : "/customers/archetype",
                             io::ElementType::kUint8, 1)
                       .read_all<std::uint8_t>();
    SEGSTREAM_CHECK_INPUT(a.size() == ids.size(), "{}: /customers has {} ids but {} archetypes", f.path(),
                          ids.size(), a.size());
    cls.assign(a.begin(), a.end());
  } else if (f.has("/truth/cluster")) {
    kind = "component";
    ids = f.dataset("/customer_id", io::ElementType::kUint64, 1).read_all<std::uint64_t>();
    cls = f.dataset("/truth/cluster", io::ElementType::kInt32, 1).read_all<std::int32_t>();
    SEGSTREAM_CHECK_INPUT(cls.size() == ids.size(), "{}: /truth/cluster has {} values for {} customers",
                          f.path(), cls.size(), ids.size());
    const std::int32_t top = cls.empty() ? -1 : *std::max_element(cls.begin(), cls.end());
    for (std::int32_t c = 0; c <= top; ++c) names.push_back(fmt::format("component {}", c));
  } else {
    throw InputError(
        fmt::format("{}: --truth expects a generated events.h5 (with /customers/archetype) or a "
                    "generated features.h5 (with /truth/cluster); it has neither",
                    f.path()));
  }
  const std::size_t classes = names.size();
  std::vector<std::uint64_t> table(classes * k, 0);
  std::uint64_t joined = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    SEGSTREAM_CHECK_INPUT(cls[i] >= 0 && static_cast<std::size_t>(cls[i]) < classes,
                          "{}: customer row {} has class {}, outside the {} named", f.path(), i, cls[i],
                          classes);
    const std::int32_t s = segment_of(ids[i]);
    if (s < 0) continue;
    ++table[static_cast<std::size_t>(cls[i]) * k + static_cast<std::size_t>(s)];
    ++joined;
  }
  SEGSTREAM_CHECK_INPUT(joined > 0, "{}: none of its {} customers is in the segments file {}", f.path(),
                        ids.size(), name_of(o.segments));
  // Only the classes present among the joined customers are shown.
  json rows = json::array(), matrix = json::array();
  std::vector<std::uint64_t> kept;
  std::size_t kept_rows = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    const auto begin = table.begin() + static_cast<std::ptrdiff_t>(c * k);
    if (std::accumulate(begin, begin + static_cast<std::ptrdiff_t>(k), std::uint64_t{0}) == 0) continue;
    rows.push_back(names[c]);
    matrix.push_back(std::vector<std::uint64_t>(begin, begin + static_cast<std::ptrdiff_t>(k)));
    kept.insert(kept.end(), begin, begin + static_cast<std::ptrdiff_t>(k));
    ++kept_rows;
  }
  // Purity: each segment counted as its largest class.
  std::uint64_t pure = 0;
  for (std::size_t s = 0; s < k; ++s) {
    std::uint64_t top = 0;
    for (std::size_t c = 0; c < kept_rows; ++c) top = std::max(top, kept[c * k + s]);
    pure += top;
  }
  return {{"file", name_of(o.truth)},
          {"kind", kind},
          {"classes", rows},
          {"matrix", matrix},
          {"joined", joined},
          {"ari", adjusted_rand_index(kept, kept_rows, k)},
          {"purity", static_cast<double>(pure) / static_cast<double>(joined)}};
}

// The migrations of an update, with the largest flows between different ids named.
json migration_section(const std::string& text, const std::vector<std::int32_t>& ids,
                       const std::vector<std::string>& names, const io::ModelFile& model) {
  json m = json::parse(text, nullptr, false);
  if (!m.is_object() || !m.contains("matrix") || !m.contains("from_id") || !m.contains("to_id"))
    return nullptr;
  // The drift's columns: the model's migration names them (its clustered columns, natural units).
  const json model_migration = json::parse(model.migration.empty() ? "{}" : model.migration, nullptr, false);
  m["drift_columns"] = model_migration.is_object() && model_migration.contains("columns") &&
                               model_migration["columns"].is_array()
                           ? model_migration["columns"]
                           : json(model.feature_names);
  const auto label = [&](std::int32_t id) {
    const auto it = std::find(ids.begin(), ids.end(), id);
    return it == ids.end() ? fmt::format("segment {}", id)
                           : fmt::format("{} ({})", names[static_cast<std::size_t>(it - ids.begin())], id);
  };
  const auto from = m["from_id"].get<std::vector<std::int32_t>>();
  const auto to = m["to_id"].get<std::vector<std::int32_t>>();
  json from_label = json::array(), to_label = json::array();
  for (std::int32_t id : from) from_label.push_back(label(id));
  for (std::int32_t id : to) to_label.push_back(label(id));
  m["from_label"] = from_label;
  m["to_label"] = to_label;
  struct Flow {
    std::uint64_t customers;
    std::size_t i, j;
  };
  std::vector<Flow> flows;
  const auto& matrix = m["matrix"];
  const std::size_t nf = from.size(), nt = to.size();
  for (std::size_t i = 0; i <= nf; ++i)
    for (std::size_t j = 0; j <= nt; ++j) {
      const bool same = i < nf && j < nt && from[i] == to[j];
      const std::uint64_t c = matrix.at(i).at(j).get<std::uint64_t>();
      if (!same && c > 0 && !(i == nf && j == nt)) flows.push_back({c, i, j});
    }
  std::stable_sort(flows.begin(), flows.end(),
                   [](const Flow& a, const Flow& b) { return a.customers > b.customers; });
  json largest = json::array();
  for (std::size_t f = 0; f < flows.size() && f < 10; ++f)
    largest.push_back({{"from", flows[f].i < nf ? from_label[flows[f].i] : json("new to the data")},
                       {"to", flows[f].j < nt ? to_label[flows[f].j] : json("gone from the data")},
                       {"customers", flows[f].customers}});
  m["largest_flows"] = largest;
  return m;
}

}  // namespace

json build_report(const ReportOptions& o) {
  const io::ModelFile model = io::read_model(o.model);
  const io::SegmentsReader segments(o.segments);
  const io::SegmentsSummary& summary = segments.summary();
  const io::File model_file = io::File::open(o.model);
  const std::string model_fingerprint =
      model_file.has_attribute("fingerprint") ? model_file.string_attribute("fingerprint") : "";
  const std::string assigned = assigned_model_fingerprint(segments.file());
  SEGSTREAM_CHECK_INPUT(assigned.empty() || assigned == model_fingerprint,
                        "{}: these segments were assigned with model '{}' ({}), not with {} ({}); give the "
                        "model of the same run",
                        segments.path(), summary.model, assigned, o.model.string(), model_fingerprint);
  SEGSTREAM_CHECK_INPUT(summary.k == model.k && summary.segment_id == model.segment_id,
                        "{}: its {} segments (ids {}) are not those of the model {} ({} segments, ids {})",
                        segments.path(), summary.k, fmt::join(summary.segment_id, ","), o.model.string(),
                        model.k, fmt::join(model.segment_id, ","));
  const io::SegmentProfiles& p = summary.profiles;
  SEGSTREAM_CHECK_INPUT(p.k() == static_cast<std::size_t>(model.k),
                        "{}: it has no segment profiles (/profile); assign it again with this version",
                        segments.path());
  const std::size_t k = p.k(), d = p.d();

  json content;
  content["format"] = "segstream.report";
  content["format_version"] = 1;
  content["title"] = o.title.empty() ? fmt::format("Segments of {}", summary.features) : o.title;
  content["created_by"] = fmt::format("segstream {} ({}) report", kVersion, kGitCommit);

  // The base at a glance.
  const int revenue_column = p.revenue_column.empty() ? -1 : column_of(p, p.revenue_column);
  const double revenue = revenue_column >= 0 ? p.population_mean[static_cast<std::size_t>(revenue_column)] *
                                                   static_cast<double>(p.rows)
                                             : std::nan("");
  json base = {{"customers", segments.rows()},
               {"profiled", p.rows},
               {"segments", k},
               {"features", summary.features},
               {"revenue_column", p.revenue_column},
               {"revenue", number(revenue)},
               {"inertia", summary.inertia},
               {"transform", model.transform},
               {"columns_clustered", model.feature_names}};
  if (summary.as_of) {
    base["as_of"] = format_iso_time(*summary.as_of);
  } else {
    base["as_of"] = nullptr;
  }
  const json source = json::parse(model.source.empty() ? "{}" : model.source, nullptr, false);
  base["mode"] = source.is_object() ? source.value("mode", "") : "";
  content["base"] = base;

  json inputs = json::array();
  const auto add_input = [&](const std::string& role, const std::filesystem::path& path) {
    const io::InputFingerprint f = io::fingerprint_input(role, path);
    inputs.push_back({{"role", role}, {"file", f.file}, {"bytes", f.bytes}, {"fingerprint", f.fingerprint}});
  };
  add_input("model", o.model);
  add_input("segments", o.segments);
  if (!o.lifetimes.empty()) add_input("lifetimes", o.lifetimes);
  if (!o.truth.empty()) add_input("truth", o.truth);
  content["inputs"] = inputs;
  content["provenance"] = {
      {"model", model_file.has_attribute("created_by") ? model_file.string_attribute("created_by") : ""},
      {"segments",
       segments.file().has_attribute("created_by") ? segments.file().string_attribute("created_by") : ""}};

  json columns = json::array();
  for (std::size_t c = 0; c < d; ++c)
    columns.push_back({{"name", p.columns[c]},
                       {"unit", p.units.empty() ? "" : p.units[c]},
                       {"clustered", std::find(model.feature_names.begin(), model.feature_names.end(),
                                               p.columns[c]) != model.feature_names.end()},
                       {"population_mean", number(p.population_mean[c])},
                       {"population_sd", number(p.population_sd[c])},
                       {"population_median", number(p.population_median[c])}});
  content["columns"] = columns;

  json segs = json::array();
  for (std::size_t s = 0; s < k; ++s) {
    json seg = {{"index", s},
                {"id", summary.segment_id[s]},
                {"name", p.name[s]},
                {"customers", p.customers[s]},
                {"customer_share", p.customer_share[s]},
                {"revenue_share", p.revenue_share.empty() ? json(nullptr) : number(p.revenue_share[s])},
                {"revenue", p.revenue_share.empty() ? json(nullptr) : number(p.revenue_share[s] * revenue)},
                {"apart", p.apart[s]}};
    json mean = json::array(), median = json::array(), z = json::array();
    for (std::size_t c = 0; c < d; ++c) {
      mean.push_back(number(p.mean[s * d + c]));
      median.push_back(number(p.median[s * d + c]));
      z.push_back(number(p.z[s * d + c]));
    }
    seg["mean"] = mean;
    seg["median"] = median;
    seg["z"] = z;
    json kpi = json::object();
    profile_kpis(p, s, kpi);
    seg["kpi"] = kpi;
    segs.push_back(seg);
  }

  content["lifetimes"] = nullptr;
  content["truth"] = nullptr;
  if (!o.lifetimes.empty() || !o.truth.empty()) {
    const SegmentOf segment_of(segments, o.host_memory);
    if (!o.lifetimes.empty()) content["lifetimes"] = lifetimes_section(o, segment_of, k, segs);
    if (!o.truth.empty()) content["truth"] = truth_section(o, segment_of, k, summary.as_of);
  }
  content["segments"] = segs;
  content["kpi_definitions"] = kpi_definitions();
  content["migration"] = summary.migration.empty()
                             ? json(nullptr)
                             : migration_section(summary.migration, summary.segment_id, p.name, model);
  return content;
}

}  // namespace segstream::host

namespace segstream::host {

ReportResult write_report(const ReportOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  std::filesystem::path json_path = o.json;
  if (json_path.empty()) json_path = std::filesystem::path(o.out).replace_extension(".json");
  SEGSTREAM_EXPECTS(std::filesystem::absolute(json_path) != std::filesystem::absolute(o.out),
                    "report: --json {} is the same file as --out", json_path.string());
  SEGSTREAM_EXPECTS(std::isfinite(o.horizon_days) && o.horizon_days > 0,
                    "report: --horizon-days {} must be a positive number of days", o.horizon_days);
  // Both destinations are checked before anything is read.
  io::AtomicOutput html_out(o.out, o.overwrite);
  io::AtomicOutput json_out(json_path, o.overwrite);
  ReportResult r;
  r.content = build_report(o);
  const std::string html = render_report_html(r.content);
  // Segment names and descriptions come from segments.h5 as stored; bytes that are not UTF-8 become U+FFFD.
  const std::string text = r.content.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
  const auto write = [](const io::AtomicOutput& out, const std::string& bytes) {
    std::FILE* f = std::fopen(out.temp_path().c_str(), "wb");
    if (f == nullptr) throw ResourceError(fmt::format("{}: cannot be written", out.final_path().string()));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok)
      throw ResourceError(fmt::format("{}: the write failed (is the disk full?)", out.final_path().string()));
  };
  write(html_out, html);
  write(json_out, text);
  throw_if_interrupted();  // both files or neither
  json_out.commit(io::AtomicOutput::OnInterrupt::kKeep);
  html_out.commit(io::AtomicOutput::OnInterrupt::kKeep);
  r.html = o.out;
  r.json = json_path;
  r.customers = r.content["base"]["customers"].get<std::uint64_t>();
  r.k = static_cast<int>(r.content["segments"].size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace segstream::host
