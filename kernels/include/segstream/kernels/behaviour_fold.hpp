// The behavioural fold of the compute contract (backend.hpp): the events of one range of hashed customer
// ids, held as BehaviourRecords (behaviour.hpp) in buckets of that range, become one row of features per
// customer, in ascending key order, with the same bits on every backend.
//
// The host scans an events file into a BehaviourRecordStore (any number of threads, each appending to its
// own blocks); a backend then folds the records of a run of buckets: it sorts every customer's records by
// (key, time, rest), starts from the customer's carried state when there is one, and folds them with
// BehaviourState::add in time order. Sorting on the whole record fixes the order of every floating-point
// operation, so the rows do not depend on the file order, the threads or the number of ranges.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "segstream/kernels/behaviour.hpp"

namespace segstream::kernels {

// Buckets per hash range ("partition"): a backend folds a run of them at a time.
inline constexpr std::uint64_t kBucketsPerPartition = 1024;

// A customer carried in from a saved state (features --state-in): its key (mix64 of the id) and its state.
struct CarriedState {
  std::uint64_t key;
  BehaviourState state;
};

// The records of one hash range, by bucket, appended by `threads` threads (thread t only appends to its own
// part): each thread keeps fixed blocks of 1,024 records taken from a reusable pool, so the store costs 24
// bytes per event plus at most one part-filled block per bucket and thread, and no second sorted copy.
class BehaviourRecordStore {
 public:
  static constexpr std::size_t kBlock = 1024;
  explicit BehaviourRecordStore(int threads) : parts_(static_cast<std::size_t>(threads)) {}

  int threads() const { return static_cast<int>(parts_.size()); }
  void clear() {
    for (Part& p : parts_) p.clear();
  }
  // Appends a record to `bucket` (0 ≤ bucket < kBucketsPerPartition) from thread `thread`.
  void push(int thread, std::uint64_t bucket, const BehaviourRecord& r) {
    parts_[static_cast<std::size_t>(thread)].push(bucket, r);
  }
  // Appends the records of `bucket` to `out`: thread by thread, each in the order it appended them.
  void gather(std::uint64_t bucket, std::vector<BehaviourRecord>& out) const {
    for (const Part& p : parts_) p.copy_to(bucket, out);
  }
  // Bytes held by the blocks (the memory budget's part).
  std::uint64_t bytes() const {
    std::uint64_t b = 0;
    for (const Part& p : parts_) b += p.bytes();
    return b;
  }

 private:
  class Part {
   public:
    Part() : fill_(kBucketsPerPartition, kBlock), lists_(kBucketsPerPartition) {}
    void clear() {
      for (auto& l : lists_) l.clear();
      std::fill(fill_.begin(), fill_.end(), kBlock);
      used_ = 0;
    }
    void push(std::uint64_t bucket, const BehaviourRecord& r) {
      if (fill_[bucket] == kBlock) {
        if (used_ == pool_.size()) pool_.push_back(std::make_unique<BehaviourRecord[]>(kBlock));
        lists_[bucket].push_back(static_cast<std::uint32_t>(used_++));
        fill_[bucket] = 0;
      }
      pool_[lists_[bucket].back()][fill_[bucket]++] = r;
    }
    void copy_to(std::uint64_t bucket, std::vector<BehaviourRecord>& out) const {
      const auto& list = lists_[bucket];
      for (std::size_t k = 0; k < list.size(); ++k) {
        const BehaviourRecord* block = pool_[list[k]].get();
        out.insert(out.end(), block, block + (k + 1 == list.size() ? fill_[bucket] : kBlock));
      }
    }
    std::uint64_t bytes() const { return pool_.size() * kBlock * sizeof(BehaviourRecord); }

   private:
    std::vector<std::size_t> fill_;                  // records in each bucket's last block
    std::vector<std::vector<std::uint32_t>> lists_;  // each bucket's blocks, in order
    std::vector<std::unique_ptr<BehaviourRecord[]>> pool_;
    std::size_t used_ = 0;
  };
  std::vector<Part> parts_;
};

// What a fold produced, customers in ascending key order.
struct BehaviourFoldOutput {
  std::vector<std::uint64_t> ids;                // customer ids (unmix64 of the keys)
  std::vector<float> rows;                       // ids.size() × behaviour_columns(params), row-major
  std::vector<std::array<double, 3>> summaries;  // when asked: BG/NBD (x, t_x, T); x = -1 without purchases
  std::vector<BehaviourState> states;            // when asked: each customer's state at t0
  void clear() {                                 // keeps the capacity for the next fold
    ids.clear();
    rows.clear();
    summaries.clear();
    states.clear();
  }
};

// One fold: buckets [first_bucket, first_bucket + buckets) of a store, with the carried customers of those
// buckets (ascending key; those of bucket b are carried[carried_offsets[b − first_bucket] ..
// carried_offsets[b − first_bucket + 1])). Every carried customer has a row, with or without new records.
struct BehaviourFold {
  const BehaviourRecordStore* records = nullptr;
  std::uint64_t first_bucket = 0;
  std::uint64_t buckets = 0;
  const CarriedState* carried = nullptr;
  const std::uint64_t* carried_offsets = nullptr;  // buckets + 1 entries
  const BehaviourParams* params = nullptr;
  bool keep_states = false;
  bool keep_summaries = false;
};

}  // namespace segstream::kernels
