// CUDA device discovery on a machine with a GPU (label `gpu`; skipped cleanly without one).
#include <gtest/gtest.h>

#include "segstream/host/device_select.hpp"
#include "segstream/kernels/cuda_device.hpp"

namespace segstream {
namespace {

TEST(CudaDevice, FoundAndDescribed) {
  std::string why;
  if (kernels::cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  const kernels::DeviceInfo info = kernels::cuda_device_info(0);
  EXPECT_EQ(info.kind, kernels::DeviceKind::kCuda);
  EXPECT_FALSE(info.name.empty());
  EXPECT_GT(info.threads, 0);
  EXPECT_GT(info.memory_bytes, std::uint64_t{1} << 30);
  EXPECT_GE(info.compute_capability, 70);
  EXPECT_EQ(host::select_device(kernels::DeviceKind::kAuto, 0).kind, kernels::DeviceKind::kCuda);
}

TEST(CudaDevice, AbsenceIsAnAnswerNotACrash) {
  std::string why;
  const int n = kernels::cuda_device_count(&why);
  EXPECT_GE(n, 0);
  if (n == 0) {
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace
}  // namespace segstream
