// The event generator: one simulated life per customer, written in customer order or shuffled in blocks.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include "archetypes.hpp"
#include "parallel.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/events.hpp"

namespace segstream::host {

using detail::Activity;
using detail::ArchetypeProfile;
using detail::profile_of;
using io::EventType;

const std::vector<std::string>& archetype_names() {
  static const std::vector<std::string> names = {
      "champion",       "loyal",     "new_buyer",           "at_risk", "lapsed", "seasonal",
      "bargain_hunter", "app_heavy", "category_specialist", "prospect"};
  return names;
}

std::optional<Archetype> parse_archetype(std::string_view name) {
  const auto& names = archetype_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Archetype>(i);
  return std::nullopt;
}

std::array<double, kArchetypeCount> default_archetype_mix() {
  // champion, loyal, new_buyer, at_risk, lapsed, seasonal, bargain_hunter, app_heavy, specialist, prospect
  return {0.05, 0.12, 0.08, 0.10, 0.15, 0.08, 0.10, 0.07, 0.08, 0.17};
}

Archetype drift_target(Archetype from) {
  switch (from) {
    case Archetype::kChampion:
      return Archetype::kAtRisk;
    case Archetype::kLoyal:
      return Archetype::kChampion;
    case Archetype::kNewBuyer:
      return Archetype::kLoyal;
    case Archetype::kAtRisk:
      return Archetype::kLapsed;
    case Archetype::kLapsed:  // won back
    case Archetype::kSeasonal:
    case Archetype::kBargainHunter:
      return Archetype::kLoyal;
    case Archetype::kAppHeavy:
      return Archetype::kChampion;
    case Archetype::kCategorySpecialist:
      return Archetype::kAtRisk;
    case Archetype::kProspect:
      return Archetype::kNewBuyer;
  }
  return from;
}

const std::vector<std::string>& category_names() {
  static const std::vector<std::string> names = {
      "none",   "electronics", "books", "music",  "fashion", "home",    "garden", "toys",    "sports",
      "beauty", "grocery",     "pets",  "auto",   "health",  "kitchen", "office", "outdoor", "games",
      "baby",   "jewellery",   "shoes", "movies", "tools",   "crafts",  "travel"};
  return names;
}

const std::vector<std::string>& channel_names() {
  static const std::vector<std::string> names = {"web", "app", "store", "phone", "email"};
  return names;
}

void EventGeneratorConfig::validate() const {
  SEGSTREAM_EXPECTS(customers > 0, "--customers must be at least 1 (got {})", customers);
  SEGSTREAM_EXPECTS(days > 0, "--days must be a positive number of days (got {})", days);
  SEGSTREAM_EXPECTS(days <= 36500, "--days must be at most 36500 (got {})", days);
  SEGSTREAM_EXPECTS(drift_fraction >= 0.0 && drift_fraction <= 1.0,
                    "--drift-fraction must be within [0, 1] (got {})", drift_fraction);
  SEGSTREAM_EXPECTS(drift_fraction == 0.0 || drift_at.has_value(), "--drift-fraction needs --drift-at DATE");
  if (drift_at)
    SEGSTREAM_EXPECTS(*drift_at > start && *drift_at < end(),
                      "--drift-at {} must fall inside the generated window ({} .. {})",
                      format_iso_time(*drift_at), format_iso_time(start), format_iso_time(end()));
  double total = 0;
  for (double w : mix) {
    SEGSTREAM_EXPECTS(w >= 0.0 && std::isfinite(w), "archetype weights must be finite and non-negative");
    total += w;
  }
  SEGSTREAM_EXPECTS(total > 0.0, "at least one archetype needs a positive weight");
  SEGSTREAM_EXPECTS(shuffle_block > 0 && batch_customers > 0, "block sizes must be positive");
  SEGSTREAM_EXPECTS(threads >= 0, "--threads must be non-negative (got {})", threads);
}

namespace {

constexpr double kDay = 86400.0;

struct Event {
  std::int64_t timestamp;
  float amount;
  float discount;
  std::uint16_t category;
  std::uint8_t type;
  std::uint8_t channel;
};

struct CustomerTruth {
  std::uint64_t id;
  std::uint8_t archetype;
  std::uint8_t archetype_after;
  std::uint8_t drifted;
};

// Facts about the calendar shared by all customers: per-day weekend and holiday-season flags, and the
// e-mail campaign schedule (every 14 days at 09:00 UTC from the first Tuesday of the window).
struct Calendar {
  std::int64_t start, end, first_day;
  std::vector<std::uint8_t> weekend, season;
  std::vector<std::int64_t> campaigns;
  std::array<double, 32> category_cdf{};  // popularity of categories 1..24 (Zipf, s = 0.8)

