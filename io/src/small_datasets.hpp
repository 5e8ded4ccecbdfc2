// Small whole datasets of the format modules (internal to io): a vector or a matrix written in one piece
// (contiguous), and read back with its length checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segstream/io/hdf5.hpp"

namespace segstream::io::detail {

template <class T>
Dataset write_vector(const File& f, const std::string& name, const std::vector<T>& v) {
  Dataset ds = f.create_dataset<T>(name, DatasetOptions{{v.size()}, {}, false, 0});
  if (!v.empty()) ds.write_rows(0, v.size(), v.data());
  return ds;
}

// rows × cols, row-major.
template <class T>
Dataset write_matrix(const File& f, const std::string& name, const std::vector<T>& v, hsize_t rows,
                     hsize_t cols) {
  Dataset ds = f.create_dataset<T>(name, DatasetOptions{{rows, cols}, {}, false, 0});
  if (rows > 0) ds.write_rows(0, rows, v.data());
  return ds;
}

// A 1-D dataset of exactly `n` elements of type T (InputError naming the file and dataset otherwise).
template <class T>
std::vector<T> read_vector(const File& f, const std::string& name, std::uint64_t n) {
  const Dataset ds = f.dataset(name, element_type_of<T>(), 1);
  SEGSTREAM_CHECK_INPUT(ds.rows() == n, "{}: {} has {} values, expected {}", f.path(), name, ds.rows(), n);
  return ds.read_all<T>();
}

}  // namespace segstream::io::detail
