// segstream — GPU-accelerated behavioural segmentation. The command-line front end.
//
// Exit codes (docs/CLI.md): 0 ok, 1 internal error, 2 usage, 3 bad input, 4 resource, 75 interrupted.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <new>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/version.hpp"
#include "segstream/host/interrupt.hpp"
#include "segstream/host/log.hpp"
#include "segstream/kernels/backend.hpp"

namespace {

// Reports the error and ends the process without running library teardown: after a failed write (a full
// disk) libhdf5's exit handler would try to flush the abandoned file again and can crash. Every output has
// already been removed by its owner's destructor by the time we get here.
[[noreturn]] void exit_with_error(segstream::ExitCode code, const std::string& message) {
  segstream::host::log_record(segstream::host::LogLevel::kError, message,
                              {{"exit_code", static_cast<int>(code)}});
  std::fflush(nullptr);
  std::_Exit(static_cast<int>(code));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace segstream;
  host::install_interrupt_handlers();

  CLI::App app{
      "segstream — behavioural segmentation of large customer bases on CPU and GPU.\n"
      "Pipeline: generate or import-csv → events.h5 → features → features.h5 → fit → model.h5 → assign → "
      "segments.h5 → report; update carries segments onto a new window; rfm scores rfm features."};
  app.name("segstream");
  app.set_version_flag("--version",
                       std::string("segstream ") + kVersion + " (commit " + kGitCommit +
                           (kernels::cuda_backend_built() ? ", CUDA backend built" : ", CPU only") + ")");
  app.require_subcommand(0, 1);
  app.allow_extras();  // unknown words reach us, so the error can name them
  app.footer(
      "Run `segstream SUBCOMMAND --help` for a subcommand's options and an example.\n"
      "Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input, 4 resource (memory, disk, device),\n"
      "75 interrupted (no partial output; safe to requeue).");

  host::GlobalOptions global;
  app.add_option("--threads", global.threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--device", global.device, "Compute device: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("--log-json", global.log_json, "Log JSON lines (one object per record) instead of human text");
  app.add_flag("-q,--quiet", global.quiet, "Only warnings and errors");
  app.add_flag("-v,--verbose", global.verbose, "Debug logging");

  std::map<CLI::App*, app::Action> actions;
  CLI::App* generate = app.add_subcommand("generate", "Generate a synthetic customer base with ground truth");
  actions[generate] = app::add_generate(*generate);
  CLI::App* inspect =
      app.add_subcommand("inspect", "Show an HDF5 file's datasets, attributes and column statistics");
  actions[inspect] = app::add_inspect(*inspect);
  CLI::App* import_csv = app.add_subcommand("import-csv", "Turn a transactions CSV into events.h5");
  actions[import_csv] = app::add_import_csv(*import_csv);
  CLI::App* features = app.add_subcommand("features", "Compute per-customer features from events.h5");
  actions[features] = app::add_features(*features);
  CLI::App* rfm = app.add_subcommand("rfm", "RFM scores and named segments from rfm features");
  actions[rfm] = app::add_rfm(*rfm);
  CLI::App* fit = app.add_subcommand("fit", "Fit mini-batch k-means segments to features.h5 into model.h5");
  actions[fit] = app::add_fit(*fit);
  CLI::App* assign =
      app.add_subcommand("assign", "Assign every customer of features.h5 to a model's segments");
  actions[assign] = app::add_assign(*assign);
  CLI::App* update = app.add_subcommand(
      "update", "Carry a model onto a new window: stable segment ids, hysteresis, who moved where");
  actions[update] = app::add_update(*update);
  CLI::App* report =
      app.add_subcommand("report", "Write a self-contained HTML report (and its JSON) of a model's segments");
  actions[report] = app::add_report(*report);
  CLI::App* segments = app.add_subcommand("segments", "Work with segments.h5: export it for a CRM");
  segments->require_subcommand(0, 1);
  CLI::App* segments_export = segments->add_subcommand(
      "export", "Write each customer's own id, segment and segment name from segments.h5 as CSV");
  actions[segments_export] = app::add_segments_export(*segments_export);
  segments->fallthrough();
  for (auto& [sub, action] : actions) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    host::configure_logging({global.log_json, host::LogLevel::kInfo});
    exit_with_error(ExitCode::kUsage, std::string(e.what()) + " (run `segstream --help`)");
  }

  if (!app.remaining().empty()) {
    host::configure_logging({global.log_json, host::LogLevel::kInfo});
    exit_with_error(ExitCode::kUsage, "unknown subcommand or option '" + app.remaining().front() +
                                          "' (run `segstream --help`)");
  }
  if (app.get_subcommands().empty()) {
    host::configure_logging({global.log_json, host::LogLevel::kInfo});
    exit_with_error(
        ExitCode::kUsage,
        "a subcommand is required: generate, import-csv, features, rfm, fit, assign, update, report, "
        "segments or inspect "
        "(run `segstream "
        "--help`)");
  }

  if (segments->parsed() && !segments_export->parsed()) {
    host::configure_logging({global.log_json, host::LogLevel::kInfo});
    exit_with_error(ExitCode::kUsage,
                    "segments: expected a subcommand: export (run `segstream segments export --help`)");
  }

  host::configure_logging({global.log_json, global.verbose ? host::LogLevel::kDebug
                                            : global.quiet ? host::LogLevel::kWarn
                                                           : host::LogLevel::kInfo});
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) action(global);
    return 0;
  } catch (const Error& e) {
    exit_with_error(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    exit_with_error(ExitCode::kResource, "out of memory");
  } catch (const std::exception& e) {
    exit_with_error(ExitCode::kInternal, std::string("internal error: ") + e.what());
  }
}
