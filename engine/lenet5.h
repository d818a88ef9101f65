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
  // The state_dict tensors: 0 and 3 (convolutions), 7, 9, 11 (linear), .weight and .bias.
  static std::vector<TensorSpec> specs();

  // Loads and checks a LeNet-5 weight file; throws WeightFileError.
  static LeNet5 load(const std::string& path);

  // Writes log-probabilities (B x K) for normalised images (B x P).
  void forward(const Eigen::Ref<const RowMatrix>& normalized, RowMatrix& log_probs) const;

  const std::string& sha256() const { return sha256_; }

 private:
  RowMatrix conv1_weight_t_;  // 25 x 6: (ky, kx) x out channel
  Eigen::RowVectorXf conv1_bias_;
  RowMatrix conv2_weight_t_;  // 150 x 16: (in channel, ky, kx) x out channel
  Eigen::RowVectorXf conv2_bias_;
  Linear fc1_, fc2_, fc3_;
  std::string sha256_;
};

}  // namespace lsi
