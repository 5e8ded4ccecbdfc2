// How fast segstream's readers stream HDF5 compared with reading the same file's bytes raw.
//
// Two files of the same payload size: a features.h5 (16 float32 columns) and an events.h5 (the seven event
// columns). For each, the row-block stream (reader thread, ring of three page-aligned buffers) against a raw
// sequential read() of the same file into a ring of the same size, page cache warm and cold (posix_fadvise
// DONTNEED before every pass, which needs no root), measured pairwise in the same iterations.
// bench/io_read.sh runs it and prints the table; the target is a share of at least 85%.
//
// Environment: SEGSTREAM_BENCH_DIR (scratch folder, default the system temp dir), SEGSTREAM_BENCH_MB
// (payload size of each file, default 1024).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
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

// One pass of each reader over its file, returning payload bytes.
std::uint64_t feature_pass(std::uint64_t block_rows) {
  static std::vector<std::unique_ptr<AlignedBuffer<float>>> ring;
  if (ring.empty() || ring[0]->size != block_rows * kDims) {
    ring.clear();
    for (int i = 0; i < 3; ++i) ring.push_back(std::make_unique<AlignedBuffer<float>>(block_rows * kDims));
  }
  io::FeatureFileReader reader(inputs().features);
  io::FeatureBlockStream stream(
      reader, {{ring[0]->data, nullptr}, {ring[1]->data, nullptr}, {ring[2]->data, nullptr}}, block_rows);
  std::uint64_t bytes = 0;
  float sink = 0;
  while (auto block = stream.next()) {
    sink += block->data[0];
    bytes += block->rows * kDims * sizeof(float);
  }
  benchmark::DoNotOptimize(sink);
  return bytes;
}

struct EventSlot {
  explicit EventSlot(std::uint64_t n)
      : id(n), ts(n), type(n), amount(n), category(n), channel(n), discount(n) {}
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

std::uint64_t event_pass(std::uint64_t block_rows) {
  static std::vector<std::unique_ptr<EventSlot>> ring;
  if (ring.empty() || ring[0]->id.size != block_rows) {
    ring.clear();
    for (int i = 0; i < 3; ++i) ring.push_back(std::make_unique<EventSlot>(block_rows));
  }
  io::EventFileReader reader(inputs().events);
  io::EventBlockStream stream(reader, {ring[0]->view(), ring[1]->view(), ring[2]->view()}, block_rows);
  std::uint64_t bytes = 0, sink = 0;
  while (auto block = stream.next()) {
    sink += block->columns.customer_id[0];
    bytes += block->rows * 28;
  }
  benchmark::DoNotOptimize(sink);
  return bytes;
}

// A reader and the raw read of the same file, measured in the same iteration and in alternating order, so
// that whatever state the disk and the host below it are in affects both alike (cold reads on a virtual
// disk vary several-fold from run to run). Each iteration times one raw pass and one reader pass (the page
// cache dropped before each when cold). Counters: raw and reader GB/s over all iterations, and `share`,
// the reader's throughput as a fraction of raw. The reported time is the reader's.
void BM_ReaderVsRaw(benchmark::State& state, bool features, bool cold) {
  const fs::path& path = features ? inputs().features : inputs().events;
  const auto block_rows = static_cast<std::uint64_t>(state.range(0));
  const std::size_t block_bytes = block_rows * (features ? kDims * sizeof(float) : 28);
  auto pass = [&] { return features ? feature_pass(block_rows) : event_pass(block_rows); };
  if (!cold) {  // warm both paths' buffers and the page cache
    raw_read(path, block_bytes);
    pass();
  }
  double raw_seconds = 0, reader_seconds = 0;
  std::uint64_t raw_bytes = 0, reader_bytes = 0, iteration = 0;
  for (auto _ : state) {
    for (int step = 0; step < 2; ++step) {
      const bool raw = (step == 0) == (iteration % 2 == 0);
      if (cold) drop_cache(path);
      const auto t0 = std::chrono::steady_clock::now();
      const std::uint64_t bytes = raw ? raw_read(path, block_bytes) : pass();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      (raw ? raw_seconds : reader_seconds) += seconds;
      (raw ? raw_bytes : reader_bytes) += bytes;
      if (!raw) state.SetIterationTime(seconds);
    }
    ++iteration;
  }
  const double raw_rate = static_cast<double>(raw_bytes) / raw_seconds;
  const double reader_rate = static_cast<double>(reader_bytes) / reader_seconds;
  state.counters["raw_GBps"] = raw_rate / 1e9;
  state.counters["reader_GBps"] = reader_rate / 1e9;
  state.counters["share"] = reader_rate / raw_rate;
}

// Block sizes: features 2^16 rows (4 MiB, one chunk) and 2^18 rows (16 MiB); events 2^18 rows (7 MiB, one
// chunk per column) and 2^20 rows (28 MiB).
#define SEGSTREAM_IO_BENCH(name, features, cold)          \
  BENCHMARK_CAPTURE(BM_ReaderVsRaw, name, features, cold) \
      ->Arg(features ? 1 << 16 : 1 << 18)                 \
      ->Arg(features ? 1 << 18 : 1 << 20)                 \
      ->Unit(benchmark::kMillisecond)                     \
      ->UseManualTime()                                   \
      ->MinTime(cold ? 4.0 : 2.0)
SEGSTREAM_IO_BENCH(features_warm, true, false);
SEGSTREAM_IO_BENCH(events_warm, false, false);
SEGSTREAM_IO_BENCH(features_cold, true, true);
SEGSTREAM_IO_BENCH(events_cold, false, true);

}  // namespace

BENCHMARK_MAIN();
