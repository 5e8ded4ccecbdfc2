// `segstream update`: the previous model carried onto a new window, with stable segment ids, hysteresis and
// the migrations (host/resegment.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/options.hpp"
#include "segstream/host/resegment.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"

namespace segstream::app {
namespace {

struct UpdateOptions {
  std::string model, features, out_model, out, previous_segments, changes;
  std::string host_memory = "8G";
  bool overwrite = false;
  host::UpdateConfig config;
};

std::string ids_text(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::int32_t id : ids) s += (s.empty() ? "" : ", ") + std::to_string(id);
  return s.empty() ? "none" : s;
}

}  // namespace

Action add_update(CLI::App& sub) {
  auto o = std::make_shared<UpdateOptions>();
  sub.add_option("--model", o->model, "The previous model.h5 (written by fit or update)")->required();
  sub.add_option("--features", o->features, "features.h5 of the new window, with the model's columns")
      ->required();
  sub.add_option("--out-model", o->out_model, "Output: the next model.h5")->required();
  sub.add_option("-o,--out", o->out, "Output: every customer's segment in segments.h5 (optional)");
  sub.add_option(
      "--previous-segments", o->previous_segments,
      "The previous run's segments.h5 (of --model): hysteresis and migrations, joined by customer id");
  sub.add_option("--changes", o->changes,
                 "Output: a CSV of every customer who entered or left a segment (needs --previous-segments)");
  sub.add_option("--half-life", o->config.half_life,
                 "Updates after which the previous centres weigh half as much (the unit is one update)")
      ->capture_default_str();
  sub.add_option(
         "--hysteresis", o->config.hysteresis,
         "A customer keeps the previous segment unless the nearest centre is closer by more than this "
         "fraction (0 = as assign)")
      ->capture_default_str();
  sub.add_option("--new-segment-distance", o->config.new_segment_distance,
                 "A centre farther than this (model space) from the previous centre it matches gets a new id "
                 "(0 = the median radius of the previous segments: the RMS distance of their customers to "
                 "the centre)")
      ->capture_default_str();
  sub.add_option(
         "--min-improvement", o->config.min_improvement,
         "The retrained centres replace the previous ones only when they lower the window's inertia by "
         "this share")
      ->capture_default_str();
  sub.add_option(
         "--min-segment-share", o->config.min_segment_share,
         "Segments come and go: a group of the window that no segment covers gets a new segment when "
         "it holds this share of the customers; a segment below it (and below a tenth of its previous "
         "share) is retired (0: neither)")
      ->capture_default_str();
  sub.add_option("--seed", o->config.kmeans.seed, "Seed of every random draw")->capture_default_str();
  sub.add_option("--batch-size", o->config.kmeans.batch_size, "Rows per mini-batch step")
      ->capture_default_str();
  sub.add_option("--host-memory", o->host_memory, "Memory for the rows held, e.g. 8G")->capture_default_str();
  sub.add_flag("--overwrite", o->overwrite, "Replace the outputs if they exist");
  sub.footer(
      "Example:\n"
      "  segstream update --model march.h5 --features april-features.h5 --out-model april.h5 \\\n"
      "    --out april-segments.h5 --previous-segments march-segments.h5 --changes april-changes.csv");
  return [o](const host::GlobalOptions& g) {
    io::check_outputs_apart(
        {{"--model", o->model}, {"--features", o->features}, {"--previous-segments", o->previous_segments}},
        {{"--out-model", o->out_model}, {"--out", o->out}, {"--changes", o->changes}});
    const auto backend = make_backend(g);
    host::UpdateConfig c = o->config;
    c.host_memory = host::parse_bytes("--host-memory", o->host_memory);
    c.kmeans.threads = g.threads;
    c.previous_segments = o->previous_segments;
    c.changes = o->changes;
    const host::UpdateReport r =
        host::update_model(o->model, o->features, o->out_model, o->out, o->overwrite, c, *backend);
    host::log_record(host::LogLevel::kInfo, "update finished",
                     {{"out_model", o->out_model},
                      {"rows", r.rows},
                      {"k", r.k},
                      {"moved", r.moved},
                      {"inertia_before", r.inertia_before},
                      {"inertia_trained", r.inertia_trained},
                      {"created", r.ids.created},
                      {"retired", r.ids.retired},
                      {"grown", r.grown},
                      {"dropped", r.dropped},
                      {"held", r.held},
                      {"seconds", r.seconds},
                      {"read_seconds", r.read_seconds},
                      {"before_seconds", r.before_seconds},
                      {"emerge_seconds", r.emerge_seconds},
                      {"train_seconds", r.train_seconds},
                      {"profile_seconds", r.profile_seconds},
                      {"segments_seconds", r.segments_seconds}});
    std::printf("wrote %s: %d segments of %s customers in %.1f s; %s\n", o->out_model.c_str(), r.k,
                with_commas(r.rows).c_str(), r.seconds,
                r.moved ? "the centres followed the window" : "the previous centres stand (no better fit)");
    std::printf("  inertia %.6g under the previous centres, %.6g retrained; new ids: %s; retired: %s\n",
                r.inertia_before, r.inertia_trained, ids_text(r.ids.created).c_str(),
                ids_text(r.ids.retired).c_str());
    if (r.grown > 0 || !r.dropped.empty())
      std::printf(
          "  %d segment%s added for groups no previous segment covered; retired before training (their "
          "customers left): %s\n",
          r.grown, r.grown == 1 ? "" : "s", ids_text(r.dropped).c_str());
    if (r.segments_written) {
      std::printf("wrote %s", o->out.c_str());
      if (c.hysteresis > 0 && !c.previous_segments.empty())
        std::printf(" (%s customers kept in their segment by --hysteresis %g)", with_commas(r.held).c_str(),
                    c.hysteresis);
      std::printf("\n");
    }
    if (r.migrations_counted) {
      const host::Migrations& m = r.migrations;
      std::printf("  migrations: %s of %s customers changed segment (%.2f%%), %s new, %s gone\n",
                  with_commas(m.changed).c_str(), with_commas(m.both).c_str(),
                  m.both > 0 ? 100.0 * static_cast<double>(m.changed) / static_cast<double>(m.both) : 0.0,
                  with_commas(m.arrived).c_str(), with_commas(m.gone).c_str());
      int width = 4;
      for (const std::string& name : r.profiles.name) width = std::max(width, static_cast<int>(name.size()));
      std::printf("  %8s  %-*s  %10s  %10s  %s\n", "segment", width, "name", "entered", "exited",
                  "transition");
      for (std::size_t j = 0; j < m.to_id.size(); ++j) {
        std::uint64_t exited = 0;
        std::string transition = m.transitions.emerged[j] != 0 ? "emerged" : "";
        for (std::size_t i = 0; i < m.from_id.size(); ++i)
          if (m.from_id[i] == m.to_id[j]) {
            exited = m.exited[i];
            transition = m.transitions.kind[i];
          }
        if (transition.empty()) transition = "new id";
        std::printf("  %8d  %-*s  %10s  %10s  %s\n", m.to_id[j], width, r.profiles.name[j].c_str(),
                    with_commas(m.entered[j]).c_str(), with_commas(exited).c_str(), transition.c_str());
      }
      for (std::size_t i = 0; i < m.from_id.size(); ++i)
        if (std::find(m.to_id.begin(), m.to_id.end(), m.from_id[i]) == m.to_id.end())
          std::printf("  %8d  %-*s  %10s  %10s  retired (%s)\n", m.from_id[i], width, "", "",
                      with_commas(m.exited[i]).c_str(), m.transitions.kind[i].c_str());
    }
    if (!c.changes.empty()) std::printf("wrote %s\n", c.changes.c_str());
  };
}

}  // namespace segstream::app
