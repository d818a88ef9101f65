// The loop benchmark: a search built and run exactly as `lsi-cuda run` builds and runs it.
#include "app/bench_loop.h"

#include <chrono>
#include <limits>
#include <memory>

#include "app/search.h"

namespace lsi {

LoopBenchResult time_search_loop(Backend& backend, const WeightPaths& paths,
                                 const LoopBenchConfig& bench) {
  RunConfig config;
  config.n_emitters = bench.n_emitters;
  config.batch_size = bench.batch_size;
  const bool timed = bench.n_iterations <= 0;
  config.n_iterations = timed ? std::numeric_limits<int>::max() : bench.n_iterations;
  config.progress_every = config.n_iterations;
  config.validate();
  std::unique_ptr<Search> search = make_search(config, backend, paths);

  // With no iteration count, stop at the first check after min_seconds.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const auto should_stop = [&] {
    return timed && std::chrono::duration<double>(Clock::now() - start).count() >=
                        bench.min_seconds;
  };
  const SearchOutcome outcome = search->run(should_stop, [](std::int64_t, double) {});
  return {bench.n_emitters,
          bench.batch_size,
          bench.n_emitters * bench.batch_size,
          static_cast<long long>(outcome.iterations_done),
          outcome.evaluations / outcome.elapsed_s,
          outcome.evaluator_s / outcome.elapsed_s,
          search->device() == "cuda" ? "cuda" : "cpu"};
}

}  // namespace lsi
