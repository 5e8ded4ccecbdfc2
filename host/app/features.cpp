// `segstream features`: per-customer features from events.h5 (host/features.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/atomic_output.hpp"

namespace segstream::app {

Action add_features(CLI::App& sub) {
  auto o = std::make_shared<host::FeaturesOptions>();
  sub.add_option("--events", o->events, "Input events.h5")->required();
  sub.add_option("-o,--out", o->out, "Output features.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("--mode", o->mode,
                 "Feature set: behavioral (every family of the behavioural set), lifetimes (the BTYD summary "
                 "of the lifetimes library) or rfm (recency days, frequency, monetary)")
      ->check(CLI::IsMember({"behavioral", "behavioural", "lifetimes", "rfm"}))
      ->capture_default_str();
  sub.add_option("--windows", o->windows,
                 "behavioral: the three usage windows of events_<w>d, in days (1-120)")
      ->capture_default_str();
  sub.add_option("--season-months", o->season_months, "behavioral: months of holiday_share, comma-separated")
      ->capture_default_str();
  sub.add_option("--top-categories", o->top_categories,
                 "behavioral: category_share columns for this many top categories by spend (0-16)")
      ->capture_default_str();
  sub.add_option("--bgnbd", o->bgnbd,
                 "behavioral: BG/NBD parameters r,alpha,a,b for p_alive (default: fitted on a sample of "
                 "customers, in --unit / --multiplier time)");
  sub.add_option("--state-in", o->state_in,
                 "behavioral: state saved by an earlier run (--state-out); only events after its as-of time "
                 "are read from --events");
  sub.add_option("--state-out", o->state_out,
                 "behavioral: save the per-customer state as of --as-of, for the next incremental run");
  sub.add_option("--t-ref", o->t_ref,
                 "rfm: reference time of recency_days (default: the events file's as_of, the day after its "
                 "last event for imported files)");
  sub.add_option(
      "--as-of", o->as_of,
      "Observation end: events after it are ignored (YYYY-MM-DD[THH:MM:SS]; default: the end of the "
      "events file's window)");
  sub.add_option(
      "--since", o->since,
      "Observation start: events before it are ignored, so each customer is described by the window "
      "from --since to --as-of alone (YYYY-MM-DD[THH:MM:SS]; default: all events)");
  sub.add_option("--unit", o->unit, "Period: day, hour, week, or a number of seconds")->capture_default_str();
  sub.add_option("--multiplier", o->multiplier, "Durations are divided by it (7 with --unit day gives weeks)")
      ->capture_default_str();
  sub.add_option("--calibration-end", o->calibration_end,
                 "Split calibration (<= this) and holdout (after it, to --as-of), lifetimes-style");
  sub.add_option("--purchase-types", o->purchase_types,
                 "Event types that count as purchases: names or codes, comma-separated")
      ->capture_default_str();
  sub.add_option("--host-memory", o->host_memory, "Memory for the purchases held at once, e.g. 512M, 4G")
      ->capture_default_str();
  sub.add_option("--gpu-memory", o->gpu_memory,
                 "behavioral with --device cuda: device memory per pass, e.g. 16G (default: 80% of the free "
                 "memory)");
  sub.add_option("--on-bad-row", o->on_bad_row,
                 "NaN or infinite amounts: error (naming the row) or skip (count)")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  sub.add_option("--max-bad-share", o->max_bad_share,
                 "With --on-bad-row skip: more skipped events than this share is an error (1 = any)")
      ->capture_default_str();
  sub.footer(
      "Examples:\n"
      "  segstream features --events events.h5 --out features.h5 --state-out state-2026-11-28.h5\n"
      "  segstream features --events day.h5 --state-in state-2026-11-28.h5 --as-of 2026-11-29T23:59:59 "
      "--out features.h5\n"
      "  segstream features --events cdnow.h5 --mode lifetimes --as-of 1997-09-30 --multiplier 7 --out "
      "summary.h5\n"
      "  segstream features --events cdnow.h5 --mode lifetimes --calibration-end 1997-09-30 --as-of "
      "1998-06-30 --out "
      "holdout.h5");

  return [o](const host::GlobalOptions& g) {
    io::check_outputs_apart({{"--events", o->events}, {"--state-in", o->state_in}},
                            {{"--out", o->out}, {"--state-out", o->state_out}});
    const host::FeatureConfig c = host::features_config(*o);
    host::Progress bar("features", "event rows");
    // The behavioural set is folded on the backend; lifetimes and rfm hold only purchases and run on the
    // host.
    const auto backend = make_backend(g, o->gpu_memory);
    const host::FeatureReport r = host::compute_features(
        o->events, o->out, o->overwrite, c, [&](auto d, auto t) { bar.update(d, t); }, *backend);
    bar.finish();
    host::log_record(host::LogLevel::kInfo, "features finished",
                     {{"out", o->out},
                      {"customers", r.customers},
                      {"events", r.events},
                      {"purchases", r.purchases},
                      {"after_as_of", r.after_as_of},
                      {"skipped_rows", r.skipped_rows},
                      {"holdout_only_customers", r.holdout_only_customers},
                      {"negative_purchases", r.negative_purchases},
                      {"state_customers", r.state_customers},
                      {"before_state", r.before_state},
                      {"before_since", r.before_since},
                      {"bgnbd_sample", r.bgnbd_sample},
                      {"partitions", r.partitions},
                      {"peak_held_bytes", r.peak_held_bytes},
                      {"seconds", r.seconds}});
    std::printf("wrote %s: %s customers (%s mode, as of %s) from %s events in %.1f s, %llu pass%s\n",
                o->out.c_str(), with_commas(r.customers).c_str(), o->mode.c_str(),
                format_iso_time(r.as_of).c_str(), with_commas(r.events).c_str(), r.seconds,
                static_cast<unsigned long long>(r.partitions), r.partitions == 1 ? "" : "es");
    if (r.after_as_of)
      std::printf("  %s events after the as-of time ignored\n", with_commas(r.after_as_of).c_str());
    if (r.before_since)
      std::printf("  %s events before --since ignored\n", with_commas(r.before_since).c_str());
    if (r.holdout_only_customers)
      std::printf("  %s customers first seen in the holdout left out\n",
                  with_commas(r.holdout_only_customers).c_str());
    if (r.skipped_rows)
      std::printf("  %s rows with a bad amount skipped\n", with_commas(r.skipped_rows).c_str());
    if (r.negative_purchases)
      std::printf("  %s purchases with a negative amount counted as returns\n",
                  with_commas(r.negative_purchases).c_str());
    if (r.state_customers)
      std::printf("  %s customers carried in from %s; %s events at or before its as-of time ignored\n",
                  with_commas(r.state_customers).c_str(), o->state_in.c_str(),
                  with_commas(r.before_state).c_str());
    if (!r.amounts && o->mode != "behavioral" && o->mode != "behavioural")
      host::log_record(
          host::LogLevel::kWarn,
          fmt::format("{}: every purchase has amount 0 (were the events imported without --amount?), "
                      "so {} is 0 for every customer and means nothing",
                      o->events, o->mode == "rfm" ? "M (monetary)" : "monetary_value"),
          {{"events", o->events}});
    if (r.bgnbd)
      std::printf(
          "  p_alive: BG/NBD r=%.4g alpha=%.4g a=%.4g b=%.4g (%s)\n", r.bgnbd->r, r.bgnbd->alpha, r.bgnbd->a,
          r.bgnbd->b,
          r.bgnbd_sample ? ("fitted on " + with_commas(r.bgnbd_sample) + " customers").c_str() : "given");
  };
}

}  // namespace segstream::app
