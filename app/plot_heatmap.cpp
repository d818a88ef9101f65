// Drawing of the archive heatmap: cells, axes with ticks, colour bar, title and legend.
#include "app/plot_heatmap.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "app/plot_canvas.h"
#include "app/plot_ticks.h"

namespace lsi {

namespace {

constexpr double kPlotRightPx = kHeatmapPlotLeftPx + kHeatmapPlotWidthPx;
constexpr double kPlotBottomPx = kHeatmapPlotTopPx + kHeatmapPlotHeightPx;
constexpr double kColorbarLeftPx = kPlotRightPx + 28.0;
constexpr double kColorbarWidthPx = 20.0;
constexpr double kTickLengthPx = 5.0;
constexpr double kTitleSizePx = 18.0;
constexpr double kLabelSizePx = 15.0;
constexpr double kTickLabelSizePx = 13.0;

const Rgb kBlack{0.0, 0.0, 0.0};

void validate(const HeatmapSpec& spec, const std::vector<double>& values) {
  if (spec.n_x <= 0 || spec.n_y <= 0) {
    throw std::invalid_argument("invalid heatmap grid " + std::to_string(spec.n_x) + " x " +
                                std::to_string(spec.n_y) + ": both counts must be positive");
  }
  const bool x_range_valid =
      std::isfinite(spec.x_low) && std::isfinite(spec.x_high) && spec.x_low < spec.x_high;
  const bool y_range_valid =
      std::isfinite(spec.y_low) && std::isfinite(spec.y_high) && spec.y_low < spec.y_high;
  if (!x_range_valid || !y_range_valid) {
    throw std::invalid_argument("invalid heatmap measure range: expected finite x_low < x_high "
                                "and y_low < y_high");
  }
  if (!(std::isfinite(spec.value_min) && std::isfinite(spec.value_max) &&
        spec.value_min < spec.value_max)) {
    throw std::invalid_argument("invalid heatmap value range [" +
                                std::to_string(spec.value_min) + ", " +
                                std::to_string(spec.value_max) + "]: expected finite min < max");
  }

  const size_t n_cells = static_cast<size_t>(spec.n_x) * static_cast<size_t>(spec.n_y);
  if (values.size() != n_cells) {
    throw std::invalid_argument("heatmap has " + std::to_string(values.size()) +
                                " values, expected n_x * n_y = " + std::to_string(n_cells));
  }
}

// Maps a measure to pixels: x grows to the right, y grows upward.
double x_to_px(const HeatmapSpec& spec, double x) {
  return kHeatmapPlotLeftPx + (x - spec.x_low) / (spec.x_high - spec.x_low) * kHeatmapPlotWidthPx;
}

double y_to_px(const HeatmapSpec& spec, double y) {
  return kPlotBottomPx - (y - spec.y_low) / (spec.y_high - spec.y_low) * kHeatmapPlotHeightPx;
}

double value_fraction(const HeatmapSpec& spec, double value) {
  return (value - spec.value_min) / (spec.value_max - spec.value_min);
}

void draw_cells(PlotCanvas& canvas, const HeatmapSpec& spec, const std::vector<double>& values) {
  canvas.fill_rect(kHeatmapPlotLeftPx, kHeatmapPlotTopPx, kHeatmapPlotWidthPx,
                   kHeatmapPlotHeightPx, kHeatmapEmptyColor, true);

  const double cell_width_px = kHeatmapPlotWidthPx / spec.n_x;
  const double cell_height_px = kHeatmapPlotHeightPx / spec.n_y;
  for (int ix = 0; ix < spec.n_x; ++ix) {
    for (int iy = 0; iy < spec.n_y; ++iy) {
      const double value = values[static_cast<size_t>(ix) * spec.n_y + iy];
      if (std::isnan(value)) {
        continue;
      }
      const double left_px = kHeatmapPlotLeftPx + ix * cell_width_px;
      const double top_px = kPlotBottomPx - (iy + 1) * cell_height_px;
      canvas.fill_rect(left_px, top_px, cell_width_px, cell_height_px,
                       viridis(value_fraction(spec, value)), true);
    }
  }

  canvas.stroke_rect(kHeatmapPlotLeftPx, kHeatmapPlotTopPx, kHeatmapPlotWidthPx,
                     kHeatmapPlotHeightPx, kBlack, 1.0);
}

void draw_x_axis(PlotCanvas& canvas, const HeatmapSpec& spec) {
  TextStyle tick_style;
  tick_style.size_px = kTickLabelSizePx;
  tick_style.vertical = VerticalAlign::kTop;

  const AxisTicks ticks = choose_ticks(spec.x_low, spec.x_high, 8);
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    const double x_px = x_to_px(spec, ticks.values[i]);
    canvas.draw_line(x_px, kPlotBottomPx, x_px, kPlotBottomPx + kTickLengthPx, kBlack, 1.0);
    canvas.draw_text(ticks.labels[i], x_px, kPlotBottomPx + kTickLengthPx + 3.0, tick_style);
  }

  TextStyle label_style;
  label_style.size_px = kLabelSizePx;
  label_style.vertical = VerticalAlign::kTop;
  canvas.draw_text(spec.x_label, kHeatmapPlotLeftPx + kHeatmapPlotWidthPx / 2.0,
                   kPlotBottomPx + 30.0, label_style);
}

void draw_y_axis(PlotCanvas& canvas, const HeatmapSpec& spec) {
  TextStyle tick_style;
  tick_style.size_px = kTickLabelSizePx;
  tick_style.horizontal = HorizontalAlign::kRight;

  const AxisTicks ticks = choose_ticks(spec.y_low, spec.y_high, 6);
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    const double y_px = y_to_px(spec, ticks.values[i]);
    canvas.draw_line(kHeatmapPlotLeftPx - kTickLengthPx, y_px, kHeatmapPlotLeftPx, y_px, kBlack,
                     1.0);
    canvas.draw_text(ticks.labels[i], kHeatmapPlotLeftPx - kTickLengthPx - 3.0, y_px,
                     tick_style);
  }