  explicit Calendar(const EventGeneratorConfig& c)
      : start(c.start), end(c.end()), first_day(day_of(c.start)) {
    const std::int64_t last_day = day_of(end - 1);
    for (std::int64_t d = first_day; d <= last_day; ++d) {
      weekend.push_back(weekday_of_day(d) >= 5);
      const CivilDate cd = civil_from_days(d);
      season.push_back(cd.month == 12 || (cd.month == 11 && cd.day >= 15));
    }
    std::int64_t d = first_day;
    while (weekday_of_day(d) != 1) ++d;
    for (std::int64_t t = d * 86400 + 9 * 3600; t < end; t += 14 * 86400)
      if (t >= start) campaigns.push_back(t);
    const int n = static_cast<int>(category_names().size()) - 1;
    double total = 0;
    for (int k = 1; k <= n; ++k) total += 1.0 / std::pow(k, 0.8);
    double acc = 0;
    for (int k = 1; k <= n; ++k)
      category_cdf[static_cast<std::size_t>(k - 1)] = (acc += 1.0 / std::pow(k, 0.8) / total);
  }
  std::size_t day_index(double t) const {
    const std::int64_t d = day_of(static_cast<std::int64_t>(t)) - first_day;
    return static_cast<std::size_t>(
        std::clamp<std::int64_t>(d, 0, static_cast<std::int64_t>(weekend.size()) - 1));
  }
  std::uint16_t popular_category(double u) const {
    const int n = static_cast<int>(category_names().size()) - 1;
    for (int k = 0; k < n; ++k)
      if (u <= category_cdf[static_cast<std::size_t>(k)]) return static_cast<std::uint16_t>(k + 1);
    return static_cast<std::uint16_t>(n);
  }
};

// One phase of a customer's life under one archetype: [begin, end).
struct Phase {
  Archetype archetype;
  double begin, end;
  double acquired;  // kRecent: first activity
  double dropout;   // kDropout: last full activity
};

class CustomerSimulator {
 public:
  CustomerSimulator(const EventGeneratorConfig& config, const Calendar& calendar)
      : config_(config), calendar_(calendar) {
    double total = 0;
    for (double w : config.mix) total += w;
    double acc = 0;
    for (int a = 0; a < kArchetypeCount; ++a)
      mix_cdf_[static_cast<std::size_t>(a)] = (acc += config.mix[static_cast<std::size_t>(a)] / total);
    mix_cdf_[kArchetypeCount - 1] = 1.0;
  }

