// Calendar arithmetic on Unix seconds (UTC), proleptic Gregorian. Timestamps in segstream files are int64
// Unix seconds; dates on the command line are ISO `YYYY-MM-DD` (midnight UTC).
#pragma once

#include <fmt/format.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "segstream/core/civil.hpp"

namespace segstream {

namespace detail {
inline bool parse_fixed_int(std::string_view text, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > text.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  out = v;
  return true;
}
}  // namespace detail

// Parses `YYYY-MM-DD`, optionally followed by `THH:MM:SS` or ` HH:MM:SS` and an optional `Z`, into Unix
// seconds (UTC). Returns nullopt for anything else, including impossible dates such as 2025-02-30.
inline std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() < 10 || text[4] != '-' || text[7] != '-' || !detail::parse_fixed_int(text, 0, 4, y) ||
      !detail::parse_fixed_int(text, 5, 2, m) || !detail::parse_fixed_int(text, 8, 2, d))
    return std::nullopt;
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  const CivilDate date{y, static_cast<unsigned>(m), static_cast<unsigned>(d)};
  const std::int64_t days = days_from_civil(date);
  const CivilDate back = civil_from_days(days);
  if (back.month != date.month || back.day != date.day) return std::nullopt;
  std::int64_t seconds = days * kSecondsPerDay;
  std::string_view rest = text.substr(10);
  if (rest.empty() || rest == "Z") return seconds;
  int hh = 0, mm = 0, ss = 0;
  if (rest.size() < 9 || (rest[0] != 'T' && rest[0] != ' ') || rest[3] != ':' || rest[6] != ':' ||
      !detail::parse_fixed_int(rest, 1, 2, hh) || !detail::parse_fixed_int(rest, 4, 2, mm) ||
      !detail::parse_fixed_int(rest, 7, 2, ss) || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  rest = rest.substr(9);
  if (!rest.empty() && rest != "Z") return std::nullopt;
  return seconds + hh * 3600 + mm * 60 + ss;
}

// The times segstream reads and writes: from 1900-01-01 up to, not including, 2200-01-01 (UTC). Times outside
// it, in a file or on the command line, are refused: they are corrupt or mistyped (a year 9999), and within
// it every difference of two times and every count of days or weeks is far from int64 and double limits.
inline constexpr std::int64_t kMinTime = -2208988800;  // 1900-01-01T00:00:00Z
inline constexpr std::int64_t kMaxTime = 7258118400;   // 2200-01-01T00:00:00Z
inline constexpr const char* kTimeRangeText = "1900-01-01 to 2199-12-31";
inline bool time_in_range(std::int64_t t) {
  return t >= kMinTime && t < kMaxTime;
}

// Formats Unix seconds as `YYYY-MM-DD` at midnight and `YYYY-MM-DDTHH:MM:SSZ` otherwise.
inline std::string format_iso_time(std::int64_t unix_seconds) {
  const std::int64_t days = day_of(unix_seconds);
  const std::int64_t rem = unix_seconds - days * kSecondsPerDay;
  const CivilDate d = civil_from_days(days);
  if (rem == 0) return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", d.year, d.month, d.day, rem / 3600,
                     rem / 60 % 60, rem % 60);
}

}  // namespace segstream
