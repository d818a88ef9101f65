// Tests of the figures: the viridis colormap, tick choice, the archive heatmap and the digit
// grid. The PNGs are read back with cairo and checked pixel by pixel where a colour is known.
//
// To keep example figures of a synthetic archive for viewing, set LSI_PLOTS_EXAMPLE_DIR to a
// folder. Without it they go to a temporary folder that is removed afterwards.
#include <stdlib.h>

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "app/plot_colormap.h"
#include "app/plot_digit_grid.h"
#include "app/plot_heatmap.h"
#include "app/plot_ticks.h"
#include "engine/backend.h"

namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// cairo keeps 8 bits per channel and rounds a double colour through 16 bits, so a channel may
// differ by one step from round(255 * value).
constexpr int kChannelTolerance = 1;

// A folder under the system temp dir, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lsi_test_plots_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct Rgb8 {
  int r = 0;
  int g = 0;
  int b = 0;
};

Rgb8 to_rgb8(const lsi::Rgb& color) {
  return {static_cast<int>(std::lround(255.0 * color.r)),
          static_cast<int>(std::lround(255.0 * color.g)),
          static_cast<int>(std::lround(255.0 * color.b))};
}

// A PNG read back with cairo. The figures are opaque, so ARGB32 contains plain 8-bit RGB.
class PngImage {
 public:
  explicit PngImage(const std::string& path)
      : surface_(cairo_image_surface_create_from_png(path.c_str())) {}
  ~PngImage() { cairo_surface_destroy(surface_); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;

  bool valid() const { return cairo_surface_status(surface_) == CAIRO_STATUS_SUCCESS; }
  int width_px() const { return cairo_image_surface_get_width(surface_); }
  int height_px() const { return cairo_image_surface_get_height(surface_); }

  Rgb8 pixel(double x_px, double y_px) const {
    const int x = static_cast<int>(std::floor(x_px));
    const int y = static_cast<int>(std::floor(y_px));
    REQUIRE(x >= 0);
    REQUIRE(x < width_px());
    REQUIRE(y >= 0);
    REQUIRE(y < height_px());
    const unsigned char* row =
        cairo_image_surface_get_data(surface_) + y * cairo_image_surface_get_stride(surface_);
    const uint32_t argb = reinterpret_cast<const uint32_t*>(row)[x];
    return {static_cast<int>((argb >> 16) & 0xff), static_cast<int>((argb >> 8) & 0xff),
            static_cast<int>(argb & 0xff)};
  }

 private:
  cairo_surface_t* surface_;
};

void check_color(const Rgb8& actual, const Rgb8& expected) {
  CHECK(std::abs(actual.r - expected.r) <= kChannelTolerance);
  CHECK(std::abs(actual.g - expected.g) <= kChannelTolerance);
  CHECK(std::abs(actual.b - expected.b) <= kChannelTolerance);
}

// CIE L* of an sRGB colour, the lightness that viridis is designed to increase evenly.
double cie_lightness(const lsi::Rgb& color) {
  auto linear = [](double c) {
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  const double luminance =
      0.2126 * linear(color.r) + 0.7152 * linear(color.g) + 0.0722 * linear(color.b);
  return luminance > 216.0 / 24389.0 ? 116.0 * std::cbrt(luminance) - 16.0
                                     : luminance * 24389.0 / 27.0;
}

std::string example_dir_or(const TempDir& temp) {
  const char* dir = std::getenv("LSI_PLOTS_EXAMPLE_DIR");
  if (dir == nullptr || *dir == '\0') {
    return temp.file("");
  }
  fs::create_directories(dir);
  return dir;
}

lsi::DigitElite make_elite(double boldness, double lightness, float pixel_value = 0.0f) {
  lsi::DigitElite elite;
  elite.measure_0 = boldness;
  elite.measure_1 = lightness;
  elite.image.assign(lsi::kPixels, pixel_value);
  elite.objective = 0.5;
  return elite;
}

// A synthetic "8": two stacked rings whose stroke width and size set the boldness and whose ink
// value sets the lightness, with the measures computed as the tutorial computes them.
lsi::DigitElite make_synthetic_eight(double stroke_px, double ink, double size) {
  lsi::DigitElite elite;
  elite.image.assign(lsi::kPixels, 0.0f);
  const double top_radius_px = 4.5 * size;
  const double bottom_radius_px = 5.5 * size;
  for (int row = 0; row < lsi::kImageSide; ++row) {
    for (int col = 0; col < lsi::kImageSide; ++col) {
      const double dx = col - 13.5;
      const double top_px = std::hypot(dx, row - (13.5 - top_radius_px)) - top_radius_px;
      const double bottom_px = std::hypot(dx, row - (13.5 + bottom_radius_px)) - bottom_radius_px;
      const double distance_px = std::min(std::fabs(top_px), std::fabs(bottom_px));
      const double coverage = std::clamp(stroke_px / 2.0 + 0.5 - distance_px, 0.0, 1.0);
      elite.image[row * lsi::kImageSide + col] = static_cast<float>(ink * coverage);
    }
  }

  int n_bold = 0;
  double bold_sum = 0.0;
  for (float value : elite.image) {
    if (value >= 0.5f) {
      ++n_bold;
      bold_sum += value;
    }
  }
  elite.measure_0 = n_bold;
  elite.measure_1 = bold_sum / (n_bold + 1);
  elite.objective = 0.9;
  return elite;
}

}  // namespace

TEST_CASE("viridis endpoints and clamping") {
  const lsi::Rgb low = lsi::viridis(0.0);
  CHECK(low.r == doctest::Approx(0.267004).epsilon(1e-3));
  CHECK(low.g == doctest::Approx(0.004874).epsilon(0.05));
  CHECK(low.b == doctest::Approx(0.329415).epsilon(1e-3));

  const lsi::Rgb high = lsi::viridis(1.0);
  CHECK(high.r == doctest::Approx(0.993248).epsilon(1e-3));
  CHECK(high.g == doctest::Approx(0.906157).epsilon(1e-3));
  CHECK(high.b == doctest::Approx(0.143936).epsilon(1e-3));

  const lsi::Rgb below = lsi::viridis(-3.0);
  CHECK(below.r == low.r);
  CHECK(below.b == low.b);
  const lsi::Rgb above = lsi::viridis(7.0);
  CHECK(above.g == high.g);
  const lsi::Rgb from_nan = lsi::viridis(kNaN);
  CHECK(from_nan.r == low.r);
}

TEST_CASE("viridis lightness increases monotonically") {
  constexpr int kSamples = 1000;
  double previous = cie_lightness(lsi::viridis(0.0));
  for (int i = 1; i <= kSamples; ++i) {
    const double t = static_cast<double>(i) / kSamples;
    const double lightness = cie_lightness(lsi::viridis(t));
    INFO("t = " << t);
    CHECK(lightness > previous);
    previous = lightness;
  }
  CHECK(cie_lightness(lsi::viridis(0.0)) < 20.0);
  CHECK(cie_lightness(lsi::viridis(1.0)) > 85.0);
}

TEST_CASE("ticks use nice steps") {
  const lsi::AxisTicks boldness = lsi::choose_ticks(0.0, 784.0, 8);
  REQUIRE(boldness.values.size() == 8);
  CHECK(boldness.values.front() == 0.0);
  CHECK(boldness.values.back() == doctest::Approx(700.0));
  CHECK(boldness.labels[1] == "100");

  const lsi::AxisTicks lightness = lsi::choose_ticks(0.5, 1.0, 6);
  REQUIRE(lightness.values.size() == 6);
  CHECK(lightness.labels.front() == "0.5");
  CHECK(lightness.labels.back() == "1.0");

  const lsi::AxisTicks objective = lsi::choose_ticks(0.0, 1.0, 5);
  REQUIRE(objective.labels.size() == 6);
  CHECK(objective.labels[1] == "0.2");

  CHECK(lsi::decimals_for_step(25.0) == 0);
  CHECK(lsi::decimals_for_step(2.5) == 1);
  CHECK(lsi::decimals_for_step(0.05) == 2);
  CHECK(lsi::decimals_for_step(0.4 / 6.0) == 2);
  CHECK(lsi::format_tick(-1e-9, 2) == "0.00");
  CHECK_THROWS_AS(lsi::choose_ticks(1.0, 1.0, 5), std::invalid_argument);
}

TEST_CASE("heatmap cells have their value colour") {
  TempDir temp;
  lsi::HeatmapSpec spec;
  spec.n_x = 4;
  spec.n_y = 3;
  spec.x_low = 0.0;
  spec.x_high = 784.0;
  spec.y_low = 0.5;
  spec.y_high = 1.0;
  spec.title = "test heatmap";

  // Index ix * n_y + iy; every cell a distinct value except one empty cell.
  std::vector<double> values(spec.n_x * spec.n_y);
  for (int ix = 0; ix < spec.n_x; ++ix) {
    for (int iy = 0; iy < spec.n_y; ++iy) {
      values[ix * spec.n_y + iy] = (ix * spec.n_y + iy) / 11.0;
    }
  }
  values[2 * spec.n_y + 1] = kNaN;

  const std::string path = (fs::path(example_dir_or(temp)) / "example_small_heatmap.png").string();
  lsi::write_heatmap_png(path, spec, values);

  const PngImage png(path);
  REQUIRE(png.valid());
  CHECK(png.width_px() == lsi::kHeatmapWidthPx);
  CHECK(png.height_px() == lsi::kHeatmapHeightPx);

  SUBCASE("filled cells") {
    for (int ix = 0; ix < spec.n_x; ++ix) {
      for (int iy = 0; iy < spec.n_y; ++iy) {
        const double value = values[ix * spec.n_y + iy];
        if (std::isnan(value)) {
          continue;
        }
        INFO("cell (" << ix << ", " << iy << ")");
        const lsi::PixelPoint center = lsi::heatmap_cell_center_px(spec, ix, iy);
        check_color(png.pixel(center.x_px, center.y_px), to_rgb8(lsi::viridis(value)));
      }
    }
  }

  SUBCASE("empty cell") {
    const lsi::PixelPoint center = lsi::heatmap_cell_center_px(spec, 2, 1);
    check_color(png.pixel(center.x_px, center.y_px), to_rgb8(lsi::kHeatmapEmptyColor));
  }

  SUBCASE("x increases right and y increases up") {
    const lsi::PixelPoint origin = lsi::heatmap_cell_center_px(spec, 0, 0);
    const lsi::PixelPoint right = lsi::heatmap_cell_center_px(spec, 1, 0);
    const lsi::PixelPoint up = lsi::heatmap_cell_center_px(spec, 0, 1);
    CHECK(right.x_px > origin.x_px);
    CHECK(up.y_px < origin.y_px);
    CHECK(origin.x_px > lsi::kHeatmapPlotLeftPx);
    CHECK(origin.y_px < lsi::kHeatmapPlotTopPx + lsi::kHeatmapPlotHeightPx);
  }
}

TEST_CASE("heatmap of a 200 x 200 archive") {
  TempDir temp;
  lsi::HeatmapSpec spec;
  spec.n_x = 200;
  spec.n_y = 200;
  spec.x_high = 784.0;
  spec.y_low = 0.5;
  spec.y_high = 1.0;

  // Cells are under 3 px wide here, so their centre pixels must still carry their own colour.
  std::vector<double> values(spec.n_x * spec.n_y, kNaN);
  values[37 * spec.n_y + 151] = 0.9;
  values[38 * spec.n_y + 151] = 0.1;
  values[199 * spec.n_y + 0] = 1.0;

  const std::string path = temp.file("heatmap_200.png");
  lsi::write_heatmap_png(path, spec, values);
  const PngImage png(path);
  REQUIRE(png.valid());

  const lsi::PixelPoint bright = lsi::heatmap_cell_center_px(spec, 37, 151);
  check_color(png.pixel(bright.x_px, bright.y_px), to_rgb8(lsi::viridis(0.9)));
  const lsi::PixelPoint dark = lsi::heatmap_cell_center_px(spec, 38, 151);
  check_color(png.pixel(dark.x_px, dark.y_px), to_rgb8(lsi::viridis(0.1)));
  const lsi::PixelPoint corner = lsi::heatmap_cell_center_px(spec, 199, 0);
  check_color(png.pixel(corner.x_px, corner.y_px), to_rgb8(lsi::viridis(1.0)));
  const lsi::PixelPoint empty = lsi::heatmap_cell_center_px(spec, 100, 100);
  check_color(png.pixel(empty.x_px, empty.y_px), to_rgb8(lsi::kHeatmapEmptyColor));
}

TEST_CASE("heatmap rejects invalid input") {
  TempDir temp;
  lsi::HeatmapSpec spec;
  spec.n_x = 2;
  spec.n_y = 2;
  const std::string path = temp.file("invalid.png");

  CHECK_THROWS_AS(lsi::write_heatmap_png(path, spec, std::vector<double>(3, 0.5)),
                  std::invalid_argument);

  spec.n_x = 0;
  CHECK_THROWS_AS(lsi::write_heatmap_png(path, spec, {}), std::invalid_argument);

  spec.n_x = 2;
  spec.value_min = 1.0;
  spec.value_max = 1.0;
  CHECK_THROWS_AS(lsi::write_heatmap_png(path, spec, std::vector<double>(4, 0.5)),
                  std::invalid_argument);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("heatmap write to missing folder names the path") {
  TempDir temp;
  lsi::HeatmapSpec spec;
  spec.n_x = 2;
  spec.n_y = 2;
  const std::string path = temp.file("no_such_folder/heatmap.png");

  try {
    lsi::write_heatmap_png(path, spec, std::vector<double>(4, 0.5));
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()).find(path) != std::string::npos);
  }
}

