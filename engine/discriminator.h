// The tutorial's MLP discriminator: 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2), Sigmoid.
// Inference only, so its dropout layers are the identity.
//
// Shape legend: B batch, P pixels (784).
#pragma once

#include <string>
#include <vector>

#include "engine/leaky_mlp.h"

namespace lsi {

class Discriminator {
 public:
  // The state_dict tensors: main.0, main.3, main.6, main.9 (.weight, .bias).
  static std::vector<TensorSpec> specs();

  // Loads and checks a discriminator weight file; throws WeightFileError.
  static Discriminator load(const std::string& path);

  // Writes the probability (B) that each image (B x P, in [-1, 1]) is real.
  void forward(const Eigen::Ref<const RowMatrix>& images, float* scores) const;

  const std::string& sha256() const { return mlp_.sha256(); }

 private:
  LeakyMlp mlp_;
};

}  // namespace lsi
