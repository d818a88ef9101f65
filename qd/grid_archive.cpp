// GridArchive: cell indexing, batch add against the pre-batch archive, stats and sampling.
#include "qd/grid_archive.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace lsi::qd {
namespace {

bool row_is_finite(const Eigen::Ref<const RowMatrixXd>& matrix, Eigen::Index row) {
  for (Eigen::Index j = 0; j < matrix.cols(); ++j) {
    if (!std::isfinite(matrix(row, j))) {
      return false;
    }
  }
  return true;
}

}  // namespace

GridArchive::GridArchive(int solution_dim, std::vector<int> dims,
                         std::vector<std::pair<double, double>> ranges)
    : solution_dim_(solution_dim), dims_(std::move(dims)) {
  if (solution_dim_ <= 0) {
    throw std::invalid_argument("GridArchive: solution_dim must be positive, got " +
                                std::to_string(solution_dim_));
  }
  if (dims_.empty()) {
    throw std::invalid_argument("GridArchive: dims must list at least one measure");
  }
  if (ranges.size() != dims_.size()) {
    throw std::invalid_argument("GridArchive: dims has " + std::to_string(dims_.size()) +
                                " entries but ranges has " + std::to_string(ranges.size()));
  }

  // Validate each measure and compute the row-major strides from the last measure backwards.
  const auto n_measures = static_cast<int>(dims_.size());
  strides_.assign(dims_.size(), 1);
  n_cells_ = 1;
  for (int i = n_measures - 1; i >= 0; --i) {
    const auto [low, high] = ranges[i];
    if (dims_[i] <= 0) {
      throw std::invalid_argument("GridArchive: dims[" + std::to_string(i) +
                                  "] must be positive, got " + std::to_string(dims_[i]));
    }
    if (!std::isfinite(low) || !std::isfinite(high) || !(low < high)) {
      throw std::invalid_argument("GridArchive: ranges[" + std::to_string(i) + "] = (" +
                                  std::to_string(low) + ", " + std::to_string(high) +
                                  ") must be finite with low < high");
    }
    strides_[i] = n_cells_;
    if (n_cells_ > std::numeric_limits<std::int64_t>::max() / dims_[i]) {
      throw std::invalid_argument("GridArchive: the number of cells overflows 64 bits");
    }
    n_cells_ *= dims_[i];
  }
  if (n_cells_ > std::numeric_limits<std::int64_t>::max() / solution_dim_) {
    throw std::invalid_argument("GridArchive: n_cells * solution_dim overflows 64 bits");
  }

  lower_bounds_.reserve(ranges.size());
  upper_bounds_.reserve(ranges.size());
  for (const auto& [low, high] : ranges) {
    lower_bounds_.push_back(low);
    upper_bounds_.push_back(high);
  }

  // Allocate every per-cell array once; add() never grows them.
  occupied_.assign(n_cells_, 0);
  objectives_.assign(n_cells_, 0.0);
  measures_.assign(n_cells_ * n_measures, 0.0);
  solutions_.assign(n_cells_ * solution_dim_, 0.0f);
  iterations_.assign(n_cells_, 0);
  occupied_cells_.reserve(n_cells_);
  batch_winner_by_cell_.assign(n_cells_, -1);
}

std::int64_t GridArchive::index_of(const double* measures) const {
  std::int64_t cell = 0;
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    // Clip in double before the cast, so far-away measures cannot overflow the integer.
    const double interval = upper_bounds_[i] - lower_bounds_[i];
    const double scaled = (dims_[i] * (measures[i] - lower_bounds_[i]) + kIndexEpsilon) / interval;
    const double clipped = std::clamp(std::floor(scaled), 0.0, static_cast<double>(dims_[i] - 1));
    cell += static_cast<std::int64_t>(clipped) * strides_[i];
  }
  return cell;
}

std::int64_t GridArchive::index_of(const Eigen::Ref<const Eigen::VectorXd>& measures) const {
  if (measures.size() != measure_dim()) {
    throw std::invalid_argument("GridArchive::index_of: expected " + std::to_string(measure_dim()) +
                                " measures, got " + std::to_string(measures.size()));
  }
  const Eigen::VectorXd contiguous = measures;
  return index_of(contiguous.data());
}

