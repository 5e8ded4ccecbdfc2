#include "segstream/io/hdf5.hpp"

#include "fingerprint.hpp"
#include "hdf5_probe.hpp"
#include "parallel_pread.hpp"
#include "segstream/core/text.hpp"
#include "segstream/core/time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace segstream::io {

namespace detail {
// Where a dataset's rows are in the file, for reads that bypass HDF5 (Dataset::plan_direct_read).
struct DirectLayout {
  std::shared_ptr<int> fd;
  ElementType type;
  std::uint64_t rows;
  std::uint64_t row_bytes;
  std::uint64_t base = 0;                    // contiguous layout: file offset of row 0
  std::uint64_t chunk_rows = 0;              // chunked layout: rows per chunk (0 = contiguous)
  std::mutex mutex;                          // guards chunk_address
  std::vector<std::uint64_t> chunk_address;  // kUnknown until looked up
  static constexpr std::uint64_t kUnknown = ~std::uint64_t{0};
  static constexpr std::uint64_t kUnallocated = ~std::uint64_t{0} - 1;
};
}  // namespace detail

namespace {

// HDF5's descriptions of I/O failures span lines and carry buffer addresses and times; keep what a person
// needs: the operating system's message when there is one, else the first clause.
std::string clean_description(std::string text) {
  const std::string marker = "error message = '";
  if (const auto at = text.find(marker); at != std::string::npos) {
    const auto end = text.find('\'', at + marker.size());
    return text.substr(at + marker.size(),
                       end == std::string::npos ? std::string::npos : end - at - marker.size());
  }
  if (const auto at = text.find(": time ="); at != std::string::npos) text.resize(at);
  if (const auto at = text.find(", name ="); at != std::string::npos) text.resize(at);
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* err, void* data) {
  auto* messages = static_cast<std::vector<std::string>*>(data);
  std::string text = clean_description(err->desc != nullptr ? err->desc : "");
  if (!text.empty() && std::find(messages->begin(), messages->end(), text) == messages->end())
    messages->push_back(std::move(text));
  return 0;
}

Handle check_id(hid_t id, Handle::Closer closer, const std::string& context) {
  if (id < 0) throw_hdf5<InputError>(context);
  return Handle(id, closer);
}

std::size_t element_count(const std::vector<hsize_t>& dims) {
  std::size_t n = 1;
  for (hsize_t d : dims) n *= static_cast<std::size_t>(d);
  return n;
}

std::string dims_text(const std::vector<hsize_t>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? " x " : "") + std::to_string(dims[i]);
  return out + "]";
}

// A variable-length UTF-8 string type (what h5py reads back as `str`).
Handle vlen_string_type() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

// Attributes are segstream's metadata, written as UTF-8 text: bytes that are not (a damaged file) are
// refused here rather than copied into the provenance and JSON of the outputs. String datasets hold data
// (customer ids as the source had them) and are taken as they are.
void check_text(const std::vector<std::string>& values, bool is_attr, const std::string& where) {
  if (!is_attr) return;
  for (const std::string& v : values)
    if (!valid_utf8(v)) throw InputError(where + ": is not UTF-8 text (\"" + escape_text(v, 60) + "\")");
}

// Reads a string or list of strings stored as fixed-length or variable-length strings in an attribute
// (is_attr) or dataset.
std::vector<std::string> read_string_values(hid_t obj, bool is_attr, const std::string& where) {
  Handle type(is_attr ? H5Aget_type(obj) : H5Dget_type(obj), H5Tclose);
  Handle space(is_attr ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose);
  if (!type || !space) throw_hdf5<InputError>(where + ": cannot read its type");
  if (H5Tget_class(type.get()) != H5T_STRING) throw InputError(where + ": expected a string");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<std::string> out;
  if (n <= 0) return out;
  out.reserve(static_cast<std::size_t>(n));
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
    Handle mem = vlen_string_type();
    const herr_t rc = is_attr ? H5Aread(obj, mem.get(), ptrs.data())
                              : H5Dread(obj, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data());
    if (rc < 0) throw_hdf5<InputError>(where + ": cannot read strings");
    for (char* p : ptrs) out.emplace_back(p != nullptr ? p : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    check_text(out, is_attr, where);
  } else {
    const std::size_t width = H5Tget_size(type.get());
    std::vector<char> buf(width * static_cast<std::size_t>(n) + 1, '\0');
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), width);
    // Padded, not terminated: a NULLTERM memory type of the same width keeps one byte for the NUL, and
    // a full-width string (h5py's fixed-length bytes are NULLPAD) would lose its last character.
    H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
    const herr_t rc = is_attr ? H5Aread(obj, mem.get(), buf.data())
                              : H5Dread(obj, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
    if (rc < 0) throw_hdf5<InputError>(where + ": cannot read strings");
    for (hssize_t i = 0; i < n; ++i) {
      const char* p = buf.data() + static_cast<std::size_t>(i) * width;
      out.emplace_back(p, strnlen(p, width));
    }
    check_text(out, is_attr, where);
  }
  return out;
}

