// The three networks' weights on the GPU, in the layouts that cuBLAS and our kernels read.
// Loading goes through the engine's safetensors loader, so every check of the CPU path applies.
#pragma once

#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "kernels/device_buffer.h"
#include "kernels/lenet5.cuh"

namespace lsi {

// One linear layer, y = x W^T + b, on the host in the device layout.
struct HostLinear {
  int n_in = 0;
  int n_out = 0;
  std::vector<float> weight_t;  // n_in x n_out, row-major: PyTorch's weight transposed
  std::vector<float> bias;      // n_out
};

// LeNet-5 on the host in the device layout.
struct HostLeNet5 {
  LeNet5ConvParams conv{};
  HostLinear fc1, fc2, fc3;

  // Host pointers into fc1..fc3, in the struct the kernel takes.
  LeNet5LinearWeights linear_weights() const;
};

// One linear layer, y = x W^T + b.
struct DeviceLinear {
  int n_in = 0;
  int n_out = 0;
  DeviceBuffer<float> weight_t;  // n_in x n_out, row-major: PyTorch's weight transposed
  DeviceBuffer<float> bias;      // n_out
};

// The generator's or discriminator's layers. The first product is scaled by first_alpha. The
// discriminator's input is 2x - 1 for an image x in [0, 1], and W(2x - 1) + b = 2(Wx) + (b - W 1),
// so its first layer takes x with alpha 2 and the bias b - W 1 folded in at load time.
struct DeviceMlp {
  std::vector<DeviceLinear> layers;
  float first_alpha = 1.0f;
};

struct DeviceLeNet5 {
  LeNet5ConvParams conv{};  // on the host: it travels with each launch as a kernel parameter
  DeviceLinear fc1, fc2, fc3;

  LeNet5LinearWeights linear_weights() const;
};

// Loads a LeNet-5 weight file into the device layout, on the host. Throws WeightFileError.
HostLeNet5 load_lenet5_host(const std::string& path);

// Each loads a weight file, throwing WeightFileError for a bad one, and copies it to the device
// with stream-ordered copies on `stream`. The caller synchronises the stream before using it.
DeviceMlp upload_generator(const std::string& path, cudaStream_t stream);
DeviceMlp upload_discriminator(const std::string& path, cudaStream_t stream);
DeviceLeNet5 upload_lenet5(const std::string& path, cudaStream_t stream);

}  // namespace lsi
