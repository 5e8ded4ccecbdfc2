// `segstream run --config job.toml`: a whole job — features (and lifetimes features), fit or update,
// assign, report, export — from one TOML file, as a scheduler runs it (docs/CLI.md, `segstream run`).
//
// The file is checked whole before anything runs: every table and key is known, every stage key is an
// option of its subcommand with a value of the option's type, and each stage's command line parses; an
// error names the file, line, table and key (exit 2). Each stage then runs as a child process of this
// executable, so it keeps its own exit code, time and peak memory, and a crash in one stage cannot take the
// record of the others with it. After every stage the run manifest (manifest.json in the output directory)
// is rewritten atomically: inputs and outputs with their sizes and fingerprints, the config, seed, version
// and commit, and per stage its command, exit code, seconds, throughput and peak memory. A stage that fails
// stops the job with its exit code and a manifest naming it; every stage's outputs are atomic, so those of
// finished stages stay valid and no partial file is left.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/interrupt.hpp"
#include "segstream/core/time.hpp"
#include "segstream/core/version.hpp"
#include "segstream/host/log.hpp"
#include "segstream/io/atomic_output.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/provenance.hpp"
#include "segstream/io/segments.hpp"

namespace segstream::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The tables of a job file: the job's own keys, and one table per stage with its subcommand's options.
struct StageTable {
  const char* table;                    // in the job file
  const char* command;                  // the subcommand whose options the table takes
  std::vector<std::string> set_by_run;  // options run gives the stage itself
};
const std::vector<StageTable>& stage_tables() {
  static const std::vector<StageTable> tables = {
      {"features", "features", {"events", "out", "overwrite"}},
      {"lifetimes", "features", {"events", "out", "overwrite", "mode"}},
      {"fit", "fit", {"features", "out", "overwrite"}},
      {"update",
       "update",
       {"model", "features", "out-model", "out", "previous-segments", "changes", "overwrite"}},
      {"assign", "assign", {"model", "features", "out", "overwrite"}},
      {"report", "report", {"model", "segments", "out", "json", "lifetimes", "overwrite"}},
      {"export", "segments export", {"segments", "out", "overwrite"}},
  };
  return tables;
}
const std::set<std::string> kJobKeys = {"out", "events", "previous", "seed", "threads", "device"};

// "job.toml:12: [fit] k: …": where a problem is, for every config error.
std::string where(const std::string& file, const toml::node& node, const std::string& table,
                  const std::string& key) {
  const auto line = node.source().begin.line;
  return fmt::format("{}:{}: [{}]{}", file, line, table, key.empty() ? "" : " " + key);
}

std::string option_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

