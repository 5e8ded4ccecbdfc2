// CUDA device queries (segstream::kernels_cuda). Plain C++: callers need no nvcc.
//
// Any error from the CUDA runtime while looking for a device — no driver (cudaErrorInsufficientDriver on
// machines without a GPU), no device — means "no GPU", never a crash.
#pragma once

#include <string>

#include "segstream/kernels/device.hpp"

namespace segstream::kernels {

// Number of usable CUDA devices; 0 when there is no driver or no device, with the runtime's reason in `why`.
int cuda_device_count(std::string* why = nullptr);

// Properties of CUDA device `ordinal` (requires cuda_device_count() > ordinal); ResourceError otherwise.
DeviceInfo cuda_device_info(int ordinal);

}  // namespace segstream::kernels
