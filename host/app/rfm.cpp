// `segstream rfm`: RFM scores and named segments from rfm features (host/rfm.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/rfm.hpp"
#include "segstream/io/atomic_output.hpp"

#include <nlohmann/json.hpp>

namespace segstream::app {

Action add_rfm(CLI::App& sub) {
  auto o = std::make_shared<host::RfmOptions>();
  sub.add_option("--features", o->features, "features.h5 written by `segstream features --mode rfm`")
      ->required();
  sub.add_option("-o,--out", o->out, "Output rfm.h5 (scores and segment per customer, summary per segment)")
      ->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("--scoring", o->scoring, "Scoring convention: rank-cut or quintile")
      ->check(CLI::IsMember({"rank-cut", "quintile"}))
      ->capture_default_str();
  sub.add_option("--map", o->map,
                 "Segment map: rfm11 (11 segments on R, F, M), rf10 (classic R/F grid) or a CSV")
      ->capture_default_str();
  sub.footer(
      "Example:\n"
      "  segstream features --events retail.h5 --mode rfm --out rfm-features.h5\n"
      "  segstream rfm --features rfm-features.h5 --scoring rank-cut --map rfm11 --out rfm.h5");

  return [o](const host::GlobalOptions& g) {
    io::check_outputs_apart({{"--features", o->features}, {"--map", o->map}}, {{"--out", o->out}});
    make_backend(g);
    const host::RfmSegmentMap map = host::RfmSegmentMap::named(o->map);
    const host::RfmReport r =
        host::segment_rfm_file(o->features, o->out, o->overwrite, host::parse_rfm_scoring(o->scoring), map);
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& s : r.segments)
      segments.push_back({{"segment", s.name}, {"customers", s.customers}, {"revenue", s.revenue}});
    host::log_record(host::LogLevel::kInfo, "rfm finished",
                     {{"out", o->out}, {"customers", r.customers}, {"segments", segments}});
    double revenue = 0;
    for (const auto& s : r.segments) revenue += s.revenue;
    if (revenue == 0)
      host::log_record(host::LogLevel::kWarn,
                       o->features +
                           ": monetary is 0 for every customer (events without amounts?), so the M "
                           "score and the segments that use it mean nothing",
                       {{"features", o->features}});
    std::printf("wrote %s: %s customers, %s scoring, map %s\n", o->out.c_str(),
                with_commas(r.customers).c_str(), o->scoring.c_str(), map.name().c_str());
    std::printf("  %-22s %12s %9s %16s %9s\n", "segment", "customers", "share", "revenue", "share");
    for (const auto& s : r.segments)
      std::printf("  %-22s %12s %8.1f%% %16.2f %8.1f%%\n", s.name.c_str(), with_commas(s.customers).c_str(),
                  100 * s.customer_share, s.revenue, 100 * s.revenue_share);
  };
}

}  // namespace segstream::app
