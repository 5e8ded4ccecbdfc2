// Backend conformance: one typed test over the backends of the compute contract (kernels/backend.hpp),
// instantiated for the CPU (cpu_conformance_test.cpp) and for CUDA (gpu_conformance_test.cpp, label gpu).
//
// Every backend must give the bits of kernels/kmeans.hpp's scalar formulas: labels (ties to the smallest
// index), distances and margins exactly; the inertia summed per run of kInertiaRows rows; cluster sums as
// the term-by-term 128-bit sum. The behavioural fold must give the reference fold's ids, summaries and
// states exactly, and its feature rows within a relative 1e-6 (with an absolute floor of 1e-12), since a
// device's log2, sqrt and pow may differ from the host's in the last place. Shapes sweep awkward sizes:
// d ∈ {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64} and the register-row kernels' 4, 12, 24, 48, row counts
// that are not a multiple of the block.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "segstream/core/philox.hpp"
#include "segstream/kernels/backend.hpp"
#include "segstream/kernels/behaviour_fold.hpp"
#include "segstream/kernels/kmeans.hpp"

namespace segstream::kernels::test {

// What the typed tests need of a backend: a way to make one (or a reason it cannot be made here).
// Backend::make() returns null and sets *why when the machine has no such device.

template <class B>
class BackendConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    backend_ = B::make(&why);
    if (!backend_) GTEST_SKIP() << why;
  }
  Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<Backend> backend_;
};

TYPED_TEST_SUITE_P(BackendConformance);

// Random rows and centres of one shape, with a duplicated centre (a tie) and a row on a centre.
struct Shape {
  std::uint64_t rows;
  int d, k;
};
struct Problem {
  std::vector<float> x, centres, weights;
};
inline Problem make_problem(const Shape& s, std::uint64_t seed) {
  Problem p;
  RandomStream rng(seed, RandomPurpose::kMixtureRow, static_cast<std::uint64_t>(s.d * 1000 + s.k));
  p.x.resize(s.rows * static_cast<std::uint64_t>(s.d));
  p.centres.resize(static_cast<std::size_t>(s.k) * static_cast<std::size_t>(s.d));
  p.weights.resize(s.rows);
  for (float& v : p.x) v = static_cast<float>(rng.uniform() * 8 - 4);
  for (float& v : p.centres) v = static_cast<float>(rng.uniform() * 8 - 4);
  for (float& v : p.weights) v = static_cast<float>(rng.uniform() * 3);
  if (s.k > 2) std::copy_n(p.centres.begin(), s.d, p.centres.begin() + 2 * s.d);  // centre 2 ties centre 0
  if (s.rows > 5) std::copy_n(p.centres.begin(), s.d, p.x.begin() + 5 * s.d);     // a row on a centre
  return p;
}

// Streams the rows through a pipeline of blocks of `block` rows, keeping depth() blocks in flight, and
// collects what it computed; rows are uploaded from the caller's array, or first written into the slot.
struct Streamed {
  std::vector<std::int32_t> labels;
  std::vector<float> distance2, margin;
  double inertia = 0;
  ClusterSums sums;
};
inline Streamed stream_rows(Backend& backend, const Shape& s, const Problem& p, std::uint64_t block,
                            bool weighted, Accumulate accumulate, bool through_slot) {
  const auto pl = backend.make_pipeline(s.d, s.k, block, 0);
  EXPECT_GE(pl->depth(), 1);
  Streamed out;
  out.labels.resize(s.rows);
  out.distance2.resize(s.rows);
  out.margin.resize(s.rows);
  out.sums.reset(s.k, s.d);
  struct Pending {
    BlockPipeline::Slot* slot;
    std::uint64_t start, n;
    bool last;
  };
  std::deque<Pending> pending;
  auto finish = [&] {
    const Pending q = pending.front();
    pending.pop_front();
    out.inertia += pl->wait(*q.slot);
    std::copy_n(q.slot->labels, q.n, out.labels.begin() + static_cast<std::ptrdiff_t>(q.start));
    std::copy_n(q.slot->distance2, q.n, out.distance2.begin() + static_cast<std::ptrdiff_t>(q.start));
    std::copy_n(q.slot->margin, q.n, out.margin.begin() + static_cast<std::ptrdiff_t>(q.start));
    if (q.last && accumulate != Accumulate::kNone) pl->take_sums(*q.slot, out.sums);
  };
  const auto d = static_cast<std::uint64_t>(s.d);
  for (std::uint64_t start = 0; start < s.rows; start += block) {
    const std::uint64_t n = std::min(block, s.rows - start);
    const bool last = start + n == s.rows;
    if (pending.size() >= static_cast<std::size_t>(pl->depth())) finish();
    BlockPipeline::Slot& slot = pl->acquire();
    const float* rows = p.x.data() + start * d;
    const float* w = weighted ? p.weights.data() + start : nullptr;
    if (through_slot) {
      std::copy_n(rows, n * d, slot.x);
      rows = slot.x;
      if (w != nullptr) {
        std::copy_n(w, n, slot.w);
        w = slot.w;
      }
    }
    pl->upload(slot, n, rows, w);
    pl->compute(slot, p.centres.data(), {true, accumulate, last && accumulate != Accumulate::kNone});
    pending.push_back({&slot, start, n, last});
  }
  while (!pending.empty()) finish();
  return out;
}

