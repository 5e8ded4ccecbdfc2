// Content fingerprints of the files segstream writes (internal to io): every dataset is hashed with XXH3-64
// as its rows are written in order, and at close the file's fingerprint combines those digests with every
// dataset's name, type and shape and every attribute except the provenance ones.
#pragma once

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <map>
#include <memory>
#include <string>

#include "segstream/io/hdf5.hpp"

namespace segstream::io::detail {

// The running digest of one dataset's stored bytes, valid while its rows are written in order from row 0
// and in its stored type (anything else is read back at close instead).
class DatasetDigest {
 public:
  explicit DatasetDigest(ElementType type);
  ~DatasetDigest();
  DatasetDigest(const DatasetDigest&) = delete;
  DatasetDigest& operator=(const DatasetDigest&) = delete;

  // Rows [start, start + rows) of `bytes` bytes were written from memory of type `memory_type`.
  void update(std::uint64_t start, std::uint64_t rows, ElementType memory_type, const void* src,
              std::size_t bytes);
  // The strings of a string dataset, each followed by a NUL.
  void update_strings(const std::vector<std::string>& values);
  // The digest when every one of `rows` rows was hashed in order; false otherwise.
  bool complete(std::uint64_t rows, std::uint64_t& digest) const;

 private:
  ElementType type_;
  XXH3_state_t* state_;
  std::uint64_t next_row_ = 0;
  bool valid_ = true;
};

// The digests of the datasets of a file being written.
struct FileDigests {
  std::map<std::string, std::shared_ptr<DatasetDigest>> datasets;
};

// The attributes a fingerprint leaves out: those that name the build and the run, not the content.
bool is_provenance_attribute(const std::string& name);

// "xxh3-64:" and 16 hex digits over the file's content; datasets with a complete digest in `digests` are
// not read again.
std::string content_fingerprint(const File& file, const FileDigests* digests);

}  // namespace segstream::io::detail
