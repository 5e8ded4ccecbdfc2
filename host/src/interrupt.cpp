#include "segstream/host/interrupt.hpp"

#include <atomic>
#include <csignal>

#include "segstream/core/error.hpp"

namespace segstream::host {
namespace {
std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) {
  g_signal.store(sig);
}
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // With a file-size limit (ulimit -f) the kernel would kill us with SIGXFSZ mid-write; ignored, the write
  // fails with EFBIG instead and the error path removes the partial output.
  std::signal(SIGXFSZ, SIG_IGN);
}

bool interrupt_requested() {
  return g_signal.load() != 0;
}

void throw_if_interrupted() {
  if (const int sig = g_signal.load(); sig != 0)
    throw InterruptedError(sig == SIGINT ? "interrupted (SIGINT); no output was written"
                                         : "terminated (SIGTERM); no output was written");
}

}  // namespace segstream::host
