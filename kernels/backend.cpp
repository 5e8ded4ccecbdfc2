// make_backend: the one place that knows which backends this build has (the segstream::kernels target links
// the CPU backend and, when built, the CUDA one), so nothing above it asks.
#include "segstream/kernels/backend.hpp"

#include <omp.h>

#include <string>

#include "segstream/core/error.hpp"
#include "segstream/kernels/cpu.hpp"
#if SEGSTREAM_HAVE_CUDA
#include "segstream/kernels/cuda.hpp"
#endif

namespace segstream::kernels {

std::optional<DeviceKind> parse_device_kind(std::string_view name) {
  if (name == "auto") return DeviceKind::kAuto;
  if (name == "cpu") return DeviceKind::kCpu;
  if (name == "cuda") return DeviceKind::kCuda;
  return std::nullopt;
}

const char* device_kind_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kAuto:
      return "auto";
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
  }
  return "unknown";
}

bool cuda_backend_built() {
  return SEGSTREAM_HAVE_CUDA != 0;
}

std::unique_ptr<Backend> make_backend(const BackendOptions& options) {
  if (options.device == DeviceKind::kCpu) {
    auto backend = cpu::make_backend(options.threads);
    backend->set_note("requested with --device cpu");
    return backend;
  }
#if SEGSTREAM_HAVE_CUDA
  std::string why;
  if (cuda::device_count(&why) > 0) {
    auto backend = cuda::make_backend(0, options.threads > 0 ? options.threads : omp_get_max_threads(),
                                      options.gpu_memory);
    backend->set_note(options.device == DeviceKind::kAuto ? "auto: a CUDA device is present"
                                                          : "requested with --device cuda");
    return backend;
  }
#else
  const std::string why = "this build has no CUDA backend";
#endif
  if (options.device == DeviceKind::kCuda)
    throw ResourceError("--device cuda: no CUDA device can be used (" + why + ")");
  auto backend = cpu::make_backend(options.threads);
  backend->set_note("auto: no CUDA device (" + why + ")");
  return backend;
}

}  // namespace segstream::kernels
