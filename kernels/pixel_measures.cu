// Pixel measures on the GPU: one warp per image, float4 accesses, warp-shuffle reductions.
#include "kernels/pixel_measures.cuh"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/backend.h"
#include "kernels/cuda_check.h"

namespace lsi {

namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kThreadsPerBlock = kWarpsPerBlock * kWarpSize;
constexpr int kPixels4 = kPixels / 4;  // 196 float4 per image
static_assert(kPixels % 4 == 0, "an image must be a whole number of float4");

// One pixel: the [0, 1] value, and its share of boldness and of the bold sum. The per-pixel
// float operations are the CPU's, so images agree to within tanhf's few ulp. The bold sum is
// added in another order (per lane, then across lanes), so lightness differs by rounding.
__device__ __forceinline__ float image01_pixel(float logit, int& n_bold, float& bold_sum) {
  const float x = (tanhf(logit) + 1.0f) / 2.0f;
  if (x >= 0.5f) {
    ++n_bold;
    bold_sum += x;
  }
  return x;
}

// Grid: one warp per image, kWarpsPerBlock images per block. d_product4, d_images4 (B x P/4),
// d_bias4 (P/4), d_boldness, d_lightness (B).
__global__ void __launch_bounds__(kThreadsPerBlock)
    pixel_measures_kernel(const float4* __restrict__ d_product4,
                          const float4* __restrict__ d_bias4, int n_batch,
                          float4* __restrict__ d_images4, float* __restrict__ d_boldness,
                          float* __restrict__ d_lightness) {
  const int lane = threadIdx.x % kWarpSize;
  const int image = blockIdx.x * kWarpsPerBlock + threadIdx.x / kWarpSize;
  // The whole warp leaves together, and the kernel has no block-wide barrier.
  if (image >= n_batch) return;

  const float4* product = d_product4 + static_cast<size_t>(image) * kPixels4;
  float4* image01 = d_images4 + static_cast<size_t>(image) * kPixels4;
  int n_bold = 0;
  float bold_sum = 0.0f;
  for (int v = lane; v < kPixels4; v += kWarpSize) {
    const float4 p = product[v];
    const float4 b = d_bias4[v];
    float4 x;
    x.x = image01_pixel(p.x + b.x, n_bold, bold_sum);
    x.y = image01_pixel(p.y + b.y, n_bold, bold_sum);
    x.z = image01_pixel(p.z + b.z, n_bold, bold_sum);
    x.w = image01_pixel(p.w + b.w, n_bold, bold_sum);
    image01[v] = x;
  }

  // Butterfly reductions leave the totals in every lane.
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    n_bold += __shfl_xor_sync(0xffffffffu, n_bold, offset);
    bold_sum += __shfl_xor_sync(0xffffffffu, bold_sum, offset);
  }
  if (lane == 0) {
    d_boldness[image] = static_cast<float>(n_bold);
    d_lightness[image] = bold_sum / static_cast<float>(n_bold + 1);
  }
}

bool aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

}  // namespace

void pixel_measures(const float* d_product, const float* d_bias, int n_batch, float* d_images01,
                    float* d_boldness, float* d_lightness, cudaStream_t stream) {
  if (n_batch < 0) {
    throw std::invalid_argument("pixel_measures: n_batch must be >= 0, got " +
                                std::to_string(n_batch));
  }
  if (!aligned16(d_product) || !aligned16(d_bias) || !aligned16(d_images01)) {
    throw std::invalid_argument("pixel_measures: the product, bias and image pointers must be "
                                "16-byte aligned");
  }
  if (n_batch == 0) return;

  const int n_blocks = (n_batch + kWarpsPerBlock - 1) / kWarpsPerBlock;
  pixel_measures_kernel<<<n_blocks, kThreadsPerBlock, 0, stream>>>(
      reinterpret_cast<const float4*>(d_product), reinterpret_cast<const float4*>(d_bias),
      n_batch, reinterpret_cast<float4*>(d_images01), d_boldness, d_lightness);
  LSI_CUDA_CHECK_LAUNCH(pixel_measures_kernel);
}

}  // namespace lsi
