// Untrusted HDF5 files are read first by a probe in a child process.
//
// libhdf5 parses a file's metadata (object headers, attribute and link storage, the global heap of
// variable-length strings, chunk indices, datatype descriptions) with little defence against corrupt
// bytes: fuzzed files crash it inside H5Aread, H5Aget_name_by_idx and the datatype conversions, or make it
// allocate what a damaged length field says. A crash in the library cannot be caught in the process that
// suffers it. So before a file is opened for reading, a child process (this executable again, started by
// posix_spawn with SEGSTREAM_INTERNAL_HDF5_PROBE naming the file) makes every metadata call segstream's
// readers make, plus the checks below, under an address-space limit, and exits. Only if it exits cleanly
// does the parent open the file; a signal, a limit or a timeout becomes exit 3 naming the file. The
// library is deterministic, so calls that returned in the probe return in the parent.
//
// Beyond what HDF5 itself checks, the probe refuses (the first failure is the message):
//   * datatypes other than standard integers, IEEE floats and strings, for numbers read by segstream
//     (a datatype with odd precision or offset is what the conversion crashes came from);
//   * attributes of more than kMaxAttributeBytes;
//   * datasets whose size is not backed by the file: uncompressed data beyond the file's end or larger than
//     the file, compressed data larger than deflate's maximum ratio allows, chunks outside the file;
//   * variable-length string datasets that fail to read, block by block.
#include "hdf5_probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/text.hpp"
#include "segstream/io/hdf5.hpp"

extern char** environ;

// Sanitizer builds (GCC names them with __SANITIZE_*__, clang with __has_feature) reserve terabytes of
// address space and bring their own allocator: the probe then sets no address-space limit and no checking
// malloc.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SEGSTREAM_PROBE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SEGSTREAM_PROBE_SANITIZED 1
#endif
#endif

namespace segstream::io::detail {
namespace {

constexpr const char* kProbeVariable = "SEGSTREAM_INTERNAL_HDF5_PROBE";
constexpr std::uint64_t kMaxAttributeBytes = std::uint64_t{64} << 20;
constexpr std::uint64_t kStringBlock = 1 << 16;  // strings read per probe read
// deflate's largest ratio is 1032:1 (zlib technical details); shuffle does not change sizes.
constexpr std::uint64_t kMaxCompressionRatio = 1032;
constexpr std::uint64_t kProbeAddressSpace = std::uint64_t{512} << 20;  // above what the child starts with

struct ProbeFailure {
  std::string message;
};

// The child's answer on its stdout: a record per string attribute, 'S' object name count value..., then
// 'M' message; every text is a 32-bit little-endian length and its bytes.
void put_text(std::string& out, std::string_view text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  const char bytes[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                         static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)};
  out.append(bytes, 4);
  out.append(text);
}

std::string g_answer;  // the child's records, written when it exits

constexpr std::uint64_t kMaxAnswerBytes = std::uint64_t{256} << 20;

[[noreturn]] void fail(std::string message) {
  throw ProbeFailure{std::move(message)};
}

// Standard little- or big-endian integers of 1 to 8 bytes and IEEE binary32/binary64: the types segstream
// converts. Anything else (a precision or offset other than the size, a non-IEEE float) is refused.
bool standard_number_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    if (size != 1 && size != 2 && size != 4 && size != 8) return false;
    return H5Tget_precision(type) == size * 8 && H5Tget_offset(type) == 0;
  }
  if (cls == H5T_FLOAT) {
    for (hid_t standard : {H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE})
      if (H5Tequal(type, standard) > 0) return true;
    return false;
  }
  return false;
}

// Elements times bytes into `out`; false when the product overflows 64 bits.
bool checked_product(const std::vector<hsize_t>& dims, std::uint64_t element, std::uint64_t& out) {
  std::uint64_t n = element;
  for (hsize_t d : dims)
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return false;
  out = n;
  return true;
}

class Prober {
 public:
  Prober(std::string path, std::uint64_t file_size)
      : path_(std::move(path)), shown_(escape_text(path_, 4096)), file_size_(file_size) {}

