// fit and assign through files: recovery of the generator's separable mixtures (ARI >= 0.99 against its
// truth), assign reproducing the fit, the model-space transform, and the bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "event_fixture.hpp"
#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"
#include "segstream/core/time.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/csv_import.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/hdf5.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/segments.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using test::TempDir;

void mixture(const std::filesystem::path& path, std::uint64_t rows, std::uint64_t dims,
             std::uint64_t clusters) {
  MixtureGeneratorConfig g;
  g.rows = rows;
  g.dims = dims;
  g.clusters = clusters;
  g.seed = 21;
  generate_mixture(g, path, false);
}

// Columns that are constant, or all but 0.1% of one value, are left out of the model space and reported;
// a file with nothing else is refused. The other columns are clustered as they would be alone.
TEST(Segments, ConstantColumnsAreLeftOutAndReported) {
  TempDir dir;
  const std::uint64_t n = 20000;
  std::vector<float> rows;
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 0; i < n; ++i) {
    RandomStream r(5, RandomPurpose::kMixtureRow, i);
    const float cluster = static_cast<float>(i % 3) * 10;
    rows.insert(rows.end(), {cluster + static_cast<float>(r.normal()), 7.0f, i % 2000 == 0 ? 1.0f : 0.0f,
                             cluster + static_cast<float>(r.normal())});
    ids.push_back(i + 1);
  }
  {
    io::FeatureFileWriter w(dir / "f.h5", {"a", "always_seven", "rarely_one", "b"});
    w.append(rows.data(), ids.data(), n);
    w.close();
  }
  FitConfig c;
  c.kmeans.k = 3;
  const FitReport r = fit_model(dir / "f.h5", dir / "m.h5", false, c);
  EXPECT_EQ(r.d, 2);
  ASSERT_EQ(r.dropped_columns.size(), 2u);
  EXPECT_NE(r.dropped_columns[0].find("always_seven (always 7)"), std::string::npos) << r.dropped_columns[0];
  EXPECT_NE(r.dropped_columns[1].find("rarely_one (0 in 99.95% of rows)"), std::string::npos)
      << r.dropped_columns[1];
  const io::File m = io::File::open(dir / "m.h5");
  EXPECT_EQ(m.dataset("/centroids").read_all<float>().size(), 6u);
  EXPECT_NE(m.string_attribute("config").find("dropped_columns"), std::string::npos);
  c.columns = {"always_seven", "rarely_one"};
  EXPECT_THROW(
      {
        try {
          fit_model(dir / "f.h5", dir / "x.h5", false, c);
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("every column to cluster is constant or nearly so"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
}

TEST(Segments, FitAndAssignRecoverTheGeneratorsMixture) {
  TempDir dir;
  mixture(dir / "f.h5", 40000, 8, 6);
  FitConfig c;
  c.kmeans.k = 6;
  c.kmeans.seed = 3;
  c.kmeans.refine = 2;
  const FitReport fit = fit_model(dir / "f.h5", dir / "model.h5", false, c);
  EXPECT_EQ(fit.rows, 40000u);
  const AssignReport a = assign_segments(dir / "model.h5", dir / "f.h5", dir / "seg.h5", false);
  EXPECT_EQ(a.profiles.customers, fit.model.counts);
  EXPECT_NEAR(a.inertia, fit.model.inertia, 1e-9 * fit.model.inertia);
  const io::File seg = io::File::open(dir / "seg.h5");
  EXPECT_EQ(seg.string_attribute("format"), "segstream.segments");
  const std::vector<std::int32_t> labels = seg.dataset("/segment").read_all<std::int32_t>();
  const std::vector<std::int32_t> truth =
      io::File::open(dir / "f.h5").dataset("/truth/cluster").read_all<std::int32_t>();
  EXPECT_GE(test::adjusted_rand(labels, truth), 0.99);
  EXPECT_EQ(seg.dataset("/customer_id").read_all<std::uint64_t>(),
            io::File::open(dir / "f.h5").dataset("/customer_id").read_all<std::uint64_t>());
  for (float m : seg.dataset("/margin").read_all<float>()) EXPECT_GE(m, 0.0f);
}

// The profile in model.h5 and segments.h5 holds each segment's real averages: means and medians of every
// column of the file (those left out of the model space too) in natural units, from the rows the segment
// holds; shares that add up; z-scores against the population; names unique within the model.
TEST(Segments, ProfilesAreTheSegmentsRealAverages) {
  TempDir dir;
  mixture(dir / "f.h5", 30001, 5, 4);
  FitConfig c;
  c.kmeans.k = 4;
  c.columns = {"x0", "x1", "x2"};  // x3 and x4 are profiled all the same
  const FitReport fit = fit_model(dir / "f.h5", dir / "model.h5", false, c);
  const AssignReport a = assign_segments(dir / "model.h5", dir / "f.h5", dir / "seg.h5", false);
  const io::FeatureFileReader r(dir / "f.h5");
  const std::size_t n = r.rows(), d = r.columns();
  std::vector<float> x(n * d);
  r.read_rows(0, n, x.data());
  const std::vector<std::int32_t> labels =
      io::File::open(dir / "seg.h5").dataset("/segment").read_all<std::int32_t>();
  for (const io::SegmentProfiles* p : {&fit.profiles, &a.profiles}) {
    ASSERT_EQ(p->k(), 4u);
    ASSERT_EQ(p->columns, r.feature_names());
    EXPECT_EQ(p->rows, n);
    EXPECT_EQ(p->median_rows, n) << "every row while the file is small";
    double share = 0;
    for (std::size_t s = 0; s < 4; ++s) {
      share += p->customer_share[s];
      std::vector<std::vector<double>> values(d);
      for (std::size_t i = 0; i < n; ++i)
        if (labels[i] == static_cast<std::int32_t>(s))
          for (std::size_t j = 0; j < d; ++j) values[j].push_back(x[i * d + j]);
      ASSERT_EQ(p->customers[s], values[0].size());
      for (std::size_t j = 0; j < d; ++j) {
        double sum = 0;
        for (double v : values[j]) sum += v;
        EXPECT_NEAR(p->mean[s * d + j], sum / static_cast<double>(values[j].size()),
                    1e-9 * (1 + std::fabs(sum)));
        std::sort(values[j].begin(), values[j].end());
        const std::size_t m = values[j].size();
        const double median = m % 2 ? values[j][m / 2] : (values[j][m / 2 - 1] + values[j][m / 2]) / 2;
        EXPECT_DOUBLE_EQ(p->median[s * d + j], median) << "segment " << s << " column " << j;
        EXPECT_NEAR(p->z[s * d + j], (p->mean[s * d + j] - p->population_mean[j]) / p->population_sd[j],
                    1e-9);
      }
      EXPECT_FALSE(p->apart[s].empty());
    }
    EXPECT_NEAR(share, 1.0, 1e-12);
    EXPECT_EQ(std::set<std::string>(p->name.begin(), p->name.end()).size(), 4u) << "names are unique";
  }
  EXPECT_EQ(a.profiles.name, fit.profiles.name) << "assign keeps the model's names";
  const io::ModelFile model = io::read_model(dir / "model.h5");
  EXPECT_EQ(model.profiles.name, fit.profiles.name);
  EXPECT_EQ(model.profiles.mean, fit.profiles.mean);
  EXPECT_EQ(io::SegmentsReader(dir / "seg.h5").summary().profiles.median, a.profiles.median);
  // The profile does not depend on the threads.
  c.kmeans.threads = 1;
  EXPECT_EQ(fit_model(dir / "f.h5", dir / "model1.h5", false, c).profiles.mean, fit.profiles.mean);
}

// A purchases-only export gets the transactions preset: no usage, engagement or journey columns, which such
// a file cannot fill; one-time buyers are not split by the weekday of their one purchase.
TEST(Segments, TransactionsOnlyFilesGetTheTransactionsPreset) {
  TempDir dir;
  io::CsvImportOptions o;
  o.input = test::golden_data("mw_online_retail.csv");
  o.customer = "CustomerID";
  o.time = "InvoiceDate";
  o.amount = "TotalPrice";
  o.order = "InvoiceNo";
  io::import_csv(o, dir / "retail.h5", false);
  FeatureConfig fc;
  fc.mode = FeatureMode::kBehavioural;
  compute_features(dir / "retail.h5", dir / "f.h5", false, fc);
  FitConfig c;
  c.kmeans.k = 6;
  const FitReport r = fit_model(dir / "f.h5", dir / "m.h5", false, c);
  EXPECT_EQ(r.preset, "transactions");
  const io::ModelFile m = io::read_model(dir / "m.h5");
  for (const std::string& name : m.feature_names) {
    const std::string family = behaviour_family(name);
    EXPECT_TRUE(family != "usage" && family != "engagement" && family != "journey") << name;
  }
  EXPECT_NE(m.config.find("\"preset\":\"transactions\""), std::string::npos) << m.config;
  EXPECT_NEAR(m.clip, 3.0, 0) << "clamped at 3 deviations by default";
  // No segment is made of one-time buyers told apart by the weekday of their purchase alone.
  const std::size_t d = r.profiles.d();
  const std::size_t weekend = static_cast<std::size_t>(
      std::find(r.profiles.columns.begin(), r.profiles.columns.end(), "weekend_share") -
      r.profiles.columns.begin());
  ASSERT_LT(weekend, d);
  for (std::size_t s = 0; s < r.profiles.k(); ++s)
    EXPECT_LT(std::fabs(r.profiles.z[s * d + weekend]), 1.5) << s;
  // A file with other events keeps the full default set.
  test::write_events(dir / "ev.h5", {{1, "2025-01-01", io::EventType::kPageView, 0},
                                     {1, "2025-01-02", io::EventType::kPurchase, 5},
                                     {2, "2025-01-03", io::EventType::kPurchase, 7}});
  fc.as_of = *parse_iso_time("2025-01-31");
  compute_features(dir / "ev.h5", dir / "g.h5", false, fc);
  EXPECT_FALSE(
      nlohmann::json::parse(io::FeatureFileReader(dir / "g.h5").metadata().parameters)["transactions_only"]);
}

// Names come from what sets a segment apart, RFM-style where it fits, unique within the model.
TEST(Segments, NamesSayWhatSetsASegmentApart) {
  io::SegmentProfiles p;
  p.columns = {"recency_days",   "frequency",        "monetary_total", "tenure_days",
               "discount_share", "app_sessions_28d", "has_purchase",   "events_28d"};
  const std::size_t d = p.columns.size();
  // z-scores per segment, and the share of buyers (has_purchase's mean).
  const std::vector<std::vector<double>> z = {
      {-0.6, 2.5, 2.8, 0.4, -0.3, 0.1, 0.3, 0.5},      // champions
      {1.6, -0.5, -0.4, 0.3, 0.0, -0.4, 0.2, -0.5},    // lapsed
      {-0.8, -0.4, -0.4, -1.6, 0.3, 0.0, 0.2, 0.2},    // new customers
      {0.0, 0.3, -0.6, 0.0, 2.4, 0.1, 0.2, 0.1},       // bargain hunters
      {-0.2, -0.3, -0.5, 0.1, 0.0, 3.1, -0.2, 1.5},    // app-first
      {0.4, -1.0, -1.0, -1.0, -0.5, -0.1, -2.0, 0.0},  // prospects (few buyers)
      {0.5, -0.9, -0.9, -0.9, -0.5, -0.2, -1.9, 0.0},  // prospects again: kept apart in words
      {1.4, -0.6, -0.5, 0.2, 0.0, -0.3, 0.1, -0.8},    // hibernating: long unseen, few purchases, quiet now
      {0.8, -0.8, -0.8, 0.2, 0.0, 2.9, -0.3, 2.0},     // in the app every day, seldom buying: not asleep
  };
  const std::vector<double> buyers = {1, 1, 1, 1, 0.9, 0.02, 0.05, 0.9, 0.6};
  for (std::size_t s = 0; s < z.size(); ++s) {
    p.customers.push_back(100);
    p.z.insert(p.z.end(), z[s].begin(), z[s].end());
    for (std::size_t j = 0; j < d; ++j) p.mean.push_back(p.columns[j] == "has_purchase" ? buyers[s] : 1.0);
  }
  name_segments(p);
  ASSERT_EQ(p.name.size(), z.size());
  EXPECT_EQ(p.name[0], "champions");
  EXPECT_EQ(p.name[1], "lapsed");
  EXPECT_EQ(p.name[2], "new customers");
  EXPECT_EQ(p.name[3], "bargain hunters");
  EXPECT_EQ(p.name[4], "app-first");
  EXPECT_EQ(p.name[5], "prospects") << "the fewer buyers";
  EXPECT_EQ(p.name[6].rfind("prospects, ", 0), 0u) << p.name[6];
  EXPECT_EQ(p.name[7], "hibernating");
  EXPECT_EQ(p.name[8].rfind("app-first, ", 0), 0u) << p.name[8];
  EXPECT_EQ(std::set<std::string>(p.name.begin(), p.name.end()).size(), z.size());
}

// fit --init FILE --keep-absorbed warm-starts from the model's centres and the weights they absorbed: the
// absorbed weights carry on from the first fit's; without it they start from 0 (scikit-learn's init=).
TEST(Segments, WarmStartFromAModelKeepsItsAbsorbedWeights) {
  TempDir dir;
  mixture(dir / "f.h5", 20000, 4, 5);
  FitConfig c;
  c.kmeans.k = 5;
  c.kmeans.seed = 2;
  const FitReport first = fit_model(dir / "f.h5", dir / "m1.h5", false, c);
  c.init_model = dir / "m1.h5";
  c.kmeans.max_epochs = 1;
  c.kmeans.max_no_improvement = 0;
  c.kmeans.reassignment_ratio = 0;
  const FitReport cold = fit_model(dir / "f.h5", dir / "cold.h5", false, c);
  c.keep_absorbed = true;
  const FitReport warm = fit_model(dir / "f.h5", dir / "warm.h5", false, c);
  // Every row of every batch is absorbed by one centre: the kept weights grow by exactly the rows visited,
  // the cold ones start from 0.
  double sum_first = 0, sum_warm = 0, sum_cold = 0;
  for (int k = 0; k < 5; ++k) {
    const auto kk = static_cast<std::size_t>(k);
    EXPECT_GT(warm.model.absorbed[kk], first.model.absorbed[kk]);
    sum_first += first.model.absorbed[kk];
    sum_warm += warm.model.absorbed[kk];
    sum_cold += cold.model.absorbed[kk];
  }
  EXPECT_EQ(warm.model.steps, cold.model.steps);
  EXPECT_NEAR(sum_warm - sum_first, static_cast<double>(warm.model.steps * 1024), 1e-9 * sum_warm);
  EXPECT_DOUBLE_EQ(sum_cold, static_cast<double>(cold.model.steps * 1024));
  EXPECT_NE(io::File::open(dir / "warm.h5").string_attribute("config").find("\"keep_absorbed\":true"),
            std::string::npos);
  c.init_model.clear();
  EXPECT_THROW(fit_model(dir / "f.h5", dir / "x.h5", false, c), UsageError);
}

TEST(Segments, BehaviouralFilesClusterTheDocumentedColumnsByDefault) {
  TempDir dir;
  EventGeneratorConfig g;
  g.customers = 3000;
  generate_events(g, dir / "ev.h5", false);
  FeatureConfig fc;
  fc.mode = FeatureMode::kBehavioural;
  compute_features(dir / "ev.h5", dir / "f.h5", false, fc);
  FitConfig c;
  c.kmeans.k = 6;
  const FitReport r = fit_model(dir / "f.h5", dir / "m.h5", false, c);
  EXPECT_EQ(r.d, static_cast<int>(default_behavioural_columns().size()));
  EXPECT_EQ(io::File::open(dir / "m.h5").dataset("/centroids").string_list_attribute("feature_names"),
            default_behavioural_columns());
}

TEST(Segments, TransformRoundTripsAndNoneKeepsUnits) {
  const std::vector<float> x = {1, 100, 2, 1000, 3, 10, 4, 100000, 5, 1};
  for (TransformKind kind : {TransformKind::kAuto, TransformKind::kZScore, TransformKind::kRobust}) {
    const Transform t = fit_transform(kind, x.data(), 5, 2);
    std::vector<float> y = x;
    t.apply(y.data(), 5);
    t.invert(y.data(), 5);
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-3 * std::max(1.0f, x[i])) << i;
  }
  std::vector<float> tail;  // column 1 uniform, column 2 heavy-tailed (one large value among ones)
  for (int i = 0; i < 100; ++i) tail.insert(tail.end(), {static_cast<float>(i), i == 7 ? 1000.0f : 1.0f});
  const Transform a = fit_transform(TransformKind::kAuto, tail.data(), 100, 2);
  EXPECT_EQ(a.log1p, (std::vector<std::uint8_t>{0, 1}));
  TempDir dir;
  mixture(dir / "f.h5", 2000, 3, 3);
  FitConfig c;
  c.kmeans.k = 3;
  c.transform = TransformKind::kNone;
  fit_model(dir / "f.h5", dir / "m.h5", false, c);
  const io::File m = io::File::open(dir / "m.h5");
  EXPECT_EQ(m.dataset("/centroids").read_all<float>(), m.dataset("/centroids_raw").read_all<float>());
  EXPECT_EQ(m.string_attribute("transform"), "none");
}

TEST(Segments, StreamedFitEqualsInMemory) {
  TempDir dir;
  mixture(dir / "f.h5", 400000, 4, 5);
  FitConfig c;
  c.kmeans.k = 5;
  c.kmeans.seed = 9;
  c.kmeans.refine = 2;
  c.kmeans.max_epochs = 2;
  const FitReport memory = fit_model(dir / "f.h5", dir / "a.h5", false, c);
  EXPECT_TRUE(memory.in_memory);
  c.host_memory = std::uint64_t{8} << 20;  // the 400,000 × 4 rows need 11 MB held, 6 MB streamed
  c.kmeans.threads = 1;
  const FitReport streamed = fit_model(dir / "f.h5", dir / "b.h5", false, c);
  EXPECT_FALSE(streamed.in_memory);
  EXPECT_EQ(memory.model.centres, streamed.model.centres);
  EXPECT_EQ(memory.model.inertia, streamed.model.inertia);
  EXPECT_EQ(memory.model.inertia_history, streamed.model.inertia_history);
  EXPECT_EQ(memory.model.counts, streamed.model.counts);
  c.host_memory = std::uint64_t{1} << 20;
  EXPECT_THROW(fit_model(dir / "f.h5", dir / "c.h5", false, c), ResourceError);
}

TEST(Segments, SameModelWhateverTheFileChunking) {
  TempDir dir;
  MixtureGeneratorConfig g;
  g.rows = 200000;
  g.dims = 6;
  g.clusters = 4;
  g.chunk_rows = 1000;
  generate_mixture(g, dir / "small-chunks.h5", false);
  g.chunk_rows = 0;
  generate_mixture(g, dir / "default-chunks.h5", false);
  FitConfig c;
  c.kmeans.k = 4;
  c.kmeans.refine = 1;
  const FitReport a = fit_model(dir / "small-chunks.h5", dir / "a.h5", false, c);
  c.host_memory = std::uint64_t{6} << 20;  // and streamed: 7.2 MB held, 5.5 MB streamed
  const FitReport b = fit_model(dir / "default-chunks.h5", dir / "b.h5", false, c);
  EXPECT_FALSE(b.in_memory);
  EXPECT_EQ(a.model.centres, b.model.centres);
  EXPECT_EQ(a.model.inertia_history, b.model.inertia_history);
}

// Rows addressed past 2^32 without being stored: row i holds (i >> 24, i & 0xFFFFFF), exact in float.
class IndexRows : public RowSource {
 public:
  explicit IndexRows(std::uint64_t rows) : rows_(rows) {}
  std::uint64_t rows() const override { return rows_; }
  int d() const override { return 2; }
  void read(std::uint64_t start, std::uint64_t n, float* out) const override {
    for (std::uint64_t i = 0; i < n; ++i) {
      out[2 * i] = static_cast<float>((start + i) >> 24);
      out[2 * i + 1] = static_cast<float>((start + i) & 0xFFFFFF);
    }
  }
  const float* weights() const override { return nullptr; }

 private:
  std::uint64_t rows_;
};

TEST(Segments, RowOffsetsPastTwoToThe32) {
  const std::uint64_t rows = (std::uint64_t{1} << 33) + 12345;
  const IndexRows src(rows);
  const std::vector<float> x = sample_rows(src, 200000, 4, 0);
  std::uint64_t high = 0;
  for (std::size_t i = 0; i < x.size(); i += 2) {
    const std::uint64_t row = (static_cast<std::uint64_t>(x[i]) << 24) | static_cast<std::uint64_t>(x[i + 1]);
    ASSERT_LT(row, rows);
    high += row >= (std::uint64_t{1} << 32) ? 1 : 0;
  }
  EXPECT_GT(high, 100000u);  // about half the rows lie past 2^32
}

// A features file of four rows of columns a and b (row-major `values`) with customer ids 1-4 and `weights`.
void write_weighted_rows(const std::filesystem::path& path, const std::vector<float>& values,
                         const std::vector<float>& weights) {
  io::File f = io::File::create(path);
  const io::Dataset x = f.create_dataset<float>("/features", io::DatasetOptions{{4, 2}, {}, false, 0});
  x.write_rows(0, 4, values.data());
  x.set_attribute("feature_names", std::vector<std::string>{"a", "b"});
  const io::Dataset ids =
      f.create_dataset<std::uint64_t>("/customer_id", io::DatasetOptions{{4}, {}, false, 0});
  const std::vector<std::uint64_t> id = {1, 2, 3, 4};
  ids.write_rows(0, 4, id.data());
  const io::Dataset w = f.create_dataset<float>("/weight", io::DatasetOptions{{4}, {}, false, 0});
  w.write_rows(0, 4, weights.data());
  f.close();
}

TEST(SegmentsBadInput, ColumnsModelsWeightsAndValues) {
  TempDir dir;
  mixture(dir / "f.h5", 3000, 4, 3);
  FitConfig c;
  c.kmeans.k = 3;
  c.columns = {"x0", "x9"};
  EXPECT_THROW(fit_model(dir / "f.h5", dir / "m.h5", false, c), UsageError);
  c.columns = {"x0", "x1"};
  fit_model(dir / "f.h5", dir / "m2.h5", false, c);
  // A model on two columns assigns a file that has them; one without them is an error naming the column.
  mixture(dir / "g.h5", 100, 1, 1);
  std::string msg =
      test::input_error_of([&] { assign_segments(dir / "m2.h5", dir / "g.h5", dir / "s.h5", false); });
  EXPECT_NE(msg.find("has no column 'x1'"), std::string::npos) << msg;
  c.columns.clear();
  c.kmeans.k = 5000;
  EXPECT_THROW(fit_model(dir / "f.h5", dir / "m.h5", false, c), UsageError);
  c.kmeans.k = 4;
  c.init_model = dir / "m2.h5";  // 3 × 2 centres for a 4 × 4 fit
  EXPECT_THROW(fit_model(dir / "f.h5", dir / "m.h5", false, c), UsageError);
  c.init_model.clear();

  // Non-finite values and negative weights name the row.
  write_weighted_rows(dir / "bad.h5", {0, 1, 2, 3, 4, NAN, 6, 7}, {1, 1, -1, 1});
  c.kmeans.k = 2;
  msg = test::input_error_of([&] { fit_model(dir / "bad.h5", dir / "m.h5", false, c); });
  EXPECT_NE(msg.find("bad.h5: row 2, column b: nan is not a finite value"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "m.h5"));

  // Weights that are all 0 are named with their file (issue 15: the message named none).
  write_weighted_rows(dir / "zero.h5", {0, 1, 2, 3, 4, 5, 6, 7}, {0, 0, 0, 0});
  msg = test::input_error_of([&] { fit_model(dir / "zero.h5", dir / "m.h5", false, c); });
  EXPECT_NE(msg.find("zero.h5: all 4 /weight values are 0"), std::string::npos) << msg;
}

// A behavioural features file without a column of the default set is a broken file (exit 3), while a
// column the user names that the file lacks stays a usage error (exit 2).
TEST(FitModel, AMissingDefaultColumnIsBadInputANamedOneUsage) {
  test::TempDir dir;
  io::FeatureFileWriter w(dir / "f.h5", {"recency_days", "frequency"});
  const std::vector<float> rows = {1, 2, 3, 4, 5, 6};
  const std::vector<std::uint64_t> ids = {1, 2, 3};
  w.append(rows.data(), ids.data(), 3);
  io::FeatureFileMetadata m;
  m.mode = "behavioral";
  w.close(m, {"segstream.features", "test", {}, {}});
  FitConfig c;
  c.kmeans.k = 2;
  try {
    fit_model(dir / "f.h5", dir / "m.h5", false, c);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("f.h5 has no column"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("which its mode 'behavioral' promises"), std::string::npos)
        << e.what();
  }
  c.columns = {"recency_days", "nope"};
  EXPECT_THROW(fit_model(dir / "f.h5", dir / "m.h5", false, c), UsageError);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.h5"));
}

}  // namespace
}  // namespace segstream::host
