// The evaluator on a CUDA GPU: cuBLAS for the linear layers, our own kernels for the rest.
//
// Shape legend: B batch, Z latent size (128), P pixels (784), K classes (10).
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/weight_paths.h"

namespace lsi {

// Returns whether a CUDA device can be used. When it cannot, `reason` (unless null) receives the
// cause in plain words. Never throws: a missing driver or device makes it return false.
bool cuda_device_usable(std::string* reason);

struct CudaOptions {
  // "fp32" (the CPU engine's arithmetic) or "tf32" (tensor cores for the generator's and
  // discriminator's products: faster, with a 10-bit mantissa on the products' inputs).
  std::string precision = "fp32";
  // Larger batches run in chunks of this many rows, which bounds the workspace in device memory
  // to about 12 KB per row of a chunk (780 MB at the default).
  int max_rows_per_chunk = 65536;
};

class CudaBackend : public Backend {
 public:
  // Loads the networks named in `paths` and copies them to the GPU. Throws std::runtime_error
  // when no CUDA device is usable, std::invalid_argument for bad options, and WeightFileError
  // for a bad weight file.
  explicit CudaBackend(const WeightPaths& paths, const CudaOptions& options = {});
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  void evaluate(const float* latents, int n_batch, int digit, Evaluation& out) override;
  void discriminate(const float* images01, int n_batch, float* scores) override;
  void classify(const float* images01, int n_batch, float* log_probs) override;

  // Switches the products between "fp32" and "tf32". Throws std::invalid_argument for any other.
  void set_precision(const std::string& precision);
  std::string precision() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lsi
