#include "profile.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <fmt/format.h>

#include "feature_rows.hpp"
#include "kmeans/passes.hpp"
#include "segstream/core/parallel_errors.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::host {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// "1234567" → "1,234,567".
std::string thousands(std::string digits) {
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3)
    digits.insert(static_cast<std::size_t>(at), ",");
  return digits;
}

// A value for people: three significant digits, thousands separated.
std::string readable(double v) {
  if (!std::isfinite(v)) return "-";
  if (std::fabs(v) >= 1000) return (v < 0 ? "-" : "") + thousands(fmt::format("{:.0f}", std::fabs(v)));
  return fmt::format("{:.3g}", v);
}

}  // namespace
}  // namespace segstream::host

namespace segstream::host::detail {

ProfileBuilder::ProfileBuilder(const io::FeatureFileReader& r, int k, int threads)
    : r_(r),
      k_(static_cast<std::size_t>(k)),
      d_(r.columns()),
      threads_(threads > 0 ? threads : omp_get_max_threads()),
      shift_(d_, 0.0),
      sum_(k_ * d_, 0.0),
      sum2_(k_ * d_, 0.0),
      finite_(k_ * d_, 0),
      customers_(k_, 0) {
  const std::uint64_t n = r.rows();
  // mix64 is a bijection, so below the threshold lie close to kMedianRows of n rows (all when n is smaller).
  threshold_ = n <= kMedianRows ? std::numeric_limits<std::uint64_t>::max()
                                : static_cast<std::uint64_t>(static_cast<double>(kMedianRows) /
                                                             static_cast<double>(n) * 18446744073709551615.0);
}

void ProfileBuilder::add(std::uint64_t start, std::uint64_t n, const std::int32_t* segment,
                         const float* rows) {
  if (!have_shift_ && n > 0) {
    for (std::size_t j = 0; j < d_; ++j) shift_[j] = std::isfinite(rows[j]) ? rows[j] : 0.0;
    have_shift_ = true;
  }
  // Runs of kChunkRows rows from the block's start are summed on their own, in parallel, and then added
  // in run order: the same bits for any number of threads.
  const std::uint64_t chunks = (n + kChunkRows - 1) / kChunkRows;
  const std::size_t kd = k_ * d_;
  if (partial_.size() < chunks) partial_.resize(chunks);
  ParallelErrors errors;  // the partial sums allocate: a std::bad_alloc is thrown after the loop
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (std::int64_t cc = 0; cc < static_cast<std::int64_t>(chunks); ++cc) {
    errors.run([&] {
      Partial& p = partial_[static_cast<std::size_t>(cc)];
      p.sum.assign(kd, 0.0);
      p.sum2.assign(kd, 0.0);
      p.finite.assign(kd, 0);
      p.customers.assign(k_, 0);
      p.sampled.clear();
      const std::uint64_t begin = static_cast<std::uint64_t>(cc) * kChunkRows;
      const std::uint64_t end = std::min(n, begin + kChunkRows);
      for (std::uint64_t i = begin; i < end; ++i) {
        const auto s = static_cast<std::size_t>(segment[i]);
        const float* x = rows + i * d_;
        ++p.customers[s];
        for (std::size_t j = 0; j < d_; ++j) {
          if (!std::isfinite(x[j])) continue;
          const double v = x[j] - shift_[j];
          p.sum[s * d_ + j] += v;
          p.sum2[s * d_ + j] += v * v;
          ++p.finite[s * d_ + j];
        }
        if (mix64(start + i) <= threshold_) p.sampled.push_back(i);
      }
    });
  }
  errors.rethrow();
  for (std::uint64_t c = 0; c < chunks; ++c) {
    const Partial& p = partial_[c];
    for (std::size_t v = 0; v < kd; ++v) {
      sum_[v] += p.sum[v];
      sum2_[v] += p.sum2[v];
      finite_[v] += p.finite[v];
    }
    for (std::size_t s = 0; s < k_; ++s) customers_[s] += p.customers[s];
    for (std::uint64_t i : p.sampled) {
      const float* x = rows + i * d_;
      sample_.insert(sample_.end(), x, x + d_);
      sample_segment_.push_back(segment[i]);
    }
  }
}

namespace {

double median_of(std::vector<float>& v) {
  if (v.empty()) return kNaN;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lo + hi) / 2;
}

}  // namespace