// The direct-read description of dataset `ds`, or null when it must be read through HDF5: not a plain
// number type in native byte order, compressed or filtered, chunks that split rows, or storage that is not
// allocated yet.
std::shared_ptr<detail::DirectLayout> direct_layout(hid_t ds, const std::shared_ptr<int>& fd) {
  Handle type(H5Dget_type(ds), H5Tclose);
  const ElementType element = classify_type(type.get());
  if (element == ElementType::kString || element == ElementType::kOther) return nullptr;
  if (H5Tequal(type.get(), native_type(element)) <= 0) return nullptr;
  Handle space(H5Dget_space(ds), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1) return nullptr;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  auto layout = std::make_shared<detail::DirectLayout>();
  layout->fd = fd;
  layout->type = element;
  layout->rows = dims[0];
  layout->row_bytes = H5Tget_size(type.get());
  for (int i = 1; i < rank; ++i) layout->row_bytes *= dims[static_cast<std::size_t>(i)];
  Handle plist(H5Dget_create_plist(ds), H5Pclose);
  switch (H5Pget_layout(plist.get())) {
    case H5D_CONTIGUOUS: {
      const haddr_t base = H5Dget_offset(ds);
      H5Eclear2(H5E_DEFAULT);
      if (base == HADDR_UNDEF) return nullptr;
      layout->base = base;
      return layout;
    }
    case H5D_CHUNKED: {
      if (H5Pget_nfilters(plist.get()) != 0) return nullptr;
      std::vector<hsize_t> chunk(static_cast<std::size_t>(rank));
      H5Pget_chunk(plist.get(), rank, chunk.data());
      for (int i = 1; i < rank; ++i)
        if (chunk[static_cast<std::size_t>(i)] != dims[static_cast<std::size_t>(i)]) return nullptr;
      layout->chunk_rows = chunk[0];
      layout->chunk_address.assign((dims[0] + chunk[0] - 1) / chunk[0], detail::DirectLayout::kUnknown);
      return layout;
    }
    default:
      return nullptr;
  }
}

}  // namespace

void quiet_hdf5_errors() {
  thread_local bool quiet = false;
  if (!quiet) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    quiet = true;
  }
}

std::string hdf5_error_stack() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &messages);
  H5Eclear2(H5E_DEFAULT);
  // Keep the three innermost messages: the outer ones only repeat which API call failed.
  if (messages.size() > 3) messages.erase(messages.begin(), messages.end() - 3);
  std::string out;
  for (const auto& m : messages) out += (out.empty() ? "" : "; ") + m;
  return out;
}

const char* element_type_name(ElementType t) {
  switch (t) {
    case ElementType::kUint8:
      return "uint8";
    case ElementType::kUint16:
      return "uint16";
    case ElementType::kUint32:
      return "uint32";
    case ElementType::kUint64:
      return "uint64";
    case ElementType::kInt8:
      return "int8";
    case ElementType::kInt16:
      return "int16";
    case ElementType::kInt32:
      return "int32";
    case ElementType::kInt64:
      return "int64";
    case ElementType::kFloat32:
      return "float32";
    case ElementType::kFloat64:
      return "float64";
    case ElementType::kString:
      return "string";
    case ElementType::kOther:
      return "other";
  }
  return "other";
}