TEST_CASE("grid targets split the occupied range") {
  const std::vector<lsi::DigitElite> elites = {make_elite(0.0, 0.0), make_elite(100.0, 1.0)};
  lsi::DigitGridSpec spec;
  spec.n_cols = 2;
  spec.n_rows = 2;

  const lsi::GridTargets targets = lsi::grid_targets(elites, spec);
  REQUIRE(targets.measure_0.size() == 2);
  REQUIRE(targets.measure_1.size() == 2);
  CHECK(targets.measure_0[0] == doctest::Approx(25.0));
  CHECK(targets.measure_0[1] == doctest::Approx(75.0));
  CHECK(targets.measure_1[0] == doctest::Approx(0.25));
  CHECK(targets.measure_1[1] == doctest::Approx(0.75));
}

TEST_CASE("grid selection picks nearest elites") {
  // Range [0, 100] x [0, 1]; tile centres at boldness 25, 75 and lightness 0.25, 0.75.
  const std::vector<lsi::DigitElite> elites = {
      make_elite(0.0, 0.0),     // 0: corner, 0.71 tiles from tile (col 0, row 0)
      make_elite(100.0, 1.0),   // 1: corner, 0.71 tiles from tile (col 1, row 1)
      make_elite(24.0, 0.26),   // 2: beside the centre of (col 0, row 0)
      make_elite(76.0, 0.24),   // 3: beside the centre of (col 1, row 0)
      make_elite(70.0, 0.70),   // 4: near the centre of (col 1, row 1)
  };
  lsi::DigitGridSpec spec;
  spec.n_cols = 2;
  spec.n_rows = 2;

  const std::vector<int> selection = lsi::select_grid_elites(elites, spec);
  REQUIRE(selection.size() == 4);
  CHECK(selection[0 * 2 + 0] == 2);
  CHECK(selection[0 * 2 + 1] == 3);
  CHECK(selection[1 * 2 + 0] == lsi::kNoElite);
  CHECK(selection[1 * 2 + 1] == 4);
}