io::SegmentProfiles ProfileBuilder::finish() {
  io::SegmentProfiles p;
  p.columns = r_.feature_names();
  p.units = r_.metadata().units;
  for (const char* revenue : {"monetary_total", "monetary"})
    if (std::find(p.columns.begin(), p.columns.end(), revenue) != p.columns.end()) {
      p.revenue_column = revenue;
      break;
    }
  std::uint64_t rows = 0;
  for (std::uint64_t c : customers_) rows += c;
  p.rows = rows;
  p.median_rows = sample_segment_.size();
  p.customers = customers_;
  p.population_mean.assign(d_, kNaN);
  p.population_sd.assign(d_, kNaN);
  p.population_median.assign(d_, kNaN);
  p.mean.assign(k_ * d_, kNaN);
  p.median.assign(k_ * d_, kNaN);
  p.z.assign(k_ * d_, 0.0);
  for (std::size_t j = 0; j < d_; ++j) {
    double s1 = 0, s2 = 0;
    std::uint64_t m = 0;
    for (std::size_t s = 0; s < k_; ++s) {
      s1 += sum_[s * d_ + j];
      s2 += sum2_[s * d_ + j];
      m += finite_[s * d_ + j];
      if (finite_[s * d_ + j] > 0)
        p.mean[s * d_ + j] = shift_[j] + sum_[s * d_ + j] / static_cast<double>(finite_[s * d_ + j]);
    }
    if (m == 0) continue;
    const double mean = s1 / static_cast<double>(m);
    p.population_mean[j] = shift_[j] + mean;
    p.population_sd[j] = std::sqrt(std::max(0.0, s2 / static_cast<double>(m) - mean * mean));
    for (std::size_t s = 0; s < k_; ++s)
      if (p.population_sd[j] > 0 && std::isfinite(p.mean[s * d_ + j]))
        p.z[s * d_ + j] = (p.mean[s * d_ + j] - p.population_mean[j]) / p.population_sd[j];
  }
  // Medians over the sample, per segment and for everyone: a column per task (exact, so the same for any
  // number of threads).
  const auto columns = static_cast<std::int64_t>(d_);
  ParallelErrors median_errors;
#pragma omp parallel num_threads(threads_)
  {
    std::vector<std::vector<float>> by_segment;
    std::vector<float> all;
    median_errors.run([&] { by_segment.resize(k_); });
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t jj = 0; jj < columns; ++jj) {
      median_errors.run([&] {
        const auto j = static_cast<std::size_t>(jj);
        for (auto& v : by_segment) v.clear();
        all.clear();
        for (std::size_t i = 0; i < sample_segment_.size(); ++i) {
          const float v = sample_[i * d_ + j];
          if (!std::isfinite(v)) continue;
          by_segment[static_cast<std::size_t>(sample_segment_[i])].push_back(v);
          all.push_back(v);
        }
        for (std::size_t s = 0; s < k_; ++s) p.median[s * d_ + j] = median_of(by_segment[s]);
        p.population_median[j] = median_of(all);
      });
    }
  }
  median_errors.rethrow();
  // Revenue per segment: the revenue column's sum, undone from the shifted sums.
  std::vector<double> revenue;
  if (!p.revenue_column.empty()) {
    const auto j = static_cast<std::size_t>(std::find(p.columns.begin(), p.columns.end(), p.revenue_column) -
                                            p.columns.begin());
    for (std::size_t s = 0; s < k_; ++s)
      revenue.push_back(sum_[s * d_ + j] + shift_[j] * static_cast<double>(finite_[s * d_ + j]));
  }
  double revenue_total = 0;
  for (double r : revenue) revenue_total += r;
  for (std::size_t s = 0; s < k_; ++s) {
    p.customer_share.push_back(rows > 0 ? static_cast<double>(customers_[s]) / static_cast<double>(rows) : 0);
    if (!revenue.empty()) p.revenue_share.push_back(revenue_total != 0 ? revenue[s] / revenue_total : 0);
    // What sets it apart: up to three columns furthest from the population, at least half a deviation.
    std::vector<std::size_t> order(d_);
    for (std::size_t j = 0; j < d_; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::fabs(p.z[s * d_ + a]) > std::fabs(p.z[s * d_ + b]);
    });
    std::string apart;
    for (std::size_t t = 0; t < std::min<std::size_t>(3, d_); ++t) {
      const std::size_t j = order[t];
      const double z = p.z[s * d_ + j];
      if (std::fabs(z) < 0.5) break;
      apart += fmt::format("{}{} {} ({:+.1f} sd)", apart.empty() ? "" : ", ", p.columns[j],
                           readable(p.mean[s * d_ + j]), z);
    }
    p.apart.push_back(apart.empty() ? "close to the population" : apart);
  }
  name_segments(p);
  return p;
}

}  // namespace segstream::host::detail

