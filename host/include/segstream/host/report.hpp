// `segstream report`: what a run's segments are, for the people who use them. One self-contained HTML file
// (inline SVG charts, no script or network needed, printable) and a JSON file with the same content.
//
// The content is built once, as the JSON document, and the HTML is drawn from that document alone, so every
// number the page shows is one the JSON holds. It reads the model and its segments (their profiles, sizes
// and migrations); with a lifetimes features file it adds each segment's expected value (BG/NBD purchases ×
// Gamma-Gamma spend) and, when the file has a holdout window, its churn rate there; with a generated base's
// truth it adds segments against the true archetypes (the confusion matrix and the adjusted Rand index).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace segstream::host {

struct ReportOptions {
  std::filesystem::path model;      // model.h5 (fit or update)
  std::filesystem::path segments;   // segments.h5 assigned with that model (assign or update)
  std::filesystem::path out;        // report.html
  std::filesystem::path json;       // report.json; empty: `out` with the extension .json
  std::filesystem::path lifetimes;  // optional: features --mode lifetimes of the same customers
  std::filesystem::path truth;      // optional: a generated events.h5 (/customers) or features.h5 (/truth)
  double horizon_days = 365;        // the expected value's horizon
  std::string title;                // the page's title; empty: "Segments of FEATURES"
  std::uint64_t host_memory = std::uint64_t{8} << 30;  // bound on the customer join's memory
  bool overwrite = false;
};

struct ReportResult {
  nlohmann::json content;  // what report.json holds
  std::filesystem::path html, json;
  std::uint64_t customers = 0;
  int k = 0;
  double seconds = 0;
};

// Builds the report's content: InputError (exit 3) when the segments were not assigned with this model
// (named), when an input is not the file it should be, or when the optional files share no customer with the
// segments; ResourceError when the join needs more than host_memory.
nlohmann::json build_report(const ReportOptions& options);

// The HTML page of a report's content (deterministic: the same content gives the same bytes).
std::string render_report_html(const nlohmann::json& content);

// Both files, atomically (nothing is left under either name unless both were written).
ReportResult write_report(const ReportOptions& options);

}  // namespace segstream::host
