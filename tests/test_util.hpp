// Shared helpers of the test suite: scratch directories and running the segstream executable.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/io/events.hpp"

namespace segstream::test {

// k well-separated Gaussian blobs in d dimensions (row i belongs to blob i mod k), and their truth.
struct Blobs {
  std::vector<float> x;
  std::vector<std::int32_t> truth;
};
inline Blobs blobs(std::uint64_t rows, int d, int k, std::uint64_t seed) {
  Blobs b;
  for (std::uint64_t i = 0; i < rows; ++i) {
    RandomStream rng(seed, RandomPurpose::kMixtureRow, i);
    const auto c = static_cast<std::int32_t>(i % static_cast<std::uint64_t>(k));
    b.truth.push_back(c);
    for (int j = 0; j < d; ++j)
      b.x.push_back(static_cast<float>((j == c % d ? 20.0 * (1 + c / d) : 0.0) + rng.normal()));
  }
  return b;
}

// A file of tests/data, the public golden data kept in the repository (tests/data/README.md). A missing file
// throws, so the test fails instead of skipping.
inline std::filesystem::path golden_data(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(SEGSTREAM_TEST_DATA) / name;
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error("golden data file " + path.string() + " is missing (see tests/data/README.md)");
  return path;
}

// A whole (small) events.h5 in memory, column by column.
struct EventTable {
  std::vector<std::uint64_t> customer_id, order_id;
  std::vector<std::int64_t> timestamp;
  std::vector<std::uint8_t> event_type, channel;
  std::vector<float> amount, discount;
  std::vector<std::uint16_t> category;
  bool has_order_id = false;
  bool operator==(const EventTable&) const = default;
};

inline EventTable read_event_table(const std::filesystem::path& path) {
  io::EventFileReader r(path);
  EventTable t;
  const auto n = r.rows();
  t.customer_id.resize(n);
  t.timestamp.resize(n);
  t.event_type.resize(n);
  t.channel.resize(n);
  t.amount.resize(n);
  t.discount.resize(n);
  t.category.resize(n);
  t.has_order_id = r.has_order_id();
  if (t.has_order_id) t.order_id.resize(n);
  r.read(0, n,
         io::EventColumns{t.customer_id.data(), t.timestamp.data(), t.event_type.data(), t.amount.data(),
                          t.category.data(), t.channel.data(), t.discount.data(),
                          t.has_order_id ? t.order_id.data() : nullptr});
  return t;
}

// The message of the InputError that fn() throws, or a marker that fails any expectation on it.
template <class Fn>
std::string input_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "segstream-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Names of the entries in the directory (to check that no temporary or partial file was left behind).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    return out;
  }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line and captures its output (with stderr unless told otherwise) and exit status.
inline CommandResult run_command(const std::string& command, bool merge_stderr = true) {
  CommandResult result;
  FILE* pipe = ::popen((merge_stderr ? command + " 2>&1" : command).c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) result.output += buf.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// A command run until its stderr shows `marker`, then sent `signal`: how it ended, and how long after the
// signal. The command's stdout is discarded; its stderr is kept in `output`.
struct Signalled {
  bool marker_seen = false;
  int exit_code = -1;
  double seconds_after_signal = -1;
  std::string output;
};
inline Signalled run_and_signal(const std::string& command, const std::string& marker, int signal) {
  Signalled s;
  int fds[2];
  if (::pipe(fds) != 0) return s;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  FILE* err = ::fdopen(fds[0], "r");
  std::array<char, 4096> buf{};
  std::chrono::steady_clock::time_point signalled;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), err) != nullptr) {
    s.output += buf.data();
    if (!s.marker_seen && s.output.find(marker) != std::string::npos) {
      s.marker_seen = true;
      ::kill(pid, signal);
      signalled = std::chrono::steady_clock::now();
    }
  }
  ::fclose(err);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (s.marker_seen)
    s.seconds_after_signal =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return s;
}

inline bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  return std::equal(std::istreambuf_iterator<char>(fa), std::istreambuf_iterator<char>(),
                    std::istreambuf_iterator<char>(fb), std::istreambuf_iterator<char>());
}

// Adjusted Rand index of two labelings (1 = the same partition).
inline double adjusted_rand(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  std::map<std::pair<int, int>, double> n;
  std::map<int, double> ra, rb;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++n[{a[i], b[i]}];
    ++ra[a[i]];
    ++rb[b[i]];
  }
  auto pairs = [](double v) { return v * (v - 1) / 2; };
  double index = 0, sa = 0, sb = 0;
  for (const auto& [key, v] : n) index += pairs(v);
  for (const auto& [key, v] : ra) sa += pairs(v);
  for (const auto& [key, v] : rb) sb += pairs(v);
  const double expected = sa * sb / pairs(static_cast<double>(a.size()));
  return (index - expected) / ((sa + sb) / 2 - expected);
}

}  // namespace segstream::test
