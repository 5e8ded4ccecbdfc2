// `segstream features --mode behavioral`: the CPU backend of the behavioural feature set.
//
// Every event of one range of hashed customer ids is held as a 24-byte record in blocks per bucket of that
// range (by hash), and each bucket is gathered and sorted by (customer, time, the rest of the record) on its
// own thread. A customer's events then lie together in time order and fold into kernels::BehaviourState,
// whose features are kernels::behaviour_features: the same code the CUDA backend runs. Sorting on the whole
// record makes the sums independent of the file order, the number of threads and the number of ranges.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include <nlohmann/json.hpp>

#include "features_internal.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/bgnbd.hpp"
#include "segstream/host/features.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/version.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/streams.hpp"
#include "segstream/kernels/backend.hpp"
#include "segstream/kernels/behaviour.hpp"

namespace segstream::host {
namespace {

using kernels::BehaviourParams;
using kernels::BehaviourState;

using kernels::BehaviourRecord;
using kernels::CarriedState;
constexpr std::int64_t kTimeBias = kernels::kRecordTimeBias;
constexpr std::uint64_t kBucketsPerPartition = kernels::kBucketsPerPartition;

constexpr double kSampleEvents = 1 << 20;  // the BG/NBD sample: customers in the lowest 2^20 / rows of keys
constexpr double kCents = 100.0;           // category totals for the top-category choice, in integer cents

std::vector<std::string> base_names(const std::array<int, 3>& windows) {
  std::vector<std::string> names = {"recency_days",     "frequency",   "monetary_total",
                                    "avg_order_value",  "tenure_days", "interpurchase_mean_days",
                                    "interpurchase_cv", "return_rate"};
  for (int w : windows) names.push_back(fmt::format("events_{}d", w));
  names.insert(names.end(), {"active_days_28d", "app_sessions_28d", "email_open_rate", "email_click_rate",
                             "repeat_ratio", "active_month_ratio", "weekend_share", "holiday_share",
                             "hour_entropy", "peak_hour", "discount_share"});
  return names;
}

std::vector<std::string> base_units(const std::string& period_name) {
  return {"days",       "distinct " + period_name,
          "currency",   "currency per purchase",
          "days",       "days",
          "ratio",      "ratio",
          "events",     "events",
          "events",     "days",
          "events",     "ratio",
          "ratio",      "ratio",
          "ratio",      "share",
          "share",      "bits",
          "hour (UTC)", "share"};
}

// The journey stage of an event type by its name (FEATURES.md: awareness 0 … advocacy 5).
int stage_of_name(const std::string& name) {
  if (name == "email_sent") return kernels::kStageNone;
  if (name == "content_view" || name == "email_click") return 1;
  if (name == "search" || name == "cart_add") return 2;
  if (name == "purchase" || name == "return") return 3;
  if (name == "review" || name == "referral") return kernels::kStageAdvocacy;
  return 0;
}

std::int32_t type_code(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<std::int32_t>(it - names.begin());
}

// The parameters a saved state must share with the run that continues it.
nlohmann::json state_identity(const FeatureConfig& c, const std::vector<std::string>& type_names) {
  return {{"unit_seconds", c.unit_seconds},
          {"purchase_types", c.purchase_types},
          {"season_months", c.season_months},
          {"event_type_names", type_names},
          {"state_layout_bytes", sizeof(BehaviourState)}};
}

// Reads --state-in: the carried customers in ascending key order, one partition at a time.
class StateReader {
 public:
  StateReader(const std::filesystem::path& path, const nlohmann::json& identity, std::int64_t t0)
      : file_(io::File::open(path)) {
    const std::string& in = file_.path();
    SEGSTREAM_CHECK_INPUT(
        file_.has_attribute("format") && file_.string_attribute("format") == "segstream.state",
        "{}: not a segstream state file (format attribute 'segstream.state' expected)", in);
    SEGSTREAM_CHECK_INPUT(file_.int_attribute("format_version") == 1,
                          "{}: state format_version {} (expected 1)", in,
                          file_.int_attribute("format_version"));
    const auto saved = nlohmann::json::parse(file_.string_attribute("identity"));
    for (const auto& [name, value] : identity.items())
      SEGSTREAM_CHECK_INPUT(saved.contains(name) && saved[name] == value,
                            "{}: the state was made with {} = {}, this run has {}", in, name,
                            saved.contains(name) ? saved[name].dump() : "(none)", value.dump());
    as_of_ = file_.int_attribute("as_of");
    SEGSTREAM_CHECK_INPUT(as_of_ <= t0, "{}: the state is as of {}, after --as-of {}", in,
                          format_iso_time(as_of_), format_iso_time(t0));
    SEGSTREAM_CHECK_INPUT((t0 - as_of_) % kSecondsPerDay == 0,
                          "{}: the state is as of {}; --as-of {} must be a whole number of days later", in,
                          format_iso_time(as_of_), format_iso_time(t0));
    events_folded_ = static_cast<std::uint64_t>(file_.int_attribute("events_folded"));
    category_cents_ =
        nlohmann::json::parse(file_.string_attribute("category_cents")).get<std::vector<std::int64_t>>();
    channel_slots_ = static_cast<int>(file_.int_attribute("channel_slots"));
    ids_ = file_.dataset("/state/customer_id", io::ElementType::kUint64, 1);
    records_ = file_.dataset("/state/record", io::ElementType::kUint8, 2);
    customers_ = ids_.rows();
    SEGSTREAM_CHECK_INPUT(records_.rows() == customers_ && records_.dims()[1] == sizeof(BehaviourState),
                          "{}: /state/record is {} x {}, expected {} x {}", in, records_.rows(),
                          records_.dims()[1], customers_, sizeof(BehaviourState));
  }
  std::int64_t as_of() const { return as_of_; }
  std::uint64_t customers() const { return customers_; }
  std::uint64_t events_folded() const { return events_folded_; }
  const std::vector<std::int64_t>& category_cents() const { return category_cents_; }
  int channel_slots() const { return channel_slots_; }

