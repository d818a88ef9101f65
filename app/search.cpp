// The ask / evaluate / tell loop of CMA-ME.
#include "app/search.h"

#include <chrono>

#ifdef LSI_HAVE_CUDA
#include "app/cuda_search.h"
#endif

#include "qd/improvement_emitter.h"
#include "qd/ranker.h"

namespace lsi {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::int64_t Search::total_restarts() {
  std::int64_t total = 0;
  for (const std::int64_t n : restarts_per_emitter()) total += n;
  return total;
}

std::unique_ptr<Search> make_search(const RunConfig& config, Backend& backend,
                                    const WeightPaths& paths) {
#ifdef LSI_HAVE_CUDA
  if (backend.name() == "cuda") return std::make_unique<CudaSearch>(config, paths);
#else
  (void)paths;
#endif
  return std::make_unique<CpuSearch>(config, backend);
}

CpuSearch::CpuSearch(const RunConfig& config, Backend& backend)
    : config_(config), backend_(&backend) {
  archive_ = std::make_unique<qd::GridArchive>(
      kLatentDim, std::vector<int>{config.n_cells_boldness, config.n_cells_lightness},
      std::vector<std::pair<double, double>>{
          {RunConfig::kBoldnessLow, RunConfig::kBoldnessHigh},
          {RunConfig::kLightnessLow, RunConfig::kLightnessHigh}});

  qd::ImprovementEmitterConfig emitter_config;
  emitter_config.x0 = Eigen::VectorXd::Zero(kLatentDim);
  emitter_config.sigma0 = config.sigma0;
  emitter_config.batch_size = config.batch_size;
  emitter_config.ranker = qd::parse_ranker_kind(config.ranker);
  scheduler_ = std::make_unique<qd::Scheduler>(
      *archive_, qd::make_improvement_emitters(*archive_, emitter_config, config.n_emitters,
                                               config.seed));
}

SearchOutcome CpuSearch::run(const std::function<bool()>& should_stop,
                             const std::function<void(std::int64_t, double)>& on_progress) {
  SearchOutcome outcome;
  const Clock::time_point start = Clock::now();
  Evaluation evaluation;
  const auto n_batch = static_cast<int>(scheduler_->batch_size());
  Eigen::VectorXd objectives(n_batch);
  qd::RowMatrixXd measures(n_batch, 2);

  for (std::int64_t iteration = 1; iteration <= config_.n_iterations; ++iteration) {
    if (should_stop()) {
      outcome.interrupted = true;
      break;
    }

    // Ask, evaluate, tell.
    const qd::RowMatrixXf& latents = scheduler_->ask();
    const Clock::time_point evaluate_start = Clock::now();
    backend_->evaluate(latents.data(), n_batch, config_.digit, evaluation);
    outcome.evaluator_s += seconds_since(evaluate_start);
    for (int i = 0; i < n_batch; ++i) {
      objectives[i] = evaluation.objectives[i];
      measures(i, 0) = evaluation.boldness[i];
      measures(i, 1) = evaluation.lightness[i];
    }
    scheduler_->tell(objectives, measures);
    outcome.iterations_done = iteration;
    outcome.evaluations += n_batch;

    // Statistics for progress.csv, and the caller's display.
    const double elapsed_s = seconds_since(start);
    if (iteration % config_.progress_every == 0 || iteration == config_.n_iterations) {
      outcome.progress.push_back(progress_row(elapsed_s));
    }
    on_progress(iteration, elapsed_s);
  }

  outcome.elapsed_s = seconds_since(start);
  const bool last_row_missing =
      outcome.progress.empty() || outcome.progress.back().iteration != outcome.iterations_done;
  if (outcome.iterations_done > 0 && last_row_missing) {
    outcome.progress.push_back(progress_row(outcome.elapsed_s));
  }
  return outcome;
}

ProgressRow CpuSearch::progress_row(double elapsed_s) {
  const qd::ArchiveStats stats = archive_->stats();
  return {scheduler_->iterations(), scheduler_->n_evaluations(), elapsed_s, stats.num_elites,
          stats.coverage, stats.qd_score, stats.obj_max, stats.obj_mean, total_restarts()};
}

std::vector<std::int64_t> CpuSearch::restarts_per_emitter() {
  std::vector<std::int64_t> restarts;
  for (const qd::ImprovementEmitter& emitter : scheduler_->emitters()) {
    restarts.push_back(emitter.restarts());
  }
  return restarts;
}

}  // namespace lsi
