// The configuration of a device search and what a progress row reads back from it. Plain C++,
// shared by DeviceSearch (on a GPU) and EmulatedSearch (its steps on the CPU).
#pragma once

#include <array>
#include <cstdint>

#include "qd/ranker.h"

namespace lsi {

struct DeviceSearchConfig {
  int n_emitters = 5;
  int batch_size = 30;  // lambda; n_emitters * batch_size rows per iteration
  double sigma0 = 0.2;
  qd::RankerKind ranker = qd::RankerKind::kTwoStageImprovement;
  int digit = 8;
  std::uint64_t seed = 0;
  std::array<int, 2> n_cells = {200, 200};  // boldness, lightness
  std::array<double, 2> lower = {0.0, 0.5};
  std::array<double, 2> upper = {784.0, 1.0};
  // Iterations between the request of an eigendecomposition and its use (the commit); the
  // solver runs beside the loop meanwhile. See kernels/search_eigen_slots_steps.h.
  int eigen_delay_iterations = 8;

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

struct DeviceSearchSnapshot {
  std::int64_t iterations = 0;  // iterations done
  std::int64_t num_elites = 0;
  std::int64_t restarts = 0;
  double qd_score = 0.0;
  double obj_max = 0.0;  // meaningless while num_elites is 0
};

}  // namespace lsi
