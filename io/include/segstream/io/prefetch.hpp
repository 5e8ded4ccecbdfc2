// A reader thread that runs ahead of its consumer over a ring of caller-provided buffers.
//
// Stream model: blocks [0, total_rows) are cut into `block_rows` pieces. One dedicated thread fills ring slot
// (b mod n) with block b while the consumer works on an earlier block, so reading overlaps whatever the
// consumer does (decode, a host-to-device copy, a kernel). The consumer takes blocks strictly in row order
// with next(); a block stays valid until the following next() call, which hands its slot back to the reader.
// So the reader is at most n − 1 blocks ahead. Slots are the caller's memory (pinned buffers for a GPU
// pipeline); the Prefetcher never allocates per block. An exception on the reader thread is rethrown by the
// next next().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "segstream/core/error.hpp"

namespace segstream::io {

template <class Slot>
class Prefetcher {
 public:
  using Fill = std::function<void(std::uint64_t start, std::uint64_t rows, Slot& slot)>;
  struct Block {
    std::uint64_t index;  // block number
    std::uint64_t start;  // first row
    std::uint64_t rows;   // rows in this block (the last may be short)
    Slot* slot;
  };

  Prefetcher(std::vector<Slot*> ring, std::uint64_t total_rows, std::uint64_t block_rows, Fill fill)
      : ring_(std::move(ring)), total_rows_(total_rows), block_rows_(block_rows), fill_(std::move(fill)) {
    SEGSTREAM_EXPECTS(!ring_.empty(), "a prefetch ring needs at least one buffer");
    SEGSTREAM_EXPECTS(block_rows_ > 0, "block size must be positive");
    block_count_ = (total_rows_ + block_rows_ - 1) / block_rows_;
    thread_ = std::thread([this] { run(); });
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;
  ~Prefetcher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::uint64_t block_count() const { return block_count_; }

  // The next block in row order, or nullopt after the last. Releases the block returned before.
  std::optional<Block> next() {
    std::unique_lock lock(mutex_);
    if (consumed_ > released_) {
      released_ = consumed_;
      cv_.notify_all();
    }
    if (consumed_ == block_count_) return std::nullopt;
    cv_.wait(lock, [this] { return filled_ > consumed_ || error_; });
    if (error_ && filled_ <= consumed_) std::rethrow_exception(error_);
    const std::uint64_t b = consumed_++;
    const std::uint64_t start = b * block_rows_;
    return Block{b, start, std::min(block_rows_, total_rows_ - start), ring_[b % ring_.size()]};
  }

 private:
  void run() {
    try {
      for (std::uint64_t b = 0; b < block_count_; ++b) {
        {
          std::unique_lock lock(mutex_);
          cv_.wait(lock, [&] { return stop_ || b < released_ + ring_.size(); });
          if (stop_) return;
        }
        const std::uint64_t start = b * block_rows_;
        fill_(start, std::min(block_rows_, total_rows_ - start), *ring_[b % ring_.size()]);
        {
          std::lock_guard lock(mutex_);
          filled_ = b + 1;
        }
        cv_.notify_all();
      }
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        error_ = std::current_exception();
      }
      cv_.notify_all();
    }
  }

  std::vector<Slot*> ring_;
  std::uint64_t total_rows_;
  std::uint64_t block_rows_;
  std::uint64_t block_count_ = 0;
  Fill fill_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t filled_ = 0;    // blocks [0, filled_) are in the ring
  std::uint64_t consumed_ = 0;  // blocks [0, consumed_) were handed out
  std::uint64_t released_ = 0;  // blocks [0, released_) were handed back
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace segstream::io
