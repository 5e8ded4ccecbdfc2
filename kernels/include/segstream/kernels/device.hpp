// The compute devices segstream can run on. The CPU backend (OpenMP) is always built and is the oracle; the
// CUDA backend (cuda_device.hpp) exists when the build found nvcc. The driver picks one at run time
// (host/device_select.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace segstream::kernels {

enum class DeviceKind : std::uint8_t { kAuto, kCpu, kCuda };

struct DeviceInfo {
  DeviceKind kind = DeviceKind::kCpu;
  std::string name;                // CPU model or GPU name
  int threads = 1;                 // CPU: OpenMP threads; CUDA: multiprocessors
  std::uint64_t memory_bytes = 0;  // host RAM or device memory
  int compute_capability = 0;      // CUDA only: major * 10 + minor
  std::string note;                // why auto chose this device, or why CUDA is unavailable
};

// The CPU as the OpenMP backend sees it with `threads` threads (0 = OpenMP's default).
DeviceInfo cpu_device_info(int threads);

}  // namespace segstream::kernels
