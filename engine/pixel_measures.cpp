// tanh, the [0, 1] image, the measures and the classifier's input, one image at a time.
#include "engine/pixel_measures.h"

#include <Eigen/Core>

#include "engine/lenet5.h"

namespace lsi {

PixelMeasures pixel_measures(const float* logits, int n_pixels, float* image01,
                             float* normalized) {
  // Eigen's vectorised tanh (a rational approximation within a few ulp of std::tanh) on the
  // row, which stays in the L1 cache for the pass below.
  Eigen::Map<Eigen::ArrayXf> image(image01, n_pixels);
  image = Eigen::Map<const Eigen::ArrayXf>(logits, n_pixels).tanh();

  int n_bold = 0;
  float bold_sum = 0.0f;
  for (int p = 0; p < n_pixels; ++p) {
    const float x = (image01[p] + 1.0f) / 2.0f;
    image01[p] = x;
    normalized[p] = (x - kMnistMean) / kMnistStd;
    if (x >= 0.5f) {
      ++n_bold;
      bold_sum += x;
    }
  }
  return {static_cast<float>(n_bold), bold_sum / static_cast<float>(n_bold + 1)};
}

}  // namespace lsi
