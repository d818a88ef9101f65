// Runs the device eigendecomposition step (kernels/search_eigen_steps.h) with CudaExecutor, for
// test_cuda_search_eigen.cpp. All pointers in the view are device pointers.
#include <cuda_runtime.h>

#include "kernels/search_eigen_steps.h"
#include "kernels/search_launch.cuh"

namespace lsi_test {

void decompose_due_on_device(const lsi::search::EigenView& view, cudaStream_t stream) {
  lsi::search::decompose_due(lsi::search::CudaExecutor(stream), view);
}

}  // namespace lsi_test
