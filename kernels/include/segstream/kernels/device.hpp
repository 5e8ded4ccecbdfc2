// The compute devices segstream can run on. The CPU backend (OpenMP) is always built and is the oracle; the
// CUDA backend exists when the build found nvcc. make_backend (backend.hpp) picks one at run time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace segstream::kernels {

enum class DeviceKind : std::uint8_t { kAuto, kCpu, kCuda };

// "auto" | "cpu" | "cuda"; nullopt otherwise.
std::optional<DeviceKind> parse_device_kind(std::string_view name);
const char* device_kind_name(DeviceKind kind);

struct DeviceInfo {
  DeviceKind kind = DeviceKind::kCpu;
  std::string name;                // CPU model or GPU name
  int threads = 1;                 // CPU: OpenMP threads; CUDA: multiprocessors
  std::uint64_t memory_bytes = 0;  // host RAM or device memory
  int compute_capability = 0;      // CUDA only: major * 10 + minor
  std::string note;                // why this device was chosen, or why CUDA is unavailable
};

// The CPU as the OpenMP backend sees it with `threads` threads (0 = OpenMP's default).
DeviceInfo cpu_device_info(int threads);

}  // namespace segstream::kernels
