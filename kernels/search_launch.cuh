// Runs the device search's steps (see search_step.h) as CUDA kernels on a stream. Include this
// from .cu files only.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda_check.h"
#include "kernels/search_step.h"

namespace lsi::search {

namespace detail {

constexpr int kFlatThreads = 256;

template <typename Step>
__global__ void flat_step_kernel(Step step, long long n) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) step(i);
}

template <typename Step>
__global__ void __launch_bounds__(Step::kThreads) block_step_kernel(Step step) {
  extern __shared__ __align__(16) unsigned char shared[];
  int phase = 0;
  while (phase != kBlockDone) {
    const int next_phase = step(phase, static_cast<int>(blockIdx.x), static_cast<int>(threadIdx.x),
                                shared);
    __syncthreads();
    phase = next_phase;
  }
}

}  // namespace detail

class CudaExecutor {
 public:
  explicit CudaExecutor(cudaStream_t stream) : stream_(stream) {}

  template <typename Step>
  void run_flat(const Step& step, long long n) const {
    if (n <= 0) return;
    const long long n_blocks = (n + detail::kFlatThreads - 1) / detail::kFlatThreads;
    detail::flat_step_kernel<<<static_cast<unsigned>(n_blocks), detail::kFlatThreads, 0,
                               stream_>>>(step, n);
    LSI_CUDA_CHECK_LAUNCH(flat_step_kernel);
  }

  // Shared memory above the default 48 KB per block needs the kernel's opt-in, set on each call
  // because it is cheap and keeps the launcher free of state.
  template <typename Step>
  void run_blocks(const Step& step, int n_blocks) const {
    if (n_blocks <= 0) return;
    const size_t shared_bytes = step.shared_bytes();
    LSI_CUDA_CHECK(cudaFuncSetAttribute(detail::block_step_kernel<Step>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(shared_bytes)));
    detail::block_step_kernel<<<n_blocks, Step::kThreads, shared_bytes, stream_>>>(step);
    LSI_CUDA_CHECK_LAUNCH(block_step_kernel);
  }

  cudaStream_t stream() const { return stream_; }

 private:
  cudaStream_t stream_;
};

}  // namespace lsi::search
