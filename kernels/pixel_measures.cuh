// The generator's last step fused with the measures: bias, tanh, the [0, 1] image, boldness and
// lightness in one pass over the pixels (the CUDA twin of engine/pixel_measures.h). LeNet-5's
// normalised input is not written here: the LeNet-5 kernel normalises each pixel as it loads
// the image, which saves a write and a read of B x P floats and serves classify() too.
//
// Shape legend: B batch, P pixels per image (784).
#pragma once

#include <cuda_runtime.h>

namespace lsi {

// For each image b, with logit = d_product[b] + d_bias:
//   d_images01[b] (P) = (tanh(logit) + 1) / 2,
//   d_boldness[b] = the number of pixels >= 0.5,
//   d_lightness[b] = (sum of those pixels) / (boldness + 1).
// d_product (B x P) is the last layer's product without its bias and d_bias (P) that bias. All
// pointers must be 16-byte aligned for float4 accesses, as cudaMalloc's are.
void pixel_measures(const float* d_product, const float* d_bias, int n_batch, float* d_images01,
                    float* d_boldness, float* d_lightness, cudaStream_t stream);

}  // namespace lsi
