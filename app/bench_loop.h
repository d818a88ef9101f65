// Timing the whole search loop as `lsi-cuda run` runs it, for a given emitter configuration.
#pragma once

#include "engine/backend.h"
#include "engine/weight_paths.h"

namespace lsi {

struct LoopBenchConfig {
  int n_emitters = 5;
  int batch_size = 30;
  // Iterations to time; 0 runs as many as fit in min_seconds.
  long long n_iterations = 0;
  double min_seconds = 2.0;
};

struct LoopBenchResult {
  int n_emitters;
  int batch_size;
  int n_batch;              // evaluations per iteration
  long long n_iterations;   // iterations timed
  double evals_per_second;
  double evaluator_share;   // fraction of the loop's time spent in the evaluator
  const char* search_device;  // "cpu" or "cuda", as Search::device()
};

// Runs the tutorial's search (digit 8, seed 0) with `config`'s emitters on `backend`, through
// make_search(), so on the CUDA backend the whole loop runs on the GPU.
LoopBenchResult time_search_loop(Backend& backend, const WeightPaths& paths,
                                 const LoopBenchConfig& config);

}  // namespace lsi
