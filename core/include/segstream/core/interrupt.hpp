// Cooperative interruption. A signal handler (the app installs it for SIGINT and SIGTERM) records the signal
// with request_interrupt(); every long loop, in any layer, calls throw_if_interrupted() between units of
// work (a block of rows, a mini-batch step, a batch of customers), which unwinds the stack so that atomic
// outputs remove their temporary files, and the executable exits with 75.
//
// The flag is one lock-free atomic, so setting it is async-signal-safe and reading it costs a load.
#pragma once

#include <atomic>
#include <csignal>

#include "segstream/core/error.hpp"

namespace segstream {

namespace detail {
inline std::atomic<int> g_interrupt_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the interrupt flag must be safe to set in a handler");
}  // namespace detail

// Records that `signal` arrived (callable from a signal handler).
inline void request_interrupt(int signal) noexcept {
  detail::g_interrupt_signal.store(signal, std::memory_order_relaxed);
}

// Forgets a recorded signal (tests that interrupt a run and continue).
inline void clear_interrupt() noexcept {
  detail::g_interrupt_signal.store(0, std::memory_order_relaxed);
}

inline bool interrupt_requested() noexcept {
  return detail::g_interrupt_signal.load(std::memory_order_relaxed) != 0;
}

// InterruptedError (exit code 75) when a signal arrived.
inline void throw_if_interrupted() {
  if (const int sig = detail::g_interrupt_signal.load(std::memory_order_relaxed); sig != 0)
    throw InterruptedError(sig == SIGINT    ? "interrupted (SIGINT); no output was written"
                           : sig == SIGTERM ? "terminated (SIGTERM); no output was written"
                                            : "stopped by a signal; no output was written");
}

}  // namespace segstream
