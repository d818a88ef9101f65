// The evaluator on the CPU: Eigen for the products, OpenMP across the batch.
//
// Shape legend: B batch, Z latent size (128), P pixels (784), K classes (10).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/backend.h"
#include "engine/discriminator.h"
#include "engine/generator.h"
#include "engine/lenet5.h"
#include "engine/weight_paths.h"

namespace lsi {

class CpuBackend : public Backend {
 public:
  // Loads the networks named in `paths`; throws WeightFileError for a bad file.
  explicit CpuBackend(const WeightPaths& paths);

  std::string name() const override { return "cpu"; }
  void evaluate(const float* latents, int n_batch, int digit, Evaluation& out) override;
  void discriminate(const float* images01, int n_batch, float* scores) override;
  void classify(const float* images01, int n_batch, float* log_probs) override;

 private:
  // Evaluates rows [begin, end) of the batch; out is already sized.
  void evaluate_rows(const float* latents, int begin, int end, int digit, Evaluation& out) const;

  const Generator& generator() const;
  const Discriminator& discriminator() const;
  const LeNet5& lenet5() const;

  std::optional<Generator> generator_;
  std::optional<Discriminator> discriminator_;
  std::optional<LeNet5> lenet5_;
};

}  // namespace lsi
