// The compute contract (ARCHITECTURE.md): the batch-level operations every backend implements, so that the
// host's algorithms (the k-means trainer, assign, the features engine) are written once and never ask
// which device runs them.
//
// - k-means, through a BlockPipeline: assign a block of rows to their nearest centres (label, squared
//   distance, margin to the second nearest; ties to the smallest index), sum the block's inertia as
//   kmeans.hpp's kInertiaRows says, and accumulate exact per-cluster sums (cluster_sums.hpp).
// - the behavioural fold (behaviour_fold.hpp): records of a run of hash buckets into feature rows.
//
// Every backend gives the CPU backend's bits: the same labels, distances, margins, inertias, cluster sums and
// feature rows (the CUDA backend's transcendental functions in the features may differ in the last place;
// its conformance test says where). The CPU backend is the oracle.
//
// Memory spaces: every pointer here is host memory. A pipeline slot's buffers are pinned on the CUDA
// backend; rows and results cross to the device inside the pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "segstream/kernels/behaviour_fold.hpp"
#include "segstream/kernels/cluster_sums.hpp"
#include "segstream/kernels/device.hpp"

namespace segstream::kernels {

// What a block's computation adds to the pipeline's running cluster sums.
enum class Accumulate : std::uint8_t {
  kNone,    // nothing
  kCounts,  // Σ w and the row counts of each cluster (the final pass of a fit)
  kSums     // Σ w·x as well (mini-batch steps, Lloyd passes)
};

struct BlockWork {
  bool margin = false;  // compute margins (second-best minus best squared distance)
  Accumulate accumulate = Accumulate::kNone;
  // After this block, hand the running sums to the slot (take_sums) and start them anew: the end of a pass,
  // or every mini-batch step.
  bool take_sums = false;
};

// The stream model of one k-means loop (ARCHITECTURE.md "The CUDA stream model"): blocks of up to
// block_rows() rows of d columns are assigned to k centres, with up to depth() blocks in flight. A caller
// takes the next slot with acquire(), uploads its block's rows (written into slot.x, or anywhere else in
// host memory) and computes it against the centres; once depth() blocks are pending it waits for the oldest
// before acquiring again. The results of a slot are valid from wait() until the slot is acquired again.
//
// On the CPU backend depth() is 1 and compute() does the work before it returns. On the CUDA backend a
// ring of pinned slots feeds a copy stream and a compute stream, so reading the next block, its copy and the
// current block's kernels overlap; the host synchronises once per block, in wait(). When the pipeline is
// resident(), rows uploaded with keep_at stay in device memory, and later passes compute them in place
// with compute_resident().
class BlockPipeline {
 public:
  struct Slot {
    float* x = nullptr;                    // block_rows × d host rows (pinned on CUDA)
    float* w = nullptr;                    // block_rows weights
    const std::int32_t* labels = nullptr;  // results, valid after wait()
    const float* distance2 = nullptr;
    const float* margin = nullptr;  // when BlockWork::margin
    int index = 0;                  // the slot's place in the ring
  };
  virtual ~BlockPipeline() = default;

  virtual int d() const = 0;
  virtual int k() const = 0;
  virtual std::uint64_t block_rows() const = 0;
  // Blocks that may be in flight at once: uploaded or computed and not yet waited for.
  virtual int depth() const = 0;
  // Whether rows uploaded with keep_at ≥ 0 stay on the device for compute_resident().
  virtual bool resident() const = 0;

  // The next slot of the ring; its earlier block must have been waited for.
  virtual Slot& acquire() = 0;
  // n ≤ block_rows() rows (row-major n × d) and their weights (null: all 1) in host memory, either the slot's
  // own buffers or any other memory that stays valid until wait(); keep_at ≥ 0 keeps them in the resident
  // rows from row keep_at on (resident pipelines only).
  virtual void upload(Slot& slot, std::uint64_t n, const float* rows, const float* weights,
                      std::int64_t keep_at = -1) = 0;
  // Assigns the uploaded rows to `centres` (k × d, read before the call returns).
  virtual void compute(Slot& slot, const float* centres, const BlockWork& work) = 0;
  // Assigns resident rows [start, start + n), with the weights they were uploaded with.
  virtual void compute_resident(Slot& slot, std::uint64_t start, std::uint64_t n, const float* centres,
                                const BlockWork& work) = 0;
  // Waits for the slot's results; returns its Σ w·distance² (kmeans.hpp's order).
  virtual double wait(Slot& slot) = 0;
  // Adds the sums handed to the slot (BlockWork::take_sums) into `sums`; after wait().
  virtual void take_sums(const Slot& slot, ClusterSums& sums) = 0;
};

class Backend {
 public:
  explicit Backend(DeviceInfo device) : device_(std::move(device)) {}
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // The device this backend runs on, and (note) why it was chosen.
  const DeviceInfo& device() const { return device_; }
  void set_note(std::string note) { device_.note = std::move(note); }
  // CPU threads for the host's own work (reading, sorting, the CPU backend's kernels).
  virtual int threads() const = 0;

  // k-means: a pipeline for blocks of up to block_rows rows of d columns and k centres, for a loop over
  // `rows` rows in all; the backend keeps every row resident when its memory budget holds them.
  // ResourceError when the budget cannot hold even the streamed pipeline.
  virtual std::unique_ptr<BlockPipeline> make_pipeline(int d, int k, std::uint64_t block_rows,
                                                       std::uint64_t rows) = 0;

  // The behavioural fold. Buckets folded per call (the host folds a partition in runs of this many and
  // writes each run's rows before the next); the host bytes the fold needs per record held (the store, and a
  // gathered copy where the backend makes one); the number of hash ranges (passes over the events) the
  // backend's own memory needs for `records` records and `carried` carried states.
  virtual std::uint64_t fold_buckets() const = 0;
  virtual std::uint64_t fold_host_bytes_per_record() const = 0;
  virtual std::uint64_t fold_passes(std::uint64_t records, std::uint64_t carried, bool keep_states) const = 0;
  // Folds as `fold` says into one output per bucket (CPU) or one for the whole run, in key order.
  virtual void fold_behaviour(const BehaviourFold& fold, std::vector<BehaviourFoldOutput>& out) = 0;

 private:
  DeviceInfo device_;
};

struct BackendOptions {
  DeviceKind device = DeviceKind::kAuto;
  int threads = 0;               // CPU threads; 0 = OpenMP's default
  std::uint64_t gpu_memory = 0;  // CUDA: device memory the backend may use; 0 = 80% of the free memory
};

// The backend for a run, chosen once: kCpu the CPU; kCuda the first CUDA device (ResourceError when none can
// be used, saying why); kAuto CUDA when the build has it and a device answers, else the CPU. device().note
// says why.
std::unique_ptr<Backend> make_backend(const BackendOptions& options);

// Whether this build has the CUDA backend.
bool cuda_backend_built();

}  // namespace segstream::kernels
