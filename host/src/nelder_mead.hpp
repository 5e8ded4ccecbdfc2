// Nelder–Mead minimisation of a function of Dim variables, shared by the BG/NBD and Gamma-Gamma fits:
// deterministic (ties keep the vertex order), and it checks for an interrupt between evaluations.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "segstream/core/interrupt.hpp"

namespace segstream::host::detail {

template <int Dim>
struct Minimum {
  std::array<double, Dim> x;
  double f;
  int iterations;
  bool converged;
};

// Nelder–Mead with the standard coefficients (reflect 1, expand 2, contract 1/2, shrink 1/2), from the
// simplex x0, x0 + step · e_i. Converged when the vertices agree to 1e-10 in every coordinate and their
// values to 1e-15 relative, the resolution of the summed likelihood.
template <int Dim, class F>
Minimum<Dim> nelder_mead(const F& f, const std::array<double, Dim>& x0, double step, int max_iterations) {
  constexpr int kDim = Dim;
  using Point = std::array<double, Dim>;
  std::array<Point, kDim + 1> v;
  std::array<double, kDim + 1> fv;
  for (int i = 0; i <= kDim; ++i) {
    v[i] = x0;
    if (i > 0) v[i][i - 1] += step;
    fv[i] = f(v[i]);
  }
  std::array<int, kDim + 1> order;
  const auto combine = [](const Point& c, const Point& w, double t) {  // c + t · (w − c)
    Point p;
    for (int d = 0; d < kDim; ++d) p[d] = c[d] + t * (w[d] - c[d]);
    return p;
  };
  int it = 0;
  double checkpoint = std::numeric_limits<double>::infinity();  // the best value kStall iterations ago
  constexpr int kStall = 1000;
  for (;; ++it) {
    throw_if_interrupted();  // an evaluation is a pass over the distinct rows: check between them
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int l, int r) { return fv[l] < fv[r]; });
    const int best = order[0], worst = order[kDim], second = order[kDim - 1];
    // Stalled: the best value fell by less than 1e-12 relative over the last kStall iterations (a valley
    // towards a maximum at infinity), so more iterations only creep along it.
    if (it > 0 && it % kStall == 0) {
      if (checkpoint - fv[best] < 1e-12 * std::max(1.0, std::fabs(fv[best])))
        return {v[best], fv[best], it, false};
      checkpoint = fv[best];
    }
    double dx = 0, df = 0;
    for (int i = 0; i <= kDim; ++i) {
      df = std::max(df, std::fabs(fv[i] - fv[best]));
      for (int d = 0; d < kDim; ++d) dx = std::max(dx, std::fabs(v[i][d] - v[best][d]));
    }
    if (dx <= 1e-10 && df <= 1e-15 * std::max(1.0, std::fabs(fv[best]))) return {v[best], fv[best], it, true};
    if (it == max_iterations) return {v[best], fv[best], it, false};

    Point c{};
    for (int i = 0; i < kDim; ++i)
      for (int d = 0; d < kDim; ++d) c[d] += v[order[i]][d] / kDim;
    const Point xr = combine(c, v[worst], -1.0);
    const double fr = f(xr);
    if (fr < fv[best]) {
      const Point xe = combine(c, v[worst], -2.0);
      const double fe = f(xe);
      if (fe < fr) {
        v[worst] = xe, fv[worst] = fe;
      } else {
        v[worst] = xr, fv[worst] = fr;
      }
      continue;
    }
    if (fr < fv[second]) {
      v[worst] = xr, fv[worst] = fr;
      continue;
    }
    // Contract outside when the reflection beat the worst vertex, inside otherwise.
    const bool outside = fr < fv[worst];
    const Point xc = combine(c, v[worst], outside ? -0.5 : 0.5);
    const double fc = f(xc);
    if (outside ? fc <= fr : fc < fv[worst]) {
      v[worst] = xc, fv[worst] = fc;
      continue;
    }
    for (int i = 0; i <= kDim; ++i) {
      if (i == best) continue;
      v[i] = combine(v[best], v[i], 0.5);
      fv[i] = f(v[i]);
    }
  }
}

}  // namespace segstream::host::detail