  void run() {
    const htri_t is_hdf5 = H5Fis_hdf5(path_.c_str());
    if (is_hdf5 == 0) fail(shown_ + ": not an HDF5 file");
    if (is_hdf5 < 0) fail(shown_ + ": cannot be read as HDF5 (" + hdf5_error_stack() + ")");
    file_ = Handle(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!file_) fail(shown_ + ": cannot open as HDF5 (truncated or corrupt?) (" + hdf5_error_stack() + ")");
    object("/");
    std::vector<std::string> paths;
    if (H5Lvisit(file_.get(), H5_INDEX_NAME, H5_ITER_INC, collect, &paths) < 0)
      fail(shown_ + ": cannot list its contents (" + hdf5_error_stack() + ")");
    std::set<haddr_t> seen;
    for (const std::string& p : paths) {
      const std::string where = "/" + p;
      if (H5Lexists(file_.get(), where.c_str(), H5P_DEFAULT) <= 0 ||
          H5Oexists_by_name(file_.get(), where.c_str(), H5P_DEFAULT) <= 0)
        continue;  // a dangling or external link: segstream's readers see it as missing
      H5O_info_t info;
      if (H5Oget_info_by_name(file_.get(), where.c_str(), &info, H5P_DEFAULT) < 0)
        fail(name(where) + ": cannot read its header (" + hdf5_error_stack() + ")");
      if (!seen.insert(info.addr).second) continue;
      object(where);
    }
  }

 private:
  static herr_t collect(hid_t /*group*/, const char* link, const H5L_info_t* /*info*/, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(link);
    return 0;
  }

  std::string name(const std::string& object) const { return shown_ + ": " + escape_text(object); }

  void object(const std::string& where) {
    Handle obj(H5Oopen(file_.get(), where.c_str(), H5P_DEFAULT), H5Oclose);
    if (!obj) fail(name(where) + ": cannot open (" + hdf5_error_stack() + ")");
    attributes(obj.get(), where);
    if (H5Iget_type(obj.get()) == H5I_DATASET) dataset(obj.get(), where);
  }