TEST_CASE("grid selection uses each elite once") {
  // One row of two tiles over the range [0, 100] x [0, 1]; tile centres at (0.5, 0.5) and
  // (1.5, 0.5) in tile spacings.
  lsi::DigitGridSpec spec;
  spec.n_cols = 2;
  spec.n_rows = 1;
  const std::vector<lsi::DigitElite> elites = {
      make_elite(0.0, 1.0),    // 0: at (0.0, 1.0), 0.71 from tile 0
      make_elite(45.0, 0.5),   // 1: at (0.9, 0.5), 0.4 from tile 0 and 0.6 from tile 1
      make_elite(100.0, 0.0),  // 2: at (2.0, 0.0), 0.71 from tile 1
  };

  // Elite 1 is the nearest to both tiles; tile 0 takes it, so tile 1 gets elite 2.
  spec.max_distance_tiles = 0.75;
  CHECK(lsi::select_grid_elites(elites, spec) == std::vector<int>{1, 2});

  // With elite 2 out of reach, tile 1 stays empty instead of showing elite 1 twice.
  spec.max_distance_tiles = 0.65;
  CHECK(lsi::select_grid_elites(elites, spec) == std::vector<int>{1, lsi::kNoElite});
}

TEST_CASE("grid selection leaves far tiles empty") {
  const std::vector<lsi::DigitElite> elites = {make_elite(0.0, 0.0), make_elite(100.0, 1.0),
                                               make_elite(30.0, 0.3)};
  lsi::DigitGridSpec spec;
  spec.n_cols = 2;
  spec.n_rows = 2;
  spec.max_distance_tiles = 0.2;

  const std::vector<int> selection = lsi::select_grid_elites(elites, spec);
  CHECK(selection == std::vector<int>{2, lsi::kNoElite, lsi::kNoElite, lsi::kNoElite});

  CHECK(lsi::select_grid_elites({}, spec) == std::vector<int>(4, lsi::kNoElite));

  spec.max_distance_tiles = 0.0;
  CHECK_THROWS_AS(lsi::select_grid_elites(elites, spec), std::invalid_argument);
}