std::size_t element_size(ElementType t) {
  switch (t) {
    case ElementType::kUint8:
    case ElementType::kInt8:
      return 1;
    case ElementType::kUint16:
    case ElementType::kInt16:
      return 2;
    case ElementType::kUint32:
    case ElementType::kInt32:
    case ElementType::kFloat32:
      return 4;
    case ElementType::kUint64:
    case ElementType::kInt64:
    case ElementType::kFloat64:
      return 8;
    default:
      break;
  }
  throw InternalError(std::string("no element size for ") + element_type_name(t));
}

hid_t native_type(ElementType t) {
  switch (t) {
    case ElementType::kUint8:
      return H5T_NATIVE_UINT8;
    case ElementType::kUint16:
      return H5T_NATIVE_UINT16;
    case ElementType::kUint32:
      return H5T_NATIVE_UINT32;
    case ElementType::kUint64:
      return H5T_NATIVE_UINT64;
    case ElementType::kInt8:
      return H5T_NATIVE_INT8;
    case ElementType::kInt16:
      return H5T_NATIVE_INT16;
    case ElementType::kInt32:
      return H5T_NATIVE_INT32;
    case ElementType::kInt64:
      return H5T_NATIVE_INT64;
    case ElementType::kFloat32:
      return H5T_NATIVE_FLOAT;
    case ElementType::kFloat64:
      return H5T_NATIVE_DOUBLE;
    default:
      break;
  }
  throw InternalError(std::string("no native HDF5 type for ") + element_type_name(t));
}

ElementType classify_type(hid_t type) {
  const std::size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
      switch (size) {
        case 1:
          return is_signed ? ElementType::kInt8 : ElementType::kUint8;
        case 2:
          return is_signed ? ElementType::kInt16 : ElementType::kUint16;
        case 4:
          return is_signed ? ElementType::kInt32 : ElementType::kUint32;
        case 8:
          return is_signed ? ElementType::kInt64 : ElementType::kUint64;
        default:
          return ElementType::kOther;
      }
    }
    case H5T_FLOAT:
      return size == 4 ? ElementType::kFloat32 : size == 8 ? ElementType::kFloat64 : ElementType::kOther;
    case H5T_STRING:
      return ElementType::kString;
    default:
      return ElementType::kOther;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Attributes

bool AttributeHolder::has_attribute(const std::string& name) const {
  quiet_hdf5_errors();
  return H5Aexists(id(), name.c_str()) > 0;
}

std::vector<std::string> AttributeHolder::attribute_names() const {
  quiet_hdf5_errors();
  std::vector<std::string> names;
  H5O_info_t info;
  if (H5Oget_info(id(), &info) < 0) throw_hdf5<InputError>(where() + ": cannot list attributes");
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t len = H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) throw_hdf5<InputError>(where() + ": cannot list attributes");
    std::string name(static_cast<std::size_t>(len), '\0');
    H5Aget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

