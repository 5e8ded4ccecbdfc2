// The BTYD summary of the `lifetimes` and pymc-marketing libraries (summary_data_from_transaction_data and
// calibration_and_holdout_data), per customer, from that customer's purchases in time order
// (FEATURES.md, "lifetimes mode"). Host and device code share these functions (SEGSTREAM_HD).
//
// Purchases in the same period merge into one and their amounts add up. With n distinct periods, the
// first f and the last l (period = timestamp floored to the unit; the multiplier divides every duration):
//   frequency = n − 1;  recency = (l − f) / multiplier;  T = (period(t0) − f) / multiplier;
//   monetary_value = mean over the repeat periods d ≠ f of the period's summed amount, 0 when n = 1.
// With a calibration end c < observation end t0: the summary above is computed from purchases ≤ c with
// T measured to c; frequency_holdout = distinct periods with purchases in (c, t0];
// monetary_value_holdout = mean amount of those purchases' rows (not of period sums, as lifetimes does);
// duration_holdout = (period(t0) − period(c)) / multiplier. Customers whose first purchase is after c are
// left out.
#pragma once

#include <cstdint>

#include "segstream/core/hd.hpp"

namespace segstream::kernels {

struct LifetimesParams {
  std::int64_t unit_seconds = 86400;  // the period: a day by default
  double multiplier = 1.0;            // durations are divided by it (7 with day periods gives weeks)
  std::int64_t observation_end = 0;   // t0, Unix seconds: later purchases are ignored
  bool holdout = false;               // split at calibration_end
  std::int64_t calibration_end = 0;   // c, Unix seconds
};

// Floor division of a timestamp into its period index.
SEGSTREAM_HD std::int64_t period_of(std::int64_t ts, std::int64_t unit_seconds) {
  return ts >= 0 ? ts / unit_seconds : -((-ts + unit_seconds - 1) / unit_seconds);
}

// One customer's running summary. Feed purchases in non-decreasing time order with add(); read with the
// accessors. Plain data: the state of many customers lives in arrays on host or device.
struct LifetimesAccumulator {
  std::int64_t first_period = 0, last_period = 0;
  std::uint32_t periods = 0;    // distinct calibration periods with purchases
  double first_period_sum = 0;  // amount summed over the first period
  double total_sum = 0;         // amount summed over all calibration purchases
  std::int64_t last_holdout_period = 0;
  std::uint32_t holdout_periods = 0;
  std::uint32_t holdout_rows = 0;
  double holdout_sum = 0;

  // Returns false when the purchase lies after the observation end (ignored).
  SEGSTREAM_HD bool add(std::int64_t ts, double amount, const LifetimesParams& p) {
    if (ts > p.observation_end) return false;
    const std::int64_t period = period_of(ts, p.unit_seconds);
    if (p.holdout && ts > p.calibration_end) {
      if (holdout_periods == 0 || period != last_holdout_period) ++holdout_periods;
      last_holdout_period = period;
      ++holdout_rows;
      holdout_sum += amount;
      return true;
    }
    if (periods == 0) {
      first_period = period;
      ++periods;
    } else if (period != last_period) {
      ++periods;
    }
    if (period == first_period) first_period_sum += amount;
    last_period = period;
    total_sum += amount;
    return true;
  }

  // A customer with no purchase in the calibration window has no summary.
  SEGSTREAM_HD bool has_summary() const { return periods > 0; }
  SEGSTREAM_HD double frequency() const { return periods > 0 ? static_cast<double>(periods - 1) : 0.0; }
  SEGSTREAM_HD double recency(const LifetimesParams& p) const {
    return periods > 0 ? static_cast<double>(last_period - first_period) / p.multiplier : 0.0;
  }
  SEGSTREAM_HD double age(const LifetimesParams& p) const {  // T
    const std::int64_t end = period_of(p.holdout ? p.calibration_end : p.observation_end, p.unit_seconds);
    return static_cast<double>(end - first_period) / p.multiplier;
  }
  SEGSTREAM_HD double monetary_value() const {
    return periods > 1 ? (total_sum - first_period_sum) / static_cast<double>(periods - 1) : 0.0;
  }
  SEGSTREAM_HD double frequency_holdout() const { return static_cast<double>(holdout_periods); }
  SEGSTREAM_HD double monetary_value_holdout() const {
    return holdout_rows > 0 ? holdout_sum / static_cast<double>(holdout_rows) : 0.0;
  }
  SEGSTREAM_HD static double duration_holdout(const LifetimesParams& p) {
    return static_cast<double>(period_of(p.observation_end, p.unit_seconds) -
                               period_of(p.calibration_end, p.unit_seconds)) /
           p.multiplier;
  }
};

}  // namespace segstream::kernels
