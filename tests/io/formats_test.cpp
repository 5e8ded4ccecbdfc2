// io's format modules: every writer's file reads back through its validating reader; the provenance helper
// and the content fingerprints (equal content, equal fingerprint, whatever the chunking; any change, another
// fingerprint; the one stored at close is the one recomputed by reading); and every broken model, segments,
// state or RFM file is refused with a message naming the file and what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "segstream/core/error.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/events.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/provenance.hpp"
#include "segstream/io/rfm.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/io/state.hpp"
#include "test_util.hpp"

namespace segstream::io {
namespace {

using test::TempDir;

ModelFile small_model() {
  ModelFile m;
  m.k = 2;
  m.d = 3;
  m.feature_names = {"a", "b", "c"};
  m.centroids = {0, 1, 2, 3, 4, 5};
  m.centroids_raw = {0, 2, 4, 6, 8, 10};
  m.segment_id = {0, 1};
  m.counts = {10, 20};
  m.cluster_weight = {10, 20};
  m.absorbed_weight = {100, 200};
  m.inertia_history = {3, 2, 1};
  m.transform = "zscore";
  m.log1p = {0, 1, 0};
  m.center = {0, 0.5, 1};
  m.scale = {1, 2, 3};
  m.inertia = 1.5;
  m.steps = 12;
  m.lloyd_passes = 2;
  m.stop_reason = "max passes";
  m.config = R"({"k":2})";
  m.source = R"({"file":"f.h5"})";
  return m;
}

const Provenance kModelProvenance{"segstream.model", "fit", {{"k", 2}}, {}};

// A features file of `rows` rows of two columns in chunks of `chunk` rows, appended `append` rows at a time.
void write_features(const std::filesystem::path& path, std::uint64_t rows, std::uint64_t chunk,
                    std::uint64_t append, float bump = 0) {
  FeatureFileWriter w(path, {"x", "y"}, chunk);
  std::vector<float> v;
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < rows; ++i) {
    v.push_back(static_cast<float>(i) * 0.25f + (i == rows / 2 ? bump : 0.0f));
    v.push_back(-static_cast<float>(i));
    ids.push_back(i * 7);
  }
  for (std::uint64_t at = 0; at < rows; at += append) {
    const std::uint64_t n = std::min(append, rows - at);
    w.append(v.data() + at * 2, ids.data() + at, n);
  }
  w.close({"lifetimes", {"days", "days"}, 1000, "ascending mix64(customer_id)", "{}"},
          {"segstream.features", "features", {}, {}});
}

TEST(Fingerprint, EqualContentEqualFingerprintAnyChangeAnother) {
  TempDir dir;
  write_features(dir / "a.h5", 10000, 1024, 777);
  write_features(dir / "b.h5", 10000, 4096, 10000);  // other chunks, other appends: the same content
  write_features(dir / "c.h5", 10000, 1024, 777, 1e-3f);
  const std::string a = File::open(dir / "a.h5").string_attribute("fingerprint");
  EXPECT_EQ(a.rfind("xxh3-64:", 0), 0u) << a;
  EXPECT_EQ(a.size(), 8u + 16u);
  EXPECT_EQ(File::open(dir / "b.h5").string_attribute("fingerprint"), a);
  EXPECT_NE(File::open(dir / "c.h5").string_attribute("fingerprint"), a);
  // The fingerprint stored at close, from the rows as they were written, is the one read back.
  for (const char* name : {"a.h5", "b.h5", "c.h5"}) {
    const File f = File::open(dir / name);
    EXPECT_EQ(content_fingerprint(f), f.string_attribute("fingerprint")) << name;
  }
}

// Rows written out of order or through a conversion are hashed by reading them back at close; an attribute
// is part of the content, the provenance attributes are not.
TEST(Fingerprint, OutOfOrderWritesAttributesAndProvenance) {
  TempDir dir;
  auto make = [&](const std::string& name, bool in_order, const std::string& note,
                  const std::string& command) {
    File f = File::create(dir / name);
    const Dataset ds = f.create_dataset<std::int32_t>("/v", DatasetOptions{{0}, {16}, true, 0});
    const std::vector<std::int32_t> lo = {1, 2, 3, 4}, hi = {5, 6, 7, 8};
    if (in_order) {
      ds.write_rows(0, 4, lo.data());
      ds.write_rows(4, 4, hi.data());
    } else {
      ds.write_rows(4, 4, hi.data());
      ds.write_rows(0, 4, lo.data());
    }
    f.write_strings("/names", {"one", "two"});
    f.set_attribute("note", note);
    write_provenance(f, {"segstream.test", command, {}, {}});
    f.close();
    return File::open(dir / name).string_attribute("fingerprint");
  };
  const std::string ordered = make("a.h5", true, "n", "x");
  EXPECT_EQ(make("b.h5", false, "n", "x"), ordered);
  EXPECT_EQ(make("c.h5", true, "n", "another command"), ordered);
  EXPECT_NE(make("d.h5", true, "m", "x"), ordered);
  EXPECT_EQ(content_fingerprint(File::open(dir / "b.h5")), ordered);
}

TEST(Provenance, RecordsTheCommandConfigAndInputs) {
  TempDir dir;
  write_features(dir / "f.h5", 100, 1024, 100);
  const InputFingerprint in = fingerprint_input("features", dir / "f.h5");
  EXPECT_EQ(in.file, "f.h5");
  EXPECT_EQ(in.format, "segstream.features");
  EXPECT_EQ(in.bytes, std::filesystem::file_size(dir / "f.h5"));
  EXPECT_EQ(in.fingerprint, File::open(dir / "f.h5").string_attribute("fingerprint"));
  write_model(dir / "m.h5", "m.h5", small_model(), {"segstream.model", "fit", {{"k", 2}}, {in}});
  const File m = File::open(dir / "m.h5");
  EXPECT_EQ(m.int_attribute("format_version"), kFormatVersion);
  EXPECT_NE(m.string_attribute("created_by").find(") fit"), std::string::npos);
  const auto p = nlohmann::json::parse(m.string_attribute("provenance"));
  EXPECT_EQ(p["command"], "fit");
  EXPECT_EQ(p["config"]["k"], 2);
  ASSERT_EQ(p["inputs"].size(), 1u);
  EXPECT_EQ(p["inputs"][0]["role"], "features");
  EXPECT_EQ(p["inputs"][0]["fingerprint"], in.fingerprint);
  // A file that is not HDF5 is fingerprinted by its bytes: import-csv hashes them as it reads, and gets the
  // same.
  {
    std::ofstream csv(dir / "t.csv");
    csv << "id,when,amount\n1,2025-01-01,3.5\n2,2025-01-02,4\r\n3,2025-01-03,1";  // no newline at the end
  }
  CsvImportOptions o;
  o.input = dir / "t.csv";
  o.customer = "id";
  o.time = "when";
  o.amount = "amount";
  import_csv(o, dir / "t.h5", false);
  const auto ev = nlohmann::json::parse(File::open(dir / "t.h5").string_attribute("provenance"));
  EXPECT_EQ(ev["inputs"][0]["fingerprint"], fingerprint_input("csv", dir / "t.csv").fingerprint);
  EXPECT_EQ(ev["inputs"][0]["bytes"], std::filesystem::file_size(dir / "t.csv"));
}

TEST(Formats, ReadersRefuseOtherFormatsAndVersions) {
  TempDir dir;
  write_model(dir / "m.h5", "m.h5", small_model(), kModelProvenance);
  write_features(dir / "f.h5", 10, 1024, 10);
  EXPECT_NE(test::input_error_of([&] { read_model(dir / "f.h5"); })
                .find("f.h5: not a segstream model (format attribute 'segstream.model' expected, it has "
                      "'segstream.features')"),
            std::string::npos);
  EXPECT_NE(
      test::input_error_of([&] { FeatureFileReader r(dir / "m.h5"); }).find("not a segstream features file"),
      std::string::npos);
  EXPECT_NE(
      test::input_error_of([&] { EventFileReader r(dir / "f.h5"); }).find("not a segstream events file"),
      std::string::npos);
  {
    File f = File::create(dir / "v2.h5");
    f.set_attribute("format", "segstream.model");
    f.set_attribute("format_version", std::int64_t{2});
    f.close();
  }
  EXPECT_NE(test::input_error_of([&] { read_model(dir / "v2.h5"); }).find("format_version 2"),
            std::string::npos);
  EXPECT_NE(
      test::input_error_of([&] { SegmentsReader r(dir / "m.h5"); }).find("not a segstream segments file"),
      std::string::npos);
  EXPECT_NE(
      test::input_error_of([&] { StateFileReader r(dir / "m.h5", 16); }).find("not a segstream state file"),
      std::string::npos);
  EXPECT_NE(test::input_error_of([&] { read_rfm(dir / "m.h5"); }).find("not a segstream RFM file"),
            std::string::npos);
}

TEST(Formats, ModelRoundTripsAndBrokenModelsAreRefused) {
  TempDir dir;
  const ModelFile want = small_model();
  write_model(dir / "m.h5", "m.h5", want, kModelProvenance);
  const ModelFile got = read_model(dir / "m.h5");
  EXPECT_EQ(got.k, 2);
  EXPECT_EQ(got.d, 3);
  EXPECT_EQ(got.feature_names, want.feature_names);
  EXPECT_EQ(got.centroids, want.centroids);
  EXPECT_EQ(got.centroids_raw, want.centroids_raw);
  EXPECT_EQ(got.absorbed_weight, want.absorbed_weight);
  EXPECT_EQ(got.scale, want.scale);
  EXPECT_EQ(got.stop_reason, want.stop_reason);
  EXPECT_EQ(got.config, want.config);
  struct Case {
    const char* name;
    void (*spoil)(ModelFile&);
    const char* message;
  };
  const Case cases[] = {
      {"nan-centre", [](ModelFile& m) { m.centroids[4] = NAN; }, "/centroids row 1 column b is nan"},
      {"zero-scale", [](ModelFile& m) { m.scale[2] = 0; }, "/scaler/scale of column c is 0"},
      {"nan-scale", [](ModelFile& m) { m.scale[0] = NAN; }, "/scaler/scale of column a is nan"},
      {"inf-center", [](ModelFile& m) { m.center[1] = INFINITY; }, "/scaler/center of column b is inf"},
      {"log1p", [](ModelFile& m) { m.log1p[0] = 7; }, "/scaler/log1p of column a is 7"},
      {"transform", [](ModelFile& m) { m.transform = "sqrt"; }, "transform 'sqrt'"},
      {"names", [](ModelFile& m) { m.feature_names.pop_back(); }, "names 2 feature columns, expected 3"},
      {"counts", [](ModelFile& m) { m.counts.push_back(1); }, "/counts has 3 values, expected 2"},
      {"scaler", [](ModelFile& m) { m.center.pop_back(); }, "/scaler/center has 2 values, expected 3"},
      {"empty",
       [](ModelFile& m) {
         m.k = 0;
         m.centroids.clear();
         m.centroids_raw.clear();
         m.segment_id.clear();
         m.counts.clear();
         m.cluster_weight.clear();
         m.absorbed_weight.clear();
       },
       "expected at least one segment"},
  };
  for (const Case& c : cases) {
    ModelFile m = small_model();
    c.spoil(m);
    const auto path = dir / (std::string(c.name) + ".h5");
    write_model(path, path.string(), m, kModelProvenance);
    const std::string msg = test::input_error_of([&] { read_model(path); });
    EXPECT_NE(msg.find(c.message), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(path.filename().string()), std::string::npos) << c.name << ": " << msg;
  }
  // A model without /centroids.
  {
    File f = File::create(dir / "bare.h5");
    write_provenance(f, kModelProvenance);
    f.close();
  }
  EXPECT_NE(test::input_error_of([&] { read_model(dir / "bare.h5"); }).find("dataset /centroids is missing"),
            std::string::npos);
}

TEST(Formats, SegmentsRoundTripAndBrokenFilesAreRefused) {
  TempDir dir;
  auto write = [&](const std::string& name, std::vector<std::int32_t> segment, std::int64_t k) {
    SegmentsWriter w(dir / name, name);
    const std::vector<std::uint64_t> ids = {5, 6, 7};
    const std::vector<float> d2 = {1, 2, 3}, margin = {0.5f, 0.25f, 0};
    w.append(3, ids.data(), segment.data(), d2.data(), margin.data());
    w.close({"m.h5", "f.h5", k, 6, {}, {}, "", std::nullopt, ""}, {"segstream.segments", "assign", {}, {}});
  };
  write("ok.h5", {0, 1, 1}, 2);
  const SegmentsReader r(dir / "ok.h5");
  EXPECT_EQ(r.rows(), 3u);
  EXPECT_EQ(r.summary().k, 2);
  EXPECT_EQ(r.summary().model, "m.h5");
  std::vector<std::int32_t> seg(3);
  std::vector<std::uint64_t> ids(3);
  r.read(0, 3, ids.data(), seg.data(), nullptr, nullptr);
  EXPECT_EQ(seg, (std::vector<std::int32_t>{0, 1, 1}));
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{5, 6, 7}));
  write("bad.h5", {0, 2, 1}, 2);
  EXPECT_NE(test::input_error_of([&] {
              SegmentsReader s(dir / "bad.h5");
            }).find("/segment row 1 is 2, expected 0..1"),
            std::string::npos);
}

