// A small RAII layer over the HDF5 C API.
//
// Every handle is move-only and closes itself; every call is checked, and a failure becomes an exception
// whose text names the file and object and carries HDF5's own error stack. HDF5's automatic error printing
// is switched off per thread (the library keeps error stacks per thread), so nothing reaches stderr behind
// our backs. The Debian build of libhdf5 is thread-safe: it serialises calls under one global lock, which is
// why segstream reads from one dedicated thread instead of many.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "segstream/core/error.hpp"

namespace segstream::io {

// Switches off HDF5's automatic error printing for the calling thread (idempotent, cheap).
void quiet_hdf5_errors();

// HDF5's error stack of the calling thread as one line (innermost message last), then clears it.
std::string hdf5_error_stack();

// Throws E with "context: <HDF5 error stack>".
template <class E>
[[noreturn]] void throw_hdf5(const std::string& context) {
  const std::string stack = hdf5_error_stack();
  throw E(stack.empty() ? context : context + " (" + stack + ")");
}

// A move-only owner of one HDF5 identifier, closed by the matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ >= 0; }

  // Closes now and reports failure (a close can be where buffered data first hits a full disk).
  herr_t close() noexcept {
    herr_t status = 0;
    if (id_ >= 0 && closer_ != nullptr) status = closer_(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }
  void reset() noexcept { (void)close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// The element types segstream stores, with their HDF5 native types and names.
enum class ElementType : std::uint8_t {
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kString,
  kOther
};
const char* element_type_name(ElementType t);
// Bytes per element of a number type.
std::size_t element_size(ElementType t);

template <class T>
constexpr ElementType element_type_of() {
  if constexpr (std::is_same_v<T, std::uint8_t>)
    return ElementType::kUint8;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return ElementType::kUint16;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return ElementType::kUint32;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return ElementType::kUint64;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return ElementType::kInt8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return ElementType::kInt16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ElementType::kInt32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return ElementType::kInt64;
  else if constexpr (std::is_same_v<T, float>)
    return ElementType::kFloat32;
  else if constexpr (std::is_same_v<T, double>)
    return ElementType::kFloat64;
  else
    static_assert(sizeof(T) == 0, "unsupported element type");
}

// The native HDF5 memory type of an element type (not to be closed).
hid_t native_type(ElementType t);

// Classifies a stored HDF5 datatype.
ElementType classify_type(hid_t type);

class Dataset;
class Group;

// `bytes` bytes at file offset `offset` belong at `dst` (the direct read path, see Dataset).
struct FileSegment {
  std::uint64_t offset;
  std::uint64_t bytes;
  void* dst;
};

namespace detail {
struct DirectLayout;
class DatasetDigest;  // the running digest of a dataset being written (fingerprint.hpp)
struct FileDigests;
struct ProbedStrings;
}  // namespace detail

// Attributes of a file, group or dataset: scalar numbers, strings and string lists.
class AttributeHolder {
 public:
  bool has_attribute(const std::string& name) const;
  std::vector<std::string> attribute_names() const;

  void set_attribute(const std::string& name, const std::string& value) const;
  void set_attribute(const std::string& name, const char* value) const {
    set_attribute(name, std::string(value));
  }
  void set_attribute(const std::string& name, std::int64_t value) const;
  void set_attribute(const std::string& name, double value) const;
  void set_attribute(const std::string& name, const std::vector<std::string>& values) const;

  // Readers throw InputError naming the object when the attribute is missing or of another kind.
  std::string string_attribute(const std::string& name) const;
  std::int64_t int_attribute(const std::string& name) const;
  // An int64 Unix time, refused (InputError) outside the times segstream reads (core/time.hpp).
  std::int64_t time_attribute(const std::string& name) const;
  double float_attribute(const std::string& name) const;
  std::vector<std::string> string_list_attribute(const std::string& name) const;

  // A printable rendering of any attribute (for `segstream inspect`).
  std::string attribute_as_text(const std::string& name) const;

 protected:
  AttributeHolder(std::string file, std::string object)
      : file_(std::move(file)), object_(std::move(object)) {}
  virtual ~AttributeHolder() = default;
  virtual hid_t id() const = 0;
  std::string where() const { return file_ + ": " + object_; }
  // The strings of `name` as the probe's child read them (File::open), or null.
  const std::vector<std::string>* probed_strings(const std::string& name) const;

  std::string file_;
  std::string object_;
  std::shared_ptr<const detail::ProbedStrings> probed_;  // null for files this process writes
};

// Options for a new dataset. Rows (the first dimension) may grow when `extendible`.
struct DatasetOptions {
  std::vector<hsize_t> dims;   // initial shape
  std::vector<hsize_t> chunk;  // chunk shape; empty = contiguous
  bool extendible = false;     // first dimension unlimited (requires a chunk shape)
  int deflate_level = 0;       // 0 = no compression
};

class Dataset : public AttributeHolder {
 public:
  Dataset() : AttributeHolder("", "") {}
  Dataset(Handle handle, std::string file, std::string name)
      : AttributeHolder(std::move(file), std::move(name)), handle_(std::move(handle)) {}

  const std::string& file() const { return file_; }
  const std::string& name() const { return object_; }
  std::vector<hsize_t> dims() const;
  std::vector<hsize_t> chunk_dims() const;  // empty when contiguous
  ElementType element_type() const;
  std::uint64_t rows() const;
  std::uint64_t storage_bytes() const;

  // Throws InputError unless the dataset has this element type and rank ("file: dataset /x has type
  // int32, expected float32").
  void expect(ElementType type, int rank) const;

  // Reads rows [start, start + count) into dst (row-major, count × columns elements). dst may be pinned.
  template <class T>
  void read_rows(std::uint64_t start, std::uint64_t count, T* dst) const {
    read_rows_raw(start, count, element_type_of<T>(), dst);
  }
  // Writes rows [start, start + count) from src, growing an extendible dataset as needed.
  template <class T>
  void write_rows(std::uint64_t start, std::uint64_t count, const T* src) const {
    write_rows_raw(start, count, element_type_of<T>(), src);
  }
  // The same with the element type given at run time (dst holds elements of `type`).
  void read_rows(std::uint64_t start, std::uint64_t count, ElementType type, void* dst) const {
    read_rows_raw(start, count, type, dst);
  }
  void write_rows(std::uint64_t start, std::uint64_t count, ElementType type, const void* src) const {
    write_rows_raw(start, count, type, src);
  }
  // Whole-dataset helpers for small datasets.
  template <class T>
  std::vector<T> read_all() const {
    const auto d = dims();
    std::uint64_t n = 1;
    for (hsize_t x : d) n *= x;
    std::vector<T> out(n);
    if (!d.empty() && d[0] > 0) read_rows(0, d[0], out.data());
    return out;
  }
  std::vector<std::string> read_strings() const;

  // The direct read path. A dataset of a file opened for reading, stored uncompressed in the native byte
  // order, contiguous or in chunks that each hold whole rows, can be read without HDF5: its bytes are where
  // HDF5's chunk index says, and plain preads, several in flight, fetch them (libhdf5 issues one read at a
  // time under its global lock, which leaves a cold disk idle). Appends the pieces of rows
  // [start, start + count) to `out` and returns true, or returns false when the dataset does not qualify
  // (the caller then reads through HDF5). `dst` is where row `start` goes.
  bool plan_direct_read(std::uint64_t start, std::uint64_t count, ElementType type, void* dst,
                        std::vector<FileSegment>& out) const;
  // The descriptor the direct path reads from (-1 when there is none).
  int direct_fd() const;

  hid_t id() const override { return handle_.get(); }

 private:
  friend class File;
  void read_rows_raw(std::uint64_t start, std::uint64_t count, ElementType type, void* dst) const;
  void write_rows_raw(std::uint64_t start, std::uint64_t count, ElementType type, const void* src) const;
  Handle handle_;
  std::shared_ptr<detail::DirectLayout> direct_;   // null: read through HDF5 only
  std::shared_ptr<detail::DatasetDigest> digest_;  // a dataset of a file being written: its content digest
};

class Group : public AttributeHolder {
 public:
  Group(Handle handle, std::string file, std::string name)
      : AttributeHolder(std::move(file), std::move(name)), handle_(std::move(handle)) {}
  hid_t id() const override { return handle_.get(); }

 private:
  friend class File;
  Handle handle_;
};

// An open HDF5 file. open() validates that the path exists and is an HDF5 file; create() truncates.
//
// A created file fingerprints its content: datasets are hashed (XXH3-64) as their rows are written, and
// close() stores "xxh3-64:<16 hex digits>" over every dataset's name, type, shape and data and every
// attribute but the provenance ones (created_by, provenance, fingerprint) in the root attribute
// `fingerprint`. Equal fingerprints mean equal content, whatever build or run wrote the files; a run that
// reads the file records it as its input's fingerprint (provenance.hpp).
class File : public AttributeHolder {
 public:
  static File open(const std::filesystem::path& path);
  // Errors name `display_name` when given (the final name of an atomic output rather than its temporary).
  static File create(const std::filesystem::path& path, const std::string& display_name = "");

  const std::string& path() const { return file_; }
  hid_t id() const override { return handle_.get(); }

  bool has(const std::string& object_path) const;  // a link exists at this absolute path
  bool is_dataset(const std::string& object_path) const;
  Dataset dataset(const std::string& name) const;  // InputError "file: dataset /x is missing"
  Dataset dataset(const std::string& name, ElementType type, int rank) const;  // and expect()
  Group create_group(const std::string& name) const;
  Group group(const std::string& name) const;
  Dataset create_dataset(const std::string& name, ElementType type, const DatasetOptions& options) const;
  template <class T>
  Dataset create_dataset(const std::string& name, const DatasetOptions& options) const {
    return create_dataset(name, element_type_of<T>(), options);
  }
  // Creates a 1-D dataset of variable-length UTF-8 strings.
  Dataset write_strings(const std::string& name, const std::vector<std::string>& values) const;

  // All datasets in the file, depth first, as absolute paths.
  std::vector<std::string> dataset_paths() const;

  // Stores the content fingerprint (created files), flushes and closes; failures (disk full, file-size
  // limit) throw ResourceError.
  void close();

 private:
  File(Handle handle, std::string path) : AttributeHolder(std::move(path), "/"), handle_(std::move(handle)) {}
  Handle handle_;
  std::shared_ptr<int> read_fd_;  // a plain descriptor for the direct read path (files opened for reading)
  std::shared_ptr<detail::FileDigests> digests_;  // created files: the digests of their datasets
};

}  // namespace segstream::io
