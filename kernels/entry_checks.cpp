// Argument checks at the CUDA backend's public entries.
#include "kernels/entry_checks.h"

#include <stdexcept>
#include <string>

#include "engine/backend.h"

namespace lsi {

void check_batch_arguments(const char* operation, const void* input, int n_batch,
                           const void* output) {
  if (n_batch <= 0) {
    throw std::invalid_argument(std::string(operation) + ": n_batch must be positive, got " +
                                std::to_string(n_batch));
  }
  if (input == nullptr) {
    throw std::invalid_argument(std::string(operation) + ": the input pointer is null");
  }
  if (output == nullptr) {
    throw std::invalid_argument(std::string(operation) + ": the output pointer is null");
  }
}

void check_digit(const char* operation, int digit) {
  if (digit < 0 || digit >= kClasses) {
    throw std::invalid_argument(std::string(operation) + ": digit must be in 0..9, got " +
                                std::to_string(digit));
  }
}

void check_max_rows_per_chunk(int max_rows_per_chunk) {
  if (max_rows_per_chunk <= 0) {
    throw std::invalid_argument("CudaBackend: max_rows_per_chunk must be positive, got " +
                                std::to_string(max_rows_per_chunk));
  }
}

}  // namespace lsi
