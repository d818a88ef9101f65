// A white cairo image surface with the drawing steps that our figures share: filled and
// outlined rectangles, lines, aligned text and writing the PNG.
//
// Coordinates are in pixels with the origin at the top-left corner and y increasing downward.
#pragma once

#include <string>

#include <cairo.h>

#include "app/plot_colormap.h"

namespace lsi {

enum class HorizontalAlign { kLeft, kCenter, kRight };
enum class VerticalAlign { kTop, kCenter, kBaseline, kBottom };

// Style of one piece of text.
struct TextStyle {
  double size_px = 14.0;
  bool bold = false;
  Rgb color{0.0, 0.0, 0.0};
  HorizontalAlign horizontal = HorizontalAlign::kCenter;
  VerticalAlign vertical = VerticalAlign::kCenter;
  bool vertical_text = false;  // rotated 90 degrees counter-clockwise, read from bottom to top
};

class PlotCanvas {
 public:
  // Creates a width_px x height_px ARGB surface filled with white. Throws std::runtime_error if
  // cairo cannot create it.
  PlotCanvas(int width_px, int height_px);
  ~PlotCanvas();

  PlotCanvas(const PlotCanvas&) = delete;
  PlotCanvas& operator=(const PlotCanvas&) = delete;

  int width_px() const { return width_px_; }
  int height_px() const { return height_px_; }

  // The cairo context, for drawing that the helpers below do not cover.
  cairo_t* context() { return cr_; }

  // Fills a rectangle. With `crisp` the edges snap to whole pixels without antialiasing, so
  // adjacent cells of a grid meet without seams.
  void fill_rect(double x_px, double y_px, double width_px, double height_px, const Rgb& color,
                 bool crisp = false);

  // Outlines a rectangle with a line centred on its edges.
  void stroke_rect(double x_px, double y_px, double width_px, double height_px,
                   const Rgb& color, double line_width_px);

  void draw_line(double x0_px, double y0_px, double x1_px, double y1_px, const Rgb& color,
                 double line_width_px);

  // Draws `text` so that its anchor, chosen by the style's alignment, lies at (x_px, y_px).
  // Vertical alignment uses the font's ascent and descent, not the glyphs, so labels in one row
  // share a baseline.
  void draw_text(const std::string& text, double x_px, double y_px, const TextStyle& style);

  // Returns the advance width of `text` in pixels when drawn with `style`.
  double text_width_px(const std::string& text, const TextStyle& style);

  // Writes the surface as a PNG file. Throws std::runtime_error naming the path and cairo's
  // reason if the file cannot be written, for example because its folder does not exist.
  void write_png(const std::string& path);

 private:
  void select_font(const TextStyle& style);

  int width_px_;
  int height_px_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
};

}  // namespace lsi
