// The segstream executable as a user meets it: help, version, exit codes, one-line errors, and no output
// left behind on any failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "segstream/core/philox.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "test_util.hpp"

#include "segstream/io/model.hpp"
#include "segstream/kernels/backend.hpp"

namespace segstream::test {
namespace {

// The executable under test: the one this build made, or $SEGSTREAM_BIN (a build carried to another
// machine, where the build's absolute paths do not exist).
const std::string kBin =
    std::getenv("SEGSTREAM_BIN") != nullptr ? std::getenv("SEGSTREAM_BIN") : SEGSTREAM_BIN;

CommandResult segstream(const std::string& args) {
  return run_command(kBin + " " + args);
}

int line_count(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// The error line of a failed command: its last line, and the only one that reports an error.
std::string error_line(const std::string& output) {
  std::string last;
  std::size_t start = 0;
  int errors = 0;
  while (start < output.size()) {
    const std::size_t end = output.find('\n', start);
    const std::string line = output.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.find("error") != std::string::npos) ++errors;
    last = line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return errors == 1 ? last : "(" + std::to_string(errors) + " error lines)";
}

// A failed command reports one error line, naming what it should, and exits with the documented code.
void expect_error(const CommandResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.output;
  const std::string line = error_line(r.output);
  EXPECT_EQ(line.rfind("segstream: error: ", 0), 0u) << r.output;
  EXPECT_NE(line.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.output;
}

TEST(Cli, HelpShowsSubcommandsAndExamples) {
  const auto top = segstream("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.output.find("generate"), std::string::npos);
  EXPECT_NE(top.output.find("inspect"), std::string::npos);
  EXPECT_NE(top.output.find("Exit codes"), std::string::npos);
  for (const std::string sub :
       {"generate", "inspect", "import-csv", "features", "rfm", "fit", "assign", "update", "report"}) {
    const auto r = segstream(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.output.find("Example"), std::string::npos) << sub;
    EXPECT_NE(r.output.find("segstream " + sub + " "), std::string::npos) << sub;
  }
}

TEST(Cli, Version) {
  const auto r = segstream("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.rfind("segstream 0.", 0), 0u) << r.output;
}

TEST(Cli, UsageErrorsExitWithTwo) {
  TempDir dir;
  const std::string out = " --out " + (dir / "e.h5").string();
  expect_error(segstream(""), 2, "subcommand");
  expect_error(segstream("frobnicate"), 2, "unknown subcommand or option 'frobnicate'");
  expect_error(segstream("generate --no-such-option" + out), 2, "--no-such-option");
  expect_error(segstream("generate --customers 10"), 2, "--out");
  expect_error(segstream("generate --customers 0" + out), 2, "--customers must be at least 1 (got 0)");
  expect_error(segstream("generate --customers -5" + out), 2, "--customers must be at least 1 (got -5)");
  expect_error(segstream("generate --customers 10 --days -3" + out), 2,
               "--days must be a positive number of days");
  expect_error(segstream("generate --customers 10 --archetypes champion,whale" + out), 2,
               "unknown archetype 'whale'");
  expect_error(segstream("generate --customers 10 --drift-fraction 0.1" + out), 2, "--drift-at");
  expect_error(segstream("generate --customers 10 --drift-fraction 1.5 --drift-at 2025-06-01" + out), 2,
               "--drift-fraction must be within [0, 1]");
  expect_error(segstream("generate --customers 10 --start 2025-02-30" + out), 2,
               "expected a date YYYY-MM-DD");
  expect_error(segstream("generate --customers 10 --order sideways" + out), 2, "sideways");
  expect_error(segstream("--threads -2 generate --customers 10" + out), 2, "--threads");
  expect_error(segstream("--device tpu generate --customers 10" + out), 2, "tpu");
  expect_error(segstream("generate --features-only --customers 3 --clusters 5" + out), 2,
               "--clusters (5) must not exceed --customers (3)");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Cli, GenerateWritesAndRefusesToOverwrite) {
  TempDir dir;
  const std::string path = (dir / "ev.h5").string();
  const auto first = segstream("generate --customers 500 --out " + path);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("wrote " + path), std::string::npos);
  expect_error(segstream("generate --customers 500 --out " + path), 2,
               path + ": already exists (pass --overwrite");
  EXPECT_EQ(segstream("generate --customers 600 --overwrite --out " + path).exit_code, 0);
  EXPECT_EQ(io::File::open(path).dataset("/customers/customer_id").rows(), 600u);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"ev.h5"});
}

TEST(Cli, SameSeedDifferentThreadsGivesIdenticalFiles) {
  TempDir dir;
  for (const std::string mode : {"", " --features-only --dims 6 --clusters 4"}) {
    const auto a =
        segstream("--threads 1 generate --customers 3000 --seed 11 --out " + (dir / "a.h5").string() + mode);
    const auto b =
        segstream("--threads 2 generate --customers 3000 --seed 11 --out " + (dir / "b.h5").string() + mode);
    ASSERT_EQ(a.exit_code, 0) << a.output;
    ASSERT_EQ(b.exit_code, 0) << b.output;
    EXPECT_TRUE(files_equal(dir / "a.h5", dir / "b.h5")) << mode;
    std::filesystem::remove(dir / "a.h5");
    std::filesystem::remove(dir / "b.h5");
  }
}

TEST(Cli, UnwritableOutputDirectoryExitsWithFour) {
  TempDir dir;
  // root may write anywhere a mode allows, so use a directory where nobody can create files.
  std::string target;
  if (::geteuid() == 0) {
    target = "/proc/segstream-cli-test/ev.h5";
  } else {
    std::filesystem::create_directory(dir / "ro");
    std::filesystem::permissions(dir / "ro",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    target = (dir / "ro" / "ev.h5").string();
  }
  expect_error(segstream("generate --customers 10 --out " + target), 4, target);
  if (::geteuid() == 0) {
    expect_error(segstream("generate --customers 10 --out /proc/ev.h5"), 4, "/proc/ev.h5");
  }
}

TEST(Cli, FullDiskLeavesNoPartialOutput) {
  TempDir dir;
  const std::string path = (dir / "ev.h5").string();
  // A 2 MiB file-size limit stands in for a full disk: writes fail with EFBIG.
  const auto r = run_command("bash -c 'ulimit -f 2048; exec " + kBin + " generate --customers 20000 --out " +
                             path + "'");
  expect_error(r, 4, path + ": writing dataset");
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_TRUE(dir.entries().empty()) << "left behind: " << (dir.entries().empty() ? "" : dir.entries()[0]);
  const auto f = run_command("bash -c 'ulimit -f 1024; exec " + kBin +
                             " generate --features-only --customers 200000 --dims 8 --out " + path + "'");
  expect_error(f, 4, path);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Cli, InterruptExitsWith75AndLeavesNothing) {
  TempDir dir;
  const std::string path = (dir / "ev.h5").string();
  const auto r = run_command("timeout --preserve-status -s INT 1 " + kBin +
                             " generate --customers 50000000 --out " + path);
  EXPECT_EQ(r.exit_code, 75) << r.output;
  EXPECT_NE(r.output.find("interrupted"), std::string::npos) << r.output;
  EXPECT_TRUE(dir.entries().empty());
}

// SIGTERM during a fit's mini-batch phase stops it within about a second with exit 75, and no model is left.
TEST(Cli, SignalStopsAFitInItsMiniBatchPhase) {
  TempDir dir;
  const std::string f = (dir / "f.h5").string();
  ASSERT_EQ(
      segstream("generate --features-only --customers 200000 --dims 16 --clusters 8 --out " + f).exit_code,
      0);
  const Signalled s =
      run_and_signal(kBin + " -v fit --features " + f +
                         " --k 16 --max-epochs 10000 --max-no-improvement 0 --out " + (dir / "m.h5").string(),
                     "fit: mini-batch steps", SIGTERM);
  ASSERT_TRUE(s.marker_seen) << s.output;
  EXPECT_EQ(s.exit_code, 75) << s.output;
  EXPECT_LT(s.seconds_after_signal, 2.0);
  EXPECT_NE(s.output.find("terminated (SIGTERM)"), std::string::npos) << s.output;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.h5"});
}

// SIGINT in the second pass of a behavioural features run (a small memory budget makes several) stops it
// within about a second with exit 75, and neither the features nor the state are left.
TEST(Cli, SignalStopsFeaturesInTheMiddleOfAPass) {
  TempDir dir;
  const std::string ev = (dir / "ev.h5").string();
  ASSERT_EQ(segstream("generate --customers 60000 --out " + ev).exit_code, 0);
  const Signalled s = run_and_signal(kBin + " -v features --events " + ev + " --host-memory 8M --out " +
                                         (dir / "f.h5").string() + " --state-out " + (dir / "s.h5").string(),
                                     "features: pass 2 of", SIGINT);
  ASSERT_TRUE(s.marker_seen) << s.output;
  EXPECT_EQ(s.exit_code, 75) << s.output;
  EXPECT_LT(s.seconds_after_signal, 2.0);
  EXPECT_NE(s.output.find("interrupted (SIGINT)"), std::string::npos) << s.output;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"ev.h5"});
}

// An import stops at a signal too (it checks every 4,096 lines).
TEST(Cli, SignalStopsAnImport) {
  TempDir dir;
  {
    std::ofstream csv(dir / "big.csv");
    csv << "id,when,amount\n";
    for (int i = 0; i < 3000000; ++i) csv << i % 50000 << ",2025-01-" << (1 + i % 28) << ",1.5\n";
  }
  const Signalled s =
      run_and_signal(kBin + " -v import-csv " + (dir / "big.csv").string() +
                         " --customer id --time when --time-format %Y-%m-%d --amount amount --out " +
                         (dir / "e.h5").string(),
                     "device:", SIGTERM);
  ASSERT_TRUE(s.marker_seen) << s.output;
  EXPECT_EQ(s.exit_code, 75) << s.output;
  EXPECT_LT(s.seconds_after_signal, 2.0);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"big.csv"});
}