  // Appends the customers of partition `part` (of `parts`) to `out`; partitions must be asked in order.
  void take_partition(std::uint64_t part, std::uint64_t parts, std::vector<CarriedState>& out) {
    constexpr std::uint64_t kBlock = 4096;
    std::vector<std::uint64_t> ids;
    for (;;) {
      if (pending_.empty() && next_ < customers_) {
        const std::uint64_t n = std::min(kBlock, customers_ - next_);
        ids.resize(n);
        pending_.resize(n);
        states_.resize(n);
        ids_.read_rows(next_, n, ids.data());
        records_.read_rows(next_, n, reinterpret_cast<std::uint8_t*>(states_.data()));
        for (std::uint64_t i = 0; i < n; ++i) {
          const std::uint64_t key = mix64(ids[i]);
          SEGSTREAM_CHECK_INPUT(next_ + i == 0 || key > last_key_,
                                "{}: /state/customer_id row {} is out of order (ascending mix64 expected)",
                                file_.path(), next_ + i);
          last_key_ = key;
          pending_[i] = CarriedState{key, states_[i]};
        }
        next_ += n;
        cursor_ = 0;
      }
      if (cursor_ >= pending_.size()) return;
      const std::uint64_t p = detail::partition_of(pending_[cursor_].key, parts);
      if (p != part) return;
      out.push_back(pending_[cursor_++]);
      if (cursor_ == pending_.size()) pending_.clear();
    }
  }

