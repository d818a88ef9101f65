// The tutorial's MLP generator: 128 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2), Tanh.
//
// Shape legend: B batch, Z latent size (128), P pixels (784).
#pragma once

#include <string>
#include <vector>

#include "engine/leaky_mlp.h"

namespace lsi {

class Generator {
 public:
  // The state_dict tensors: main.0, main.2, main.4, main.6 (.weight, .bias).
  static std::vector<TensorSpec> specs();

  // Loads and checks a generator weight file; throws WeightFileError.
  static Generator load(const std::string& path);

  // Writes the last layer's pre-activation (B x P) for latents (B x Z). Its tanh is the image in
  // [-1, 1]; the caller applies it so that it can compute the measures in the same pass.
  void forward_logits(const Eigen::Ref<const RowMatrix>& latents, RowMatrix& logits,
                      LeakyMlp::Workspace& workspace) const {
    mlp_.forward(latents, logits, workspace);
  }

  // Writes images (B x P) in [-1, 1], as PyTorch's generator does.
  void forward(const Eigen::Ref<const RowMatrix>& latents, RowMatrix& images) const;

  const LeakyMlp& mlp() const { return mlp_; }
  const std::string& sha256() const { return mlp_.sha256(); }

 private:
  LeakyMlp mlp_;
};

}  // namespace lsi
