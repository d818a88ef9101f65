// Owners of a CUDA stream, a cuBLAS handle and a CUDA event. Each frees its resource on
// destruction and cannot be copied.
#pragma once

#include <utility>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kernels/cuda_check.h"

namespace lsi {

// A non-blocking CUDA stream: it does not wait on the legacy default stream.
class CudaStream {
 public:
  CudaStream() { LSI_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() {
    if (stream_ != nullptr) LSI_CUDA_CHECK_LOG(cudaStreamDestroy(stream_));
  }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  CudaStream(CudaStream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&&) = delete;

  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// A cuBLAS handle bound to one stream.
class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream) {
    LSI_CUDA_CHECK(cublasCreate(&handle_));
    const cublasStatus_t status = cublasSetStream(handle_, stream);
    if (status != CUBLAS_STATUS_SUCCESS) {
      LSI_CUDA_CHECK_LOG(cublasDestroy(handle_));
      throw_cuda_error("cublasSetStream(handle_, stream)", __FILE__, __LINE__, status);
    }
  }
  ~CublasHandle() {
    if (handle_ != nullptr) LSI_CUDA_CHECK_LOG(cublasDestroy(handle_));
  }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  CublasHandle(CublasHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  CublasHandle& operator=(CublasHandle&&) = delete;

  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

// A CUDA event on a stream: for timing by default, or with cudaEventDisableTiming for ordering
// two streams only, which is cheaper to record and wait on.
class CudaEvent {
 public:
  explicit CudaEvent(unsigned int flags = cudaEventDefault) {
    LSI_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags));
  }
  ~CudaEvent() {
    if (event_ != nullptr) LSI_CUDA_CHECK_LOG(cudaEventDestroy(event_));
  }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace lsi
