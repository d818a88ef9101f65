// The CPU engine against PyTorch: tests/data/reference.safetensors, written by
// tools/make_reference.py from the default weights.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/cpu_backend.h"
#include "engine/safetensors.h"
#include "tests/tolerance.h"

namespace {

// Tolerances of the engine against PyTorch (FP32 both): images within 1e-5, log-probabilities
// and scores within 1e-4, absolute. Products are summed in a different order than PyTorch's
// BLAS, so bit equality is not expected.
constexpr double kImageTolerance = 1e-5;
constexpr double kLogProbTolerance = 1e-4;
// A pixel this close to 0.5 may fall on either side of the boldness threshold.
constexpr double kBoldnessAmbiguity = 1e-5;

std::string source_dir() {
  const char* dir = std::getenv("LSI_SOURCE_DIR");
  return dir ? dir : LSI_SOURCE_DIR;
}

struct Fixture {
  lsi::WeightFile reference = lsi::WeightFile::load(source_dir() +
                                                    "/tests/data/reference.safetensors");
  lsi::WeightPaths paths = lsi::WeightPaths::in_folder(source_dir() + "/weights");
  lsi::CpuBackend backend{paths};

  const std::vector<float>& tensor(const std::string& name) { return reference.values(name); }
  int n_latents() { return static_cast<int>(reference.tensors().at("latents").shape[0]); }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "reference is of the current weights") {
  const lsi::Generator generator = lsi::Generator::load(paths.generator);
  const lsi::Discriminator discriminator = lsi::Discriminator::load(paths.discriminator);
  const lsi::LeNet5 lenet = lsi::LeNet5::load(paths.lenet5);
  const auto& metadata = reference.metadata();
  INFO("stale reference: rerun /usr/bin/python3 tools/make_reference.py");
  CHECK(metadata.at("generator_sha256") == generator.sha256());
  CHECK(metadata.at("discriminator_sha256") == discriminator.sha256());
  CHECK(metadata.at("lenet5_sha256") == lenet.sha256());
}

TEST_CASE_FIXTURE(Fixture, "evaluator matches PyTorch") {
  const int n = n_latents();
  REQUIRE(n >= 64);
  lsi::Evaluation out;
  backend.evaluate(tensor("latents").data(), n, 0, out);

  CHECK(lsi::test::compare_arrays("images", out.images, tensor("images"), kImageTolerance)
            .n_mismatches == 0);
  CHECK(lsi::test::compare_arrays("lightness", out.lightness, tensor("lightness"),
                                  kImageTolerance).n_mismatches == 0);

  // Boldness exactly, except where a reference pixel lies within 1e-5 of the threshold.
  const std::vector<float>& images = tensor("images");
  for (int i = 0; i < n; ++i) {
    bool ambiguous = false;
    for (int p = 0; p < lsi::kPixels; ++p) {
      ambiguous |= std::fabs(images[static_cast<size_t>(i) * lsi::kPixels + p] - 0.5) <
                   kBoldnessAmbiguity;
    }
    if (ambiguous) continue;
    INFO("latent " << i);
    CHECK(out.boldness[i] == tensor("boldness")[i]);
  }

  // Objectives for every digit: exp of the log-probability of that digit.
  const std::vector<float>& objectives = tensor("objectives");
  for (int digit = 0; digit < lsi::kClasses; ++digit) {
    backend.evaluate(tensor("latents").data(), n, digit, out);
    std::vector<float> expected(n);
    for (int i = 0; i < n; ++i) expected[i] = objectives[static_cast<size_t>(i) * 10 + digit];
    CHECK(lsi::test::compare_arrays("objective of digit " + std::to_string(digit),
                                    out.objectives, expected, kLogProbTolerance)
              .n_mismatches == 0);
  }
}

TEST_CASE_FIXTURE(Fixture, "classifier matches PyTorch") {
  const int n = n_latents();
  std::vector<float> log_probs(static_cast<size_t>(n) * lsi::kClasses);
  backend.classify(tensor("images").data(), n, log_probs.data());
  CHECK(lsi::test::compare_arrays("log_probs", log_probs, tensor("log_probs"), kLogProbTolerance)
            .n_mismatches == 0);

  const auto n_real = static_cast<int>(tensor("real_labels").size());
  std::vector<float> real_log_probs(static_cast<size_t>(n_real) * lsi::kClasses);
  backend.classify(tensor("real_images").data(), n_real, real_log_probs.data());
  CHECK(lsi::test::compare_arrays("real_log_probs", real_log_probs, tensor("real_log_probs"),
                                  kLogProbTolerance).n_mismatches == 0);
}

TEST_CASE_FIXTURE(Fixture, "discriminator matches PyTorch") {
  const int n = n_latents();
  std::vector<float> scores(n);
  backend.discriminate(tensor("images").data(), n, scores.data());
  CHECK(lsi::test::compare_arrays("discriminator_scores", scores, tensor("discriminator_scores"),
                                  kLogProbTolerance).n_mismatches == 0);
}
