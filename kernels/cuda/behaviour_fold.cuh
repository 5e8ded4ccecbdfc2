// The CUDA backend of the behavioural fold (behaviour_fold.cu; not installed): the records of a run of
// buckets and a naming record per carried customer are gathered and copied to the device at once, Thrust
// sorts them by (key, time, rest), a pass marks where each customer's run starts, and one thread per
// customer folds its run in time order with kernels/behaviour.hpp (the CPU backend's code, compiled with
// --fmad=false, so only the device's log2, sqrt and pow may differ in the last place).
#pragma once

#include <cstdint>
#include <vector>

#include "segstream/kernels/behaviour_fold.hpp"

namespace segstream::kernels::cuda {

// Device memory the fold needs at its peak: per record, the records, their sort buffer and the segment
// starts; per customer, the key, the BG/NBD summary and a row of up to 64 columns; per carried or saved
// state, the state in and out.
inline constexpr std::uint64_t kFoldBytesPerRecord = 24 * 2 + 8;
inline constexpr std::uint64_t kFoldBytesPerCustomer = 8 + 24 + 4 * 64;
inline constexpr std::uint64_t kFoldBytesPerState = 2 * sizeof(BehaviourState);

// Folds the run into out[0] (out is resized to one output). ResourceError on any CUDA failure, naming it.
void fold_behaviour(const BehaviourFold& fold, std::vector<BehaviourFoldOutput>& out);

}  // namespace segstream::kernels::cuda
