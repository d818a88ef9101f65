// Row-major products through column-major cuBLAS.
#include "kernels/linear_product.h"

#include "kernels/cuda_check.h"

namespace lsi {

void linear_product(cublasHandle_t handle, const DeviceLinear& layer, const float* d_in,
                    int n_rows, float alpha, float* d_out) {
  if (n_rows == 0) return;
  // cuBLAS reads a row-major R x C matrix as its column-major transpose (C x R), so the product
  // Y = X W_t is computed as Y^T (n_out x B) = W_t^T (n_out x n_in) * X^T (n_in x B), with each
  // leading dimension equal to the row-major width.
  const float beta = 0.0f;
  LSI_CUDA_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, layer.n_out, n_rows, layer.n_in,
                             &alpha, layer.weight_t.data(), layer.n_out, d_in, layer.n_in, &beta,
                             d_out, layer.n_out));
}

}  // namespace lsi