  void attributes(hid_t obj, const std::string& where) {
    H5O_info_t info;
    if (H5Oget_info(obj, &info) < 0)
      fail(name(where) + ": cannot list attributes (" + hdf5_error_stack() + ")");
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
      const ssize_t len =
          H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0 || len > 65535) fail(name(where) + ": cannot list attributes (" + hdf5_error_stack() + ")");
      std::string attr_name(static_cast<std::size_t>(len), '\0');
      if (H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, attr_name.data(), attr_name.size() + 1,
                             H5P_DEFAULT) < 0)
        fail(name(where) + ": cannot list attributes (" + hdf5_error_stack() + ")");
      attr_name.resize(std::strlen(attr_name.c_str()));
      const std::string what = name(where) + ": attribute '" + escape_text(attr_name) + "'";
      if (H5Aexists(obj, attr_name.c_str()) <= 0) fail(what + ": cannot be found by its name");
      Handle attr(H5Aopen(obj, attr_name.c_str(), H5P_DEFAULT), H5Aclose);
      if (!attr) fail(what + ": cannot open (" + hdf5_error_stack() + ")");
      Handle type(H5Aget_type(attr.get()), H5Tclose);
      Handle space(H5Aget_space(attr.get()), H5Sclose);
      if (!type || !space) fail(what + ": cannot read its type (" + hdf5_error_stack() + ")");
      const hssize_t n = H5Sget_simple_extent_npoints(space.get());
      if (n < 0) fail(what + ": cannot read its shape");
      const std::vector<std::string> strings =
          read_values(attr.get(), true, type.get(), static_cast<std::uint64_t>(n), what);
      if (H5Tget_class(type.get()) == H5T_STRING) {
        if (g_answer.size() > kMaxAnswerBytes)
          fail(name(where) + ": its attributes hold more than 256 MiB of text");
        g_answer += 'S';
        put_text(g_answer, where);
        put_text(g_answer, attr_name);
        put_text(g_answer, std::to_string(strings.size()));
        for (const std::string& v : strings) put_text(g_answer, v);
      }
    }
  }

  // Reads an attribute's (or a small dataset's) values the ways segstream's readers do; strings are
  // returned as the readers would return them.
  std::vector<std::string> read_values(hid_t obj, bool is_attr, hid_t type, std::uint64_t n,
                                       const std::string& what) {
    const H5T_class_t cls = H5Tget_class(type);
    const std::size_t size = H5Tget_size(type);
    auto read = [&](hid_t mem, void* buf) {
      const herr_t rc =
          is_attr ? H5Aread(obj, mem, buf) : H5Dread(obj, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      if (rc < 0) fail(what + ": cannot be read (" + hdf5_error_stack() + ")");
    };
    std::vector<std::string> strings;
    if (n == 0) return strings;
    if (cls == H5T_STRING) {
      if (H5Tis_variable_str(type) > 0) {
        if (n > kMaxAttributeBytes / sizeof(char*)) fail(what + fmt::format(": holds {} strings", n));
        std::vector<char*> ptrs(n, nullptr);
        Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5T_CSET_UTF8);
        read(mem.get(), ptrs.data());
        for (char* p : ptrs) strings.emplace_back(p != nullptr ? p : "");
        Handle space(is_attr ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose);
        H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
      } else {
        if (size == 0 || n > kMaxAttributeBytes / size)
          fail(what + fmt::format(": holds {} x {} bytes", n, size));
        std::vector<char> buf(n * size + 1);
        Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.get(), size);
        H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);  // as the readers: a full-width string keeps its last byte
        read(mem.get(), buf.data());
        for (std::uint64_t i = 0; i < n; ++i) {
          const char* p = buf.data() + i * size;
          strings.emplace_back(p, strnlen(p, size));
        }
      }
      return strings;
    }
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return strings;  // never converted by segstream, only named
    if (!standard_number_type(type))
      fail(what + fmt::format(": has a nonstandard number type ({} bytes, precision {}, offset {})", size,
                              H5Tget_precision(type), H5Tget_offset(type)));
    if (n > kMaxAttributeBytes / 8) fail(what + fmt::format(": holds {} numbers", n));
    std::vector<double> as_double(n);
    read(H5T_NATIVE_DOUBLE, as_double.data());
    std::vector<std::int64_t> as_int(n);
    read(H5T_NATIVE_INT64, as_int.data());
    return strings;
  }

  void dataset(hid_t ds, const std::string& where) {
    const std::string what = name(where);
    Handle type(H5Dget_type(ds), H5Tclose);
    Handle space(H5Dget_space(ds), H5Sclose);
    Handle plist(H5Dget_create_plist(ds), H5Pclose);
    if (!type || !space || !plist)
      fail(what + ": cannot read its type and shape (" + hdf5_error_stack() + ")");
    const H5T_class_t cls = H5Tget_class(type.get());
    const std::size_t element = H5Tget_size(type.get());
    if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && !standard_number_type(type.get()))
      fail(what + fmt::format(": has a nonstandard number type ({} bytes, precision {}, offset {})", element,
                              H5Tget_precision(type.get()), H5Tget_offset(type.get())));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail(what + ": cannot read its shape (" + hdf5_error_stack() + ")");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    const bool vlen = cls == H5T_STRING && H5Tis_variable_str(type.get()) > 0;
    // Variable-length strings are stored as 16-byte heap references.
    std::uint64_t logical = 0;
    if (!checked_product(dims, vlen ? 16 : element, logical))
      fail(what + ": its shape " + shape_text(dims) + " overflows");

    const int nfilters = H5Pget_nfilters(plist.get());
    const H5D_layout_t layout = H5Pget_layout(plist.get());
    const std::uint64_t stored = H5Dget_storage_size(ds);
    H5Eclear2(H5E_DEFAULT);
    if (layout == H5D_CONTIGUOUS) {
      const haddr_t offset = H5Dget_offset(ds);
      H5Eclear2(H5E_DEFAULT);
      if (offset != HADDR_UNDEF && (offset > file_size_ || logical > file_size_ - offset))
        fail(what + fmt::format(": its {} bytes at offset {} lie beyond the end of the file ({} bytes)",
                                logical, offset, file_size_));
      if (offset == HADDR_UNDEF && logical > file_size_)
        fail(what +
             fmt::format(": claims {} bytes that were never written (shape {})", logical, shape_text(dims)));
    } else if (layout == H5D_CHUNKED) {
      chunks(ds, plist.get(), dims, vlen ? 16 : element, nfilters, what);
    } else if (layout != H5D_COMPACT) {
      fail(what + ": has a storage layout segstream does not read");
    }
    const std::uint64_t backed =
        nfilters > 0 ? stored * kMaxCompressionRatio : std::max<std::uint64_t>(stored, file_size_);
    if (logical > backed + (std::uint64_t{1} << 20))
      fail(what + fmt::format(": its shape {} needs {} bytes but the file stores {}", shape_text(dims),
                              logical, stored));
    if (cls == H5T_STRING) strings(ds, type.get(), dims, what);
  }

  void chunks(hid_t ds, hid_t plist, const std::vector<hsize_t>& dims, std::uint64_t element, int nfilters,
              const std::string& what) {
    const int rank = static_cast<int>(dims.size());
    std::vector<hsize_t> chunk(dims.size(), 0);
    if (H5Pget_chunk(plist, rank, chunk.data()) != rank) fail(what + ": cannot read its chunk shape");
    std::uint64_t grid = 1;
    for (std::size_t i = 0; i < dims.size(); ++i) {
      if (chunk[i] == 0) fail(what + ": has a chunk of size 0");
      const std::uint64_t along = dims[i] / chunk[i] + (dims[i] % chunk[i] != 0);
      if (along != 0 && grid > (std::uint64_t{1} << 24) / along)
        fail(what + fmt::format(": its shape {} in chunks of {} is more than 16M chunks", shape_text(dims),
                                shape_text(chunk)));
      grid *= along;
    }
    std::uint64_t chunk_bytes = 0;
    if (!checked_product(chunk, element, chunk_bytes) || chunk_bytes > (std::uint64_t{4} << 30))
      fail(what + ": its chunk shape " + shape_text(chunk) + " is larger than HDF5 allows");
    if (grid == 0) return;
    // Chunks are visited by coordinate, every grid cell once (a lookup in the chunk index each).
    std::vector<hsize_t> coord(dims.size(), 0);
    for (std::uint64_t cell = 0; cell < grid; ++cell) {
      std::uint64_t rest = cell;
      for (std::size_t i = dims.size(); i-- > 0;) {
        const std::uint64_t along = dims[i] / chunk[i] + (dims[i] % chunk[i] != 0);
        coord[i] = (rest % along) * chunk[i];
        rest /= along;
      }
      unsigned mask = 0;
      haddr_t addr = HADDR_UNDEF;
      hsize_t size = 0;
      if (H5Dget_chunk_info_by_coord(ds, coord.data(), &mask, &addr, &size) < 0) {
        H5Eclear2(H5E_DEFAULT);
        continue;  // not allocated: reads give the fill value
      }
      if (addr == HADDR_UNDEF) continue;
      if (addr > file_size_ || size > file_size_ - addr)
        fail(what +
             fmt::format(": a chunk of {} bytes at offset {} lies beyond the end of the file ({} bytes)",
                         size, addr, file_size_));
      if (nfilters == 0 && size != chunk_bytes)
        fail(what +
             fmt::format(": an uncompressed chunk stores {} bytes, its shape needs {}", size, chunk_bytes));
    }
  }

  // Variable- and fixed-length strings, read block by block as segstream's readers read them whole.
  void strings(hid_t ds, hid_t type, const std::vector<hsize_t>& dims, const std::string& what) {
    if (dims.size() != 1) {
      std::uint64_t n = 1;
      for (hsize_t d : dims) n *= d;
      read_values(ds, false, type, n, what);
      return;
    }
    const bool vlen = H5Tis_variable_str(type) > 0;
    const std::size_t width = H5Tget_size(type);
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    if (vlen) {
      H5Tset_size(mem.get(), H5T_VARIABLE);
      H5Tset_cset(mem.get(), H5T_CSET_UTF8);
    } else {
      H5Tset_size(mem.get(), width);
      H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
    }
    Handle file_space(H5Dget_space(ds), H5Sclose);
    for (hsize_t start = 0; start < dims[0]; start += kStringBlock) {
      const hsize_t count = std::min<hsize_t>(kStringBlock, dims[0] - start);
      Handle mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
      if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) < 0)
        fail(what + ": cannot select its strings");
      if (vlen) {
        std::vector<char*> ptrs(count, nullptr);
        if (H5Dread(ds, mem.get(), mem_space.get(), file_space.get(), H5P_DEFAULT, ptrs.data()) < 0)
          fail(what +
               fmt::format(": strings {}..{} cannot be read ({})", start, start + count, hdf5_error_stack()));
        H5Dvlen_reclaim(mem.get(), mem_space.get(), H5P_DEFAULT, ptrs.data());
      } else {
        std::vector<char> buf(count * width + 1);
        if (H5Dread(ds, mem.get(), mem_space.get(), file_space.get(), H5P_DEFAULT, buf.data()) < 0)
          fail(what +
               fmt::format(": strings {}..{} cannot be read ({})", start, start + count, hdf5_error_stack()));
      }
    }
  }

  static std::string shape_text(const std::vector<hsize_t>& dims) {
    std::string out = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? " x " : "") + std::to_string(dims[i]);
    return out + "]";
  }

  std::string path_;
  std::string shown_;  // the path as messages print it
  std::uint64_t file_size_;
  Handle file_;
};

