// Run-time choice of the compute backend (`--device auto|cpu|cuda`): auto takes CUDA when the build has it
// and a device answers, the CPU otherwise, and says why.
#pragma once

#include <optional>
#include <string_view>

#include "segstream/kernels/device.hpp"

namespace segstream::host {

std::optional<kernels::DeviceKind> parse_device_kind(std::string_view name);
const char* device_kind_name(kernels::DeviceKind kind);

// Throws ResourceError for --device cuda when no CUDA device can be used (saying why).
kernels::DeviceInfo select_device(kernels::DeviceKind requested, int threads);

}  // namespace segstream::host
