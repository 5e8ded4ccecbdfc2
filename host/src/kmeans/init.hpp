// The initial centres of a restart (internal to the trainer).
#pragma once

#include <cstdint>
#include <vector>

#include "segstream/host/kmeans.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::host::detail {

// k centres for the restart whose seed is `seed`, by config.init: k-means++ or random rows of a sample (the
// first init_size rows of the visiting order, all rows for Lloyd), k-means‖ over all rows through
// `backend`, or the given centres. The sample's k-means++ runs on the host with the CPU backend's kernels
// whatever the backend: it is small, and its candidates are tried in parallel threads.
std::vector<float> initial_centres(const RowSource& src, const KMeansConfig& config, std::uint64_t seed,
                                   kernels::Backend& backend);

}  // namespace segstream::host::detail
