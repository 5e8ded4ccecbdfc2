// Overlapping a batch's write with the next batch's computation on one OpenMP team.
#pragma once

#include <omp.h>

#include <cstdint>

#include "segstream/core/parallel_errors.hpp"

namespace segstream::host::detail {

// Runs `side()` once and `task(i)` for every i in [0, tasks) on `threads` OpenMP threads: one thread starts
// with `side` (typically writing the previous batch) while the others take tasks, and it joins them when
// done. Sharing one team instead of adding a writer thread keeps the machine from being oversubscribed:
// OpenMP workers spin between parallel regions and would steal the writer's core. Exceptions thrown by
// `side` or a task are rethrown here after the team finishes.
template <class Side, class Task>
void run_tasks_beside(int threads, std::int64_t tasks, Side&& side, Task&& task) {
  ParallelErrors errors;
#pragma omp parallel num_threads(threads)
  {
#pragma omp single nowait
    errors.run(side);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < tasks; ++i) errors.run([&] { task(i); });
  }
  errors.rethrow();
}

}  // namespace segstream::host::detail