namespace {
void write_attribute(hid_t obj, const std::string& where, const std::string& name, hid_t file_type,
                     hid_t mem_type, const std::vector<hsize_t>& dims, const void* data) {
  quiet_hdf5_errors();
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle attr(H5Acreate2(obj, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr || H5Awrite(attr.get(), mem_type, data) < 0)
    throw_hdf5<ResourceError>(where + ": cannot write attribute '" + name + "'");
}
}  // namespace

void AttributeHolder::set_attribute(const std::string& name, const std::string& value) const {
  Handle type = vlen_string_type();
  const char* ptr = value.c_str();
  write_attribute(id(), where(), name, type.get(), type.get(), {}, &ptr);
}

void AttributeHolder::set_attribute(const std::string& name, std::int64_t value) const {
  write_attribute(id(), where(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value);
}

void AttributeHolder::set_attribute(const std::string& name, double value) const {
  write_attribute(id(), where(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value);
}

void AttributeHolder::set_attribute(const std::string& name, const std::vector<std::string>& values) const {
  Handle type = vlen_string_type();
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  write_attribute(id(), where(), name, type.get(), type.get(), {values.size()}, ptrs.data());
}

namespace {
Handle open_attribute(hid_t obj, const std::string& where, const std::string& name) {
  quiet_hdf5_errors();
  if (H5Aexists(obj, name.c_str()) <= 0) throw InputError(where + ": attribute '" + name + "' is missing");
  return check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose,
                  where + ": cannot open attribute " + name);
}

template <class T>
std::vector<T> read_numeric_attribute(hid_t attr, const std::string& what) {
  Handle type(H5Aget_type(attr), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) throw InputError(what + " is not numeric");
  Handle space(H5Aget_space(attr), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<T> out(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
  if (!out.empty() && H5Aread(attr, native_type(element_type_of<T>()), out.data()) < 0)
    throw_hdf5<InputError>("cannot read " + what);
  return out;
}
}  // namespace

const std::vector<std::string>* AttributeHolder::probed_strings(const std::string& name) const {
  if (!probed_) return nullptr;
  const auto it = probed_->values.find({object_, name});
  return it == probed_->values.end() ? nullptr : &it->second;
}

std::string AttributeHolder::string_attribute(const std::string& name) const {
  const std::vector<std::string> values = string_list_attribute(name);
  if (values.size() != 1) throw InputError(where() + ": attribute '" + name + "' is not a single string");
  return values[0];
}

std::vector<std::string> AttributeHolder::string_list_attribute(const std::string& name) const {
  Handle attr = open_attribute(id(), where(), name);
  const std::string what = where() + ": attribute '" + name + "'";
  // An input file's strings come from the child that probed it: this process reads no global heap.
  if (const std::vector<std::string>* probed = probed_strings(name)) {
    check_text(*probed, true, what);
    return *probed;
  }
  return read_string_values(attr.get(), true, what);
}

std::int64_t AttributeHolder::int_attribute(const std::string& name) const {
  Handle attr = open_attribute(id(), where(), name);
  auto v = read_numeric_attribute<std::int64_t>(attr.get(), where() + ": attribute '" + name + "'");
  if (v.size() != 1) throw InputError(where() + ": attribute '" + name + "' is not a single number");
  return v[0];
}

std::int64_t AttributeHolder::time_attribute(const std::string& name) const {
  const std::int64_t t = int_attribute(name);
  if (!time_in_range(t))
    throw InputError(fmt::format("{}: attribute '{}' is {}, not a time from {} (a damaged file?)", where(),
                                 name, t, kTimeRangeText));
  return t;
}

double AttributeHolder::float_attribute(const std::string& name) const {
  Handle attr = open_attribute(id(), where(), name);
  auto v = read_numeric_attribute<double>(attr.get(), where() + ": attribute '" + name + "'");
  if (v.size() != 1) throw InputError(where() + ": attribute '" + name + "' is not a single number");
  return v[0];
}

std::string AttributeHolder::attribute_as_text(const std::string& name) const {
  Handle attr = open_attribute(id(), where(), name);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  std::vector<std::string> parts;
  bool quoted = false;
  if (cls == H5T_STRING) {
    parts = string_list_attribute(name);
    quoted = true;
  } else if (cls == H5T_FLOAT) {
    for (double v : read_numeric_attribute<double>(attr.get(), name)) parts.push_back(fmt::format("{}", v));
  } else if (cls == H5T_INTEGER) {
    for (std::int64_t v : read_numeric_attribute<std::int64_t>(attr.get(), name))
      parts.push_back(std::to_string(v));
  } else {
    return "(unsupported attribute type)";
  }
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const bool scalar = H5Sget_simple_extent_type(space.get()) == H5S_SCALAR;
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i ? ", " : "") + (quoted ? "\"" + parts[i] + "\"" : parts[i]);
  return scalar ? out : "[" + out + "]";
}

// ---------------------------------------------------------------------------------------------------------
// Datasets

std::vector<hsize_t> Dataset::dims() const {
  Handle space(H5Dget_space(id()), H5Sclose);
  if (!space) throw_hdf5<InputError>(where() + ": cannot read its shape");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> d(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  return d;
}

std::vector<hsize_t> Dataset::chunk_dims() const {
  Handle plist(H5Dget_create_plist(id()), H5Pclose);
  if (H5Pget_layout(plist.get()) != H5D_CHUNKED) return {};
  std::vector<hsize_t> c(dims().size());
  H5Pget_chunk(plist.get(), static_cast<int>(c.size()), c.data());
  return c;
}

ElementType Dataset::element_type() const {
  Handle type(H5Dget_type(id()), H5Tclose);
  return classify_type(type.get());
}

std::uint64_t Dataset::rows() const {
  const auto d = dims();
  return d.empty() ? 1 : d[0];
}

std::uint64_t Dataset::storage_bytes() const {
  return H5Dget_storage_size(id());
}

void Dataset::expect(ElementType type, int rank) const {
  const ElementType actual = element_type();
  if (actual != type)
    throw InputError(fmt::format("{}: dataset {} has type {}, expected {}", file_, object_,
                                 element_type_name(actual), element_type_name(type)));
  const auto d = dims();
  if (static_cast<int>(d.size()) != rank)
    throw InputError(fmt::format("{}: dataset {} has rank {} (shape {}), expected rank {}", file_, object_,
                                 d.size(), dims_text(d), rank));
}

void Dataset::read_rows_raw(std::uint64_t start, std::uint64_t count, ElementType type, void* dst) const {
  if (count == 0) return;
  quiet_hdf5_errors();
  std::vector<FileSegment> segments;
  if (plan_direct_read(start, count, type, dst, segments)) {
    detail::PreadPool::shared().read(direct_fd(), segments, where());
    return;
  }
  std::vector<hsize_t> d = dims();
  if (d.empty() || start + count > d[0])
    throw InputError(fmt::format("{}: dataset {} has {} rows, cannot read rows [{}, {})", file_, object_,
                                 d.empty() ? 0 : d[0], start, start + count));
  Handle file_space(H5Dget_space(id()), H5Sclose);
  std::vector<hsize_t> offset(d.size(), 0), extent = d;
  offset[0] = start;
  extent[0] = count;
  Handle mem_space(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset.data(), nullptr, extent.data(), nullptr) <
          0 ||
      H5Dread(id(), native_type(type), mem_space.get(), file_space.get(), H5P_DEFAULT, dst) < 0)
    throw_hdf5<InputError>(
        fmt::format("{}: reading dataset {} rows [{}, {}) failed", file_, object_, start, start + count));
}

void Dataset::write_rows_raw(std::uint64_t start, std::uint64_t count, ElementType type,
                             const void* src) const {
  if (count == 0) return;
  quiet_hdf5_errors();
  std::vector<hsize_t> d = dims();
  SEGSTREAM_ASSERT(!d.empty(), "write_rows on a scalar dataset {}", object_);
  if (start + count > d[0]) {
    d[0] = start + count;
    if (H5Dset_extent(id(), d.data()) < 0)
      throw_hdf5<ResourceError>(fmt::format("{}: cannot grow dataset {} to {} rows", file_, object_, d[0]));
  }
  Handle file_space(H5Dget_space(id()), H5Sclose);
  std::vector<hsize_t> offset(d.size(), 0), extent = d;
  offset[0] = start;
  extent[0] = count;
  Handle mem_space(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset.data(), nullptr, extent.data(), nullptr) <
          0 ||
      H5Dwrite(id(), native_type(type), mem_space.get(), file_space.get(), H5P_DEFAULT, src) < 0)
    throw_hdf5<ResourceError>(
        fmt::format("{}: writing dataset {} rows [{}, {}) failed", file_, object_, start, start + count));
  if (digest_) {
    std::size_t bytes = count * element_size(type);
    for (std::size_t i = 1; i < d.size(); ++i) bytes *= d[i];
    digest_->update(start, count, type, src, bytes);
  }
}

bool Dataset::plan_direct_read(std::uint64_t start, std::uint64_t count, ElementType type, void* dst,
                               std::vector<FileSegment>& out) const {
  detail::DirectLayout* layout = direct_.get();
  if (layout == nullptr || type != layout->type) return false;
  if (count == 0) return true;
  if (start + count > layout->rows)
    throw InputError(fmt::format("{}: dataset {} has {} rows, cannot read rows [{}, {})", file_, object_,
                                 layout->rows, start, start + count));
  char* out_ptr = static_cast<char*>(dst);
  if (layout->chunk_rows == 0) {
    out.push_back(FileSegment{layout->base + start * layout->row_bytes, count * layout->row_bytes, out_ptr});
    return true;
  }
  const std::size_t first_chunk = start / layout->chunk_rows;
  const std::size_t last_chunk = (start + count - 1) / layout->chunk_rows;
  const std::size_t planned = out.size();
  std::lock_guard lock(layout->mutex);
  for (std::size_t c = first_chunk; c <= last_chunk; ++c) {
    std::uint64_t& address = layout->chunk_address[c];
    if (address == detail::DirectLayout::kUnknown) {
      std::vector<hsize_t> coord(dims().size(), 0);
      coord[0] = c * layout->chunk_rows;
      unsigned filter_mask = 0;
      haddr_t addr = HADDR_UNDEF;
      hsize_t size = 0;
      const herr_t rc = H5Dget_chunk_info_by_coord(id(), coord.data(), &filter_mask, &addr, &size);
      H5Eclear2(H5E_DEFAULT);
      address = (rc < 0 || addr == HADDR_UNDEF) ? detail::DirectLayout::kUnallocated : addr;
    }
    if (address == detail::DirectLayout::kUnallocated) {  // never written: let HDF5 supply the fill value
      out.resize(planned);
      return false;
    }
    const std::uint64_t lo = std::max<std::uint64_t>(start, c * layout->chunk_rows);
    const std::uint64_t hi = std::min<std::uint64_t>(start + count, (c + 1) * layout->chunk_rows);
    out.push_back(FileSegment{address + (lo - c * layout->chunk_rows) * layout->row_bytes,
                              (hi - lo) * layout->row_bytes, out_ptr + (lo - start) * layout->row_bytes});
  }
  return true;
}

int Dataset::direct_fd() const {
  return direct_ ? *direct_->fd : -1;
}

std::vector<std::string> Dataset::read_strings() const {
  return read_string_values(id(), false, where());
}

// ---------------------------------------------------------------------------------------------------------
// Files

File File::open(const std::filesystem::path& path) {
  quiet_hdf5_errors();
  const std::string p = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(p + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw InputError(p + ": is a directory, expected an HDF5 file");
  if (::access(p.c_str(), R_OK) != 0) throw InputError(p + ": cannot read (" + std::strerror(errno) + ")");
  // A crash of libhdf5 on this file happens in a child, not here; the child's readings of its string
  // attributes are what this process uses.
  std::shared_ptr<const detail::ProbedStrings> probed = detail::probe_untrusted_file(p);
  const htri_t is_hdf5 = H5Fis_hdf5(p.c_str());
  if (is_hdf5 == 0) throw InputError(p + ": not an HDF5 file");
  if (is_hdf5 < 0) throw_hdf5<InputError>(p + ": cannot be read as HDF5");
  const hid_t id = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw_hdf5<InputError>(p + ": cannot open as HDF5 (truncated or corrupt?)");
  File file(Handle(id, H5Fclose), p);
  file.probed_ = std::move(probed);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    file.read_fd_ = std::shared_ptr<int>(new int(fd), [](int* f) {
      ::close(*f);
      delete f;
    });
  return file;
}

File File::create(const std::filesystem::path& path, const std::string& display_name) {
  quiet_hdf5_errors();
  const std::string p = path.string();
  const std::string name = display_name.empty() ? p : display_name;
  // Allocations of 64 KiB and more (every data chunk) start on a 4 KiB boundary of the file. Reads then
  // copy page-aligned data from the page cache into page-aligned (pinned) buffers; a chunk at an odd file
  // offset copies several times slower on some CPUs (measured: 4.8 vs 8 GB/s for the event columns).
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_alignment(fapl.get(), 64 * 1024, 4096);
  errno = 0;
  const hid_t id = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (id < 0) {
    const int err = errno;
    H5Eclear2(H5E_DEFAULT);
    throw ResourceError(name + ": cannot create" + (err ? std::string(" (") + std::strerror(err) + ")" : ""));
  }
  File file(Handle(id, H5Fclose), name);
  file.digests_ = std::make_shared<detail::FileDigests>();
  return file;
}

bool File::has(const std::string& object_path) const {
  quiet_hdf5_errors();
  if (object_path.empty() || object_path == "/") return true;
  // H5Lexists needs every intermediate link to exist, so check the path one component at a time.
  std::string prefix;
  std::size_t pos = object_path[0] == '/' ? 1 : 0;
  while (pos <= object_path.size()) {
    const std::size_t next = std::min(object_path.find('/', pos), object_path.size());
    prefix = object_path.substr(0, next);
    if (H5Lexists(id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    pos = next + 1;
  }
  return H5Oexists_by_name(id(), object_path.c_str(), H5P_DEFAULT) > 0;
}

bool File::is_dataset(const std::string& object_path) const {
  if (!has(object_path)) return false;
  Handle obj(H5Oopen(id(), object_path.c_str(), H5P_DEFAULT), H5Oclose);
  return obj && H5Iget_type(obj.get()) == H5I_DATASET;
}

Dataset File::dataset(const std::string& name) const {
  if (!has(name)) throw InputError(file_ + ": dataset " + name + " is missing");
  if (!is_dataset(name)) throw InputError(file_ + ": " + name + " is not a dataset");
  Handle ds = check_id(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose, file_ + ": cannot open " + name);
  // Chunk cache, chosen for row streaming. Uncompressed chunks are stored as plain bytes, and HDF5 reads
  // a chunk that does not fit its cache straight from the file into the caller's buffer, only the selected
  // part of a chunk split between two row blocks. So uncompressed datasets get no cache at all: every byte is
  // read once, directly into the (possibly pinned) destination. A chunk that fits the cache would instead be
  // read into HDF5's buffer and copied (measured: events read at half the raw speed). Compressed chunks must
  // be decoded whole, so they get a cache of two chunks (1 MiB to 64 MiB) so a chunk split between two
  // blocks is decoded once, with fully read chunks evicted first (w0 = 1).
  Handle plist(H5Dget_create_plist(ds.get()), H5Pclose);
  if (H5Pget_layout(plist.get()) == H5D_CHUNKED) {
    Handle dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
    if (H5Pget_nfilters(plist.get()) == 0) {
      H5Pset_chunk_cache(dapl.get(), 521, 0, 1.0);
    } else {
      Handle type(H5Dget_type(ds.get()), H5Tclose);
      Handle space(H5Dget_space(ds.get()), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.get());
      std::vector<hsize_t> chunk(static_cast<std::size_t>(std::max(rank, 1)), 1);
      H5Pget_chunk(plist.get(), rank, chunk.data());
      const std::size_t chunk_bytes = element_count(chunk) * H5Tget_size(type.get());
      const std::size_t cache =
          std::clamp<std::size_t>(2 * chunk_bytes, std::size_t{1} << 20, std::size_t{64} << 20);
      H5Pset_chunk_cache(dapl.get(), 521, cache, 1.0);
    }
    // HDF5 shares one object between opens of a dataset and keeps the access properties of the first, so
    // close the probing handle before opening with ours.
    plist.reset();
    ds.reset();
    ds = check_id(H5Dopen2(id(), name.c_str(), dapl.get()), H5Dclose, file_ + ": cannot open " + name);
  }
  Dataset out(std::move(ds), file_, name);
  out.probed_ = probed_;
  if (read_fd_) out.direct_ = direct_layout(out.id(), read_fd_);
  if (digests_) {  // a dataset of a file being written, opened again: its writes count too
    const auto it = digests_->datasets.find(name);
    if (it != digests_->datasets.end()) out.digest_ = it->second;
  }
  return out;
}

Dataset File::dataset(const std::string& name, ElementType type, int rank) const {
  Dataset ds = dataset(name);
  ds.expect(type, rank);
  return ds;
}

Group File::create_group(const std::string& name) const {
  quiet_hdf5_errors();
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), false);
  const hid_t g = H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT);
  if (g < 0) throw_hdf5<ResourceError>(file_ + ": cannot create group " + name);
  return Group(Handle(g, H5Gclose), file_, name);
}

Group File::group(const std::string& name) const {
  if (!has(name)) throw InputError(file_ + ": group " + name + " is missing");
  Group g(check_id(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), H5Gclose, file_ + ": cannot open " + name),
          file_, name);
  g.probed_ = probed_;
  return g;
}

Dataset File::create_dataset(const std::string& name, ElementType type, const DatasetOptions& options) const {
  quiet_hdf5_errors();
  const int rank = static_cast<int>(options.dims.size());
  std::vector<hsize_t> maxdims = options.dims;
  if (options.extendible) {
    SEGSTREAM_ASSERT(!options.chunk.empty(), "an extendible dataset needs a chunk shape ({})", name);
    maxdims[0] = H5S_UNLIMITED;
  }
  Handle space(H5Screate_simple(rank, options.dims.data(), maxdims.data()), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!options.chunk.empty()) {
    SEGSTREAM_ASSERT(options.chunk.size() == options.dims.size(), "chunk rank differs from rank ({})", name);
    H5Pset_chunk(dcpl.get(), rank, options.chunk.data());
    if (options.deflate_level > 0) {
      H5Pset_shuffle(dcpl.get());
      H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate_level));
    }
  }
  // No modification times in object headers: the same data gives the same bytes (reproducible outputs).
  H5Pset_obj_track_times(dcpl.get(), false);
  // Never write fill values: every element is written by the caller, and filling first doubles the I/O.
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_INCR);
  // No chunk cache when writing uncompressed chunks either: a cached chunk is allocated in the file only
  // when it is evicted, long after it was written, which scatters the chunks of one row block. Uncached,
  // every chunk is allocated and written when the writer hands it over, so the chunks the writers flush
  // together (one per event column) lie together in the file, and a reader fetches a row block in one
  // sequential request.
  Handle dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  if (options.deflate_level == 0) H5Pset_chunk_cache(dapl.get(), 521, 0, 1.0);
  const hid_t ds =
      H5Dcreate2(id(), name.c_str(), native_type(type), space.get(), H5P_DEFAULT, dcpl.get(), dapl.get());
  if (ds < 0) throw_hdf5<ResourceError>(file_ + ": cannot create dataset " + name);
  Dataset out(Handle(ds, H5Dclose), file_, name);
  if (digests_) out.digest_ = digests_->datasets[name] = std::make_shared<detail::DatasetDigest>(type);
  return out;
}

