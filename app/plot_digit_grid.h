// The picture of elites across the archive: a grid of generated digits with boldness increasing
// to the right and lightness increasing upward, as in the pyribs tutorial "Illuminating the
// Latent Space of an MNIST GAN".
#pragma once

#include <string>
#include <vector>

namespace lsi {

// One elite of the archive with the image its latent generates.
struct DigitElite {
  double measure_0 = 0.0;    // boldness: number of pixels >= 0.5
  double measure_1 = 0.0;    // lightness
  std::vector<float> image;  // P = 784, 28 x 28 row-major, values in [0, 1] (0 black, 1 white)
  double objective = 0.0;
};

// Size of the grid and words of the figure.
struct DigitGridSpec {
  int n_cols = 8;                  // tiles along boldness
  int n_rows = 6;                  // tiles along lightness
  int pixels_per_image_pixel = 3;  // each 28 x 28 digit is drawn 84 x 84 px by default
  // Farthest an elite may lie from a tile centre, in tile spacings (see select_grid_elites).
  double max_distance_tiles = 0.75;
  std::string x_label = "boldness (pixels >= 0.5)";
  std::string y_label = "lightness";
  std::string title = "elites across the archive";
};

// Figure layout in pixels: the tiles start at this corner, row 0 at the bottom, and the
// figure adds fixed margins around them, so tests can locate a tile in the written PNG.
constexpr int kDigitGridPlotLeftPx = 96;
constexpr int kDigitGridPlotTopPx = 56;
constexpr int kDigitGridMarginRightPx = 32;
constexpr int kDigitGridMarginBottomPx = 96;

// Returns the width and height in pixels of the figure that write_digit_grid_png writes.
struct FigureSize {
  int width_px = 0;
  int height_px = 0;
};
FigureSize digit_grid_size_px(const DigitGridSpec& spec);

// Marks a tile with no elite in the result of select_grid_elites.
constexpr int kNoElite = -1;

// Measures at the tile centres: n_cols (boldness) and n_rows (lightness) values, ascending.
// The centres split the occupied range of each measure, from the smallest to the largest
// value among the elites, into equal bins and sit at the middle of each bin.
struct GridTargets {
  std::vector<double> measure_0;
  std::vector<double> measure_1;
};

// Computes the tile centres for `elites`. With no elites both ranges are [0, 0].
GridTargets grid_targets(const std::vector<DigitElite>& elites, const DigitGridSpec& spec);

// Picks for each tile the elite nearest to its centre. Distances are taken in tile spacings,
// that is with each measure divided by its occupied range and multiplied by the number of
// tiles along it. Pairs are taken nearest first, so each elite fills at most one tile, and a
// tile stays empty when no unused elite lies within spec.max_distance_tiles.
//
// Returns n_rows * n_cols indices into `elites`, index [row * n_cols + col] with row 0 the
// lowest lightness and col 0 the lowest boldness, kNoElite for an empty tile. Throws
// std::invalid_argument for an invalid spec or an elite with non-finite measures.
std::vector<int> select_grid_elites(const std::vector<DigitElite>& elites,
                                    const DigitGridSpec& spec);

// Draws the selected elites' digits with labelled axes and a title and writes them to `path`
// as a PNG. Throws std::invalid_argument for an invalid spec or an elite image that is not
// 28 x 28, and std::runtime_error naming `path` if the file cannot be written.
void write_digit_grid_png(const std::string& path, const DigitGridSpec& spec,
                          const std::vector<DigitElite>& elites);

}  // namespace lsi
