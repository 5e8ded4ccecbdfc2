// The per-element math of k-means, written once for both backends (KMEANS.md, ARCHITECTURE.md "compute
// contract"): squared distances summed in a fixed order, nearest centre with ties to the smallest index,
// and per-cluster sums in integer fixed point so that their value does not depend on the order of the
// additions (threads, chunks, devices).
#pragma once

#include <cmath>
#include <cstdint>

#include "segstream/core/hd.hpp"

namespace segstream::kernels {

// Σ_j (x_j − c_j)² in float, j ascending.
SEGSTREAM_HD float squared_distance(const float* x, const float* c, int d) {
  float s = 0;
  for (int j = 0; j < d; ++j) {
    const float t = x[j] - c[j];
    s += t * t;
  }
  return s;
}

struct Nearest {
  std::int32_t label = 0;
  float distance2 = INFINITY;  // to the nearest centre
  float second2 = INFINITY;    // to the second nearest (infinity when k = 1)

  // Centre c at squared distance d2; offered in ascending c, ties keep the smallest index.
  SEGSTREAM_HD void offer(int c, float d2) {
    if (d2 < distance2) {
      second2 = distance2;
      distance2 = d2;
      label = c;
    } else if (d2 < second2) {
      second2 = d2;
    }
  }
};

// The nearest of k centres (row-major k × d); ties go to the smallest index.
SEGSTREAM_HD Nearest nearest_centre(const float* x, const float* centres, int k, int d) {
  Nearest n;
  for (int c = 0; c < k; ++c) n.offer(c, squared_distance(x, centres + static_cast<std::int64_t>(c) * d, d));
  return n;
}

// Fixed point for cluster sums: value × 2^32 rounded to an int64, summed in 128 bits (exact for any
// order; |w·x| < 2^31 per term and up to 2^64 terms). Values outside are clamped by the caller's checks.
inline constexpr double kFixedScale = 4294967296.0;  // 2^32

SEGSTREAM_HD std::int64_t to_fixed(double v) {
  return static_cast<std::int64_t>(llround(v * kFixedScale));
}

}  // namespace segstream::kernels
