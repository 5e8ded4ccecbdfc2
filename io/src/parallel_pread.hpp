// Positional reads of many file segments into caller memory, for the direct read path of uncompressed
// datasets (Dataset::plan_direct_read).
//
// Segments that lie close together in the file (a block's seven event-column chunks, a feature chunk and
// its ids) are coalesced into one preadv call, the bytes between them going to a scratch buffer: one large
// request per run, in increasing file order, is what lets the kernel's read-ahead keep the disk busy, as it
// does for a plain sequential read(). Separate runs are read concurrently by a small pool of I/O threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "segstream/io/hdf5.hpp"

namespace segstream::io::detail {

class PreadPool {
 public:
  // Segments at most this far apart are read in one call; the gap is read into scratch memory.
  static constexpr std::uint64_t kMaxGapBytes = std::uint64_t{64} << 10;
  // Runs are read in pieces of at most this many bytes, concurrently.
  static constexpr std::uint64_t kPieceBytes = std::uint64_t{2} << 20;

  explicit PreadPool(int threads);
  ~PreadPool();
  PreadPool(const PreadPool&) = delete;
  PreadPool& operator=(const PreadPool&) = delete;

  // Reads every segment from `fd` (segments must not overlap). Throws InputError naming `what` on an I/O
  // error or a short read (a truncated file).
  void read(int fd, std::vector<FileSegment> segments, const std::string& what);

  // The process-wide pool: 4 threads, enough for a few runs in flight; on a 2-core machine they mostly
  // wait for the disk.
  static PreadPool& shared();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace segstream::io::detail
