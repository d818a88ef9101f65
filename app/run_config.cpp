// Validation of a run's options before any work starts.
#include "app/run_config.h"

#include <cmath>
#include <stdexcept>

namespace lsi {

namespace {

// Limits that keep one run's memory and time within reason. A grid of 2,000 x 2,000 cells
// contains up to 4 M elites of 128 floats, 2 GiB.
constexpr int kMaxCellsPerMeasure = 2000;
constexpr int kMaxEmitters = 100000;
constexpr int kMaxBatchSize = 100000;
constexpr std::int64_t kMaxBatchTotal = 1 << 22;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void RunConfig::validate() const {
  require(digit >= 0 && digit <= 9, "--digit must be in 0..9, got " + std::to_string(digit));
  require(n_iterations >= 1,
          "--iterations must be at least 1, got " + std::to_string(n_iterations));
  require(n_emitters >= 1 && n_emitters <= kMaxEmitters,
          "--emitters must be in 1.." + std::to_string(kMaxEmitters) + ", got " +
              std::to_string(n_emitters));
  require(batch_size >= 2 && batch_size <= kMaxBatchSize,
          "--batch-size must be in 2.." + std::to_string(kMaxBatchSize) +
              " (CMA-ES needs at least two samples), got " + std::to_string(batch_size));
  require(static_cast<std::int64_t>(n_emitters) * batch_size <= kMaxBatchTotal,
          "--emitters x --batch-size must be at most " + std::to_string(kMaxBatchTotal));
  require(std::isfinite(sigma0) && sigma0 > 0.0,
          "--sigma0 must be a positive finite number, got " + std::to_string(sigma0));
  require(ranker == "2imp" || ranker == "imp", "--ranker must be 2imp or imp, got '" + ranker +
                                                   "'");
  require(n_cells_boldness >= 1 && n_cells_boldness <= kMaxCellsPerMeasure &&
              n_cells_lightness >= 1 && n_cells_lightness <= kMaxCellsPerMeasure,
          "--cells must be two numbers in 1.." + std::to_string(kMaxCellsPerMeasure) + ", got " +
              std::to_string(n_cells_boldness) + " " + std::to_string(n_cells_lightness));
  require(device == "cpu" || device == "cuda" || device == "auto",
          "--device must be cpu, cuda or auto, got '" + device + "'");
  require(progress_every >= 1,
          "--progress-every must be at least 1, got " + std::to_string(progress_every));
}

}  // namespace lsi
