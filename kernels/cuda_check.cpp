// Messages for failed CUDA runtime and cuBLAS calls.
#include "kernels/cuda_check.h"

#include <cstring>
#include <iostream>
#include <stdexcept>

namespace lsi {

namespace {

// Strips the source tree's prefix so that messages show "kernels/lenet5.cu", not a long path.
const char* path_in_source_tree(const char* file) {
#ifdef LSI_SOURCE_DIR
  const size_t n_prefix = std::strlen(LSI_SOURCE_DIR);
  if (std::strncmp(file, LSI_SOURCE_DIR, n_prefix) == 0 && file[n_prefix] == '/') {
    return file + n_prefix + 1;
  }
#endif
  return file;
}

std::string status_message(const char* statement, const char* file, int line,
                           cudaError_t status) {
  return format_cuda_error("CUDA", statement, file, line, describe_cuda_status(status));
}

std::string status_message(const char* statement, const char* file, int line,
                           cublasStatus_t status) {
  return format_cuda_error("cuBLAS", statement, file, line, describe_cuda_status(status));
}

}  // namespace

std::string describe_cuda_status(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

std::string describe_cuda_status(cublasStatus_t status) {
  return std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")";
}

std::string format_cuda_error(const char* library, const char* statement, const char* file,
                              int line, const std::string& description) {
  return std::string(library) + " error: `" + statement + "` failed at " +
         path_in_source_tree(file) + ":" + std::to_string(line) + ": " + description;
}

void throw_cuda_error(const char* statement, const char* file, int line, cudaError_t status) {
  throw std::runtime_error(status_message(statement, file, line, status));
}

void throw_cuda_error(const char* statement, const char* file, int line, cublasStatus_t status) {
  throw std::runtime_error(status_message(statement, file, line, status));
}

void log_cuda_error(const char* statement, const char* file, int line, cudaError_t status) {
  std::cerr << "lsi-cuda: " << status_message(statement, file, line, status) << "\n";
}

void log_cuda_error(const char* statement, const char* file, int line, cublasStatus_t status) {
  std::cerr << "lsi-cuda: " << status_message(statement, file, line, status) << "\n";
}

}  // namespace lsi