// Labels, distances, margins, the inertia and the cluster sums of one shape, against the scalar formulas.
inline void check_shape(Backend& backend, const Shape& s, std::uint64_t block, bool weighted,
                        bool through_slot) {
  const int d = s.d, k = s.k;
  const Problem p = make_problem(s, 7);
  const Streamed got = stream_rows(backend, s, p, block, weighted, Accumulate::kSums, through_slot);
  double inertia = 0;
  std::vector<ClusterSums::Wide> sums(static_cast<std::size_t>(k * d), 0),
      wsums(static_cast<std::size_t>(k), 0);
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(k), 0);
  for (std::uint64_t b = 0; b < s.rows; b += block) {
    double block_inertia = 0;
    for (std::uint64_t r = b; r < std::min(s.rows, b + block); r += kInertiaRows) {
      double run = 0;
      for (std::uint64_t i = r; i < std::min({s.rows, b + block, r + kInertiaRows}); ++i) {
        const Nearest n =
            nearest_centre(p.x.data() + i * static_cast<std::uint64_t>(d), p.centres.data(), k, d);
        ASSERT_EQ(got.labels[i], n.label) << "d=" << d << " k=" << k << " row " << i;
        ASSERT_EQ(got.distance2[i], n.distance2) << "d=" << d << " k=" << k << " row " << i;
        if (k == 1)
          ASSERT_TRUE(std::isinf(got.margin[i]));
        else
          ASSERT_EQ(got.margin[i], n.second2 - n.distance2) << "d=" << d << " k=" << k << " row " << i;
        const double w = weighted ? static_cast<double>(p.weights[i]) : 1.0;
        run += static_cast<double>(n.distance2) * w;
        const auto c = static_cast<std::size_t>(n.label);
        for (int j = 0; j < d; ++j)
          sums[c * static_cast<std::size_t>(d) + static_cast<std::size_t>(j)] +=
              to_fixed(w * static_cast<double>(
                               p.x[i * static_cast<std::uint64_t>(d) + static_cast<std::uint64_t>(j)]));
        wsums[c] += to_fixed(w);
        ++counts[c];
      }
      block_inertia += run;
    }
    inertia += block_inertia;
  }
  EXPECT_EQ(got.inertia, inertia) << "d=" << d << " k=" << k;
  ClusterSums want(k, d);
  want.add_raw(sums.data(), wsums.data(), counts.data());
  for (int c = 0; c < k; ++c) {
    ASSERT_EQ(got.sums.count(c), want.count(c)) << "d=" << d << " k=" << k << " cluster " << c;
    ASSERT_EQ(got.sums.weight(c), want.weight(c)) << "d=" << d << " k=" << k << " cluster " << c;
    for (int j = 0; j < d; ++j) ASSERT_EQ(got.sums.sum(c, j), want.sum(c, j)) << "d=" << d << " k=" << k;
  }
}

TYPED_TEST_P(BackendConformance, PipelineAssignAndSumsEqualTheScalarFormulas) {
  // The awkward sizes, and every dimension a device has a register-row kernel for (4, 8, 12, …, 64).
  for (const int d : {1, 3, 4, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48, 64})
    for (const int k : {1, 3, 8, 67})
      check_shape(this->backend(), Shape{2357, d, k}, 1000, (d + k) % 2 == 0, k % 2 == 0);
  // One row; centres too large for a device's shared memory (k·d·4 > 48 KiB); a block of one row.
  check_shape(this->backend(), Shape{1, 3, 1}, 1000, true, false);
  check_shape(this->backend(), Shape{20000, 16, 800}, 8192, true, true);
  check_shape(this->backend(), Shape{4097, 32, 256}, 4096, true, false);  // a block and one row, many centres
  check_shape(this->backend(), Shape{5, 64, 2}, 1, false, false);
}