TEST(Cli, InspectDescribesAGeneratedFile) {
  TempDir dir;
  const std::string path = (dir / "ev.h5").string();
  ASSERT_EQ(segstream("generate --customers 300 --out " + path).exit_code, 0);
  const auto r = segstream("inspect " + path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string needle :
       {"segstream.events", "/events/amount", "float32", "/events/customer_id", "uint64", "chunks [262144]",
        "event_type_names", "mean", "std", "/customers/archetype"})
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle;
  const auto j = segstream("inspect --json " + path);
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_NE(j.output.find("\"datasets\""), std::string::npos);
}

TEST(Cli, InspectRejectsBadInputsWithExitThree) {
  TempDir dir;
  expect_error(segstream("inspect " + (dir / "missing.h5").string()), 3, "missing.h5: no such file");
  std::ofstream(dir / "notes.txt") << "not hdf5\n";
  expect_error(segstream("inspect " + (dir / "notes.txt").string()), 3, "notes.txt: not an HDF5 file");

  const std::string ev = (dir / "ev.h5").string();
  ASSERT_EQ(segstream("generate --customers 2000 --out " + ev).exit_code, 0);
  std::filesystem::resize_file(ev, std::filesystem::file_size(ev) / 3);
  expect_error(segstream("inspect " + ev), 3, "ev.h5");

  // A file that says it holds events but lacks a column.
  const auto broken = dir / "broken.h5";
  {
    io::File f = io::File::create(broken);
    f.set_attribute("format", "segstream.events");
    f.create_group("/events");
    f.create_dataset<std::uint64_t>("/events/customer_id", io::DatasetOptions{{4}, {}, false, 0});
  }
  expect_error(segstream("inspect " + broken.string()), 3, "broken.h5: dataset /events/timestamp is missing");

  // Events files with one thing wrong each: a column's type, a column's rank, a column's length, no rows.
  auto events_file = [&](const std::string& name, auto&& tweak) {
    const auto path = dir / name;
    io::File f = io::File::create(path);
    f.set_attribute("format", "segstream.events");
    f.create_group("/events");
    for (const auto& spec : io::event_columns()) {
      io::DatasetOptions options{{5}, {}, false, 0};
      io::ElementType type = spec.type;
      tweak(std::string(spec.name), options, type);
      f.create_dataset(std::string("/events/") + spec.name, type, options);
    }
    return path.string();
  };
  expect_error(segstream("inspect " + events_file("type.h5",
                                                  [](const std::string& n, auto&, auto& t) {
                                                    if (n == "amount") t = io::ElementType::kFloat64;
                                                  })),
               3, "type.h5: dataset /events/amount has type float64, expected float32");
  expect_error(segstream("inspect " + events_file("rank.h5",
                                                  [](const std::string& n, auto& o, auto&) {
                                                    if (n == "category") o.dims = {5, 2};
                                                  })),
               3, "rank.h5: dataset /events/category has rank 2");
  expect_error(segstream("inspect " + events_file("length.h5",
                                                  [](const std::string& n, auto& o, auto&) {
                                                    if (n == "discount") o.dims = {4};
                                                  })),
               3, "length.h5: dataset /events/discount has 4 rows but /events/customer_id has 5");
  expect_error(segstream("inspect " +
                         events_file("empty.h5", [](const std::string&, auto& o, auto&) { o.dims = {0}; })),
               3, "empty.h5: /events has zero rows");
  EXPECT_EQ(dir.entries().size(), 7u) << "inspect must not write anything";
}

