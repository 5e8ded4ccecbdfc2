// CUDA device discovery (label `gpu`): on a machine with a GPU the device is found and described; on one
// without, the absence is an answer with a reason that the backend choice passes on, never a crash.
#include <gtest/gtest.h>

#include <string>

#include "segstream/core/error.hpp"
#include "segstream/kernels/backend.hpp"
#include "segstream/kernels/cuda.hpp"

namespace segstream::kernels {
namespace {

TEST(CudaDevice, FoundAndDescribed) {
  std::string why;
  if (cuda::device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  const DeviceInfo info = cuda::device_info(0);
  EXPECT_EQ(info.kind, DeviceKind::kCuda);
  EXPECT_FALSE(info.name.empty());
  EXPECT_GT(info.threads, 0);
  EXPECT_GT(info.memory_bytes, std::uint64_t{1} << 30);
  EXPECT_GE(info.compute_capability, 70);
  const auto backend = make_backend({DeviceKind::kAuto, 0, 0});
  EXPECT_EQ(backend->device().kind, DeviceKind::kCuda);
  EXPECT_EQ(backend->device().name, info.name);
}

// Without a device: a count of 0 with the runtime's reason, which `auto` reports when it takes the CPU and
// `cuda` puts in its ResourceError. With one: asking for a device past the last is a ResourceError.
TEST(CudaDevice, AbsenceIsAnAnswerNotACrash) {
  std::string why;
  const int n = cuda::device_count(&why);
  ASSERT_GE(n, 0);
  if (n == 0) {
    ASSERT_FALSE(why.empty());
    const auto backend = make_backend({DeviceKind::kAuto, 1, 0});
    EXPECT_EQ(backend->device().kind, DeviceKind::kCpu);
    EXPECT_NE(backend->device().note.find(why), std::string::npos) << backend->device().note;
    try {
      make_backend({DeviceKind::kCuda, 1, 0});
      ADD_FAILURE() << "--device cuda without a device did not fail";
    } catch (const ResourceError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  } else {
    EXPECT_THROW(cuda::device_info(n), ResourceError);
  }
}

}  // namespace
}  // namespace segstream::kernels
