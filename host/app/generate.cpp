// `segstream generate`: a synthetic customer base with ground truth (host/generate.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/events.hpp"

namespace segstream::app {

Action add_generate(CLI::App& sub) {
  auto o = std::make_shared<host::GenerateOptions>();
  sub.add_option("-o,--out", o->out, "Output file (events.h5, or features.h5 with --features-only)")
      ->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("-n,--customers", o->customers, "Number of customers (rows with --features-only)")
      ->capture_default_str();
  sub.add_option("--days", o->days, "Length of the generated window in days")->capture_default_str();
  sub.add_option("--start", o->start, "First day of the window (YYYY-MM-DD, UTC)")->capture_default_str();
  sub.add_option("--seed", o->seed, "Random seed; the output is a function of it alone")
      ->capture_default_str();
  sub.add_option(
      "--archetypes", o->archetypes,
      "Archetype mix as name[=weight],… (default: the built-in mix of all ten; see docs/GENERATOR.md)");
  sub.add_option("--drift-fraction", o->drift_fraction,
                 "Fraction of customers who switch archetype at --drift-at (with --features-only: who move "
                 "to another component before each window after the first)");
  sub.add_option("--drift-at", o->drift_at, "Date of the behaviour change (YYYY-MM-DD)");
  sub.add_option("--order", o->order,
                 "Event order: customer (grouped, time-sorted) or shuffled (within blocks); with "
                 "--features-only, customer (generation order) or key (ascending mix64(id), as features "
                 "writes)")
      ->check(CLI::IsMember({"customer", "shuffled", "key"}))
      ->capture_default_str();
  sub.add_option("--shuffle-block", o->shuffle_block, "Customers per shuffled block")->capture_default_str();
  sub.add_option("--chunk-rows", o->chunk_rows, "HDF5 chunk rows (0 = default; does not change the data)");
  sub.add_option("--batch", o->batch, "Customers per generation batch (memory; does not change the data)")
      ->capture_default_str();
  sub.add_flag("--features-only", o->features_only,
               "Write a Gaussian-mixture feature matrix with true labels");
  sub.add_option("--dims", o->dims, "Feature columns (--features-only)")->capture_default_str();
  sub.add_option("--clusters", o->clusters, "Mixture components (--features-only)")->capture_default_str();
  sub.add_option("--cluster-std", o->cluster_std, "Within-cluster standard deviation (--features-only)")
      ->capture_default_str();
  sub.add_option("--separation", o->separation,
                 "Minimum centre distance in cluster_std units (--features-only)")
      ->capture_default_str();
  sub.add_option("--window", o->window,
                 "--features-only: which observation of the same rows (2 and later: fresh noise, and "
                 "--drift-fraction of the rows moved before each)")
      ->capture_default_str();
  sub.footer(
      "Examples:\n"
      "  segstream generate --customers 100000 --out events.h5\n"
      "  segstream generate --customers 1000000 --drift-fraction 0.1 --drift-at 2025-07-01 --out events.h5\n"
      "  segstream generate --features-only --customers 10000000 --dims 16 --clusters 16 --out features.h5\n"
      "  segstream generate --features-only --window 2 --drift-fraction 0.1 --out features-2.h5");

  return [o](const host::GlobalOptions& g) {
    make_backend(g);
    const int threads = cpu_threads(g);
    host::GenerateReport report;
    if (o->features_only) {
      const host::MixtureGeneratorConfig c = host::mixture_generator_config(*o, threads);
      host::log_info("generating a {}-component mixture: {} rows × {} columns, {} threads", c.clusters,
                     with_commas(c.rows), c.dims, threads);
      host::Progress bar("generate", "rows");
      report = host::generate_mixture(c, o->out, o->overwrite, [&](auto d, auto t) { bar.update(d, t); });
      bar.finish();
      std::printf("wrote %s: %s rows x %llu features from %llu clusters in %.1f s (%s rows/s)\n",
                  o->out.c_str(), with_commas(report.events).c_str(), static_cast<unsigned long long>(c.dims),
                  static_cast<unsigned long long>(c.clusters), report.seconds,
                  host::human_count(static_cast<double>(report.events) / report.seconds).c_str());
      if (c.window > 1)
        std::printf("  window %llu: %s rows in another component than in window %llu\n",
                    static_cast<unsigned long long>(c.window), with_commas(report.drifted).c_str(),
                    static_cast<unsigned long long>(c.window - 1));
    } else {
      const host::EventGeneratorConfig c = host::event_generator_config(*o, threads);
      host::log_info("generating {} customers over {} days from {}, {} threads", with_commas(c.customers),
                     c.days, format_iso_time(c.start), threads);
      host::Progress bar("generate", "customers");
      report = host::generate_events(c, o->out, o->overwrite, [&](auto d, auto t) { bar.update(d, t); });
      bar.finish();
      nlohmann::json by_archetype, by_type;
      for (int a = 0; a < host::kArchetypeCount; ++a)
        by_archetype[host::archetype_names()[static_cast<std::size_t>(a)]] =
            report.customers_by_archetype[static_cast<std::size_t>(a)];
      for (int t = 0; t < io::kEventTypeCount; ++t)
        by_type[io::standard_event_type_names()[static_cast<std::size_t>(t)]] =
            report.events_by_type[static_cast<std::size_t>(t)];
      const double rate = static_cast<double>(report.events) / report.seconds;
      host::log_record(host::LogLevel::kInfo, "generate finished",
                       {{"out", o->out},
                        {"customers", report.customers},
                        {"events", report.events},
                        {"drifted", report.drifted},
                        {"seconds", report.seconds},
                        {"events_per_second", rate},
                        {"customers_by_archetype", by_archetype},
                        {"events_by_type", by_type}});
      std::printf("wrote %s: %s customers, %s events in %.1f s (%s events/s)\n", o->out.c_str(),
                  with_commas(report.customers).c_str(), with_commas(report.events).c_str(), report.seconds,
                  host::human_count(rate).c_str());
      if (report.drifted) std::printf("  drifted customers: %s\n", with_commas(report.drifted).c_str());
      std::printf("  customers by archetype:");
      for (int a = 0; a < host::kArchetypeCount; ++a)
        std::printf(" %s %s", host::archetype_names()[static_cast<std::size_t>(a)].c_str(),
                    with_commas(report.customers_by_archetype[static_cast<std::size_t>(a)]).c_str());
      std::printf("\n  events by type:");
      for (int t = 0; t < io::kEventTypeCount; ++t)
        std::printf(" %s %s", io::standard_event_type_names()[static_cast<std::size_t>(t)].c_str(),
                    with_commas(report.events_by_type[static_cast<std::size_t>(t)]).c_str());
      std::printf("\n");
    }
  };
}

}  // namespace segstream::app