  // Appends customer `index`'s events (sorted by time) to `out` and returns its truth.
  CustomerTruth simulate(std::uint64_t index, std::vector<Event>& out) {
    RandomStream assign(config_.seed, RandomPurpose::kAssignment, index);
    const double u = assign.uniform();
    int a = 0;
    while (a < kArchetypeCount - 1 && u > mix_cdf_[static_cast<std::size_t>(a)]) ++a;
    const Archetype first = static_cast<Archetype>(a);
    const bool drifts = config_.drift_fraction > 0 && assign.uniform() < config_.drift_fraction;
    const Archetype second = drifts ? drift_target(first) : first;

    RandomStream rng(config_.seed, RandomPurpose::kCustomer, index);
    const std::size_t begin = out.size();
    events_ = &out;
    rng_ = &rng;
    activity_mult_ = rng.lognormal_mean(1.0, 0.5);
    spend_mult_ = rng.lognormal_mean(1.0, 0.35);
    app_mult_ = rng.lognormal_mean(1.0, 0.4);
    favourite_ = calendar_.popular_category(rng.uniform());
    second_ = calendar_.popular_category(rng.uniform());
    subscribed_ = rng.bernoulli(profile_of(first).subscribed);

    const double start = static_cast<double>(calendar_.start), end = static_cast<double>(calendar_.end);
    const double split = drifts ? static_cast<double>(*config_.drift_at) : end;
    Phase phases[2] = {make_phase(first, start, split, true), make_phase(second, split, end, false)};
    for (int p = 0; p < (drifts ? 2 : 1); ++p) simulate_phase(phases[p]);

    if (out.size() == begin) {  // every customer in the file has at least one event
      const double t =
          std::max(phases[0].acquired, start) + rng.uniform() * (end - std::max(phases[0].acquired, start));
      push(t, EventType::kPageView, 0, 0, browse_category(profile_of(first)), 0);
    }
    // Sort by time, ties broken on every field, so the order is defined by the events alone.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(begin), out.end(),
              [](const Event& x, const Event& y) {
                if (x.timestamp != y.timestamp) return x.timestamp < y.timestamp;
                if (x.type != y.type) return x.type < y.type;
                if (x.category != y.category) return x.category < y.category;
                if (x.channel != y.channel) return x.channel < y.channel;
                if (x.amount != y.amount) return x.amount < y.amount;
                return x.discount < y.discount;
              });
    return CustomerTruth{0, static_cast<std::uint8_t>(first), static_cast<std::uint8_t>(second), drifts};
  }

 private:
  Phase make_phase(Archetype a, double begin, double end, bool first_phase) {
    const ArchetypeProfile& p = profile_of(a);
    Phase phase{a, begin, end, begin, end};
    if (p.activity == Activity::kRecent) {
      if (first_phase) {
        // Acquired shortly before the phase ends (the window's end, or the drift date for drifters), so a
        // drifting new customer is seen as one before it changes.
        const double window = (a == Archetype::kProspect ? 150.0 : 75.0) * kDay;
        phase.acquired = std::max(begin, end - (3.0 * kDay + rng_->uniform() * window));
      } else {
        // Becoming a customer after the drift date: spread over the following three weeks.
        phase.acquired = begin + rng_->uniform(0.0, 21.0) * kDay;
      }
    } else if (p.activity == Activity::kDropout) {
      phase.dropout = first_phase ? begin + rng_->uniform(0.05, 0.5) * (end - begin)
                                  : begin + rng_->uniform(0.0, 14.0) * kDay;
    }
    return phase;
  }

  double activity(const Phase& ph, const ArchetypeProfile& p, double t) const {
    switch (p.activity) {
      case Activity::kSteady:
      case Activity::kSeasonal:
        return 1.0;
      case Activity::kDeclining:
        return std::max(0.04, std::exp(-(t - ph.begin) / (p.decline_days * kDay)));
      case Activity::kDropout:
        return t < ph.dropout ? 1.0 : 0.02;
      case Activity::kRecent:
        return t >= ph.acquired ? 1.0 : 0.0;
    }
    return 1.0;
  }

  // Intensity multiplier of the calendar at time t: weekend and holiday season.
  double calendar_factor(const ArchetypeProfile& p, double t, bool seasonal) const {
    const std::size_t d = calendar_.day_index(t);
    double f = calendar_.weekend[d] ? p.weekend_weight : 1.0;
    if (seasonal && calendar_.season[d]) f *= p.holiday_boost;
    return f;
  }

