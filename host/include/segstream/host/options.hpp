// The options of every subcommand, as a command line or a job file gives them (text and numbers), and their
// translation into the configs the stages take. The CLI (host/app) binds its flags to these structs; a job
// file (`segstream run --config`) fills the same structs, so both are read, defaulted and checked in one
// place. Every translation throws UsageError naming the option for a value it cannot take.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/host/rfm.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::host {

// "512M", "4G", "1048576" → bytes.
std::uint64_t parse_bytes(const std::string& option, const std::string& text);
// "YYYY-MM-DD[THH:MM:SS]" (UTC) → Unix seconds.
std::int64_t parse_date(const std::string& option, const std::string& text);
// A positive integer, at most `max`.
std::int64_t parse_positive(const std::string& option, const std::string& text, std::int64_t max);
// "7,28,90" → numbers.
std::vector<double> parse_number_list(const std::string& option, const std::string& text);

// The options every subcommand shares.
struct GlobalOptions {
  int threads = 0;  // 0 = all cores
  std::string device = "auto";
  bool log_json = false;
  bool quiet = false;
  bool verbose = false;
};
// The backend a run asks for; `gpu_memory` as given ("16G"), empty for the default.
kernels::BackendOptions backend_options(const GlobalOptions& global, const std::string& gpu_memory = "");

struct GenerateOptions {
  std::string out;
  bool overwrite = false;
  std::int64_t customers = 1'000'000;
  std::int64_t days = 365;
  std::string start = "2025-01-01";
  std::uint64_t seed = 42;
  std::string archetypes;  // name[=weight],…; empty = the default mix
  double drift_fraction = 0.0;
  std::string drift_at;
  std::string order = "customer";  // customer | shuffled
  std::int64_t shuffle_block = std::int64_t{1} << 15;
  std::int64_t chunk_rows = 0;
  std::int64_t batch = std::int64_t{1} << 15;
  bool features_only = false;
  std::int64_t dims = 16;
  std::int64_t clusters = 8;
  double cluster_std = 1.0;
  double separation = 8.0;
  std::int64_t window = 1;  // --features-only: which observation of the rows
};
EventGeneratorConfig event_generator_config(const GenerateOptions& o, int threads);
MixtureGeneratorConfig mixture_generator_config(const GenerateOptions& o, int threads);

struct ImportCsvOptions {
  std::string out;
  bool overwrite = false;
  std::string on_bad_row = "error";  // error | skip
  io::CsvImportOptions csv;          // input, columns, formats
};
io::CsvImportOptions import_csv_config(const ImportCsvOptions& o);

struct FeaturesOptions {
  std::string events, out;
  bool overwrite = false;
  std::string mode = "behavioral";
  std::string as_of, since, calibration_end, t_ref;
  std::string unit = "day";  // day | hour | week | seconds
  double multiplier = 1.0;
  std::string purchase_types = "purchase";
  std::string windows = "7,28,90";
  std::string season_months = "11,12";
  int top_categories = 5;
  std::string bgnbd;  // r,alpha,a,b; empty = fitted
  std::string state_in, state_out;
  std::string host_memory = "2G";
  std::string gpu_memory;
  std::string on_bad_row = "error";
  double max_bad_share = 0.01;
};
FeatureConfig features_config(const FeaturesOptions& o);

struct RfmOptions {
  std::string features, out;
  bool overwrite = false;
  std::string scoring = "rank-cut";  // rank-cut | quintile
  std::string map = "rfm11";         // rfm11 | rf10 | a CSV
};

struct FitOptions {
  std::string features, out;
  bool overwrite = false;
  std::string columns;  // comma-separated; empty = the default for the file
  std::string transform = "auto";
  double clip = 3;
  std::string family_weights = "off";  // on | off
  std::string init = "k-means++";      // k-means++ | k-means-parallel | random | a model.h5
  bool keep_absorbed = false;
  std::string host_memory = "8G";
  std::string gpu_memory;
  std::string n_init = "auto";   // auto | a number of restarts
  std::string k;                 // a number of segments, or auto
  std::string k_range = "2-20";  // with k = auto
  KMeansConfig kmeans;           // k, seed, batch_size, max_epochs, init_size, reassignment_ratio, …
};
FitConfig fit_config(const FitOptions& o, int threads);

struct AssignOptions {
  std::string model, features, out;
  bool overwrite = false;
};

struct SegmentsExportOptions {
  std::string segments, out;
  bool overwrite = false;
};

struct InspectOptions {
  std::string file;
  bool no_stats = false;
  bool json = false;
};

}  // namespace segstream::host
