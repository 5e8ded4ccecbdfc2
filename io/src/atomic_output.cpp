#include "segstream/io/atomic_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "segstream/core/error.hpp"

namespace segstream::io {

AtomicOutput::AtomicOutput(std::filesystem::path final_path, bool overwrite)
    : final_path_(std::move(final_path)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = final_path_.has_parent_path() ? final_path_.parent_path() : fs::path(".");
  if (final_path_.filename().empty())
    throw UsageError(final_path_.string() + ": an output must name a file, not a directory");
  if (!fs::is_directory(dir, ec))
    throw ResourceError(final_path_.string() + ": output directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw ResourceError(final_path_.string() + ": output directory " + dir.string() + " is not writable (" +
                        std::strerror(errno) + ")");
  if (fs::exists(final_path_, ec)) {
    if (fs::is_directory(final_path_, ec))
      throw UsageError(final_path_.string() + ": is a directory; an output must name a file");
    if (!overwrite)
      throw UsageError(final_path_.string() + ": already exists (pass --overwrite to replace it)");
  }
  temp_path_ = dir / ("." + final_path_.filename().string() + ".tmp-" + std::to_string(::getpid()));
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_path_, ec);
  }
}

namespace {
// Flushes a file's (or directory's) data to the device; false on failure.
bool sync_path(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

void AtomicOutput::commit() {
  // Data first, then the rename, then the directory entry: after a power cut the final name holds either
  // the complete new file or what it held before, never a file whose blocks were not yet written.
  if (!sync_path(temp_path_, O_RDONLY))
    throw ResourceError(final_path_.string() + ": cannot flush the output to disk (" + std::strerror(errno) +
                        ")");
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    throw ResourceError(final_path_.string() + ": cannot move the finished output into place (" +
                        std::strerror(errno) + ")");
  committed_ = true;
  const std::filesystem::path dir = final_path_.has_parent_path() ? final_path_.parent_path() : ".";
  sync_path(dir, O_RDONLY | O_DIRECTORY);  // best effort: some file systems refuse fsync on directories
}

}  // namespace segstream::io