// A TOML date, time or date-time as ISO 8601 text (what --since, --as-of and the like take).
std::string iso_text(const toml::date& d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
}
std::string iso_text(const toml::time& t) {
  return fmt::format("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
}
std::optional<std::string> date_text(const toml::node& v) {
  if (const auto* d = v.as_date()) return iso_text(d->get());
  if (const auto* t = v.as_time()) return iso_text(t->get());
  if (const auto* dt = v.as_date_time()) {
    const toml::date_time& x = dt->get();
    std::string text = iso_text(x.date) + "T" + iso_text(x.time);
    if (x.offset) {
      const int m = x.offset->minutes;
      text +=
          m == 0 ? "Z" : fmt::format("{}{:02}:{:02}", m < 0 ? '-' : '+', std::abs(m) / 60, std::abs(m) % 60);
    }
    return text;
  }
  return std::nullopt;
}

// A TOML value as the command line gives it.
std::optional<std::string> scalar_text(const toml::node& v) {
  if (const auto* s = v.as_string()) return s->get();
  if (const auto* i = v.as_integer()) return std::to_string(i->get());
  if (const auto* f = v.as_floating_point()) return fmt::format("{}", f->get());
  return date_text(v);
}

struct Stage {
  std::string name;               // features, lifetimes, fit, update, assign, report, export
  std::vector<std::string> args;  // after the executable: global options, subcommand, options
  std::vector<std::pair<std::string, fs::path>> outputs;  // (role, path)
  std::map<std::string, int> key_lines;                   // option → its line in the job file, for errors
};

struct Job {
  fs::path config, config_dir, out, events, previous_model, previous_segments;
  std::int64_t seed = 1;
  json config_json;
  std::vector<Stage> stages;
};

json to_json(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    json j = json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = to_json(v);
    return j;
  }
  if (const auto* a = node.as_array()) {
    json j = json::array();
    for (const auto& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  return date_text(node).value_or("");
}

// A stage's options from its table, checked against the subcommand's options (names and types).
void add_table_options(const std::string& file, const toml::table* table, const StageTable& spec,
                       CLI::App& command, Stage& stage) {
  if (table == nullptr) return;
  for (const auto& [k, v] : *table) {
    const std::string key(k.str()), name = option_name(key);
    const std::string at = where(file, v, spec.table, key);
    SEGSTREAM_EXPECTS(
        std::find(spec.set_by_run.begin(), spec.set_by_run.end(), name) == spec.set_by_run.end(),
        "{}: is set by run itself (the job's files are in [job] out), not by the job file", at);
    const CLI::Option* opt = command.get_option_no_throw("--" + name);
    SEGSTREAM_EXPECTS(opt != nullptr, "{}: `segstream {}` has no option --{} (see its --help)", at,
                      spec.command, name);
    stage.key_lines[name] = static_cast<int>(v.source().begin.line);
    const bool flag = opt->get_type_size() == 0;
    if (flag) {
      const auto* b = v.as_boolean();
      SEGSTREAM_EXPECTS(b != nullptr, "{}: expected true or false (--{} is a flag), not {}", at, name,
                        to_json(v).dump());
      if (b->get()) stage.args.push_back("--" + name);
      continue;
    }
    std::string text;
    if (const auto* a = v.as_array()) {  // a list: comma-separated, as the command line takes lists
      for (const auto& e : *a) {
        const auto item = scalar_text(e);
        SEGSTREAM_EXPECTS(item.has_value(), "{}: expected a list of strings or numbers", at);
        text += (text.empty() ? "" : ",") + *item;
      }
    } else {
      const auto item = scalar_text(v);
      SEGSTREAM_EXPECTS(item.has_value(), "{}: expected a value for --{}, not {}", at, name,
                        v.is_boolean() ? "true or false (it is not a flag)" : "a table");
      const std::string type = opt->get_type_name();
      const bool integer = type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0;
      const bool number = integer || type.rfind("FLOAT", 0) == 0 || type.rfind("NUMBER", 0) == 0;
      SEGSTREAM_EXPECTS(!integer || v.is_integer(), "{}: expected a whole number, not {}", at,
                        to_json(v).dump());
      SEGSTREAM_EXPECTS(!number || v.is_number(), "{}: expected a number, not {}", at, to_json(v).dump());
      text = *item;
    }
    stage.args.push_back("--" + name);
    stage.args.push_back(text);
  }
}

// The job: its file read and checked, the stages' command lines built.
Job read_job(const fs::path& config, const host::GlobalOptions& global) {
  Job job;
  job.config = config;
  job.config_dir = fs::absolute(config).parent_path();
  const std::string file = config.string();
  SEGSTREAM_EXPECTS(fs::is_regular_file(config), "{}: no such job file", file);
  toml::table doc;
  try {
    doc = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw UsageError(fmt::format("{}:{}:{}: not valid TOML: {}", file, e.source().begin.line,
                                 e.source().begin.column, e.description()));
  }
  job.config_json = to_json(doc);
  for (const auto& [k, v] : doc) {
    const std::string key(k.str());
    const bool known = key == "job" || std::any_of(stage_tables().begin(), stage_tables().end(),
                                                   [&](const StageTable& t) { return key == t.table; });
    SEGSTREAM_EXPECTS(known, "{}:{}: unknown table or key '{}' (expected [job], {})", file,
                      v.source().begin.line, key,
                      "[features], [lifetimes], [fit], [update], [assign], [report] or [export]");
    SEGSTREAM_EXPECTS(v.is_table(), "{}:{}: '{}' must be a table ([{}])", file, v.source().begin.line, key,
                      key);
  }
  const toml::table* j = doc["job"].as_table();
  SEGSTREAM_EXPECTS(j != nullptr, "{}: lacks the table [job] (with at least out and events)", file);
  for (const auto& [k, v] : *j)
    SEGSTREAM_EXPECTS(kJobKeys.count(std::string(k.str())) == 1,
                      "{}: unknown key (expected out, events, previous, seed, threads or device)",
                      where(file, v, "job", std::string(k.str())));
  const auto job_string = [&](const char* key, bool required) -> std::optional<fs::path> {
    const toml::node* v = j->get(key);
    if (v == nullptr) {
      SEGSTREAM_EXPECTS(!required, "{}:{}: [job] lacks the required key {}", file, j->source().begin.line,
                        key);
      return std::nullopt;
    }
    SEGSTREAM_EXPECTS(v->is_string(), "{}: expected a path (a string), not {}", where(file, *v, "job", key),
                      to_json(*v).dump());
    const fs::path p = v->as_string()->get();
    SEGSTREAM_EXPECTS(!p.empty(), "{}: is empty", where(file, *v, "job", key));
    return p.is_absolute() ? p : job.config_dir / p;
  };
  job.out = *job_string("out", true);
  job.events = *job_string("events", true);
  const std::optional<fs::path> previous = job_string("previous", false);
  int threads = global.threads;
  std::string device = global.device;
  if (const toml::node* v = j->get("seed")) {
    SEGSTREAM_EXPECTS(v->is_integer() && v->as_integer()->get() >= 0, "{}: expected a whole number >= 0",
                      where(file, *v, "job", "seed"));
    job.seed = v->as_integer()->get();
  }
  if (const toml::node* v = j->get("threads")) {
    SEGSTREAM_EXPECTS(v->is_integer() && v->as_integer()->get() >= 0, "{}: expected a whole number >= 0",
                      where(file, *v, "job", "threads"));
    threads = static_cast<int>(v->as_integer()->get());
  }
  if (const toml::node* v = j->get("device")) {
    const std::string d = v->is_string() ? v->as_string()->get() : "";
    SEGSTREAM_EXPECTS(d == "auto" || d == "cpu" || d == "cuda", "{}: expected \"auto\", \"cpu\" or \"cuda\"",
                      where(file, *v, "job", "device"));
    device = d;
  }
  if (previous) {
    job.previous_model = *previous / "model.h5";
    job.previous_segments = *previous / "segments.h5";
    SEGSTREAM_EXPECTS(fs::weakly_canonical(*previous) != fs::weakly_canonical(job.out),
                      "{}: previous is the job's own out directory; an update needs the previous run's",
                      where(file, *j->get("previous"), "job", "previous"));
  }
  SEGSTREAM_EXPECTS(!(previous && doc.contains("fit")),
                    "{}: [fit] is for a job without previous; with [job] previous the job updates ([update])",
                    where(file, *doc.get("fit"), "fit", ""));
  SEGSTREAM_EXPECTS(!(!previous && doc.contains("update")),
                    "{}: [update] needs [job] previous (the previous run's out directory)",
                    where(file, *doc.get("update"), "update", ""));

  // The stages, each a command line checked against a parser of this executable's own subcommands.
  const std::vector<std::string> globals = {"--threads", std::to_string(threads), "--device", device};
  std::vector<std::string> passed;  // the run's own logging options go to every stage
  if (global.log_json) passed.emplace_back("--log-json");
  if (global.quiet) passed.emplace_back("-q");
  if (global.verbose) passed.emplace_back("-v");
  const auto out = [&](const char* name) { return (job.out / name).string(); };
  const std::string seed = std::to_string(job.seed);
  const auto make = [&](const std::string& name, const StageTable& table, std::vector<std::string> fixed,
                        std::vector<std::pair<std::string, fs::path>> outputs) {
    Stage s;
    s.name = name;
    s.args = globals;
    s.args.insert(s.args.end(), passed.begin(), passed.end());
    std::istringstream words(table.command);
    for (std::string w; words >> w;) s.args.push_back(w);
    s.args.insert(s.args.end(), fixed.begin(), fixed.end());
    s.args.emplace_back("--overwrite");
    CLI::App check{kDescription};
    host::GlobalOptions g;
    const Commands commands = add_commands(check, g);
    CLI::App* command = nullptr;
    for (const auto& [sub, action] : commands.actions)
      if (sub->get_name() == table.command ||
          (table.command == std::string("segments export") && sub == commands.segments_export))
        command = sub;
    SEGSTREAM_ASSERT(command != nullptr, "no subcommand {}", table.command);
    add_table_options(file, doc[table.table].as_table(), table, *command, s);
    // The whole line parses as the subcommand would parse it.
    std::vector<const char*> argv = {"segstream"};
    for (const auto& a : s.args) argv.push_back(a.c_str());
    try {
      check.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::RequiredError& e) {  // "--k is required": a key the table must have
      const std::string what = e.what();
      const std::string option = what.substr(0, what.find(' '));
      std::string key = option.rfind("--", 0) == 0 ? option.substr(2) : option;
      std::replace(key.begin(), key.end(), '-', '_');
      const toml::node* t = doc.get(table.table);
      throw UsageError(fmt::format("{}:{}: [{}] lacks the required key {} (`segstream {}` needs {})", file,
                                   t != nullptr ? t->source().begin.line : 1, table.table, key, table.command,
                                   option));
    } catch (const CLI::ParseError& e) {
      std::string at = fmt::format("{}: [{}]", file, table.table);
      for (const auto& [key, line] : s.key_lines)
        if (std::string(e.what()).find("--" + key) != std::string::npos)
          at = fmt::format("{}:{}: [{}] {}", file, line, table.table, key);
      throw UsageError(fmt::format("{}: {}", at, e.what()));
    }
    s.outputs = std::move(outputs);
    job.stages.push_back(std::move(s));
  };
  const auto& tables = stage_tables();
  const auto spec = [&](const char* table) {
    return *std::find_if(tables.begin(), tables.end(),
                         [&](const StageTable& t) { return t.table == std::string(table); });
  };
  make("features", spec("features"), {"--events", job.events.string(), "--out", out("features.h5")},
       {{"features", job.out / "features.h5"}});
  const bool lifetimes = doc.contains("lifetimes");
  if (lifetimes)
    make("lifetimes", spec("lifetimes"),
         {"--events", job.events.string(), "--mode", "lifetimes", "--out", out("lifetimes.h5")},
         {{"lifetimes", job.out / "lifetimes.h5"}});
  const bool seed_given = (doc["fit"]["seed"] || doc["update"]["seed"]);
  std::vector<std::string> seed_args;
  if (!seed_given) seed_args = {"--seed", seed};
  if (previous) {
    std::vector<std::string> a = {"--model",
                                  job.previous_model.string(),
                                  "--features",
                                  out("features.h5"),
                                  "--out-model",
                                  out("model.h5"),
                                  "--out",
                                  out("segments.h5"),
                                  "--previous-segments",
                                  job.previous_segments.string(),
                                  "--changes",
                                  out("changes.csv")};
    a.insert(a.end(), seed_args.begin(), seed_args.end());
    make("update", spec("update"), a,
         {{"model", job.out / "model.h5"},
          {"segments", job.out / "segments.h5"},
          {"changes", job.out / "changes.csv"}});
  } else {
    std::vector<std::string> a = {"--features", out("features.h5"), "--out", out("model.h5")};
    a.insert(a.end(), seed_args.begin(), seed_args.end());
    make("fit", spec("fit"), a, {{"model", job.out / "model.h5"}});
    make("assign", spec("assign"),
         {"--model", out("model.h5"), "--features", out("features.h5"), "--out", out("segments.h5")},
         {{"segments", job.out / "segments.h5"}});
  }
  std::vector<std::string> report = {"--model",          out("model.h5"), "--segments",
                                     out("segments.h5"), "--out",         out("report.html")};
  if (lifetimes) report.insert(report.end(), {"--lifetimes", out("lifetimes.h5")});
  make("report", spec("report"), report,
       {{"report", job.out / "report.html"}, {"report json", job.out / "report.json"}});
  make("export", spec("export"), {out("segments.h5"), "--out", out("segments.csv")},
       {{"export", job.out / "segments.csv"}});
  return job;
}

// A child's exit: its code (75 when it was interrupted, as segstream itself), time, peak memory and the
// error line it printed.
struct ChildResult {
  int exit_code = 0;
  double seconds = 0;
  std::uint64_t peak_rss = 0;  // bytes
  std::string error;
};

ChildResult run_child(const std::vector<std::string>& args, const fs::path& cwd) {
  int err[2];
  if (pipe(err) != 0) throw ResourceError(fmt::format("run: cannot make a pipe: {}", std::strerror(errno)));
  std::vector<char*> argv;
  std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw ResourceError(fmt::format("run: cannot start a stage: {}", std::strerror(errno)));
  if (pid == 0) {
    dup2(err[1], STDERR_FILENO);
    close(err[0]);
    close(err[1]);
    if (chdir(cwd.c_str()) != 0) _exit(4);
    execv("/proc/self/exe", argv.data());
    _exit(1);
  }
  close(err[1]);
  ChildResult r;
  std::string pending;
  bool forwarded = false;
  for (;;) {
    pollfd p{err[0], POLLIN, 0};
    const int ready = poll(&p, 1, 100);
    if (ready > 0) {
      char buf[4096];
      const ssize_t n = read(err[0], buf, sizeof buf);
      if (n > 0) {
        // Through to run's own stderr, but the stage's error line: run reports it, once, as its own.
        pending.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
          const std::string line = pending.substr(0, nl + 1);
          pending.erase(0, nl + 1);
          if (const std::size_t at = line.find("error: ");
              at != std::string::npos && line.rfind("segstream", 0) == 0) {
            r.error = line.substr(at + 7, line.size() - at - 8);
            continue;
          }
          if (line.rfind('{', 0) == 0) {  // --log-json: the error record
            const json record = json::parse(line, nullptr, false);
            if (record.is_object() && record.value("level", "") == "error") {
              r.error = record.value("msg", "");
              continue;
            }
          }
          (void)!write(STDERR_FILENO, line.data(), line.size());
        }
        continue;
      }
      if (n == 0) break;  // the child closed its stderr: it is ending
    }
    if (interrupt_requested() && !forwarded) {  // SIGTERM or SIGINT to run: the stage stops cleanly too
      kill(pid, SIGTERM);
      forwarded = true;
    }
  }
  close(err[0]);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.peak_rss = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else {
    r.exit_code = WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT) ? 75 : 1;
    if (r.error.empty()) r.error = fmt::format("the stage ended on signal {}", WTERMSIG(status));
  }
  return r;
}