TEST(Cli, ImportCsvWritesEventsAndNamesBadRows) {
  TempDir dir;
  std::ofstream(dir / "orders.csv")
      << "CustomerID,InvoiceDate,TotalPrice\n17850,2010-12-01,139.12\n13047,2010-12-02,-22.5\n";
  const std::string out = (dir / "events.h5").string();
  const auto ok = segstream("import-csv " + (dir / "orders.csv").string() +
                            " --customer CustomerID --time InvoiceDate --amount TotalPrice --out " + out);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("wrote " + out + ": 2 events"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("1 purchases with a negative amount recorded as returns"), std::string::npos)
      << ok.output;
  EXPECT_EQ(segstream("inspect --no-stats " + out).exit_code, 0);

  std::ofstream(dir / "bad.csv") << "CustomerID,InvoiceDate,TotalPrice\n17850,2010-12-01,nan\n";
  const std::string bad_out = (dir / "bad.h5").string();
  const std::string args = " --customer CustomerID --time InvoiceDate --amount TotalPrice --out " + bad_out;
  expect_error(segstream("import-csv " + (dir / "bad.csv").string() + args), 3,
               "bad.csv:2: column 'TotalPrice' (amount): an amount is not a finite number ('nan')");
  EXPECT_FALSE(std::filesystem::exists(bad_out));
  const auto skipped = segstream("import-csv " + (dir / "orders.csv").string() + " --on-bad-row skip" + args);
  EXPECT_EQ(skipped.exit_code, 0) << skipped.output;
  EXPECT_NE(skipped.output.find("2 events of 2 customers"), std::string::npos) << skipped.output;
  expect_error(
      segstream("import-csv " + (dir / "bad.csv").string() + " --on-bad-row skip --overwrite" + args), 3,
      "1 of 1 rows (100.0%) are bad, more than --max-bad-share 0.01");
  expect_error(segstream("import-csv " + (dir / "orders.csv").string() +
                         " --customer Client --time InvoiceDate --out " + bad_out + " --overwrite"),
               3, "column 'Client' (customer) is not in the header line");
  expect_error(segstream("import-csv " + (dir / "missing.csv").string() + args + " --overwrite"), 3,
               "missing.csv: no such file");
  expect_error(
      segstream("import-csv " + (dir / "orders.csv").string() + args + " --overwrite --delimiter pipes"), 2,
      "--delimiter");
}

