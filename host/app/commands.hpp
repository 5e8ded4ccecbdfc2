// The subcommands of the `segstream` executable. Each registers its options on a CLI11 subcommand and
// returns the action to run after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace segstream::app {

struct GlobalOptions {
  int threads = 0;
  std::string device = "auto";
  bool log_json = false;
  bool quiet = false;
  bool verbose = false;
};

using Action = std::function<void(const GlobalOptions&)>;

Action add_generate(CLI::App& app);
Action add_inspect(CLI::App& app);
Action add_import_csv(CLI::App& app);
Action add_features(CLI::App& app);
Action add_rfm(CLI::App& app);
Action add_fit(CLI::App& app);
Action add_assign(CLI::App& app);

}  // namespace segstream::app
