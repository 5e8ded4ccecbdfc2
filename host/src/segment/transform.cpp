// The model-space transform of `fit` (segment.hpp): log1p of heavy-tailed columns, then z-score or
// median/IQR scaling, fitted on a sample and kept in the model.
#include <algorithm>
#include <cmath>

#include "segstream/core/error.hpp"
#include "segstream/host/segment.hpp"

namespace segstream::host {
namespace {

double quantile(std::vector<double> v, double q) {
  const auto at = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at];
}

}  // namespace

TransformKind parse_transform(const std::string& name) {
  if (name == "auto") return TransformKind::kAuto;
  if (name == "zscore") return TransformKind::kZScore;
  if (name == "robust") return TransformKind::kRobust;
  if (name == "none") return TransformKind::kNone;
  throw UsageError("--transform: unknown transform '" + name + "' (expected auto, zscore, robust or none)");
}

const char* transform_name(TransformKind kind) {
  switch (kind) {
    case TransformKind::kAuto:
      return "auto";
    case TransformKind::kZScore:
      return "zscore";
    case TransformKind::kRobust:
      return "robust";
    case TransformKind::kNone:
      return "none";
  }
  return "?";
}

void Transform::apply(float* rows, std::uint64_t n) const {
  const std::size_t d = center.size();
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      float& v = rows[i * d + j];
      const double x = log1p[j] ? std::log1p(static_cast<double>(v)) : static_cast<double>(v);
      double z = (x - center[j]) / scale[j];
      if (clip > 0) z = std::clamp(z, -clip, clip);
      v = static_cast<float>(weight.empty() ? z : z * weight[j]);
    }
}

void Transform::invert(float* rows, std::uint64_t n) const {
  const std::size_t d = center.size();
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      float& v = rows[i * d + j];
      const double z = weight.empty() ? static_cast<double>(v) : static_cast<double>(v) / weight[j];
      const double x = z * scale[j] + center[j];
      v = static_cast<float>(log1p[j] ? std::expm1(x) : x);
    }
}

Transform fit_transform(TransformKind kind, const float* rows, std::uint64_t n, int d, double clip) {
  Transform t;
  t.kind = kind;
  t.clip = kind == TransformKind::kNone ? 0.0 : clip;
  const auto dd = static_cast<std::size_t>(d);
  t.log1p.assign(dd, 0);
  t.center.assign(dd, 0.0);
  t.scale.assign(dd, 1.0);
  if (kind == TransformKind::kNone || n == 0) return t;
  std::vector<double> col(n);
  for (std::size_t j = 0; j < dd; ++j) {
    double lo = INFINITY;
    for (std::uint64_t i = 0; i < n; ++i) lo = std::min(lo, col[i] = rows[i * dd + j]);
    if (kind == TransformKind::kAuto && lo >= 0) {
      double mean = 0, m2 = 0, m3 = 0;
      for (double v : col) mean += v;
      mean /= static_cast<double>(n);
      for (double v : col) {
        m2 += (v - mean) * (v - mean);
        m3 += (v - mean) * (v - mean) * (v - mean);
      }
      m2 /= static_cast<double>(n);
      m3 /= static_cast<double>(n);
      if (m2 > 0 && m3 / std::pow(m2, 1.5) > 2.0) {
        t.log1p[j] = 1;
        for (double& v : col) v = std::log1p(v);
      }
    }
    if (kind == TransformKind::kRobust) {
      const double median = quantile(col, 0.5), iqr = quantile(col, 0.75) - quantile(col, 0.25);
      t.center[j] = median;
      t.scale[j] = iqr > 0 ? iqr : 1.0;
    } else {
      double mean = 0, m2 = 0;
      for (double v : col) mean += v;
      mean /= static_cast<double>(n);
      for (double v : col) m2 += (v - mean) * (v - mean);
      const double sd = std::sqrt(m2 / static_cast<double>(n));
      t.center[j] = mean;
      t.scale[j] = sd > 0 ? sd : 1.0;
    }
  }
  return t;
}

}  // namespace segstream::host
