#include "cli.hpp"

#include <omp.h>

#include <fmt/format.h>

#include "segstream/host/log.hpp"

namespace segstream::app {

std::unique_ptr<kernels::Backend> make_backend(const host::GlobalOptions& g, const std::string& gpu_memory) {
  auto backend = kernels::make_backend(host::backend_options(g, gpu_memory));
  const kernels::DeviceInfo& device = backend->device();
  host::log_record(
      host::LogLevel::kDebug,
      fmt::format("device: {} ({}, {} {}) — {}", kernels::device_kind_name(device.kind), device.name,
                  device.threads, device.kind == kernels::DeviceKind::kCuda ? "SMs" : "threads", device.note),
      {{"device", kernels::device_kind_name(device.kind)}, {"device_name", device.name}});
  return backend;
}

int cpu_threads(const host::GlobalOptions& g) {
  return g.threads > 0 ? g.threads : omp_get_max_threads();
}

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace segstream::app
