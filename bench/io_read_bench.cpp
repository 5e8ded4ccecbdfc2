// How fast segstream's readers stream HDF5 compared with reading the same file's bytes raw.
//
// Three readers over the same data, page cache warm and cold (posix_fadvise DONTNEED before every
// iteration, which needs no root): raw sequential read() of the file in 8 MiB blocks (the ceiling), the
// features row-block reader through the prefetch ring, and the event-column reader through the ring.
// Counter: bytes_per_second of payload. bench/io_read.sh runs this and prints each reader's median as a
// share of the raw median with the same block size from the same run.
//
// Environment: SEGSTREAM_BENCH_DIR (scratch folder, default the system temp dir), SEGSTREAM_BENCH_MB
// (payload size of each file, default 1024).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/streams.hpp"

namespace {

namespace fs = std::filesystem;
using namespace segstream;

fs::path bench_dir() {
  const char* dir = std::getenv("SEGSTREAM_BENCH_DIR");
  return dir ? fs::path(dir) : fs::temp_directory_path();
}

std::uint64_t payload_bytes() {
  const char* mb = std::getenv("SEGSTREAM_BENCH_MB");
  return (mb ? std::stoull(mb) : 1024ull) << 20;
}

constexpr std::uint64_t kDims = 16;

// Creates the two input files once per process (fsynced, so DONTNEED can drop every page).
struct Inputs {
  fs::path features, events;
  std::uint64_t feature_rows, event_rows;
  Inputs() {
    const fs::path dir = bench_dir();
    features = dir / "segstream-bench-features.h5";
    events = dir / "segstream-bench-events.h5";
    feature_rows = payload_bytes() / (kDims * 4);
    event_rows = payload_bytes() / 28;
    if (!fs::exists(features) || io::FeatureFileReader(features).rows() != feature_rows) {
      std::vector<std::string> names;
      for (std::uint64_t j = 0; j < kDims; ++j) names.push_back("x" + std::to_string(j));
      io::FeatureFileWriter w(features, names);
      const std::uint64_t block = 1 << 16;
      std::vector<float> rows(block * kDims);
      std::vector<std::uint64_t> ids(block);
      for (std::uint64_t at = 0; at < feature_rows; at += block) {
        const std::uint64_t n = std::min(block, feature_rows - at);
        for (std::uint64_t i = 0; i < n * kDims; ++i)
          rows[i] = static_cast<float>((at * kDims + i) % 1000) * 0.01f;
        for (std::uint64_t i = 0; i < n; ++i) ids[i] = at + i;
        w.append(rows.data(), ids.data(), n);
      }
      w.close();
    }
    if (!fs::exists(events) || io::EventFileReader(events).rows() != event_rows) {
      io::EventFileWriter w(events);
      const std::uint64_t block = 1 << 18;
      io::EventBuffer buf(block);
      io::EventColumns v = buf.view();
      for (std::uint64_t at = 0; at < event_rows; at += block) {
        const std::uint64_t n = std::min(block, event_rows - at);
        for (std::uint64_t i = 0; i < n; ++i) {
          v.customer_id[i] = (at + i) / 50;
          v.timestamp[i] = static_cast<std::int64_t>(1735689600 + (at + i) % 31536000);
          v.event_type[i] = static_cast<std::uint8_t>((at + i) % 13);
          v.amount[i] = static_cast<float>((at + i) % 500);
          v.category[i] = static_cast<std::uint16_t>((at + i) % 25);
          v.channel[i] = static_cast<std::uint8_t>((at + i) % 5);
          v.discount[i] = 0.0f;
        }
        w.append(v, n);
      }
      w.close();
    }
    for (const fs::path& p : {features, events}) {
      const int fd = ::open(p.c_str(), O_RDONLY);
      ::fsync(fd);
      ::close(fd);
    }
  }
};

const Inputs& inputs() {
  static const Inputs in;
  return in;
}

void drop_cache(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// Page-aligned host memory, as pinned buffers are. The copy out of the page cache runs at a fraction of its
// speed into a misaligned destination on some CPUs (seen here: 1.8 vs 12 GB/s), so both the raw ceiling and
// the readers get aligned buffers.
template <class T>
struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t n)
      : data(static_cast<T*>(std::aligned_alloc(4096, (n * sizeof(T) + 4095) / 4096 * 4096))), size(n) {}
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  T* data;
  std::size_t size;
};

