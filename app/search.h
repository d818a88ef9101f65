// One CMA-ME search over the GAN's latent space: the archive, the emitters and the ask /
// evaluate / tell loop, shared by `lsi-cuda run` and `lsi-cuda bench`. The search runs on the
// CPU around any backend (CpuSearch), or whole on the GPU (CudaSearch, app/cuda_search.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/run_config.h"
#include "engine/backend.h"
#include "engine/weight_paths.h"
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
  // Of elapsed_s, the time in the evaluator. CudaSearch's evaluator runs inside each
  // iteration's CUDA graph, so it estimates this as iterations x the evaluator timed alone.
  double evaluator_s = 0.0;
  bool interrupted = false;
  std::vector<ProgressRow> progress;  // every config.progress_every iterations, and the last
};

class Search {
 public:
  virtual ~Search() = default;

  // Runs config.n_iterations iterations, or fewer when should_stop() turns true between two
  // iterations. on_progress is called after every iteration with the iteration number and the
  // elapsed time; it may call progress_row().
  virtual SearchOutcome run(const std::function<bool()>& should_stop,
                            const std::function<void(std::int64_t, double)>& on_progress) = 0;

  // The statistics now, as a row of progress.csv. It costs a pass over the archive (and on a
  // GPU a wait for the work queued so far), so call it only when the row is needed.
  virtual ProgressRow progress_row(double elapsed_s) = 0;

  // The archive now. CudaSearch copies it from the GPU on each call.
  virtual const qd::GridArchive& archive() = 0;

  virtual std::vector<std::int64_t> restarts_per_emitter() = 0;
  std::int64_t total_restarts();

  // "cpu" when the search runs on the CPU (whatever the evaluator), "cuda" when on the GPU.
  virtual std::string device() const = 0;
};

// The search on the CPU: qd's scheduler and emitters, with `backend` as the evaluator.
class CpuSearch : public Search {
 public:
  // Builds the archive and the emitters of `config` (which must be valid). The backend must
  // outlive the search.
  CpuSearch(const RunConfig& config, Backend& backend);

  SearchOutcome run(const std::function<bool()>& should_stop,
                    const std::function<void(std::int64_t, double)>& on_progress) override;
  ProgressRow progress_row(double elapsed_s) override;
  const qd::GridArchive& archive() override { return *archive_; }
  std::vector<std::int64_t> restarts_per_emitter() override;
  std::string device() const override { return "cpu"; }

 private:
  RunConfig config_;
  Backend* backend_;
  std::unique_ptr<qd::GridArchive> archive_;
  std::unique_ptr<qd::Scheduler> scheduler_;
};

// The search for `backend`: CudaSearch when the backend is the CUDA one (the whole loop on the
// GPU, with its own copy of the networks from `paths`), else CpuSearch around the backend.
std::unique_ptr<Search> make_search(const RunConfig& config, Backend& backend,
                                    const WeightPaths& paths);

}  // namespace lsi
