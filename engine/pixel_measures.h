// The last step of the generator fused with the measures: tanh, the [0, 1] image, boldness,
// lightness and LeNet-5's normalised input, in one pass over the pixels.
#pragma once

namespace lsi {

// For one image: logits (P) -> image01 (P) = (tanh(logit) + 1) / 2 and normalized (P) =
// (image01 - mean) / std. Returns boldness (pixels >= 0.5) and lightness
// (sum of those pixels / (boldness + 1)); the +1 follows the reference, so an image with no
// bold pixel has lightness 0.
struct PixelMeasures {
  float boldness;
  float lightness;
};
PixelMeasures pixel_measures(const float* logits, int n_pixels, float* image01,
                             float* normalized);

}  // namespace lsi
