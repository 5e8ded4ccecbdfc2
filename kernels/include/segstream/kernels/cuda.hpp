// The CUDA backend of the compute contract (backend.hpp). Plain C++: callers need no nvcc. Defined only when
// the build has the CUDA backend (kernels::cuda_backend_built()); make_backend() is the usual way in.
//
// Any error from the CUDA runtime while looking for a device (no driver: cudaErrorInsufficientDriver on
// machines without a GPU; no device) means "no GPU", never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "segstream/kernels/backend.hpp"

namespace segstream::kernels::cuda {

// Usable CUDA devices; 0 when there is no driver or no device, with the runtime's reason in `why`.
int device_count(std::string* why = nullptr);

// Properties of device `ordinal` (ResourceError when it cannot be asked).
DeviceInfo device_info(int ordinal);

// Free memory of the current device now (ResourceError when it cannot be asked).
std::uint64_t free_memory();

// The backend on device `ordinal`, with `threads` CPU threads for host work and a device memory budget
// (0 = 80% of the free memory).
std::unique_ptr<Backend> make_backend(int ordinal, int threads, std::uint64_t gpu_memory);

}  // namespace segstream::kernels::cuda
