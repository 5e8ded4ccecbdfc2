#include "segstream/host/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "segstream/core/time.hpp"

namespace segstream::host {
namespace {
LogConfig g_config;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::int64_t secs = ms / 1000;
  std::string t = format_iso_time(secs - secs % 86400);
  const std::int64_t rem = secs % 86400;
  return fmt::format("{}T{:02}:{:02}:{:02}.{:03}Z", t, rem / 3600, rem / 60 % 60, rem % 60, ms % 1000);
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void configure_logging(const LogConfig& config) {
  g_config = config;
}
const LogConfig& log_config() {
  return g_config;
}

void log_record(LogLevel level, const std::string& message, const nlohmann::json& fields) {
  if (level < g_config.level) return;
  std::string line;
  if (g_config.json) {
    nlohmann::json record = {{"ts", utc_timestamp()}, {"level", level_name(level)}, {"msg", message}};
    if (fields.is_object())
      for (const auto& [key, value] : fields.items()) record[key] = value;
    line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = "segstream: ";
    if (level == LogLevel::kError) line += "error: ";
    if (level == LogLevel::kWarn) line += "warning: ";
    line += message;
  }
  line += '\n';
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

std::string human_count(double v) {
  const double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string human_bytes(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

Progress::Progress(std::string label, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      enabled_(!g_config.json && ::isatty(STDERR_FILENO) == 1),
      start_(now_seconds()) {}

Progress::~Progress() {
  finish();
}

void Progress::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_) return;
  const double now = now_seconds();
  const double elapsed = now - start_;
  if (elapsed < 1.0 || (now - last_draw_ < 0.1 && done < total)) return;
  last_draw_ = now;
  shown_ = true;
  const double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int width = 28;
  const int filled = static_cast<int>(fraction * width);
  const double rate = static_cast<double>(done) / elapsed;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, ' ');
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %s/%s %s  %s/s  ETA %.0fs \x1b[K", label_.c_str(), bar.c_str(),
               fraction * 100.0, human_count(static_cast<double>(done)).c_str(),
               human_count(static_cast<double>(total)).c_str(), unit_.c_str(), human_count(rate).c_str(),
               eta);
  std::fflush(stderr);
}

void Progress::finish() {
  if (shown_) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    shown_ = false;
  }
}

}  // namespace segstream::host
