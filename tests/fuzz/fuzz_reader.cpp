// libFuzzer target for one of segstream's readers, chosen at compile time by SEGSTREAM_FUZZ_READER:
// events, features, model, segments, state or csv. The input bytes become a file that the reader opens and
// reads through, as the commands do. A segstream::Error is the expected answer to a broken file; anything
// else (a crash, an ASan report, another exception, a leak) is a finding. HDF5 inputs pass through the
// probe's child like any input, so what is fuzzed here is the run's own side of reading a file.
//
// Built by scripts/fuzz.sh with clang (-fsanitize=fuzzer,address); not part of the main build.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/inspect.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/io/state.hpp"

namespace {

using namespace segstream;
namespace fs = std::filesystem;

constexpr std::string_view kReader = SEGSTREAM_FUZZ_READER;
constexpr std::uint64_t kMaxRows = std::uint64_t{1} << 20;  // rows read through at most (memory bound)

fs::path scratch_dir() {
  static const fs::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    fs::path d = fs::path(tmp != nullptr ? tmp : "/tmp") / ("segstream-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void read_events(const fs::path& path) {
  io::EventFileReader r(path);
  const std::uint64_t rows = std::min(r.rows(), kMaxRows);
  io::EventBuffer buffer(std::min<std::uint64_t>(rows, 4096));
  for (std::uint64_t start = 0; start < rows; start += 4096) {
    const std::uint64_t n = std::min<std::uint64_t>(4096, rows - start);
    r.read(start, n, buffer.view());
  }
}

void read_features(const fs::path& path) {
  io::FeatureFileReader r(path);
  if (r.columns() > 4096) return;
  const std::uint64_t rows = std::min(r.rows(), kMaxRows / std::max<std::uint64_t>(r.columns(), 1));
  std::vector<float> block(std::min<std::uint64_t>(rows, 1024) * r.columns());
  std::vector<std::uint64_t> ids(std::min<std::uint64_t>(rows, 1024));
  for (std::uint64_t start = 0; start < rows; start += 1024) {
    const std::uint64_t n = std::min<std::uint64_t>(1024, rows - start);
    r.read_rows(start, n, block.data());
    r.read_ids(start, n, ids.data());
  }
  if (r.rows() <= kMaxRows) io::check_unique_customer_ids(r, std::uint64_t{8} << 20);
}

void read_segments(const fs::path& path) {
  io::SegmentsReader r(path);
  (void)r.rows();
}

void read_state(const fs::path& path) {
  const io::File f = io::File::open(path);
  const std::vector<hsize_t> dims =
      f.has("/state/record") ? f.dataset("/state/record").dims() : std::vector<hsize_t>{};
  io::StateFileReader r(path, dims.size() == 2 ? static_cast<std::size_t>(dims[1]) : 0);
  const std::uint64_t n = std::min<std::uint64_t>(r.customers(), 1024);
  if (n == 0 || dims.size() != 2 || dims[1] > 4096) return;
  std::vector<std::uint64_t> ids(n);
  std::vector<std::uint8_t> records(n * dims[1]);
  r.read(0, n, ids.data(), records.data());
}

void read_csv(const fs::path& path) {
  io::CsvImportOptions o;
  o.input = path;
  o.customer = "CustomerID";
  o.time = "InvoiceDate";
  o.amount = "TotalPrice";
  o.order = "InvoiceNo";
  o.on_bad_row = io::BadRowPolicy::kSkip;
  o.max_bad_share = 1;
  const fs::path out = scratch_dir() / "out.h5";
  io::import_csv(o, out, true, {});
  fs::remove(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::uint64_t counter = 0;
  const fs::path path =
      scratch_dir() / ("input-" + std::to_string(counter++) + (kReader == "csv" ? ".csv" : ".h5"));
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  try {
    if (kReader == "events") read_events(path);
    if (kReader == "features") read_features(path);
    if (kReader == "model") (void)io::read_model(path);
    if (kReader == "segments") read_segments(path);
    if (kReader == "state") read_state(path);
    if (kReader == "csv") read_csv(path);
    if (kReader != "csv") (void)io::inspect_file(path, true, {});
  } catch (const segstream::Error&) {
    // the expected answer to a broken file
  }
  std::error_code ec;
  fs::remove(path, ec);
  return 0;
}