  // Moves t to a time of day drawn from the archetype's hours, on the same day, staying inside [lo, hi).
  double at_hour(const ArchetypeProfile& p, double t, double lo, double hi) {
    const double day_start = std::floor(t / kDay) * kDay;
    double hour = std::fmod(rng_->normal(p.peak_hour, p.hour_sd), 24.0);
    if (hour < 0) hour += 24.0;
    const double moved = day_start + hour * 3600.0;
    return (moved >= lo && moved < hi) ? moved : t;
  }

  std::uint16_t browse_category(const ArchetypeProfile& p) {
    const double u = rng_->uniform();
    if (u < p.category_focus) return favourite_;
    if (u < p.category_focus + 0.4 * (1.0 - p.category_focus)) return second_;
    return calendar_.popular_category(rng_->uniform());
  }

  void push(double t, EventType type, float amount, float discount, std::uint16_t category,
            std::uint8_t channel) {
    if (t < static_cast<double>(calendar_.start) || t >= static_cast<double>(calendar_.end)) return;
    events_->push_back(Event{static_cast<std::int64_t>(t), amount, discount, category,
                             static_cast<std::uint8_t>(type), channel});
  }

  // Runs a thinned Poisson process over [lo, hi) with intensity rate·g(t) ≤ rate·g_max, calling emit(t).
  template <class Intensity, class Emit>
  void poisson_process(double lo, double hi, double rate_per_day, double g_max, Intensity g, Emit emit) {
    const double max_rate = rate_per_day * g_max / kDay;
    if (max_rate <= 0 || hi <= lo) return;
    double t = lo + rng_->exponential(max_rate);  // the event times: exponential gaps at the maximum rate
    while (t < hi) {
      if (rng_->uniform() * g_max < g(t)) emit(t);
      t += rng_->exponential(max_rate);
    }
  }

  void purchase(const Phase& ph, const ArchetypeProfile& p, double t, std::uint16_t category,
                std::uint8_t channel) {
    if (rng_->bernoulli(p.store_share)) channel = 2;
    const double list =
        std::round(p.spend_mean * spend_mult_ * rng_->lognormal_mean(1.0, p.spend_sigma) * 100.0) / 100.0 +
        0.99;
    double discount = 0;
    if (rng_->bernoulli(p.discount_prob))
      discount =
          std::round(list * std::clamp(rng_->normal(p.discount_depth, 0.07), 0.05, 0.7) * 100.0) / 100.0;
    const float amount = static_cast<float>(list - discount);
    push(t, EventType::kPurchase, amount, static_cast<float>(discount), category, channel);
    if (rng_->bernoulli(p.return_prob)) {
      const double tr = t + rng_->uniform(3.0, 30.0) * kDay;
      push(tr, EventType::kReturn, -amount, 0.0f, category, channel);
      if (rng_->bernoulli(0.3))
        push(tr - 3600.0 * rng_->uniform(1.0, 48.0), EventType::kSupportTicket, 0, 0, 0, 3);
    }
    if (rng_->bernoulli(p.review_prob))
      push(t + rng_->uniform(2.0, 14.0) * kDay, EventType::kReview, 0, 0, category, 0);
    if (rng_->bernoulli(p.referral_prob))
      push(t + rng_->uniform(1.0, 60.0) * kDay, EventType::kReferral, 0, 0, 0, 0);
    (void)ph;
  }

  void visit(const Phase& ph, const ArchetypeProfile& p, double t, bool force_purchase) {
    const std::uint8_t channel = rng_->bernoulli(p.app_visit_share) ? 1 : 0;
    const std::uint16_t category = browse_category(p);
    const std::uint32_t views = 1 + rng_->poisson(std::max(0.0, p.pageviews_mean - 1.0));
    double at = t;
    for (std::uint32_t v = 0; v < views; ++v, at += rng_->uniform(20.0, 120.0))
      push(at, EventType::kPageView, 0, 0, v == 0 ? category : browse_category(p), channel);
    if (rng_->bernoulli(p.content_prob))
      push(at += rng_->uniform(30.0, 300.0), EventType::kContentView, 0, 0, category, channel);
    if (rng_->bernoulli(p.search_prob))
      push(at += rng_->uniform(10.0, 60.0), EventType::kSearch, 0, 0, category, channel);
    const bool cart = force_purchase || rng_->bernoulli(p.cart_prob);
    if (!cart) return;
    push(at += rng_->uniform(30.0, 300.0), EventType::kCartAdd, 0, 0, category, channel);
    if ((force_purchase && p.buy_prob > 0) || rng_->bernoulli(p.buy_prob))
      purchase(ph, p, at + rng_->uniform(60.0, 900.0), category, channel);
  }

