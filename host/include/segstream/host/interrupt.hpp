// The signal handlers of the executable: SIGINT and SIGTERM are recorded for core/interrupt.hpp's
// throw_if_interrupted(), which every long loop calls; SIGXFSZ is ignored so that a file-size limit makes a
// write fail (and the partial output be removed) instead of killing the process.
#pragma once

#include "segstream/core/interrupt.hpp"

namespace segstream::host {

void install_interrupt_handlers();

}  // namespace segstream::host