TEST(Cli, FeaturesSummariseAGeneratedBase) {
  TempDir dir;
  const std::string ev = (dir / "ev.h5").string(), out = (dir / "f.h5").string();
  ASSERT_EQ(segstream("generate --customers 2000 --out " + ev).exit_code, 0);
  const auto r = segstream("features --events " + ev +
                           " --mode lifetimes --multiplier 7 --calibration-end 2025-10-01 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("customers (lifetimes mode, as of 2025-12-31T23:59:59Z)"), std::string::npos)
      << r.output;
  EXPECT_EQ(io::File::open(out).dataset("/features").dims()[1], 7u);
  expect_error(segstream("features --events " + ev + " --out " + out), 2, "already exists");
  expect_error(segstream("features --events " + ev + " --mode clv --out " + out + "2"), 2, "clv");
  expect_error(segstream("features --events " + ev + " --mode lifetimes --calibration-end 2026-06-01 --out " +
                         out + "2"),
               2, "--calibration-end 2026-06-01 must come before --as-of");
  expect_error(segstream("features --events " + ev + " --host-memory 12Q --out " + out + "2"), 2,
               "--host-memory");
  expect_error(segstream("features --events " + (dir / "none.h5").string() + " --out " + out + "2"), 3,
               "none.h5: no such file");
  EXPECT_FALSE(std::filesystem::exists(out + "2"));
}

TEST(Cli, BehaviouralFeaturesAndIncrementalState) {
  TempDir dir;
  const std::string ev = (dir / "ev.h5").string(), out = (dir / "f.h5").string(),
                    state = (dir / "s.h5").string();
  ASSERT_EQ(segstream("generate --customers 2000 --out " + ev).exit_code, 0);
  auto r = segstream("features --events " + ev + " --as-of 2025-12-20T23:59:59 --state-out " + state +
                     " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("customers (behavioral mode, as of 2025-12-20T23:59:59Z)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("p_alive: BG/NBD r="), std::string::npos) << r.output;
  r = segstream("features --events " + ev + " --state-in " + state + " --out " + out + "2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("customers carried in from"), std::string::npos) << r.output;
  const std::string bad = " --out " + out + "3";
  expect_error(segstream("features --events " + ev + " --windows 7,28" + bad), 2, "--windows");
  expect_error(segstream("features --events " + ev + " --windows 7,28,365" + bad), 2, "--windows");
  expect_error(segstream("features --events " + ev + " --season-months 13" + bad), 2, "--season-months");
  expect_error(segstream("features --events " + ev + " --bgnbd 1,2,3" + bad), 2, "--bgnbd");
  expect_error(segstream("features --events " + ev + " --top-categories 40" + bad), 2, "--top-categories");
  expect_error(segstream("features --events " + ev + " --state-in " + ev + bad), 3,
               "not a segstream state file");
  expect_error(segstream("features --events " + ev + " --state-in " + state + " --as-of 2025-12-01" + bad), 3,
               "after --as-of");
  expect_error(segstream("features --events " + ev + " --mode rfm --state-out " + state + "2" + bad), 2,
               "--state-in and --state-out apply to --mode behavioral only");
  EXPECT_FALSE(std::filesystem::exists(out + "3"));
  EXPECT_FALSE(std::filesystem::exists(state + "2"));
}

// update: the next model and segments, the migration summary and the changes list; unchanged data changes
// nothing; every bad input is one error line with its exit code and no output.
TEST(Cli, UpdateSegments) {
  TempDir dir;
  const auto p = [&](const std::string& name) { return (dir / name).string(); };
  ASSERT_EQ(
      segstream("generate --features-only --customers 6000 --dims 4 --clusters 3 --seed 3 --out " + p("f.h5"))
          .exit_code,
      0);
  ASSERT_EQ(segstream("fit --features " + p("f.h5") + " --k 3 --out " + p("m1.h5")).exit_code, 0);
  ASSERT_EQ(segstream("assign --model " + p("m1.h5") + " --features " + p("f.h5") + " --out " + p("s1.h5"))
                .exit_code,
            0);
  auto r =
      segstream("update --model " + p("m1.h5") + " --features " + p("f.h5") + " --out-model " + p("m2.h5") +
                " --out " + p("s2.h5") + " --previous-segments " + p("s1.h5") + " --changes " + p("c.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the previous centres stand"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("new ids: none; retired: none"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("migrations: 0 of 6,000 customers changed segment (0.00%), 0 new, 0 gone"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("survived"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "c.csv"));
  // Exported, the segments carry the stable ids.
  r = segstream("segments export " + p("s2.h5") + " --out " + p("s2.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::string base =
      "update --model " + p("m1.h5") + " --features " + p("f.h5") + " --out-model " + p("x.h5");
  expect_error(segstream(base + " --half-life 0"), 2, "--half-life must be a positive number");
  expect_error(segstream(base + " --out " + p("xs.h5") + " --hysteresis 1"), 2,
               "--hysteresis must lie in [0, 1)");
  expect_error(segstream(base + " --out " + p("xs.h5") + " --changes " + p("x.csv")), 2,
               "--changes needs --previous-segments");
  expect_error(segstream(base + " --previous-segments " + p("s1.h5")), 2, "need --out");
  expect_error(
      segstream("update --model " + p("f.h5") + " --features " + p("f.h5") + " --out-model " + p("x.h5")), 3,
      "not a segstream model");
  ASSERT_EQ(segstream("generate --features-only --customers 500 --dims 3 --clusters 2 --out " + p("g.h5"))
                .exit_code,
            0);
  expect_error(
      segstream("update --model " + p("m1.h5") + " --features " + p("g.h5") + " --out-model " + p("x.h5")), 3,
      "has no column 'x3'");
  ASSERT_EQ(segstream("fit --features " + p("f.h5") + " --k 3 --seed 5 --out " + p("other.h5")).exit_code, 0);
  ASSERT_EQ(segstream("assign --model " + p("other.h5") + " --features " + p("f.h5") + " --out " + p("so.h5"))
                .exit_code,
            0);
  expect_error(segstream(base + " --out " + p("xs.h5") + " --previous-segments " + p("so.h5")), 3,
               "were not assigned with the model");
  for (const char* out : {"x.h5", "xs.h5", "x.csv"}) EXPECT_FALSE(std::filesystem::exists(dir / out)) << out;
}

// report: the page and its JSON, or exit 3 for segments of another run and 4 for a directory that cannot be
// written, with nothing left under either name.
TEST(Cli, ReportWritesThePageOrNothing) {
  TempDir dir;
  const auto p = [&](const std::string& name) { return (dir / name).string(); };
  for (const std::string run : {"1", "2"}) {
    ASSERT_EQ(segstream("generate --features-only --customers 3000 --dims 3 --clusters 3 --seed " + run +
                        " --out " + p("f" + run + ".h5"))
                  .exit_code,
              0);
    ASSERT_EQ(segstream("fit --features " + p("f" + run + ".h5") + " --k 3 --out " + p("m" + run + ".h5"))
                  .exit_code,
              0);
    ASSERT_EQ(segstream("assign --model " + p("m" + run + ".h5") + " --features " + p("f" + run + ".h5") +
                        " --out " + p("s" + run + ".h5"))
                  .exit_code,
              0);
  }
  auto r = segstream("report --model " + p("m1.h5") + " --segments " + p("s1.h5") + " --truth " + p("f1.h5") +
                     " --out " + p("r.html"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3,000 customers in 3 segments"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "r.json"));
  expect_error(
      segstream("report --model " + p("m1.h5") + " --segments " + p("s2.h5") + " --out " + p("x.html")), 3,
      "were assigned with model");
  expect_error(segstream("report --model " + p("m1.h5") + " --segments " + p("s1.h5") + " --out " +
                         p("nowhere/x.html")),
               4, "nowhere");
  expect_error(
      segstream("report --model " + p("m1.h5") + " --segments " + p("s1.h5") + " --out " + p("r.html")), 2,
      "r.html");         // exists, no --overwrite
  if (geteuid() != 0) {  // root writes anywhere
    std::filesystem::create_directory(dir / "ro");
    std::filesystem::permissions(dir / "ro",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    expect_error(
        segstream("report --model " + p("m1.h5") + " --segments " + p("s1.h5") + " --out " + p("ro/x.html")),
        4, "ro");
    EXPECT_TRUE(std::filesystem::is_empty(dir / "ro"));
  }
  for (const char* left : {"x.html", "x.json"}) EXPECT_FALSE(std::filesystem::exists(dir / left)) << left;
}

// run: a job file's two windows (fit, then update), the same outputs for the same config and seed, and every
// mistake in the file named by key and line before anything runs.
class RunJob : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        segstream("generate --customers 3000 --seed 4 --start 2024-01-01 --days 731 --drift-fraction 0.1 "
                  "--drift-at 2025-01-01 --out " +
                  p("events.h5"))
            .exit_code,
        0);
  }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }
  std::string job(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return p(name);
  }
  nlohmann::json manifest(const std::string& out) const {
    return nlohmann::json::parse(std::ifstream(dir_ / out / "manifest.json"));
  }
  TempDir dir_;
};

const char* kWindow1 =
    "[job]\nout = \"out/w1\"\nevents = \"events.h5\"\nseed = 3\n\n"
    "[features]\nas_of = 2024-12-31T23:59:59Z\n\n"
    "[lifetimes]\nas-of = 2024-12-31T23:59:59Z\ncalibration_end = 2024-10-01\n\n"
    "[fit]\nk = 6\nrefine = 2\n\n[report]\ntruth = \"events.h5\"\n";

TEST_F(RunJob, TwoWindowsAndTheSameOutputsForTheSameConfig) {
  auto r = segstream("run --config " + job("w1.toml", kWindow1));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto m1 = manifest("out/w1");
  EXPECT_EQ(m1["status"], "ok");
  EXPECT_EQ(m1["seed"], 3);
  std::vector<std::string> stages;
  for (const auto& s : m1["stages"]) {
    stages.push_back(s["name"].get<std::string>());
    EXPECT_EQ(s["exit_code"], 0);
    EXPECT_GT(s["peak_rss_bytes"].get<std::uint64_t>(), 0u);
    EXPECT_GT(s["rows"].get<std::uint64_t>(), 0u);
    EXPECT_GE(s["seconds"].get<double>(), 0.0);
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"features", "lifetimes", "fit", "assign", "report", "export"}));
  for (const char* file : {"features.h5", "lifetimes.h5", "model.h5", "segments.h5", "report.html",
                           "report.json", "segments.csv"})
    EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "out/w1" / file)) << file;
  // The report has the lifetimes' value and the truth, as the job asked.
  const auto report = nlohmann::json::parse(std::ifstream(dir_ / "out/w1/report.json"));
  EXPECT_TRUE(report["lifetimes"].is_object());
  EXPECT_TRUE(report["truth"].is_object());
  // Run again into another directory: every output's fingerprint is the same.
  std::string again = kWindow1;
  again.replace(again.find("out/w1"), 6, "out/w1b");
  ASSERT_EQ(segstream("run --config " + job("w1b.toml", again)).exit_code, 0);
  const auto m1b = manifest("out/w1b");
  ASSERT_EQ(m1b["outputs"].size(), m1["outputs"].size());
  for (std::size_t i = 0; i < m1["outputs"].size(); ++i)
    EXPECT_EQ(m1b["outputs"][i]["fingerprint"], m1["outputs"][i]["fingerprint"]) << m1["outputs"][i]["file"];
  // The second window updates from the first: stable ids, migrations and who changed.
  r = segstream("run --config " +
                job("w2.toml",
                    "[job]\nout = \"out/w2\"\nevents = \"events.h5\"\nprevious = \"out/w1\"\n"
                    "[features]\nsince = 2025-01-01\n[update]\nhysteresis = 0.05\n"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto m2 = manifest("out/w2");
  stages.clear();
  for (const auto& s : m2["stages"]) stages.push_back(s["name"].get<std::string>());
  EXPECT_EQ(stages, (std::vector<std::string>{"features", "update", "report", "export"}));
  EXPECT_EQ(m2["inputs"][1]["role"], "previous model");
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "out/w2/changes.csv"));
  const auto report2 = nlohmann::json::parse(std::ifstream(dir_ / "out/w2/report.json"));
  EXPECT_TRUE(report2["migration"].is_object());
}

TEST_F(RunJob, MistakesInTheFileAreNamedByKeyAndLine) {
  const std::string head = "[job]\nout = \"out/x\"\nevents = \"events.h5\"\n";
  expect_error(segstream("run --config " + job("a.toml", head + "[fit]\nk = 4\nclusters = 5\n")), 2,
               "a.toml:6: [fit] clusters: `segstream fit` has no option --clusters");
  expect_error(segstream("run --config " + job("b.toml", head + "[fitt]\nk = 4\n")), 2,
               "b.toml:4: unknown table or key 'fitt'");
  expect_error(segstream("run --config " + job("c.toml", head + "colour = 1\n")), 2,
               "c.toml:4: [job] colour");
  expect_error(segstream("run --config " + job("d.toml", head + "[fit]\nseed = \"one\"\n")), 2,
               "d.toml:5: [fit] seed: expected a whole number");
  expect_error(segstream("run --config " + job("e.toml", head + "[fit]\nk = true\n")), 2,
               "e.toml:5: [fit] k: expected a value for --k");
  expect_error(segstream("run --config " + job("f.toml", head + "[fit]\nk = 3\nout = \"m.h5\"\n")), 2,
               "f.toml:6: [fit] out: is set by run itself");
  expect_error(segstream("run --config " + job("f2.toml", head + "[fit]\nrefine = 2\n")), 2,
               "f2.toml:4: [fit] lacks the required key k");
  expect_error(segstream("run --config " + job("g.toml", "[job]\nevents = \"events.h5\"\n")), 2,
               "g.toml:1: [job] lacks the required key out");
  expect_error(segstream("run --config " + job("h.toml", head + "seed = -1\n")), 2, "h.toml:4: [job] seed");
  expect_error(segstream("run --config " + job("h2.toml", head + "[fit]\nk = 3\ntol = \"small\"\n")), 2,
               "h2.toml:6: [fit] tol: expected a number");
  expect_error(segstream("run --config " + job("i.toml", head + "[update]\nhysteresis = 0.1\n")), 2,
               "[update] needs [job] previous");
  expect_error(segstream("run --config " + job("j.toml", head + "[features]\nmode = \"cubes\"\n")), 2,
               "j.toml:5: [features] mode");
  expect_error(segstream("run --config " + job("j2.toml", head + "[fit]\nk = 3\ninit = [1, {a = 2}]\n")), 2,
               "j2.toml:6: [fit] init: expected a list of strings or numbers");
  expect_error(segstream("run --config " + job("k.toml", "[job\nout = 1\n")), 2, "k.toml:1:");
  expect_error(segstream("run --config " + p("none.toml")), 2, "none.toml: no such job file");
  // Nothing ran: no output directory was made.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out"));
}

TEST_F(RunJob, AFailedStageLeavesAManifestNamingItAndTheFinishedStagesOutputs) {
  const std::string head = "[job]\nout = \"out/f\"\nevents = \"events.h5\"\n";
  const std::string k3 = "[fit]\nk = 3\n";
  // More segments than customers: fit refuses (exit 2) after features finished.
  const auto r = segstream("run --config " + job("fail.toml", head + "[fit]\nk = 100000\n"));
  expect_error(r, 2, "stage fit failed (exit 2)");
  const auto m = manifest("out/f");
  EXPECT_EQ(m["status"], "failed");
  EXPECT_EQ(m["failed_stage"], "fit");
  EXPECT_EQ(m["exit_code"], 2);
  ASSERT_EQ(m["stages"].size(), 2u);
  EXPECT_NE(m["stages"][1]["error"].get<std::string>().find("--k"), std::string::npos) << m["stages"][1];
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "out/f/features.h5"));
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "out/f")) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "features.h5" || name == "manifest.json") << "left behind: " << name;
  }
  // An out directory that cannot be made: exit 4, and nothing made on the way.
  std::ofstream(dir_ / "file") << "x";
  expect_error(segstream("run --config " +
                         job("ro.toml", "[job]\nout = \"file/sub/out\"\nevents = \"events.h5\"\n" + k3)),
               4, "cannot be made or written");
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "file"));
  expect_error(
      segstream("run --config " + job("ev.toml", "[job]\nout = \"out/e\"\nevents = \"no.h5\"\n" + k3)), 3,
      "no.h5: the job's events file does not exist");
}

