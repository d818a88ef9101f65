// Tests of GridArchive: the cell index rule, batch add semantics, non-finite rejection, stats
// and elite sampling.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "qd/add_status.h"
#include "qd/grid_archive.h"
#include "qd/philox.h"

namespace {

using lsi::qd::AddResult;
using lsi::qd::AddStatus;
using lsi::qd::GridArchive;
using lsi::qd::RowMatrixXd;
using lsi::qd::RowMatrixXf;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A batch for a one-measure archive with solution_dim 1. Solution i is the value 100 + i, so
// the stored solution identifies the batch row that entered.
struct Batch1D {
  RowMatrixXf solutions;
  Eigen::VectorXd objectives;
  RowMatrixXd measures;
};

Batch1D make_batch_1d(const std::vector<double>& objectives, const std::vector<double>& measures) {
  Batch1D batch;
  const auto n = static_cast<Eigen::Index>(objectives.size());
  batch.solutions.resize(n, 1);
  batch.objectives.resize(n);
  batch.measures.resize(n, 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    batch.solutions(i, 0) = 100.0f + static_cast<float>(i);
    batch.objectives[i] = objectives[i];
    batch.measures(i, 0) = measures[i];
  }
  return batch;
}

GridArchive make_archive_1d() { return GridArchive(1, {4}, {{-1.0, 1.0}}); }

std::int64_t index_1d(const GridArchive& archive, double measure) {
  return archive.index_of(&measure);
}

}  // namespace

TEST_CASE("AddStatus to_string") {
  CHECK(std::string(to_string(AddStatus::kNotAdded)) == "not_added");
  CHECK(std::string(to_string(AddStatus::kImproveExisting)) == "improve_existing");
  CHECK(std::string(to_string(AddStatus::kNew)) == "new");
  CHECK(static_cast<int>(AddStatus::kNotAdded) == 0);
  CHECK(static_cast<int>(AddStatus::kImproveExisting) == 1);
  CHECK(static_cast<int>(AddStatus::kNew) == 2);
}

TEST_CASE("index rule at range boundaries") {
  // Four cells over [-1, 1], each 0.5 wide.
  const GridArchive archive = make_archive_1d();

  CHECK(index_1d(archive, -1.0) == 0);   // low lands in the first cell
  CHECK(index_1d(archive, 1.0) == 3);    // high lands in the last cell
  CHECK(index_1d(archive, 0.999) == 3);  // just below high
  CHECK(index_1d(archive, -0.5) == 1);   // an interior boundary starts the upper cell
  CHECK(index_1d(archive, 0.0) == 2);
  CHECK(index_1d(archive, 0.49999) == 2);

  // The epsilon of 1e-6 added to dims * (m - low) moves values up to 1e-6 / dims = 2.5e-7 below
  // a boundary into the upper cell.
  CHECK(index_1d(archive, 0.5 - 1e-7) == 3);
  CHECK(index_1d(archive, 0.5 - 1e-6) == 2);

  // Values outside the range land in the edge cells.
  CHECK(index_1d(archive, -1.0001) == 0);
  CHECK(index_1d(archive, -1e300) == 0);
  CHECK(index_1d(archive, 1.0001) == 3);
  CHECK(index_1d(archive, 1e300) == 3);
}

TEST_CASE("index rule flattens row-major") {
  const GridArchive archive(2, {3, 5}, {{0.0, 3.0}, {0.0, 5.0}});
  CHECK(archive.n_cells() == 15);
  CHECK(archive.index_of(Eigen::Vector2d(0.0, 0.0)) == 0);
  CHECK(archive.index_of(Eigen::Vector2d(0.0, 4.5)) == 4);
  CHECK(archive.index_of(Eigen::Vector2d(1.5, 0.0)) == 5);
  CHECK(archive.index_of(Eigen::Vector2d(2.5, 3.5)) == 2 * 5 + 3);
  CHECK(archive.index_of(Eigen::Vector2d(3.0, 5.0)) == 14);
  CHECK_THROWS_AS(archive.index_of(Eigen::Vector3d(0.0, 0.0, 0.0)), std::invalid_argument);
}