// The child's side: probe, print the first failure on stdout, exit 0 (fine) or 3 (refused).
[[noreturn]] void probe_and_exit(const char* path) {
#ifndef SEGSTREAM_PROBE_SANITIZED
  // Address space: what the process has mapped now plus kProbeAddressSpace (sanitizers reserve terabytes
  // of shadow memory, so their builds run the probe without a limit).
  if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
    unsigned long pages = 0;
    if (std::fscanf(statm, "%lu", &pages) == 1) {
      const rlim_t limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) +
                           static_cast<rlim_t>(kProbeAddressSpace);
      const rlimit rl{limit, limit};
      ::setrlimit(RLIMIT_AS, &rl);
    }
    std::fclose(statm);
  }
#endif
  quiet_hdf5_errors();
  // No free lists: every block HDF5 releases goes back to malloc at once, where the parent's environment
  // for the child (glibc's malloc check, see probe_untrusted_file) finds a write past its end, the
  // signature of a corrupt variable-length length, even when the write itself did not fault.
  H5set_free_list_limits(0, 0, 0, 0, 0, 0);
  int code = 0;
  std::string message;
  const std::string shown = escape_text(path, 4096);
  try {
    struct stat st {};
    if (::stat(path, &st) != 0) throw ProbeFailure{shown + ": cannot read (" + std::strerror(errno) + ")"};
    Prober(path, static_cast<std::uint64_t>(st.st_size)).run();
    H5garbage_collect();  // blocks still held are checked as they are freed
  } catch (const ProbeFailure& failure) {
    code = 3;
    message = failure.message;
  } catch (const std::bad_alloc&) {
    code = 3;
    message = shown + ": reading its metadata needs more memory than any segstream file does";
  } catch (const std::exception& e) {
    code = 3;
    message = shown + ": " + e.what();
  }
  std::string answer = code == 0 ? std::move(g_answer) : std::string();
  answer += 'M';
  put_text(answer, message);
  std::size_t written = 0;
  while (written < answer.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, answer.data() + written, answer.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  std::_Exit(code);
}

