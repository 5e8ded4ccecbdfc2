// Device queries through the CUDA runtime. Without a driver (the CI and development machines) the runtime
// answers cudaErrorInsufficientDriver or cudaErrorNoDevice: both mean "no GPU" here.
#include <cuda_runtime.h>

#include <string>

#include "check.cuh"
#include "segstream/core/error.hpp"
#include "segstream/kernels/cuda.hpp"

namespace segstream::kernels::cuda {

int device_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why != nullptr) *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    (void)cudaGetLastError();  // clear the sticky error state of the runtime
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "the CUDA runtime found no device";
  return count;
}

DeviceInfo device_info(int ordinal) {
  cudaDeviceProp prop{};
  const cudaError_t status = cudaGetDeviceProperties(&prop, ordinal);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw ResourceError("CUDA device " + std::to_string(ordinal) + ": " + cudaGetErrorString(status));
  }
  DeviceInfo info;
  info.kind = DeviceKind::kCuda;
  info.name = prop.name;
  info.threads = prop.multiProcessorCount;
  info.memory_bytes = prop.totalGlobalMem;
  info.compute_capability = prop.major * 10 + prop.minor;
  return info;
}

std::uint64_t free_memory() {
  std::size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return free;
}

}  // namespace segstream::kernels::cuda
