#include "segstream/host/interrupt.hpp"

#include <csignal>

namespace segstream::host {
namespace {
extern "C" void on_signal(int sig) {
  request_interrupt(sig);
}
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // With a file-size limit (ulimit -f) the kernel would kill us with SIGXFSZ mid-write; ignored, the write
  // fails with EFBIG instead and the error path removes the partial output.
  std::signal(SIGXFSZ, SIG_IGN);
}

}  // namespace segstream::host
