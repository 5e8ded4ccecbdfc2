// `segstream report`: the segments of a run as one self-contained HTML page and its JSON (host/report.hpp).
#include <cstdio>
#include <memory>
#include <string>

#include "cli.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/options.hpp"
#include "segstream/host/report.hpp"
#include "segstream/io/atomic_output.hpp"

namespace segstream::app {
namespace {

struct ReportArgs {
  std::string model, segments, out, json, lifetimes, truth, title;
  std::string host_memory = "8G";
  double horizon_days = 365;
  bool overwrite = false;
};

}  // namespace

Action add_report(CLI::App& sub) {
  auto o = std::make_shared<ReportArgs>();
  sub.add_option("--model", o->model, "model.h5 written by `segstream fit` or `segstream update`")
      ->required();
  sub.add_option("--segments", o->segments, "segments.h5 assigned with that model (assign or update)")
      ->required();
  sub.add_option("-o,--out", o->out, "Output: report.html")->required();
  sub.add_option("--json", o->json, "Output: the report's content as JSON (default: --out with .json)");
  sub.add_option("--lifetimes", o->lifetimes,
                 "features.h5 of `features --mode lifetimes` for the same customers: expected value per "
                 "segment (BG/NBD × Gamma-Gamma) and, with --calibration-end, churn in the holdout window");
  sub.add_option("--truth", o->truth,
                 "A generated base's events.h5 or features.h5: segments against its true archetypes");
  sub.add_option("--horizon-days", o->horizon_days, "The expected value's horizon in days")
      ->capture_default_str();
  sub.add_option("--title", o->title, "The page's title (default: Segments of FEATURES)");
  sub.add_option("--host-memory", o->host_memory,
                 "Memory the customer join of --lifetimes and --truth may hold (16 bytes a customer)")
      ->capture_default_str();
  sub.add_flag("--overwrite", o->overwrite, "Replace the outputs if they exist");
  sub.footer(
      "Example:\n  segstream report --model model.h5 --segments segments.h5 --lifetimes lifetimes.h5 "
      "--out report.html");
  return [o](const host::GlobalOptions&) {
    const std::filesystem::path json_out = o->json.empty()
                                               ? std::filesystem::path(o->out).replace_extension(".json")
                                               : std::filesystem::path(o->json);
    io::check_outputs_apart({{"--model", o->model},
                             {"--segments", o->segments},
                             {"--lifetimes", o->lifetimes},
                             {"--truth", o->truth}},
                            {{"--out", o->out}, {"--json", json_out}});
    host::ReportOptions r;
    r.model = o->model;
    r.segments = o->segments;
    r.out = o->out;
    r.json = o->json;
    r.lifetimes = o->lifetimes;
    r.truth = o->truth;
    r.title = o->title;
    r.horizon_days = o->horizon_days;
    r.host_memory = host::parse_bytes("--host-memory", o->host_memory);
    r.overwrite = o->overwrite;
    const host::ReportResult result = host::write_report(r);
    host::log_record(host::LogLevel::kInfo, "report finished",
                     {{"out", result.html.string()},
                      {"json", result.json.string()},
                      {"customers", result.customers},
                      {"k", result.k},
                      {"seconds", result.seconds}});
    std::printf("wrote %s and %s: %s customers in %d segments\n", result.html.c_str(), result.json.c_str(),
                with_commas(result.customers).c_str(), result.k);
  };
}

}  // namespace segstream::app
