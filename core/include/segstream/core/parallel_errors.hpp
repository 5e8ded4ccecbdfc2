// Exceptions and OpenMP. An exception that leaves a parallel region calls std::terminate: exit 134 and no
// message, where a std::bad_alloc should be exit 4 naming the stage. A region whose work can throw (an
// allocation, an input check) runs it under ParallelErrors::run, which keeps the first exception and
// makes later calls return at once; after the region, rethrow() throws it on the calling thread.
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

namespace segstream {

class ParallelErrors {
 public:
  template <class Work>
  void run(Work&& work) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      work();
    } catch (...) {
      keep();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep() noexcept {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
    failed_.store(true, std::memory_order_relaxed);
  }

  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr error_;
};

}  // namespace segstream
