// One iteration of the device search, step by step, for any executor: CudaExecutor captures it
// into DeviceSearch's CUDA graph, HostExecutor runs it in EmulatedSearch.
#pragma once

#include "kernels/search_archive_steps.h"
#include "kernels/search_eigen_slots_steps.h"
#include "kernels/search_emitter_steps.h"
#include "kernels/search_state.h"
#include "kernels/search_stats_steps.h"

namespace lsi::search {

// Advances the iteration number that the archive stores with each elite that enters.
struct NextIterationStep {
  long long* iteration;  // (1)

  LSI_HD void operator()(long long /*i*/) const { *iteration += 1; }
};

// Runs one iteration, in the order qd::Scheduler uses on the CPU. Ask: commit the
// eigendecompositions requested d iterations ago, file new requests, and sample every emitter's
// batch. Then `evaluate`, which must fill the evaluator's outputs from its latents, on the
// executor's stream. Tell: one archive add for the whole batch, then every emitter's ranking,
// CMA-ES update, stop tests and restarts. The requests are decomposed apart, by decompose_slot() on the slot
// eigen_slot_of(iteration) (see search_eigen_slots_steps.h).
template <typename Executor, typename Evaluate>
void run_iteration(const Executor& executor, const SearchViews& views, const Evaluate& evaluate) {
  // Ask.
  schedule_eigen_slots(executor, views.eigen_slots, views.emitters);
  sample(executor, views.emitters);

  evaluate();

  // Tell.
  add_batch(executor, views.archive, views.batch, views.add_result);
  tell(executor, views.emitters, views.add_result.status, views.add_result.value);
  executor.run_flat(NextIterationStep{views.iteration}, 1);
}

// Writes the archive's statistics into views.snapshot.
template <typename Executor>
void compute_snapshot(const Executor& executor, const SearchViews& views) {
  executor.run_blocks(views.stats, 1);
}

}  // namespace lsi::search
