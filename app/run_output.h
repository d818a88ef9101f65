// The files of `lsi-cuda run`: archive.csv, summary.json, progress.csv and the three pictures.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/search.h"
#include "engine/backend.h"
#include "qd/grid_archive.h"

namespace lsi {

// Creates the output folder and returns its path. With `requested` empty it is
// runs/<date-time>/ (with a -2, -3, ... suffix if that exists); a requested folder may exist only
// if it is empty. Throws std::runtime_error rather than overwrite an earlier run.
std::string create_output_dir(const std::string& requested);

// The elites in archive order (ascending cell index) with their images and discriminator scores.
struct EliteImages {
  std::vector<std::int64_t> cells;
  std::vector<float> images;               // n_elites x 784, in [0, 1]
  std::vector<float> discriminator_scores; // n_elites
};

// Regenerates every elite's image from its latent and scores it with the discriminator.
EliteImages render_elites(const qd::GridArchive& archive, Backend& backend, int digit);

// One row per elite: index, measure_0, measure_1, objective, solution_0 .. solution_{S-1},
// discriminator_score, iteration.
void write_archive_csv(const std::string& path, const qd::GridArchive& archive,
                       const EliteImages& elites);

void write_progress_csv(const std::string& path, const std::vector<ProgressRow>& rows);

void write_json(const std::string& path, const nlohmann::json& value);

// heatmap.png (objective), discriminator.png (discriminator score) and digits.png.
void write_pictures(const std::string& dir, const qd::GridArchive& archive,
                    const EliteImages& elites, int digit);

}  // namespace lsi
