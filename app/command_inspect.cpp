// `lsi-cuda inspect FILE`: lists the tensors of a safetensors weight file with summary statistics,
// and prints the file's SHA-256 digest and metadata. A file that the loader rejects makes the
// command fail with the loader's error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "engine/safetensors.h"

namespace lsi {
namespace {

// Statistics of one tensor's finite values. NaN and infinities are only counted.
struct TensorStats {
  size_t n_finite = 0;
  size_t n_non_finite = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double mean = 0.0;
};

TensorStats compute_stats(const std::vector<float>& values) {
  TensorStats stats;
  double sum = 0.0;
  for (const float value : values) {
    if (!std::isfinite(value)) {
      ++stats.n_non_finite;
      continue;
    }
    ++stats.n_finite;
    stats.min = std::min(stats.min, static_cast<double>(value));
    stats.max = std::max(stats.max, static_cast<double>(value));
    sum += value;
  }
  if (stats.n_finite > 0) {
    stats.mean = sum / static_cast<double>(stats.n_finite);
  }
  return stats;
}

// Formats a statistic in 6 significant digits, or "-" for a tensor without finite values.
std::string format_stat(double value, bool defined) {
  if (!defined) {
    return "-";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void print_row(const std::vector<std::string>& cells, const std::vector<size_t>& widths) {
  std::string line;
  for (size_t column = 0; column < cells.size(); ++column) {
    const std::string& cell = cells[column];
    const std::string padding(widths[column] - std::min(widths[column], cell.size()), ' ');
    // The name, dtype and shape columns read left to right; the numbers align on the right.
    line += "  " + (column < 3 ? cell + padding : padding + cell);
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  std::cout << line << "\n";
}

void print_tensor_table(const WeightFile& file) {
  // Step 1: one row of text per tensor, so that the columns can be sized to fit.
  std::vector<std::vector<std::string>> rows = {
      {"name", "dtype", "shape", "values", "min", "max", "mean", "non-finite"}};
  for (const auto& [name, tensor] : file.tensors()) {
    const TensorStats stats = compute_stats(tensor.values);
    const bool defined = stats.n_finite > 0;
    rows.push_back({name, tensor.dtype, format_shape(tensor.shape),
                    std::to_string(tensor.values.size()), format_stat(stats.min, defined),
                    format_stat(stats.max, defined), format_stat(stats.mean, defined),
                    std::to_string(stats.n_non_finite)});
  }

  // Step 2: the widest cell of each column sets its width.
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t column = 0; column < row.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  for (const auto& row : rows) {
    print_row(row, widths);
  }
}

void run_inspect(const std::string& path) {
  const WeightFile file = WeightFile::load(path);

  std::cout << "file:    " << file.path() << "\n";
  std::cout << "sha256:  " << file.sha256() << "\n";
  std::cout << "metadata:" << (file.metadata().empty() ? " none" : "") << "\n";
  for (const auto& [key, value] : file.metadata()) {
    std::cout << "  " << key << ": " << value << "\n";
  }
  std::cout << "tensors: " << file.tensors().size() << "\n";
  if (!file.tensors().empty()) {
    print_tensor_table(file);
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  CLI::App* inspect = app.add_subcommand(
      "inspect", "List the tensors of a safetensors weight file, with its SHA-256 and metadata");
  auto path = std::make_shared<std::string>();
  inspect->add_option("file", *path, "Weight file written by tools/convert_weights.py")
      ->required();
  inspect->callback([path] { run_inspect(*path); });
}

}  // namespace lsi
