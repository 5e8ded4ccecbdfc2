#include "cli.hpp"

#include <omp.h>
#include <pthread.h>

#include <cstring>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "segstream/core/error.hpp"
#include "segstream/host/log.hpp"

namespace segstream::app {

std::unique_ptr<kernels::Backend> make_backend(const host::GlobalOptions& g, const std::string& gpu_memory) {
  auto backend = kernels::make_backend(host::backend_options(g, gpu_memory));
  const kernels::DeviceInfo& device = backend->device();
  host::log_record(
      host::LogLevel::kDebug,
      fmt::format("device: {} ({}, {} {}) — {}", kernels::device_kind_name(device.kind), device.name,
                  device.threads, device.kind == kernels::DeviceKind::kCuda ? "SMs" : "threads", device.note),
      {{"device", kernels::device_kind_name(device.kind)}, {"device_name", device.name}});
  return backend;
}

Commands add_commands(CLI::App& app, host::GlobalOptions& global) {
  app.add_option("--threads", global.threads, "CPU threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--device", global.device, "Compute device: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("--log-json", global.log_json, "Log JSON lines (one object per record) instead of human text");
  app.add_flag("-q,--quiet", global.quiet, "Only warnings and errors");
  app.add_flag("-v,--verbose", global.verbose, "Debug logging");

  Commands c;
  const auto add = [&](const char* name, const char* description, Action (*bind)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, description);
    c.actions[sub] = bind(*sub);
  };
  add("generate", "Generate a synthetic customer base with ground truth", add_generate);
  add("inspect", "Show an HDF5 file's datasets, attributes and column statistics", add_inspect);
  add("import-csv", "Turn a transactions CSV into events.h5", add_import_csv);
  add("features", "Compute per-customer features from events.h5", add_features);
  add("rfm", "RFM scores and named segments from rfm features", add_rfm);
  add("fit", "Fit mini-batch k-means segments to features.h5 into model.h5", add_fit);
  add("assign", "Assign every customer of features.h5 to a model's segments", add_assign);
  add("update", "Carry a model onto a new window: stable segment ids, hysteresis, who moved where",
      add_update);
  add("report", "Write a self-contained HTML report (and its JSON) of a model's segments", add_report);
  add("run", "Run a whole job (features, fit or update, assign, report, export) from a TOML file", add_run);
  c.segments = app.add_subcommand("segments", "Work with segments.h5: export it for a CRM");
  c.segments->require_subcommand(0, 1);
  c.segments_export = c.segments->add_subcommand(
      "export", "Write each customer's own id, segment and segment name from segments.h5 as CSV");
  c.actions[c.segments_export] = add_segments_export(*c.segments_export);
  c.segments->fallthrough();
  for (auto& [sub, action] : c.actions) sub->fallthrough();
  return c;
}

void start_worker_threads(int threads, const std::string& stage) {
  std::vector<pthread_t> started;
  int failure = 0;
  for (int t = 1; t < threads; ++t) {
    pthread_t id{};
    failure = pthread_create(
        &id, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
    if (failure != 0) break;
    started.push_back(id);
  }
  for (pthread_t id : started) pthread_join(id, nullptr);
  if (failure != 0)
    throw ResourceError(
        fmt::format("{}: cannot start {} threads ({}); give fewer with --threads, or raise "
                    "the limits on memory (ulimit -v) or processes (ulimit -u)",
                    stage, threads, std::strerror(failure)));
#pragma omp parallel num_threads(threads)
  {}
}

std::string stage_of(const CLI::App& app) {
  static const std::set<std::string> inputs = {
      "--events",   "--features", "--model", "--segments", "--previous-segments",
      "--state-in", "--config",   "input",   "segments",   "file"};
  for (const CLI::App* sub : app.get_subcommands()) {
    if (!sub->get_subcommands().empty()) return stage_of(*sub);
    std::string files;
    for (const CLI::Option* opt : sub->get_options()) {
      const std::string name = opt->get_name();
      if (inputs.count(name) == 0 || opt->count() == 0) continue;
      for (const std::string& value : opt->results())
        files += fmt::format("{}{} {}", files.empty() ? "" : ", ", name, value);
    }
    return sub->get_name() + (files.empty() ? "" : " (" + files + ")");
  }
  return "segstream";
}

int cpu_threads(const host::GlobalOptions& g) {
  return g.threads > 0 ? g.threads : omp_get_max_threads();
}

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace segstream::app
