// GridArchive: a MAP-Elites grid over measure space that keeps one elite per cell.
//
// Semantics follow pyribs's GridArchive with its default learning rate of 1, so a cell's
// acceptance threshold is its elite's objective. All per-cell data lives in flat arrays indexed
// by cell, ready to be copied to a GPU as is:
//   occupied   (C)      1 if the cell contains an elite
//   objectives (C)
//   measures   (C x M)  row-major
//   solutions  (C x S)  row-major, float, the values the caller evaluated
//   iterations (C)      iteration in which the elite was added
// where C is the number of cells, M the number of measures and S the solution size. Entries of
// unoccupied cells are unspecified, since clear() only resets the occupied flags.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <utility>
#include <vector>

#include "qd/add_result.h"
#include "qd/archive_stats.h"
#include "qd/matrix_types.h"
#include "qd/philox.h"

namespace lsi::qd {

// Read-only view of the elite in one cell; it is invalidated by the next add() or clear().
struct EliteView {
  std::int64_t cell;
  double objective;
  Eigen::Map<const Eigen::VectorXd> measures;  // (M,)
  Eigen::Map<const Eigen::VectorXf> solution;  // (S,)
  std::int64_t iteration;
};

class GridArchive {
 public:
  // Added to dims * (measure - low) before the division, as pyribs does, so that measures a
  // rounding error below a cell boundary land in the upper cell.
  static constexpr double kIndexEpsilon = 1e-6;

  // Creates an empty archive in which dims[i] cells cover measure i over ranges[i] = (low, high).
  // Both vectors have M entries. Throws std::invalid_argument on a non-positive size, an empty
  // or non-finite range, or a grid whose solution storage would overflow 64-bit sizes.
  GridArchive(int solution_dim, std::vector<int> dims,
              std::vector<std::pair<double, double>> ranges);

  // Returns the flat cell index of one measure vector (M values). Per measure the index is
  // floor((dims * (m - low) + kIndexEpsilon) / (high - low)) clipped to [0, dims - 1], so values
  // outside the range land in the edge cells and m == high lands in the last cell. The indices
  // are then flattened row-major (index = i0 * dims[1] + i1 for two measures). The measures
  // must be finite.
  std::int64_t index_of(const double* measures) const;
  std::int64_t index_of(const Eigen::Ref<const Eigen::VectorXd>& measures) const;

  // Adds a batch of B solutions, judging every one against the archive as it was before the
  // batch. When several solutions of the batch land in one cell, the one with the highest
  // objective enters, and ties go to the earliest in batch order. As in pyribs, the statuses
  // and values of the others still describe their comparison with the pre-batch elite.
  // A solution whose objective or any measure is NaN or infinite never enters; it gets
  // kNotAdded with value -infinity and is counted in rejected_non_finite().
  //   solutions  (B x S)
  //   objectives (B)
  //   measures   (B x M)
  //   iteration  stored with each elite that enters
  // Throws std::invalid_argument on mismatched shapes, before changing anything.
  void add(const Eigen::Ref<const RowMatrixXf>& solutions,
           const Eigen::Ref<const Eigen::VectorXd>& objectives,
           const Eigen::Ref<const RowMatrixXd>& measures, std::int64_t iteration,
           AddResult& result);

  // Empties every cell and resets the rejected_non_finite() counter.
  void clear();

  // Replaces the whole contents with those of another store laid out as this archive's flat
  // arrays (see the file comment), such as the device search's archive. occupied_cells lists the
  // occupied cells in the order they were first filled. The per-cell arrays have an entry for
  // every cell, and only the occupied cells' entries are read. Throws std::invalid_argument on a
  // size mismatch, a cell outside the grid or listed twice, or a non-finite objective or
  // measure, leaving the archive empty.
  void assign(const std::vector<std::int64_t>& occupied_cells,
              const std::vector<double>& objectives_by_cell,
              const std::vector<double>& measures_by_cell,
              const std::vector<float>& solutions_by_cell,
              const std::vector<std::int64_t>& iterations_by_cell,
              std::int64_t rejected_non_finite);

  ArchiveStats stats() const;

  // Draws n occupied cells uniformly with replacement, as pyribs's sample_elites does.
  // Throws std::logic_error when the archive is empty.
  std::vector<std::int64_t> sample_elites(std::int64_t n, PhiloxStream& stream) const;

  bool is_occupied(std::int64_t cell) const;

  // Throws std::out_of_range when the cell index is invalid or the cell is empty.
  EliteView elite(std::int64_t cell) const;

  // Occupied cells in the order they were first filled; iterate these to visit every elite.
  const std::vector<std::int64_t>& occupied_cells() const { return occupied_cells_; }

  int solution_dim() const { return solution_dim_; }
  int measure_dim() const { return static_cast<int>(dims_.size()); }
  std::int64_t n_cells() const { return n_cells_; }
  bool empty() const { return occupied_cells_.empty(); }
  const std::vector<int>& dims() const { return dims_; }
  const std::vector<double>& lower_bounds() const { return lower_bounds_; }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

  // Solutions rejected because their objective or measures were not finite, since the last
  // clear().
  std::int64_t rejected_non_finite() const { return rejected_non_finite_; }

  // Flat per-cell arrays, laid out as the file comment describes.
  const std::vector<std::uint8_t>& occupied_by_cell() const { return occupied_; }
  const std::vector<double>& objectives_by_cell() const { return objectives_; }
  const std::vector<double>& measures_by_cell() const { return measures_; }
  const std::vector<float>& solutions_by_cell() const { return solutions_; }
  const std::vector<std::int64_t>& iterations_by_cell() const { return iterations_; }

 private:
  void check_cell(std::int64_t cell, const char* caller) const;

  int solution_dim_;
  std::vector<int> dims_;
  std::vector<double> lower_bounds_;
  std::vector<double> upper_bounds_;
  std::vector<std::int64_t> strides_;  // row-major flattening factor of each measure
  std::int64_t n_cells_ = 0;

  std::vector<std::uint8_t> occupied_;
  std::vector<double> objectives_;
  std::vector<double> measures_;
  std::vector<float> solutions_;
  std::vector<std::int64_t> iterations_;
  std::vector<std::int64_t> occupied_cells_;
  std::int64_t rejected_non_finite_ = 0;

  // Scratch space reused by add(), so a batch allocates nothing once its size has been seen.
  // batch_cells_ is each solution's cell (-1 when rejected), batch_winner_by_cell_ the batch row
  // that will enter each cell (-1 for none), and touched_cells_ the cells that have a winner.
  std::vector<std::int64_t> batch_cells_;
  std::vector<std::int64_t> batch_winner_by_cell_;
  std::vector<std::int64_t> touched_cells_;
};

}  // namespace lsi::qd