namespace segstream::host {

namespace {

// A segment's standardised means and means by column name (NaN for a column the file lacks).
struct View {
  const io::SegmentProfiles& p;
  std::map<std::string, std::size_t> at;
  explicit View(const io::SegmentProfiles& profiles) : p(profiles) {
    for (std::size_t j = 0; j < p.d(); ++j) at[p.columns[j]] = j;
    // Other feature sets' names for the same behaviour.
    for (const auto& [alias, name] : {std::pair<const char*, const char*>{"monetary", "monetary_total"},
                                      {"monetary_value", "monetary_total"},
                                      {"T", "tenure_days"}})
      if (at.count(alias) != 0 && at.count(name) == 0) at[name] = at[alias];
  }
  double z(std::size_t s, const char* name) const {
    const auto it = at.find(name);
    return it == at.end() ? kNaN : p.z[s * p.d() + it->second];
  }
  double mean(std::size_t s, const char* name) const {
    const auto it = at.find(name);
    return it == at.end() ? kNaN : p.mean[s * p.d() + it->second];
  }
};

// NaN-safe comparisons: a rule whose column is missing does not apply.
bool above(double v, double t) {
  return std::isfinite(v) && v > t;
}
bool below(double v, double t) {
  return std::isfinite(v) && v < t;
}
double or0(double v) {
  return std::isfinite(v) ? v : 0.0;
}

struct Rule {
  const char* name;
  double (*score)(const View&, std::size_t);  // NaN or ≤ 0: does not fit
};

// The share of buyers: has_purchase's mean where the file has it, else 1 (every row bought).
double buyers(const View& v, std::size_t s) {
  const double b = v.mean(s, "has_purchase");
  return std::isfinite(b) ? b : 1.0;
}

const Rule kRules[] = {
    {"prospects",
     [](const View& v, std::size_t s) { return buyers(v, s) <= 0.25 ? 4.0 - buyers(v, s) : kNaN; }},
    {"champions",
     [](const View& v, std::size_t s) {
       const double zm = v.z(s, "monetary_total"), zf = v.z(s, "frequency"), zr = v.z(s, "recency_days");
       return buyers(v, s) >= 0.5 && above(zm, 0.5) && above(zf, 0.5) && below(zr, 0.0) ? (zm + zf - zr) / 2
                                                                                        : kNaN;
     }},
    {"loyal",
     [](const View& v, std::size_t s) {
       const double zf = v.z(s, "frequency"), zr = v.z(s, "recency_days"), zm = v.z(s, "monetary_total");
       return buyers(v, s) >= 0.5 && above(zf, 0.2) && below(zr, 0.0)
                  ? (zf + or0(v.z(s, "active_month_ratio")) - zr) / 2 - std::max(0.0, or0(zm) - 1.0)
                  : kNaN;
     }},
    {"new customers",
     [](const View& v, std::size_t s) {
       const double zt = v.z(s, "tenure_days");
       return buyers(v, s) >= 0.5 && below(zt, -0.7) ? 0.5 - zt : kNaN;
     }},
    {"lapsed",
     [](const View& v, std::size_t s) {
       const double zr = v.z(s, "recency_days");
       return buyers(v, s) >= 0.5 && above(zr, 0.7) && !above(v.z(s, "events_28d"), 0.0) ? zr : kNaN;
     }},
    // RFM's at risk: customers who bought again and again and have stopped (repeat buyers long unseen).
    {"at risk",
     [](const View& v, std::size_t s) {
       const double zr = v.z(s, "recency_days"), repeat = v.mean(s, "repeat_ratio");
       const bool repeaters = above(repeat, 0.5) || above(v.z(s, "frequency"), -0.3);
       return buyers(v, s) >= 0.5 && above(zr, 0.3) && repeaters
                  ? 0.5 + zr / 2 + std::max(0.0, -or0(v.z(s, "p_alive"))) / 2 +
                        0.3 * or0(v.z(s, "churn_risk"))
                  : kNaN;
     }},
    {"bargain hunters",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "discount_share");
       return above(z, 1.0) ? z : kNaN;
     }},
    {"app-first",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "app_sessions_28d");
       return above(z, 1.0) ? z : kNaN;
     }},
    {"seasonal shoppers",  // around all year, buying in the season: not customers acquired in it
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "holiday_share");
       return above(z, 1.0) && !below(v.z(s, "tenure_days"), -0.5) ? z : kNaN;
     }},
    {"category specialists",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "category_concentration");
       return above(z, 1.0) ? z : kNaN;
     }},
    {"big spenders",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "avg_order_value");
       return above(z, 1.0) ? 0.8 * z : kNaN;
     }},
    {"frequent returners",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "return_rate");
       return above(z, 1.0) ? 0.8 * z : kNaN;
     }},
    {"weekend shoppers",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "weekend_share");
       return above(z, 1.0) ? 0.7 * z : kNaN;
     }},
    {"email engaged",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "email_open_rate");
       return above(z, 1.0) ? 0.6 * z : kNaN;
     }},
    {"infrequent repeaters",
     [](const View& v, std::size_t s) {
       const double z = v.z(s, "interpurchase_mean_days");
       return buyers(v, s) >= 0.5 && above(z, 1.0) ? 0.6 * z : kNaN;
     }},
    {"repeat buyers",
     [](const View& v, std::size_t s) {
       const double r = v.mean(s, "repeat_ratio");
       return buyers(v, s) >= 0.9 && above(r, 0.5) ? 0.45 : kNaN;
     }},
    {"one-time buyers",
     [](const View& v, std::size_t s) {
       const double f = v.mean(s, "frequency");
       return buyers(v, s) >= 0.9 && below(f, 1.3) ? 0.8 : kNaN;
     }},
    {"hibernating",
     [](const View& v, std::size_t s) {
       const double zr = v.z(s, "recency_days"), zf = v.z(s, "frequency");
       // Asleep: not a segment that buys little but is busy in the app or on the site now.
       return buyers(v, s) >= 0.5 && above(zr, 0.3) && below(zf, -0.3) && !above(v.z(s, "events_28d"), 0.0)
                  ? 0.5 + zr / 4
                  : kNaN;
     }},
    {"occasional buyers",
     [](const View& v, std::size_t s) {
       return buyers(v, s) >= 0.5 && below(v.z(s, "frequency"), -0.3) ? 0.3 : kNaN;
     }},
};

}  // namespace

