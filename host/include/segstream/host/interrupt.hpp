// Cooperative interruption. SIGINT and SIGTERM set a flag; long loops call throw_if_interrupted() between
// batches, which unwinds the stack (so atomic outputs remove their temporary files) and exits with 75.
#pragma once

namespace segstream::host {

void install_interrupt_handlers();
bool interrupt_requested();
void throw_if_interrupted();  // InterruptedError when a signal arrived

}  // namespace segstream::host
