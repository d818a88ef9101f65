// One CMA-ME search over the GAN's latent space: the archive, the emitters and the ask /
// evaluate / tell loop, shared by `lsi-cuda run` and `lsi-cuda bench`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "app/run_config.h"
#include "engine/backend.h"
#include "qd/grid_archive.h"
#include "qd/scheduler.h"

namespace lsi {

// The archive's statistics after an iteration, one row of progress.csv.
struct ProgressRow {
  std::int64_t iteration;
  std::int64_t evaluations;
  double elapsed_s;
  std::int64_t num_elites;
  double coverage;
  double qd_score;
  double obj_max;
  double obj_mean;
  std::int64_t restarts;
};

struct SearchOutcome {
  std::int64_t iterations_done = 0;
  std::int64_t evaluations = 0;
  double elapsed_s = 0.0;
  double evaluator_s = 0.0;  // of elapsed_s, the time spent in the backend's evaluate()
  bool interrupted = false;
  std::vector<ProgressRow> progress;  // every config.progress_every iterations, and the last
};

class Search {
 public:
  // Builds the archive and the emitters of `config` (which must be valid).
  explicit Search(const RunConfig& config);

  // Runs config.n_iterations iterations on `backend`, or fewer when should_stop() turns true
  // between two iterations. on_progress is called after every iteration with the iteration
  // number; it may read progress_row(), which computes the archive's statistics.
  SearchOutcome run(Backend& backend, const std::function<bool()>& should_stop,
                    const std::function<void(std::int64_t, double)>& on_progress);

  // The statistics now, as a row of progress.csv.
  ProgressRow progress_row(double elapsed_s) const;

  const qd::GridArchive& archive() const { return *archive_; }
  std::int64_t total_restarts() const;
  std::vector<std::int64_t> restarts_per_emitter() const;

 private:
  RunConfig config_;
  std::unique_ptr<qd::GridArchive> archive_;
  std::unique_ptr<qd::Scheduler> scheduler_;
};

}  // namespace lsi
