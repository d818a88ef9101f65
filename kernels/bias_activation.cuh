// A linear layer's bias and activation, fused into one pass over the product that cuBLAS wrote.
//
// Shape legend: B batch (rows), N layer width (columns). Matrices are row-major.
#pragma once

#include <cuda_runtime.h>

namespace lsi {

// d_values (B x N) = leaky_relu(d_values + d_bias, slope) in place, with d_bias (N).
// N must be a multiple of 4 and both pointers 16-byte aligned, for float4 accesses.
void bias_leaky_relu(float* d_values, const float* d_bias, int n_rows, int n_cols,
                     float negative_slope, cudaStream_t stream);

// d_values (B x N) = 1 / (1 + exp(-(d_values + d_bias))) in place, with d_bias (N).
void bias_sigmoid(float* d_values, const float* d_bias, int n_rows, int n_cols,
                  cudaStream_t stream);

}  // namespace lsi
