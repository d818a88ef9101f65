// The device search's steps run on the CPU with HostExecutor, around any backend: the same
// state layout, steps and order as DeviceSearch, so the tests can compare the device search with
// qd's CPU search without a GPU. It is a test double, not a fast path: the steps run one index
// at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/backend.h"
#include "kernels/search_config.h"
#include "kernels/search_host_executor.h"
#include "kernels/search_state.h"
#include "qd/grid_archive.h"

namespace lsi {

class EmulatedSearch {
 public:
  // `evaluator` must outlive the search. With reverse_order, every step's indices and threads
  // run from last to first (see HostExecutor).
  EmulatedSearch(const DeviceSearchConfig& config, Backend& evaluator, bool reverse_order = false);

  void run_iterations(std::int64_t n_iterations);
  DeviceSearchSnapshot snapshot();
  void copy_archive(qd::GridArchive& archive) const;
  std::vector<std::int64_t> restarts_per_emitter() const;

  // The state, for tests that read the emitters' CMA-ES state or the last batch.
  const search::SearchViews& views() const { return views_; }

 private:
  DeviceSearchConfig config_;
  Backend* evaluator_;
  search::HostExecutor executor_;
  search::SearchLayout layout_;
  std::vector<unsigned char> memory_;  // the state, laid out by layout_
  std::vector<float> latents_;         // (N x S) the evaluator's input
  Evaluation evaluation_;              // the evaluator's outputs, sized once to N rows
  search::SearchViews views_;
};

}  // namespace lsi
