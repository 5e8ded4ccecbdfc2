#include "segstream/host/bgnbd.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "nelder_mead.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/log.hpp"

namespace segstream::host {
namespace {

struct Row {
  double x, t_x, T, weight;
};

constexpr int kDim = 4;
using Point = std::array<double, kDim>;

void check_row(std::size_t i, double x, double t_x, double T) {
  SEGSTREAM_CHECK_INPUT(std::isfinite(x) && std::isfinite(t_x) && std::isfinite(T),
                        "BG/NBD row {}: frequency {}, recency {} and T {} must be finite", i, x, t_x, T);
  SEGSTREAM_CHECK_INPUT(x >= 0 && x == std::floor(x),
                        "BG/NBD row {}: frequency {} is not a whole number >= 0", i, x);
  SEGSTREAM_CHECK_INPUT(t_x >= 0, "BG/NBD row {}: recency {} is negative", i, t_x);
  SEGSTREAM_CHECK_INPUT(T >= t_x, "BG/NBD row {}: T {} is less than recency {}", i, T, t_x);
  SEGSTREAM_CHECK_INPUT(x > 0 || t_x == 0, "BG/NBD row {}: recency {} is not 0 with frequency 0", i, t_x);
}

bool key_less(const Row& l, const Row& r) {
  if (l.x != r.x) return l.x < r.x;
  if (l.t_x != r.t_x) return l.t_x < r.t_x;
  return l.T < r.T;
}

// Sorts [first, last) and merges equal keys into one row with their summed weight; returns the new end.
Row* sort_unique(Row* first, Row* last) {
  std::sort(first, last, key_less);
  Row* out = first;
  for (Row* row = first; row != last; ++row) {
    if (out != first && !key_less(out[-1], *row)) {
      out[-1].weight += row->weight;
    } else {
      *out++ = *row;
    }
  }
  return out;
}

// Merges two sorted runs of distinct keys, adding the weights of keys in both; returns the end of out.
Row* merge_unique(const Row* a, const Row* a_end, const Row* b, const Row* b_end, Row* out) {
  while (a != a_end && b != b_end) {
    if (key_less(*a, *b)) {
      *out++ = *a++;
    } else if (key_less(*b, *a)) {
      *out++ = *b++;
    } else {
      *out = *a++;
      out++->weight += b++->weight;
    }
  }
  return std::copy(b, b_end, std::copy(a, a_end, out));
}

// Sorted distinct (x, t_x, T) with their counts: the same rows whatever the input order or thread count.
// Chunks are sorted and merged in parallel; each shrinks to its distinct rows before the merges, which is
// most of the work saved when customers share few distinct summaries.
std::vector<Row> unique_rows(std::span<const double> x, std::span<const double> t_x,
                             std::span<const double> T) {
  const std::size_t n = x.size();
  std::vector<Row> rows(n);
  for (std::size_t i = 0; i < n; ++i) {
    check_row(i, x[i], t_x[i], T[i]);
    rows[i] = Row{x[i], t_x[i], T[i], 1.0};
  }
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
  std::vector<std::pair<std::size_t, std::size_t>> runs(static_cast<std::size_t>(chunks));
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kChunk, end = std::min(n, begin + kChunk);
    Row* unique_end = sort_unique(rows.data() + begin, rows.data() + end);
    runs[static_cast<std::size_t>(c)] = {begin, static_cast<std::size_t>(unique_end - rows.data())};
  }
  std::size_t size = 0;  // close the gaps between the runs
  for (auto& [begin, end] : runs) {
    const std::size_t length = end - begin;
    if (begin != size) std::copy(rows.data() + begin, rows.data() + end, rows.data() + size);
    begin = size;
    end = size += length;
  }
  rows.resize(size);
  // Merge rounds between two buffers. A merged pair starts where its first run did and is no longer than
  // the two runs, so it never reaches the next pair.
  std::vector<Row> other(size);
  while (runs.size() > 1) {
    const auto pairs = static_cast<std::int64_t>(runs.size() / 2);
    std::vector<std::pair<std::size_t, std::size_t>> next(runs.size() - static_cast<std::size_t>(pairs));
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t k = 0; k < pairs; ++k) {
      const auto [a, a_end] = runs[2 * static_cast<std::size_t>(k)];
      const auto [b, b_end] = runs[2 * static_cast<std::size_t>(k) + 1];
      const Row* src = rows.data();
      Row* end = merge_unique(src + a, src + a_end, src + b, src + b_end, other.data() + a);
      next[static_cast<std::size_t>(k)] = {a, static_cast<std::size_t>(end - other.data())};
    }
    if (runs.size() % 2 == 1) {
      const auto [a, a_end] = runs.back();
      std::copy(rows.data() + a, rows.data() + a_end, other.data() + a);
      next.back() = runs.back();
    }
    rows.swap(other);
    runs.swap(next);
  }
  other = {};
  rows.resize(runs[0].second);  // the last run starts at 0
  rows.shrink_to_fit();
  return rows;
}