 private:
  io::File file_;
  io::Dataset ids_, records_;
  std::int64_t as_of_ = 0;
  std::uint64_t customers_ = 0, events_folded_ = 0, next_ = 0, last_key_ = 0;
  std::vector<std::int64_t> category_cents_;
  int channel_slots_ = 0;
  std::vector<CarriedState> pending_;
  std::vector<BehaviourState> states_;  // read buffer of one block
  std::size_t cursor_ = 0;
};

// Writes --state-out: ids and raw state records, deflated (the day rings and the per-category and per-hour
// counts are mostly zeros), one whole chunk at a time so that no compressed chunk is ever read back.
class StateWriter {
 public:
  static constexpr std::uint64_t kChunk = 4096;
  StateWriter(const std::filesystem::path& path, const std::string& display)
      : file_(io::File::create(path, display)) {
    file_.create_group("/state");
    ids_ =
        file_.create_dataset<std::uint64_t>("/state/customer_id", io::DatasetOptions{{0}, {kChunk}, true, 1});
    records_ = file_.create_dataset<std::uint8_t>(
        "/state/record",
        io::DatasetOptions{{0, sizeof(BehaviourState)}, {kChunk, sizeof(BehaviourState)}, true, 1});
  }
  const io::File& file() const { return file_; }
  void append(const std::vector<std::uint64_t>& ids, const std::vector<BehaviourState>& states) {
    staged_ids_.insert(staged_ids_.end(), ids.begin(), ids.end());
    staged_.insert(staged_.end(), states.begin(), states.end());
    if (staged_ids_.size() >= kChunk) flush(staged_ids_.size() / kChunk * kChunk);
  }
  void close() {
    flush(staged_ids_.size());
    ids_ = io::Dataset();
    records_ = io::Dataset();
    file_.close();
  }

