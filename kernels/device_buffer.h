// An owner of device memory: it frees the memory on destruction and can be moved, not copied.
#pragma once

#include <cstddef>
#include <utility>

#include <cuda_runtime.h>

#include "kernels/cuda_check.h"

namespace lsi {

// An array of n_elements values of T in device memory (cudaMalloc, so 256-byte aligned).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n_elements) { allocate(n_elements); }
  ~DeviceBuffer() { release(); }

  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : d_data_(std::exchange(other.d_data_, nullptr)),
        n_elements_(std::exchange(other.n_elements_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      d_data_ = std::exchange(other.d_data_, nullptr);
      n_elements_ = std::exchange(other.n_elements_, 0);
    }
    return *this;
  }

  T* data() { return d_data_; }
  const T* data() const { return d_data_; }
  size_t size() const { return n_elements_; }
  size_t size_bytes() const { return n_elements_ * sizeof(T); }

  // Grows the buffer to at least n_elements, losing the old contents when it grows.
  void reserve(size_t n_elements) {
    if (n_elements > n_elements_) {
      release();
      allocate(n_elements);
    }
  }

  // Copies n_elements host values into the start of the buffer, stream-ordered.
  void upload(const T* host, size_t n_elements, cudaStream_t stream) {
    reserve(n_elements);
    LSI_CUDA_CHECK(cudaMemcpyAsync(d_data_, host, n_elements * sizeof(T),
                                   cudaMemcpyHostToDevice, stream));
  }

 private:
  void allocate(size_t n_elements) {
    if (n_elements == 0) return;
    void* d_raw = nullptr;
    LSI_CUDA_CHECK(cudaMalloc(&d_raw, n_elements * sizeof(T)));
    d_data_ = static_cast<T*>(d_raw);
    n_elements_ = n_elements;
  }

  void release() {
    if (d_data_ != nullptr) LSI_CUDA_CHECK_LOG(cudaFree(d_data_));
    d_data_ = nullptr;
    n_elements_ = 0;
  }

  T* d_data_ = nullptr;
  size_t n_elements_ = 0;
};

}  // namespace lsi