// Runs that are technically fine but whose result is not: rfm on events without amounts, and features far
// from the model they are assigned with, each warn (and still succeed).
TEST(Cli, WarningsWhenTheResultMeansLessThanItSeems) {
  TempDir dir;
  const auto p = [&](const std::string& name) { return (dir / name).string(); };
  std::ofstream(dir / "visits.csv") << "id,when\n1,2025-01-02\n1,2025-02-03\n2,2025-01-05\n3,2025-03-01\n";
  ASSERT_EQ(
      segstream("import-csv " + p("visits.csv") + " --customer id --time when --out " + p("v.h5")).exit_code,
      0);
  auto r = segstream("features --events " + p("v.h5") + " --mode rfm --out " + p("rfm.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("M (monetary) is 0 for every customer and means nothing"), std::string::npos)
      << r.output;
  r = segstream("rfm --features " + p("rfm.h5") + " --out " + p("scores.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the M score and the segments that use it mean nothing"), std::string::npos)
      << r.output;
  // Features drawn six times as wide as the model's: assign warns; the model's own features do not.
  ASSERT_EQ(
      segstream("generate --features-only --customers 3000 --dims 3 --clusters 3 --seed 1 --out " + p("f.h5"))
          .exit_code,
      0);
  ASSERT_EQ(
      segstream("generate --features-only --customers 3000 --dims 3 --clusters 3 --seed 1 --cluster-std 6 "
                "--out " +
                p("wide.h5"))
          .exit_code,
      0);
  ASSERT_EQ(segstream("fit --features " + p("f.h5") + " --k 3 --out " + p("m.h5")).exit_code, 0);
  r = segstream("assign --model " + p("m.h5") + " --features " + p("f.h5") + " --out " + p("s.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  r = segstream("assign --model " + p("m.h5") + " --features " + p("wide.h5") + " --out " + p("s2.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("its customers lie far from the model's"), std::string::npos) << r.output;
}

TEST(Cli, FitAndAssignSegments) {
  TempDir dir;
  const std::string f = (dir / "f.h5").string(), model = (dir / "model.h5").string(),
                    seg = (dir / "seg.h5").string();
  ASSERT_EQ(segstream("generate --features-only --customers 5000 --dims 4 --clusters 3 --out " + f).exit_code,
            0);
  auto r = segstream("fit --features " + f + " --k 3 --refine 2 --out " + model);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 segments of 5,000 rows x 4 columns"), std::string::npos) << r.output;
  r = segstream("assign --model " + model + " --features " + f + " --out " + seg);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("5,000 customers in 3 segments"), std::string::npos) << r.output;
  const std::string bad = " --out " + (dir / "x.h5").string();
  expect_error(segstream("fit --features " + f + " --k 0" + bad), 2, "--k must be at least 1");
  expect_error(segstream("fit --features " + f + " --k 6000" + bad), 2, "more than the 5000 rows");
  expect_error(segstream("fit --features " + f + " --k 3 --columns x0,income" + bad), 2,
               "no column 'income'");
  expect_error(segstream("fit --features " + f + " --k 4 --init " + model + bad), 2, "expected --k");
  expect_error(segstream("fit --features " + f + " --k 3 --host-memory 1K" + bad), 4, "--host-memory");
  expect_error(segstream("fit --features " + f + " --k 3 --transform log" + bad), 2, "--transform");
  expect_error(segstream("assign --model " + f + " --features " + f + bad), 3, "not a segstream model");
  expect_error(segstream("fit --features " + f + " --k many" + bad), 2, "--k takes a whole number");
  expect_error(segstream("fit --features " + f + " --k 3 --n-init 0" + bad), 2, "--n-init takes auto");
  expect_error(segstream("fit --features " + f + " --k 3 --breathe -1" + bad), 2, "--breathe");
  expect_error(segstream("fit --features " + f + " --k 3 --clip -1" + bad), 2, "--clip takes 0");
  expect_error(segstream("fit --features " + f + " --k 3 --family-weights yes" + bad), 2,
               "--family-weights takes on or off");
  expect_error(segstream("fit --features " + f + " --k auto --k-range 2-6000" + bad), 2,
               "tries up to 6000 segments but there are only 5000 rows");
  expect_error(segstream("fit --features " + f + " --k auto --k-range 9-3" + bad), 2, "--k-range 9-3");
  expect_error(segstream("fit --features " + f + " --k auto --k-range 5" + bad), 2, "--k-range takes LO-HI");
  expect_error(segstream("fit --features " + f + " --k auto --init " + model + bad), 2,
               "--k auto cannot start from a model");
  // --k auto picks the mixture's three components, says so and keeps the curve in the model.
  r = segstream("fit --features " + f + " --k auto --k-range 2-8 --out " + (dir / "auto.h5").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 segments of 5,000 rows"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("k chosen by the jump method"), std::string::npos) << r.output;
  const std::string selection = io::File::open(dir / "auto.h5").string_attribute("k_selection");
  EXPECT_NE(selection.find("\"chosen\":3"), std::string::npos) << selection;
  EXPECT_NE(io::File::open(dir / "auto.h5").string_attribute("breathing").find("\"rounds\""),
            std::string::npos);
  ASSERT_EQ(
      segstream("fit --features " + f + " --k 2 --columns x1,x3 --out " + model + " --overwrite").exit_code,
      0);
  ASSERT_EQ(segstream("generate --features-only --customers 100 --dims 2 --clusters 1 --out " +
                      (dir / "g.h5").string())
                .exit_code,
            0);
  expect_error(segstream("assign --model " + model + " --features " + (dir / "g.h5").string() + bad), 3,
               "has no column 'x3'");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
}

// Customers keep their own ids: "0042", "42", "C-042" and "a,b" stay four customers through import,
// features, fit, assign and export, and the CSV gives each back by its own text with its segment's name.
TEST(Cli, CustomersKeepTheirOwnIdsThroughToTheExport) {
  TempDir dir;
  std::string csv = "customer,date,amount\n";
  const std::vector<std::string> ids = {"0042", "42", "C-042", "\"a,b\"", "7", "007", "x-1", "x-2"};
  for (std::size_t c = 0; c < ids.size(); ++c)
    for (std::size_t p = 0; p <= c % 4; ++p)
      csv += ids[c] + ",2025-0" + std::to_string(1 + p + c % 3) + "-1" + std::to_string(c) + "," +
             std::to_string(10 + 7 * c + p) + "\n";
  std::ofstream(dir / "t.csv") << csv;
  const std::string ev = (dir / "ev.h5").string(), f = (dir / "f.h5").string(), m = (dir / "m.h5").string(),
                    seg = (dir / "seg.h5").string(), out = (dir / "seg.csv").string();
  auto r = segstream("import-csv " + (dir / "t.csv").string() +
                     " --customer customer --time date --amount amount --out " + ev);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("6 customer ids are not plain integers"), std::string::npos) << r.output;
  for (const std::string& args :
       {"features --events " + ev + " --out " + f, "fit --features " + f + " --k 2 --out " + m,
        "assign --model " + m + " --features " + f + " --out " + seg}) {
    r = segstream(args);
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  }
  r = segstream("segments export " + seg + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("8 customers in 2 segments"), std::string::npos) << r.output;
  const io::ModelFile model = io::read_model(m);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "customer_id,segment,segment_name");
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    // The id is the text up to the last two fields (a quoted id may hold a comma).
    const std::size_t name_at = line.rfind(','), segment_at = line.rfind(',', name_at - 1);
    const std::string id = line.substr(0, segment_at);
    const int segment = std::stoi(line.substr(segment_at + 1, name_at - segment_at - 1));
    ASSERT_GE(segment, 0);
    ASSERT_LT(segment, 2);
    EXPECT_EQ(line.substr(name_at + 1), model.profiles.name[static_cast<std::size_t>(segment)]) << line;
    seen.insert(id);
  }
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end())) << "every id once, by its own text";
  expect_error(segstream("segments export " + out + " --out " + (dir / "x.csv").string()), 3,
               "not an HDF5 file");
  expect_error(segstream("segments export " + m + " --out " + (dir / "x.csv").string()), 3,
               "not a segstream segments file");
  expect_error(segstream("segments export " + seg + " --out " + out), 2, "exists");
  expect_error(segstream("segments"), 2, "expected a subcommand: export");
  expect_error(segstream("segments " + seg), 2, "unknown subcommand or option");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.csv"));
}

