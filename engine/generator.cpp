// The tutorial's MLP generator on Eigen.
#include "engine/generator.h"

#include <cmath>

namespace lsi {

namespace {
const std::vector<std::string> kPrefixes = {"main.0", "main.2", "main.4", "main.6"};
const std::vector<int> kWidths = {128, 256, 512, 1024, 784};
}  // namespace

std::vector<TensorSpec> Generator::specs() { return LeakyMlp::specs(kPrefixes, kWidths); }

Generator Generator::load(const std::string& path) {
  Generator generator;
  generator.mlp_ = LeakyMlp::load(path, kPrefixes, kWidths);
  return generator;
}

void Generator::forward(const Eigen::Ref<const RowMatrix>& latents, RowMatrix& images) const {
  LeakyMlp::Workspace workspace;
  forward_logits(latents, images, workspace);
  images = images.unaryExpr([](float v) { return std::tanh(v); });
}

}  // namespace lsi