// Counting only (the final pass of a fit) gives the weights and counts of full accumulation, and no sums.
TYPED_TEST_P(BackendConformance, CountsAreThoseOfFullSums) {
  const Shape s{70001, 16, 12};
  const Problem p = make_problem(s, 11);
  const Streamed full = stream_rows(this->backend(), s, p, 65536, true, Accumulate::kSums, false);
  const Streamed counts = stream_rows(this->backend(), s, p, 65536, true, Accumulate::kCounts, true);
  EXPECT_EQ(full.labels, counts.labels);
  EXPECT_EQ(full.inertia, counts.inertia);
  for (int c = 0; c < s.k; ++c) {
    EXPECT_EQ(full.sums.count(c), counts.sums.count(c));
    EXPECT_EQ(full.sums.weight(c), counts.sums.weight(c));
    for (int j = 0; j < s.d; ++j) EXPECT_EQ(counts.sums.sum(c, j), 0.0);
  }
}

// Passes over rows kept on the device (where the backend keeps them) give the streamed results; a pipeline
// made for one pass (rows = 0) never keeps them.
TYPED_TEST_P(BackendConformance, ResidentPassesEqualStreamedOnes) {
  const Shape s{3001, 8, 5};
  const Problem p = make_problem(s, 13);
  const std::uint64_t block = 1024;
  EXPECT_FALSE(this->backend().make_pipeline(s.d, s.k, block, 0)->resident());
  const auto pl = this->backend().make_pipeline(s.d, s.k, block, s.rows);
  const Streamed want = stream_rows(this->backend(), s, p, block, true, Accumulate::kSums, false);
  for (int pass = 0; pass < 2; ++pass) {
    ClusterSums sums(s.k, s.d);
    double inertia = 0;
    std::vector<std::int32_t> labels;
    for (std::uint64_t start = 0; start < s.rows; start += block) {
      const std::uint64_t n = std::min(block, s.rows - start);
      const bool last = start + n == s.rows;
      BlockPipeline::Slot& slot = pl->acquire();
      const BlockWork work{false, Accumulate::kSums, last};
      if (pass == 1 && pl->resident()) {
        pl->compute_resident(slot, start, n, p.centres.data(), work);
      } else {
        pl->upload(slot, n, p.x.data() + start * static_cast<std::uint64_t>(s.d), p.weights.data() + start,
                   pl->resident() ? static_cast<std::int64_t>(start) : -1);
        pl->compute(slot, p.centres.data(), work);
      }
      inertia += pl->wait(slot);
      labels.insert(labels.end(), slot.labels, slot.labels + n);
      if (last) pl->take_sums(slot, sums);
    }
    EXPECT_EQ(labels, want.labels) << "pass " << pass;
    EXPECT_EQ(inertia, want.inertia) << "pass " << pass;
    for (int c = 0; c < s.k; ++c)
      for (int j = 0; j < s.d; ++j) EXPECT_EQ(sums.sum(c, j), want.sums.sum(c, j)) << "pass " << pass;
  }
}

// The reference fold: every customer's records sorted and folded one by one, carried states first.
inline BehaviourFoldOutput reference_fold(std::vector<BehaviourRecord> records,
                                          const std::vector<CarriedState>& carried,
                                          const BehaviourParams& params) {
  for (const CarriedState& c : carried) records.push_back(BehaviourRecord{c.key, 0, 0});
  std::sort(records.begin(), records.end(), record_less);
  BehaviourFoldOutput out;
  std::vector<float> row(static_cast<std::size_t>(behaviour_columns(params)));
  for (std::size_t i = 0; i < records.size();) {
    const std::uint64_t key = records[i].key;
    BehaviourState s;
    for (const CarriedState& c : carried)
      if (c.key == key) s = c.state;
    for (; i < records.size() && records[i].key == key; ++i) fold_record(s, params, records[i]);
    behaviour_features(s, params, row.data());
    out.ids.push_back(unmix64(key));
    out.rows.insert(out.rows.end(), row.begin(), row.end());
    std::array<double, 3> sum{-1, 0, 0};
    if (s.purchases > 0) s.bgnbd_summary(params, sum[0], sum[1], sum[2]);
    out.summaries.push_back(sum);
    out.states.push_back(s);
  }
  return out;
}

