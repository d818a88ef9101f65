// The tutorial's LeNet-5: Conv(1->6, 5x5), MaxPool(2), ReLU, Conv(6->16, 5x5), MaxPool(2), ReLU,
// Flatten (16 x 4 x 4 = 256), Linear 256->120, ReLU, 120->84, ReLU, 84->10, LogSoftmax.
// Pooling comes before ReLU, as in the reference.
//
// Shape legend: B batch, P pixels (784), K classes (10).
#pragma once

#include <string>
#include <vector>

#include "engine/linear.h"

namespace lsi {

// The normalisation that the classifier was trained with: (x - mean) / std, x in [0, 1].
constexpr float kMnistMean = 0.1307f;
constexpr float kMnistStd = 0.3081f;

class LeNet5 {
 public:
  // Buffers of one forward pass, reused across calls to avoid allocations.
  struct Workspace {
    RowMatrix features;  // B x 256, pooled conv2 output in (y, x, channel) order
    RowMatrix hidden1;   // B x 120
    RowMatrix hidden2;   // B x 84
  };

  // The state_dict tensors: 0 and 3 (convolutions), 7, 9, 11 (linear), .weight and .bias.
  static std::vector<TensorSpec> specs();

  // Loads and checks a LeNet-5 weight file; throws WeightFileError.
  static LeNet5 load(const std::string& path);

  // Writes log-probabilities (B x K) for normalised images (B x P).
  void forward(const Eigen::Ref<const RowMatrix>& normalized, RowMatrix& log_probs,
               Workspace& workspace) const;
  void forward(const Eigen::Ref<const RowMatrix>& normalized, RowMatrix& log_probs) const;

  const std::string& sha256() const { return sha256_; }

 private:
  // Both convolutions and poolings of one image: normalized (P) -> features (256), in
  // (y, x, channel) order, which fc1's weight rows were permuted to match.
  void convolve(const float* normalized, float* features) const;

  std::vector<float> conv1_weight_;  // 6 x 25, PyTorch's (out, ky, kx) order
  std::vector<float> conv1_bias_;    // 6
  std::vector<float> conv2_weight_;  // 150 x 16: (in channel, ky, kx) x out channel
  std::vector<float> conv2_bias_;    // 16
  Linear fc1_, fc2_, fc3_;
  std::string sha256_;
};

}  // namespace lsi
