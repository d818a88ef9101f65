// The CUDA evaluator's pipeline: the networks' weights on the device, a workspace sized in rows,
// and the launches for evaluate, discriminate and classify, all on one stream.
//
// Shape legend: B batch, Z latent size (128), P pixels (784), K classes (10).
#pragma once

#include <optional>
#include <vector>

#include <cuda_runtime.h>

#include "engine/backend.h"
#include "engine/weight_paths.h"
#include "kernels/cuda_handles.h"
#include "kernels/device_buffer.h"
#include "kernels/device_weights.h"
#include "kernels/math_precision.h"

namespace lsi {

class CudaEvaluator {
 public:
  // Loads the networks named in `paths` (an empty path leaves that network out) onto the current
  // device, which the caller has found usable. Batches of more than max_rows_per_chunk rows run
  // in chunks, which bounds the workspace: about 12 KB per row.
  CudaEvaluator(const WeightPaths& paths, MathPrecision precision, int max_rows_per_chunk);

  void set_precision(MathPrecision precision);
  MathPrecision precision() const { return precision_; }

  // The Backend operations on host arrays: copy in, run chunk by chunk, copy out, synchronise.
  // Arguments are checked by the caller (CudaBackend).
  void evaluate(const float* latents, int n_batch, int digit, Evaluation& out);
  void discriminate(const float* images01, int n_batch, float* scores);
  void classify(const float* images01, int n_batch, float* log_probs);

  // For benchmarks: grows the workspace to n_rows rows, then run_evaluate() evaluates the first
  // n_rows latents of d_latents() (capacity x Z) into the workspace, on stream(), with no copy
  // and no synchronisation.
  void reserve(int n_rows);
  float* d_latents() { return d_latents_.data(); }
  void run_evaluate(int n_rows, int digit);
  cudaStream_t stream() const { return stream_.get(); }

  // Where run_evaluate() writes its outputs (capacity rows each); valid until reserve() grows.
  const float* d_objectives_out() const { return d_scalars_.data(); }
  const float* d_boldness_out() const { return d_scalars_.data() + capacity_; }
  const float* d_lightness_out() const {
    return d_scalars_.data() + 2 * static_cast<size_t>(capacity_);
  }

 private:
  const DeviceMlp& generator() const;
  const DeviceMlp& discriminator() const;
  const DeviceLeNet5& lenet5() const;

  // Runs every layer of `mlp` on d_in (B x first width), each hidden layer followed by its bias
  // and LeakyReLU, and returns the workspace buffer that contains the last product (B x last width)
  // without its bias.
  float* run_mlp(const DeviceMlp& mlp, const float* d_in, int n_rows);
  // Returns the workspace buffer that contains the scores (B).
  const float* run_discriminate(int n_rows);
  void run_classify(int n_rows);
  void check_rows(int n_rows) const;

  // The workspace's per-quantity rows, B = capacity_: objectives, boldness, lightness.
  float* d_objectives() { return d_scalars_.data(); }
  float* d_boldness() { return d_scalars_.data() + capacity_; }
  float* d_lightness() { return d_scalars_.data() + 2 * static_cast<size_t>(capacity_); }

  MathPrecision precision_;
  int max_rows_per_chunk_;
  CudaStream stream_;
  CublasHandle cublas_;
  std::optional<DeviceMlp> generator_;
  std::optional<DeviceMlp> discriminator_;
  std::optional<DeviceLeNet5> lenet5_;

  int capacity_ = 0;      // rows that the workspace has room for
  int hidden_width_ = 0;  // the widest layer output of the two MLPs
  DeviceBuffer<float> d_latents_;    // capacity x Z
  DeviceBuffer<float> d_hidden_a_;   // capacity x hidden_width, ping-pong buffers for the MLPs
  DeviceBuffer<float> d_hidden_b_;   // capacity x hidden_width
  DeviceBuffer<float> d_images_;     // capacity x P, in [0, 1]
  DeviceBuffer<float> d_scalars_;    // 3 x capacity: objectives, boldness, lightness
  DeviceBuffer<float> d_log_probs_;  // capacity x K
  std::vector<float> host_scalars_;  // 3 x rows of one chunk, for a single device-to-host copy
};

}  // namespace lsi
