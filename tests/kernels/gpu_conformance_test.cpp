// Backend conformance of the CUDA backend (label gpu; skips without a device): backend_conformance.hpp's
// typed test, the same assertions as the CPU backend's.
#include "backend_conformance.hpp"
#include "segstream/kernels/cuda.hpp"

namespace segstream::kernels::test {
namespace {

struct Cuda {
  static std::unique_ptr<Backend> make(std::string* why) {
    if (cuda::device_count(why) == 0) return nullptr;
    return cuda::make_backend(0, 2, 0);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Cuda, BackendConformance, ::testing::Types<Cuda>);

}  // namespace
}  // namespace segstream::kernels::test