json file_record(const std::string& role, const fs::path& path) {
  const io::InputFingerprint f = io::fingerprint_input(role, path);
  return {
      {"role", role}, {"file", path.filename().string()}, {"bytes", f.bytes}, {"fingerprint", f.fingerprint}};
}

// Rows a stage went through, for its throughput: the customers of the features or segments file it wrote,
// or (fit, report, export) of the job's features or segments.
std::uint64_t stage_rows(const Stage& s, const fs::path& out) {
  for (const auto& [role, path] : s.outputs) {
    if (role == "features" || role == "lifetimes") return io::FeatureFileReader(path).rows();
    if (role == "segments") return io::SegmentsReader(path).rows();
  }
  if (s.name == "fit") return io::FeatureFileReader(out / "features.h5").rows();
  return io::SegmentsReader(out / "segments.h5").rows();
}

std::string now_iso() {
  return format_iso_time(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

void write_manifest(const fs::path& path, const json& manifest) {
  io::AtomicOutput out(path, true);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    f << manifest.dump(1) << "\n";
    if (!f.flush())
      throw ResourceError(fmt::format("{}: the write failed (is the disk full?)", path.string()));
  }
  out.commit(io::AtomicOutput::OnInterrupt::kKeep);  // the manifest says which stage was stopped
}

struct RunArgs {
  std::string config;
};

}  // namespace

