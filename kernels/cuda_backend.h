// The evaluator on a CUDA GPU: cuBLAS for the linear layers, our own kernels for the rest.
//
// Shape legend: B batch, Z latent size (128), P pixels (784), K classes (10).
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/weight_paths.h"

namespace lsi {

// Whether a CUDA device can be used; when not, `reason` (if given) says why in plain words.
bool cuda_device_usable(std::string* reason);

class CudaBackend : public Backend {
 public:
  // Loads the networks named in `paths` and copies them to the GPU.
  explicit CudaBackend(const WeightPaths& paths);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  void evaluate(const float* latents, int n_batch, int digit, Evaluation& out) override;
  void discriminate(const float* images01, int n_batch, float* scores) override;
  void classify(const float* images01, int n_batch, float* log_probs) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lsi