  void simulate_phase(const Phase& ph) {
    const ArchetypeProfile& p = profile_of(ph.archetype);
    const bool seasonal = true;  // every archetype feels the season, by its own holiday_boost
    const double g_cal = std::max(p.weekend_weight, 1.0) * std::max(p.holiday_boost, 1.0);
    const double lo = p.activity == Activity::kRecent ? std::max(ph.begin, ph.acquired) : ph.begin;

    if (p.activity == Activity::kRecent && ph.acquired >= ph.begin && ph.acquired < ph.end)
      visit(ph, p, at_hour(p, ph.acquired, ph.begin, ph.end), ph.archetype == Archetype::kNewBuyer);

    poisson_process(
        lo, ph.end, p.visit_rate * activity_mult_, g_cal,
        [&](double t) { return activity(ph, p, t) * calendar_factor(p, t, seasonal); },
        [&](double t) { visit(ph, p, at_hour(p, t, lo, ph.end), false); });

    poisson_process(
        lo, ph.end, p.app_rate * app_mult_, std::max(p.weekend_weight, 1.0),
        [&](double t) { return activity(ph, p, t) * calendar_factor(p, t, false); },
        [&](double t) { push(at_hour(p, t, lo, ph.end), EventType::kAppSession, 0, 0, 0, 1); });

    poisson_process(
        lo, ph.end, p.support_rate, 1.5, [&](double t) { return 0.5 + activity(ph, p, t); },
        [&](double t) { push(t, EventType::kSupportTicket, 0, 0, 0, rng_->bernoulli(0.5) ? 3 : 4); });

    if (subscribed_) {
      for (std::int64_t c : calendar_.campaigns) {
        const double tc = static_cast<double>(c);
        if (tc < lo || tc >= ph.end) continue;
        push(tc, EventType::kEmailSent, 0, 0, 0, 4);
        const double engaged = 0.25 + 0.75 * activity(ph, p, tc);
        if (!rng_->bernoulli(p.open_prob * engaged)) continue;
        const double to = tc + rng_->exponential(1.0 / (8.0 * 3600.0));
        push(to, EventType::kEmailOpen, 0, 0, 0, 4);
        if (rng_->bernoulli(p.click_prob)) {
          push(to + rng_->uniform(5.0, 600.0), EventType::kEmailClick, 0, 0, browse_category(p), 4);
          if (rng_->bernoulli(0.5)) visit(ph, p, to + rng_->uniform(600.0, 1800.0), false);
        }
      }
    }
  }

  const EventGeneratorConfig& config_;
  const Calendar& calendar_;
  std::array<double, kArchetypeCount> mix_cdf_{};
  std::vector<Event>* events_ = nullptr;
  RandomStream* rng_ = nullptr;
  double activity_mult_ = 1, spend_mult_ = 1, app_mult_ = 1;
  std::uint16_t favourite_ = 1, second_ = 1;
  bool subscribed_ = false;
};

// One batch of customers laid out for writing (columns) plus its truth.
struct Batch {
  io::EventBuffer events;
  std::uint64_t count = 0;
  std::uint64_t first_customer = 0;
  std::vector<std::uint64_t> truth_id;
  std::vector<std::uint8_t> truth_archetype, truth_after, truth_drifted;
};

}  // namespace

