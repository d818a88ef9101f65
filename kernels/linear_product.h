// A linear layer's matrix product on cuBLAS, for row-major activations.
//
// Shape legend: B batch (rows).
#pragma once

#include <cublas_v2.h>

#include "kernels/device_weights.h"

namespace lsi {

// d_out (B x n_out) = alpha * d_in (B x n_in) * layer.weight_t (n_in x n_out), all row-major,
// without the bias. Runs on the handle's stream with the handle's math mode.
void linear_product(cublasHandle_t handle, const DeviceLinear& layer, const float* d_in,
                    int n_rows, float alpha, float* d_out);

}  // namespace lsi
