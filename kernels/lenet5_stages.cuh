// The stages of the LeNet-5 kernel (lenet5.cu): each function is one thread's share of one
// block's work between two barriers. They are __host__ __device__, so a test can run a block's
// threads one after another on the CPU, stage by stage, and check this index math without a GPU.
// Pointers are device pointers in the kernel and host pointers in that test.
//
// A block of 128 threads carries a tile of 8 images through the whole network in shared memory,
// which holds two regions that the stages use in turn:
//   A: the normalised input (8 x 784)  ->  conv2 features, transposed (256 x 8)  ->  fc2 (84 x 8)
//   B: conv1 after pooling (8 x 6 x 12 x 12)  ->  fc1 (120 x 8)  ->  logits (10 x 8)
// A barrier separates the stages, so a stage never overwrites what the stage before still reads.
// The linear layers keep activations transposed (feature x image), so one thread computes one
// output for all 8 images from a single weight load and two float4 broadcast reads per input.
//
// Shape legend: B batch, P pixels per image (784), K classes (10).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "engine/backend.h"
#include "kernels/lenet5.cuh"

#define LSI_HOST_DEVICE_INLINE __host__ __device__ __forceinline__

// Unrolling hints for the device pass only: the host compiler does not know "#pragma unroll".
#if defined(__CUDA_ARCH__)
#define LSI_UNROLL _Pragma("unroll")
#define LSI_UNROLL_4 _Pragma("unroll 4")
#define LSI_NO_UNROLL _Pragma("unroll 1")
#else
#define LSI_UNROLL
#define LSI_UNROLL_4
#define LSI_NO_UNROLL
#endif

