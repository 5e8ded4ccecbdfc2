// The per-element math of k-means, written once for both backends (KMEANS.md, ARCHITECTURE.md "compute
// contract"): squared distances summed in a fixed order, nearest centre with ties to the smallest index,
// and per-cluster sums in integer fixed point so that their value does not depend on the order of the
// additions (threads, chunks, devices).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
#include <emmintrin.h>
#endif

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

// The inertia of a block of rows is summed in double, in row order within each run of kInertiaRows rows,
// then run by run: the same bits on every backend and for any number of threads.
inline constexpr std::uint64_t kInertiaRows = 256;

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

// Fixed point for cluster sums: value × 2^32 rounded to the nearest int64, ties to even, summed in 128 bits
// (exact for any order; up to 2^64 terms). Rounding to nearest even is the conversion both backends do in
// one instruction (cvtsd2si under the default rounding mode; __double2ll_rn on CUDA). A term beyond ±2^31
// (a raw, unscaled column times its weight) saturates at ±(2^63 − 1024) on every backend alike, rather than
// converting out of range, which x86 and CUDA resolve differently. Callers pass finite values.
inline constexpr double kFixedScale = 4294967296.0;           // 2^32
inline constexpr double kFixedLimit = 9223372036854774784.0;  // 2^63 − 1024, the largest double below 2^63

SEGSTREAM_HD std::int64_t to_fixed(double v) {
  double t = v * kFixedScale;
  t = t > kFixedLimit ? kFixedLimit : (t < -kFixedLimit ? -kFixedLimit : t);
#if defined(__CUDA_ARCH__)
  return __double2ll_rn(t);
#elif defined(__x86_64__)
  return _mm_cvtsd_si64(_mm_set_sd(t));  // the default MXCSR mode: nearest, ties to even
#else
  return std::llrint(t);
#endif
}

}  // namespace segstream::kernels