TEST(Formats, StateRecordsRoundTripAndOfAnotherWidthAreRefused) {
  TempDir dir;
  {
    StateFileWriter w(dir / "s.h5", "s.h5", 16);
    std::vector<std::uint64_t> ids(5000);
    std::vector<std::uint8_t> records(5000 * 16);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = i;
    for (std::size_t i = 0; i < records.size(); ++i) records[i] = static_cast<std::uint8_t>(i % 251);
    w.append(3000, ids.data(), records.data());
    w.append(2000, ids.data() + 3000, records.data() + 3000 * 16);
    w.close({86400, R"({"x":1})", 42, {1, 2, 3}, 4}, {"segstream.state", "features", {}, {}});
  }
  const StateFileReader r(dir / "s.h5", 16);
  EXPECT_EQ(r.customers(), 5000u);
  EXPECT_EQ(r.metadata().as_of, 86400);
  EXPECT_EQ(r.metadata().events_folded, 42u);
  EXPECT_EQ(r.metadata().category_cents, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(r.metadata().channel_slots, 4);
  std::vector<std::uint64_t> ids(2);
  std::vector<std::uint8_t> records(32);
  r.read(4000, 2, ids.data(), records.data());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{4000, 4001}));
  EXPECT_EQ(records[0], static_cast<std::uint8_t>(4000 * 16 % 251));
  EXPECT_NE(test::input_error_of([&] { StateFileReader s(dir / "s.h5", 24); }).find("expected 5000 x 24"),
            std::string::npos);
}

