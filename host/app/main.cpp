// segstream — GPU-accelerated behavioural segmentation. The command-line front end.
//
// Exit codes (docs/CLI.md): 0 ok, 1 internal error, 2 usage, 3 bad input, 4 resource, 75 interrupted.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <new>
#include <string>
#include <system_error>

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

  CLI::App app{app::kDescription};
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
  const app::Commands commands = app::add_commands(app, global);
  CLI::App* segments = commands.segments;
  CLI::App* segments_export = commands.segments_export;
  const auto& actions = commands.actions;

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
  const std::string stage = app::stage_of(app);
  try {
    app::start_worker_threads(app::cpu_threads(global), stage);
    for (const auto& [sub, action] : actions)
      if (sub->parsed()) action(global);
    return 0;
  } catch (const Error& e) {
    exit_with_error(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    exit_with_error(ExitCode::kResource,
                    stage +
                        ": out of memory; lower --host-memory where the command takes it, or give the run "
                        "more memory");
  } catch (const std::system_error& e) {
    // std::thread and std::mutex report a process out of threads or memory so.
    if (e.code() == std::errc::resource_unavailable_try_again || e.code() == std::errc::not_enough_memory)
      exit_with_error(ExitCode::kResource, stage + ": cannot start a thread (" + e.what() +
                                               "); give fewer with --threads, or raise the process's limits");
    exit_with_error(ExitCode::kInternal, std::string("internal error: ") + e.what());
  } catch (const std::exception& e) {
    exit_with_error(ExitCode::kInternal, std::string("internal error: ") + e.what());
  }
}
