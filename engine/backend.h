// The evaluator interface that the CPU and CUDA backends implement.
//
// Shape legend: B batch, Z latent size (128), P pixels per image (784 = 28 x 28), K classes (10).
// All matrices are row-major with one row per item of the batch.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace lsi {

constexpr int kLatentDim = 128;
constexpr int kImageSide = 28;
constexpr int kPixels = kImageSide * kImageSide;
constexpr int kClasses = 10;

// The evaluator's outputs for a batch of latents.
struct Evaluation {
  std::vector<float> images;      // B x P, x = (G(z) + 1) / 2 in [0, 1]
  std::vector<float> objectives;  // B, probability that LeNet-5 gives the digit
  std::vector<float> boldness;    // B, number of pixels with x >= 0.5
  std::vector<float> lightness;   // B, (sum of the pixels >= 0.5) / (boldness + 1)
  int n_batch() const { return static_cast<int>(objectives.size()); }
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Name for logs and results, e.g. "cpu".
  virtual std::string name() const = 0;

  // Evaluates latents (B x Z) for `digit` in 0..9 into `out`, resizing its vectors to B.
  virtual void evaluate(const float* latents, int n_batch, int digit, Evaluation& out) = 0;

  // Scores images01 (B x P, in [0, 1]) with the discriminator, whose input is 2x - 1 in [-1, 1].
  virtual void discriminate(const float* images01, int n_batch, float* scores) = 0;

  // LeNet-5's log-probabilities (B x K) of images01 (B x P, in [0, 1]); normalises them first.
  virtual void classify(const float* images01, int n_batch, float* log_probs) = 0;
};

}  // namespace lsi
