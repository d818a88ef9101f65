// LeNet-5 as one fused kernel: each block carries a tile of images through both convolutions,
// the three linear layers and the log-softmax in shared memory (the CUDA twin of
// engine/lenet5.h, with the same layer order: convolution, 2x2 max-pool, then ReLU).
//
// Shape legend: B batch, P pixels per image (784), K classes (10).
#pragma once

#include <cuda_runtime.h>

namespace lsi {

// The convolutions' weights and the input normalisation, passed to the kernel by value: kernel
// parameters live in the constant bank, so every backend's launch carries its own weights and
// reads them as broadcast operands. 10,296 bytes, under the 32,764-byte parameter limit of
// CUDA 12.1 and newer.
struct LeNet5ConvParams {
  float input_mean;                  // the classifier's normalisation: (x - mean) / std
  float input_std;
  float conv1_weight[6 * 1 * 5 * 5];  // PyTorch's layout: out x in x ky x kx
  float conv1_bias[6];
  float conv2_weight[16 * 6 * 5 * 5];
  float conv2_bias[16];
};

// The linear layers' device arrays, each weight transposed (in x out, row-major) so that
// threads computing neighbouring outputs read neighbouring addresses.
struct LeNet5LinearWeights {
  const float* d_fc1_weight_t;  // 256 x 120
  const float* d_fc1_bias;      // 120
  const float* d_fc2_weight_t;  // 120 x 84
  const float* d_fc2_bias;      // 84
  const float* d_fc3_weight_t;  // 84 x 10
  const float* d_fc3_bias;      // 10
};

// Classifies d_images01 (B x P, in [0, 1], 16-byte aligned), normalising each pixel as it is
// loaded. Writes d_log_probs (B x K) unless it is null, and d_objectives (B) = exp(log_prob of
// `digit`) unless it is null. `digit` must be in 0..9 when d_objectives is given.
void lenet5_forward(const LeNet5ConvParams& conv, const LeNet5LinearWeights& linear,
                    const float* d_images01, int n_batch, int digit, float* d_log_probs,
                    float* d_objectives, cudaStream_t stream);

// The LeNet-5 kernel's attributes for the current device. cudaErrorNoKernelImageForDevice (or
// cudaErrorInvalidDeviceFunction) means this build has no code that the device can run.
cudaError_t lenet5_kernel_attributes(cudaFuncAttributes* attributes);

}  // namespace lsi
