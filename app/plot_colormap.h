// Colours for our figures: an sRGB triple and the viridis colormap.
#pragma once

namespace lsi {

// An sRGB colour, each component in [0, 1] (gamma-encoded, as cairo takes it).
struct Rgb {
  double r = 0.0;
  double g = 0.0;
  double b = 0.0;
};

// Maps t in [0, 1] to viridis (dark purple at 0, yellow at 1). Values of t outside [0, 1] are
// clamped and NaN maps to the colour at 0, so callers must handle missing values themselves.
Rgb viridis(double t);

}  // namespace lsi
