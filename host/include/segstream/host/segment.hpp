// `segstream fit` and `segstream assign`: features.h5 → model.h5 → segments.h5 (docs/FORMATS.md).
//
// fit chooses the columns, fits the model-space transform on a sample of rows (auto: log1p for
// non-negative heavy-tailed columns, then z-score; zscore; robust median/IQR; none), clusters the
// transformed rows with host/kmeans.hpp (held in memory when they fit --host-memory, else read from the
// file on every pass, with the same result), and writes the
// centres in model space and in natural units, the transform, counts, inertia history and provenance.
// assign streams any features file with the model's columns through the same transform and writes a label,
// squared distance and margin per customer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "segstream/host/features.hpp"
#include "segstream/host/kmeans.hpp"
#include "segstream/io/profile.hpp"

namespace segstream::host {

enum class TransformKind : std::uint8_t { kAuto, kZScore, kRobust, kNone };
TransformKind parse_transform(const std::string& name);  // UsageError for anything else
const char* transform_name(TransformKind kind);

// Per column: v = weight · clamp(((log1p ? log1p(x) : x) − center) / scale, −clip, clip) (no clamp when
// clip is 0; weight 1 when empty).
struct Transform {
  TransformKind kind = TransformKind::kAuto;
  std::vector<std::uint8_t> log1p;
  std::vector<double> center;
  std::vector<double> scale;
  double clip = 0;
  std::vector<double> weight;
  void apply(float* rows, std::uint64_t n) const;   // in place, row-major n × d
  void invert(float* rows, std::uint64_t n) const;  // back to natural units (a clipped value stays clipped)
};

// Fits the transform on rows (row-major n × d); skewness above 2 on a column with no negative value makes
// auto take its log1p.
// The transform clamps at ±clip (0: never).
Transform fit_transform(TransformKind kind, const float* rows, std::uint64_t n, int d, double clip = 0);

struct FitConfig {
  std::vector<std::string> columns;  // empty = default_behavioural_columns() for behavioral files, else all
  TransformKind transform = TransformKind::kAuto;
  double clip = 3;  // model space is clamped at ±clip standard deviations (IQRs for robust); 0: never
  // For a behavioural file: each family's columns weigh 1/√(columns of the family clustered), so every
  // family weighs the same in the distance whatever its number of columns. Off by default: on the
  // generator's archetype bases it lowers purity (docs/DESIGN-NOTES.md).
  bool family_weights = false;
  std::uint64_t transform_sample = std::uint64_t{1} << 20;  // rows the transform is fitted on
  KMeansConfig kmeans;
  std::filesystem::path init_model;  // --init FILE: centres (natural units) of an earlier model
  bool keep_absorbed = false;        // with init_model: start from its absorbed weights too (a warm start)
  std::uint64_t host_memory = std::uint64_t{8} << 30;
  bool k_auto = false;  // --k auto: kmeans.k chosen by choose_k over [k_min, k_max]
  int k_min = 2, k_max = 20;
};

struct FitReport {
  std::uint64_t rows = 0;
  int d = 0;
  KMeansModel model;
  std::optional<KSelection> k_selection;     // --k auto
  std::vector<std::string> dropped_columns;  // left out as constant or nearly so, each with why
  std::string preset;                        // "transactions" when chosen for a purchases-only file
  bool in_memory = true;                     // false: the rows were read from the file on every pass
  double seconds = 0;
  double read_seconds = 0;     // reading the rows into memory (0 when streamed) and the weights
  double prepare_seconds = 0;  // the sample that picks the columns and fits the transform, and the transform
  double profile_seconds = 0;  // the segments' profiles and names
  double write_seconds = 0;    // model.h5
  io::SegmentProfiles profiles;  // of the fitted rows, named
};

// Fits on `backend` (the CPU backend with config.kmeans.threads when none is given).
FitReport fit_model(const std::filesystem::path& features, const std::filesystem::path& out, bool overwrite,
                    const FitConfig& config, kernels::Backend& backend);
FitReport fit_model(const std::filesystem::path& features, const std::filesystem::path& out, bool overwrite,
                    const FitConfig& config);

struct AssignReport {
  std::uint64_t rows = 0;
  int k = 0;
  double inertia = 0;            // Σ w·d² in model space
  io::SegmentProfiles profiles;  // of the assigned rows, with the model's names (customers: the counts)
  // The assigned rows' mean w·d² over that of the rows the model was fitted on (its inertia per unit of
  // weight): far above 1 when these features lie away from the model's training distribution.
  double distance_ratio = 0;
  double seconds = 0;
};

// assign warns when distance_ratio exceeds this: customers on average twice as far (RMS) from their centre.
inline constexpr double kFarFromModelRatio = 4.0;

struct ExportReport {
  std::uint64_t rows = 0;
  std::int64_t k = 0;
  std::uint64_t text_ids = 0;  // customers whose own id is text (the file's id table)
};

// `segstream segments export`: a CSV of customer_id (the customer's own id), segment and segment_name, one
// line per customer of segments.h5, written atomically.
ExportReport export_segments(const std::filesystem::path& segments, const std::filesystem::path& out,
                             bool overwrite);

// Gives every segment a readable name, unique within the profiles, from what sets it apart: RFM-style
// names (champions, loyal, new customers, at risk, lapsed, prospects, …) and behaviour names (bargain
// hunters, app-first, seasonal shoppers, category specialists, …), each with a score from the segment's
// standardised means; the best-scoring pairs are taken first, and a segment no rule fits is named by the
// features furthest from the population.
void name_segments(io::SegmentProfiles& p);

// The profile table `fit` and `assign` print: per segment its id, name, customers, shares and what sets it
// apart, one line each.
std::string format_profiles(const io::SegmentProfiles& p);

// Assigns on `backend` (the CPU backend with `threads` when none is given).
AssignReport assign_segments(const std::filesystem::path& model, const std::filesystem::path& features,
                             const std::filesystem::path& out, bool overwrite, kernels::Backend& backend);
AssignReport assign_segments(const std::filesystem::path& model, const std::filesystem::path& features,
                             const std::filesystem::path& out, bool overwrite, int threads = 0);

}  // namespace segstream::host