void GridArchive::add(const Eigen::Ref<const RowMatrixXf>& solutions,
                      const Eigen::Ref<const Eigen::VectorXd>& objectives,
                      const Eigen::Ref<const RowMatrixXd>& measures, std::int64_t iteration,
                      AddResult& result) {
  const Eigen::Index n_batch = solutions.rows();
  if (solutions.cols() != solution_dim_) {
    throw std::invalid_argument("GridArchive::add: solutions has " +
                                std::to_string(solutions.cols()) + " columns, expected " +
                                "solution_dim = " + std::to_string(solution_dim_));
  }
  if (objectives.size() != n_batch || measures.rows() != n_batch) {
    throw std::invalid_argument("GridArchive::add: batch sizes differ: " + std::to_string(n_batch) +
                                " solutions, " + std::to_string(objectives.size()) +
                                " objectives, " + std::to_string(measures.rows()) +
                                " measure rows");
  }
  if (measures.cols() != measure_dim()) {
    throw std::invalid_argument("GridArchive::add: measures has " +
                                std::to_string(measures.cols()) + " columns, expected " +
                                std::to_string(measure_dim()));
  }

  result.status.resize(n_batch);
  result.value.resize(n_batch);
  batch_cells_.resize(n_batch);
  touched_cells_.clear();

  // Step 1: judge every solution against the pre-batch archive and pick each cell's winner.
  // A later solution takes the cell only with a strictly higher objective, so on equal
  // objectives the first in batch order wins.
  for (Eigen::Index i = 0; i < n_batch; ++i) {
    const double objective = objectives[i];
    if (!std::isfinite(objective) || !row_is_finite(measures, i)) {
      // The lowest value, so that a rejected solution ranks below every finite one.
      result.status[i] = AddStatus::kNotAdded;
      result.value[i] = -std::numeric_limits<double>::infinity();
      batch_cells_[i] = -1;
      ++rejected_non_finite_;
      continue;
    }

    // Eigen::Ref keeps an inner stride of 1, so each row of the row-major measures is contiguous.
    const std::int64_t cell = index_of(measures.row(i).data());
    batch_cells_[i] = cell;

    if (!occupied_[cell]) {
      result.status[i] = AddStatus::kNew;
      result.value[i] = objective;
    } else if (objective > objectives_[cell]) {
      result.status[i] = AddStatus::kImproveExisting;
      result.value[i] = objective - objectives_[cell];
    } else {
      result.status[i] = AddStatus::kNotAdded;
      result.value[i] = objective - objectives_[cell];
      continue;
    }

    std::int64_t& winner = batch_winner_by_cell_[cell];
    if (winner < 0) {
      winner = i;
      touched_cells_.push_back(cell);
    } else if (objective > objectives[winner]) {
      winner = i;
    }
  }

  // Step 2: write each cell's winner and reset the scratch entry for the next batch.
  const int n_measures = measure_dim();
  for (const std::int64_t cell : touched_cells_) {
    const std::int64_t row = batch_winner_by_cell_[cell];
    batch_winner_by_cell_[cell] = -1;

    if (!occupied_[cell]) {
      occupied_[cell] = 1;
      occupied_cells_.push_back(cell);
    }
    objectives_[cell] = objectives[row];
    iterations_[cell] = iteration;
    for (int j = 0; j < n_measures; ++j) {
      measures_[cell * n_measures + j] = measures(row, j);
    }
    float* solution = solutions_.data() + cell * solution_dim_;
    for (int j = 0; j < solution_dim_; ++j) {
      solution[j] = solutions(row, j);
    }
  }
}

void GridArchive::clear() {
  std::fill(occupied_.begin(), occupied_.end(), 0);
  occupied_cells_.clear();
  rejected_non_finite_ = 0;
}

