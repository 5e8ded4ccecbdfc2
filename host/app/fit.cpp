// `segstream fit`: mini-batch k-means segments of features.h5 into model.h5 (host/segment.hpp).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/log.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/atomic_output.hpp"

namespace segstream::app {

Action add_fit(CLI::App& sub) {
  auto o = std::make_shared<host::FitOptions>();
  sub.add_option("--features", o->features, "Input features.h5")->required();
  sub.add_option("-o,--out", o->out, "Output model.h5")->required();
  sub.add_flag("--overwrite", o->overwrite, "Replace the output if it exists");
  sub.add_option("-k,--k", o->k, "Number of segments, or auto (chosen over --k-range)")->required();
  sub.add_option("--k-range", o->k_range,
                 "With --k auto: the segment counts tried, LO-HI (the jump method on a sample)")
      ->capture_default_str();
  sub.add_option(
      "--columns", o->columns,
      "Feature columns to cluster, comma-separated (default: the documented behavioural set for files of "
      "features --mode behavioral, else all)");
  sub.add_option("--transform", o->transform,
                 "Model space: auto (log1p of heavy-tailed columns, then z-score), zscore, robust, none")
      ->check(CLI::IsMember({"auto", "zscore", "robust", "none"}))
      ->capture_default_str();
  sub.add_option(
         "--clip", o->clip,
         "Clamp model space at +-Z deviations, so a nearly degenerate column cannot dominate (0: never)")
      ->capture_default_str();
  sub.add_option(
         "--family-weights", o->family_weights,
         "Behavioural files: on weighs every behaviour family the same whatever its number of columns")
      ->capture_default_str();
  sub.add_option("--seed", o->kmeans.seed, "Seed of every random draw")->capture_default_str();
  sub.add_option("--batch-size", o->kmeans.batch_size, "Rows per mini-batch step")->capture_default_str();
  sub.add_option("--max-epochs", o->kmeans.max_epochs,
                 "Bound on the mini-batch steps, in passes over the rows")
      ->capture_default_str();
  sub.add_option("--init", o->init,
                 "k-means++, k-means-parallel, random, or a model.h5 whose centres start the fit")
      ->capture_default_str();
  sub.add_flag("--keep-absorbed", o->keep_absorbed,
               "With --init FILE: continue from the weights its centres absorbed (a warm start), not from 0");
  sub.add_option("--init-size", o->kmeans.init_size,
                 "Rows sampled for the initialisation (0 = max(3 x batch, 3 x k), capped at the rows)")
      ->capture_default_str();
  sub.add_option("--reassignment-ratio", o->kmeans.reassignment_ratio,
                 "Centres that absorbed less than this share of the largest move to sampled rows")
      ->capture_default_str();
  sub.add_option("--max-no-improvement", o->kmeans.max_no_improvement,
                 "Stop after this many steps without a better smoothed batch inertia (0 = never)")
      ->capture_default_str();
  sub.add_option("--tol", o->kmeans.tol,
                 "Stop when the centres move less than this x the mean feature variance")
      ->capture_default_str();
  sub.add_option("--refine", o->kmeans.refine, "Full Lloyd passes after the mini-batch phase")
      ->capture_default_str();
  sub.add_option("--n-init", o->n_init,
                 "Restarts, the lowest inertia wins; auto = 1, or 3 on small data (rows x columns x k up to "
                 "2^22) or without the non-local phase")
      ->capture_default_str();
  sub.add_option("--breathe", o->kmeans.breathe,
                 "Depth of the non-local phase after the local ones (breathing k-means: centres added "
                 "where the error is largest and removed where they are least useful; 0 = none)")
      ->capture_default_str();
  sub.add_option("--breathe-rows", o->kmeans.breathe_rows,
                 "Rows the non-local phase works on: all rows up to this many, else a sample (0 = 1024 x k, "
                 "at least 32768, at most 262144)")
      ->capture_default_str();
  sub.add_option("--host-memory", o->host_memory, "Memory for the rows held, e.g. 8G")->capture_default_str();
  sub.add_option("--gpu-memory", o->gpu_memory,
                 "With --device cuda: device memory for the pipeline, and for every row when it fits, e.g. "
                 "16G (default: 80% of the free memory)");
  sub.footer(
      "Example:\n"
      "  segstream fit --features features.h5 --k 8 --refine 2 --out model.h5\n"
      "  segstream assign --model model.h5 --features features.h5 --out segments.h5");
  return [o](const host::GlobalOptions& g) {
    // Any --init but the three method names is a model file (as fit_config reads it).
    const bool init_is_model = o->init != "k-means++" && o->init != "k-means-parallel" && o->init != "random";
    io::check_outputs_apart({{"--features", o->features}, {"--init", init_is_model ? o->init : ""}},
                            {{"--out", o->out}});
    const host::FitConfig c = host::fit_config(*o, g.threads);
    const auto backend = make_backend(g, o->gpu_memory);
    const host::FitReport r = host::fit_model(o->features, o->out, o->overwrite, c, *backend);
    for (const std::string& dropped : r.dropped_columns)
      host::log_warn("left out of the model space, constant or nearly so: {}", dropped);
    const auto empty = std::count(r.model.counts.begin(), r.model.counts.end(), std::uint64_t{0});
    if (empty > 0)
      host::log_warn("{} of {} segments are empty: the rows have fewer distinct points than --k", empty,
                     r.model.k);
    host::log_record(host::LogLevel::kInfo, "fit finished",
                     {{"out", o->out},
                      {"rows", r.rows},
                      {"columns", r.d},
                      {"k", r.model.k},
                      {"inertia", r.model.inertia},
                      {"steps", r.model.steps},
                      {"lloyd_passes", r.model.lloyd_passes},
                      {"stop_reason", r.model.stop_reason},
                      {"seconds", r.seconds},
                      {"read_seconds", r.read_seconds},
                      {"init_seconds", r.model.seconds.init},
                      {"mini_batch_seconds", r.model.seconds.mini_batch},
                      {"lloyd_seconds", r.model.seconds.lloyd},
                      {"breathe_seconds", r.model.seconds.breathe},
                      {"breathe_rounds", r.model.breathing.rounds},
                      {"breathe_kept", r.model.breathing.kept},
                      {"final_pass_seconds", r.model.seconds.final_pass},
                      {"prepare_seconds", r.prepare_seconds},
                      {"profile_seconds", r.profile_seconds},
                      {"write_seconds", r.write_seconds}});
    std::printf(
        "wrote %s: %d segments of %s rows x %d columns in %.1f s (%llu mini-batch steps, %d Lloyd "
        "passes; %s)\n  inertia %.6g\n",
        o->out.c_str(), r.model.k, with_commas(r.rows).c_str(), r.d, r.seconds,
        static_cast<unsigned long long>(r.model.steps), r.model.lloyd_passes, r.model.stop_reason.c_str(),
        r.model.inertia);
    if (!r.preset.empty())
      std::printf("  the events are purchases alone: clustered the %s preset of columns\n", r.preset.c_str());
    if (r.k_selection) {
      std::printf("  k chosen by the jump method on a sample of %s rows (effective dimension %.1f):",
                  with_commas(r.k_selection->sample_rows).c_str(), r.k_selection->effective_dims);
      for (const host::KSelection::Point& p : r.k_selection->curve)
        std::printf(" %s%d:%.3g", p.k == r.k_selection->chosen ? "*" : "", p.k, p.jump);
      std::printf("\n");
    }
    const host::KMeansModel::Breathing& b = r.model.breathing;
    if (b.depth > 0)
      std::printf(
          "  non-local phase: %d of %d rounds kept, inertia on its %s%s rows %.6g -> %.6g (%d Lloyd "
          "passes)%s\n",
          b.kept, b.rounds, b.sampled ? "sample of " : "", with_commas(b.rows).c_str(), b.before, b.after,
          b.passes, b.reverted ? "; not better over all rows, so not used" : "");
    std::printf("%s", host::format_profiles(r.profiles).c_str());
  };
}

}  // namespace segstream::app
