// The CPU backend of the behavioural fold: each bucket's records are gathered from every thread's blocks,
// sorted by (customer, time, the rest of the record) and folded customer by customer with the same
// kernels/behaviour.hpp code the CUDA backend runs.
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "fold.hpp"
#include "segstream/core/parallel_errors.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::kernels::cpu {

void fold_buckets(const BehaviourFold& fold, int threads, std::vector<std::vector<BehaviourRecord>>& scratch,
                  std::vector<BehaviourFoldOutput>& out) {
  const BehaviourParams& params = *fold.params;
  const auto columns = static_cast<std::size_t>(behaviour_columns(params));
  out.resize(fold.buckets);
  if (scratch.size() < static_cast<std::size_t>(threads)) scratch.resize(static_cast<std::size_t>(threads));
  ParallelErrors errors;  // a std::bad_alloc of a bucket's records, thrown after the loop
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t bi = 0; bi < static_cast<std::int64_t>(fold.buckets); ++bi) {
    errors.run([&] {
      const auto b = static_cast<std::uint64_t>(bi);
      BehaviourFoldOutput& o = out[b];
      o.clear();
      std::vector<BehaviourRecord>& work = scratch[static_cast<std::size_t>(omp_get_thread_num())];
      work.clear();
      fold.records->gather(fold.first_bucket + b, work);
      // A lambda, not the function itself: std::sort then inlines the comparison.
      std::sort(work.begin(), work.end(),
                [](const BehaviourRecord& x, const BehaviourRecord& y) { return record_less(x, y); });
      const BehaviourRecord* first = work.data();
      const BehaviourRecord* last = work.data() + work.size();
      const CarriedState* cs = fold.carried + fold.carried_offsets[b];
      const CarriedState* ce = fold.carried + fold.carried_offsets[b + 1];
      std::vector<float> row(columns);
      while (first != last || cs != ce) {
        const std::uint64_t key = first == last ? cs->key
                                  : cs == ce    ? first->key
                                                : std::min(first->key, cs->key);
        BehaviourState s;
        if (cs != ce && cs->key == key) s = (cs++)->state;
        for (; first != last && first->key == key; ++first) fold_record(s, params, *first);
        behaviour_features(s, params, row.data());
        o.rows.insert(o.rows.end(), row.begin(), row.end());
        o.ids.push_back(unmix64(key));
        if (fold.keep_summaries) {
          std::array<double, 3> sum{-1, 0, 0};
          if (s.purchases > 0) s.bgnbd_summary(params, sum[0], sum[1], sum[2]);
          o.summaries.push_back(sum);
        }
        if (fold.keep_states) o.states.push_back(s);
      }
    });
  }
  errors.rethrow();
}

}  // namespace segstream::kernels::cpu
