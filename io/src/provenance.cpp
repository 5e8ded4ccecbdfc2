#include "segstream/io/provenance.hpp"

#include <fmt/format.h>

#include <fstream>
#include <vector>

#include "fingerprint.hpp"
#include "segstream/core/version.hpp"

namespace segstream::io {

nlohmann::json InputFingerprint::to_json() const {
  nlohmann::json j = {{"role", role}, {"file", file}, {"bytes", bytes}};
  if (!format.empty()) j["format"] = format;
  j["fingerprint"] = fingerprint.empty() ? nlohmann::json() : nlohmann::json(fingerprint);
  return j;
}

InputFingerprint fingerprint_read_input(const std::string& role, const std::filesystem::path& path,
                                        std::uint64_t bytes, std::uint64_t digest) {
  return InputFingerprint{role, path.filename().string(), bytes, "", fmt::format("xxh3-64:{:016x}", digest)};
}

InputFingerprint fingerprint_input(const std::string& role, const std::filesystem::path& path) {
  InputFingerprint in;
  in.role = role;
  in.file = path.filename().string();
  std::error_code ec;
  in.bytes = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(path.string() + ": cannot read its size (" + ec.message() + ")");
  if (H5Fis_hdf5(path.c_str()) > 0) {
    const File f = File::open(path);
    if (f.has_attribute("format")) in.format = f.string_attribute("format");
    if (f.has_attribute("fingerprint")) in.fingerprint = f.string_attribute("fingerprint");
    return in;
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw InputError(path.string() + ": cannot read");
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  std::vector<char> buf(std::size_t{1} << 20);
  while (stream) {
    stream.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    XXH3_64bits_update(state, buf.data(), static_cast<std::size_t>(stream.gcount()));
  }
  const std::uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (stream.bad()) throw InputError(path.string() + ": read error");
  in.fingerprint = fmt::format("xxh3-64:{:016x}", digest);
  return in;
}

void write_provenance(const File& file, const Provenance& p) {
  file.set_attribute("format", p.format);
  file.set_attribute("format_version", kFormatVersion);
  file.set_attribute("created_by",
                     std::string("segstream ") + kVersion + " (" + kGitCommit + ") " + p.command);
  nlohmann::json inputs = nlohmann::json::array();
  for (const InputFingerprint& in : p.inputs) inputs.push_back(in.to_json());
  const nlohmann::json doc = {{"command", p.command},
                              {"version", kVersion},
                              {"commit", kGitCommit},
                              {"config", p.config},
                              {"inputs", inputs}};
  file.set_attribute("provenance", doc.dump());
}

void expect_format(const File& file, std::string_view format, std::string_view noun, bool absent_ok) {
  if (!file.has_attribute("format")) {
    SEGSTREAM_CHECK_INPUT(absent_ok, "{}: not a {} (format attribute '{}' expected, it has none)",
                          file.path(), noun, format);
    return;
  }
  const std::string have = file.string_attribute("format");
  SEGSTREAM_CHECK_INPUT(have == format, "{}: not a {} (format attribute '{}' expected, it has '{}')",
                        file.path(), noun, format, have);
  // A file that names the format but no version (made by hand, say) is read as the first version.
  const std::int64_t version =
      file.has_attribute("format_version") ? file.int_attribute("format_version") : 1;
  SEGSTREAM_CHECK_INPUT(
      version == kFormatVersion,
      "{}: {} format_version {}, this segstream reads version {} (a newer segstream wrote it?)", file.path(),
      format, version, kFormatVersion);
}

std::string content_fingerprint(const File& file) {
  return detail::content_fingerprint(file, nullptr);
}

}  // namespace segstream::io
