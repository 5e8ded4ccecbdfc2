#include "feature_rows.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "segstream/core/error.hpp"
#include "segstream/core/text.hpp"
#include "segstream/host/features.hpp"

namespace segstream::host::detail {

std::vector<int> column_indices(const io::FeatureFileReader& r, std::vector<std::string> wanted) {
  const auto& names = r.feature_names();
  std::vector<int> idx;
  const bool defaulted = wanted.empty() && r.metadata().mode == "behavioral";
  if (defaulted) wanted = default_behavioural_columns();
  if (wanted.empty()) {
    for (std::size_t j = 0; j < names.size(); ++j) idx.push_back(static_cast<int>(j));
    return idx;
  }
  for (const std::string& w : wanted) {
    const auto it = std::find(names.begin(), names.end(), w);
    if (it == names.end()) {
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
      // Columns the user named are a usage error; the documented default missing from a file that says it
      // is behavioural is a broken file.
      const std::string text =
          fmt::format("{} has no column '{}' (it has: {})", r.path(), escape_text(w), escape_text(all, 400));
      if (defaulted) throw InputError(text + ", which its mode 'behavioral' promises");
      throw UsageError("--columns: " + text);
    }
    idx.push_back(static_cast<int>(it - names.begin()));
  }
  return idx;
}

void read_columns(const io::FeatureFileReader& r, const std::vector<int>& idx, std::uint64_t start,
                  std::uint64_t n, std::vector<float>& block, float* out) {
  const std::uint64_t all = r.columns();
  const std::size_t d = idx.size();
  bool every_column = d == all;
  for (std::size_t j = 0; j < d && every_column; ++j) every_column = idx[j] == static_cast<int>(j);
  if (every_column) {
    // The common case: the rows go straight into `out`, then one branch-free scan for non-finite values
    // (exponent bits all set), and the slow loop below only to name the first one.
    r.read_rows(start, n, out);
    const auto* bits = reinterpret_cast<const std::uint32_t*>(out);
    std::uint32_t bad = 0;
    for (std::uint64_t i = 0; i < n * all; ++i)
      bad |= static_cast<std::uint32_t>((bits[i] & 0x7f800000u) == 0x7f800000u);
    if (bad == 0) return;
    block.assign(out, out + n * all);
  } else {
    block.resize(n * all);
    r.read_rows(start, n, block.data());
  }
  select_columns(r, idx, start, n, block.data(), out);
}

void select_columns(const io::FeatureFileReader& r, const std::vector<int>& idx, std::uint64_t start,
                    std::uint64_t n, const float* rows, float* out) {
  const std::uint64_t all = r.columns();
  const std::size_t d = idx.size();
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const float v = rows[i * all + static_cast<std::uint64_t>(idx[j])];
      if (!std::isfinite(v))
        throw InputError(fmt::format("{}: row {}, column {}: {} is not a finite value", r.path(), start + i,
                                     r.feature_names()[static_cast<std::size_t>(idx[j])], v));
      out[i * d + j] = v;
    }
}

std::unique_ptr<float[], FreeMemory> matrix_memory(std::uint64_t values) {
  constexpr std::size_t kHuge = std::size_t{1} << 21;
  const std::size_t bytes = (std::max<std::uint64_t>(values, 1) * sizeof(float) + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
  if (p == nullptr) throw std::bad_alloc();
  (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without it the pages are small
  return std::unique_ptr<float[], FreeMemory>(static_cast<float*>(p));
}

std::vector<float> read_weights(const io::FeatureFileReader& r) {
  if (!r.file().is_dataset("/weight")) return {};
  const io::Dataset ds = r.file().dataset("/weight", io::ElementType::kFloat32, 1);
  SEGSTREAM_CHECK_INPUT(ds.rows() == r.rows(), "{}: /weight has {} rows, /features {}", r.path(), ds.rows(),
                        r.rows());
  std::vector<float> w = ds.read_all<float>();
  for (std::size_t i = 0; i < w.size(); ++i)
    SEGSTREAM_CHECK_INPUT(std::isfinite(w[i]) && w[i] >= 0,
                          "{}: /weight row {}: {} is not a finite non-negative weight", r.path(), i, w[i]);
  SEGSTREAM_CHECK_INPUT(std::any_of(w.begin(), w.end(), [](float v) { return v > 0; }),
                        "{}: all {} /weight values are 0; at least one customer must count", r.path(),
                        w.size());
  return w;
}

}  // namespace segstream::host::detail
