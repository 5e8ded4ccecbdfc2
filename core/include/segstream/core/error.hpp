// Errors of segstream and the exit codes they map to.
//
// Host code throws; device code never does. A user error is one line that names the file, dataset, row or
// column and what was expected. Internal invariants use SEGSTREAM_ASSERT and map to exit code 1.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace segstream {

// The documented exit codes of the `segstream` executable (docs/CLI.md).
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,     // a bug: an internal invariant failed
  kUsage = 2,        // the command line is wrong (unknown option, bad value, output exists)
  kBadInput = 3,     // an input file is missing, unreadable or not what was expected
  kResource = 4,     // out of memory, disk full, file-size limit, output not writable, no such device
  kInterrupted = 75  // stopped by SIGINT/SIGTERM; nothing partial was left behind, the job may be requeued
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& what) : Error(ExitCode::kUsage, what) {}
};
struct InputError : Error {
  explicit InputError(const std::string& what) : Error(ExitCode::kBadInput, what) {}
};
struct ResourceError : Error {
  explicit ResourceError(const std::string& what) : Error(ExitCode::kResource, what) {}
};
struct InterruptedError : Error {
  explicit InterruptedError(const std::string& what) : Error(ExitCode::kInterrupted, what) {}
};
struct InternalError : Error {
  explicit InternalError(const std::string& what) : Error(ExitCode::kInternal, what) {}
};

// Returns what `work` returns; an InputError it throws is thrown again with "FILE: " in front. For code that
// knows rows but not the file they came from (a fit, a scoring).
template <class Work>
decltype(auto) naming_file(const std::string& file, Work&& work) {
  try {
    return work();
  } catch (const InputError& e) {
    throw InputError(file + ": " + e.what());
  }
}

}  // namespace segstream

// Argument checks at API boundaries: throws UsageError with a formatted message.
#define SEGSTREAM_EXPECTS(cond, ...)                                      \
  do {                                                                    \
    if (!(cond)) throw ::segstream::UsageError(fmt::format(__VA_ARGS__)); \
  } while (0)

// Input validation: throws InputError with a formatted message naming file, dataset, row or column.
#define SEGSTREAM_CHECK_INPUT(cond, ...)                                  \
  do {                                                                    \
    if (!(cond)) throw ::segstream::InputError(fmt::format(__VA_ARGS__)); \
  } while (0)

// Internal invariants: always checked (cheap), never for user errors.
#define SEGSTREAM_ASSERT(cond, ...)                                                                        \
  do {                                                                                                     \
    if (!(cond))                                                                                           \
      throw ::segstream::InternalError(fmt::format("internal error at {}:{}: {} ({})", __FILE__, __LINE__, \
                                                   #cond, fmt::format(__VA_ARGS__)));                      \
  } while (0)