void name_segments(io::SegmentProfiles& p) {
  const View view(p);
  const std::size_t k = p.k() > 0 ? p.k() : p.customers.size();
  struct Fit {
    double score;
    std::size_t segment, rule;
  };
  std::vector<Fit> fits;
  constexpr std::size_t kRuleCount = sizeof(kRules) / sizeof(kRules[0]);
  for (std::size_t s = 0; s < k; ++s) {
    if (p.customers[s] == 0) continue;
    for (std::size_t r = 0; r < kRuleCount; ++r) {
      const double score = kRules[r].score(view, s);
      if (std::isfinite(score) && score > 0) fits.push_back({score, s, r});
    }
  }
  // The best fits first; ties by segment then rule, so names never depend on anything but the profiles.
  std::stable_sort(fits.begin(), fits.end(), [](const Fit& a, const Fit& b) { return a.score > b.score; });
  std::vector<std::string> name(k);
  std::vector<int> best_rule(k, -1);  // the best rule a segment fits, taken or not
  std::vector<bool> rule_taken(kRuleCount, false);
  std::vector<double> best_score(k, 0.0);
  for (const Fit& f : fits) {
    if (best_rule[f.segment] < 0) {
      best_rule[f.segment] = static_cast<int>(f.rule);
      best_score[f.segment] = f.score;
    }
    // A rule that fits far worse than the segment's best does not name it: a busy app segment whose
    // "app-first" is taken stays "app-first, …" rather than becoming "occasional buyers".
    if (!name[f.segment].empty() || rule_taken[f.rule] || f.score < 0.5 * best_score[f.segment]) continue;
    name[f.segment] = kRules[f.rule].name;
    rule_taken[f.rule] = true;
  }
  std::map<std::string, int> used;
  for (const std::string& n : name)
    if (!n.empty()) ++used[n];
  const std::size_t d = p.d();
  for (std::size_t s = 0; s < k; ++s) {
    if (!name[s].empty()) continue;
    // A segment whose best name is taken keeps it with what sets it apart from the segment holding it, in
    // words ("prospects, high churn risk"); one no rule fits is named by the column furthest from the
    // population.
    std::size_t holder = s;
    if (best_rule[s] >= 0)
      for (std::size_t o = 0; o < k; ++o)
        if (name[o] == kRules[best_rule[s]].name) holder = o;
    auto gap = [&](std::size_t j) { return p.z[s * d + j] - (holder == s ? 0.0 : p.z[holder * d + j]); };
    std::vector<std::size_t> order(d);
    for (std::size_t j = 0; j < d; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return std::fabs(gap(a)) > std::fabs(gap(b)); });
    auto phrase = [&](std::size_t j) {
      std::string words = p.columns[j];
      std::replace(words.begin(), words.end(), '_', ' ');
      return (gap(j) > 0 ? "high " : "low ") + words;
    };
    std::vector<std::string> candidates;
    if (p.customers[s] == 0) {
      candidates.emplace_back("empty");
    } else if (best_rule[s] >= 0) {
      for (std::size_t t = 0; t < std::min<std::size_t>(d, 4); ++t)
        candidates.push_back(fmt::format("{}, {}", kRules[best_rule[s]].name, phrase(order[t])));
    } else if (d == 0 || std::fabs(p.z[s * d + order[0]]) < 0.25) {
      candidates.emplace_back("typical customers");
    } else {
      for (std::size_t t = 0; t < std::min<std::size_t>(d, 4); ++t) candidates.push_back(phrase(order[t]));
    }
    std::string unique;
    for (const std::string& c : candidates)
      if (used.count(c) == 0) {
        unique = c;
        break;
      }
    for (int i = 2; unique.empty(); ++i)
      if (used.count(fmt::format("{} {}", candidates.front(), i)) == 0)
        unique = fmt::format("{} {}", candidates.front(), i);
    used[unique] = 1;
    name[s] = unique;
  }
  p.name = std::move(name);
}

}  // namespace segstream::host

