// What the subcommands of the `segstream` executable share (one file per subcommand beside this one). Each
// add_X registers its flags on a CLI11 subcommand, bound to host/options.hpp's option struct (where the
// defaults and the translation into configs live), and returns the action to run after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "segstream/host/options.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::app {

using Action = std::function<void(const host::GlobalOptions&)>;

Action add_generate(CLI::App& sub);
Action add_inspect(CLI::App& sub);
Action add_import_csv(CLI::App& sub);
Action add_features(CLI::App& sub);
Action add_rfm(CLI::App& sub);
Action add_fit(CLI::App& sub);
Action add_assign(CLI::App& sub);
Action add_update(CLI::App& sub);
Action add_segments_export(CLI::App& sub);
Action add_report(CLI::App& sub);
Action add_run(CLI::App& sub);

inline constexpr const char* kDescription =
    "segstream — behavioural segmentation of large customer bases on CPU and GPU.\n"
    "Pipeline: generate or import-csv → events.h5 → features → features.h5 → fit → model.h5 → assign → "
    "segments.h5 → report; update carries segments onto a new window; rfm scores rfm features; run does a "
    "whole job from one TOML file.";

// Every subcommand, registered on `app` with the global options bound to `global`: what main parses, and
// what `run` checks a job file's stages against.
struct Commands {
  std::map<CLI::App*, Action> actions;
  CLI::App* segments = nullptr;         // the `segments` group
  CLI::App* segments_export = nullptr;  // `segments export`
};
Commands add_commands(CLI::App& app, host::GlobalOptions& global);

// The run's backend, chosen once by --device (and logged, at debug level, with why).
std::unique_ptr<kernels::Backend> make_backend(const host::GlobalOptions& global,
                                               const std::string& gpu_memory = "");

// CPU threads: --threads, or all cores.
int cpu_threads(const host::GlobalOptions& global);

// Starts the OpenMP team of `threads` once, before any work, and checks first that so many threads can be
// created at all: libgomp ends the process (exit 1) when it cannot create one, where segstream promises
// exit 4. Later regions reuse the team. Throws ResourceError naming `stage`.
void start_worker_threads(int threads, const std::string& stage);

// The subcommand that was given, with its input files: "fit (--features f.h5)", for messages that would
// otherwise name no file (out of memory, a thread that cannot start).
std::string stage_of(const CLI::App& app);

// "1,234,567".
std::string with_commas(std::uint64_t v);

}  // namespace segstream::app