// Runs before main in any executable that links this file: a probe child never reaches main.
__attribute__((constructor)) void hdf5_probe_entry() {
  const char* path = std::getenv(kProbeVariable);
  if (path != nullptr) probe_and_exit(path);
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

double probe_time_bound_seconds(std::uint64_t file_bytes) {
  return 30.0 + 4.0 * static_cast<double>(file_bytes) / static_cast<double>(std::uint64_t{1} << 30);
}

namespace {

// The child's answer: its string attributes and its message; false when the bytes are not an answer.
bool parse_answer(std::string_view bytes, ProbedStrings& strings, std::string& message) {
  std::size_t at = 0;
  const auto text = [&](std::string& out) {
    if (bytes.size() - at < 4) return false;
    const auto b = [&](std::size_t i) {
      return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i]));
    };
    const std::uint32_t n = b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24;
    at += 4;
    if (bytes.size() - at < n) return false;
    out.assign(bytes.substr(at, n));
    at += n;
    return true;
  };
  while (at < bytes.size()) {
    const char tag = bytes[at++];
    if (tag == 'M') return text(message) && at == bytes.size();
    if (tag != 'S') return false;
    std::string object, name, count;
    if (!text(object) || !text(name) || !text(count)) return false;
    const std::uint64_t n = std::strtoull(count.c_str(), nullptr, 10);
    if (n > bytes.size()) return false;
    std::vector<std::string> values(n);
    for (std::string& v : values)
      if (!text(v)) return false;
    strings.values[{object, name}] = std::move(values);
  }
  return false;
}

}  // namespace

