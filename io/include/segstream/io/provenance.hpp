// Provenance: what every file segstream writes says about itself, written by one helper.
//
// Root attributes of every output: `format` (which segstream format), `format_version` (the layout's
// version; readers refuse one they do not know), `created_by` ("segstream VERSION (COMMIT) COMMAND"),
// `provenance` (JSON: the command, version and commit, the run's config, and the fingerprint of every input)
// and `fingerprint` (the content's, stored when the file is closed: hdf5.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "segstream/io/hdf5.hpp"

namespace segstream::io {

// The layout version of every format this build writes and reads.
inline constexpr std::int64_t kFormatVersion = 1;

// An input as a run records it.
struct InputFingerprint {
  std::string role;         // what the run used it for: "events", "features", "model", "state", "csv", …
  std::string file;         // its file name
  std::uint64_t bytes = 0;  // its size
  std::string format;       // its segstream format, or empty
  std::string fingerprint;  // its content fingerprint, or empty when it carries none
  nlohmann::json to_json() const;
};

// An HDF5 input by its `format` and `fingerprint` attributes (no data is read); any other file by the
// XXH3-64 of its bytes, read once more ("xxh3-64:…").
InputFingerprint fingerprint_input(const std::string& role, const std::filesystem::path& path);
// An input whose bytes were hashed while they were read (the XXH3-64 digest of all of them).
InputFingerprint fingerprint_read_input(const std::string& role, const std::filesystem::path& path,
                                        std::uint64_t bytes, std::uint64_t digest);

struct Provenance {
  std::string format;   // e.g. "segstream.model"
  std::string command;  // e.g. "fit", "generate --features-only"
  nlohmann::json config = nlohmann::json::object();
  std::vector<InputFingerprint> inputs;
};

// Writes format, format_version, created_by and provenance on the file's root.
void write_provenance(const File& file, const Provenance& provenance);

// The first check of every validating reader: InputError ("FILE: not a NOUN (format attribute 'FORMAT'
// expected …)") unless the file's `format` attribute is `format` and its `format_version` is kFormatVersion
// (a file without format_version is read as version 1).
// With absent_ok, a file without a `format` attribute passes (data written by other tools), but one that
// names another format does not.
void expect_format(const File& file, std::string_view format, std::string_view noun, bool absent_ok = false);

// The content fingerprint of a file, computed by reading all of it: what its `fingerprint` attribute says
// when nothing changed it since segstream wrote it.
std::string content_fingerprint(const File& file);

}  // namespace segstream::io