 private:
  void flush(std::uint64_t n) {
    if (n == 0) return;
    ids_.write_rows(rows_, n, staged_ids_.data());
    records_.write_rows(rows_, n, reinterpret_cast<const std::uint8_t*>(staged_.data()));
    rows_ += n;
    staged_ids_.erase(staged_ids_.begin(), staged_ids_.begin() + static_cast<std::ptrdiff_t>(n));
    staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  io::File file_;
  io::Dataset ids_, records_;
  std::vector<std::uint64_t> staged_ids_;
  std::vector<BehaviourState> staged_;
  std::uint64_t rows_ = 0;
};

}  // namespace

FeatureReport compute_behaviour(const std::filesystem::path& events_path, const std::filesystem::path& out,
                                bool overwrite, const FeatureConfig& config, const FeatureProgress& progress,
                                kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  detail::check_common_config(config);
  SEGSTREAM_EXPECTS(!config.calibration_end, "--calibration-end applies to --mode lifetimes only");
  SEGSTREAM_EXPECTS(config.top_categories >= 0 && config.top_categories <= kernels::kMaxCategoryColumns,
                    "--top-categories must be 0..{} (got {})", kernels::kMaxCategoryColumns,
                    config.top_categories);
  for (int w : config.windows)
    SEGSTREAM_EXPECTS(w >= 1 && w <= kernels::kRecentDays,
                      "--windows: each window must be 1..{} days (got {})", kernels::kRecentDays, w);
  SEGSTREAM_EXPECTS(config.season_months != 0 && (config.season_months & ~0x1FFEu) == 0,
                    "--season-months must name months 1..12");
  if (config.bgnbd) {
    const auto& b = *config.bgnbd;
    SEGSTREAM_EXPECTS(
        b.r > 0 && b.alpha > 0 && b.a > 0 && b.b > 0 && std::isfinite(b.r + b.alpha + b.a + b.b),
        "--bgnbd parameters must be positive and finite (r,alpha,a,b)");
  }

  const io::EventFileReader reader(events_path);
  const std::string& in = reader.path();
  const std::vector<std::string> type_names = detail::event_type_names(reader);
  const std::size_t known_types = type_names.size();
  FeatureReport report;
  report.events = reader.rows();
  report.as_of = detail::resolve_as_of(reader, config);
  const std::int64_t t0 = report.as_of;

  BehaviourParams params;
  params.t0 = t0;
  params.unit_seconds = config.unit_seconds;
  params.multiplier = config.multiplier;
  for (std::uint8_t t : config.purchase_types) params.purchase_mask[t >> 5] |= 1u << (t & 31);
  for (std::size_t t = 0; t < 256; ++t)
    params.stage_of_type[t] = static_cast<std::int8_t>(t < known_types ? stage_of_name(type_names[t]) : 0);
  for (std::uint8_t t : config.purchase_types) params.stage_of_type[t] = 3;
  params.return_type = type_code(type_names, "return");
  params.app_session_type = type_code(type_names, "app_session");
  params.email_sent_type = type_code(type_names, "email_sent");
  params.email_open_type = type_code(type_names, "email_open");
  params.email_click_type = type_code(type_names, "email_click");
  params.season_months = config.season_months;
  for (int w = 0; w < kernels::kWindows; ++w) params.windows[w] = config.windows[w];
  if (config.bgnbd) params.bgnbd = *config.bgnbd;

  const nlohmann::json identity = state_identity(config, type_names);
  std::optional<StateReader> state_in;
  if (!config.state_in.empty()) {
    state_in.emplace(config.state_in, identity, t0);
    report.state_customers = state_in->customers();
  }
  std::optional<io::AtomicOutput> state_output;
  std::optional<StateWriter> state_writer;
  if (!config.state_out.empty()) {
    state_output.emplace(config.state_out, overwrite);
    state_writer.emplace(state_output->temp_path(), state_output->final_path().string());
  }

  // Held at once: a record per event (two where the backend gathers a range's records into one array for
  // a device) and the carried states of the range.
  const std::uint64_t bytes_needed = reader.rows() * backend.fold_host_bytes_per_record() +
                                     report.state_customers * sizeof(CarriedState);
  // A sixteenth of the budget stays for the read ring, the rows of a group of buckets and the buckets being
  // sorted; the records take the rest.
  const std::uint64_t record_budget = config.host_memory - config.host_memory / 16;
  const std::uint64_t host_parts =
      std::max<std::uint64_t>(1, (bytes_needed + record_budget - 1) / record_budget);
  // The backend's own memory (a device's) may need more ranges.
  const std::uint64_t gpu_parts = backend.fold_passes(reader.rows(), report.state_customers,
                                                      !config.state_out.empty() || state_in.has_value());
  const std::uint64_t parts = std::max(host_parts, gpu_parts);
  report.partitions = parts;
  // Events folded, this run's and the state's: the BG/NBD sample is the customers with key < sample_limit,
  // a fraction 2^20 / folded of the key space (all customers when that is 1), known after the first pass.
  std::uint64_t folded = state_in ? state_in->events_folded() : 0;
  bool sample_all = true;
  std::uint64_t sample_limit = 0;
  const bool fit = !config.bgnbd;

  const std::int64_t state_t0 = state_in ? state_in->as_of() : std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> category_cents(kernels::kCategorySlots, 0);
  int channel_slots = state_in ? state_in->channel_slots() : 0;
  if (state_in)
    for (std::size_t k = 0; k < category_cents.size() && k < state_in->category_cents().size(); ++k)
      category_cents[k] = state_in->category_cents()[k];
  const bool channel_names = reader.file().group("/events").has_attribute("channel_names");
  const std::vector<std::string> channel_list =
      channel_names ? reader.file().group("/events").string_list_attribute("channel_names")
                    : std::vector<std::string>{};
  const std::vector<std::string> category_list =
      reader.file().group("/events").has_attribute("category_names")
          ? reader.file().group("/events").string_list_attribute("category_names")
          : std::vector<std::string>{};

  io::AtomicOutput output(out, overwrite);
  std::optional<io::FeatureFileWriter> writer;
  std::vector<std::string> names, units;

  const std::uint64_t block_rows = std::uint64_t{1} << 18;
  std::vector<io::EventBuffer> storage(3, io::EventBuffer(block_rows));
  std::vector<io::EventColumns> ring;
  for (io::EventBuffer& b : storage) {
    io::EventColumns v = b.view();
    v.order_id = nullptr;
    ring.push_back(v);
  }
  std::vector<CarriedState> carried;
  std::vector<kernels::BehaviourFoldOutput> buckets;
  // Rows waiting for the BG/NBD fit, and the sample it fits on.
  std::vector<float> waiting_rows;
  std::vector<std::uint64_t> waiting_ids;
  std::vector<double> waiting_x, waiting_tx, waiting_T, sample_x, sample_tx, sample_T;
  bool fitted = !fit;
  int columns = 0;
  int p_alive_column = 0;
  const int threads = backend.threads();

  auto write_rows = [&](const std::vector<float>& rows, const std::vector<std::uint64_t>& ids) {
    if (!ids.empty()) writer->append(rows.data(), ids.data(), ids.size());
    report.customers += ids.size();
  };

  // Per-thread tallies of a scan; the first bad row (lowest index) is reported whatever the threads.
  struct Scan {
    std::uint64_t after_as_of = 0, before_state = 0, skipped = 0, folded = 0, negative = 0, purchases = 0;
    std::uint64_t bad_row = ~std::uint64_t{0};
    int channel_slots = 0;
    std::array<std::int64_t, kernels::kCategorySlots> cents{};
  };
  std::vector<Scan> scans(static_cast<std::size_t>(threads));
  kernels::BehaviourRecordStore store(threads);
  auto bad_row_message = [&](const io::EventColumns& c, std::uint64_t start, std::uint64_t i) {
    if (c.event_type[i] >= known_types)
      return fmt::format("{}: row {}: /events/event_type is {}, not a known code (0..{})", in, start + i,
                         c.event_type[i], known_types - 1);
    if (c.timestamp[i] <= -kTimeBias || c.timestamp[i] >= kTimeBias)
      return fmt::format("{}: row {}: /events/timestamp {} is out of range", in, start + i, c.timestamp[i]);
    return fmt::format("{}: row {}: /events/amount is {}, expected a finite amount", in, start + i,
                       c.amount[i]);
  };

  for (std::uint64_t part = 0; part < parts; ++part) {
    store.clear();
    const std::uint64_t buckets_total = parts * kBucketsPerPartition;
    const std::uint64_t first_bucket = part * kBucketsPerPartition;
    for (Scan& sc : scans) sc = Scan{};
    io::EventBlockStream stream(reader, ring, block_rows);
    while (auto block = stream.next()) {
      throw_if_interrupted();
      const io::EventColumns& c = block->columns;
      const auto n = static_cast<std::int64_t>(block->rows);
#pragma omp parallel num_threads(threads)
      {
        const auto tid = static_cast<std::size_t>(omp_get_thread_num());
        Scan& sc = scans[tid];
#pragma omp for schedule(static)
        for (std::int64_t ii = 0; ii < n; ++ii) {
          const auto i = static_cast<std::uint64_t>(ii);
          const std::uint8_t type = c.event_type[i];
          const std::int64_t ts = c.timestamp[i];
          if (type >= known_types) {
            sc.bad_row = std::min(sc.bad_row, block->start + i);
            continue;
          }
          if (ts > t0) {
            ++sc.after_as_of;
            continue;
          }
          if (ts <= state_t0) {
            ++sc.before_state;
            continue;
          }
          if (ts <= -kTimeBias) {
            sc.bad_row = std::min(sc.bad_row, block->start + i);
            continue;
          }
          float amount = c.amount[i];
          const bool purchase = params.is_purchase(type);
          const bool uses_amount = purchase || static_cast<int>(type) == params.return_type;
          if (uses_amount && !std::isfinite(amount)) {
            if (config.on_bad_row == io::BadRowPolicy::kError)
              sc.bad_row = std::min(sc.bad_row, block->start + i);
            ++sc.skipped;
            continue;
          }
          if (!uses_amount) amount = 0;
          ++sc.folded;
          if (purchase) {
            ++sc.purchases;
            if (amount >= 0)
              sc.cents[std::min<int>(c.category[i], kernels::kCategorySlots - 1)] +=
                  std::llround(static_cast<double>(amount) * kCents);
            else
              ++sc.negative;
          }
          if (params.stage_of_type[type] != kernels::kStageNone)
            sc.channel_slots =
                std::max(sc.channel_slots, std::min<int>(c.channel[i], kernels::kChannelSlots - 1) + 1);
          const std::uint64_t key = mix64(c.customer_id[i]);
          const std::uint64_t bucket = detail::partition_of(key, buckets_total);
          if (bucket / kBucketsPerPartition != part) continue;
          store.push(static_cast<int>(tid), bucket - first_bucket,
                     kernels::pack_record(key, ts, type, amount, c.category[i], c.channel[i], c.discount[i] > 0));
        }
      }
      std::uint64_t bad = ~std::uint64_t{0};
      for (const Scan& sc : scans) bad = std::min(bad, sc.bad_row);
      if (bad != ~std::uint64_t{0}) throw InputError(bad_row_message(c, block->start, bad - block->start));
      if (progress) progress(part * reader.rows() + block->start + block->rows, parts * reader.rows());
    }
    for (const Scan& sc : scans) {
      if (part == 0) {
        report.after_as_of += sc.after_as_of;
        report.before_state += sc.before_state;
        report.skipped_rows += sc.skipped;
        report.negative_purchases += sc.negative;
        report.purchases += sc.purchases;
        folded += sc.folded;
        channel_slots = std::max(channel_slots, sc.channel_slots);
        for (int k = 0; k < kernels::kCategorySlots; ++k) category_cents[k] += sc.cents[k];
      }
    }

    if (part == 0) {
      const double fraction =
          std::min(1.0, kSampleEvents / static_cast<double>(std::max<std::uint64_t>(folded, 1)));
      sample_all = fraction >= 1.0;
      sample_limit = static_cast<std::uint64_t>(std::ldexp(fraction, 64) * (1 - 1e-12));
      // The columns: the top categories by spend over all customers, and every channel the file names.
      std::vector<int> order(kernels::kCategorySlots);
      for (int k = 0; k < kernels::kCategorySlots; ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return category_cents[a] > category_cents[b]; });
      for (int k : order) {
        if (params.categories >= config.top_categories || category_cents[k] <= 0) break;
        params.category_columns[params.categories++] = k;
      }
      params.channels = channel_names
                            ? std::min<int>(static_cast<int>(channel_list.size()), kernels::kChannelSlots)
                            : std::max(channel_slots, 1);
      names = base_names(config.windows);
      const std::string period_name =
          config.unit_seconds == kSecondsPerDay ? "days" : fmt::format("{} s periods", config.unit_seconds);
      units = base_units(period_name);
      for (int k = 0; k < params.categories; ++k) {
        const int code = params.category_columns[k];
        const bool other = code == kernels::kCategorySlots - 1;
        names.push_back("category_share_" + (other ? std::string("other")
                                             : static_cast<std::size_t>(code) < category_list.size()
                                                 ? category_list[code]
                                                 : std::to_string(code)));
        units.push_back("share of spend");
      }
      for (int k = 0; k < params.channels; ++k) {
        names.push_back("channel_share_" + (static_cast<std::size_t>(k) < channel_list.size()
                                                ? channel_list[k]
                                                : std::to_string(k)));
        units.push_back("share of actions");
      }
      names.insert(names.end(), {"journey_stage", "churn_risk", "p_alive", "has_purchase"});
      units.insert(units.end(), {"stage 0-5", "ratio", "probability", "flag"});
      columns = kernels::behaviour_columns(params);
      SEGSTREAM_ASSERT(static_cast<int>(names.size()) == columns, "column names and formulas disagree");
      p_alive_column = columns - 2;
      writer.emplace(output.temp_path(), names, 0, output.final_path().string());
    }

    report.peak_held_bytes = std::max(report.peak_held_bytes, store.bytes());
    carried.clear();
    if (state_in) state_in->take_partition(part, parts, carried);
    std::vector<std::uint64_t> carried_offsets(kBucketsPerPartition + 1, 0);
    for (const CarriedState& s : carried)
      ++carried_offsets[detail::partition_of(s.key, buckets_total) - first_bucket + 1];
    for (std::uint64_t b = 0; b < kBucketsPerPartition; ++b) carried_offsets[b + 1] += carried_offsets[b];

    const bool keep_states = state_writer.has_value();
    // Buckets are folded a group at a time and written in order, so only a group's rows are held.
    const std::uint64_t group = backend.fold_buckets();
    for (std::uint64_t g = 0; g < kBucketsPerPartition; g += group) {
      const bool keep_summaries = fit && !fitted;
      backend.fold_behaviour(kernels::BehaviourFold{&store, g, group, carried.data(), carried_offsets.data() + g,
                                                    &params, keep_states, keep_summaries},
                             buckets);
      throw_if_interrupted();

      for (const kernels::BehaviourFoldOutput& o : buckets) {
        if (keep_states) state_writer->append(o.ids, o.states);
        if (fitted) {
          write_rows(o.rows, o.ids);
        } else {
          waiting_rows.insert(waiting_rows.end(), o.rows.begin(), o.rows.end());
          waiting_ids.insert(waiting_ids.end(), o.ids.begin(), o.ids.end());
          for (std::size_t i = 0; i < o.ids.size(); ++i) {
            const auto& [x, tx, T] = o.summaries[i];
            waiting_x.push_back(x);
            waiting_tx.push_back(tx);
            waiting_T.push_back(T);
            if (x >= 0 && (sample_all || mix64(o.ids[i]) < sample_limit)) {
              sample_x.push_back(x);
              sample_tx.push_back(tx);
              sample_T.push_back(T);
            }
          }
        }
      }
      // The sample is complete once the buckets done cover its keys: fit, then finish the rows that waited.
      const std::uint64_t done_buckets = part * kBucketsPerPartition + g + group;
      const bool sample_complete = (part + 1 == parts && g + group >= kBucketsPerPartition) ||
                                   (!sample_all && sample_limit > 0 &&
                                    detail::partition_of(sample_limit - 1, buckets_total) < done_buckets);
      if (!fitted && sample_complete) {
        SEGSTREAM_CHECK_INPUT(sample_x.size() >= 2,
                              "{}: only {} customers with purchases to fit BG/NBD for p_alive on; give the "
                              "parameters with --bgnbd r,alpha,a,b",
                              in, sample_x.size());
        const BgNbdFit f = fit_bgnbd(sample_x, sample_tx, sample_T);
        params.bgnbd = f.params;
        report.bgnbd_sample = sample_x.size();
        for (std::size_t i = 0; i < waiting_ids.size(); ++i)
          waiting_rows[i * columns + p_alive_column] =
              waiting_x[i] < 0 ? 1.0f
                               : static_cast<float>(kernels::bgnbd_p_alive(params.bgnbd, waiting_x[i],
                                                                           waiting_tx[i], waiting_T[i]));
        write_rows(waiting_rows, waiting_ids);
        std::vector<float>().swap(waiting_rows);
        std::vector<std::uint64_t>().swap(waiting_ids);
        fitted = true;
      }
    }
  }
  report.bgnbd = params.bgnbd;
  SEGSTREAM_CHECK_INPUT(report.customers > 0, "{}: no events at or before {}", in, format_iso_time(t0));

