// What the subcommands of the `segstream` executable share (one file per subcommand beside this one). Each
// add_X registers its flags on a CLI11 subcommand, bound to host/options.hpp's option struct (where the
// defaults and the translation into configs live), and returns the action to run after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
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

// The run's backend, chosen once by --device (and logged, at debug level, with why).
std::unique_ptr<kernels::Backend> make_backend(const host::GlobalOptions& global,
                                               const std::string& gpu_memory = "");

// CPU threads: --threads, or all cores.
int cpu_threads(const host::GlobalOptions& global);

// "1,234,567".
std::string with_commas(std::uint64_t v);

}  // namespace segstream::app
