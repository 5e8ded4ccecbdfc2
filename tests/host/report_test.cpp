// `report`: its content is the segments' own numbers, it scores segments against a generated base's truth,
// shows an update's migrations, is the same bytes for the same inputs, and refuses what does not belong
// together. The Gamma-Gamma spend model against lifetimes' published CDNOW fit (golden case G12).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "segstream/core/error.hpp"
#include "segstream/host/clv.hpp"
#include "segstream/host/features.hpp"
#include "segstream/host/generate.hpp"
#include "segstream/host/report.hpp"
#include "segstream/host/resegment.hpp"
#include "segstream/host/segment.hpp"
#include "segstream/io/features.hpp"
#include "segstream/io/model.hpp"
#include "segstream/io/segments.hpp"
#include "segstream/kernels/bgnbd.hpp"
#include "segstream/kernels/cpu.hpp"
#include "test_util.hpp"

namespace segstream::host {
namespace {

using nlohmann::json;
using test::TempDir;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// lifetimes' CDNOW summary with the mean repeat-purchase value (ID,x,t_x,T,zbar).
struct SpendData {
  std::vector<double> x, m;
};
SpendData read_spend(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.substr(0, 15), "ID,x,t_x,T,zbar");
  SpendData d;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<double> v;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) v.push_back(std::stod(cell));
    d.x.push_back(v.at(1));
    d.m.push_back(v.at(4));
  }
  return d;
}

// G12: lifetimes' Quickstart fits GammaGammaFitter(penalizer_coef = 0) to the 946 CDNOW customers with a
// repeat purchase and prints p 6.25, q 3.74, v 15.45, the expected spend of customers 1, 2, 6 and 9
// (24.658619, 18.911489, 71.462843, 27.282408) and its mean over all 2,357 customers, 35.2529588256. Those
// were printed by an optimiser stopped at a tolerance of 1e-4, so the maximum-likelihood values agree with
// them to about 1e-3, not to every digit.
TEST(GammaGammaGolden, G12CdnowSpendFit) {
  const SpendData d = read_spend(test::golden_data("cdnow_customers_summary_with_transactions.csv"));
  ASSERT_EQ(d.x.size(), 2357u);
  const GammaGammaFit fit = fit_gamma_gamma(d.x, d.m);
  EXPECT_EQ(fit.customers, 946u);
  EXPECT_EQ(fit.sampled, 946u);
  EXPECT_NEAR(fit.params.p, 6.25, 0.005);
  EXPECT_NEAR(fit.params.q, 3.74, 0.005);
  EXPECT_NEAR(fit.params.v, 15.45, 0.005);
  const std::vector<std::pair<std::size_t, double>> printed = {
      {0, 24.658619}, {1, 18.911489}, {2, 35.170981}, {5, 71.462843}, {8, 27.282408}};
  for (const auto& [row, value] : printed)
    EXPECT_NEAR(gamma_gamma_expected_spend(fit.params, d.x[row], d.m[row]) / value, 1.0, 1e-3) << row;
  double sum = 0;
  for (std::size_t i = 0; i < d.x.size(); ++i) sum += gamma_gamma_expected_spend(fit.params, d.x[i], d.m[i]);
  EXPECT_NEAR(sum / static_cast<double>(d.x.size()) / 35.2529588256, 1.0, 1e-3);
  // The same fit for any thread count (fixed blocks summed in order) and row order does not matter to it.
  const GammaGammaFit again = fit_gamma_gamma(d.x, d.m);
  EXPECT_EQ(again.params.p, fit.params.p);
}

TEST(GammaGamma, RefusesWhatItCannotFit) {
  EXPECT_THROW(fit_gamma_gamma(std::vector<double>{1, 0}, std::vector<double>{10, 0}), InputError);  // one
  EXPECT_THROW(fit_gamma_gamma(std::vector<double>{1, -1}, std::vector<double>{10, 5}), InputError);
  EXPECT_THROW(fit_gamma_gamma(std::vector<double>{1, 2}, std::vector<double>{NAN, 5}), InputError);
  EXPECT_THROW(fit_gamma_gamma(std::vector<double>{1}, std::vector<double>{1, 2}), UsageError);
}

