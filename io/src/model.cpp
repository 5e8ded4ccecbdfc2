#include "segstream/io/model.hpp"

#include "small_datasets.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace segstream::io {
using detail::read_vector;
using detail::write_matrix;
using detail::write_vector;

void write_model(const std::filesystem::path& path, const std::string& display_name, const ModelFile& m,
                 const Provenance& provenance) {
  File f = File::create(path, display_name);
  const auto k = static_cast<hsize_t>(m.k), d = static_cast<hsize_t>(m.d);
  write_matrix(f, "/centroids", m.centroids, k, d);
  write_matrix(f, "/centroids_raw", m.centroids_raw, k, d);
  f.dataset("/centroids").set_attribute("feature_names", m.feature_names);
  f.dataset("/centroids_raw").set_attribute("feature_names", m.feature_names);
  write_vector(f, "/segment_id", m.segment_id);
  if (!m.retired_segment_id.empty()) write_vector(f, "/retired_segment_id", m.retired_segment_id);
  write_vector(f, "/counts", m.counts);
  write_vector(f, "/cluster_weight", m.cluster_weight);
  write_vector(f, "/absorbed_weight", m.absorbed_weight);
  write_vector(f, "/inertia_history", m.inertia_history);
  f.create_group("/scaler");
  write_vector(f, "/scaler/log1p", m.log1p);
  write_vector(f, "/scaler/center", m.center);
  write_vector(f, "/scaler/scale", m.scale);
  if (!m.weight.empty()) write_vector(f, "/scaler/weight", m.weight);
  f.group("/scaler").set_attribute("clip", m.clip);
  write_provenance(f, provenance);
  f.set_attribute("transform", m.transform);
  f.set_attribute("inertia", m.inertia);
  f.set_attribute("steps", m.steps);
  // At least one past every id the model holds or retired (a model built by hand may leave it 0).
  std::int64_t next = m.next_segment_id;
  for (const auto* ids : {&m.segment_id, &m.retired_segment_id})
    for (std::int32_t id : *ids) next = std::max<std::int64_t>(next, std::int64_t{id} + 1);
  f.set_attribute("next_segment_id", next);
  f.set_attribute("lloyd_passes", m.lloyd_passes);
  f.set_attribute("stop_reason", m.stop_reason);
  f.set_attribute("config", m.config);
  f.set_attribute("source", m.source);
  if (!m.breathing.empty()) f.set_attribute("breathing", m.breathing);
  if (!m.k_selection.empty()) f.set_attribute("k_selection", m.k_selection);
  if (!m.migration.empty()) f.set_attribute("migration", m.migration);
  if (m.profiles.k() > 0) write_profiles(f, m.profiles);
  f.close();
}

