#include "segstream/host/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "segstream/core/error.hpp"
#include "segstream/core/text.hpp"
#include "segstream/core/time.hpp"
#include "segstream/io/events.hpp"

namespace segstream::host {
namespace {

// "champion=2,lapsed" → weights; unnamed archetypes get weight 0.
std::array<double, kArchetypeCount> parse_mix(const std::string& text) {
  std::array<double, kArchetypeCount> mix{};
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const auto archetype = parse_archetype(name);
    if (!archetype) {
      std::string valid;
      for (const auto& n : archetype_names()) valid += (valid.empty() ? "" : ", ") + n;
      throw UsageError(
          fmt::format("--archetypes: unknown archetype '{}' (expected one of: {})", name, valid));
    }
    double weight = 1.0;
    if (eq != std::string::npos) {
      try {
        std::size_t used = 0;
        weight = std::stod(item.substr(eq + 1), &used);
        if (used != item.size() - eq - 1) throw std::invalid_argument("trailing characters");
      } catch (const std::exception&) {
        throw UsageError("--archetypes: weight of '" + name + "' is not a number: '" + item.substr(eq + 1) +
                         "'");
      }
      if (!(weight >= 0.0)) throw UsageError("--archetypes: weight of '" + name + "' must be non-negative");
    }
    mix[static_cast<std::size_t>(*archetype)] = weight;
  }
  return mix;
}

}  // namespace

std::int64_t parse_date(const std::string& option, const std::string& text) {
  const auto t = parse_iso_time(text);
  if (!t) throw UsageError(option + ": expected a date YYYY-MM-DD (UTC), got '" + escape_text(text) + "'");
  if (!time_in_range(*t))
    throw UsageError(option + ": " + text + " is outside the times segstream reads (" + kTimeRangeText + ")");
  return *t;
}

std::int64_t parse_positive(const std::string& option, const std::string& text, std::int64_t max) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0 || v > max)
    throw UsageError(option + ": expected a positive integer" +
                     (max < 1000000 ? " up to " + std::to_string(max) : "") + " or a name, got '" + text +
                     "'");
  return v;
}

std::uint64_t parse_bytes(const std::string& option, const std::string& text) {
  std::string digits = text;
  std::uint64_t scale = 1;
  if (!digits.empty()) {
    const char suffix = static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back())));
    const std::string units = "KMGT";
    if (const auto at = units.find(suffix); at != std::string::npos) {
      scale = std::uint64_t{1} << (10 * (at + 1));
      digits.pop_back();
    }
  }
  return static_cast<std::uint64_t>(
             parse_positive(option, digits, std::numeric_limits<std::int64_t>::max())) *
         scale;
}

std::vector<double> parse_number_list(const std::string& option, const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    double v = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || !std::isfinite(v))
      throw UsageError(fmt::format("{}: expected comma-separated numbers, got '{}'", option, text));
    out.push_back(v);
  }
  return out;
}

kernels::BackendOptions backend_options(const GlobalOptions& g, const std::string& gpu_memory) {
  const auto kind = kernels::parse_device_kind(g.device);
  if (!kind) throw UsageError("--device: expected auto, cpu or cuda, got '" + g.device + "'");
  SEGSTREAM_EXPECTS(g.threads >= 0, "--threads must not be negative (got {})", g.threads);
  return {*kind, g.threads, gpu_memory.empty() ? 0 : parse_bytes("--gpu-memory", gpu_memory)};
}

namespace {
// The options both kinds of generated file take.
void check_generate_options(const GenerateOptions& o) {
  SEGSTREAM_EXPECTS(o.customers > 0, "--customers must be at least 1 (got {})", o.customers);
  SEGSTREAM_EXPECTS(o.chunk_rows >= 0, "--chunk-rows must be non-negative (got {})", o.chunk_rows);
  SEGSTREAM_EXPECTS(o.batch > 0, "--batch must be positive (got {})", o.batch);
}
}  // namespace

