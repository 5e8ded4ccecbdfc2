// `segstream assign`: every customer's segment, squared distance and margin (host/segment.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"

namespace segstream::app {

Action add_assign(CLI::App& sub) {
  auto o = std::make_shared<host::AssignOptions>();
  sub.add_option("--model", o->model, "model.h5 written by `segstream fit`")->required();
  sub.add_option("--features", o->features, "features.h5 with the model's columns")->required();
  sub.add_option("-o,--out", o->out, "Output segments.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.footer("Example:\n  segstream assign --model model.h5 --features features.h5 --out segments.h5");
  return [o](const host::GlobalOptions& g) {
    io::check_outputs_apart({{"--model", o->model}, {"--features", o->features}}, {{"--out", o->out}});
    const auto backend = make_backend(g);
    const host::AssignReport r = host::assign_segments(o->model, o->features, o->out, o->overwrite, *backend);
    host::log_record(
        host::LogLevel::kInfo, "assign finished",
        {{"out", o->out}, {"rows", r.rows}, {"k", r.k}, {"inertia", r.inertia}, {"seconds", r.seconds}});
    std::printf("wrote %s: %s customers in %d segments in %.1f s; inertia %.6g\n", o->out.c_str(),
                with_commas(r.rows).c_str(), r.k, r.seconds, r.inertia);
    std::printf("%s", host::format_profiles(r.profiles).c_str());
    if (r.distance_ratio > host::kFarFromModelRatio)
      host::log_record(
          host::LogLevel::kWarn,
          fmt::format("{}: its customers lie far from the model's: their mean squared distance to "
                      "their centre is {:.1f}x that of the customers {} was fitted on; fit again, or "
                      "carry the model onto this window with `segstream update`",
                      o->features, r.distance_ratio, o->model),
          {{"distance_ratio", r.distance_ratio}});
  };
}

}  // namespace segstream::app
