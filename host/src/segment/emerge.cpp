// New segments for groups no previous centre covers (emerge.hpp).
#include "emerge.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "segstream/core/interrupt.hpp"

namespace segstream::host::detail {
namespace {

double distance2(const float* a, const float* b, std::size_t d) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - b[j];
    s += t * t;
  }
  return s;
}

double distance2(const float* a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t j = 0; j < b.size(); ++j) {
    const double t = static_cast<double>(a[j]) - b[j];
    s += t * t;
  }
  return s;
}

// The weight of the rows within `radius` of `at`, among `rows` (all rows when null).
double weight_within(const std::vector<float>& x, const std::vector<float>& w, const std::vector<double>& at,
                     double radius, const std::vector<std::size_t>* rows) {
  const std::size_t d = at.size();
  const double r2 = radius * radius;
  double s = 0;
  const std::size_t n = rows != nullptr ? rows->size() : w.size();
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t i = rows != nullptr ? (*rows)[t] : t;
    if (distance2(&x[i * d], at) <= r2) s += w[i];
  }
  return s;
}

// Each row's nearest centre (ties: the lower index) and its squared distance.
std::size_t nearest(const float* row, const std::vector<float>& centres, std::size_t d, double& best) {
  best = std::numeric_limits<double>::infinity();
  std::size_t label = 0;
  for (std::size_t c = 0; c < centres.size() / d; ++c) {
    const double e = distance2(row, &centres[c * d], d);
    if (e < best) {
      best = e;
      label = c;
    }
  }
  return label;
}

}  // namespace

std::vector<double> nearest_shares(const std::vector<float>& x, const std::vector<float>& w, int d,
                                   const std::vector<float>& centres) {
  const auto dd = static_cast<std::size_t>(d);
  std::vector<double> share(centres.size() / dd, 0.0);
  double total = 0, best = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    share[nearest(&x[i * dd], centres, dd, best)] += w[i];
    total += w[i];
  }
  if (total > 0)
    for (double& s : share) s /= total;
  return share;
}

int grow_centres(const std::vector<float>& x, const std::vector<float>& w, int d, std::vector<float>& centres,
                 const EmergeConfig& config) {
  const auto dd = static_cast<std::size_t>(d);
  const std::size_t n = w.size();
  double total = 0;
  for (float v : w) total += v;
  if (n == 0 || total <= 0 || centres.empty() || !(config.bandwidth > 0)) return 0;
  constexpr std::size_t kCandidates = 2048;  // density peaks are looked for among this many novel rows
  std::vector<char> tried(n, 0);             // rows around a rejected group are not tried again
  int added = 0;
  for (int round = 0; added < config.max_new && round < 4 * config.max_new + 8; ++round) {
    throw_if_interrupted();
    const std::size_t k = centres.size() / dd;
    // Each row's nearest centre, and each centre's RMS radius over its rows.
    std::vector<std::size_t> label(n);
    std::vector<double> dist2(n);
    for (std::size_t i = 0; i < n; ++i) label[i] = nearest(&x[i * dd], centres, dd, dist2[i]);
    // Each centre's radius: the weighted median distance of its rows, at most the typical radius (the
    // median of those), since a centre whose own group left holds only rows of another and its spread says
    // nothing of how far its rows may lie. Medians, so that a new group inside a cell does not widen it.
    std::vector<std::vector<std::pair<double, double>>> by_centre(k);
    for (std::size_t i = 0; i < n; ++i) by_centre[label[i]].emplace_back(dist2[i], w[i]);
    std::vector<double> radius2(k, 0.0), held;
    for (std::size_t c = 0; c < k; ++c) {
      auto& v = by_centre[c];
      if (v.empty()) continue;
      std::sort(v.begin(), v.end());
      double half = 0, acc = 0;
      for (const auto& e : v) half += e.second;
      half /= 2;
      for (const auto& e : v)
        if ((acc += e.second) >= half) {
          radius2[c] = e.first;
          break;
        }
      held.push_back(radius2[c]);
    }
    if (held.empty()) break;
    std::sort(held.begin(), held.end());
    const double typical2 = held[held.size() / 2];
    const double h = std::sqrt(typical2) * config.bandwidth;
    if (!(h > 0)) break;
    for (double& r2 : radius2) r2 = std::min(r2, typical2);
    // The novel rows: beyond twice their centre's RMS radius, not near a group already rejected.
    std::vector<std::size_t> novel;
    double novel_weight = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (!tried[i] && w[i] > 0 && dist2[i] > 4 * radius2[label[i]]) {
        novel.push_back(i);
        novel_weight += w[i];
      }
    if (novel_weight < config.min_share * total) break;
    // The densest novel row (among evenly spaced candidates), then mean shift over the novel rows.
    const std::size_t step = std::max<std::size_t>(1, novel.size() / kCandidates);
    std::size_t peak = novel.front();
    double peak_density = -1;
    for (std::size_t t = 0; t < novel.size(); t += step) {
      const std::size_t i = novel[t];
      const std::vector<double> at(x.begin() + static_cast<std::ptrdiff_t>(i * dd),
                                   x.begin() + static_cast<std::ptrdiff_t>((i + 1) * dd));
      const double density = weight_within(x, w, at, h, &novel);
      if (density > peak_density) {
        peak_density = density;
        peak = i;
      }
    }
    std::vector<double> m(x.begin() + static_cast<std::ptrdiff_t>(peak * dd),
                          x.begin() + static_cast<std::ptrdiff_t>((peak + 1) * dd));
    for (int it = 0; it < 50; ++it) {
      std::vector<double> sum(dd, 0.0);
      double ws = 0;
      for (std::size_t i : novel)
        if (distance2(&x[i * dd], m) <= h * h) {
          ws += w[i];
          for (std::size_t j = 0; j < dd; ++j) sum[j] += static_cast<double>(w[i]) * x[i * dd + j];
        }
      if (ws <= 0) break;
      double moved = 0;
      for (std::size_t j = 0; j < dd; ++j) {
        const double v = sum[j] / ws;
        moved += (v - m[j]) * (v - m[j]);
        m[j] = v;
      }
      if (moved <= 1e-8 * h * h) break;
    }
    // The tests: apart from every centre, a cell of its own, and a valley towards the nearest centre.
    std::vector<float> mf(m.begin(), m.end());
    double nearest2 = 0;
    const std::size_t near = nearest(mf.data(), centres, dd, nearest2);
    const double apart = std::max(config.min_distance, 2 * std::sqrt(radius2[near]));
    double cell = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (distance2(&x[i * dd], m) < dist2[i]) cell += w[i];
    std::vector<double> mid(dd);
    for (std::size_t j = 0; j < dd; ++j) mid[j] = (m[j] + centres[near * dd + j]) / 2;
    const double own = weight_within(x, w, m, h, nullptr);
    const bool accepted = nearest2 > apart * apart && cell >= config.min_share * total &&
                          weight_within(x, w, mid, h, nullptr) < own / 2;
    if (accepted) {
      centres.insert(centres.end(), mf.begin(), mf.end());
      ++added;
    } else {
      tried[peak] = 1;
      for (std::size_t i : novel)
        if (distance2(&x[i * dd], m) <= h * h) tried[i] = 1;
    }
  }
  return added;
}

}  // namespace segstream::host::detail
