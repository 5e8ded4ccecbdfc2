#include "fingerprint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace segstream::io::detail {

DatasetDigest::DatasetDigest(ElementType type) : type_(type), state_(XXH3_createState()) {
  if (state_ == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state_);
}

DatasetDigest::~DatasetDigest() {
  XXH3_freeState(state_);
}

void DatasetDigest::update(std::uint64_t start, std::uint64_t rows, ElementType memory_type, const void* src,
                           std::size_t bytes) {
  if (!valid_ || start != next_row_ || memory_type != type_ || type_ == ElementType::kString ||
      type_ == ElementType::kOther) {
    valid_ = false;
    return;
  }
  XXH3_64bits_update(state_, src, bytes);
  next_row_ += rows;
}

void DatasetDigest::update_strings(const std::vector<std::string>& values) {
  if (!valid_ || next_row_ != 0) {
    valid_ = false;
    return;
  }
  for (const std::string& v : values) XXH3_64bits_update(state_, v.c_str(), v.size() + 1);
  next_row_ += values.size();
}

bool DatasetDigest::complete(std::uint64_t rows, std::uint64_t& digest) const {
  if (!valid_ || next_row_ != rows) return false;
  digest = XXH3_64bits_digest(state_);
  return true;
}

bool is_provenance_attribute(const std::string& name) {
  return name == "created_by" || name == "provenance" || name == "fingerprint";
}

namespace {

struct Objects {
  hid_t file;
  std::vector<std::pair<std::string, bool>> paths;  // path, is a dataset
};

herr_t visit_object(hid_t, const char* name, const H5L_info_t*, void* data) {
  auto* objects = static_cast<Objects*>(data);
  const std::string path = std::string("/") + name;
  const hid_t obj = H5Oopen(objects->file, path.c_str(), H5P_DEFAULT);
  if (obj >= 0) {
    const H5I_type_t type = H5Iget_type(obj);
    if (type == H5I_DATASET || type == H5I_GROUP) objects->paths.emplace_back(path, type == H5I_DATASET);
    H5Oclose(obj);
  }
  return 0;
}

// The digest of a dataset's stored bytes, read back whole (strings: each followed by a NUL).
std::uint64_t read_digest(const Dataset& ds) {
  const ElementType type = ds.element_type();
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  if (type == ElementType::kString) {
    for (const std::string& v : ds.read_strings()) XXH3_64bits_update(state, v.c_str(), v.size() + 1);
  } else if (type != ElementType::kOther) {
    const auto dims = ds.dims();
    if (!dims.empty() && dims[0] > 0) {
      std::uint64_t per_row = element_size(type);
      for (std::size_t i = 1; i < dims.size(); ++i) per_row *= dims[i];
      const std::uint64_t block =
          std::max<std::uint64_t>(1, (std::uint64_t{16} << 20) / std::max<std::uint64_t>(per_row, 1));
      std::vector<unsigned char> buf(block * per_row);
      const std::uint64_t rows = dims[0];
      for (std::uint64_t r = 0; r < rows; r += block) {
        const std::uint64_t n = std::min<std::uint64_t>(block, rows - r);
        ds.read_rows(r, n, type, buf.data());
        XXH3_64bits_update(state, buf.data(), n * per_row);
      }
    }
  }
  const std::uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return digest;
}

}  // namespace

std::string content_fingerprint(const File& file, const FileDigests* digests) {
  Objects objects{file.id(), {}};
  if (H5Lvisit(file.id(), H5_INDEX_NAME, H5_ITER_INC, visit_object, &objects) < 0)
    throw_hdf5<InputError>(file.path() + ": cannot list its contents");
  std::sort(objects.paths.begin(), objects.paths.end());
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  auto add = [&](const std::string& text) { XXH3_64bits_update(state, text.c_str(), text.size() + 1); };
  auto add_attributes = [&](const AttributeHolder& holder) {
    std::vector<std::string> names = holder.attribute_names();
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (is_provenance_attribute(name)) continue;
      add(name);
      add(holder.attribute_as_text(name));
    }
  };
  add("group /");
  add_attributes(file);
  for (const auto& [path, is_dataset] : objects.paths) {
    if (!is_dataset) {
      add("group " + path);
      add_attributes(file.group(path));
      continue;
    }
    const Dataset ds = file.dataset(path);
    std::string shape;
    for (hsize_t d : ds.dims()) shape += fmt::format("{}x", d);
    add("dataset " + path);
    add(element_type_name(ds.element_type()));
    add(shape);
    std::uint64_t digest = 0;
    bool streamed = false;
    if (digests != nullptr) {
      const auto it = digests->datasets.find(path);
      streamed = it != digests->datasets.end() && it->second->complete(ds.rows(), digest);
    }
    if (!streamed) digest = read_digest(ds);
    XXH3_64bits_update(state, &digest, sizeof digest);
    add_attributes(ds);
  }
  const std::uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return fmt::format("xxh3-64:{:016x}", h);
}

}  // namespace segstream::io::detail
