// Writing a run's results.
#include "app/run_output.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>

#include "app/plot_digit_grid.h"
#include "app/plot_heatmap.h"

namespace lsi {

namespace fs = std::filesystem;

namespace {

// Elites regenerated per call of the backend when rendering the archive.
constexpr int kRenderBatch = 4096;

std::unique_ptr<std::FILE, int (*)(std::FILE*)> open_for_writing(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "w"), std::fclose);
  if (!file) throw std::runtime_error("cannot write " + path);
  return file;
}

void close_checked(std::unique_ptr<std::FILE, int (*)(std::FILE*)>& file, const std::string& path) {
  if (std::ferror(file.get()) || std::fclose(file.release()) != 0) {
    throw std::runtime_error("writing " + path + " failed (disk full?)");
  }
}

std::string date_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d_%H-%M-%S", &local);
  return text;
}

}  // namespace

std::string create_output_dir(const std::string& requested) {
  if (!requested.empty()) {
    const fs::path dir(requested);
    if (fs::exists(dir) && !fs::is_directory(dir)) {
      throw std::runtime_error("output folder " + requested +
                               " is a file, not a folder; choose another --out");
    }
    if (dir.has_parent_path()) fs::create_directories(dir.parent_path());
    // create_directory returns false when the folder was already there, so of two runs given
    // the same --out at once only the first may use it (or a folder that is empty).
    const bool created = fs::create_directory(dir);
    if (!created && (!fs::is_directory(dir) || !fs::is_empty(dir))) {
      throw std::runtime_error("output folder " + requested +
                               " already exists and is not empty; choose another --out");
    }
    return dir.string();
  }

  // Two runs started in the same second get different folders: each claims its name by
  // creating it, and moves to the next suffix if another run created it first.
  fs::create_directories("runs");
  const std::string base = "runs/" + date_time_now();
  std::string candidate = base;
  for (int suffix = 2; !fs::create_directory(candidate); ++suffix) {
    candidate = base + "-" + std::to_string(suffix);
  }
  return candidate;
}

EliteImages render_elites(const qd::GridArchive& archive, Backend& backend, int digit) {
  EliteImages elites;
  for (std::int64_t cell = 0; cell < archive.n_cells(); ++cell) {
    if (archive.is_occupied(cell)) elites.cells.push_back(cell);
  }
  const auto n_elites = static_cast<int>(elites.cells.size());
  elites.images.resize(static_cast<size_t>(n_elites) * kPixels);
  elites.discriminator_scores.resize(n_elites);

  std::vector<float> latents;
  Evaluation evaluation;
  for (int begin = 0; begin < n_elites; begin += kRenderBatch) {
    const int n = std::min(kRenderBatch, n_elites - begin);
    latents.resize(static_cast<size_t>(n) * kLatentDim);
    for (int i = 0; i < n; ++i) {
      const auto solution = archive.elite(elites.cells[begin + i]).solution;
      std::copy(solution.data(), solution.data() + kLatentDim,
                latents.begin() + static_cast<std::ptrdiff_t>(i) * kLatentDim);
    }
    backend.evaluate(latents.data(), n, digit, evaluation);
    std::copy(evaluation.images.begin(), evaluation.images.end(),
              elites.images.begin() + static_cast<std::ptrdiff_t>(begin) * kPixels);
    backend.discriminate(evaluation.images.data(), n, elites.discriminator_scores.data() + begin);
  }
  return elites;
}

void write_archive_csv(const std::string& path, const qd::GridArchive& archive,
                       const EliteImages& elites) {
  auto file = open_for_writing(path);
  std::FILE* f = file.get();
  std::fprintf(f, "index,measure_0,measure_1,objective");
  for (int j = 0; j < archive.solution_dim(); ++j) std::fprintf(f, ",solution_%d", j);
  std::fprintf(f, ",discriminator_score,iteration\n");

  // %.17g and %.9g print doubles and floats exactly, so the file round-trips bit for bit.
  for (size_t i = 0; i < elites.cells.size(); ++i) {
    const qd::EliteView elite = archive.elite(elites.cells[i]);
    std::fprintf(f, "%lld,%.17g,%.17g,%.17g", static_cast<long long>(elite.cell),
                 elite.measures[0], elite.measures[1], elite.objective);
    for (int j = 0; j < archive.solution_dim(); ++j) std::fprintf(f, ",%.9g", elite.solution[j]);
    std::fprintf(f, ",%.9g,%lld\n", elites.discriminator_scores[i],
                 static_cast<long long>(elite.iteration));
  }
  close_checked(file, path);
}

void write_progress_csv(const std::string& path, const std::vector<ProgressRow>& rows) {
  auto file = open_for_writing(path);
  std::fprintf(file.get(), "iteration,evaluations,elapsed_s,num_elites,coverage,qd_score,"
                           "obj_max,obj_mean,restarts\n");
  for (const ProgressRow& r : rows) {
    std::fprintf(file.get(), "%lld,%lld,%.3f,%lld,%.9g,%.9g,%.9g,%.9g,%lld\n",
                 static_cast<long long>(r.iteration), static_cast<long long>(r.evaluations),
                 r.elapsed_s, static_cast<long long>(r.num_elites), r.coverage, r.qd_score,
                 r.obj_max, r.obj_mean, static_cast<long long>(r.restarts));
  }
  close_checked(file, path);
}

void write_json(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path);
  out << value.dump(2) << "\n";
  if (!out) throw std::runtime_error("writing " + path + " failed");
}

void write_pictures(const std::string& dir, const qd::GridArchive& archive,
                    const EliteImages& elites, int digit) {
  const int n_x = archive.dims()[0];
  const int n_y = archive.dims()[1];
  std::vector<double> objectives(archive.n_cells(), std::numeric_limits<double>::quiet_NaN());
  std::vector<double> scores = objectives;
  for (size_t i = 0; i < elites.cells.size(); ++i) {
    objectives[elites.cells[i]] = archive.elite(elites.cells[i]).objective;
    scores[elites.cells[i]] = elites.discriminator_scores[i];
  }

  HeatmapSpec spec;
  spec.n_x = n_x;
  spec.n_y = n_y;
  spec.x_low = archive.lower_bounds()[0];
  spec.x_high = archive.upper_bounds()[0];
  spec.y_low = archive.lower_bounds()[1];
  spec.y_high = archive.upper_bounds()[1];
  spec.title = "Elites for digit " + std::to_string(digit) + ": LeNet-5's probability";
  spec.colorbar_label = "objective (probability of " + std::to_string(digit) + ")";
  write_heatmap_png(dir + "/heatmap.png", spec, objectives);

  spec.title = "Elites for digit " + std::to_string(digit) + ": discriminator's score";
  spec.colorbar_label = "discriminator score (real = 1)";
  write_heatmap_png(dir + "/discriminator.png", spec, scores);

  std::vector<DigitElite> digits;
  for (size_t i = 0; i < elites.cells.size(); ++i) {
    const qd::EliteView elite = archive.elite(elites.cells[i]);
    const float* image = elites.images.data() + i * kPixels;
    digits.push_back({elite.measures[0], elite.measures[1],
                      std::vector<float>(image, image + kPixels), elite.objective});
  }
  DigitGridSpec grid;
  grid.title = "Elites for digit " + std::to_string(digit) + " across the archive";
  write_digit_grid_png(dir + "/digits.png", grid, digits);
}

}  // namespace lsi