EventGeneratorConfig event_generator_config(const GenerateOptions& o, int threads) {
  check_generate_options(o);
  SEGSTREAM_EXPECTS(o.days > 0, "--days must be a positive number of days (got {})", o.days);
  SEGSTREAM_EXPECTS(o.shuffle_block > 0, "--shuffle-block must be positive (got {})", o.shuffle_block);
  SEGSTREAM_EXPECTS(
      o.order == "customer" || o.order == "shuffled",
      "--order: expected customer or shuffled for events (key is for --features-only), got '{}'", o.order);
  EventGeneratorConfig c;
  c.customers = static_cast<std::uint64_t>(o.customers);
  c.days = o.days;
  c.start = parse_date("--start", o.start);
  c.seed = o.seed;
  if (!o.archetypes.empty()) c.mix = parse_mix(o.archetypes);
  c.drift_fraction = o.drift_fraction;
  if (!o.drift_at.empty()) c.drift_at = parse_date("--drift-at", o.drift_at);
  c.order = o.order == "shuffled" ? EventOrder::kShuffled : EventOrder::kCustomer;
  c.shuffle_block = static_cast<std::uint64_t>(o.shuffle_block);
  c.batch_customers = static_cast<std::uint64_t>(o.batch);
  c.chunk_rows = static_cast<std::uint64_t>(o.chunk_rows);
  c.threads = threads;
  c.validate();
  return c;
}

MixtureGeneratorConfig mixture_generator_config(const GenerateOptions& o, int threads) {
  check_generate_options(o);
  SEGSTREAM_EXPECTS(o.dims > 0, "--dims must be at least 1 (got {})", o.dims);
  SEGSTREAM_EXPECTS(o.clusters > 0, "--clusters must be at least 1 (got {})", o.clusters);
  MixtureGeneratorConfig c;
  c.rows = static_cast<std::uint64_t>(o.customers);
  c.dims = static_cast<std::uint64_t>(o.dims);
  c.clusters = static_cast<std::uint64_t>(o.clusters);
  c.seed = o.seed;
  c.cluster_std = o.cluster_std;
  c.separation = o.separation;
  SEGSTREAM_EXPECTS(o.window >= 1, "--window must be at least 1 (got {})", o.window);
  SEGSTREAM_EXPECTS(o.drift_at.empty(),
                    "--drift-at applies to event mode; --features-only drifts between "
                    "windows (--window){}",
                    "");
  SEGSTREAM_EXPECTS(o.order == "customer" || o.order == "key",
                    "--order: expected customer or key with --features-only, got '{}'", o.order);
  c.key_order = o.order == "key";
  c.window = static_cast<std::uint64_t>(o.window);
  c.drift_fraction = o.drift_fraction;
  c.chunk_rows = static_cast<std::uint64_t>(o.chunk_rows);
  c.threads = threads;
  c.validate();
  return c;
}

io::CsvImportOptions import_csv_config(const ImportCsvOptions& o) {
  SEGSTREAM_EXPECTS(o.on_bad_row == "error" || o.on_bad_row == "skip",
                    "--on-bad-row: expected error or skip, got '{}'", o.on_bad_row);
  io::CsvImportOptions c = o.csv;
  c.on_bad_row = o.on_bad_row == "skip" ? io::BadRowPolicy::kSkip : io::BadRowPolicy::kError;
  return c;
}