// The distinct rows as the objective reads them: frequencies and times as indices into tables of their
// distinct values, so an evaluation computes the lgamma terms once per distinct x (outside the parallel
// loop: glibc's lgamma writes the global signgam) and log(α + t) once per distinct time.
struct Data {
  std::vector<double> weight;
  std::vector<std::uint32_t> x, t_x, T;
  std::vector<double> xs, times;
};

std::vector<double> distinct(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  values.shrink_to_fit();
  SEGSTREAM_ASSERT(values.size() <= UINT32_MAX, "{} distinct values", values.size());
  return values;
}

std::uint32_t index_of(const std::vector<double>& table, double v) {
  return static_cast<std::uint32_t>(std::lower_bound(table.begin(), table.end(), v) - table.begin());
}

Data index_rows(const std::vector<Row>& rows) {
  Data d;
  std::vector<double> values;
  values.reserve(rows.size());
  for (const Row& row : rows) values.push_back(row.x);
  d.xs = distinct(std::move(values));
  values = {};
  values.reserve(2 * rows.size());
  for (const Row& row : rows) {
    values.push_back(row.t_x);
    values.push_back(row.T);
  }
  d.times = distinct(std::move(values));
  for (const Row& row : rows) {
    d.weight.push_back(row.weight);
    d.x.push_back(index_of(d.xs, row.x));
    d.t_x.push_back(index_of(d.times, row.t_x));
    d.T.push_back(index_of(d.times, row.T));
  }
  return d;
}

// Per-evaluation tables of the terms that depend on one value only.
struct Terms {
  std::vector<double> count, log_a_b, log_time;
};

// Σ weight · log-likelihood with the times `times` (d.times, or d.times scaled). Fixed blocks summed in
// order give the same bits with any number of threads.
double weighted_log_likelihood(const Data& d, const std::vector<double>& times, const kernels::BgNbdParams& p,
                               Terms& terms) {
  terms.count.resize(d.xs.size());
  terms.log_a_b.resize(d.xs.size());
  for (std::size_t j = 0; j < d.xs.size(); ++j) {
    terms.count[j] = kernels::bgnbd_log_likelihood_count_terms(p, d.xs[j]);
    terms.log_a_b[j] = d.xs[j] > 0 ? std::log(p.a) - std::log(p.b + d.xs[j] - 1) : 0.0;
  }
  terms.log_time.resize(times.size());
  const auto m = static_cast<std::int64_t>(times.size());
#pragma omp parallel for schedule(static) if (m > 65536)
  for (std::int64_t k = 0; k < m; ++k)
    terms.log_time[static_cast<std::size_t>(k)] = std::log(p.alpha + times[static_cast<std::size_t>(k)]);

  constexpr std::size_t kBlock = 4096;
  const std::size_t n = d.weight.size();
  const auto blocks = static_cast<std::int64_t>((n + kBlock - 1) / kBlock);
  std::vector<double> partial(static_cast<std::size_t>(blocks));
#pragma omp parallel for schedule(static) if (blocks > 1)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * kBlock;
    const std::size_t end = std::min(n, begin + kBlock);
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const std::uint32_t j = d.x[i];
      sum += d.weight[i] * (terms.count[j] + kernels::bgnbd_log_likelihood_time_terms_from_logs(
                                                 p, d.xs[j], terms.log_time[d.t_x[i]], terms.log_time[d.T[i]],
                                                 terms.log_a_b[j]));
    }
    partial[static_cast<std::size_t>(b)] = sum;
  }
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