namespace segstream::host::detail {

io::SegmentProfiles profile_file(const io::FeatureFileReader& r, const std::vector<int>& idx,
                                 const Transform& t, const float* weights, const float* centres, int k,
                                 kernels::Backend& backend) {
  ProfileBuilder builder(r, k, backend.threads());
  const ProfiledRows rows(r, idx, t.kind == TransformKind::kNone ? nullptr : &t, weights);
  const auto pipeline = backend.make_pipeline(static_cast<int>(idx.size()), k, kPassRows, 0);
  PassRunner runner(*pipeline);
  runner.run(
      rows, centres, {false, kernels::Accumulate::kNone, false}, nullptr,
      [&](std::uint64_t start, std::uint64_t n, const kernels::BlockPipeline::Slot& slot, const float*) {
        std::vector<float> natural = rows.take(start);
        builder.add(start, n, slot.labels, natural.data());
        rows.give_back(std::move(natural));
      });
  return builder.finish();
}

void ProfiledRows::read(std::uint64_t start, std::uint64_t n, float* out) const {
  std::vector<float> natural;
  if (!spare_.empty()) {
    natural = std::move(spare_.back());
    spare_.pop_back();
  }
  natural.resize(n * r_.columns());
  r_.read_rows(start, n, natural.data());
  select_columns(r_, idx_, start, n, natural.data(), out);
  if (t_ != nullptr) t_->apply(out, n);
  held_.emplace_back(start, std::move(natural));
}

std::vector<float> ProfiledRows::take(std::uint64_t start) const {
  SEGSTREAM_ASSERT(!held_.empty() && held_.front().first == start,
                   "the profile asked for the rows at {} out of the order they were read", start);
  std::vector<float> rows = std::move(held_.front().second);
  held_.pop_front();
  return rows;
}

void ProfiledRows::give_back(std::vector<float> rows) const {
  spare_.push_back(std::move(rows));
}

}  // namespace segstream::host::detail

namespace segstream::host {

std::string format_profiles(const io::SegmentProfiles& p) {
  std::size_t width = 4;
  for (const std::string& n : p.name) width = std::max(width, n.size());
  const bool revenue = !p.revenue_share.empty();
  std::string out = fmt::format("  {:>7}  {:<{}}  {:>12}  {:>6}  {}sets it apart\n", "segment", "name", width,
                                "customers", "share", revenue ? "revenue  " : "");
  for (std::size_t s = 0; s < p.k(); ++s) {
    const std::string count = thousands(std::to_string(p.customers[s]));
    out += fmt::format("  {:>7}  {:<{}}  {:>12}  {:>5.1f}%  {}{}\n", s, p.name[s], width, count,
                       100 * p.customer_share[s],
                       revenue ? fmt::format("{:>6.1f}%  ", 100 * p.revenue_share[s]) : "", p.apart[s]);
  }
  return out;
}

}  // namespace segstream::host
