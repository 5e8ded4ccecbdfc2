// The CPU backend's behavioural fold (behaviour_fold.cpp), used by its Backend (backend.cpp).
#pragma once

#include <vector>

#include "segstream/kernels/behaviour_fold.hpp"

namespace segstream::kernels::cpu {

// Buckets the CPU folds per call: a group small enough that its rows are held only briefly, large enough
// to keep every thread busy.
inline constexpr std::uint64_t kFoldBuckets = 16;

// Folds each bucket of `fold` on its own thread into out[b − first_bucket]. `scratch` holds one record
// buffer per thread, reused between calls.
void fold_buckets(const BehaviourFold& fold, int threads, std::vector<std::vector<BehaviourRecord>>& scratch,
                  std::vector<BehaviourFoldOutput>& out);

}  // namespace segstream::kernels::cpu
