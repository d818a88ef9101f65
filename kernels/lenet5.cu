// LeNet-5 on the GPU: one block of 128 threads per tile of 8 images, every stage in shared
// memory (the stages and the shared-memory layout are in lenet5_stages.cuh).
#include "kernels/lenet5.cuh"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda_check.h"
#include "kernels/lenet5_stages.cuh"

namespace lsi {

namespace {

using namespace lenet5_stages;

// Grid: one block per tile of 8 images (the last tile may be partial). The stages of each
// block run in order with a barrier between them, and every thread reaches every barrier.
__global__ void __launch_bounds__(kThreads, 4)
    lenet5_kernel(const __grid_constant__ LeNet5ConvParams conv,
                  const __grid_constant__ LeNet5LinearWeights linear,
                  const __grid_constant__ LeNet5Batch batch) {
  extern __shared__ float4 shared4[];
LSI_UNROLL
  for (int stage = 0; stage < kNumStages; ++stage) {
    run_stage(stage, threadIdx.x, blockIdx.x, conv, linear, batch, shared4);
    if (stage + 1 < kNumStages) __syncthreads();
  }
}

}  // namespace

void lenet5_forward(const LeNet5ConvParams& conv, const LeNet5LinearWeights& linear,
                    const float* d_images01, int n_batch, int digit, float* d_log_probs,
                    float* d_objectives, cudaStream_t stream) {
  if (n_batch < 0) {
    throw std::invalid_argument("lenet5_forward: n_batch must be >= 0, got " +
                                std::to_string(n_batch));
  }
  if (d_objectives != nullptr && (digit < 0 || digit >= kClasses)) {
    throw std::invalid_argument("lenet5_forward: digit must be in 0..9, got " +
                                std::to_string(digit));
  }
  if (reinterpret_cast<uintptr_t>(d_images01) % 16 != 0) {
    throw std::invalid_argument("lenet5_forward: the image pointer must be 16-byte aligned");
  }
  if (n_batch == 0) return;

  // Over 48 KB of dynamic shared memory needs this opt-in. It is a cheap host-side call, made on
  // every launch so that it applies to whichever device is current.
  LSI_CUDA_CHECK(cudaFuncSetAttribute(lenet5_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(kSharedBytes)));
  const int n_blocks = (n_batch + kTile - 1) / kTile;
  const LeNet5Batch batch{d_images01, n_batch, digit, d_log_probs, d_objectives};
  lenet5_kernel<<<n_blocks, kThreads, kSharedBytes, stream>>>(conv, linear, batch);
  LSI_CUDA_CHECK_LAUNCH(lenet5_kernel);
}

cudaError_t lenet5_kernel_attributes(cudaFuncAttributes* attributes) {
  return cudaFuncGetAttributes(attributes, lenet5_kernel);
}

}  // namespace lsi
