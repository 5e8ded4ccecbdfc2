// Outputs appear complete or not at all.
//
// An AtomicOutput checks its destination up front (the directory exists and is writable; an existing file is
// replaced only with --overwrite), hands out a temporary sibling path to write to, and moves it to the
// final name in commit(). Without --overwrite the move never replaces a file (renameat2 RENAME_NOREPLACE, or
// link and unlink where the file system lacks it), so of two runs writing one name, exactly one wins and the
// other gets a usage error. Destroyed without commit() — an exception, a full disk, an interrupt — it
// removes the temporary file, so a crash never leaves a partial file under the final name.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

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

  // Moves the temporary file to the final name (atomic within one file system). Without overwrite, a file
  // that appeared under the final name while the run worked is kept, and commit throws UsageError. A
  // SIGINT or SIGTERM that came at any moment before is honoured here (InterruptedError, nothing
  // committed) unless `on_interrupt` is kKeep: what a run with several outputs passes once it has checked
  // for itself, so that its outputs come all or none.
  enum class OnInterrupt { kDiscard, kKeep };
  void commit(OnInterrupt on_interrupt = OnInterrupt::kDiscard);

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// Throws ResourceError (exit 4) before any work when `bytes`, what the output will need at least, exceed
// the space free on its file system: an absurd size (a customer count with extra digits) is refused up
// front, not after writing terabytes. `what` says how the need was estimated.
void check_free_space(const AtomicOutput& out, long double bytes, const std::string& what);

// A path a command reads or writes, with the option that named it ("--events").
struct NamedPath {
  std::string option;
  std::filesystem::path path;  // empty = not given
};

// Throws UsageError when an output names the same file as an input (the run would replace what it reads)
// or as another output. Paths are compared after resolving links and `..`, and by inode where both exist.
void check_outputs_apart(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

}  // namespace segstream::io