  TextStyle label_style;
  label_style.size_px = kLabelSizePx;
  label_style.vertical_text = true;
  canvas.draw_text(spec.y_label, 24.0, kHeatmapPlotTopPx + kHeatmapPlotHeightPx / 2.0,
                   label_style);
}

void draw_colorbar(PlotCanvas& canvas, const HeatmapSpec& spec) {
  // One-pixel strips from the bottom (value_min) to the top (value_max).
  const int n_strips = static_cast<int>(kHeatmapPlotHeightPx);
  for (int strip = 0; strip < n_strips; ++strip) {
    const double fraction = (strip + 0.5) / n_strips;
    canvas.fill_rect(kColorbarLeftPx, kPlotBottomPx - strip - 1.0, kColorbarWidthPx, 1.0,
                     viridis(fraction), true);
  }
  canvas.stroke_rect(kColorbarLeftPx, kHeatmapPlotTopPx, kColorbarWidthPx, kHeatmapPlotHeightPx,
                     kBlack, 1.0);

  TextStyle tick_style;
  tick_style.size_px = kTickLabelSizePx;
  tick_style.horizontal = HorizontalAlign::kLeft;
  const double colorbar_right_px = kColorbarLeftPx + kColorbarWidthPx;
  const AxisTicks ticks = choose_ticks(spec.value_min, spec.value_max, 5);
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    const double fraction = value_fraction(spec, ticks.values[i]);
    const double y_px = kPlotBottomPx - fraction * kHeatmapPlotHeightPx;
    canvas.draw_line(colorbar_right_px, y_px, colorbar_right_px + kTickLengthPx, y_px, kBlack,
                     1.0);
    canvas.draw_text(ticks.labels[i], colorbar_right_px + kTickLengthPx + 3.0, y_px, tick_style);
  }

  TextStyle label_style;
  label_style.size_px = kLabelSizePx;
  label_style.vertical_text = true;
  canvas.draw_text(spec.colorbar_label, kHeatmapWidthPx - 22.0,
                   kHeatmapPlotTopPx + kHeatmapPlotHeightPx / 2.0, label_style);
}

// Draws the key for empty cells and the archive's coverage below the x-axis label.
void draw_legend(PlotCanvas& canvas, const std::vector<double>& values) {
  const double row_center_px = kHeatmapHeightPx - 24.0;
  const double swatch_side_px = 14.0;
  canvas.fill_rect(kHeatmapPlotLeftPx, row_center_px - swatch_side_px / 2.0, swatch_side_px,
                   swatch_side_px, kHeatmapEmptyColor);
  canvas.stroke_rect(kHeatmapPlotLeftPx, row_center_px - swatch_side_px / 2.0, swatch_side_px,
                     swatch_side_px, kBlack, 1.0);

  TextStyle legend_style;
  legend_style.size_px = kTickLabelSizePx;
  legend_style.horizontal = HorizontalAlign::kLeft;
  canvas.draw_text("empty: no elite", kHeatmapPlotLeftPx + swatch_side_px + 6.0, row_center_px,
                   legend_style);

  size_t n_filled = 0;
  for (double value : values) {
    n_filled += std::isnan(value) ? 0 : 1;
  }
  char coverage[128];
  std::snprintf(coverage, sizeof(coverage), "filled: %zu of %zu cells (%.1f %%)", n_filled,
                values.size(), 100.0 * static_cast<double>(n_filled) / values.size());
  legend_style.horizontal = HorizontalAlign::kRight;
  canvas.draw_text(coverage, kPlotRightPx, row_center_px, legend_style);
}

}  // namespace

PixelPoint heatmap_cell_center_px(const HeatmapSpec& spec, int ix, int iy) {
  if (spec.n_x <= 0 || spec.n_y <= 0 || ix < 0 || ix >= spec.n_x || iy < 0 || iy >= spec.n_y) {
    throw std::invalid_argument("cell (" + std::to_string(ix) + ", " + std::to_string(iy) +
                                ") is outside the heatmap grid " + std::to_string(spec.n_x) +
                                " x " + std::to_string(spec.n_y));
  }
  const double cell_width_px = kHeatmapPlotWidthPx / spec.n_x;
  const double cell_height_px = kHeatmapPlotHeightPx / spec.n_y;
  return {kHeatmapPlotLeftPx + (ix + 0.5) * cell_width_px,
          kPlotBottomPx - (iy + 0.5) * cell_height_px};
}

void write_heatmap_png(const std::string& path, const HeatmapSpec& spec,
                       const std::vector<double>& values) {
  validate(spec, values);
  PlotCanvas canvas(kHeatmapWidthPx, kHeatmapHeightPx);

  TextStyle title_style;
  title_style.size_px = kTitleSizePx;
  title_style.bold = true;
  canvas.draw_text(spec.title, kHeatmapPlotLeftPx + kHeatmapPlotWidthPx / 2.0,
                   kHeatmapPlotTopPx / 2.0, title_style);

  draw_cells(canvas, spec, values);

  draw_x_axis(canvas, spec);
  draw_y_axis(canvas, spec);

  draw_colorbar(canvas, spec);

  draw_legend(canvas, values);

  canvas.write_png(path);
}

}  // namespace lsi