TEST_CASE("digit grid draws the selected digits") {
  TempDir temp;
  std::vector<lsi::DigitElite> elites = {
      make_elite(0.0, 0.0, 0.0f),     // 0: not selected
      make_elite(100.0, 1.0, 0.0f),   // 1: not selected
      make_elite(24.0, 0.26, 1.0f),   // 2: tile (col 0, row 0), all white
      make_elite(76.0, 0.24, 0.0f),   // 3: tile (col 1, row 0), all black
      make_elite(70.0, 0.70, 0.0f),   // 4: tile (col 1, row 1), white top half
  };
  for (int row = 0; row < lsi::kImageSide / 2; ++row) {
    for (int col = 0; col < lsi::kImageSide; ++col) {
      elites[4].image[row * lsi::kImageSide + col] = 1.0f;
    }
  }
  lsi::DigitGridSpec spec;
  spec.n_cols = 2;
  spec.n_rows = 2;
  spec.title = "test grid";

  const std::string path = temp.file("grid.png");
  lsi::write_digit_grid_png(path, spec, elites);
  const PngImage png(path);
  REQUIRE(png.valid());
  const lsi::FigureSize size = lsi::digit_grid_size_px(spec);
  CHECK(png.width_px() == size.width_px);
  CHECK(png.height_px() == size.height_px);

  // Pixel (image_row, image_col) of the digit in tile (col, row), row 0 at the bottom.
  const int tile_px = lsi::kImageSide * spec.pixels_per_image_pixel;
  auto tile_pixel = [&](int col, int row, int image_row, int image_col) {
    const double x_px = lsi::kDigitGridPlotLeftPx + col * tile_px +
                        (image_col + 0.5) * spec.pixels_per_image_pixel;
    const double y_px = lsi::kDigitGridPlotTopPx + (spec.n_rows - 1 - row) * tile_px +
                        (image_row + 0.5) * spec.pixels_per_image_pixel;
    return png.pixel(x_px, y_px);
  };
  const Rgb8 white{255, 255, 255};
  const Rgb8 black{0, 0, 0};
  check_color(tile_pixel(0, 0, 14, 14), white);
  check_color(tile_pixel(1, 0, 14, 14), black);
  check_color(tile_pixel(1, 1, 7, 14), white);
  check_color(tile_pixel(1, 1, 21, 14), black);

  // The empty tile is neither black nor white.
  const Rgb8 empty = tile_pixel(0, 1, 14, 14);
  CHECK(empty.r > 60);
  CHECK(empty.r < 200);
}

