#include "segstream/io/atomic_output.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"

namespace segstream::io {

AtomicOutput::AtomicOutput(std::filesystem::path final_path, bool overwrite)
    : final_path_(std::move(final_path)), overwrite_(overwrite) {
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

// Moves `from` to `to`; without `replace`, an existing `to` is kept and the move throws UsageError.
void move_into_place(const std::filesystem::path& from, const std::filesystem::path& to, bool replace) {
  const auto failed = [&](int err) {
    if (err == EEXIST)
      throw UsageError(to.string() +
                       ": appeared while this run was writing it (another run?); it was kept and this run's "
                       "output discarded (pass --overwrite to replace it)");
    throw ResourceError(to.string() + ": cannot move the finished output into place (" + std::strerror(err) +
                        ")");
  };
  if (replace) {
    if (std::rename(from.c_str(), to.c_str()) != 0) failed(errno);
    return;
  }
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  const int err = errno;
  if (err != EINVAL && err != ENOSYS) failed(err);
  // The file system has no RENAME_NOREPLACE: a hard link is created only where no file is, then the
  // temporary name goes.
  if (::link(from.c_str(), to.c_str()) != 0) failed(errno);
  ::unlink(from.c_str());
}

}  // namespace

void check_free_space(const AtomicOutput& out, long double bytes, const std::string& what) {
  const std::filesystem::path dir = out.final_path().has_parent_path() ? out.final_path().parent_path() : ".";
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return;  // unknown: the writes will tell
  const long double free_bytes =
      static_cast<long double>(fs.f_bavail) * static_cast<long double>(fs.f_frsize);
  if (bytes <= free_bytes) return;
  const auto gib = [](long double b) { return static_cast<double>(b / (1024.0L * 1024.0L * 1024.0L)); };
  throw ResourceError(
      fmt::format("{}: needs at least {:.3g} GiB ({}), but its file system has {:.3g} GiB free",
                  out.final_path().string(), gib(bytes), what, gib(free_bytes)));
}

void check_outputs_apart(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  namespace fs = std::filesystem;
  const auto same = [](const fs::path& a, const fs::path& b) {
    std::error_code ec;
    if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
    const fs::path ca = fs::weakly_canonical(fs::absolute(a, ec), ec);
    const fs::path cb = fs::weakly_canonical(fs::absolute(b, ec), ec);
    return ca == cb;
  };
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    if (out.path.empty()) continue;
    for (const NamedPath& in : inputs)
      if (!in.path.empty() && same(in.path, out.path))
        throw UsageError(out.option + " " + out.path.string() + ": is also the input " + in.option +
                         "; a run never replaces what it reads (write to another file)");
    for (std::size_t j = 0; j < i; ++j)
      if (!outputs[j].path.empty() && same(outputs[j].path, out.path))
        throw UsageError(out.option + " " + out.path.string() + ": is also the output " + outputs[j].option +
                         "; each output needs its own file");
  }
}

void AtomicOutput::commit(OnInterrupt on_interrupt) {
  if (on_interrupt == OnInterrupt::kDiscard) throw_if_interrupted();
  // Data first, then the rename, then the directory entry: after a power cut the final name holds either
  // the complete new file or what it held before, never a file whose blocks were not yet written.
  if (!sync_path(temp_path_, O_RDONLY))
    throw ResourceError(final_path_.string() + ": cannot flush the output to disk (" + std::strerror(errno) +
                        ")");
  move_into_place(temp_path_, final_path_, overwrite_);
  committed_ = true;
  const std::filesystem::path dir = final_path_.has_parent_path() ? final_path_.parent_path() : ".";
  sync_path(dir, O_RDONLY | O_DIRECTORY);  // best effort: some file systems refuse fsync on directories
}

}  // namespace segstream::io
