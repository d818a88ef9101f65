// The default generator makes digits that the pyribs tutorial's LeNet-5 reads: on 4,096
// standard-normal latents its mean top-class probability is at least 0.90, and every digit is
// the top class of at least 4 % of them.
//
// Usage: check_default_generator GENERATOR.safetensors PYRIBS_LENET5.safetensors
// Exits 0 when both hold, 1 when not, and 77 (reported as skipped) when the converted pyribs
// classifier is absent, because it is not part of the repository.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "engine/cpu_backend.h"
#include "qd/philox.h"

namespace {

constexpr int kLatents = 4096;
constexpr double kMinMeanTopProbability = 0.90;
constexpr double kMinShare = 0.04;
constexpr int kSkipped = 77;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s GENERATOR PYRIBS_LENET5\n", argv[0]);
    return 2;
  }
  if (!std::filesystem::exists(argv[2])) {
    std::printf("skipped: %s not found (classify_pyribs_lenet5 converts it from the pyribs "
                "tutorial's mnist_classifier.pth)\n",
                argv[2]);
    return kSkipped;
  }

  lsi::WeightPaths paths;
  paths.generator = argv[1];
  paths.lenet5 = argv[2];
  lsi::CpuBackend backend(paths);

  // Latents from our own counter-based stream, independent of the training's judge latents.
  lsi::qd::PhiloxStream stream(20261204, 0);
  std::vector<double> normal(static_cast<size_t>(kLatents) * lsi::kLatentDim);
  stream.fill_normal(normal.data(), static_cast<std::int64_t>(normal.size()));
  const std::vector<float> latents(normal.begin(), normal.end());

  lsi::Evaluation evaluation;
  backend.evaluate(latents.data(), kLatents, 0, evaluation);
  std::vector<float> log_probs(static_cast<size_t>(kLatents) * lsi::kClasses);
  backend.classify(evaluation.images.data(), kLatents, log_probs.data());

  double sum_top_probability = 0.0;
  std::vector<int> n_top(lsi::kClasses, 0);
  for (int i = 0; i < kLatents; ++i) {
    const float* row = log_probs.data() + static_cast<size_t>(i) * lsi::kClasses;
    const int top = static_cast<int>(std::max_element(row, row + lsi::kClasses) - row);
    sum_top_probability += std::exp(row[top]);
    ++n_top[top];
  }
  const double mean_top_probability = sum_top_probability / kLatents;
  bool ok = mean_top_probability >= kMinMeanTopProbability;
  std::printf("mean top-class probability: %.4f (at least %.2f)\n", mean_top_probability,
              kMinMeanTopProbability);
  for (int digit = 0; digit < lsi::kClasses; ++digit) {
    const double share = static_cast<double>(n_top[digit]) / kLatents;
    ok = ok && share >= kMinShare;
    std::printf("digit %d: top class of %.2f %% (at least %.0f %%)\n", digit, 100.0 * share,
                100.0 * kMinShare);
  }
  std::printf("%s\n", ok ? "default generator: ok" : "default generator: FAILED");
  return ok ? 0 : 1;
}