Dataset File::write_strings(const std::string& name, const std::vector<std::string>& values) const {
  quiet_hdf5_errors();
  Handle type = vlen_string_type();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  const hid_t ds =
      H5Dcreate2(id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT);
  if (ds < 0) throw_hdf5<ResourceError>(file_ + ": cannot create dataset " + name);
  Dataset out(Handle(ds, H5Dclose), file_, name);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0 && H5Dwrite(ds, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
    throw_hdf5<ResourceError>(file_ + ": cannot write dataset " + name);
  if (digests_) {
    out.digest_ = digests_->datasets[name] = std::make_shared<detail::DatasetDigest>(ElementType::kString);
    out.digest_->update_strings(values);
  }
  return out;
}

namespace {
struct VisitState {
  hid_t file;
  std::vector<std::string>* paths;
};
herr_t visit_link(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* data) {
  auto* state = static_cast<VisitState*>(data);
  const std::string path = std::string("/") + name;
  const hid_t obj = H5Oopen(state->file, path.c_str(), H5P_DEFAULT);
  if (obj >= 0) {
    if (H5Iget_type(obj) == H5I_DATASET) state->paths->push_back(path);
    H5Oclose(obj);
  }
  return 0;
}
}  // namespace

std::vector<std::string> File::dataset_paths() const {
  quiet_hdf5_errors();
  std::vector<std::string> paths;
  VisitState state{id(), &paths};
  if (H5Lvisit(id(), H5_INDEX_NAME, H5_ITER_INC, visit_link, &state) < 0)
    throw_hdf5<InputError>(file_ + ": cannot list its contents");
  return paths;
}

void File::close() {
  quiet_hdf5_errors();
  if (!handle_) return;
  if (digests_) {
    set_attribute("fingerprint", detail::content_fingerprint(*this, digests_.get()));
    digests_.reset();
  }
  errno = 0;
  if (H5Fflush(handle_.get(), H5F_SCOPE_LOCAL) < 0 || handle_.close() < 0) {
    const int err = errno;
    handle_.reset();
    throw_hdf5<ResourceError>(file_ + ": writing failed" +
                              (err ? std::string(" (") + std::strerror(err) + ")" : ""));
  }
}

}  // namespace segstream::io
