// tanh, the [0, 1] image, the measures and the classifier's input in one pass.
#include "engine/pixel_measures.h"

#include <cmath>

#include "engine/lenet5.h"

namespace lsi {

PixelMeasures pixel_measures(const float* logits, int n_pixels, float* image01,
                             float* normalized) {
  int n_bold = 0;
  float bold_sum = 0.0f;
  for (int p = 0; p < n_pixels; ++p) {
    const float x = (std::tanh(logits[p]) + 1.0f) / 2.0f;
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
