// model.h5, written by `fit` (docs/FORMATS.md): the segments' centres in model space and in natural units,
// the transform into model space, the final assignment's counts and weights, the trainer's absorbed weights
// and inertia history, and the fit's config. The one writer and the one validating reader of the format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "segstream/io/profile.hpp"
#include "segstream/io/provenance.hpp"

namespace segstream::io {

struct ModelFile {
  int k = 0;                               // segments
  int d = 0;                               // columns
  std::vector<std::string> feature_names;  // d, the columns in the features file
  std::vector<float> centroids;            // k × d, model space
  std::vector<float> centroids_raw;        // k × d, natural units
  std::vector<std::int32_t> segment_id;    // k: each segment's stable id (fit: 0..k−1; update keeps them)
  std::int32_t next_segment_id = 0;        // the id the next new segment gets; every id below it was used
  std::vector<std::int32_t> retired_segment_id;  // ids of segments that are gone, never given again
  std::vector<std::uint64_t> counts;             // k, rows per segment in the final assignment
  std::vector<double> cluster_weight;            // k, Σ w per segment in the final assignment
  std::vector<double> absorbed_weight;           // k, the weight each centre absorbed in the mini-batch phase
  std::vector<double> inertia_history;
  std::string transform;              // auto | zscore | robust | none
  std::vector<std::uint8_t> log1p;    // d
  std::vector<double> center, scale;  // d: z = ((log1p ? log1p(x) : x) − center) / scale
  double clip = 0;                    // model space = weight · clamp(z, −clip, clip); 0: no clamp
  std::vector<double> weight;         // d, or empty: 1
  double inertia = 0;
  std::int64_t steps = 0, lloyd_passes = 0;
  std::string stop_reason;
  std::string config;        // JSON: the fit's options
  std::string source;        // JSON: the features file it was fitted on
  std::string breathing;     // JSON: the non-local phase of the fit (empty when it did not run)
  std::string k_selection;   // JSON: how --k auto chose k (empty for a given k)
  std::string migration;     // JSON: how customers moved from the previous segments (update), or empty
  SegmentProfiles profiles;  // of the rows the model was fitted on (k() == 0: the file has none)
};

// Writes a model to `path` (an AtomicOutput's temporary; errors name `display_name`).
void write_model(const std::filesystem::path& path, const std::string& display_name, const ModelFile& model,
                 const Provenance& provenance);

// Reads and validates a model: its format and version, every dataset with its type and shape (k ≥ 1 rows of
// d ≥ 1 columns, one feature name, scaler entry, count and weight per row or column), finite centroids and
// scaler centres, positive finite scales, log1p flags of 0 or 1, a known transform. InputError naming the
// file and what is wrong otherwise.
ModelFile read_model(const std::filesystem::path& path);

}  // namespace segstream::io