ModelFile read_model(const std::filesystem::path& path) {
  const File f = File::open(path);
  const std::string& in = f.path();
  expect_format(f, "segstream.model", "segstream model");
  ModelFile m;
  const Dataset centroids = f.dataset("/centroids", ElementType::kFloat32, 2);
  const auto dims = centroids.dims();
  SEGSTREAM_CHECK_INPUT(dims[0] >= 1 && dims[1] >= 1 && dims[0] <= (std::uint64_t{1} << 31) &&
                            dims[1] <= (std::uint64_t{1} << 20),
                        "{}: /centroids is {} × {}, expected at least one segment and one column", in,
                        dims[0], dims[1]);
  m.k = static_cast<int>(dims[0]);
  m.d = static_cast<int>(dims[1]);
  const auto k = static_cast<std::uint64_t>(m.k), d = static_cast<std::uint64_t>(m.d);
  m.centroids = centroids.read_all<float>();
  m.feature_names = centroids.string_list_attribute("feature_names");
  SEGSTREAM_CHECK_INPUT(m.feature_names.size() == d, "{}: /centroids names {} feature columns, expected {}",
                        in, m.feature_names.size(), d);
  const Dataset raw = f.dataset("/centroids_raw", ElementType::kFloat32, 2);
  SEGSTREAM_CHECK_INPUT(raw.dims() == dims, "{}: /centroids_raw is not {} × {} as /centroids is", in, k, d);
  m.centroids_raw = raw.read_all<float>();
  for (std::size_t i = 0; i < m.centroids.size(); ++i)
    SEGSTREAM_CHECK_INPUT(std::isfinite(m.centroids[i]),
                          "{}: /centroids row {} column {} is {}, expected a finite "
                          "value",
                          in, i / d, m.feature_names[i % d], m.centroids[i]);
  m.segment_id = read_vector<std::int32_t>(f, "/segment_id", k);
  if (f.has("/retired_segment_id"))
    m.retired_segment_id = f.dataset("/retired_segment_id", ElementType::kInt32, 1).read_all<std::int32_t>();
  // Models written before update existed have no next id: their ids are 0..k−1.
  std::int64_t next = 0;
  for (std::int32_t id : m.segment_id) next = std::max<std::int64_t>(next, std::int64_t{id} + 1);
  if (f.has_attribute("next_segment_id")) next = f.int_attribute("next_segment_id");
  SEGSTREAM_CHECK_INPUT(next >= 0 && next <= std::numeric_limits<std::int32_t>::max(),
                        "{}: next_segment_id is {}, expected a non-negative 32-bit id", in, next);
  m.next_segment_id = static_cast<std::int32_t>(next);
  {
    std::vector<std::int32_t> all = m.segment_id;
    all.insert(all.end(), m.retired_segment_id.begin(), m.retired_segment_id.end());
    for (std::int32_t id : all)
      SEGSTREAM_CHECK_INPUT(id >= 0 && id < m.next_segment_id,
                            "{}: segment id {} is not in [0, next_segment_id {})", in, id, m.next_segment_id);
    std::sort(all.begin(), all.end());
    const auto dup = std::adjacent_find(all.begin(), all.end());
    SEGSTREAM_CHECK_INPUT(dup == all.end(),
                          "{}: segment id {} is given twice (/segment_id, /retired_segment_id)", in,
                          dup == all.end() ? 0 : *dup);
  }
  m.counts = read_vector<std::uint64_t>(f, "/counts", k);
  m.cluster_weight = read_vector<double>(f, "/cluster_weight", k);
  m.absorbed_weight = read_vector<double>(f, "/absorbed_weight", k);
  m.inertia_history = f.dataset("/inertia_history", ElementType::kFloat64, 1).read_all<double>();
  m.log1p = read_vector<std::uint8_t>(f, "/scaler/log1p", d);
  m.center = read_vector<double>(f, "/scaler/center", d);
  m.scale = read_vector<double>(f, "/scaler/scale", d);
  if (f.has("/scaler/weight")) m.weight = read_vector<double>(f, "/scaler/weight", d);
  const Group scaler = f.group("/scaler");
  if (scaler.has_attribute("clip")) m.clip = scaler.float_attribute("clip");
  SEGSTREAM_CHECK_INPUT(std::isfinite(m.clip) && m.clip >= 0, "{}: /scaler clip is {}, expected 0 or more",
                        in, m.clip);
  for (std::size_t j = 0; j < m.weight.size(); ++j)
    SEGSTREAM_CHECK_INPUT(std::isfinite(m.weight[j]) && m.weight[j] > 0,
                          "{}: /scaler/weight of column {} is {}, expected a positive finite value", in,
                          m.feature_names[j], m.weight[j]);
  for (std::uint64_t j = 0; j < d; ++j) {
    SEGSTREAM_CHECK_INPUT(m.log1p[j] <= 1, "{}: /scaler/log1p of column {} is {}, expected 0 or 1", in,
                          m.feature_names[j], m.log1p[j]);
    SEGSTREAM_CHECK_INPUT(std::isfinite(m.center[j]),
                          "{}: /scaler/center of column {} is {}, expected a finite value", in,
                          m.feature_names[j], m.center[j]);
    SEGSTREAM_CHECK_INPUT(std::isfinite(m.scale[j]) && m.scale[j] > 0,
                          "{}: /scaler/scale of column {} is {}, expected a positive finite value", in,
                          m.feature_names[j], m.scale[j]);
  }
  m.transform = f.string_attribute("transform");
  SEGSTREAM_CHECK_INPUT(
      m.transform == "auto" || m.transform == "zscore" || m.transform == "robust" || m.transform == "none",
      "{}: transform '{}', expected auto, zscore, robust or none", in, m.transform);
  m.inertia = f.float_attribute("inertia");
  m.steps = f.int_attribute("steps");
  m.lloyd_passes = f.int_attribute("lloyd_passes");
  m.stop_reason = f.string_attribute("stop_reason");
  m.config = f.string_attribute("config");
  m.source = f.string_attribute("source");
  if (f.has_attribute("breathing")) m.breathing = f.string_attribute("breathing");
  if (f.has_attribute("k_selection")) m.k_selection = f.string_attribute("k_selection");
  if (f.has_attribute("migration")) m.migration = f.string_attribute("migration");
  read_profiles(f, k, m.profiles);
  return m;
}

}  // namespace segstream::io
