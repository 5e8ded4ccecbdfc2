#include "behaviour_fold.cuh"

#include <cuda_runtime.h>
#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sort.h>
#include <thrust/system_error.h>

#include <string>

#include "check.cuh"
#include "segstream/core/error.hpp"
#include "segstream/core/philox.hpp"

namespace segstream::kernels::cuda {
namespace {

struct RecordLess {
  __host__ __device__ bool operator()(const BehaviourRecord& a, const BehaviourRecord& b) const {
    return record_less(a, b);
  }
};

struct IsHead {
  const BehaviourRecord* records;
  __host__ __device__ bool operator()(std::size_t i) const {
    return i == 0 || records[i].key != records[i - 1].key;
  }
};

__global__ void fold_customers(const BehaviourRecord* records, std::size_t count, const std::size_t* starts,
                               std::size_t customers, const std::uint64_t* carried_keys,
                               const BehaviourState* carried_states, std::size_t carried,
                               BehaviourParams params, int columns, std::uint64_t* keys, float* rows,
                               double* summaries, BehaviourState* states) {
  const std::size_t c = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= customers) return;
  const std::size_t begin = starts[c];
  const std::size_t end = c + 1 < customers ? starts[c + 1] : count;
  const std::uint64_t key = records[begin].key;
  BehaviourState s;
  std::size_t lo = 0, hi = carried;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (carried_keys[mid] < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < carried && carried_keys[lo] == key) s = carried_states[lo];
  for (std::size_t i = begin; i < end; ++i) fold_record(s, params, records[i]);
  keys[c] = key;
  behaviour_features(s, params, rows + c * static_cast<std::size_t>(columns));
  double x = -1, t_x = 0, T = 0;
  if (s.purchases > 0) s.bgnbd_summary(params, x, t_x, T);
  summaries[3 * c] = x;
  summaries[3 * c + 1] = t_x;
  summaries[3 * c + 2] = T;
  if (states != nullptr) states[c] = s;
}

template <class T>
T* raw(thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

}  // namespace

void fold_behaviour(const BehaviourFold& fold, std::vector<BehaviourFoldOutput>& out) {
  out.resize(1);
  BehaviourFoldOutput& o = out[0];
  o.clear();
  // The run's records, then a naming record (second word 0) for every carried customer, so that each has
  // a run and its thread finds its state by binary search.
  std::vector<BehaviourRecord> records;
  for (std::uint64_t b = 0; b < fold.buckets; ++b) fold.records->gather(fold.first_bucket + b, records);
  const CarriedState* carried_begin = fold.carried + fold.carried_offsets[0];
  const CarriedState* carried_end = fold.carried + fold.carried_offsets[fold.buckets];
  const auto carried = static_cast<std::size_t>(carried_end - carried_begin);
  std::vector<std::uint64_t> carried_keys;
  std::vector<BehaviourState> carried_states;
  carried_keys.reserve(carried);
  carried_states.reserve(carried);
  for (const CarriedState* c = carried_begin; c != carried_end; ++c) {
    records.push_back(BehaviourRecord{c->key, 0, 0});
    carried_keys.push_back(c->key);
    carried_states.push_back(c->state);
  }
  const std::size_t count = records.size();
  if (count == 0) return;
  const BehaviourParams& params = *fold.params;
  try {
    thrust::device_vector<BehaviourRecord> d_records(records.begin(), records.end());
    thrust::sort(thrust::device, d_records.begin(), d_records.end(), RecordLess{});
    thrust::device_vector<std::size_t> starts(count);
    const auto starts_end = thrust::copy_if(thrust::device, thrust::counting_iterator<std::size_t>(0),
                                            thrust::counting_iterator<std::size_t>(count), starts.begin(),
                                            IsHead{raw(d_records)});
    const auto customers = static_cast<std::size_t>(starts_end - starts.begin());
    thrust::device_vector<std::uint64_t> d_carried_keys(carried_keys.begin(), carried_keys.end());
    thrust::device_vector<BehaviourState> d_carried_states(carried_states.begin(), carried_states.end());
    const int columns = behaviour_columns(params);
    thrust::device_vector<std::uint64_t> d_keys(customers);
    thrust::device_vector<float> d_rows(customers * static_cast<std::size_t>(columns));
    thrust::device_vector<double> d_summaries(customers * 3);
    thrust::device_vector<BehaviourState> d_states(fold.keep_states ? customers : 0);
    constexpr int kFoldThreads = 128;
    const auto blocks = static_cast<unsigned>((customers + kFoldThreads - 1) / kFoldThreads);
    fold_customers<<<blocks, kFoldThreads>>>(raw(d_records), count, raw(starts), customers,
                                             raw(d_carried_keys), raw(d_carried_states), carried, params,
                                             columns, raw(d_keys), raw(d_rows), raw(d_summaries),
                                             fold.keep_states ? raw(d_states) : nullptr);
    check(cudaGetLastError(), "fold_customers launch");
    check(cudaDeviceSynchronize(), "fold_customers");
    std::vector<std::uint64_t> keys(customers);
    std::vector<double> summaries(d_summaries.size());
    o.rows.resize(d_rows.size());
    thrust::copy(d_keys.begin(), d_keys.end(), keys.begin());
    thrust::copy(d_rows.begin(), d_rows.end(), o.rows.begin());
    thrust::copy(d_summaries.begin(), d_summaries.end(), summaries.begin());
    if (fold.keep_states) {
      o.states.resize(customers);
      thrust::copy(d_states.begin(), d_states.end(), o.states.begin());
    }
    for (std::size_t i = 0; i < customers; ++i) {
      o.ids.push_back(unmix64(keys[i]));
      if (fold.keep_summaries)
        o.summaries.push_back({summaries[3 * i], summaries[3 * i + 1], summaries[3 * i + 2]});
    }
  } catch (const thrust::system_error& e) {
    (void)cudaGetLastError();
    throw ResourceError(std::string("CUDA behavioural fold: ") + e.what());
  } catch (const std::bad_alloc& e) {
    throw ResourceError(std::string("CUDA behavioural fold: device memory exhausted (") + e.what() +
                        "); lower --gpu-memory");
  }
}

}  // namespace segstream::kernels::cuda
