// Classic RFM values per customer from that customer's purchases in time order (FEATURES.md, "rfm mode"):
//   recency_days = whole days from the last purchase to the reference time t_ref (floored);
//   frequency    = distinct orders when the events carry order ids, else distinct purchase periods;
//   monetary     = the purchases' summed amount (returns are not subtracted).
// Host and device code share these functions (SEGSTREAM_HD).
#pragma once

#include <cstdint>

#include "segstream/core/hd.hpp"
#include "segstream/kernels/lifetimes.hpp"

namespace segstream::kernels {

struct RfmAccumulator {
  std::int64_t last_ts = 0;
  std::int64_t last_period = 0;
  std::uint32_t purchases = 0;
  std::uint32_t periods = 0;  // distinct purchase periods
  double monetary = 0;

  // Purchases must come in non-decreasing time order.
  SEGSTREAM_HD void add(std::int64_t ts, double amount, std::int64_t unit_seconds) {
    const std::int64_t period = period_of(ts, unit_seconds);
    if (purchases == 0 || period != last_period) ++periods;
    last_period = period;
    last_ts = ts;
    ++purchases;
    monetary += amount;
  }

  SEGSTREAM_HD double recency_days(std::int64_t t_ref) const {
    const std::int64_t seconds = t_ref - last_ts;
    return static_cast<double>(seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400));
  }
};

}  // namespace segstream::kernels
