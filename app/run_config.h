// The configuration of a search run, with the pyribs MNIST tutorial's values as defaults.
#pragma once

#include <cstdint>
#include <string>

namespace lsi {

struct RunConfig {
  int digit = 8;
  std::int64_t n_iterations = 30000;
  int n_emitters = 5;
  int batch_size = 30;          // solutions per emitter per iteration (CMA-ES's lambda)
  double sigma0 = 0.2;
  std::string ranker = "2imp";
  int n_cells_boldness = 200;
  int n_cells_lightness = 200;
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::string weights_dir;
  std::string out_dir;          // empty: runs/<date-time>/
  std::int64_t progress_every = 100;  // iterations between rows of progress.csv

  // Archive ranges of the two measures, as in the tutorial.
  static constexpr double kBoldnessLow = 0.0;
  static constexpr double kBoldnessHigh = 784.0;
  static constexpr double kLightnessLow = 0.5;
  static constexpr double kLightnessHigh = 1.0;

  // Throws std::invalid_argument naming the first invalid option and its value.
  void validate() const;
};

}  // namespace lsi
