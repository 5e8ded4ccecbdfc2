// `segstream segments export`: segments.h5 → a CSV a CRM can load (segment.hpp).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/customer_ids.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/segments.hpp"

namespace segstream::host {

namespace {

// A CSV field (RFC 4180): quoted when it holds a delimiter, a quote, a line break or outer spaces.
void append_field(std::string& line, const std::string& text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) {
    line += text;
    return;
  }
  line += '"';
  for (char c : text) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

}  // namespace

ExportReport export_segments(const std::filesystem::path& segments, const std::filesystem::path& out,
                             bool overwrite) {
  const io::SegmentsReader reader(segments);
  const io::SegmentsSummary& summary = reader.summary();
  std::vector<std::string> names = summary.profiles.name;
  if (names.size() != static_cast<std::size_t>(summary.k)) {
    names.clear();
    for (std::int64_t s = 0; s < summary.k; ++s) names.push_back(fmt::format("segment {}", s));
  }
  const io::CustomerIds ids = io::CustomerIds::read(reader.file());

  io::AtomicOutput output(out, overwrite);
  const std::string display = output.final_path().string();
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(output.temp_path().c_str(), "wb"),
                                                             std::fclose);
  if (!file) throw ResourceError(fmt::format("{}: cannot write ({})", display, std::strerror(errno)));
  auto put = [&](const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size())
      throw ResourceError(fmt::format("{}: write failed ({})", display, std::strerror(errno)));
  };
  put("customer_id,segment,segment_name\n");
  constexpr std::uint64_t kBlock = std::uint64_t{1} << 16;
  std::vector<std::uint64_t> key(kBlock);
  std::vector<std::int32_t> segment(kBlock);
  std::string text;
  for (std::uint64_t start = 0; start < reader.rows(); start += kBlock) {
    throw_if_interrupted();
    const std::uint64_t n = std::min(kBlock, reader.rows() - start);
    reader.read(start, n, key.data(), segment.data(), nullptr, nullptr);
    text.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
      append_field(text, ids.text(key[i]));
      text += fmt::format(",{},", reader.summary().segment_id[static_cast<std::size_t>(segment[i])]);
      append_field(text, names[static_cast<std::size_t>(segment[i])]);
      text += '\n';
    }
    put(text);
  }
  std::FILE* raw = file.get();
  if (std::fflush(raw) != 0 || std::ferror(raw) != 0)
    throw ResourceError(fmt::format("{}: write failed ({})", display, std::strerror(errno)));
  output.commit();
  return {reader.rows(), summary.k, ids.size()};
}

}  // namespace segstream::host