TEST(Formats, RfmRoundTripsAndScoresOutOfRangeAreRefused) {
  TempDir dir;
  RfmFile r;
  r.customer_id = {1, 2};
  r.scores = {5, 4, 3, 1, 1, 2};
  r.segment = {0, 1};
  r.segment_names = {"Champions", "Lost"};
  r.customers = {1, 1};
  r.revenue = {10, 1};
  r.customer_share = {0.5, 0.5};
  r.revenue_share = {10.0 / 11, 1.0 / 11};
  r.scoring = "rank-cut";
  r.map = "rfm11";
  r.source = "f.h5";
  write_rfm(dir / "r.h5", "r.h5", r, {"segstream.rfm", "rfm", {}, {}});
  const RfmFile back = read_rfm(dir / "r.h5");
  EXPECT_EQ(back.scores, r.scores);
  EXPECT_EQ(back.segment_names, r.segment_names);
  EXPECT_EQ(back.revenue, r.revenue);
  r.scores[4] = 6;
  write_rfm(dir / "bad.h5", "bad.h5", r, {"segstream.rfm", "rfm", {}, {}});
  EXPECT_NE(
      test::input_error_of([&] { read_rfm(dir / "bad.h5"); }).find("/scores row 1 holds 6, expected 1..5"),
      std::string::npos);
}

}  // namespace
}  // namespace segstream::io