TYPED_TEST_P(BackendConformance, BehaviourFoldEqualsTheReference) {
  Backend& backend = this->backend();
  BehaviourParams params;
  params.t0 = 1767225599;  // 2025-12-31T23:59:59Z
  params.purchase_mask[0] = 1u << 6;
  for (int t = 0; t < 13; ++t) params.stage_of_type[t] = static_cast<std::int8_t>(t == 6 ? 3 : t % 3);
  params.stage_of_type[12] = kStageNone;
  params.categories = 3;
  params.category_columns[0] = 0;
  params.category_columns[1] = 4;
  params.category_columns[2] = 31;
  params.bgnbd = {0.24, 4.4, 0.79, 2.4};
  // 40 customers in the first buckets of the range, 0 to 30 events each, recorded by two threads; every
  // fifth customer carried in from a state of its own earlier events.
  BehaviourRecordStore store(2);
  std::vector<BehaviourRecord> all;
  std::vector<CarriedState> carried;
  const std::uint64_t buckets = backend.fold_buckets();
  for (std::uint64_t c = 0; c < 40; ++c) {
    RandomStream rng(17, RandomPurpose::kCustomer, c);
    // A key in bucket c mod `buckets` of 1,024 equal sub-ranges of the hash space.
    const std::uint64_t bucket = c % buckets;
    const std::uint64_t key = (bucket << 54) | (rng.next_u64() >> 10);
    const int events = static_cast<int>(rng.below(31));
    BehaviourState early;
    for (int e = 0; e < events; ++e) {
      const std::int64_t ts = params.t0 - static_cast<std::int64_t>(rng.below(400 * 86400));
      const auto type = static_cast<std::uint8_t>(rng.below(13));
      const BehaviourRecord r = pack_record(key, ts, type, static_cast<float>(rng.uniform(-20, 200)),
                                            static_cast<std::uint16_t>(rng.below(40)),
                                            static_cast<std::uint8_t>(rng.below(9)), rng.bernoulli(0.2));
      store.push(static_cast<int>(e % 2), bucket, r);
      all.push_back(r);
    }
    if (c % 5 == 0) {
      // Its saved state: two purchases before any of the events above.
      early.add(params, params.t0 - 500 * 86400, 6, 30.0f, 4, 1, false);
      early.add(params, params.t0 - 450 * 86400, 6, 12.5f, 0, 2, true);
      carried.push_back({key, early});
    }
  }
  std::sort(carried.begin(), carried.end(),
            [](const CarriedState& a, const CarriedState& b) { return a.key < b.key; });
  std::vector<std::uint64_t> offsets(buckets + 1, 0);
  for (const CarriedState& c : carried) ++offsets[(c.key >> 54) + 1];
  for (std::uint64_t b = 0; b < buckets; ++b) offsets[b + 1] += offsets[b];
  std::vector<BehaviourFoldOutput> out;
  backend.fold_behaviour(
      BehaviourFold{&store, 0, buckets, carried.data(), offsets.data(), &params, true, true}, out);
  BehaviourFoldOutput got;
  for (const BehaviourFoldOutput& o : out) {
    got.ids.insert(got.ids.end(), o.ids.begin(), o.ids.end());
    got.rows.insert(got.rows.end(), o.rows.begin(), o.rows.end());
    got.summaries.insert(got.summaries.end(), o.summaries.begin(), o.summaries.end());
    got.states.insert(got.states.end(), o.states.begin(), o.states.end());
  }
  const BehaviourFoldOutput want = reference_fold(all, carried, params);
  ASSERT_EQ(got.ids, want.ids);
  ASSERT_EQ(got.rows.size(), want.rows.size());
  for (std::size_t i = 0; i < want.rows.size(); ++i)
    ASSERT_LE(std::fabs(got.rows[i] - want.rows[i]), 1e-6 * std::fabs(want.rows[i]) + 1e-12)
        << "value " << i << ": " << got.rows[i] << " vs " << want.rows[i];
  EXPECT_EQ(got.summaries, want.summaries);
  ASSERT_EQ(got.states.size(), want.states.size());
  for (std::size_t i = 0; i < want.states.size(); ++i)
    EXPECT_EQ(std::memcmp(&got.states[i], &want.states[i], sizeof(BehaviourState)), 0) << "state " << i;
}

REGISTER_TYPED_TEST_SUITE_P(BackendConformance, PipelineAssignAndSumsEqualTheScalarFormulas,
                            CountsAreThoseOfFullSums, ResidentPassesEqualStreamedOnes,
                            BehaviourFoldEqualsTheReference);

}  // namespace segstream::kernels::test