Action add_run(CLI::App& sub) {
  auto o = std::make_shared<RunArgs>();
  sub.add_option("-c,--config", o->config, "The job file (TOML): [job] and a table per stage")->required();
  sub.footer(
      "Example:\n  segstream run --config job.toml\n"
      "job.toml:\n  [job]\n  out = \"out/2026-12-01\"\n  events = \"events.h5\"\n  seed = 1\n"
      "  [fit]\n  k = \"auto\"");
  return [o](const host::GlobalOptions& global) {
    const auto t0 = std::chrono::steady_clock::now();
    const Job job = read_job(o->config, global);
    // The output directory, with any missing parents, made and writable before anything runs; when it
    // cannot be, what was made for it is removed again.
    std::error_code ec;
    fs::path first_made;
    for (fs::path p = fs::absolute(job.out); !p.empty() && !fs::exists(p); p = p.parent_path()) {
      first_made = p;
      if (p == p.parent_path()) break;
    }
    fs::create_directories(job.out, ec);
    if (ec || !fs::is_directory(job.out) || access(job.out.c_str(), W_OK) != 0) {
      const std::string why = ec ? ec.message() : "not writable";
      std::error_code ignored;
      if (!first_made.empty()) fs::remove_all(first_made, ignored);
      throw ResourceError(
          fmt::format("{}: the job's out directory cannot be made or written ({})", job.out.string(), why));
    }
    json manifest = {{"format", "segstream.run"},
                     {"format_version", 1},
                     {"segstream", {{"version", kVersion}, {"commit", kGitCommit}}},
                     {"config",
                      {{"file", job.config.filename().string()},
                       {"fingerprint", io::fingerprint_input("config", job.config).fingerprint},
                       {"content", job.config_json}}},
                     {"seed", job.seed},
                     {"started", now_iso()},
                     {"status", "running"},
                     {"failed_stage", nullptr},
                     {"exit_code", nullptr},
                     {"stages", json::array()},
                     {"outputs", json::array()}};
    json inputs = json::array();
    SEGSTREAM_CHECK_INPUT(fs::is_regular_file(job.events), "{}: the job's events file does not exist",
                          job.events.string());
    inputs.push_back(file_record("events", job.events));
    if (!job.previous_model.empty()) {
      for (const auto& [role, path] : {std::pair{"previous model", job.previous_model},
                                       std::pair{"previous segments", job.previous_segments}})
        SEGSTREAM_CHECK_INPUT(fs::is_regular_file(path), "{}: the previous run's {} does not exist",
                              path.string(), role);
      inputs.push_back(file_record("previous model", job.previous_model));
      inputs.push_back(file_record("previous segments", job.previous_segments));
    }
    manifest["inputs"] = inputs;
    const fs::path manifest_path = job.out / "manifest.json";
    write_manifest(manifest_path, manifest);

    int exit_code = 0;
    for (const Stage& s : job.stages) {
      host::log_record(host::LogLevel::kInfo, fmt::format("run: stage {}", s.name), {{"stage", s.name}});
      const ChildResult r = run_child(s.args, job.config_dir);
      json stage = {{"name", s.name},
                    {"command", json(s.args)},
                    {"exit_code", r.exit_code},
                    {"seconds", r.seconds},
                    {"peak_rss_bytes", r.peak_rss},
                    {"status", r.exit_code == 0    ? "ok"
                               : r.exit_code == 75 ? "interrupted"
                                                   : "failed"}};
      if (r.exit_code == 0) {
        const std::uint64_t rows = stage_rows(s, job.out);
        stage["rows"] = rows;
        stage["rows_per_second"] = r.seconds > 0 ? static_cast<double>(rows) / r.seconds : 0.0;
        json outs = json::array();
        for (const auto& [role, path] : s.outputs) {
          outs.push_back(file_record(role, path));
          manifest["outputs"].push_back(outs.back());
        }
        stage["outputs"] = outs;
      } else {
        stage["error"] = r.error;
      }
      manifest["stages"].push_back(stage);
      if (r.exit_code != 0) {
        exit_code = r.exit_code;
        manifest["failed_stage"] = s.name;
        manifest["status"] = stage["status"];
        break;
      }
      write_manifest(manifest_path, manifest);
    }
    if (exit_code == 0) manifest["status"] = "ok";
    manifest["exit_code"] = exit_code;
    manifest["finished"] = now_iso();
    manifest["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_manifest(manifest_path, manifest);
    if (exit_code != 0) {
      const std::string failed = manifest["failed_stage"].get<std::string>();
      const std::string message = fmt::format(
          "run: stage {} failed (exit {}): {} ({} names it; the stages before it finished)", failed,
          exit_code, manifest["stages"].back().value("error", std::string("no error message")),
          manifest_path.string());
      switch (exit_code) {
        case 2:
          throw UsageError(message);
        case 3:
          throw InputError(message);
        case 4:
          throw ResourceError(message);
        case 75:
          throw InterruptedError(message);
        default:
          throw InternalError(message);
      }
    }
    std::printf("run: %zu stages in %.1f s; outputs in %s (report %s, manifest %s)\n", job.stages.size(),
                manifest["seconds"].get<double>(), job.out.c_str(), (job.out / "report.html").c_str(),
                manifest_path.c_str());
  };
}

}  // namespace segstream::app
