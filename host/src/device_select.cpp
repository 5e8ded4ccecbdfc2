#include "segstream/host/device_select.hpp"

#include <string>

#include "segstream/core/error.hpp"
#if defined(SEGSTREAM_HAVE_CUDA)
#include "segstream/kernels/cuda_device.hpp"
#endif

namespace segstream::host {

using kernels::DeviceInfo;
using kernels::DeviceKind;

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

DeviceInfo select_device(DeviceKind requested, int threads) {
  if (requested == DeviceKind::kCpu) {
    DeviceInfo info = kernels::cpu_device_info(threads);
    info.note = "requested with --device cpu";
    return info;
  }
#if defined(SEGSTREAM_HAVE_CUDA)
  std::string why;
  if (kernels::cuda_device_count(&why) > 0) {
    DeviceInfo info = kernels::cuda_device_info(0);
    info.note =
        requested == DeviceKind::kAuto ? "auto: a CUDA device is present" : "requested with --device cuda";
    return info;
  }
#else
  const std::string why = "this build has no CUDA backend";
#endif
  if (requested == DeviceKind::kCuda)
    throw ResourceError("--device cuda: no CUDA device can be used (" + why + ")");
  DeviceInfo info = kernels::cpu_device_info(threads);
  info.note = "auto: no CUDA device (" + why + ")";
  return info;
}

}  // namespace segstream::host
