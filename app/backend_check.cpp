// Comparing a backend with the CPU one on a small fixed batch.
#include "app/backend_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "engine/cpu_backend.h"
#include "qd/philox.h"

namespace lsi {

namespace {

constexpr int kCheckBatch = 7;
constexpr double kImageTolerance = 1e-5;
constexpr double kProbabilityTolerance = 1e-4;

// Returns a message when any |a - b| exceeds tolerance (or a value is not finite), else "".
std::string compare(const char* what, const float* a, const float* b, size_t n,
                    double tolerance) {
  double max_error = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double error = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!std::isfinite(error)) return std::string(what) + " is not finite";
    max_error = std::max(max_error, error);
  }
  if (max_error <= tolerance) return "";
  char message[160];
  std::snprintf(message, sizeof message, "%s differ by up to %.3g (tolerance %.0e)", what,
                max_error, tolerance);
  return message;
}

}  // namespace

std::string disagreement_with_cpu(Backend& candidate, const WeightPaths& paths) {
  CpuBackend cpu(paths);
  qd::PhiloxStream stream(1, 0);
  std::vector<double> normal(static_cast<size_t>(kCheckBatch) * kLatentDim);
  stream.fill_normal(normal.data(), static_cast<std::int64_t>(normal.size()));
  const std::vector<float> latents(normal.begin(), normal.end());

  // Images to classify and score: the generator's when there is one, else fixed noise.
  std::vector<float> images(static_cast<size_t>(kCheckBatch) * kPixels);
  std::string error;
  if (!paths.generator.empty() && !paths.lenet5.empty()) {
    Evaluation expected;
    Evaluation actual;
    cpu.evaluate(latents.data(), kCheckBatch, 8, expected);
    candidate.evaluate(latents.data(), kCheckBatch, 8, actual);
    error = compare("images", actual.images.data(), expected.images.data(), images.size(),
                    kImageTolerance);
    if (error.empty()) {
      error = compare("objectives", actual.objectives.data(), expected.objectives.data(),
                      kCheckBatch, kProbabilityTolerance);
    }
    images = expected.images;
  } else {
    for (size_t i = 0; i < images.size(); ++i) {
      images[i] = normal[i % normal.size()] > 0.5 ? 1.0f : 0.0f;
    }
  }

  if (error.empty() && !paths.lenet5.empty()) {
    std::vector<float> expected(static_cast<size_t>(kCheckBatch) * kClasses);
    std::vector<float> actual(expected.size());
    cpu.classify(images.data(), kCheckBatch, expected.data());
    candidate.classify(images.data(), kCheckBatch, actual.data());
    error = compare("log-probabilities", actual.data(), expected.data(), expected.size(),
                    kProbabilityTolerance);
  }
  if (error.empty() && !paths.discriminator.empty()) {
    std::vector<float> expected(kCheckBatch);
    std::vector<float> actual(kCheckBatch);
    cpu.discriminate(images.data(), kCheckBatch, expected.data());
    candidate.discriminate(images.data(), kCheckBatch, actual.data());
    error = compare("discriminator scores", actual.data(), expected.data(), kCheckBatch,
                    kProbabilityTolerance);
  }
  return error.empty() ? "" : candidate.name() + " backend disagrees with the CPU: " + error;
}

}  // namespace lsi
