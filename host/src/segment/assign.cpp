// `segstream assign`: model.h5 + features.h5 → segments.h5 (segment.hpp), streamed through the backend's
// pipeline: block i + 1 is read and copied while block i is assigned, and block i − 1 written.
#include <algorithm>
#include <chrono>
#include <numeric>

#include <nlohmann/json.hpp>

#include "feature_rows.hpp"
#include "kmeans/passes.hpp"
#include "model_parts.hpp"
#include "profile.hpp"
#include "segstream/core/error.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/customer_ids.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/kernels/cpu.hpp"

namespace segstream::host {

AssignReport assign_segments(const std::filesystem::path& model_path, const std::filesystem::path& features,
                             const std::filesystem::path& out, bool overwrite, int threads) {
  const auto backend = kernels::cpu::make_backend(threads);
  return assign_segments(model_path, features, out, overwrite, *backend);
}

AssignReport assign_segments(const std::filesystem::path& model_path, const std::filesystem::path& features,
                             const std::filesystem::path& out, bool overwrite, kernels::Backend& backend) {
  const auto t_begin = std::chrono::steady_clock::now();
  const io::ModelFile model = io::read_model(model_path);
  const Transform t = detail::model_transform(model);
  const io::FeatureFileReader r(features);
  const std::vector<int> idx = detail::model_columns(model, model_path, r);
  io::check_unique_customer_ids(r, std::uint64_t{1} << 30);  // assign has no budget option: 1 GiB
  const std::vector<float> weights = detail::read_weights(r);

  io::AtomicOutput output(out, overwrite);
  io::SegmentsWriter writer(output.temp_path(), output.final_path().string());
  AssignReport report;
  report.k = model.k;
  report.rows = r.rows();
  std::vector<std::uint64_t> ids;
  const detail::ProfiledRows rows(r, idx, &t, weights.empty() ? nullptr : weights.data());
  const auto pipeline = backend.make_pipeline(model.d, model.k, kPassRows, 0);
  detail::PassRunner runner(*pipeline);
  detail::ProfileBuilder profile(r, model.k, backend.threads());
  report.inertia = runner.run(
      rows, model.centroids.data(), {true, kernels::Accumulate::kNone, false}, nullptr,
      [&](std::uint64_t start, std::uint64_t n, const kernels::BlockPipeline::Slot& slot, const float*) {
        ids.resize(n);
        r.read_ids(start, n, ids.data());
        writer.append(n, ids.data(), slot.labels, slot.distance2, slot.margin);
        std::vector<float> natural = rows.take(start);
        profile.add(start, n, slot.labels, natural.data());
        rows.give_back(std::move(natural));
      });
  const nlohmann::json config = {{"model", model_path.filename().string()},
                                 {"features", features.filename().string()}};
  io::CustomerIds::read(r.file()).write(writer.file());
  report.profiles = profile.finish();
  // The segments keep the names the model gave them (a model written before profiles names them anew).
  if (model.profiles.k() == static_cast<std::size_t>(model.k)) report.profiles.name = model.profiles.name;
  writer.close({model_path.filename().string(), features.filename().string(), model.k, report.inertia,
                report.profiles, model.segment_id, "", r.metadata().as_of, r.metadata().customer_order},
               {"segstream.segments",
                "assign",
                config,
                {io::fingerprint_input("model", model_path), io::fingerprint_input("features", features)}});
  output.commit();
  double weight = static_cast<double>(r.rows()), model_weight = 0;
  if (!weights.empty()) weight = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (double w : model.cluster_weight) model_weight += w;
  if (model_weight > 0 && model.inertia > 0 && weight > 0)
    report.distance_ratio = (report.inertia / weight) / (model.inertia / model_weight);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_begin).count();
  return report;
}

}  // namespace segstream::host