TEST_CASE("constructor rejects invalid grids") {
  using Ranges = std::vector<std::pair<double, double>>;
  CHECK_THROWS_AS(GridArchive(0, {4}, Ranges{{0.0, 1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {}, Ranges{}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {4, 4}, Ranges{{0.0, 1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {0}, Ranges{{0.0, 1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {4}, Ranges{{1.0, 1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {4}, Ranges{{2.0, 1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {4}, Ranges{{0.0, kInf}}), std::invalid_argument);
  CHECK_THROWS_AS(GridArchive(2, {4}, Ranges{{kNaN, 1.0}}), std::invalid_argument);
}

TEST_CASE("batch collision keeps the best") {
  GridArchive archive = make_archive_1d();
  AddResult result;

  // Rows 0 and 1 share cell 0; row 1 has the higher objective.
  const Batch1D batch = make_batch_1d({1.0, 2.0, 3.0}, {-0.9, -0.8, 0.9});
  archive.add(batch.solutions, batch.objectives, batch.measures, 7, result);

  // Both colliding rows found an empty cell before the batch, so both report kNew.
  REQUIRE(result.status.size() == 3);
  CHECK(result.status[0] == AddStatus::kNew);
  CHECK(result.status[1] == AddStatus::kNew);
  CHECK(result.status[2] == AddStatus::kNew);
  CHECK(result.value[0] == 1.0);
  CHECK(result.value[1] == 2.0);
  CHECK(result.value[2] == 3.0);

  const auto elite0 = archive.elite(0);
  CHECK(elite0.objective == 2.0);
  CHECK(elite0.solution[0] == 101.0f);
  CHECK(elite0.measures[0] == -0.8);
  CHECK(elite0.iteration == 7);
  CHECK(archive.elite(3).solution[0] == 102.0f);
  CHECK(archive.stats().num_elites == 2);
}

TEST_CASE("batch tie goes to the first in batch order") {
  GridArchive archive = make_archive_1d();
  AddResult result;

  const Batch1D batch = make_batch_1d({5.0, 5.0, 4.0}, {0.1, 0.2, 0.3});
  archive.add(batch.solutions, batch.objectives, batch.measures, 1, result);

  CHECK(result.status[0] == AddStatus::kNew);
  CHECK(result.status[1] == AddStatus::kNew);
  CHECK(result.status[2] == AddStatus::kNew);
  CHECK(archive.elite(2).solution[0] == 100.0f);
  CHECK(archive.elite(2).measures[0] == 0.1);
}

TEST_CASE("statuses judged against the pre-batch archive") {
  GridArchive archive = make_archive_1d();
  AddResult result;

  const Batch1D first = make_batch_1d({5.0}, {0.6});
  archive.add(first.solutions, first.objectives, first.measures, 1, result);
  REQUIRE(archive.is_occupied(3));

  // Every row lands in cell 3, whose elite has objective 5 before the batch.
  const Batch1D second = make_batch_1d({6.0, 7.0, 4.0, 5.0, 6.5}, {0.7, 0.8, 0.9, 1.0, 0.55});
  archive.add(second.solutions, second.objectives, second.measures, 2, result);

  CHECK(result.status[0] == AddStatus::kImproveExisting);
  CHECK(result.value[0] == doctest::Approx(1.0));
  CHECK(result.status[1] == AddStatus::kImproveExisting);
  CHECK(result.value[1] == doctest::Approx(2.0));
  CHECK(result.status[2] == AddStatus::kNotAdded);
  CHECK(result.value[2] == doctest::Approx(-1.0));
  // Equal to the elite is not an improvement: only strictly greater objectives enter.
  CHECK(result.status[3] == AddStatus::kNotAdded);
  CHECK(result.value[3] == 0.0);
  // Still judged against the old elite (5), not against row 1's 7.
  CHECK(result.status[4] == AddStatus::kImproveExisting);
  CHECK(result.value[4] == doctest::Approx(1.5));

  const auto elite = archive.elite(3);
  CHECK(elite.objective == 7.0);
  CHECK(elite.solution[0] == 101.0f);
  CHECK(elite.iteration == 2);
  CHECK(archive.stats().num_elites == 1);
}

TEST_CASE("non-finite objectives and measures are rejected") {
  GridArchive archive(1, {4, 4}, {{-1.0, 1.0}, {-1.0, 1.0}});
  AddResult result;

  RowMatrixXf solutions = RowMatrixXf::Zero(7, 1);
  Eigen::VectorXd objectives(7);
  objectives << kNaN, kInf, -kInf, 1.0, 1.0, 1.0, 2.0;
  RowMatrixXd measures(7, 2);
  measures << 0.1, 0.1,  //
      0.1, 0.1,          //
      0.1, 0.1,          //
      kNaN, 0.1,         //
      0.1, kInf,         //
      -kInf, 0.1,        //
      0.1, 0.1;
  archive.add(solutions, objectives, measures, 1, result);

  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    CHECK(result.status[i] == AddStatus::kNotAdded);
    CHECK(result.value[i] == -kInf);
  }
  CHECK(result.status[6] == AddStatus::kNew);
  CHECK(archive.rejected_non_finite() == 6);
  CHECK(archive.stats().num_elites == 1);
  CHECK(archive.stats().qd_score == 2.0);

  archive.clear();
  CHECK(archive.rejected_non_finite() == 0);
  CHECK(archive.empty());
}

TEST_CASE("add rejects mismatched shapes") {
  GridArchive archive(3, {4}, {{-1.0, 1.0}});
  AddResult result;
  const RowMatrixXf solutions = RowMatrixXf::Zero(2, 3);
  const Eigen::VectorXd objectives = Eigen::VectorXd::Zero(2);
  const RowMatrixXd measures = RowMatrixXd::Zero(2, 1);

  CHECK_THROWS_AS(archive.add(RowMatrixXf::Zero(2, 2), objectives, measures, 1, result),
                  std::invalid_argument);
  CHECK_THROWS_AS(archive.add(solutions, Eigen::VectorXd::Zero(3), measures, 1, result),
                  std::invalid_argument);
  CHECK_THROWS_AS(archive.add(solutions, objectives, RowMatrixXd::Zero(2, 2), 1, result),
                  std::invalid_argument);
  CHECK(archive.empty());
}

TEST_CASE("stats of a filled archive") {
  GridArchive archive = make_archive_1d();
  AddResult result;

  const auto empty_stats = archive.stats();
  CHECK(empty_stats.num_elites == 0);
  CHECK(empty_stats.coverage == 0.0);
  CHECK(empty_stats.qd_score == 0.0);
  CHECK(std::isnan(empty_stats.obj_max));
  CHECK(std::isnan(empty_stats.obj_mean));

  const Batch1D batch = make_batch_1d({1.0, -3.0, 8.0}, {-0.9, -0.1, 0.9});
  archive.add(batch.solutions, batch.objectives, batch.measures, 1, result);

  const auto stats = archive.stats();
  CHECK(stats.num_elites == 3);
  CHECK(stats.coverage == doctest::Approx(0.75));
  CHECK(stats.qd_score == doctest::Approx(6.0));
  CHECK(stats.obj_max == 8.0);
  CHECK(stats.obj_mean == doctest::Approx(2.0));

  CHECK(archive.occupied_cells() == std::vector<std::int64_t>{0, 1, 3});
  CHECK_FALSE(archive.is_occupied(2));
  CHECK_THROWS_AS(archive.elite(2), std::out_of_range);
  CHECK_THROWS_AS(archive.elite(4), std::out_of_range);
  CHECK_THROWS_AS(archive.is_occupied(-1), std::out_of_range);
}

TEST_CASE("flat arrays match the elites") {
  GridArchive archive(2, {2, 2}, {{0.0, 1.0}, {0.0, 1.0}});
  AddResult result;
  RowMatrixXf solutions(2, 2);
  solutions << 1.0f, 2.0f, 3.0f, 4.0f;
  const Eigen::VectorXd objectives = Eigen::Vector2d(0.5, 0.25);
  RowMatrixXd measures(2, 2);
  measures << 0.9, 0.1, 0.1, 0.9;
  archive.add(solutions, objectives, measures, 3, result);

  // Cell (1, 0) is flat index 2 and cell (0, 1) is flat index 1.
  CHECK(archive.occupied_by_cell() == std::vector<std::uint8_t>{0, 1, 1, 0});
  CHECK(archive.objectives_by_cell()[2] == 0.5);
  CHECK(archive.objectives_by_cell()[1] == 0.25);
  CHECK(archive.measures_by_cell()[2 * 2 + 0] == 0.9);
  CHECK(archive.measures_by_cell()[2 * 2 + 1] == 0.1);
  CHECK(archive.solutions_by_cell()[2 * 2 + 0] == 1.0f);
  CHECK(archive.solutions_by_cell()[1 * 2 + 1] == 4.0f);
  CHECK(archive.iterations_by_cell()[1] == 3);
}

TEST_CASE("sample_elites draws occupied cells uniformly") {
  GridArchive archive(1, {10}, {{0.0, 10.0}});
  lsi::qd::PhiloxStream stream(5, 0);
  CHECK_THROWS_AS(archive.sample_elites(1, stream), std::logic_error);

  AddResult result;
  const Batch1D batch = make_batch_1d({1.0, 1.0, 1.0, 1.0}, {0.5, 2.5, 4.5, 9.5});
  archive.add(batch.solutions, batch.objectives, batch.measures, 1, result);

  // 40,000 draws over 4 cells: each count is binomial with mean 10,000 and standard deviation
  // about 87, so 500 is more than 5 standard deviations.
  const std::vector<std::int64_t> cells = archive.sample_elites(40000, stream);
  std::map<std::int64_t, int> counts;
  for (const std::int64_t cell : cells) {
    ++counts[cell];
  }
  CHECK(counts.size() == 4);
  for (const std::int64_t cell : {0, 2, 4, 9}) {
    CAPTURE(cell);
    CHECK(counts[cell] > 9500);
    CHECK(counts[cell] < 10500);
  }
}

TEST_CASE("LSI-sized archive over many batches") {
  // 40,000 cells and batches of 150 as in the LSI setting, with one AddResult reused.
  GridArchive archive(128, {200, 200}, {{0.0, 784.0}, {0.5, 1.0}});
  AddResult result;
  lsi::qd::PhiloxStream stream(11, 0);
  RowMatrixXf solutions = RowMatrixXf::Zero(150, 128);
  Eigen::VectorXd objectives(150);
  RowMatrixXd measures(150, 2);

  std::set<std::int64_t> cells_seen;
  for (int iteration = 1; iteration <= 50; ++iteration) {
    for (int i = 0; i < 150; ++i) {
      objectives[i] = stream.normal();
      measures(i, 0) = 392.0 + 100.0 * stream.normal();
      measures(i, 1) = 0.75 + 0.1 * stream.normal();
      cells_seen.insert(archive.index_of(measures.row(i).data()));
    }
    archive.add(solutions, objectives, measures, iteration, result);
    CHECK(result.status.size() == 150);
  }
  CHECK(archive.stats().num_elites == static_cast<std::int64_t>(cells_seen.size()));
  CHECK(archive.stats().num_elites > 1000);
}

TEST_CASE("assign copies another archive's contents, in fill order") {
  GridArchive source(2, {3, 3}, {{0.0, 3.0}, {0.0, 3.0}});
  AddResult result;
  RowMatrixXf solutions(3, 2);
  solutions << 1, 2, 3, 4, 5, 6;
  Eigen::VectorXd objectives(3);
  objectives << 0.5, kNaN, 0.7;
  RowMatrixXd measures(3, 2);
  measures << 2.5, 0.5, 1.5, 1.5, 0.5, 2.5;
  source.add(solutions, objectives, measures, 4, result);

  GridArchive copy(2, {3, 3}, {{0.0, 3.0}, {0.0, 3.0}});
  copy.assign(source.occupied_cells(), source.objectives_by_cell(), source.measures_by_cell(),
              source.solutions_by_cell(), source.iterations_by_cell(),
              source.rejected_non_finite());
  CHECK(copy.occupied_cells() == source.occupied_cells());
  CHECK(copy.rejected_non_finite() == 1);
  CHECK(copy.stats().qd_score == doctest::Approx(1.2));
  for (const std::int64_t cell : source.occupied_cells()) {
    CHECK(copy.elite(cell).objective == source.elite(cell).objective);
    CHECK(copy.elite(cell).solution == source.elite(cell).solution);
    CHECK(copy.elite(cell).measures == source.elite(cell).measures);
    CHECK(copy.elite(cell).iteration == 4);
  }
  CHECK_FALSE(copy.is_occupied(4));
}

TEST_CASE("assign rejects bad cells and sizes and leaves the archive empty") {
  GridArchive archive(1, {4}, {{0.0, 1.0}});
  const std::vector<double> objectives(4, 1.0);
  const std::vector<double> measures(4, 0.5);
  const std::vector<float> solutions(4, 0.0f);
  const std::vector<std::int64_t> iterations(4, 1);
  CHECK_THROWS_AS(archive.assign({0, 0}, objectives, measures, solutions, iterations, 0),
                  std::invalid_argument);
  CHECK(archive.empty());
  CHECK_THROWS_AS(archive.assign({4}, objectives, measures, solutions, iterations, 0),
                  std::invalid_argument);
  CHECK_THROWS_AS(archive.assign({0}, {1.0}, measures, solutions, iterations, 0),
                  std::invalid_argument);
  std::vector<double> bad_objectives = objectives;
  bad_objectives[2] = kInf;
  CHECK_THROWS_AS(archive.assign({1, 2}, bad_objectives, measures, solutions, iterations, 0),
                  std::invalid_argument);
  CHECK(archive.empty());
  archive.assign({3, 1}, objectives, measures, solutions, iterations, 2);
  CHECK(archive.occupied_cells() == std::vector<std::int64_t>{3, 1});
}