FeatureConfig features_config(const FeaturesOptions& o) {
  FeatureConfig c;
  c.mode = parse_feature_mode(o.mode);
  if (!o.as_of.empty()) c.as_of = parse_date("--as-of", o.as_of);
  if (!o.since.empty()) c.since = parse_date("--since", o.since);
  if (!o.t_ref.empty()) c.t_ref = parse_date("--t-ref", o.t_ref);
  if (!o.calibration_end.empty()) c.calibration_end = parse_date("--calibration-end", o.calibration_end);
  if (o.unit == "day")
    c.unit_seconds = 86400;
  else if (o.unit == "hour")
    c.unit_seconds = 3600;
  else if (o.unit == "week")
    c.unit_seconds = 7 * 86400;
  else
    c.unit_seconds = parse_positive("--unit", o.unit, std::numeric_limits<std::int64_t>::max());
  c.multiplier = o.multiplier;
  c.purchase_types.clear();
  std::stringstream types(o.purchase_types);
  for (std::string t; std::getline(types, t, ',');) {
    const auto& names = io::standard_event_type_names();
    const auto it = std::find(names.begin(), names.end(), t);
    c.purchase_types.push_back(it != names.end()
                                   ? static_cast<std::uint8_t>(it - names.begin())
                                   : static_cast<std::uint8_t>(parse_positive("--purchase-types", t, 255)));
  }
  c.host_memory = parse_bytes("--host-memory", o.host_memory);
  SEGSTREAM_EXPECTS(o.on_bad_row == "error" || o.on_bad_row == "skip",
                    "--on-bad-row: expected error or skip, got '{}'", o.on_bad_row);
  c.on_bad_row = o.on_bad_row == "skip" ? io::BadRowPolicy::kSkip : io::BadRowPolicy::kError;
  c.max_bad_share = o.max_bad_share;
  const std::vector<double> windows = parse_number_list("--windows", o.windows);
  if (windows.size() != 3) throw UsageError("--windows takes three numbers of days, e.g. 7,28,90");
  for (int i = 0; i < 3; ++i)
    c.windows[static_cast<std::size_t>(i)] = static_cast<int>(windows[static_cast<std::size_t>(i)]);
  c.season_months = 0;
  for (double m : parse_number_list("--season-months", o.season_months)) {
    if (m < 1 || m > 12 || m != std::floor(m)) throw UsageError("--season-months takes months 1-12");
    c.season_months |= 1u << static_cast<int>(m);
  }
  c.top_categories = o.top_categories;
  if (!o.bgnbd.empty()) {
    const std::vector<double> v = parse_number_list("--bgnbd", o.bgnbd);
    if (v.size() != 4) throw UsageError("--bgnbd takes four numbers r,alpha,a,b");
    c.bgnbd = kernels::BgNbdParams{v[0], v[1], v[2], v[3]};
  }
  c.state_in = o.state_in;
  c.state_out = o.state_out;
  return c;
}

FitConfig fit_config(const FitOptions& o, int threads) {
  FitConfig c;
  c.kmeans = o.kmeans;
  c.kmeans.threads = threads;
  std::stringstream cols(o.columns);
  for (std::string name; std::getline(cols, name, ',');)
    if (!name.empty()) c.columns.push_back(name);
  c.transform = parse_transform(o.transform);
  if (!(o.clip >= 0) || !std::isfinite(o.clip))
    throw UsageError(fmt::format("--clip takes 0 (none) or a positive number of deviations, not {}", o.clip));
  c.clip = o.clip;
  if (o.family_weights != "on" && o.family_weights != "off")
    throw UsageError(fmt::format("--family-weights takes on or off, not '{}'", o.family_weights));
  c.family_weights = o.family_weights == "on";
  c.host_memory = parse_bytes("--host-memory", o.host_memory);
  if (o.init == "k-means++")
    c.kmeans.init = KMeansInit::kKMeansPlusPlus;
  else if (o.init == "k-means-parallel")
    c.kmeans.init = KMeansInit::kKMeansParallel;
  else if (o.init == "random")
    c.kmeans.init = KMeansInit::kRandom;
  else
    c.init_model = o.init;
  c.keep_absorbed = o.keep_absorbed;
  auto whole = [](const std::string& text, const char* what) {
    std::size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size())
      throw UsageError(fmt::format("{} takes a whole number, not '{}'", what, text));
    return n;
  };
  if (o.k == "auto") {
    c.k_auto = true;
    const std::size_t dash = o.k_range.find('-');
    if (dash == std::string::npos)
      throw UsageError(fmt::format("--k-range takes LO-HI, e.g. 2-20, not '{}'", o.k_range));
    c.k_min = whole(o.k_range.substr(0, dash), "--k-range");
    c.k_max = whole(o.k_range.substr(dash + 1), "--k-range");
    if (c.k_min < 1 || c.k_max < c.k_min)
      throw UsageError(fmt::format("--k-range {} must be LO-HI with 1 <= LO <= HI", o.k_range));
  } else if (!o.k.empty()) {
    c.kmeans.k = whole(o.k, "--k");
  }
  if (o.n_init == "auto") {
    c.kmeans.n_init = 0;
  } else {
    std::size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(o.n_init, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != o.n_init.size() || n < 1)
      throw UsageError(
          fmt::format("--n-init takes auto or a whole number of at least 1, not '{}'", o.n_init));
    c.kmeans.n_init = n;
  }
  return c;
}

}  // namespace segstream::host
