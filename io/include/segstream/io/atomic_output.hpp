// Outputs appear complete or not at all.
//
// An AtomicOutput checks its destination up front (the directory exists and is writable; an existing file is
// replaced only with --overwrite), hands out a temporary sibling path to write to, and renames it over the
// final name in commit(). Destroyed without commit() — an exception, a full disk, an interrupt — it removes
// the temporary file, so a crash never leaves a partial file under the final name.
#pragma once

#include <filesystem>

namespace segstream::io {

class AtomicOutput {
 public:
  // Throws UsageError when `final_path` exists and !overwrite, ResourceError when its directory is missing
  // or not writable.
  AtomicOutput(std::filesystem::path final_path, bool overwrite);
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();

  const std::filesystem::path& final_path() const { return final_path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

  // Renames the temporary file to the final name (atomic within one file system).
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool committed_ = false;
};

}  // namespace segstream::io