namespace lsi {
namespace lenet5_stages {

constexpr int kKernel = 5;
constexpr int kKernelArea = kKernel * kKernel;
constexpr int kConv1Out = 6;
constexpr int kPool1Side = 12;  // (28 - 5 + 1) / 2
constexpr int kPool1Area = kPool1Side * kPool1Side;
constexpr int kConv2Out = 16;
constexpr int kConv2In = kConv1Out;
constexpr int kPool2Side = 4;   // (12 - 5 + 1) / 2
constexpr int kPool2Area = kPool2Side * kPool2Side;
constexpr int kFlat = kConv2Out * kPool2Area;  // 256
constexpr int kHidden1 = 120;
constexpr int kHidden2 = 84;

// A pooled output reads a 6 x 6 input patch: its 2 x 2 convolution outputs span 5 + 1 rows.
constexpr int kPatch = kKernel + 1;

constexpr int kTile = 8;                         // images per block
constexpr int kThreads = kTile * kPool2Area;     // 128: one per (image, pooled conv2 position)
constexpr int kConv2Group = 8;                   // conv2 output channels per pass, for registers
constexpr int kInputFloats = kTile * kPixels;    // region A
// The stride of one image's pooled conv1 output is odd so that the two images that a warp reads
// in conv2 fall in different banks (6 x 144 = 864 is a multiple of 32).
constexpr int kPool1Stride = kConv1Out * kPool1Area + 1;
constexpr int kPool1Floats = kTile * kPool1Stride;  // region B
constexpr size_t kSharedBytes = (kInputFloats + kPool1Floats) * sizeof(float);  // 52,768

// The stages in the order the kernel runs them, with a barrier after each but the last.
enum Stage : int {
  kLoadInput,
  kConv1,
  kConv2,
  kFc1,
  kFc2,
  kFc3,
  kLogSoftmax,
  kNumStages,
};

static_assert(kTile == 8, "the linear layers read each input row as two float4");
static_assert(kPixels % 4 == 0 && kInputFloats % 4 == 0, "region B must stay 16-byte aligned");
static_assert(kFlat * kTile <= kInputFloats && kHidden2 * kTile <= kInputFloats,
              "conv2 features and fc2 outputs must fit in region A");
static_assert(kHidden1 * kTile <= kPool1Floats && kClasses * kTile <= kPool1Floats,
              "fc1 outputs and logits must fit in region B");
static_assert(kConv2Out % kConv2Group == 0, "conv2 channels must split into whole groups");
static_assert(sizeof(LeNet5ConvParams) <= 32764, "kernel parameters are limited to 32,764 bytes");

LSI_HOST_DEVICE_INLINE float max4(float a, float b, float c, float d) {
  return fmaxf(fmaxf(a, b), fmaxf(c, d));
}

// The CPU's order: add the bias to each of the 2 x 2 convolution outputs, max-pool, then ReLU.
LSI_HOST_DEVICE_INLINE float pool_relu(const float (&acc)[2][2], float bias) {
  const float pooled = max4(acc[0][0] + bias, acc[0][1] + bias, acc[1][0] + bias,
                            acc[1][1] + bias);
  return fmaxf(pooled, 0.0f);
}

// Region A (8 x 784) = (x - mean) / std for the tile's images. Images past the batch are zeros,
// computed like the others but never stored. tile4 (n_valid x 196) may end the batch.
LSI_HOST_DEVICE_INLINE void load_normalized_tile(int thread, const LeNet5ConvParams& conv,
                                                 const float4* __restrict__ tile4, int n_valid,
                                                 float4* region_a4) {
  const int n_valid4 = n_valid * (kPixels / 4);
  for (int i = thread; i < kInputFloats / 4; i += kThreads) {
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (i < n_valid4) {
      v = tile4[i];
      v.x = (v.x - conv.input_mean) / conv.input_std;
      v.y = (v.y - conv.input_mean) / conv.input_std;
      v.z = (v.z - conv.input_mean) / conv.input_std;
      v.w = (v.w - conv.input_mean) / conv.input_std;
    }
    region_a4[i] = v;
  }
}

// Region B (8 x [6 x 12 x 12], image stride kPool1Stride) = relu(maxpool(conv1(region A))).
// One thread per (image, pooled position) computes all 6 channels from one 6 x 6 patch, so a
// warp reads each weight at the same address: a constant-bank broadcast.
LSI_HOST_DEVICE_INLINE void conv1_pool_relu(int thread, const LeNet5ConvParams& conv,
                                            const float* region_a, float* region_b) {
LSI_NO_UNROLL
  for (int item = thread; item < kTile * kPool1Area; item += kThreads) {
    const int image = item / kPool1Area;
    const int pos = item - image * kPool1Area;
    const int py = pos / kPool1Side;
    const int px = pos - py * kPool1Side;

    const float* in = region_a + image * kPixels + 2 * py * kImageSide + 2 * px;
    float patch[kPatch][kPatch];
LSI_UNROLL
    for (int r = 0; r < kPatch; ++r) {
LSI_UNROLL
      for (int s = 0; s < kPatch; ++s) patch[r][s] = in[r * kImageSide + s];
    }

    float* out = region_b + image * kPool1Stride + pos;
LSI_UNROLL
    for (int c = 0; c < kConv1Out; ++c) {
      float acc[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}};
LSI_UNROLL
      for (int ky = 0; ky < kKernel; ++ky) {
LSI_UNROLL
        for (int kx = 0; kx < kKernel; ++kx) {
          const float w = conv.conv1_weight[c * kKernelArea + ky * kKernel + kx];
LSI_UNROLL
          for (int dy = 0; dy < 2; ++dy) {
LSI_UNROLL
            for (int dx = 0; dx < 2; ++dx) acc[dy][dx] += patch[dy + ky][dx + kx] * w;
          }
        }
      }
      out[c * kPool1Area] = pool_relu(acc, conv.conv1_bias[c]);
    }
  }
}

// Region A (256 x 8: flattened feature x image) = relu(maxpool(conv2(region B))), flattened in
// PyTorch's (channel, y, x) order. Thread t computes image t / 16 at pooled position t % 16 for
// all 16 channels, kConv2Group at a time, summing over (in channel, ky, kx) as the CPU does.
LSI_HOST_DEVICE_INLINE void conv2_pool_relu(int thread, const LeNet5ConvParams& conv,
                                            const float* region_b, float* region_a) {
  const int image = thread / kPool2Area;
  const int pos = thread % kPool2Area;
  const int py = pos / kPool2Side;
  const int px = pos % kPool2Side;
  const float* in = region_b + image * kPool1Stride + 2 * py * kPool1Side + 2 * px;

LSI_NO_UNROLL
  for (int group = 0; group < kConv2Out / kConv2Group; ++group) {
    float acc[kConv2Group][2][2];
LSI_UNROLL
    for (int o = 0; o < kConv2Group; ++o) {
      acc[o][0][0] = acc[o][0][1] = acc[o][1][0] = acc[o][1][1] = 0.0f;
    }

LSI_NO_UNROLL
    for (int ic = 0; ic < kConv2In; ++ic) {
      float patch[kPatch][kPatch];
LSI_UNROLL
      for (int r = 0; r < kPatch; ++r) {
LSI_UNROLL
        for (int s = 0; s < kPatch; ++s) {
          patch[r][s] = in[ic * kPool1Area + r * kPool1Side + s];
        }
      }
      // conv2_weight[oc][ic][ky][kx] with oc = group * kConv2Group + o.
      const int weight_base = (group * kConv2Group * kConv2In + ic) * kKernelArea;
LSI_UNROLL
      for (int o = 0; o < kConv2Group; ++o) {
LSI_UNROLL
        for (int ky = 0; ky < kKernel; ++ky) {
LSI_UNROLL
          for (int kx = 0; kx < kKernel; ++kx) {
            const float w = conv.conv2_weight[weight_base + o * kConv2In * kKernelArea +
                                              ky * kKernel + kx];
LSI_UNROLL
            for (int dy = 0; dy < 2; ++dy) {
LSI_UNROLL
              for (int dx = 0; dx < 2; ++dx) acc[o][dy][dx] += patch[dy + ky][dx + kx] * w;
            }
          }
        }
      }
    }

LSI_UNROLL
    for (int o = 0; o < kConv2Group; ++o) {
      const int oc = group * kConv2Group + o;
      region_a[(oc * kPool2Area + pos) * kTile + image] = pool_relu(acc[o], conv.conv2_bias[oc]);
    }
  }
}

// out_t (kOut x 8) = in_t (kIn x 8) as rows of weight_t (kIn x kOut) plus bias, then ReLU if
// kRelu: thread j computes output j for all 8 images. The bias is added after the sum, as on the
// CPU. weight_t is row-major, so a warp's weight loads are coalesced.
template <int kIn, int kOut, bool kRelu>
LSI_HOST_DEVICE_INLINE void dense_tile(int thread, const float* __restrict__ weight_t,
                                       const float* __restrict__ bias, const float* in_t,
                                       float* out_t) {
  for (int j = thread; j < kOut; j += kThreads) {
    float acc[kTile];
LSI_UNROLL
    for (int i = 0; i < kTile; ++i) acc[i] = 0.0f;

LSI_UNROLL_4
    for (int k = 0; k < kIn; ++k) {
      const float w = weight_t[k * kOut + j];
      const float4 lo = reinterpret_cast<const float4*>(in_t + k * kTile)[0];
      const float4 hi = reinterpret_cast<const float4*>(in_t + k * kTile)[1];
      acc[0] += lo.x * w;
      acc[1] += lo.y * w;
      acc[2] += lo.z * w;
      acc[3] += lo.w * w;
      acc[4] += hi.x * w;
      acc[5] += hi.y * w;
      acc[6] += hi.z * w;
      acc[7] += hi.w * w;
    }

    const float b = bias[j];
LSI_UNROLL
    for (int i = 0; i < kTile; ++i) {
      const float v = acc[i] + b;
      out_t[j * kTile + i] = kRelu ? fmaxf(v, 0.0f) : v;
    }
  }
}

// A numerically stable log-softmax of one image's logits (column `image` of logits_t, K x 8),
// as the CPU computes it: logit - (max + log(sum(exp(logit - max)))). Writes row `row` of
// log_probs (B x K) and objectives (B) = exp(log_prob of `digit`), each unless it is null.
LSI_HOST_DEVICE_INLINE void log_softmax_store(const float* logits_t, int image, size_t row,
                                              int digit, float* __restrict__ log_probs,
                                              float* __restrict__ objectives) {
  float logit[kClasses];
  float max_logit = logits_t[image];
LSI_UNROLL
  for (int c = 0; c < kClasses; ++c) {
    logit[c] = logits_t[c * kTile + image];
    max_logit = fmaxf(max_logit, logit[c]);
  }
  float sum = 0.0f;
LSI_UNROLL
  for (int c = 0; c < kClasses; ++c) sum += expf(logit[c] - max_logit);
  const float shift = max_logit + logf(sum);

  // The digit is selected inside the unrolled loop: indexing logit[] with it would move the
  // array to local memory.
  float digit_log_prob = 0.0f;
LSI_UNROLL
  for (int c = 0; c < kClasses; ++c) {
    const float log_prob = logit[c] - shift;
    if (log_probs != nullptr) log_probs[row * kClasses + c] = log_prob;
    if (c == digit) digit_log_prob = log_prob;
  }
  if (objectives != nullptr) objectives[row] = expf(digit_log_prob);
}

// The arguments of one launch: images01 (B x P, in [0, 1]), log_probs (B x K) or null,
// objectives (B) or null.
struct LeNet5Batch {
  const float* images01;
  int n_batch;
  int digit;
  float* log_probs;
  float* objectives;
};

// Runs `stage` for thread `thread` of block `block`, whose shared memory is shared4
// (kSharedBytes). The stages must run in order, with a barrier between two of them.
LSI_HOST_DEVICE_INLINE void run_stage(int stage, int thread, int block,
                                      const LeNet5ConvParams& conv,
                                      const LeNet5LinearWeights& linear, const LeNet5Batch& batch,
                                      float4* shared4) {
  float* region_a = reinterpret_cast<float*>(shared4);
  float* region_b = region_a + kInputFloats;
  const int tile_start = block * kTile;
  const int n_valid = batch.n_batch - tile_start < kTile ? batch.n_batch - tile_start : kTile;

  switch (stage) {
    case kLoadInput: {
      const auto* tile4 = reinterpret_cast<const float4*>(
          batch.images01 + static_cast<size_t>(tile_start) * kPixels);
      load_normalized_tile(thread, conv, tile4, n_valid, shared4);
      break;
    }
    case kConv1:
      conv1_pool_relu(thread, conv, region_a, region_b);
      break;
    case kConv2:
      conv2_pool_relu(thread, conv, region_b, region_a);
      break;
    case kFc1:
      dense_tile<kFlat, kHidden1, true>(thread, linear.d_fc1_weight_t, linear.d_fc1_bias,
                                        region_a, region_b);
      break;
    case kFc2:
      dense_tile<kHidden1, kHidden2, true>(thread, linear.d_fc2_weight_t, linear.d_fc2_bias,
                                           region_b, region_a);
      break;
    case kFc3:
      dense_tile<kHidden2, kClasses, false>(thread, linear.d_fc3_weight_t, linear.d_fc3_bias,
                                            region_a, region_b);
      break;
    case kLogSoftmax:
      if (thread < n_valid) {
        log_softmax_store(region_b, thread, static_cast<size_t>(tile_start) + thread,
                          batch.digit, batch.log_probs, batch.objectives);
      }
      break;
    default:
      break;
  }
}

}  // namespace lenet5_stages
}  // namespace lsi
