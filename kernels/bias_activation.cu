// Bias plus activation after a cuBLAS product: one grid-stride pass per layer.
#include "kernels/bias_activation.cuh"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/cuda_check.h"

namespace lsi {

namespace {

constexpr int kThreadsPerBlock = 256;

// Grid-stride loops cover any size, so the grid only needs to fill the GPU several times over.
constexpr int kMaxBlocks = 1 << 16;

int blocks_for(int n_items) {
  return std::min(kMaxBlocks, (n_items + kThreadsPerBlock - 1) / kThreadsPerBlock);
}

// The CPU engine's LeakyReLU: v >= 0 ? v : v * slope.
__device__ __forceinline__ float leaky_relu(float v, float negative_slope) {
  return v >= 0.0f ? v : v * negative_slope;
}

// One thread per 4 values of a row. d_values4 (B x N/4), d_bias4 (N/4).
__global__ void bias_leaky_relu_kernel(float4* d_values4, const float4* d_bias4,
                                       int n_items, int n_cols4, float negative_slope) {
  const int stride = gridDim.x * blockDim.x;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n_items; i += stride) {
    const float4 b = d_bias4[i % n_cols4];
    float4 v = d_values4[i];
    v.x = leaky_relu(v.x + b.x, negative_slope);
    v.y = leaky_relu(v.y + b.y, negative_slope);
    v.z = leaky_relu(v.z + b.z, negative_slope);
    v.w = leaky_relu(v.w + b.w, negative_slope);
    d_values4[i] = v;
  }
}

// One thread per value. d_values (B x N), d_bias (N).
__global__ void bias_sigmoid_kernel(float* d_values, const float* d_bias, int n_items,
                                    int n_cols) {
  const int stride = gridDim.x * blockDim.x;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n_items; i += stride) {
    const float logit = d_values[i] + d_bias[i % n_cols];
    d_values[i] = 1.0f / (1.0f + expf(-logit));
  }
}

// The item count above which a grid-stride step could overflow the kernels' int index: about
// 2.1e9, far above the evaluator's chunks (67e6 at 65,536 rows of 1024).
constexpr int64_t kMaxItems =
    std::numeric_limits<int>::max() - int64_t{kMaxBlocks} * kThreadsPerBlock;

// Rejects a negative or empty shape, and one with more than kMaxItems items.
int checked_item_count(const char* op, int n_rows, int n_cols, int n_per_item) {
  const int64_t n_items = static_cast<int64_t>(n_rows) * (n_cols / n_per_item);
  if (n_rows < 0 || n_cols <= 0 || n_items > kMaxItems) {
    throw std::invalid_argument(std::string(op) + ": invalid shape " + std::to_string(n_rows) +
                                " x " + std::to_string(n_cols));
  }
  return static_cast<int>(n_items);
}

bool aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

}  // namespace

void bias_leaky_relu(float* d_values, const float* d_bias, int n_rows, int n_cols,
                     float negative_slope, cudaStream_t stream) {
  const int n_items = checked_item_count("bias_leaky_relu", n_rows, n_cols, 4);
  if (n_cols % 4 != 0 || !aligned16(d_values) || !aligned16(d_bias)) {
    throw std::invalid_argument("bias_leaky_relu: needs a width that is a multiple of 4 and "
                                "16-byte aligned pointers, got width " + std::to_string(n_cols));
  }
  const int n_cols4 = n_cols / 4;
  if (n_items == 0) return;
  bias_leaky_relu_kernel<<<blocks_for(n_items), kThreadsPerBlock, 0, stream>>>(
      reinterpret_cast<float4*>(d_values), reinterpret_cast<const float4*>(d_bias), n_items,
      n_cols4, negative_slope);
  LSI_CUDA_CHECK_LAUNCH(bias_leaky_relu_kernel);
}

void bias_sigmoid(float* d_values, const float* d_bias, int n_rows, int n_cols,
                  cudaStream_t stream) {
  const int n_items = checked_item_count("bias_sigmoid", n_rows, n_cols, 1);
  if (n_items == 0) return;
  bias_sigmoid_kernel<<<blocks_for(n_items), kThreadsPerBlock, 0, stream>>>(
      d_values, d_bias, n_items, n_cols);
  LSI_CUDA_CHECK_LAUNCH(bias_sigmoid_kernel);
}

}  // namespace lsi