// A model whose centres, scales or shapes are broken is refused by assign, fit --init and inspect with exit
// code 3 naming it, and nothing is written.
TEST(Cli, BrokenModelsAreRefusedWithExitThree) {
  TempDir dir;
  const std::string f = (dir / "f.h5").string(), model = (dir / "model.h5").string();
  ASSERT_EQ(segstream("generate --features-only --customers 2000 --dims 3 --clusters 2 --out " + f).exit_code,
            0);
  ASSERT_EQ(segstream("fit --features " + f + " --k 2 --out " + model).exit_code, 0);
  io::ModelFile m = io::read_model(model);
  m.centroids[1] = std::numeric_limits<float>::quiet_NaN();
  io::write_model(dir / "nan.h5", "nan.h5", m, {"segstream.model", "fit", {}, {}});
  m = io::read_model(model);
  m.scale[0] = 0;
  io::write_model(dir / "scale.h5", "scale.h5", m, {"segstream.model", "fit", {}, {}});
  const std::string out = " --out " + (dir / "x.h5").string();
  const std::string nan = (dir / "nan.h5").string(), scale = (dir / "scale.h5").string();
  expect_error(segstream("assign --model " + nan + " --features " + f + out), 3,
               "nan.h5: /centroids row 0 column x1 is nan, expected a finite value");
  expect_error(segstream("assign --model " + scale + " --features " + f + out), 3,
               "scale.h5: /scaler/scale of column x0 is 0, expected a positive finite value");
  expect_error(segstream("fit --features " + f + " --k 2 --init " + nan + out), 3,
               "nan.h5: /centroids row 0");
  expect_error(segstream("inspect " + scale), 3, "/scaler/scale of column x0 is 0");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
}