// Reads the whole file with read() in blocks of `block_bytes`, cycling through a ring of three buffers: the
// same destination footprint as a reader with a three-slot ring, so neither side gets cache-hot buffers
// the other does not. Also warms the page cache for warm iterations.
std::uint64_t raw_read(const fs::path& path, std::size_t block_bytes) {
  static std::vector<std::unique_ptr<AlignedBuffer<char>>> ring;
  if (ring.empty() || ring[0]->size != block_bytes) {
    ring.clear();
    for (int i = 0; i < 3; ++i) ring.push_back(std::make_unique<AlignedBuffer<char>>(block_bytes));
  }
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::uint64_t total = 0;
  for (std::size_t i = 0;; ++i) {
    const ssize_t n = ::read(fd, ring[i % 3]->data, block_bytes);
    if (n <= 0) break;
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return total;
}

void prepare(benchmark::State& state, const fs::path& path, bool cold) {
  state.PauseTiming();
  if (cold) drop_cache(path);
  state.ResumeTiming();
}

// Argument: bytes per read, matching a reader's block (features: rows × 64 B; events: rows × 28 B).
void BM_RawSequentialRead(benchmark::State& state, bool features, bool cold) {
  const fs::path& path = features ? inputs().features : inputs().events;
  const auto block_bytes = static_cast<std::size_t>(state.range(0));
  if (!cold) raw_read(path, block_bytes);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    prepare(state, path, cold);
    bytes += raw_read(path, block_bytes);
  }
  state.counters["bytes_per_second"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
}

void BM_FeatureRowBlocks(benchmark::State& state, bool cold) {
  const fs::path& path = inputs().features;
  if (!cold) raw_read(path, 8 << 20);
  const std::uint64_t block_rows = static_cast<std::uint64_t>(state.range(0));
  AlignedBuffer<float> s0(block_rows * kDims), s1(block_rows * kDims), s2(block_rows * kDims);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    prepare(state, path, cold);
    io::FeatureFileReader reader(path);
    io::FeatureBlockStream stream(reader, {{s0.data, nullptr}, {s1.data, nullptr}, {s2.data, nullptr}},
                                  block_rows);
    float sink = 0;
    while (auto block = stream.next()) {
      sink += block->data[0];
      bytes += block->rows * kDims * sizeof(float);
    }
    benchmark::DoNotOptimize(sink);
  }
  state.counters["bytes_per_second"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
}

void BM_EventColumnBlocks(benchmark::State& state, bool cold) {
  const fs::path& path = inputs().events;
  if (!cold) raw_read(path, 8 << 20);
  const std::uint64_t block_rows = static_cast<std::uint64_t>(state.range(0));
  // One aligned allocation per column per slot.
  struct Slot {
    explicit Slot(std::uint64_t n) : id(n), ts(n), type(n), amount(n), category(n), channel(n), discount(n) {}
    AlignedBuffer<std::uint64_t> id;
    AlignedBuffer<std::int64_t> ts;
    AlignedBuffer<std::uint8_t> type;
    AlignedBuffer<float> amount;
    AlignedBuffer<std::uint16_t> category;
    AlignedBuffer<std::uint8_t> channel;
    AlignedBuffer<float> discount;
    io::EventColumns view() {
      return {id.data, ts.data, type.data, amount.data, category.data, channel.data, discount.data};
    }
  };
  Slot s0(block_rows), s1(block_rows), s2(block_rows);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    prepare(state, path, cold);
    io::EventFileReader reader(path);
    io::EventBlockStream stream(reader, {s0.view(), s1.view(), s2.view()}, block_rows);
    std::uint64_t sink = 0;
    while (auto block = stream.next()) {
      sink += block->columns.customer_id[0];
      bytes += block->rows * 28;
    }
    benchmark::DoNotOptimize(sink);
  }
  state.counters["bytes_per_second"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsRate);
}

// Each reader next to the raw read of the same file with the same bytes per block; warm first, then cold.
// Five repetitions each: cold reads on a virtual disk vary a lot from run to run, so compare medians.
#define SEGSTREAM_IO_BENCH(fn, ...)   \
  BENCHMARK_CAPTURE(fn, __VA_ARGS__)  \
      ->Unit(benchmark::kMillisecond) \
      ->UseRealTime()                 \
      ->Repetitions(5)                \
      ->ReportAggregatesOnly(true)
SEGSTREAM_IO_BENCH(BM_RawSequentialRead, features_warm, true, false)->Arg(4 << 20)->Arg(16 << 20);
SEGSTREAM_IO_BENCH(BM_FeatureRowBlocks, warm, false)->Arg(1 << 16)->Arg(1 << 18);
SEGSTREAM_IO_BENCH(BM_RawSequentialRead, events_warm, false, false)->Arg(7 << 20)->Arg(28 << 20);
SEGSTREAM_IO_BENCH(BM_EventColumnBlocks, warm, false)->Arg(1 << 18)->Arg(1 << 20);
SEGSTREAM_IO_BENCH(BM_RawSequentialRead, features_cold, true, true)->Arg(4 << 20)->Arg(16 << 20);
SEGSTREAM_IO_BENCH(BM_FeatureRowBlocks, cold, true)->Arg(1 << 16)->Arg(1 << 18);
SEGSTREAM_IO_BENCH(BM_RawSequentialRead, events_cold, false, true)->Arg(7 << 20)->Arg(28 << 20);
SEGSTREAM_IO_BENCH(BM_EventColumnBlocks, cold, true)->Arg(1 << 18)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
