// Argument checks at the CUDA backend's public entries. They run before any CUDA call, so a bad
// argument is reported the same way with or without a GPU. Each throws std::invalid_argument
// that names the operation and the value.
#pragma once

namespace lsi {

// n_batch must be positive and `input` and `output` must not be null.
void check_batch_arguments(const char* operation, const void* input, int n_batch,
                           const void* output);

// digit must be in 0..9.
void check_digit(const char* operation, int digit);

// max_rows_per_chunk must be positive.
void check_max_rows_per_chunk(int max_rows_per_chunk);

}  // namespace lsi
