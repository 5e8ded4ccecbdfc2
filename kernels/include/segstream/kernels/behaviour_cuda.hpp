// The CUDA backend of the behavioural feature set: the records of whole customers are sorted on the device
// and each customer is folded by one thread with the same kernels/behaviour.hpp code the CPU runs.
// Declared without CUDA types so host code includes it; defined only when SEGSTREAM_HAVE_CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "segstream/kernels/behaviour.hpp"

namespace segstream::kernels {

struct BehaviourDeviceOutput {
  std::vector<std::uint64_t> keys;     // one per customer, ascending
  std::vector<float> rows;             // keys.size() × behaviour_columns(params), row-major
  std::vector<double> summaries;       // 3 per customer: BG/NBD (x, t_x, T); x = -1 without purchases
  std::vector<BehaviourState> states;  // one per customer when asked for
};

// Device memory the fold needs at its peak: per record, the records, their sort buffer and the segment
// starts; per customer, the key, the BG/NBD summary and a row of up to 64 columns; per carried or saved
// state, the state in and out.
inline constexpr std::uint64_t kCudaBytesPerRecord = 24 * 2 + 8;
inline constexpr std::uint64_t kCudaBytesPerCustomer = 8 + 24 + 4 * 64;
inline constexpr std::uint64_t kCudaBytesPerState = 2 * sizeof(BehaviourState);

// Free device memory now (cudaMemGetInfo); ResourceError when the device cannot be asked.
std::uint64_t cuda_free_memory();

// Folds `count` records (any order; every record of a customer must be among them). A carried customer
// (carried_keys ascending) starts from its saved state and must have at least one record, if only a
// naming record (second word 0). ResourceError on any CUDA failure, naming the call.
void fold_behaviour_cuda(const BehaviourRecord* records, std::size_t count, const std::uint64_t* carried_keys,
                         const BehaviourState* carried_states, std::size_t carried,
                         const BehaviourParams& params, bool keep_states, BehaviourDeviceOutput& out);

}  // namespace segstream::kernels
