#include "parallel_pread.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "segstream/core/error.hpp"

namespace segstream::io::detail {
namespace {

// One preadv over the contiguous file range [offset, offset + Σ iov_len).
struct Run {
  std::uint64_t offset = 0;
  std::uint64_t end = 0;
  std::vector<iovec> parts;
};

// Reads a whole run, resuming after short reads. Returns 0, an errno, or -1 at end of file.
int read_run(int fd, Run& run) {
  std::size_t first = 0;
  std::uint64_t offset = run.offset;
  while (first < run.parts.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(run.parts.size() - first, IOV_MAX));
    const ssize_t n = ::preadv(fd, run.parts.data() + first, count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return -1;
    offset += static_cast<std::uint64_t>(n);
    for (std::size_t done = static_cast<std::size_t>(n); done > 0 && first < run.parts.size();) {
      iovec& part = run.parts[first];
      const std::size_t take = std::min(done, part.iov_len);
      part.iov_base = static_cast<char*>(part.iov_base) + take;
      part.iov_len -= take;
      done -= take;
      if (part.iov_len == 0) ++first;
    }
  }
  return 0;
}

}  // namespace

PreadPool::PreadPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

PreadPool::~PreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
}

PreadPool& PreadPool::shared() {
  static PreadPool pool(4);
  return pool;
}

void PreadPool::read(int fd, std::vector<FileSegment> segments, const std::string& what) {
  std::sort(segments.begin(), segments.end(),
            [](const FileSegment& a, const FileSegment& b) { return a.offset < b.offset; });
  std::vector<Run> runs;
  std::vector<std::unique_ptr<char[]>> gaps;  // where the bytes between coalesced segments go
  for (const FileSegment& s : segments) {
    if (s.bytes == 0) continue;
    if (runs.empty() || s.offset < runs.back().end || s.offset - runs.back().end > kMaxGapBytes) {
      runs.emplace_back();
      runs.back().offset = runs.back().end = s.offset;
    }
    Run& run = runs.back();
    if (s.offset > run.end) {
      gaps.push_back(std::make_unique<char[]>(s.offset - run.end));
      run.parts.push_back(iovec{gaps.back().get(), s.offset - run.end});
    }
    run.parts.push_back(iovec{s.dst, s.bytes});
    run.end = s.offset + s.bytes;
  }

  // Long runs are cut into pieces of kPieceBytes read concurrently: several requests in flight keep a
  // disk (or the host below a virtual one) busier than one large request at a time.
  std::vector<Run> pieces;
  for (Run& run : runs) {
    std::uint64_t offset = run.offset;
    Run piece;
    piece.offset = piece.end = offset;
    for (iovec part : run.parts) {
      while (part.iov_len > 0) {
        const std::uint64_t room = kPieceBytes - (piece.end - piece.offset);
        const std::uint64_t take = std::min<std::uint64_t>(room, part.iov_len);
        piece.parts.push_back(iovec{part.iov_base, take});
        piece.end += take;
        part.iov_base = static_cast<char*>(part.iov_base) + take;
        part.iov_len -= take;
        if (piece.end - piece.offset == kPieceBytes) {
          pieces.push_back(std::move(piece));
          piece = Run{};
          piece.offset = piece.end = pieces.back().end;
        }
      }
    }
    if (!piece.parts.empty()) pieces.push_back(std::move(piece));
  }
  runs = std::move(pieces);

  std::mutex done_mutex;
  std::condition_variable done;
  std::size_t pending = runs.size();
  int error = 0;
  std::uint64_t error_offset = 0;
  // The caller reads the first run itself; the pool takes the others.
  auto job = [&](Run& run) {
    const int rc = read_run(fd, run);
    std::lock_guard lock(done_mutex);
    if (rc != 0 && error == 0) {
      error = rc;
      error_offset = run.offset;
    }
    if (--pending == 0) done.notify_all();
  };
  if (runs.size() > 1) {
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 1; i < runs.size(); ++i) queue_.push_back([&job, &run = runs[i]] { job(run); });
    }
    work_.notify_all();
  }
  if (!runs.empty()) job(runs[0]);
  std::unique_lock lock(done_mutex);
  done.wait(lock, [&] { return pending == 0; });
  if (error != 0)
    throw InputError(fmt::format("{}: reading at file offset {} failed ({})", what, error_offset,
                                 error > 0 ? std::strerror(error) : "end of file: truncated?"));
}

void PreadPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace segstream::io::detail
