// The whole CMA-ME loop on the GPU: the emitters' CMA-ES state, the archive and every step of an
// iteration live in device memory, and one iteration is a CUDA graph replayed as is. The host
// reads back only a few numbers for progress rows, and the archive when asked.
//
// The steps are those of kernels/search_*_steps.h, in the order of search_iteration.h. The same
// steps run on the CPU in EmulatedSearch (kernels/emulated_search.h), and the tests compare that
// with the CPU search of qd/. This header is plain C++.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/weight_paths.h"
#include "kernels/search_config.h"

namespace lsi::qd {
class GridArchive;
}  // namespace lsi::qd

namespace lsi {

class DeviceSearch {
 public:
  // Allocates the state, loads the networks from `paths` onto the current device and captures
  // one iteration as a CUDA graph. Throws std::invalid_argument for a bad config and
  // std::runtime_error when a CUDA call fails.
  DeviceSearch(const DeviceSearchConfig& config, const WeightPaths& paths);
  ~DeviceSearch();
  DeviceSearch(const DeviceSearch&) = delete;
  DeviceSearch& operator=(const DeviceSearch&) = delete;

  // Queues n_iterations replays of the iteration graph and returns without waiting.
  void launch_iterations(std::int64_t n_iterations);

  // Waits until every queued iteration has run.
  void synchronize();

  // The statistics after the queued iterations (waits for them).
  DeviceSearchSnapshot snapshot();

  // Replaces the contents of `archive` (of the config's shape) with the device archive's (waits).
  void copy_archive(qd::GridArchive& archive);

  std::vector<std::int64_t> restarts_per_emitter();

  // Seconds per iteration of the evaluator alone on one batch, timed with CUDA events over
  // n_repeats runs, outside the graph. The search's state is not touched.
  // NOTE: the runs queue behind the iterations already launched, but decompositions still
  // running on the eigensolver's stream share the GPU with them and can lengthen the time.
  double time_evaluator_s(int n_repeats);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lsi