// A fitted and assigned synthetic mixture with its truth.
struct Base {
  TempDir dir;
  std::filesystem::path features, model, segments;
};
void make_base(Base& b, std::uint64_t seed, std::uint64_t clusters) {
  MixtureGeneratorConfig g;
  g.rows = 6000;
  g.dims = 4;
  g.clusters = clusters;
  g.seed = seed;
  g.separation = 8;
  g.key_order = true;
  b.features = b.dir / "f.h5";
  b.model = b.dir / "m.h5";
  b.segments = b.dir / "s.h5";
  generate_mixture(g, b.features, false);
  FitConfig fc;
  fc.kmeans.k = static_cast<int>(clusters);
  fc.kmeans.seed = 1;
  fit_model(b.features, b.model, false, fc);
  assign_segments(b.model, b.features, b.segments, false, 2);
}

TEST(Report, ContentIsTheSegmentsOwnNumbersAndTheTruthIsScored) {
  Base b;
  make_base(b, 7, 5);
  ReportOptions o;
  o.model = b.model;
  o.segments = b.segments;
  o.truth = b.features;
  o.out = b.dir / "report.html";
  const ReportResult r = write_report(o);
  EXPECT_EQ(r.json, b.dir / "report.json");
  const json c = json::parse(slurp(r.json));
  EXPECT_EQ(c, r.content);
  const io::SegmentsReader s(b.segments);
  const io::ModelFile m = io::read_model(b.model);
  const io::SegmentProfiles& p = s.summary().profiles;
  ASSERT_EQ(c["segments"].size(), 5u);
  EXPECT_EQ(c["base"]["customers"].get<std::uint64_t>(), 6000u);
  for (std::size_t k = 0; k < 5; ++k) {
    const json& seg = c["segments"][k];
    EXPECT_EQ(seg["id"].get<int>(), m.segment_id[k]);
    EXPECT_EQ(seg["name"].get<std::string>(), m.profiles.name[k]);
    EXPECT_EQ(seg["customers"].get<std::uint64_t>(), p.customers[k]);
    EXPECT_EQ(seg["customers"].get<std::uint64_t>(), m.counts[k]);  // fit and assign of the same rows
    EXPECT_EQ(seg["customer_share"].get<double>(), p.customer_share[k]);
    for (std::size_t j = 0; j < p.d(); ++j) {
      EXPECT_EQ(seg["mean"][j].get<double>(), p.mean[k * p.d() + j]);
      EXPECT_EQ(seg["z"][j].get<double>(), p.z[k * p.d() + j]);
    }
    // The page shows each segment's customers as the JSON has them.
    const std::string html = slurp(r.html);
    EXPECT_NE(html.find("data-segment=\"" + std::to_string(m.segment_id[k]) + "\"><td>"), std::string::npos);
    EXPECT_NE(html.find("data-value=\"" + std::to_string(p.customers[k]) + "\""), std::string::npos);
  }
  // Well-separated components: segments recover them.
  ASSERT_TRUE(c["truth"].is_object());
  EXPECT_EQ(c["truth"]["joined"].get<std::uint64_t>(), 6000u);
  EXPECT_GT(c["truth"]["ari"].get<double>(), 0.95);
  EXPECT_GT(c["truth"]["purity"].get<double>(), 0.95);
  EXPECT_TRUE(c["migration"].is_null());
  // Every chart the content calls for, and nothing fetched from outside the file.
  const std::string html = slurp(r.html);
  for (const char* id : {"chart-sizes", "chart-profile", "chart-truth"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  for (const char* outside : {"http://", "https://", "<script", "<link", "@import", "url("})
    EXPECT_EQ(html.find(outside), std::string::npos) << outside;
  // The same inputs give the same bytes.
  o.out = b.dir / "again.html";
  write_report(o);
  EXPECT_EQ(slurp(b.dir / "again.html"), slurp(r.html));
  EXPECT_EQ(slurp(b.dir / "again.json"), slurp(r.json));
}

TEST(Report, AnUpdateShowsItsMigrations) {
  Base b;
  MixtureGeneratorConfig g;
  g.rows = 6000;
  g.dims = 4;
  g.clusters = 4;
  g.seed = 11;
  g.key_order = true;
  generate_mixture(g, b.dir / "w1.h5", false);
  g.window = 2;
  g.drift_fraction = 0.1;
  generate_mixture(g, b.dir / "w2.h5", false);
  FitConfig fc;
  fc.kmeans.k = 4;
  fc.kmeans.seed = 1;
  fit_model(b.dir / "w1.h5", b.dir / "m1.h5", false, fc);
  assign_segments(b.dir / "m1.h5", b.dir / "w1.h5", b.dir / "s1.h5", false, 2);
  UpdateConfig uc;
  uc.previous_segments = b.dir / "s1.h5";
  const auto backend = kernels::cpu::make_backend(2);
  update_model(b.dir / "m1.h5", b.dir / "w2.h5", b.dir / "m2.h5", b.dir / "s2.h5", false, uc, *backend);
  ReportOptions o;
  o.model = b.dir / "m2.h5";
  o.segments = b.dir / "s2.h5";
  o.out = b.dir / "r.html";
  const ReportResult r = write_report(o);
  const json& mg = r.content["migration"];
  ASSERT_TRUE(mg.is_object());
  const io::SegmentsReader s(b.dir / "s2.h5");
  const json stored = json::parse(s.summary().migration);
  EXPECT_EQ(mg["matrix"], stored["matrix"]);
  EXPECT_EQ(mg["changed"], stored["changed"]);
  EXPECT_NEAR(mg["changed_share"].get<double>(), 0.1, 0.03);
  ASSERT_FALSE(mg["largest_flows"].empty());
  // The largest flow is the largest off-diagonal cell of the matrix.
  std::uint64_t top = 0;
  for (std::size_t i = 0; i < mg["from_id"].size(); ++i)
    for (std::size_t j = 0; j < mg["to_id"].size(); ++j)
      if (mg["from_id"][i] != mg["to_id"][j]) top = std::max(top, mg["matrix"][i][j].get<std::uint64_t>());
  EXPECT_EQ(mg["largest_flows"][0]["customers"].get<std::uint64_t>(), top);
  const std::string html = slurp(r.html);
  EXPECT_NE(html.find("id=\"chart-migration\""), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-flows\""), std::string::npos);
}

// An events base: behavioural segments, and the lifetimes file of the same events with a holdout window.
TEST(Report, LifetimesGiveEachSegmentItsExpectedValueAndHoldoutChurn) {
  TempDir dir;
  EventGeneratorConfig g;
  g.customers = 3000;
  g.seed = 5;
  generate_events(g, dir / "ev.h5", false);
  FeatureConfig behaviour;
  behaviour.mode = FeatureMode::kBehavioural;
  compute_features(dir / "ev.h5", dir / "f.h5", false, behaviour);
  FeatureConfig lifetimes;
  lifetimes.calibration_end = g.start + 273 * 86400;  // the last quarter is the holdout window
  compute_features(dir / "ev.h5", dir / "lt.h5", false, lifetimes);
  FitConfig fc;
  fc.kmeans.k = 6;
  fc.kmeans.seed = 1;
  fit_model(dir / "f.h5", dir / "m.h5", false, fc);
  assign_segments(dir / "m.h5", dir / "f.h5", dir / "s.h5", false, 2);
  ReportOptions o;
  o.model = dir / "m.h5";
  o.segments = dir / "s.h5";
  o.lifetimes = dir / "lt.h5";
  o.truth = dir / "ev.h5";
  o.out = dir / "r.html";
  const json c = write_report(o).content;
  const json& l = c["lifetimes"];
  ASSERT_TRUE(l.is_object());
  EXPECT_TRUE(l["holdout"].get<bool>());
  EXPECT_NEAR(l["holdout_days"].get<double>(), 92, 1);
  // Customers of the lifetimes file are the buyers before the calibration end, all of them in the segments.
  const io::FeatureFileReader lt(dir / "lt.h5");
  EXPECT_EQ(l["joined"].get<std::uint64_t>(), lt.rows());
  std::uint64_t in_segments = 0;
  double revenue = 0;
  for (const json& seg : c["segments"]) {
    const json& kpi = seg["kpi"];
    in_segments += kpi["lifetimes_customers"].get<std::uint64_t>();
    if (kpi["lifetimes_customers"].get<std::uint64_t>() == 0) continue;
    const double churn = kpi["holdout_churn_rate"].get<double>();
    EXPECT_GE(churn, 0.0);
    EXPECT_LE(churn, 1.0);
    EXPECT_GT(kpi["expected_value"].get<double>(), 0.0);
    revenue += kpi["expected_revenue"].get<double>();
  }
  EXPECT_EQ(in_segments, lt.rows());
  // The expected revenue of the whole base, computed here from the fitted parameters, is the segments' sum.
  std::vector<float> rows(lt.rows() * lt.columns());
  lt.read_rows(0, lt.rows(), rows.data());
  const kernels::BgNbdParams bg{l["bgnbd"]["r"].get<double>(), l["bgnbd"]["alpha"].get<double>(),
                                l["bgnbd"]["a"].get<double>(), l["bgnbd"]["b"].get<double>()};
  const GammaGammaParams gg{l["gamma_gamma"]["p"].get<double>(), l["gamma_gamma"]["q"].get<double>(),
                            l["gamma_gamma"]["v"].get<double>()};
  const double horizon = 365 / l["period_days"].get<double>();
  double expected = 0;
  for (std::uint64_t i = 0; i < lt.rows(); ++i) {
    const float* row = rows.data() + i * lt.columns();  // frequency, recency, T, monetary_value, …
    expected += kernels::bgnbd_conditional_expected_purchases(bg, horizon, row[0], row[1], row[2]) *
                gamma_gamma_expected_spend(gg, row[0], row[3]);
  }
  EXPECT_NEAR(revenue / expected, 1.0, 1e-9);
  // Champions are worth more than prospects: the segment with the most revenue has the highest value.
  std::size_t richest = 0;
  for (std::size_t s = 0; s < c["segments"].size(); ++s)
    if (c["segments"][s]["revenue_share"].get<double>() >
        c["segments"][richest]["revenue_share"].get<double>())
      richest = s;
  for (const json& seg : c["segments"]) {
    if (seg["kpi"]["expected_value"].is_number()) {
      EXPECT_LE(seg["kpi"]["expected_value"].get<double>(),
                c["segments"][richest]["kpi"]["expected_value"].get<double>() + 1e-9);
    }
  }
  // The same histories in weeks (durations / 7): the horizon is 52 weeks, and the value nearly the same
  // (the models are fitted anew in the other unit).
  lifetimes.multiplier = 7;
  compute_features(dir / "ev.h5", dir / "lt7.h5", false, lifetimes);
  o.lifetimes = dir / "lt7.h5";
  o.out = dir / "r7.html";
  const json c7 = write_report(o).content;
  EXPECT_NEAR(c7["lifetimes"]["period_days"].get<double>(), 7.0, 1e-12);
  EXPECT_NEAR(c7["lifetimes"]["holdout_days"].get<double>(), 92, 1);
  double revenue7 = 0;
  for (const json& seg : c7["segments"]) revenue7 += seg["kpi"]["expected_revenue"].get<double>();
  EXPECT_NEAR(revenue7 / revenue, 1.0, 0.05);
  // The truth: archetypes of the events file.
  EXPECT_EQ(c["truth"]["kind"].get<std::string>(), "archetype");
  EXPECT_EQ(c["truth"]["joined"].get<std::uint64_t>(), 3000u);
}

TEST(ReportBadInput, ModelAndSegmentsOfDifferentRunsAreRefused) {
  Base a, b;
  make_base(a, 3, 3);
  make_base(b, 4, 3);
  ReportOptions o;
  o.model = a.model;
  o.segments = b.segments;
  o.out = a.dir / "r.html";
  try {
    write_report(o);
    FAIL() << "a model and segments of different runs were accepted";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(b.segments.string()), std::string::npos) << what;
    EXPECT_NE(what.find(a.model.string()), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(a.dir / "r.html"));
  EXPECT_FALSE(std::filesystem::exists(a.dir / "r.json"));
  // A truth file without truth, and segments where the model is expected.
  o.segments = a.segments;
  o.truth = a.model;
  EXPECT_THROW(write_report(o), InputError);
  o.truth.clear();
  o.model = a.segments;
  EXPECT_THROW(write_report(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(a.dir / "r.html"));
  // A lifetimes file that is not one.
  o.model = a.model;
  o.lifetimes = a.features;
  EXPECT_THROW(write_report(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(a.dir / "r.html"));
  // Usage: the JSON onto the page, a horizon that is no length of time.
  o.lifetimes.clear();
  o.json = o.out;
  EXPECT_THROW(write_report(o), UsageError);
  o.json.clear();
  o.horizon_days = 0;
  EXPECT_THROW(write_report(o), UsageError);
  // A directory that does not exist: a resource error before anything is read.
  o.horizon_days = 365;
  o.out = a.dir / "missing" / "r.html";
  EXPECT_THROW(write_report(o), ResourceError);
}

}  // namespace
}  // namespace segstream::host