// An events file of three customers whose rows the test sets: the way to make one damaged in one place.
void write_events(const std::filesystem::path& path, std::uint8_t third_type, std::int64_t as_of) {
  io::EventBuffer b(3);
  const io::EventColumns c = b.view();
  for (std::uint64_t i = 0; i < 3; ++i) {
    c.customer_id[i] = 10 + i;
    c.timestamp[i] = 1735689600 + static_cast<std::int64_t>(i) * 86400;
    c.event_type[i] = 6;  // purchase
    c.amount[i] = 5;
    c.category[i] = 0;
    c.channel[i] = 0;
    c.discount[i] = 0;
  }
  c.event_type[2] = third_type;
  io::EventFileWriter w(path);
  w.append(c, 3);
  w.file().set_attribute("as_of", as_of);
  w.close();
}

// A features file whose second and fourth rows are one customer; in features' key order (stated) or not.
void write_duplicate_features(const std::filesystem::path& path, bool key_order) {
  std::vector<std::uint64_t> ids = {3, 7, 9, 7, 12, 15};
  if (key_order) {
    std::sort(ids.begin(), ids.end(), [](auto a, auto b) { return mix64(a) < mix64(b); });
    ids[2] = ids[1];
  }
  std::vector<float> rows;
  for (std::size_t i = 0; i < ids.size(); ++i) rows.insert(rows.end(), {float(i), float(i % 2), 1.0f});
  io::FeatureFileWriter w(path, {"x0", "x1", "x2"});  // the generated mixture's columns
  w.append(rows.data(), ids.data(), ids.size());
  io::FeatureFileMetadata m;
  if (key_order) m.customer_order = std::string(io::kMix64Order);
  w.close(m, {"segstream.features", "test", {}, {}});
}

// Issue 15's refusals, each a case that was accepted before: exit 3 (or 2 for the command line), one line
// naming the file, and no output.
TEST(Cli, BrokenInputsOnceAcceptedAreRefused) {
  TempDir dir;
  const std::string x = " --out " + (dir / "x.h5").string();
  const std::string f = (dir / "f.h5").string(), model = (dir / "model.h5").string();
  ASSERT_EQ(segstream("generate --features-only --customers 500 --dims 3 --clusters 2 --out " + f).exit_code,
            0);
  ASSERT_EQ(segstream("fit --features " + f + " --k 2 --out " + model).exit_code, 0);
  for (const bool key_order : {true, false}) {
    const std::string dup = (dir / (key_order ? "dup-key.h5" : "dup.h5")).string();
    write_duplicate_features(dup, key_order);
    expect_error(segstream("fit --features " + dup + " --k 2" + x), 3, "is in rows ");
    expect_error(segstream("assign --model " + model + " --features " + dup + x), 3,
                 key_order ? "dup-key.h5: customer id " : "dup.h5: customer id 7 is in rows 1 and 3");
  }
  const std::string code = (dir / "code.h5").string(), late = (dir / "late.h5").string();
  write_events(code, 200, 1735689600 + 4 * 86400);
  write_events(late, 6, std::numeric_limits<std::int64_t>::max());
  expect_error(segstream("inspect " + code), 3,
               "code.h5: row 2: /events/event_type is 200, not a known code");
  expect_error(segstream("features --events " + code + x), 3, "row 2: /events/event_type is 200");
  expect_error(
      segstream("inspect " + late), 3,
      "late.h5: /: attribute 'as_of' is 9223372036854775807, not a time from 1900-01-01 to 2199-12-31");
  expect_error(segstream("features --events " + late + x), 3, "attribute 'as_of' is 9223372036854775807");
  const std::string ev = (dir / "ev.h5").string();
  write_events(ev, 6, 1735689600 + 4 * 86400);
  expect_error(segstream("features --events " + ev + " --as-of 9999-12-31" + x), 2,
               "--as-of: 9999-12-31 is outside the times segstream reads (1900-01-01 to 2199-12-31)");
  expect_error(segstream("features --events " + ev + " --mode rfm --t-ref 2024-01-01" + x), 2,
               "--t-ref 2024-01-01 comes before the observation end 2025-01-04T23:59:59Z");
  EXPECT_EQ(segstream("features --events " + ev + " --mode rfm --t-ref 2025-01-05" + x).exit_code, 0);
  std::filesystem::remove(dir / "x.h5");
  // An output that is an input, or two outputs that are one file.
  expect_error(segstream("features --events " + ev + " --out " + ev + " --overwrite"), 2,
               "--out " + ev + ": is also the input --events");
  expect_error(segstream("features --events " + ev + " --out " + (dir / "y.h5").string() + " --state-out " +
                         (dir / "." / "y.h5").string()),
               2, "is also the output --out");
  expect_error(segstream("assign --model " + model + " --features " + f + " --out " + model + " --overwrite"),
               2, "is also the input --model");
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir / "y.h5"));
  EXPECT_TRUE(io::EventFileReader(ev).rows() == 3);  // the input is as it was
}

