// The search with the whole CMA-ME loop on the GPU (kernels/device_search.h), behind the same
// interface as the CPU search, so that `lsi-cuda run` writes the same outputs either way.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/search.h"
#include "kernels/device_search.h"

namespace lsi {

class CudaSearch : public Search {
 public:
  // Loads its own copy of the networks from `paths` onto the GPU. `config` must be valid.
  CudaSearch(const RunConfig& config, const WeightPaths& paths);

  SearchOutcome run(const std::function<bool()>& should_stop,
                    const std::function<void(std::int64_t, double)>& on_progress) override;
  ProgressRow progress_row(double elapsed_s) override;
  const qd::GridArchive& archive() override;
  std::vector<std::int64_t> restarts_per_emitter() override;
  std::string device() const override { return "cuda"; }

 private:
  RunConfig config_;
  qd::GridArchive archive_;  // the host copy that archive() refreshes
  std::unique_ptr<DeviceSearch> device_search_;
};

// The device search's configuration for a run's configuration.
DeviceSearchConfig device_search_config(const RunConfig& config);

}  // namespace lsi
