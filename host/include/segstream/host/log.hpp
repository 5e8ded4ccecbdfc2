// Logs for people and for machines. Human lines on stderr by default; with --log-json every record is one
// JSON object per line (ts, level, msg and structured fields), for schedulers and log collectors.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

namespace segstream::host {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct LogConfig {
  bool json = false;
  LogLevel level = LogLevel::kInfo;
};

void configure_logging(const LogConfig& config);
const LogConfig& log_config();

// One record: `message` for people, `fields` for machines (merged into the JSON object; appended as
// key=value to the human line).
void log_record(LogLevel level, const std::string& message,
                const nlohmann::json& fields = nlohmann::json::object());

template <class... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  log_record(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  log_record(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
}

// A progress bar with rate and ETA on an interactive terminal (stderr is a TTY, human logs), shown only
// once the work has taken more than a second; silent otherwise.
class Progress {
 public:
  Progress(std::string label, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  std::string label_, unit_;
  bool enabled_;
  bool shown_ = false;
  double start_, last_draw_ = 0;
};

// "12.3M", "456.7k", "789".
std::string human_count(double value);
// "1.2 GB"
std::string human_bytes(double bytes);

}  // namespace segstream::host
