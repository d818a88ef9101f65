// Runs the device archive's steps (kernels/search_archive_steps.h) with CudaExecutor, for
// test_cuda_search_archive.cpp. All pointers in the views are device pointers.
#include <cuda_runtime.h>

#include "kernels/search_archive_steps.h"
#include "kernels/search_launch.cuh"

namespace lsi_test {

void clear_archive_on_device(const lsi::search::ArchiveView& archive, cudaStream_t stream) {
  lsi::search::clear_archive(lsi::search::CudaExecutor(stream), archive);
}

void add_batch_on_device(const lsi::search::ArchiveView& archive,
                         const lsi::search::BatchView& batch,
                         const lsi::search::AddResultView& result, cudaStream_t stream) {
  lsi::search::add_batch(lsi::search::CudaExecutor(stream), archive, batch, result);
}

}  // namespace lsi_test
