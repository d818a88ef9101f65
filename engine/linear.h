// A fully connected layer, y = x W^T + b, as PyTorch's nn.Linear stores it, with the bias and the
// activation applied in one pass after the product.
#pragma once

#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace lsi {

struct Linear {
  RowMatrix weight_t;       // in x out: PyTorch's weight (out x in), transposed once at load
  Eigen::RowVectorXf bias;  // out

  int n_in() const { return static_cast<int>(weight_t.rows()); }
  int n_out() const { return static_cast<int>(weight_t.cols()); }

  // The tensors "<prefix>.weight" (out x in) and "<prefix>.bias" (out) this layer needs.
  static std::vector<TensorSpec> specs(const std::string& prefix, int n_in, int n_out);

  // Builds the layer from a weight file already checked against specs().
  static Linear from_file(const WeightFile& file, const std::string& prefix);

  // out (B x out) = in (B x in) W^T + b, with no activation.
  void forward(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out) const;

  // out = LeakyReLU(in W^T + b) with the given negative slope.
  void forward_leaky_relu(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out,
                          float negative_slope) const;

  // out = ReLU(in W^T + b).
  void forward_relu(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out) const {
    forward_leaky_relu(in, out, 0.0f);
  }
};

}  // namespace lsi