void GridArchive::assign(const std::vector<std::int64_t>& occupied_cells,
                         const std::vector<double>& objectives_by_cell,
                         const std::vector<double>& measures_by_cell,
                         const std::vector<float>& solutions_by_cell,
                         const std::vector<std::int64_t>& iterations_by_cell,
                         std::int64_t rejected_non_finite) {
  const auto n_cells = static_cast<std::size_t>(n_cells_);
  if (objectives_by_cell.size() != n_cells || iterations_by_cell.size() != n_cells ||
      measures_by_cell.size() != n_cells * measure_dim() ||
      solutions_by_cell.size() != n_cells * solution_dim_) {
    throw std::invalid_argument(
        "GridArchive::assign: the per-cell arrays do not match the archive's " +
        std::to_string(n_cells_) + " cells, " + std::to_string(measure_dim()) +
        " measures and solution size " + std::to_string(solution_dim_));
  }
  if (rejected_non_finite < 0) {
    throw std::invalid_argument("GridArchive::assign: negative rejected_non_finite count " +
                                std::to_string(rejected_non_finite));
  }

  // Validate and mark the cells, then copy the arrays whole: unoccupied entries are unspecified.
  clear();
  for (const std::int64_t cell : occupied_cells) {
    const bool inside = cell >= 0 && cell < n_cells_;
    if (!inside || occupied_[cell]) {
      clear();
      throw std::invalid_argument("GridArchive::assign: cell " + std::to_string(cell) +
                                  (inside ? " is listed twice" : " is outside the grid"));
    }
    bool finite = std::isfinite(objectives_by_cell[cell]);
    for (int j = 0; j < measure_dim(); ++j) {
      finite = finite && std::isfinite(measures_by_cell[cell * measure_dim() + j]);
    }
    if (!finite) {
      clear();
      throw std::invalid_argument("GridArchive::assign: cell " + std::to_string(cell) +
                                  " has a non-finite objective or measure");
    }
    occupied_[cell] = 1;
    occupied_cells_.push_back(cell);
  }
  objectives_ = objectives_by_cell;
  measures_ = measures_by_cell;
  solutions_ = solutions_by_cell;
  iterations_ = iterations_by_cell;
  rejected_non_finite_ = rejected_non_finite;
}

ArchiveStats GridArchive::stats() const {
  ArchiveStats stats;
  stats.num_elites = static_cast<std::int64_t>(occupied_cells_.size());
  stats.coverage = static_cast<double>(stats.num_elites) / static_cast<double>(n_cells_);
  if (stats.num_elites == 0) {
    stats.obj_max = std::numeric_limits<double>::quiet_NaN();
    stats.obj_mean = std::numeric_limits<double>::quiet_NaN();
    return stats;
  }

  // Summed afresh on each call, so no rounding error accumulates across batches.
  double objective_sum = 0.0;
  double objective_max = -std::numeric_limits<double>::infinity();
  for (const std::int64_t cell : occupied_cells_) {
    objective_sum += objectives_[cell];
    objective_max = std::max(objective_max, objectives_[cell]);
  }
  stats.qd_score = objective_sum;
  stats.obj_max = objective_max;
  stats.obj_mean = objective_sum / static_cast<double>(stats.num_elites);
  return stats;
}

std::vector<std::int64_t> GridArchive::sample_elites(std::int64_t n, PhiloxStream& stream) const {
  if (occupied_cells_.empty()) {
    throw std::logic_error("GridArchive::sample_elites: the archive is empty");
  }
  if (n < 0) {
    throw std::invalid_argument("GridArchive::sample_elites: n must be non-negative, got " +
                                std::to_string(n));
  }

  std::vector<std::int64_t> cells(n);
  for (std::int64_t& cell : cells) {
    cell = occupied_cells_[stream.uniform_below(occupied_cells_.size())];
  }
  return cells;
}

bool GridArchive::is_occupied(std::int64_t cell) const {
  check_cell(cell, "GridArchive::is_occupied");
  return occupied_[cell] != 0;
}

EliteView GridArchive::elite(std::int64_t cell) const {
  check_cell(cell, "GridArchive::elite");
  if (!occupied_[cell]) {
    throw std::out_of_range("GridArchive::elite: cell " + std::to_string(cell) + " is empty");
  }
  return EliteView{
      cell, objectives_[cell],
      Eigen::Map<const Eigen::VectorXd>(measures_.data() + cell * measure_dim(), measure_dim()),
      Eigen::Map<const Eigen::VectorXf>(solutions_.data() + cell * solution_dim_, solution_dim_),
      iterations_[cell]};
}

void GridArchive::check_cell(std::int64_t cell, const char* caller) const {
  if (cell < 0 || cell >= n_cells_) {
    throw std::out_of_range(std::string(caller) + ": cell " + std::to_string(cell) +
                            " is outside [0, " + std::to_string(n_cells_) + ")");
  }
}

}  // namespace lsi::qd
