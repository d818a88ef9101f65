// A stack of linear layers with LeakyReLU(0.2) between them and no activation after the last:
// the shared body of the tutorial's generator and discriminator.
#pragma once

#include <string>
#include <vector>

#include "engine/linear.h"

namespace lsi {

class LeakyMlp {
 public:
  // The tensors of layers named `prefixes` (one per layer) with the given widths
  // (n_layers + 1 entries, input first).
  static std::vector<TensorSpec> specs(const std::vector<std::string>& prefixes,
                                       const std::vector<int>& widths);

  // Loads `path`, checks it against specs(prefixes, widths), and builds the layers.
  static LeakyMlp load(const std::string& path, const std::vector<std::string>& prefixes,
                       const std::vector<int>& widths);

  // Hidden activations of one forward pass, reused across calls to avoid allocations.
  struct Workspace {
    RowMatrix hidden_a;
    RowMatrix hidden_b;
  };

  // out (B x last width) = the last layer's pre-activation for in (B x first width).
  void forward(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out,
               Workspace& workspace) const;
  void forward(const Eigen::Ref<const RowMatrix>& in, RowMatrix& out) const;

  const std::vector<Linear>& layers() const { return layers_; }
  const std::string& sha256() const { return sha256_; }

 private:
  std::vector<Linear> layers_;
  std::string sha256_;
};

}  // namespace lsi