kernels::BgNbdParams params_of(const Point& log_params) {
  return {std::exp(log_params[0]), std::exp(log_params[1]), std::exp(log_params[2]), std::exp(log_params[3])};
}

// lifetimes' objective: mean negative log-likelihood plus the penalty. Points where it is not finite (the
// parameters over- or underflow) count as +inf, so the simplex moves away from them.
struct Objective {
  const Data& data;
  const std::vector<double>& times;
  double total_weight;
  double penalizer;
  Terms& terms;

  double operator()(const Point& log_params) const {
    const kernels::BgNbdParams p = params_of(log_params);
    const double penalty = penalizer * (p.r * p.r + p.alpha * p.alpha + p.a * p.a + p.b * p.b);
    const double f = -weighted_log_likelihood(data, times, p, terms) / total_weight + penalty;
    return std::isfinite(f) ? f : std::numeric_limits<double>::infinity();
  }
};

}  // namespace

BgNbdFit fit_bgnbd(std::span<const double> x, std::span<const double> t_x, std::span<const double> T,
                   double penalizer) {
  SEGSTREAM_EXPECTS(x.size() == t_x.size() && x.size() == T.size(),
                    "BG/NBD needs one frequency, recency and T per customer ({}, {}, {})", x.size(),
                    t_x.size(), T.size());
  SEGSTREAM_EXPECTS(!x.empty(), "BG/NBD needs at least one customer");
  SEGSTREAM_EXPECTS(std::isfinite(penalizer) && penalizer >= 0, "BG/NBD penalizer {} must be finite and >= 0",
                    penalizer);
  const Data data = index_rows(unique_rows(x, t_x, T));

  // lifetimes scales times to a maximum T of 10: better conditioned, and the penalty applies there.
  const double max_time = data.times.back();
  const double scale = max_time > 0 ? 10.0 / max_time : 1.0;
  std::vector<double> scaled(data.times.size());
  for (std::size_t k = 0; k < scaled.size(); ++k) scaled[k] = data.times[k] * scale;
  const double total_weight = std::accumulate(data.weight.begin(), data.weight.end(), 0.0);
  Terms terms;
  const Objective objective{data, scaled, total_weight, penalizer, terms};

  // Restarts from the best point until one converges without improving it. Where the likelihood has no
  // maximum inside (customers who never drop out: a → 0, b → ∞ along a valley whose value keeps falling by
  // less than its rounding), no simplex converges in the parameters; a restart that lowers the value by
  // less than 1e-12 relative then settles it too, so such a base costs two runs, not every run's budget.
  constexpr int kMaxIterations = 20000;  // per run
  constexpr int kMaxRuns = 50;
  detail::Minimum<kDim> m = detail::nelder_mead<kDim>(objective, Point{}, 1.0, kMaxIterations);
  int iterations = m.iterations;
  bool settled = false;
  for (int run = 1; run < kMaxRuns && !settled; ++run) {
    const detail::Minimum<kDim> next = detail::nelder_mead<kDim>(objective, m.x, 0.1, kMaxIterations);
    iterations += next.iterations;
    const double gain = m.f - next.f;
    settled = next.converged ? gain < 1e-12 : gain < 1e-12 * std::max(1.0, std::fabs(m.f));
    if (next.f <= m.f) m = next;
  }
  // The fit's bound, stated: at most kMaxRuns restarts of kMaxIterations each (one evaluation a pass over
  // the distinct rows, a signal checked between evaluations).
  log_info("BG/NBD fit of {} customers ({} distinct): {} Nelder-Mead iterations, {} at most", x.size(),
           data.weight.size(), iterations, kMaxRuns * kMaxIterations);
  SEGSTREAM_CHECK_INPUT(
      settled && std::isfinite(m.f),
      "BG/NBD fit of {} customers did not converge in {} Nelder-Mead iterations (the data may "
      "not determine the parameters, e.g. without repeat purchases)",
      x.size(), iterations);

  BgNbdFit fit{};
  fit.params = params_of(m.x);
  fit.params.alpha /= scale;
  fit.log_likelihood = weighted_log_likelihood(data, data.times, fit.params, terms);
  fit.customers = x.size();
  fit.iterations = iterations;
  return fit;
}

}  // namespace segstream::host
