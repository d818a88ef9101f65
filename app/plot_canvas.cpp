// Cairo drawing helpers shared by the heatmap and the digit grid.
#include "app/plot_canvas.h"

#include <stdexcept>

namespace lsi {

namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

PlotCanvas::PlotCanvas(int width_px, int height_px) : width_px_(width_px), height_px_(height_px) {
  if (width_px <= 0 || height_px <= 0) {
    throw std::invalid_argument("invalid canvas size " + std::to_string(width_px) + " x " +
                                std::to_string(height_px) + " px: both must be positive");
  }

  surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width_px, height_px);
  const cairo_status_t surface_status = cairo_surface_status(surface_);
  if (surface_status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface_);
    throw std::runtime_error(std::string("cairo_image_surface_create failed: ") +
                             cairo_status_to_string(surface_status));
  }

  cr_ = cairo_create(surface_);
  const cairo_status_t context_status = cairo_status(cr_);
  if (context_status != CAIRO_STATUS_SUCCESS) {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
    throw std::runtime_error(std::string("cairo_create failed: ") +
                             cairo_status_to_string(context_status));
  }

  cairo_set_source_rgb(cr_, 1.0, 1.0, 1.0);
  cairo_paint(cr_);
}

PlotCanvas::~PlotCanvas() {
  cairo_destroy(cr_);
  cairo_surface_destroy(surface_);
}

void PlotCanvas::fill_rect(double x_px, double y_px, double width_px, double height_px,
                           const Rgb& color, bool crisp) {
  cairo_save(cr_);
  if (crisp) {
    cairo_set_antialias(cr_, CAIRO_ANTIALIAS_NONE);
  }
  cairo_set_source_rgb(cr_, color.r, color.g, color.b);
  cairo_rectangle(cr_, x_px, y_px, width_px, height_px);
  cairo_fill(cr_);
  cairo_restore(cr_);
}

void PlotCanvas::stroke_rect(double x_px, double y_px, double width_px, double height_px,
                             const Rgb& color, double line_width_px) {
  cairo_save(cr_);
  cairo_set_source_rgb(cr_, color.r, color.g, color.b);
  cairo_set_line_width(cr_, line_width_px);
  cairo_rectangle(cr_, x_px, y_px, width_px, height_px);
  cairo_stroke(cr_);
  cairo_restore(cr_);
}

void PlotCanvas::draw_line(double x0_px, double y0_px, double x1_px, double y1_px,
                           const Rgb& color, double line_width_px) {
  cairo_save(cr_);
  cairo_set_source_rgb(cr_, color.r, color.g, color.b);
  cairo_set_line_width(cr_, line_width_px);
  cairo_move_to(cr_, x0_px, y0_px);
  cairo_line_to(cr_, x1_px, y1_px);
  cairo_stroke(cr_);
  cairo_restore(cr_);
}

void PlotCanvas::select_font(const TextStyle& style) {
  const cairo_font_weight_t weight =
      style.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL;
  cairo_select_font_face(cr_, "sans-serif", CAIRO_FONT_SLANT_NORMAL, weight);
  cairo_set_font_size(cr_, style.size_px);
}

double PlotCanvas::text_width_px(const std::string& text, const TextStyle& style) {
  cairo_save(cr_);
  select_font(style);
  cairo_text_extents_t extents;
  cairo_text_extents(cr_, text.c_str(), &extents);
  cairo_restore(cr_);
  return extents.x_advance;
}

void PlotCanvas::draw_text(const std::string& text, double x_px, double y_px,
                           const TextStyle& style) {
  cairo_save(cr_);
  select_font(style);
  cairo_set_source_rgb(cr_, style.color.r, style.color.g, style.color.b);

  // Work in a frame whose origin is the anchor and whose x axis runs along the text.
  cairo_translate(cr_, x_px, y_px);
  if (style.vertical_text) {
    cairo_rotate(cr_, -kPi / 2.0);
  }

  cairo_text_extents_t text_extents;
  cairo_text_extents(cr_, text.c_str(), &text_extents);
  cairo_font_extents_t font_extents;
  cairo_font_extents(cr_, &font_extents);

  // Shift from the anchor to the start of the baseline.
  double x_start = 0.0;
  switch (style.horizontal) {
    case HorizontalAlign::kLeft:
      break;
    case HorizontalAlign::kCenter:
      x_start = -text_extents.x_advance / 2.0;
      break;
    case HorizontalAlign::kRight:
      x_start = -text_extents.x_advance;
      break;
  }
  double y_baseline = 0.0;
  switch (style.vertical) {
    case VerticalAlign::kTop:
      y_baseline = font_extents.ascent;
      break;
    case VerticalAlign::kCenter:
      y_baseline = (font_extents.ascent - font_extents.descent) / 2.0;
      break;
    case VerticalAlign::kBaseline:
      break;
    case VerticalAlign::kBottom:
      y_baseline = -font_extents.descent;
      break;
  }

  cairo_move_to(cr_, x_start, y_baseline);
  cairo_show_text(cr_, text.c_str());
  cairo_restore(cr_);
}

void PlotCanvas::write_png(const std::string& path) {
  cairo_surface_flush(surface_);
  const cairo_status_t status = cairo_surface_write_to_png(surface_, path.c_str());
  if (status != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error("failed to write PNG '" + path + "': " +
                             cairo_status_to_string(status) +
                             " (check that the folder exists and is writable)");
  }
}

}  // namespace lsi
