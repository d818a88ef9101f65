// The archive heatmap: one coloured cell per archive cell, as pyribs' grid_archive_heatmap
// draws it, written as a PNG with cairo.
//
// x is measure 0 (boldness) increasing to the right, y is measure 1 (lightness) increasing
// upward, and the colour is the elite's objective on the viridis colormap.
#pragma once

#include <string>
#include <vector>

#include "app/plot_colormap.h"

namespace lsi {

// Grid, measure ranges, value range and words of one heatmap figure.
struct HeatmapSpec {
  int n_x = 0;  // cells along measure 0
  int n_y = 0;  // cells along measure 1
  double x_low = 0.0;
  double x_high = 1.0;
  double y_low = 0.0;
  double y_high = 1.0;
  std::string x_label = "boldness (pixels >= 0.5)";
  std::string y_label = "lightness";
  std::string title = "archive";
  std::string colorbar_label = "objective";
  double value_min = 0.0;  // drawn with the colormap's darkest colour; lower values clamp
  double value_max = 1.0;  // drawn with the colormap's brightest colour; higher values clamp
};

// Figure layout in pixels, fixed so that tests can locate a cell in the written PNG.
constexpr int kHeatmapWidthPx = 800;
constexpr int kHeatmapHeightPx = 640;
constexpr double kHeatmapPlotLeftPx = 96.0;
constexpr double kHeatmapPlotTopPx = 56.0;
constexpr double kHeatmapPlotWidthPx = 560.0;
constexpr double kHeatmapPlotHeightPx = 480.0;

// Colour of a cell with no elite: a neutral grey that viridis never produces.
constexpr Rgb kHeatmapEmptyColor{0.86, 0.86, 0.86};

// A point in the figure, in pixels from its top-left corner.
struct PixelPoint {
  double x_px = 0.0;
  double y_px = 0.0;
};

// Returns the centre of cell (ix, iy) in the figure. Throws std::invalid_argument if the spec
// has no cells or the cell is outside the grid.
PixelPoint heatmap_cell_center_px(const HeatmapSpec& spec, int ix, int iy);

// Writes the heatmap of `values` (n_x * n_y, index ix * n_y + iy as the archive stores cells,
// NaN for a cell with no elite) to `path` as a kHeatmapWidthPx x kHeatmapHeightPx PNG.
// Throws std::invalid_argument for an invalid spec or a wrong number of values, and
// std::runtime_error naming `path` if the file cannot be written.
void write_heatmap_png(const std::string& path, const HeatmapSpec& spec,
                       const std::vector<double>& values);

}  // namespace lsi
