// The loop benchmark: the tutorial's configuration, timed as `lsi-cuda run` runs it.
#include "app/bench_loop.h"

#include "app/search.h"

namespace lsi {

LoopBenchResult time_search_loop(Backend& backend, int n_iterations) {
  RunConfig config;
  config.n_iterations = n_iterations;
  config.progress_every = n_iterations;
  Search search(config);
  const SearchOutcome outcome =
      search.run(backend, [] { return false; }, [](std::int64_t, double) {});
  return {config.n_emitters * config.batch_size, outcome.evaluations / outcome.elapsed_s,
          outcome.evaluator_s / outcome.elapsed_s};
}

}  // namespace lsi