TEST_CASE("digit grid rejects bad input and missing folders") {
  TempDir temp;
  lsi::DigitGridSpec spec;
  std::vector<lsi::DigitElite> elites = {make_elite(10.0, 0.6), make_elite(20.0, 0.7)};

  const std::string missing = temp.file("no_such_folder/grid.png");
  try {
    lsi::write_digit_grid_png(missing, spec, elites);
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()).find(missing) != std::string::npos);
  }

  elites[1].image.resize(100);
  CHECK_THROWS_AS(lsi::write_digit_grid_png(temp.file("bad.png"), spec, elites),
                  std::invalid_argument);

  elites[1].image.resize(lsi::kPixels);
  elites[1].measure_1 = kNaN;
  CHECK_THROWS_AS(lsi::select_grid_elites(elites, spec), std::invalid_argument);
}

TEST_CASE("example figures of a synthetic archive") {
  TempDir temp;
  const fs::path out_dir = example_dir_or(temp);

  // Random synthetic eights fill a 200 x 200 archive over the tutorial's ranges, best per cell.
  // Their objective falls off away from a favoured boldness and lightness.
  lsi::HeatmapSpec heatmap;
  heatmap.n_x = 200;
  heatmap.n_y = 200;
  heatmap.x_low = 0.0;
  heatmap.x_high = 784.0;
  heatmap.y_low = 0.5;
  heatmap.y_high = 1.0;
  heatmap.title = "Archive of synthetic eights (example data)";
  std::vector<double> values(heatmap.n_x * heatmap.n_y, kNaN);
  std::vector<lsi::DigitElite> cell_elites(values.size());
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> stroke_px(0.5, 5.0);
  std::uniform_real_distribution<double> ink(0.55, 1.0);
  std::uniform_real_distribution<double> size(0.8, 1.15);
  for (int sample = 0; sample < 20000; ++sample) {
    lsi::DigitElite elite = make_synthetic_eight(stroke_px(rng), ink(rng), size(rng));
    const double objective_bump = std::pow((elite.measure_0 - 180.0) / 120.0, 2.0) +
                                  std::pow((elite.measure_1 - 0.85) / 0.25, 2.0);
    elite.objective = std::exp(-objective_bump);
    const int ix = static_cast<int>(elite.measure_0 / 784.0 * heatmap.n_x);
    const int iy = static_cast<int>((elite.measure_1 - 0.5) / 0.5 * heatmap.n_y);
    if (ix < 0 || ix >= heatmap.n_x || iy < 0 || iy >= heatmap.n_y) {
      continue;
    }
    double& cell = values[ix * heatmap.n_y + iy];
    if (std::isnan(cell) || elite.objective > cell) {
      cell = elite.objective;
      cell_elites[ix * heatmap.n_y + iy] = elite;
    }
  }
  std::vector<lsi::DigitElite> elites;
  for (size_t cell = 0; cell < values.size(); ++cell) {
    if (!std::isnan(values[cell])) {
      elites.push_back(cell_elites[cell]);
    }
  }
  REQUIRE(!elites.empty());

  const std::string heatmap_path = (out_dir / "example_heatmap.png").string();
  lsi::write_heatmap_png(heatmap_path, heatmap, values);
  CHECK(PngImage(heatmap_path).valid());

  lsi::DigitGridSpec grid;
  grid.title = "Synthetic eights across the archive (example data)";
  const std::string grid_path = (out_dir / "example_digit_grid.png").string();
  lsi::write_digit_grid_png(grid_path, grid, elites);
  CHECK(PngImage(grid_path).valid());
}
