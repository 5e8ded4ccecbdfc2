#include <omp.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "segstream/kernels/device.hpp"

namespace segstream::kernels {

DeviceInfo cpu_device_info(int threads) {
  DeviceInfo info;
  info.kind = DeviceKind::kCpu;
  info.threads = threads > 0 ? threads : omp_get_max_threads();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) info.name = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  }
  if (info.name.empty()) info.name = "CPU";
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0)
    info.memory_bytes = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  return info;
}

}  // namespace segstream::kernels