  const io::File& f = writer->file();
  f.dataset("/features").set_attribute("feature_units", units);
  f.set_attribute("format", "segstream.features");
  f.set_attribute("format_version", std::int64_t{1});
  f.set_attribute("mode", "behavioral");
  f.set_attribute("created_by", std::string("segstream ") + kVersion + " (" + kGitCommit + ") features");
  f.set_attribute("as_of", t0);
  f.set_attribute("customer_order", "ascending mix64(customer_id)");
  nlohmann::json params_json = {
      {"unit_seconds", config.unit_seconds},
      {"multiplier", config.multiplier},
      {"purchase_types", config.purchase_types},
      {"as_of", format_iso_time(t0)},
      {"windows_days", config.windows},
      {"season_months", config.season_months},
      {"bgnbd",
       {{"r", params.bgnbd.r}, {"alpha", params.bgnbd.alpha}, {"a", params.bgnbd.a}, {"b", params.bgnbd.b}}},
      {"bgnbd_source", fit ? fmt::format("fitted on {} customers", report.bgnbd_sample) : "given"},
      {"source", events_path.filename().string()}};
  if (state_in)
    params_json["state_in"] = {{"as_of", format_iso_time(state_in->as_of())},
                               {"customers", report.state_customers}};
  f.set_attribute("parameters", params_json.dump());
  writer->close();

  if (state_writer) {
    const io::File& sf = state_writer->file();
    sf.set_attribute("format", "segstream.state");
    sf.set_attribute("format_version", std::int64_t{1});
    sf.set_attribute("as_of", t0);
    sf.set_attribute("identity", identity.dump());
    sf.set_attribute("events_folded", static_cast<std::int64_t>(folded));
    sf.set_attribute("category_cents", nlohmann::json(category_cents).dump());
    sf.set_attribute("channel_slots", static_cast<std::int64_t>(channel_slots));
    sf.set_attribute("created_by", std::string("segstream ") + kVersion + " (" + kGitCommit + ") features");
    state_writer->close();
  }
  output.commit();
  if (state_output) state_output->commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
