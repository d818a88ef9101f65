// Timing the whole search loop at the tutorial's configuration (5 emitters x 30).
#pragma once

#include "engine/backend.h"

namespace lsi {

struct LoopBenchResult {
  int n_batch;              // evaluations per iteration
  double evals_per_second;
  double evaluator_share;   // fraction of the loop's time spent in the evaluator
};

// Runs `n_iterations` iterations of the tutorial's search (digit 8, seed 0) on `backend` after
// a short warm-up, and returns the rate and the time split.
LoopBenchResult time_search_loop(Backend& backend, int n_iterations);

}  // namespace lsi
