// CudaSearch: queues iterations on the GPU and reads back only what the caller asks for.
#include "app/cuda_search.h"

#include <chrono>
#include <limits>

#include "qd/ranker.h"

namespace lsi {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

DeviceSearchConfig device_search_config(const RunConfig& config) {
  DeviceSearchConfig device;
  device.n_emitters = config.n_emitters;
  device.batch_size = config.batch_size;
  device.sigma0 = config.sigma0;
  device.ranker = qd::parse_ranker_kind(config.ranker);
  device.digit = config.digit;
  device.seed = config.seed;
  device.n_cells = {config.n_cells_boldness, config.n_cells_lightness};
  device.lower = {RunConfig::kBoldnessLow, RunConfig::kLightnessLow};
  device.upper = {RunConfig::kBoldnessHigh, RunConfig::kLightnessHigh};
  return device;
}

CudaSearch::CudaSearch(const RunConfig& config, const WeightPaths& paths)
    : config_(config),
      archive_(kLatentDim, {config.n_cells_boldness, config.n_cells_lightness},
               {{RunConfig::kBoldnessLow, RunConfig::kBoldnessHigh},
                {RunConfig::kLightnessLow, RunConfig::kLightnessHigh}}),
      device_search_(std::make_unique<DeviceSearch>(device_search_config(config), paths)) {}

SearchOutcome CudaSearch::run(const std::function<bool()>& should_stop,
                              const std::function<void(std::int64_t, double)>& on_progress) {
  SearchOutcome outcome;
  const std::int64_t n_batch = static_cast<std::int64_t>(config_.n_emitters) * config_.batch_size;

  // The evaluator's share is measured apart, since inside the graph it cannot be timed alone.
  const double evaluator_s_per_iteration = device_search_->time_evaluator_s(20);
  const Clock::time_point start = Clock::now();

  // Iterations are queued without waiting; a progress row waits for the queue to drain. The
  // host queues at most kQueueAhead iterations before it waits, so that Ctrl-C and the progress
  // display stay responsive.
  constexpr std::int64_t kQueueAhead = 64;
  for (std::int64_t iteration = 1; iteration <= config_.n_iterations; ++iteration) {
    if (should_stop()) {
      outcome.interrupted = true;
      break;
    }
    device_search_->launch_iterations(1);
    if (iteration % kQueueAhead == 0) device_search_->synchronize();
    outcome.iterations_done = iteration;
    outcome.evaluations += n_batch;

    // A progress row's time is taken once the GPU has run its iteration, not when the host
    // queued it, which can be up to kQueueAhead iterations earlier.
    const bool row_due =
        iteration % config_.progress_every == 0 || iteration == config_.n_iterations;
    if (row_due) device_search_->synchronize();
    const double elapsed_s = seconds_since(start);
    if (row_due) outcome.progress.push_back(progress_row(elapsed_s));
    on_progress(iteration, elapsed_s);
  }

  device_search_->synchronize();
  outcome.elapsed_s = seconds_since(start);
  outcome.evaluator_s = evaluator_s_per_iteration * static_cast<double>(outcome.iterations_done);
  const bool last_row_missing =
      outcome.progress.empty() || outcome.progress.back().iteration != outcome.iterations_done;
  if (outcome.iterations_done > 0 && last_row_missing) {
    outcome.progress.push_back(progress_row(outcome.elapsed_s));
  }
  return outcome;
}

ProgressRow CudaSearch::progress_row(double elapsed_s) {
  const DeviceSearchSnapshot snapshot = device_search_->snapshot();
  const std::int64_t n_cells =
      static_cast<std::int64_t>(config_.n_cells_boldness) * config_.n_cells_lightness;
  const bool empty = snapshot.num_elites == 0;
  return {snapshot.iterations,
          snapshot.iterations * config_.n_emitters * config_.batch_size,
          elapsed_s,
          snapshot.num_elites,
          static_cast<double>(snapshot.num_elites) / static_cast<double>(n_cells),
          snapshot.qd_score,
          empty ? std::numeric_limits<double>::quiet_NaN() : snapshot.obj_max,
          empty ? std::numeric_limits<double>::quiet_NaN()
                : snapshot.qd_score / static_cast<double>(snapshot.num_elites),
          snapshot.restarts};
}

const qd::GridArchive& CudaSearch::archive() {
  device_search_->copy_archive(archive_);
  return archive_;
}

std::vector<std::int64_t> CudaSearch::restarts_per_emitter() {
  return device_search_->restarts_per_emitter();
}

}  // namespace lsi
