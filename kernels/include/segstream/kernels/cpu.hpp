// The CPU backend (OpenMP), always built and the oracle of the compute contract (backend.hpp). Besides the
// backend itself, its batch kernels are public: the host calls them directly for work that stays on the
// host whatever the device (the k-means++ initialisation on a sample), and tests compare other backends
// with them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "segstream/kernels/backend.hpp"
#include "segstream/kernels/cluster_sums.hpp"

namespace segstream::kernels::cpu {

// labels[i], distance2[i] and (when not null) margin[i] = second-best minus best squared distance (infinity
// when k = 1) for rows x[i·d .. i·d + d) of a row-major block, against k row-major centres. Returns
// Σ w_i·distance2_i in double (w = 1 when weights is null), summed per run of kInertiaRows rows, so the
// total does not depend on `threads`.
double assign(const float* x, std::uint64_t rows, int d, const float* centres, int k, const float* weights,
              std::int32_t* labels, float* distance2, float* margin, int threads);

// assign's vector kernels this processor runs, widest first ("avx512", "avx2", "baseline"); assign uses
// the first unless `use_assign_kernel` chose another. All give the same bits; tests compare them.
std::vector<std::string> assign_kernels();
// Makes assign use the named kernel from assign_kernels() (the empty name: the widest again); for tests.
void use_assign_kernel(const std::string& name);

// Adds rows with their labels to `sums` (weights null means 1): exact, the same bits for any threads.
void accumulate(ClusterSums& sums, const float* x, std::uint64_t rows, const std::int32_t* labels,
                const float* weights, int threads);
// Adds only the weights and counts of rows with their labels (the sums stay as they are).
void tally(ClusterSums& sums, std::uint64_t rows, const std::int32_t* labels, const float* weights);

// The CPU backend with `threads` threads (0 = OpenMP's default).
std::unique_ptr<Backend> make_backend(int threads);

}  // namespace segstream::kernels::cpu
