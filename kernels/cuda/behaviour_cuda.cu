// The behavioural fold on a CUDA device: Thrust sorts the records by (customer, time, rest), a pass marks
// where each customer's run starts, and one thread per customer folds its run in time order with
// kernels/behaviour.hpp. The order of every floating-point operation per customer is the CPU backend's;
// the file is compiled with --fmad=false so that no multiply-add is contracted differently.
#include <cuda_runtime.h>
#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sort.h>
#include <thrust/system_error.h>

#include <string>

#include "cuda_check.hpp"
#include "segstream/core/error.hpp"
#include "segstream/kernels/behaviour_cuda.hpp"

namespace segstream::kernels {
namespace {

using cuda_detail::check;

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

std::uint64_t cuda_free_memory() {
  std::size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  return free;
}

void fold_behaviour_cuda(const BehaviourRecord* records, std::size_t count, const std::uint64_t* carried_keys,
                         const BehaviourState* carried_states, std::size_t carried,
                         const BehaviourParams& params, bool keep_states, BehaviourDeviceOutput& out) {
  out = BehaviourDeviceOutput{};
  if (count == 0) return;
  try {
    thrust::device_vector<BehaviourRecord> d_records(records, records + count);
    thrust::sort(thrust::device, d_records.begin(), d_records.end(), RecordLess{});
    thrust::device_vector<std::size_t> starts(count);
    const auto starts_end = thrust::copy_if(thrust::device, thrust::counting_iterator<std::size_t>(0),
                                            thrust::counting_iterator<std::size_t>(count), starts.begin(),
                                            IsHead{raw(d_records)});
    const auto customers = static_cast<std::size_t>(starts_end - starts.begin());
    thrust::device_vector<std::uint64_t> d_carried_keys(carried_keys, carried_keys + carried);
    thrust::device_vector<BehaviourState> d_carried_states(carried_states, carried_states + carried);
    const int columns = behaviour_columns(params);
    thrust::device_vector<std::uint64_t> d_keys(customers);
    thrust::device_vector<float> d_rows(customers * static_cast<std::size_t>(columns));
    thrust::device_vector<double> d_summaries(customers * 3);
    thrust::device_vector<BehaviourState> d_states(keep_states ? customers : 0);
    constexpr int kThreads = 128;
    const auto blocks = static_cast<unsigned>((customers + kThreads - 1) / kThreads);
    fold_customers<<<blocks, kThreads>>>(
        raw(d_records), count, raw(starts), customers, raw(d_carried_keys), raw(d_carried_states), carried,
        params, columns, raw(d_keys), raw(d_rows), raw(d_summaries), keep_states ? raw(d_states) : nullptr);
    check(cudaGetLastError(), "fold_customers launch");
    check(cudaDeviceSynchronize(), "fold_customers");
    out.keys.resize(customers);
    out.rows.resize(d_rows.size());
    out.summaries.resize(d_summaries.size());
    thrust::copy(d_keys.begin(), d_keys.end(), out.keys.begin());
    thrust::copy(d_rows.begin(), d_rows.end(), out.rows.begin());
    thrust::copy(d_summaries.begin(), d_summaries.end(), out.summaries.begin());
    if (keep_states) {
      out.states.resize(customers);
      thrust::copy(d_states.begin(), d_states.end(), out.states.begin());
    }
  } catch (const thrust::system_error& e) {
    (void)cudaGetLastError();
    throw ResourceError(std::string("CUDA behavioural fold: ") + e.what());
  } catch (const std::bad_alloc& e) {
    throw ResourceError(std::string("CUDA behavioural fold: device memory exhausted (") + e.what() +
                        "); lower --gpu-memory");
  }
}

}  // namespace segstream::kernels