std::shared_ptr<const ProbedStrings> probe_untrusted_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw InputError(escape_text(path, 4096) + ": cannot read (" + std::strerror(errno) + ")");
  // A file that passed once in this process is not probed again (same device, inode, size and time).
  using Key = std::tuple<dev_t, ino_t, off_t, std::int64_t, std::int64_t>;
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const ProbedStrings>> passed;
  const Key key{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  {
    std::lock_guard lock(mutex);
    if (const auto it = passed.find(key); it != passed.end()) return it->second;
  }

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw ResourceError(path + ": cannot start the process that checks it (" + std::strerror(errno) + ")");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> env_text;
  constexpr const char* kLocking = "HDF5_USE_FILE_LOCKING=";
  const auto starts = [](const char* e, const char* prefix) {
    return std::strncmp(e, prefix, std::strlen(prefix)) == 0;
  };
  std::string preload = "LD_PRELOAD=", tunables = "GLIBC_TUNABLES=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (starts(*e, "LD_PRELOAD="))
      preload += std::string(*e + 11) + ":";
    else if (starts(*e, "GLIBC_TUNABLES="))
      tunables += std::string(*e + 15) + ":";
    else if (!starts(*e, kProbeVariable) && !starts(*e, kLocking))
      env_text.emplace_back(*e);
  }
#ifndef SEGSTREAM_PROBE_SANITIZED
  // glibc's checking malloc (a guard byte after every block, checked when it is freed): a corrupt length
  // in a variable-length string makes libhdf5 write past a buffer without always faulting, and the check
  // turns that into the abort the parent reports. Sanitizer builds have their own allocator.
  preload += "libc_malloc_debug.so.0";
  tunables += "glibc.malloc.check=3";
#endif
  if (preload.back() == ':') preload.pop_back();
  if (tunables.back() == ':') tunables.pop_back();
  if (preload != "LD_PRELOAD=") env_text.push_back(preload);
  if (tunables != "GLIBC_TUNABLES=") env_text.push_back(tunables);
  env_text.push_back(std::string(kProbeVariable) + "=" + path);
  // The child only reads, and the file may be open for writing in this process (a test reading back what
  // it writes): HDF5's lock would refuse the child.
  env_text.push_back(std::string(kLocking) + "FALSE");
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = "segstream-hdf5-probe";
  char* argv[] = {arg0.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw ResourceError(path + ": cannot start the process that checks it (" + std::strerror(rc) + ")");
  }

  const double bound = probe_time_bound_seconds(static_cast<std::uint64_t>(st.st_size));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(bound);
  std::string output;
  bool timed_out = false, interrupted = false;
  for (;;) {
    if (interrupt_requested()) {  // the run was told to stop: so is the check
      interrupted = true;
      break;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 200)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;  // the child closed its end: it is exiting
    if (output.size() <= kMaxAnswerBytes + (std::uint64_t{1} << 20))
      output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  if (timed_out || interrupted) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw_if_interrupted();
    throw InputError(
        fmt::format("{}: reading its metadata did not finish within {:.0f} s; the file is corrupt "
                    "or built to hang HDF5",
                    escape_text(path, 4096), bound));
  }
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw InternalError(path + ": lost the process that checks it");
  }
  auto strings = std::make_shared<ProbedStrings>();
  std::string message;
  const bool answered = parse_answer(output, *strings, message);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && answered) {
    std::lock_guard lock(mutex);
    passed.emplace(key, strings);
    return strings;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && answered && !message.empty())
    throw InputError(message);
  if (WIFSIGNALED(status))
    throw InputError(
        fmt::format("{}: is corrupt: HDF5 crashed ({}) reading its metadata in the process that "
                    "checks it; the file is refused",
                    escape_text(path, 4096), signal_name(WTERMSIG(status))));
  throw InputError(
      fmt::format("{}: is corrupt: HDF5 failed reading its metadata (exit {}) in the process that "
                  "checks it; the file is refused",
                  escape_text(path, 4096), WIFEXITED(status) ? WEXITSTATUS(status) : -1));
}

}  // namespace segstream::io::detail
