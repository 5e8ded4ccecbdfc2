// Civil-calendar arithmetic on Unix seconds (UTC, proleptic Gregorian) with no library dependencies, so
// the feature formulas can use it in device code. Parsing and formatting live in time.hpp.
#pragma once

#include <cstdint>

#include "segstream/core/hd.hpp"

namespace segstream {

inline constexpr std::int64_t kSecondsPerDay = 86400;

struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil).
SEGSTREAM_HD constexpr std::int64_t days_from_civil(CivilDate d) {
  const int y = d.year - (d.month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = d.month > 2 ? d.month - 3 : d.month + 9;
  const unsigned doy = (153 * mp + 2) / 5 + d.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

SEGSTREAM_HD constexpr CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int y = static_cast<int>(yoe) + static_cast<int>(era) * 400 + (m <= 2 ? 1 : 0);
  return CivilDate{y, m, d};
}

// Floor division of a timestamp into days since the epoch (correct for negative timestamps).
SEGSTREAM_HD constexpr std::int64_t day_of(std::int64_t unix_seconds) {
  return unix_seconds >= 0 ? unix_seconds / kSecondsPerDay
                           : -((-unix_seconds + kSecondsPerDay - 1) / kSecondsPerDay);
}

// 0 = Monday … 6 = Sunday.
SEGSTREAM_HD constexpr int weekday_of_day(std::int64_t days) {
  const std::int64_t w = (days + 3) % 7;  // 1970-01-01 was a Thursday
  return static_cast<int>(w < 0 ? w + 7 : w);
}

// Months since 1970-01 of a day (0 = January 1970).
SEGSTREAM_HD constexpr std::int64_t month_index_of_day(std::int64_t days) {
  const CivilDate d = civil_from_days(days);
  return (static_cast<std::int64_t>(d.year) - 1970) * 12 + static_cast<std::int64_t>(d.month) - 1;
}

}  // namespace segstream
