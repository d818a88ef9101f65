// The tutorial's MLP discriminator on Eigen.
#include "engine/discriminator.h"

#include <cmath>

namespace lsi {

namespace {
const std::vector<std::string> kPrefixes = {"main.0", "main.3", "main.6", "main.9"};
const std::vector<int> kWidths = {784, 1024, 512, 256, 1};
}  // namespace

std::vector<TensorSpec> Discriminator::specs() { return LeakyMlp::specs(kPrefixes, kWidths); }

Discriminator Discriminator::load(const std::string& path) {
  Discriminator discriminator;
  discriminator.mlp_ = LeakyMlp::load(path, kPrefixes, kWidths);
  return discriminator;
}

void Discriminator::forward(const Eigen::Ref<const RowMatrix>& images, float* scores) const {
  RowMatrix logits;
  mlp_.forward(images, logits);
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    scores[i] = 1.0f / (1.0f + std::exp(-logits(i, 0)));
  }
}

}  // namespace lsi
