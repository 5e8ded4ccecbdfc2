// The rows `fit` and `assign` read from a features file (internal to host): the chosen columns, checked
// finite, through the model-space transform.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "segstream/host/kmeans.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/features.hpp"

namespace segstream::host::detail {

// Column indices of `wanted` in the file's names; when none are wanted, the default clustering columns for a
// file of `features --mode behavioral` (features.hpp), else all columns. UsageError naming a missing one.
std::vector<int> column_indices(const io::FeatureFileReader& r, std::vector<std::string> wanted);

// Rows [start, start + n) of the chosen columns into out (n × idx.size()), checking every value is finite
// (InputError naming the file, row and column); `block` is scratch.
void read_columns(const io::FeatureFileReader& r, const std::vector<int>& idx, std::uint64_t start,
                  std::uint64_t n, std::vector<float>& block, float* out);
// The same from rows already read with every column (n × r.columns(), rows [start, start + n)).
void select_columns(const io::FeatureFileReader& r, const std::vector<int>& idx, std::uint64_t start,
                    std::uint64_t n, const float* rows, float* out);

struct FreeMemory {
  void operator()(float* p) const { std::free(p); }
};

// Memory for a matrix the file fills, left uninitialised (zero-filling gigabytes first would cost as much as
// reading them) and in huge pages where the kernel offers them (a page fault per 4 KiB costs a fifth of
// the read).
std::unique_ptr<float[], FreeMemory> matrix_memory(std::uint64_t values);

// The file's optional /weight (float32, one per row), checked: finite and not negative.
std::vector<float> read_weights(const io::FeatureFileReader& r);

// A features file's chosen columns as trainer rows, through a transform (none when null), read on demand.
class FileRows : public RowSource {
 public:
  FileRows(const io::FeatureFileReader& r, const std::vector<int>& idx, const Transform* t,
           const float* weights)
      : r_(r), idx_(idx), t_(t), w_(weights) {}
  std::uint64_t rows() const override { return r_.rows(); }
  int d() const override { return static_cast<int>(idx_.size()); }
  void read(std::uint64_t start, std::uint64_t n, float* out) const override {
    read_columns(r_, idx_, start, n, block_, out);
    if (t_ != nullptr) t_->apply(out, n);
  }
  const float* weights() const override { return w_; }

 private:
  const io::FeatureFileReader& r_;
  const std::vector<int>& idx_;
  const Transform* t_;
  const float* w_;
  mutable std::vector<float> block_;
};

}  // namespace segstream::host::detail