GenerateReport generate_events(const EventGeneratorConfig& config, const std::filesystem::path& out,
                               bool overwrite, const ProgressFn& progress) {
  config.validate();
  const auto t_begin = std::chrono::steady_clock::now();
  io::AtomicOutput output(out, overwrite);
  // The default mix writes about 9 bytes a customer and day (measured); no mix writes less than 1.
  io::check_free_space(output,
                       static_cast<long double>(config.customers) * static_cast<long double>(config.days),
                       fmt::format("{} customers over {} days, at 1 byte a customer and day at the least",
                                   config.customers, config.days));
  io::EventFileWriter writer(output.temp_path(),
                             config.chunk_rows ? config.chunk_rows : io::kDefaultEventChunkRows,
                             output.final_path().string());
  const io::File& file = writer.file();
  file.create_group("/customers");
  const std::uint64_t truth_chunk = std::min<std::uint64_t>(config.customers, std::uint64_t{1} << 16);
  const io::DatasetOptions truth_options{{0}, {truth_chunk}, true, 0};
  io::Dataset truth_id = file.create_dataset<std::uint64_t>("/customers/customer_id", truth_options);
  io::Dataset truth_archetype = file.create_dataset<std::uint8_t>("/customers/archetype", truth_options);
  io::Dataset truth_after =
      file.create_dataset<std::uint8_t>("/customers/archetype_after_drift", truth_options);
  io::Dataset truth_drifted = file.create_dataset<std::uint8_t>("/customers/drifted", truth_options);

  const Calendar calendar(config);
  const std::uint64_t id_offset = mix64(config.seed ^ 0x5E6573747265616Dull);
  const std::uint64_t batch =
      config.order == EventOrder::kShuffled ? config.shuffle_block : config.batch_customers;
  constexpr std::uint64_t kTask = 256;  // customers per parallel task
  std::vector<std::vector<Event>> task_events((batch + kTask - 1) / kTask);
  std::vector<CustomerTruth> truths(batch);
  std::vector<std::uint32_t> counts(batch);
  std::vector<std::uint64_t> permutation;
  const int threads = config.threads > 0 ? config.threads : omp_get_max_threads();

  GenerateReport report;
  // Two batches alternate: batch b is simulated while batch b − 1 is written by one thread of the team.
  Batch buffers[2];
  Batch* unwritten = nullptr;
  std::uint64_t events_written = 0;
  auto write_batch = [&](Batch& buf) {
    writer.append(buf.events.view(), buf.count);
    const std::uint64_t n = buf.truth_id.size();
    truth_id.write_rows(buf.first_customer, n, buf.truth_id.data());
    truth_archetype.write_rows(buf.first_customer, n, buf.truth_archetype.data());
    truth_after.write_rows(buf.first_customer, n, buf.truth_after.data());
    truth_drifted.write_rows(buf.first_customer, n, buf.truth_drifted.data());
  };

  for (std::uint64_t first = 0, b = 0; first < config.customers; first += batch, ++b) {
    throw_if_interrupted();
    const std::uint64_t n = std::min(batch, config.customers - first);
    const std::uint64_t tasks = (n + kTask - 1) / kTask;
    auto write_previous = [&] {
      if (unwritten != nullptr) write_batch(*unwritten);
    };
    detail::run_tasks_beside(
        threads, static_cast<std::int64_t>(tasks), write_previous, [&](std::int64_t task) {
          CustomerSimulator sim(config, calendar);
          std::vector<Event>& events = task_events[static_cast<std::size_t>(task)];
          events.clear();
          const std::uint64_t lo = static_cast<std::uint64_t>(task) * kTask, hi = std::min(n, lo + kTask);
          for (std::uint64_t i = lo; i < hi; ++i) {
            const std::size_t before = events.size();
            truths[i] = sim.simulate(first + i, events);
            truths[i].id = mix64(first + i + id_offset);
            counts[i] = static_cast<std::uint32_t>(events.size() - before);
          }
        });

    Batch& buf = buffers[b % 2];
    std::uint64_t total = 0;
    for (std::uint64_t t = 0; t < tasks; ++t) total += task_events[t].size();
    if (buf.events.capacity() < total) buf.events.resize(total + total / 8);
    buf.count = total;
    buf.first_customer = first;
    buf.truth_id.resize(n);
    buf.truth_archetype.resize(n);
    buf.truth_after.resize(n);
    buf.truth_drifted.resize(n);

    // Where the j-th event of the batch (customers in index order) goes: itself, or a uniformly random
    // permutation of the block (Fisher–Yates driven by the block's own stream).
    const bool shuffled = config.order == EventOrder::kShuffled;
    if (shuffled) {
      permutation.resize(total);
      std::iota(permutation.begin(), permutation.end(), std::uint64_t{0});
      RandomStream rng(config.seed, RandomPurpose::kShuffle, b);
      for (std::uint64_t j = total; j > 1; --j) {
        const std::uint64_t k = rng.next_u64() % j;
        std::swap(permutation[j - 1], permutation[k]);
      }
    }
    const io::EventColumns cols = buf.events.view();
    std::uint64_t j = 0, customer = 0;
    for (std::uint64_t t = 0; t < tasks; ++t) {
      const std::vector<Event>& events = task_events[t];
      std::size_t e = 0;
      for (std::uint64_t i = t * kTask; i < std::min(n, (t + 1) * kTask); ++i, ++customer) {
        const CustomerTruth& truth = truths[i];
        buf.truth_id[i] = truth.id;
        buf.truth_archetype[i] = truth.archetype;
        buf.truth_after[i] = truth.archetype_after;
        buf.truth_drifted[i] = truth.drifted;
        report.customers_by_archetype[truth.archetype]++;
        report.drifted += truth.drifted;
        for (std::uint32_t c = 0; c < counts[i]; ++c, ++e, ++j) {
          const Event& ev = events[e];
          const std::uint64_t at = shuffled ? permutation[j] : j;
          cols.customer_id[at] = truth.id;
          cols.timestamp[at] = ev.timestamp;
          cols.event_type[at] = ev.type;
          cols.amount[at] = ev.amount;
          cols.category[at] = ev.category;
          cols.channel[at] = ev.channel;
          cols.discount[at] = ev.discount;
          report.events_by_type[ev.type]++;
        }
      }
    }
    SEGSTREAM_ASSERT(j == total && customer == n, "batch layout lost events ({} of {})", j, total);
    report.customers += n;
    report.events += total;
    unwritten = &buf;
    events_written += total;
    if (progress) progress(first + n, config.customers);
  }
  if (unwritten != nullptr) write_batch(*unwritten);

  nlohmann::json params = {
      {"customers", config.customers},
      {"start", format_iso_time(config.start)},
      {"days", config.days},
      {"seed", config.seed},
      {"drift_fraction", config.drift_fraction},
      {"drift_at", config.drift_at ? format_iso_time(*config.drift_at) : std::string()},
      {"order", config.order == EventOrder::kShuffled ? "shuffled" : "customer"},
      {"shuffle_block", config.shuffle_block},
      {"mix", config.mix},
  };
  {
    io::Group events = file.group("/events");
    events.set_attribute("category_names", category_names());
    events.set_attribute("channel_names", channel_names());
    events.set_attribute("timestamp_unit", "unix seconds, UTC");
    events.set_attribute("amount_unit", "currency units; returns are negative");
    io::Group customers = file.group("/customers");
    customers.set_attribute("archetype_names", archetype_names());
    customers.set_attribute("drift_at", config.drift_at ? *config.drift_at : std::int64_t{0});
  }
  file.set_attribute("window_start", config.start);
  file.set_attribute("as_of", config.end());
  file.set_attribute("generator", params.dump());
  truth_id = io::Dataset();
  truth_archetype = io::Dataset();
  truth_after = io::Dataset();
  truth_drifted = io::Dataset();
  writer.close({"segstream.events", "generate", params, {}});
  output.commit();
  SEGSTREAM_ASSERT(events_written == report.events, "events written {} != generated {}", events_written,
                   report.events);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
