// CUDA error checking shared by the backend's translation units (not installed): every runtime call and
// kernel launch goes through check().
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "segstream/core/error.hpp"

namespace segstream::kernels::cuda {

// A failed CUDA call as a ResourceError naming the call; the sticky error state is cleared first.
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw ResourceError(std::string("CUDA ") + what + ": " + cudaGetErrorName(status) + ": " +
                        cudaGetErrorString(status));
  }
}

}  // namespace segstream::kernels::cuda
