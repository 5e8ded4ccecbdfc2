// `segstream features --mode behavioral`: events.h5 → features.h5 through the backend's behavioural fold.
//
// A run cuts the hash space of customer ids into as many contiguous ranges (partitions) as the memory budgets
// need and reads the events once per range:
//   scan      every event of the range becomes a 24-byte record in one of the range's buckets (all threads);
//             the first pass also counts what the columns depend on (spend per category, channels seen);
//   fold      the backend folds a run of buckets at a time into rows, in ascending key order;
//   p_alive   rows wait until the BG/NBD sample (a hash range of customers) is complete, then the fit fills
//             their p_alive column and every later row is written as it comes;
//   state     with --state-in the carried customers of the range join the fold; with --state-out every
//             customer's state is written beside its row.
// Rows are always written in one global key order, so the output is the same bytes for any event order,
// thread count, backend budget or number of ranges.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "features_internal.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/parallel_errors.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/bgnbd.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/customer_ids.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/state.hpp"
#include "segstream/io/streams.hpp"
#include "segstream/kernels/backend.hpp"
#include "segstream/kernels/behaviour.hpp"

namespace segstream::host {
namespace {

using kernels::BehaviourParams;
using kernels::BehaviourState;
using kernels::CarriedState;
constexpr std::uint64_t kBucketsPerPartition = kernels::kBucketsPerPartition;
constexpr double kSampleEvents = 1 << 20;  // the BG/NBD sample: customers in the lowest 2^20 / events of keys
constexpr double kCents = 100.0;           // category totals for the top-category choice, in integer cents

void validate(const FeatureConfig& config) {
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

// The fold's parameters for a run; the category and channel columns are chosen after the first scan.
BehaviourParams make_params(const FeatureConfig& config, const std::vector<std::string>& type_names,
                            std::int64_t t0) {
  BehaviourParams params;
  params.t0 = t0;
  params.unit_seconds = config.unit_seconds;
  params.multiplier = config.multiplier;
  for (std::uint8_t t : config.purchase_types) params.purchase_mask[t >> 5] |= 1u << (t & 31);
  for (std::size_t t = 0; t < 256; ++t)
    params.stage_of_type[t] =
        static_cast<std::int8_t>(t < type_names.size() ? stage_of_name(type_names[t]) : 0);
  for (std::uint8_t t : config.purchase_types) params.stage_of_type[t] = 3;
  params.return_type = type_code(type_names, "return");
  params.app_session_type = type_code(type_names, "app_session");
  params.email_sent_type = type_code(type_names, "email_sent");
  params.email_open_type = type_code(type_names, "email_open");
  params.email_click_type = type_code(type_names, "email_click");
  params.page_view_type = type_code(type_names, "page_view");
  params.cart_add_type = type_code(type_names, "cart_add");
  params.support_type = type_code(type_names, "support_ticket");
  params.season_months = config.season_months;
  for (int w = 0; w < kernels::kWindows; ++w) params.windows[w] = config.windows[w];
  if (config.bgnbd) params.bgnbd = *config.bgnbd;
  return params;
}

// The parameters a saved state must share with the run that continues it.
// With --since, the observation start too: a state made --since a date describes the customers from that
// date, and is carried on only by runs with the same --since.
nlohmann::json state_identity(const FeatureConfig& c, const std::vector<std::string>& type_names) {
  nlohmann::json identity = {{"unit_seconds", c.unit_seconds},
                             {"purchase_types", c.purchase_types},
                             {"season_months", c.season_months},
                             {"event_type_names", type_names},
                             {"state_layout_bytes", sizeof(BehaviourState)}};
  if (c.since) identity["since"] = format_iso_time(*c.since);
  return identity;
}

// Reads --state-in: the carried customers in ascending key order, one partition at a time.
class CarriedStates {
 public:
  CarriedStates(const std::filesystem::path& path, const nlohmann::json& identity, std::int64_t t0)
      : file_(path, sizeof(BehaviourState)) {
    const std::string& in = file_.path();
    const io::StateMetadata& m = file_.metadata();
    nlohmann::json saved;
    try {
      saved = nlohmann::json::parse(m.identity);
    } catch (const nlohmann::json::exception&) {
      throw InputError(in + ": the state's identity is not JSON");
    }
    for (const auto& [name, value] : identity.items())
      SEGSTREAM_CHECK_INPUT(saved.contains(name) && saved[name] == value,
                            "{}: the state was made with {} = {}, this run has {}", in, name,
                            saved.contains(name) ? saved[name].dump() : "(none)", value.dump());
    SEGSTREAM_CHECK_INPUT(identity.contains("since") || !saved.contains("since"),
                          "{}: the state was made with since = {}, this run has no --since", in,
                          saved.contains("since") ? saved["since"].dump() : "");
    SEGSTREAM_CHECK_INPUT(m.as_of <= t0, "{}: the state is as of {}, after --as-of {}", in,
                          format_iso_time(m.as_of), format_iso_time(t0));
    SEGSTREAM_CHECK_INPUT((t0 - m.as_of) % kSecondsPerDay == 0,
                          "{}: the state is as of {}; --as-of {} must be a whole number of days later", in,
                          format_iso_time(m.as_of), format_iso_time(t0));
  }
  const io::StateMetadata& metadata() const { return file_.metadata(); }
  std::uint64_t customers() const { return file_.customers(); }

  // Appends the customers of partition `part` (of `parts`) to `out`; partitions must be asked in order.
  void take_partition(std::uint64_t part, std::uint64_t parts, std::vector<CarriedState>& out) {
    constexpr std::uint64_t kBlock = 4096;
    for (;;) {
      if (pending_.empty() && next_ < file_.customers()) {
        const std::uint64_t n = std::min(kBlock, file_.customers() - next_);
        ids_.resize(n);
        states_.resize(n);
        pending_.resize(n);
        file_.read(next_, n, ids_.data(), states_.data());
        for (std::uint64_t i = 0; i < n; ++i) {
          const std::uint64_t key = mix64(ids_[i]);
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
      if (detail::partition_of(pending_[cursor_].key, parts) != part) return;
      out.push_back(pending_[cursor_++]);
      if (cursor_ == pending_.size()) pending_.clear();
    }
  }

 private:
  io::StateFileReader file_;
  std::uint64_t next_ = 0, last_key_ = 0;
  std::vector<std::uint64_t> ids_;      // read buffer of one block
  std::vector<BehaviourState> states_;  // read buffer of one block
  std::vector<CarriedState> pending_;
  std::size_t cursor_ = 0;
};

// What the scans count, per thread; the first bad row (lowest index) is reported whatever the threads.
struct Scan {
  std::uint64_t after_as_of = 0, before_state = 0, before_since = 0, skipped = 0, folded = 0, negative = 0,
                purchases = 0;
  std::uint64_t bad_row = ~std::uint64_t{0};
  int channel_slots = 0;
  std::array<std::int64_t, kernels::kCategorySlots> cents{};
  std::array<std::uint64_t, 4> types{};  // bit t: the file has an event of type t
};

// Rows that wait for the BG/NBD fit, and the sample it fits on: the customers whose key lies below a limit
// (a fraction 2^20 / events of the key space, all customers when that is 1), known after the first pass.
class PAliveSample {
 public:
  void plan(std::uint64_t folded) {
    const double fraction =
        std::min(1.0, kSampleEvents / static_cast<double>(std::max<std::uint64_t>(folded, 1)));
    all_ = fraction >= 1.0;
    limit_ = static_cast<std::uint64_t>(std::ldexp(fraction, 64) * (1 - 1e-12));
  }
  // Holds a fold's rows until the fit.
  void hold(const kernels::BehaviourFoldOutput& o) {
    rows_.insert(rows_.end(), o.rows.begin(), o.rows.end());
    ids_.insert(ids_.end(), o.ids.begin(), o.ids.end());
    for (std::size_t i = 0; i < o.ids.size(); ++i) {
      const auto& [x, tx, T] = o.summaries[i];
      x_.push_back(x);
      tx_.push_back(tx);
      T_.push_back(T);
      if (x >= 0 && (all_ || mix64(o.ids[i]) < limit_)) {
        sample_x_.push_back(x);
        sample_tx_.push_back(tx);
        sample_T_.push_back(T);
      }
    }
  }
  // Whether the buckets folded so far (done_buckets of buckets_total) cover every sampled key.
  bool complete(bool last_group, std::uint64_t done_buckets, std::uint64_t buckets_total) const {
    return last_group ||
           (!all_ && limit_ > 0 && detail::partition_of(limit_ - 1, buckets_total) < done_buckets);
  }
  // Fits BG/NBD on the sample, fills the held rows' p_alive column and hands them over.
  kernels::BgNbdParams fit_and_fill(const std::string& in, int columns, int p_alive_column) {
    SEGSTREAM_CHECK_INPUT(
        sample_x_.size() >= 2,
        "{}: only {} customers with purchases to fit BG/NBD for p_alive on; give the parameters "
        "with --bgnbd r,alpha,a,b",
        in, sample_x_.size());
    const BgNbdFit f = naming_file(in, [&] { return fit_bgnbd(sample_x_, sample_tx_, sample_T_); });
    for (std::size_t i = 0; i < ids_.size(); ++i)
      rows_[i * static_cast<std::size_t>(columns) + static_cast<std::size_t>(p_alive_column)] =
          x_[i] < 0 ? 1.0f : static_cast<float>(kernels::bgnbd_p_alive(f.params, x_[i], tx_[i], T_[i]));
    return f.params;
  }
  std::size_t sample_size() const { return sample_x_.size(); }
  const std::vector<float>& rows() const { return rows_; }
  const std::vector<std::uint64_t>& ids() const { return ids_; }
  void release() {
    std::vector<float>().swap(rows_);
    std::vector<std::uint64_t>().swap(ids_);
  }

 private:
  bool all_ = true;
  std::uint64_t limit_ = 0;
  std::vector<float> rows_;
  std::vector<std::uint64_t> ids_;
  std::vector<double> x_, tx_, T_, sample_x_, sample_tx_, sample_T_;
};

// One run of compute_behaviour.
class BehaviourRun {
 public:
  BehaviourRun(const std::filesystem::path& events, const std::filesystem::path& out, bool overwrite,
               const FeatureConfig& config, const FeatureProgress& progress, kernels::Backend& backend)
      : events_(events),
        config_(config),
        progress_(progress),
        backend_(backend),
        reader_(events),
        type_names_(detail::event_type_names(reader_)),
        t0_(detail::resolve_as_of(reader_, config)),
        params_(make_params(config, type_names_, t0_)),
        identity_(state_identity(config, type_names_)),
        threads_(backend.threads()),
        store_(threads_),
        scans_(static_cast<std::size_t>(threads_)) {
    report_.events = reader_.rows();
    report_.as_of = t0_;
    SEGSTREAM_EXPECTS(!config.since || *config.since <= t0_, "--since {} must not come after --as-of {}",
                      config.since ? format_iso_time(*config.since) : "", format_iso_time(t0_));
    if (!config.state_in.empty()) {
      state_in_.emplace(config.state_in, identity_, t0_);
      report_.state_customers = state_in_->customers();
    }
    if (!config.state_out.empty()) {
      state_output_.emplace(config.state_out, overwrite);
      state_writer_.emplace(state_output_->temp_path(), state_output_->final_path().string(),
                            sizeof(BehaviourState));
    }
    plan_partitions();
    fit_ = !config.bgnbd;
    fitted_ = !fit_;
    folded_ = state_in_ ? state_in_->metadata().events_folded : 0;
    if (state_in_) {
      channel_slots_ = static_cast<int>(state_in_->metadata().channel_slots);
      const auto& cents = state_in_->metadata().category_cents;
      for (std::size_t k = 0; k < category_cents_.size() && k < cents.size(); ++k)
        category_cents_[k] = cents[k];
    }
    output_.emplace(out, overwrite);
  }

  FeatureReport run() {
    for (std::uint64_t part = 0; part < parts_; ++part) {
      detail::log_pass(part, parts_, reader_.path());
      scan(part);
      if (part == 0) first_pass_done();
      fold(part);
    }
    report_.bgnbd = params_.bgnbd;
    SEGSTREAM_CHECK_INPUT(report_.customers > 0, "{}: no events {}at or before {}", reader_.path(),
                          config_.since ? "from " + format_iso_time(*config_.since) + " " : std::string(),
                          format_iso_time(t0_));
    finish();
    return report_;
  }

 private:
  // As many hash ranges as the host budget (the records and carried states held at once) and the backend's
  // own memory need.
  void plan_partitions() {
    // Held at once: a record per event (two where the backend gathers a range's records into one array for
    // a device) and the carried states of the range.
    const std::uint64_t bytes_needed = reader_.rows() * backend_.fold_host_bytes_per_record() +
                                       report_.state_customers * sizeof(CarriedState);
    // A sixteenth of the budget stays for the read ring, the rows of a group of buckets and the buckets being
    // sorted; the records take the rest.
    const std::uint64_t record_budget = config_.host_memory - config_.host_memory / 16;
    const std::uint64_t host_parts =
        std::max<std::uint64_t>(1, (bytes_needed + record_budget - 1) / record_budget);
    const std::uint64_t backend_parts = backend_.fold_passes(
        reader_.rows(), report_.state_customers, !config_.state_out.empty() || state_in_.has_value());
    parts_ = std::max(host_parts, backend_parts);
    report_.partitions = parts_;
  }

  // One pass over the events: the range's events into the record store, counted per thread.
  void scan(std::uint64_t part) {
    store_.clear();
    const std::uint64_t buckets_total = parts_ * kBucketsPerPartition;
    const std::uint64_t first_bucket = part * kBucketsPerPartition;
    const std::size_t known_types = type_names_.size();
    const std::int64_t state_t0 =
        state_in_ ? state_in_->metadata().as_of : std::numeric_limits<std::int64_t>::min();
    const std::int64_t since = config_.since.value_or(std::numeric_limits<std::int64_t>::min());
    for (Scan& sc : scans_) sc = Scan{};
    io::EventBlockStream stream(reader_, ring_.views, detail::kEventBlockRows);
    while (auto block = stream.next()) {
      throw_if_interrupted();
      const io::EventColumns& c = block->columns;
      const auto n = static_cast<std::int64_t>(block->rows);
      ParallelErrors errors;  // store_.push allocates: a std::bad_alloc is thrown after the region
#pragma omp parallel num_threads(threads_)
      {
        const auto tid = omp_get_thread_num();
        Scan& sc = scans_[static_cast<std::size_t>(tid)];
        // A static schedule by hand rather than `omp for`, so that a thread whose work throws leaves no
        // barrier unmet.
        const std::int64_t team = omp_get_num_threads();
        const std::int64_t lo = n * tid / team, hi = n * (tid + 1) / team;
        errors.run([&] {
          for (std::int64_t ii = lo; ii < hi; ++ii) {
            const auto i = static_cast<std::uint64_t>(ii);
            const std::uint8_t type = c.event_type[i];
            const std::int64_t ts = c.timestamp[i];
            if (type >= known_types) {
              sc.bad_row = std::min(sc.bad_row, block->start + i);
              continue;
            }
            if (!time_in_range(ts)) {  // before 1900 or from 2200: damaged, not merely outside the window
              sc.bad_row = std::min(sc.bad_row, block->start + i);
              continue;
            }
            sc.types[type >> 6] |= std::uint64_t{1} << (type & 63);
            if (ts > t0_) {
              ++sc.after_as_of;
              continue;
            }
            if (ts < since) {
              ++sc.before_since;
              continue;
            }
            if (ts <= state_t0) {
              ++sc.before_state;
              continue;
            }
            float amount = c.amount[i];
            const bool purchase = params_.is_purchase(type);
            const bool uses_amount = purchase || static_cast<int>(type) == params_.return_type;
            if (uses_amount && !std::isfinite(amount)) {
              if (config_.on_bad_row == io::BadRowPolicy::kError)
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
            if (params_.stage_of_type[type] != kernels::kStageNone)
              sc.channel_slots =
                  std::max(sc.channel_slots, std::min<int>(c.channel[i], kernels::kChannelSlots - 1) + 1);
            const std::uint64_t key = mix64(c.customer_id[i]);
            const std::uint64_t bucket = detail::partition_of(key, buckets_total);
            if (bucket / kBucketsPerPartition != part) continue;
            store_.push(
                tid, bucket - first_bucket,
                kernels::pack_record(key, ts, type, amount, c.category[i], c.channel[i], c.discount[i] > 0));
          }
        });
      }
      errors.rethrow();
      std::uint64_t bad = ~std::uint64_t{0};
      for (const Scan& sc : scans_) bad = std::min(bad, sc.bad_row);
      if (bad != ~std::uint64_t{0}) throw InputError(bad_row_message(c, block->start, bad - block->start));
      if (progress_) progress_(part * reader_.rows() + block->start + block->rows, parts_ * reader_.rows());
    }
    report_.peak_held_bytes = std::max(report_.peak_held_bytes, store_.bytes());
  }

  std::string bad_row_message(const io::EventColumns& c, std::uint64_t start, std::uint64_t i) const {
    const std::string& in = reader_.path();
    if (c.event_type[i] >= type_names_.size())
      return fmt::format("{}: row {}: /events/event_type is {}, not a known code (0..{})", in, start + i,
                         c.event_type[i], type_names_.size() - 1);
    if (!time_in_range(c.timestamp[i]))
      return fmt::format("{}: row {}: /events/timestamp {} is not a time from {}", in, start + i,
                         c.timestamp[i], kTimeRangeText);
    return fmt::format("{}: row {}: /events/amount is {}, expected a finite amount", in, start + i,
                       c.amount[i]);
  }

  // After the first pass: the totals, the BG/NBD sample's range, the columns, and the writer.
  void first_pass_done() {
    for (const Scan& sc : scans_) {
      report_.after_as_of += sc.after_as_of;
      report_.before_state += sc.before_state;
      report_.before_since += sc.before_since;
      report_.skipped_rows += sc.skipped;
      report_.negative_purchases += sc.negative;
      report_.purchases += sc.purchases;
      folded_ += sc.folded;
      channel_slots_ = std::max(channel_slots_, sc.channel_slots);
      for (std::size_t w = 0; w < 4; ++w) types_seen_[w] |= sc.types[w];
      for (int k = 0; k < kernels::kCategorySlots; ++k)
        category_cents_[static_cast<std::size_t>(k)] += sc.cents[k];
    }
    detail::check_bad_share(reader_.path(), report_.skipped_rows, report_.events, config_);
    sample_.plan(folded_);
    choose_columns();
    writer_.emplace(output_->temp_path(), names_, 0, output_->final_path().string());
  }

  // The columns: the top categories by spend over all customers, and every channel the file names.
  void choose_columns() {
    const io::Group events = reader_.file().group("/events");
    const bool channel_names = events.has_attribute("channel_names");
    const std::vector<std::string> channel_list =
        channel_names ? events.string_list_attribute("channel_names") : std::vector<std::string>{};
    const std::vector<std::string> category_list = events.has_attribute("category_names")
                                                       ? events.string_list_attribute("category_names")
                                                       : std::vector<std::string>{};
    std::vector<int> order(kernels::kCategorySlots);
    for (int k = 0; k < kernels::kCategorySlots; ++k) order[static_cast<std::size_t>(k)] = k;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return category_cents_[static_cast<std::size_t>(a)] > category_cents_[static_cast<std::size_t>(b)];
    });
    for (int k : order) {
      if (params_.categories >= config_.top_categories || category_cents_[static_cast<std::size_t>(k)] <= 0)
        break;
      params_.category_columns[params_.categories++] = k;
    }
    double cents_total = 0, cents_square = 0;
    for (std::int64_t cents : category_cents_) cents_total += cents > 0 ? static_cast<double>(cents) : 0.0;
    for (std::int64_t cents : category_cents_)
      if (cents > 0)
        cents_square +=
            (static_cast<double>(cents) / cents_total) * (static_cast<double>(cents) / cents_total);
    params_.category_prior = cents_total > 0 ? cents_square : 1.0;
    params_.channels = channel_names
                           ? std::min<int>(static_cast<int>(channel_list.size()), kernels::kChannelSlots)
                           : std::max(channel_slots_, 1);
    std::vector<std::string> categories, channels;
    for (int k = 0; k < params_.categories; ++k) {
      const int code = params_.category_columns[k];
      categories.push_back(code == kernels::kCategorySlots - 1 ? std::string("other")
                           : static_cast<std::size_t>(code) < category_list.size()
                               ? category_list[static_cast<std::size_t>(code)]
                               : std::to_string(code));
    }
    for (int k = 0; k < params_.channels; ++k)
      channels.push_back(static_cast<std::size_t>(k) < channel_list.size()
                             ? channel_list[static_cast<std::size_t>(k)]
                             : std::to_string(k));
    for (const BehaviourColumn& c :
         behaviour_column_registry(config_.windows, config_.unit_seconds, categories, channels)) {
      names_.push_back(c.name);
      units_.push_back(c.unit);
    }
    columns_ = kernels::behaviour_columns(params_);
    SEGSTREAM_ASSERT(static_cast<int>(names_.size()) == columns_, "column names and formulas disagree");
    p_alive_column_ = columns_ - 2;
  }

  // The range's buckets through the backend, a run at a time, and their rows (and states) written in order.
  void fold(std::uint64_t part) {
    const std::uint64_t buckets_total = parts_ * kBucketsPerPartition;
    const std::uint64_t first_bucket = part * kBucketsPerPartition;
    carried_.clear();
    if (state_in_) state_in_->take_partition(part, parts_, carried_);
    std::vector<std::uint64_t> carried_offsets(kBucketsPerPartition + 1, 0);
    for (const CarriedState& s : carried_)
      ++carried_offsets[detail::partition_of(s.key, buckets_total) - first_bucket + 1];
    for (std::uint64_t b = 0; b < kBucketsPerPartition; ++b) carried_offsets[b + 1] += carried_offsets[b];
    const bool keep_states = state_writer_.has_value();
    const std::uint64_t group = backend_.fold_buckets();
    for (std::uint64_t g = 0; g < kBucketsPerPartition; g += group) {
      backend_.fold_behaviour(
          kernels::BehaviourFold{&store_, g, group, carried_.data(), carried_offsets.data() + g, &params_,
                                 keep_states, fit_ && !fitted_},
          outputs_);
      throw_if_interrupted();
      for (const kernels::BehaviourFoldOutput& o : outputs_) {
        if (keep_states) state_writer_->append(o.ids.size(), o.ids.data(), o.states.data());
        if (fitted_)
          write_rows(o.rows, o.ids);
        else
          sample_.hold(o);
      }
      // The sample is complete once the buckets done cover its keys: fit, then write the rows that waited.
      const bool last_group = part + 1 == parts_ && g + group >= kBucketsPerPartition;
      if (!fitted_ && sample_.complete(last_group, part * kBucketsPerPartition + g + group, buckets_total)) {
        params_.bgnbd = sample_.fit_and_fill(reader_.path(), columns_, p_alive_column_);
        report_.bgnbd_sample = sample_.sample_size();
        write_rows(sample_.rows(), sample_.ids());
        sample_.release();
        fitted_ = true;
      }
    }
  }

  void write_rows(const std::vector<float>& rows, const std::vector<std::uint64_t>& ids) {
    if (!ids.empty()) writer_->append(rows.data(), ids.data(), ids.size());
    report_.customers += ids.size();
  }

  // The metadata and provenance of both outputs, then both renamed into place.
  void finish() {
    nlohmann::json params = {
        {"unit_seconds", config_.unit_seconds},
        {"multiplier", config_.multiplier},
        {"purchase_types", config_.purchase_types},
        {"as_of", format_iso_time(t0_)},
        {"windows_days", config_.windows},
        {"season_months", config_.season_months},
        {"bgnbd",
         {{"r", params_.bgnbd.r},
          {"alpha", params_.bgnbd.alpha},
          {"a", params_.bgnbd.a},
          {"b", params_.bgnbd.b}}},
        {"bgnbd_source", fit_ ? fmt::format("fitted on {} customers", report_.bgnbd_sample) : "given"},
        {"source", events_.filename().string()}};
    // The event types the file holds, and whether they are purchases (and returns) alone: fit then
    // clusters the transactions preset of columns.
    nlohmann::json types = nlohmann::json::array();
    bool transactions_only = true;
    for (std::size_t t = 0; t < type_names_.size() && t < 256; ++t)
      if ((types_seen_[t >> 6] >> (t & 63)) & 1u) {
        types.push_back(type_names_[t]);
        const auto code = static_cast<std::uint8_t>(t);
        if (!params_.is_purchase(code) && static_cast<int>(t) != params_.return_type)
          transactions_only = false;
      }
    params["event_types"] = types;
    params["transactions_only"] = transactions_only;
    if (config_.since) params["since"] = format_iso_time(*config_.since);
    if (state_in_)
      params["state_in"] = {{"as_of", format_iso_time(state_in_->metadata().as_of)},
                            {"customers", report_.state_customers}};
    std::vector<io::InputFingerprint> inputs = {io::fingerprint_input("events", events_)};
    if (state_in_) inputs.push_back(io::fingerprint_input("state", config_.state_in));
    const io::CustomerIds ids = io::CustomerIds::read(reader_.file());
    ids.write(writer_->file());
    if (state_writer_) ids.write(state_writer_->file());
    writer_->close({"behavioral", units_, t0_, std::string(io::kMix64Order), params.dump()},
                   {"segstream.features", "features", params, inputs});
    if (state_writer_)
      state_writer_->close({t0_, identity_.dump(), folded_, category_cents_, channel_slots_},
                           {"segstream.state", "features", params, inputs});
    throw_if_interrupted();  // the features and the state, or neither
    output_->commit(io::AtomicOutput::OnInterrupt::kKeep);
    if (state_output_) state_output_->commit(io::AtomicOutput::OnInterrupt::kKeep);
  }

  const std::filesystem::path events_;
  const FeatureConfig& config_;
  const FeatureProgress& progress_;
  kernels::Backend& backend_;
  const io::EventFileReader reader_;
  const std::vector<std::string> type_names_;
  const std::int64_t t0_;
  BehaviourParams params_;
  const nlohmann::json identity_;
  const int threads_;
  FeatureReport report_;
  std::optional<CarriedStates> state_in_;
  std::optional<io::AtomicOutput> state_output_;
  std::optional<io::StateFileWriter> state_writer_;
  std::optional<io::AtomicOutput> output_;
  std::optional<io::FeatureFileWriter> writer_;
  std::uint64_t parts_ = 1;
  bool fit_ = true, fitted_ = false;
  std::uint64_t folded_ = 0;                   // events folded, this run's and the state's
  std::array<std::uint64_t, 4> types_seen_{};  // bit t: the events file has an event of type t
  std::vector<std::int64_t> category_cents_ = std::vector<std::int64_t>(kernels::kCategorySlots, 0);
  int channel_slots_ = 0;
  std::vector<std::string> names_, units_;
  int columns_ = 0, p_alive_column_ = 0;
  detail::EventRing ring_{true, false};  // every column but the order ids
  kernels::BehaviourRecordStore store_;
  std::vector<Scan> scans_;
  std::vector<CarriedState> carried_;
  std::vector<kernels::BehaviourFoldOutput> outputs_;
  PAliveSample sample_;
};

}  // namespace

FeatureReport compute_behaviour(const std::filesystem::path& events, const std::filesystem::path& out,
                                bool overwrite, const FeatureConfig& config, const FeatureProgress& progress,
                                kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  validate(config);
  FeatureReport report = BehaviourRun(events, out, overwrite, config, progress, backend).run();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
