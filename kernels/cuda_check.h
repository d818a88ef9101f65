// One family of checks for CUDA runtime and cuBLAS calls.
//
// LSI_CUDA_CHECK(statement) runs a statement that returns cudaError_t or cublasStatus_t and, on
// failure, throws std::runtime_error naming the statement, file:line, the status name and the
// library's error string. LSI_CUDA_CHECK_LOG is its twin for destructors: it writes the same
// message to stderr and goes on. LSI_CUDA_CHECK_LAUNCH(kernel) checks the launch that
// was just made, inside each launcher.
//
// These headers are plain C++ (no device code), so .cpp files and tests can include them.
#pragma once

#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace lsi {

inline bool cuda_status_ok(cudaError_t status) { return status == cudaSuccess; }
inline bool cuda_status_ok(cublasStatus_t status) { return status == CUBLAS_STATUS_SUCCESS; }

// "cudaErrorMemoryAllocation (out of memory)", from the library's own name and string tables.
std::string describe_cuda_status(cudaError_t status);
std::string describe_cuda_status(cublasStatus_t status);

// "CUDA error: `statement` failed at file:line: description". The file is shown relative to the
// source tree when it lies inside it.
std::string format_cuda_error(const char* library, const char* statement, const char* file,
                              int line, const std::string& description);

[[noreturn]] void throw_cuda_error(const char* statement, const char* file, int line,
                                   cudaError_t status);
[[noreturn]] void throw_cuda_error(const char* statement, const char* file, int line,
                                   cublasStatus_t status);

// Writes the message to stderr, for destructors, which must not throw.
void log_cuda_error(const char* statement, const char* file, int line, cudaError_t status);
void log_cuda_error(const char* statement, const char* file, int line, cublasStatus_t status);

}  // namespace lsi

#define LSI_CUDA_CHECK(statement)                                        \
  do {                                                                   \
    const auto lsi_cuda_status_ = (statement);                           \
    if (!::lsi::cuda_status_ok(lsi_cuda_status_)) {                      \
      ::lsi::throw_cuda_error(#statement, __FILE__, __LINE__, lsi_cuda_status_); \
    }                                                                    \
  } while (0)

#define LSI_CUDA_CHECK_LOG(statement)                                    \
  do {                                                                   \
    const auto lsi_cuda_status_ = (statement);                           \
    if (!::lsi::cuda_status_ok(lsi_cuda_status_)) {                      \
      ::lsi::log_cuda_error(#statement, __FILE__, __LINE__, lsi_cuda_status_); \
    }                                                                    \
  } while (0)

// cudaGetLastError() reports (and clears) a bad launch configuration. Faults inside the kernel
// surface at the next synchronising call.
#define LSI_CUDA_CHECK_LAUNCH(kernel)                                    \
  do {                                                                   \
    const cudaError_t lsi_cuda_status_ = cudaGetLastError();             \
    if (lsi_cuda_status_ != cudaSuccess) {                               \
      ::lsi::throw_cuda_error("launch of " #kernel, __FILE__, __LINE__, lsi_cuda_status_); \
    }                                                                    \
  } while (0)
