// Pieces `fit`, `assign` and `update` share (internal to host): the rows of a features file in memory or
// streamed, a model's transform and columns, and the model file of a trained model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "feature_rows.hpp"
#include "segstream/host/kmeans.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"

namespace segstream::host::detail {

// Whether the rows fit the budget in memory (the matrix and a pass's labels and distances); ResourceError
// when they fit neither held nor streamed (their weights and the read windows).
bool rows_fit_in_memory(const io::FeatureFileReader& r, std::uint64_t d, std::uint64_t host_memory);

// Every row of the chosen columns, read into memory that is not zeroed first.
std::unique_ptr<float[], FreeMemory> read_matrix(const io::FeatureFileReader& r, const std::vector<int>& idx);

// The model file of a trained model: centres in model space and in natural units, the transform, the final
// assignment's counts and weights, the trainer's absorbed weights and history; segment ids 0..k−1.
io::ModelFile model_file(const KMeansModel& m, const Transform& transform,
                         const std::vector<std::string>& names);

// The model's transform into model space.
Transform model_transform(const io::ModelFile& model);

// The features file's column index of each of the model's columns (InputError naming a missing one).
std::vector<int> model_columns(const io::ModelFile& model, const std::filesystem::path& model_path,
                               const io::FeatureFileReader& r);

}  // namespace segstream::host::detail
