// A fully connected layer on Eigen.
#include "engine/linear.h"

namespace lsi {

std::vector<TensorSpec> Linear::specs(const std::string& prefix, int n_in, int n_out) {
  return {{prefix + ".weight", {n_out, n_in}}, {prefix + ".bias", {n_out}}};
}

Linear Linear::from_file(const WeightFile& file, const std::string& prefix) {
  const std::vector<float>& weight = file.values(prefix + ".weight");
  const std::vector<float>& bias = file.values(prefix + ".bias");
  const auto n_out = static_cast<Eigen::Index>(bias.size());
  const auto n_in = static_cast<Eigen::Index>(weight.size()) / n_out;

  Linear layer;
  layer.weight_t = ConstRowMatrixMap(weight.data(), n_out, n_in).transpose();
  layer.bias = Eigen::Map<const Eigen::RowVectorXf>(bias.data(), n_out);
  return layer;
}

void Linear::forward(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out) const {
  out.resize(in.rows(), n_out());
  out.noalias() = in * weight_t;
  out.rowwise() += bias;
}

void Linear::forward_leaky_relu(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out,
                                float negative_slope) const {
  out.resize(in.rows(), n_out());
  out.noalias() = in * weight_t;

  // Bias and activation in one pass over the product.
  const int n_cols = n_out();
  const float* b = bias.data();
  for (Eigen::Index r = 0; r < out.rows(); ++r) {
    float* row = out.row(r).data();
    for (int c = 0; c < n_cols; ++c) {
      const float v = row[c] + b[c];
      row[c] = v >= 0.0f ? v : v * negative_slope;
    }
  }
}

}  // namespace lsi
