// `segstream inspect FILE`: datasets, attributes and column statistics; a schema check of segstream files.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/inspect.hpp"

#include <nlohmann/json.hpp>

namespace segstream::app {

Action add_inspect(CLI::App& sub) {
  auto o = std::make_shared<host::InspectOptions>();
  sub.add_option("file", o->file, "HDF5 file to describe")->required();
  sub.add_flag("--no-stats", o->no_stats, "Skip the per-column statistics (no pass over the data)");
  sub.add_flag("--json", o->json, "Print the description as one JSON document");
  sub.footer(
      "Example:\n  segstream inspect events.h5\n  segstream inspect --json features.h5 > features.json");

  return [o](const host::GlobalOptions& g) {
    make_backend(g);
    host::Progress bar("inspect", "rows");
    const io::FileSummary s =
        io::inspect_file(o->file, !o->no_stats, [&](auto d, auto t) { bar.update(d, t); });
    bar.finish();
    if (o->json) {
      nlohmann::json doc = {{"path", s.path}, {"bytes", s.file_bytes}, {"format", s.format}};
      auto attrs = [](const std::vector<io::AttributeSummary>& list) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& a : list) j[a.name] = a.value;
        return j;
      };
      doc["attributes"] = attrs(s.attributes);
      doc["datasets"] = nlohmann::json::array();
      for (const auto& d : s.datasets) {
        nlohmann::json dj = {{"path", d.path},           {"type", d.type},
                             {"shape", d.shape},         {"chunk", d.chunk},
                             {"bytes", d.storage_bytes}, {"attributes", attrs(d.attributes)}};
        dj["columns"] = nlohmann::json::array();
        for (const auto& c : d.columns)
          dj["columns"].push_back({{"name", c.name},
                                   {"count", c.count},
                                   {"non_finite", c.non_finite},
                                   {"min", c.min},
                                   {"max", c.max},
                                   {"mean", c.mean},
                                   {"std", c.stddev}});
        doc["datasets"].push_back(dj);
      }
      std::printf("%s\n", doc.dump(2).c_str());
      return;
    }
    std::printf("%s  (%s%s)\n", s.path.c_str(), host::human_bytes(static_cast<double>(s.file_bytes)).c_str(),
                s.format.empty() ? "" : (", " + s.format).c_str());
    for (const auto& a : s.attributes) std::printf("  @%s = %s\n", a.name.c_str(), a.value.c_str());
    for (const auto& a : s.group_attributes_events)
      std::printf("  /events @%s = %s\n", a.name.c_str(), a.value.c_str());
    for (const auto& d : s.datasets) {
      std::string shape, chunk;
      for (auto x : d.shape) shape += (shape.empty() ? "" : " x ") + with_commas(x);
      for (auto x : d.chunk) chunk += (chunk.empty() ? "" : " x ") + std::to_string(x);
      std::printf("\n%s  %s [%s]  %s  %s\n", d.path.c_str(), d.type.c_str(), shape.c_str(),
                  chunk.empty() ? "contiguous" : ("chunks [" + chunk + "]").c_str(),
                  host::human_bytes(static_cast<double>(d.storage_bytes)).c_str());
      for (const auto& a : d.attributes) {
        std::string v = a.value;
        if (v.size() > 160) v = v.substr(0, 157) + "...";
        std::printf("  @%s = %s\n", a.name.c_str(), v.c_str());
      }
      int width = 24;  // the column of names fits the longest
      for (const auto& c : d.columns) width = std::max(width, static_cast<int>(c.name.size()));
      if (!d.columns.empty())
        std::printf("  %-*s %14s %10s %14s %14s %14s %14s\n", width, "column", "count", "non-finite", "min",
                    "max", "mean", "std");
      for (const auto& c : d.columns)
        std::printf("  %-*s %14s %10s %14.6g %14.6g %14.6g %14.6g\n", width, c.name.c_str(),
                    with_commas(c.count).c_str(), with_commas(c.non_finite).c_str(), c.min, c.max, c.mean,
                    c.stddev);
    }
  };
}

}  // namespace segstream::app
