// Backend conformance of the CPU backend (the oracle): backend_conformance.hpp's typed test.
#include "backend_conformance.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::kernels::test {
namespace {

struct Cpu {
  static std::unique_ptr<Backend> make(std::string*) { return cpu::make_backend(2); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Cpu, BackendConformance, ::testing::Types<Cpu>);

}  // namespace
}  // namespace segstream::kernels::test
