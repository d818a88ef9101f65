// Selection of elites spread over the measure space and drawing of their digits as one grid.
#include "app/plot_digit_grid.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <tuple>

#include "app/plot_canvas.h"
#include "app/plot_colormap.h"
#include "app/plot_ticks.h"
#include "engine/backend.h"

namespace lsi {

namespace {

constexpr double kTickLengthPx = 5.0;
constexpr double kTitleSizePx = 18.0;
constexpr double kLabelSizePx = 15.0;
constexpr double kTickLabelSizePx = 13.0;

const Rgb kBlack{0.0, 0.0, 0.0};
const Rgb kEmptyTileColor{0.55, 0.55, 0.55};
const Rgb kTileSeparatorColor{0.3, 0.3, 0.3};

void validate_spec(const DigitGridSpec& spec) {
  if (spec.n_cols <= 0 || spec.n_rows <= 0) {
    throw std::invalid_argument("invalid digit grid " + std::to_string(spec.n_cols) + " x " +
                                std::to_string(spec.n_rows) + ": both counts must be positive");
  }
  if (spec.pixels_per_image_pixel <= 0) {
    throw std::invalid_argument("invalid pixels_per_image_pixel " +
                                std::to_string(spec.pixels_per_image_pixel) +
                                ": must be positive");
  }
  if (!(spec.max_distance_tiles > 0.0)) {
    throw std::invalid_argument("invalid max_distance_tiles " +
                                std::to_string(spec.max_distance_tiles) + ": must be positive");
  }
}

// The occupied range [low, high] of one measure.
struct MeasureRange {
  double low = 0.0;
  double high = 0.0;
};

MeasureRange occupied_range(const std::vector<DigitElite>& elites, bool first_measure) {
  if (elites.empty()) {
    return {};
  }
  MeasureRange range{INFINITY, -INFINITY};
  for (size_t i = 0; i < elites.size(); ++i) {
    const double value = first_measure ? elites[i].measure_0 : elites[i].measure_1;
    if (!std::isfinite(value)) {
      throw std::invalid_argument("elite " + std::to_string(i) + " has a non-finite measure " +
                                  std::to_string(value));
    }
    range.low = std::min(range.low, value);
    range.high = std::max(range.high, value);
  }
  return range;
}

// Returns the measure in tile spacings: 0 at the range's low end, n_tiles at its high end. A
// range of zero width puts every elite at the middle.
double to_tile_units(double value, const MeasureRange& range, int n_tiles) {
  const double width = range.high - range.low;
  if (width <= 0.0) {
    return n_tiles / 2.0;
  }
  return (value - range.low) / width * n_tiles;
}

std::vector<double> bin_centers(const MeasureRange& range, int n_tiles) {
  std::vector<double> centers(n_tiles);
  for (int k = 0; k < n_tiles; ++k) {
    centers[k] = range.low + (k + 0.5) / n_tiles * (range.high - range.low);
  }
  return centers;
}

void validate_images(const std::vector<DigitElite>& elites) {
  for (size_t i = 0; i < elites.size(); ++i) {
    if (elites[i].image.size() != static_cast<size_t>(kPixels)) {
      throw std::invalid_argument("elite " + std::to_string(i) + " has an image of " +
                                  std::to_string(elites[i].image.size()) +
                                  " values, expected 28 x 28 = " + std::to_string(kPixels));
    }
  }
}

// Draws one digit as grey squares, 0 black and 1 white as matplotlib's "gray" colormap shows it.
void draw_digit(PlotCanvas& canvas, const std::vector<float>& image, double left_px,
                double top_px, int pixels_per_image_pixel) {
  for (int row = 0; row < kImageSide; ++row) {
    for (int col = 0; col < kImageSide; ++col) {
      const float raw = image[row * kImageSide + col];
      const double level = std::isnan(raw) ? 0.0 : std::clamp(static_cast<double>(raw), 0.0, 1.0);
      canvas.fill_rect(left_px + col * pixels_per_image_pixel,
                       top_px + row * pixels_per_image_pixel, pixels_per_image_pixel,
                       pixels_per_image_pixel, Rgb{level, level, level}, true);
    }
  }
}

void draw_tiles(PlotCanvas& canvas, const DigitGridSpec& spec,
                const std::vector<DigitElite>& elites, const std::vector<int>& selection) {
  const int tile_px = kImageSide * spec.pixels_per_image_pixel;
  for (int row = 0; row < spec.n_rows; ++row) {
    for (int col = 0; col < spec.n_cols; ++col) {
      // Row 0 is the lowest lightness, so it is drawn at the bottom.
      const double left_px = kDigitGridPlotLeftPx + col * tile_px;
      const double top_px = kDigitGridPlotTopPx + (spec.n_rows - 1 - row) * tile_px;
      const int elite = selection[row * spec.n_cols + col];
      if (elite == kNoElite) {
        canvas.fill_rect(left_px, top_px, tile_px, tile_px, kEmptyTileColor, true);
      } else {
        draw_digit(canvas, elites[elite].image, left_px, top_px, spec.pixels_per_image_pixel);
      }
    }
  }

  // Thin separators keep neighbouring black backgrounds apart.
  const double plot_width_px = spec.n_cols * tile_px;
  const double plot_height_px = spec.n_rows * tile_px;
  for (int col = 1; col < spec.n_cols; ++col) {
    const double x_px = kDigitGridPlotLeftPx + col * tile_px;
    canvas.draw_line(x_px, kDigitGridPlotTopPx, x_px, kDigitGridPlotTopPx + plot_height_px,
                     kTileSeparatorColor, 1.0);
  }
  for (int row = 1; row < spec.n_rows; ++row) {
    const double y_px = kDigitGridPlotTopPx + row * tile_px;
    canvas.draw_line(kDigitGridPlotLeftPx, y_px, kDigitGridPlotLeftPx + plot_width_px, y_px,
                     kTileSeparatorColor, 1.0);
  }
  canvas.stroke_rect(kDigitGridPlotLeftPx, kDigitGridPlotTopPx, plot_width_px, plot_height_px,
                     kBlack, 1.0);
}

// Returns tick labels for values spaced evenly, with enough decimals to tell them apart.
std::vector<std::string> tick_labels(const std::vector<double>& values) {
  const double step = values.size() > 1 ? values[1] - values[0] : 0.0;
  const int decimals = step > 0.0 ? decimals_for_step(step) : 2;
  std::vector<std::string> labels;
  for (double value : values) {
    labels.push_back(format_tick(value, decimals));
  }
  return labels;
}

void draw_axes(PlotCanvas& canvas, const DigitGridSpec& spec, const GridTargets& targets) {
  const int tile_px = kImageSide * spec.pixels_per_image_pixel;
  const double plot_width_px = spec.n_cols * tile_px;
  const double plot_height_px = spec.n_rows * tile_px;
  const double plot_bottom_px = kDigitGridPlotTopPx + plot_height_px;

  // Boldness under each column.
  TextStyle x_tick_style;
  x_tick_style.size_px = kTickLabelSizePx;
  x_tick_style.vertical = VerticalAlign::kTop;
  const std::vector<std::string> x_labels = tick_labels(targets.measure_0);
  for (int col = 0; col < spec.n_cols; ++col) {
    const double x_px = kDigitGridPlotLeftPx + (col + 0.5) * tile_px;
    canvas.draw_line(x_px, plot_bottom_px, x_px, plot_bottom_px + kTickLengthPx, kBlack, 1.0);
    canvas.draw_text(x_labels[col], x_px, plot_bottom_px + kTickLengthPx + 3.0, x_tick_style);
  }
  TextStyle label_style;
  label_style.size_px = kLabelSizePx;
  label_style.vertical = VerticalAlign::kTop;
  canvas.draw_text(spec.x_label, kDigitGridPlotLeftPx + plot_width_px / 2.0,
                   plot_bottom_px + 30.0, label_style);

  // Lightness beside each row, the lowest at the bottom.
  TextStyle y_tick_style;
  y_tick_style.size_px = kTickLabelSizePx;
  y_tick_style.horizontal = HorizontalAlign::kRight;
  const std::vector<std::string> y_labels = tick_labels(targets.measure_1);
  for (int row = 0; row < spec.n_rows; ++row) {
    const double y_px = plot_bottom_px - (row + 0.5) * tile_px;
    canvas.draw_line(kDigitGridPlotLeftPx - kTickLengthPx, y_px, kDigitGridPlotLeftPx, y_px,
                     kBlack, 1.0);
    canvas.draw_text(y_labels[row], kDigitGridPlotLeftPx - kTickLengthPx - 3.0, y_px,
                     y_tick_style);
  }
  label_style.vertical = VerticalAlign::kCenter;
  label_style.vertical_text = true;
  canvas.draw_text(spec.y_label, 24.0, kDigitGridPlotTopPx + plot_height_px / 2.0, label_style);
}

void draw_legend(PlotCanvas& canvas, const DigitGridSpec& spec, const std::vector<int>& selection) {
  const FigureSize size = digit_grid_size_px(spec);
  const double row_center_px = size.height_px - 24.0;
  const double swatch_side_px = 14.0;
  canvas.fill_rect(kDigitGridPlotLeftPx, row_center_px - swatch_side_px / 2.0, swatch_side_px,
                   swatch_side_px, kEmptyTileColor);
  canvas.stroke_rect(kDigitGridPlotLeftPx, row_center_px - swatch_side_px / 2.0, swatch_side_px,
                     swatch_side_px, kBlack, 1.0);

  TextStyle legend_style;
  legend_style.size_px = kTickLabelSizePx;
  legend_style.horizontal = HorizontalAlign::kLeft;
  char empty_text[128];
  std::snprintf(empty_text, sizeof(empty_text),
                "empty: no elite within %.2g tile spacings of the centre", spec.max_distance_tiles);
  canvas.draw_text(empty_text, kDigitGridPlotLeftPx + swatch_side_px + 6.0, row_center_px,
                   legend_style);

  const long n_shown = std::count_if(selection.begin(), selection.end(),
                                     [](int elite) { return elite != kNoElite; });
  const std::string shown_text =
      std::to_string(n_shown) + " of " + std::to_string(selection.size()) + " tiles filled";
  legend_style.horizontal = HorizontalAlign::kRight;
  canvas.draw_text(shown_text, size.width_px - kDigitGridMarginRightPx, row_center_px,
                   legend_style);
}

}  // namespace

FigureSize digit_grid_size_px(const DigitGridSpec& spec) {
  validate_spec(spec);
  const int tile_px = kImageSide * spec.pixels_per_image_pixel;
  return {kDigitGridPlotLeftPx + spec.n_cols * tile_px + kDigitGridMarginRightPx,
          kDigitGridPlotTopPx + spec.n_rows * tile_px + kDigitGridMarginBottomPx};
}

GridTargets grid_targets(const std::vector<DigitElite>& elites, const DigitGridSpec& spec) {
  validate_spec(spec);
  return {bin_centers(occupied_range(elites, true), spec.n_cols),
          bin_centers(occupied_range(elites, false), spec.n_rows)};
}

std::vector<int> select_grid_elites(const std::vector<DigitElite>& elites,
                                    const DigitGridSpec& spec) {
  validate_spec(spec);
  const MeasureRange range_0 = occupied_range(elites, true);
  const MeasureRange range_1 = occupied_range(elites, false);
  const int n_tiles = spec.n_cols * spec.n_rows;

  // Every (distance, tile, elite) pair close enough to count, in tile spacings.
  std::vector<std::tuple<double, int, int>> candidates;
  for (size_t i = 0; i < elites.size(); ++i) {
    const double u = to_tile_units(elites[i].measure_0, range_0, spec.n_cols);
    const double v = to_tile_units(elites[i].measure_1, range_1, spec.n_rows);
    for (int row = 0; row < spec.n_rows; ++row) {
      for (int col = 0; col < spec.n_cols; ++col) {
        const double distance = std::hypot(u - (col + 0.5), v - (row + 0.5));
        if (distance <= spec.max_distance_tiles) {
          candidates.emplace_back(distance, row * spec.n_cols + col, static_cast<int>(i));
        }
      }
    }
  }

  // Nearest pairs first; ties go to the lower tile index, then the lower elite index.
  std::sort(candidates.begin(), candidates.end());
  std::vector<int> selection(n_tiles, kNoElite);
  std::vector<bool> elite_used(elites.size(), false);
  for (const auto& [distance, tile, elite] : candidates) {
    if (selection[tile] == kNoElite && !elite_used[elite]) {
      selection[tile] = elite;
      elite_used[elite] = true;
    }
  }
  return selection;
}

void write_digit_grid_png(const std::string& path, const DigitGridSpec& spec,
                          const std::vector<DigitElite>& elites) {
  validate_spec(spec);
  validate_images(elites);
  const std::vector<int> selection = select_grid_elites(elites, spec);
  const GridTargets targets = grid_targets(elites, spec);

  const FigureSize size = digit_grid_size_px(spec);
  PlotCanvas canvas(size.width_px, size.height_px);

  TextStyle title_style;
  title_style.size_px = kTitleSizePx;
  title_style.bold = true;
  const double plot_width_px = spec.n_cols * kImageSide * spec.pixels_per_image_pixel;
  canvas.draw_text(spec.title, kDigitGridPlotLeftPx + plot_width_px / 2.0,
                   kDigitGridPlotTopPx / 2.0, title_style);

  draw_tiles(canvas, spec, elites, selection);

  draw_axes(canvas, spec, targets);

  draw_legend(canvas, spec, selection);

  canvas.write_png(path);
}

}  // namespace lsi
