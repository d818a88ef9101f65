// A LeakyReLU multilayer perceptron on Eigen.
#include "engine/leaky_mlp.h"

#include <stdexcept>

namespace lsi {

namespace {
constexpr float kLeakySlope = 0.2f;
}  // namespace

std::vector<TensorSpec> LeakyMlp::specs(const std::vector<std::string>& prefixes,
                                        const std::vector<int>& widths) {
  if (widths.size() != prefixes.size() + 1) {
    throw std::invalid_argument("LeakyMlp: need one more width than layer prefixes");
  }
  std::vector<TensorSpec> all;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    for (TensorSpec& spec : Linear::specs(prefixes[i], widths[i], widths[i + 1])) {
      all.push_back(std::move(spec));
    }
  }
  return all;
}

LeakyMlp LeakyMlp::load(const std::string& path, const std::vector<std::string>& prefixes,
                        const std::vector<int>& widths) {
  const WeightFile file = WeightFile::load(path, specs(prefixes, widths));
  LeakyMlp mlp;
  for (const std::string& prefix : prefixes) {
    mlp.layers_.push_back(Linear::from_file(file, prefix));
  }
  mlp.sha256_ = file.sha256();
  return mlp;
}

void LeakyMlp::forward(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out,
                       Workspace& workspace) const {
  const size_t n_layers = layers_.size();
  if (n_layers == 1) {
    layers_[0].forward(in, out);
    return;
  }
  layers_[0].forward_leaky_relu(in, workspace.hidden_a, kLeakySlope);
  for (size_t i = 1; i + 1 < n_layers; ++i) {
    layers_[i].forward_leaky_relu(workspace.hidden_a, workspace.hidden_b, kLeakySlope);
    workspace.hidden_a.swap(workspace.hidden_b);
  }
  layers_[n_layers - 1].forward(workspace.hidden_a, out);
}

void LeakyMlp::forward(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out) const {
  Workspace workspace;
  forward(in, out, workspace);
}

}  // namespace lsi