// A size no disk holds is refused before anything is written (exit 4), for events and for mixtures.
TEST(Cli, AbsurdSizesAreRefusedBeforeWork) {
  TempDir dir;
  const std::string out = " --out " + (dir / "x.h5").string();
  expect_error(segstream("generate --customers 999999999999999" + out), 4,
               "x.h5: needs at least 3.4e+08 GiB (999999999999999 customers over 365 days");
  expect_error(segstream("generate --features-only --customers 999999999999 --dims 64" + out), 4,
               "GiB (999999999999 rows of 64 float32 columns and an id), but its file system has");
  EXPECT_TRUE(dir.entries().empty());
}

// Out of memory and threads that cannot start, inside OpenMP regions too: exit 4 naming the subcommand and
// its input, never an abort (134) or libgomp's exit 1, and nothing left. Sanitizer builds do not compile
// it: their shadow memory cannot be mapped under ulimit -v, and their allocator ends the process on an
// allocation that fails rather than throwing std::bad_alloc, so what it checks does not exist there.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(Cli, ResourceLimitsGiveExitFourNamingTheStage) {
  TempDir dir;
  const std::string f = (dir / "f.h5").string(), out = (dir / "m.h5").string();
  ASSERT_EQ(segstream("generate --features-only --customers 2000000 --dims 16 --out " + f).exit_code, 0);
  const auto oom = run_command("ulimit -v 400000; " + kBin + " fit --features " + f + " --k 16 --out " + out);
  expect_error(oom, 4, "fit (--features " + f + "): out of memory");
  const auto threads =
      run_command("ulimit -v 300000; " + kBin + " --threads 64 fit --features " + f + " --k 4 --out " + out);
  expect_error(threads, 4, "fit (--features " + f + "): cannot start 64 threads");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.h5"});
}
#endif

// Two runs writing one output without --overwrite: exactly one wins, the other exits 2 and the winner's file
// stays whole.
TEST(Cli, TwoWritersOfOneOutputOneWins) {
  TempDir dir;
  const std::string out = (dir / "ev.h5").string();
  for (int round = 0; round < 3; ++round) {
    std::filesystem::remove(out);
    const std::string one = kBin + " -q generate --customers 30000 --seed 1 --out " + out;
    const std::string two = kBin + " -q generate --customers 30000 --seed 2 --out " + out;
    const auto r =
        run_command("(" + one + " & p=$!; " + two + "; b=$?; wait $p; a=$?; echo \"exits $a $b\")");
    const bool first_won = r.output.find("exits 0 2") != std::string::npos;
    const bool second_won = r.output.find("exits 2 0") != std::string::npos;
    EXPECT_TRUE(first_won || second_won) << r.output;
    // The loser saw the file at its start, or had it appear while it worked.
    EXPECT_TRUE(r.output.find("already exists") != std::string::npos ||
                r.output.find("appeared while this run was writing it") != std::string::npos)
        << r.output;
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"ev.h5"});
    EXPECT_EQ(io::EventFileReader(out).file().string_attribute("format"), "segstream.events");
  }
}

TEST(Cli, RfmSegmentsFromRfmFeatures) {
  TempDir dir;
  const std::string ev = (dir / "ev.h5").string(), rf = (dir / "rf.h5").string(),
                    out = (dir / "rfm.h5").string();
  ASSERT_EQ(segstream("generate --customers 3000 --out " + ev).exit_code, 0);
  ASSERT_EQ(segstream("features --events " + ev + " --mode rfm --out " + rf).exit_code, 0);
  const auto r = segstream("rfm --features " + rf + " --map rf10 --scoring quintile --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Champions"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Hibernating"), std::string::npos) << r.output;
  EXPECT_EQ(io::File::open(out).string_attribute("format"), "segstream.rfm");
  // lifetimes features have no recency_days column
  const std::string lt = (dir / "lt.h5").string();
  ASSERT_EQ(segstream("features --events " + ev + " --mode lifetimes --out " + lt).exit_code, 0);
  expect_error(segstream("rfm --features " + lt + " --out " + out + "2"), 3, "has no 'recency_days' feature");
  expect_error(segstream("rfm --features " + rf + " --map rfm99 --out " + out + "2"), 2,
               "unknown RFM map 'rfm99'");
  EXPECT_FALSE(std::filesystem::exists(out + "2"));
}

TEST(Cli, JsonLogsAreOneObjectPerLine) {
  TempDir dir;
  const auto r = segstream("--log-json inspect " + (dir / "missing.h5").string());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(line_count(r.output), 1);
  EXPECT_EQ(r.output.front(), '{');
  EXPECT_NE(r.output.find("\"level\":\"error\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"exit_code\":3"), std::string::npos) << r.output;
  const auto ok = run_command(
      kBin + " --log-json generate --customers 100 --out " + (dir / "e.h5").string() + " 2>&1 >/dev/null",
      false);
  EXPECT_EQ(ok.exit_code, 0);
  std::size_t start = 0;
  int records = 0;
  while (start < ok.output.size()) {
    const std::size_t end = ok.output.find('\n', start);
    EXPECT_EQ(ok.output[start], '{') << ok.output;
    EXPECT_EQ(ok.output[end - 1], '}') << ok.output;
    start = end + 1;
    ++records;
  }
  EXPECT_GE(records, 2);
}

TEST(Cli, DeviceCudaWithoutAGpuExitsWithFour) {
  if (kernels::make_backend({kernels::DeviceKind::kAuto, 1, 0})->device().kind == kernels::DeviceKind::kCuda)
    GTEST_SKIP() << "a CUDA device is present";
  TempDir dir;
  expect_error(segstream("--device cuda generate --customers 10 --out " + (dir / "e.h5").string()), 4,
               "--device cuda: no CUDA device can be used");
  EXPECT_EQ(segstream("--device auto generate --customers 10 --out " + (dir / "e.h5").string()).exit_code, 0);
}

}  // namespace
}  // namespace segstream::test
