// The device archive's steps (kernels/search_archive_steps.h) run on the CPU by HostExecutor,
// in normal and in reversed index order, against qd::GridArchive. See search_archive_cases.h
// for the scenarios and the checks; every comparison is exact.
#include <doctest/doctest.h>

#include <cfloat>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/search_archive_steps.h"
#include "kernels/search_host_executor.h"
#include "qd/grid_archive.h"
#include "search_archive_cases.h"

namespace {

using lsi::search::HostExecutor;
using lsi_test::ArchiveEngine;
using lsi_test::HostAddResult;
using lsi_test::HostArchive;
using lsi_test::HostBatch;

class HostEngine : public ArchiveEngine {
 public:
  explicit HostEngine(bool reverse_order) : executor_(reverse_order) {}

  void start(HostArchive& archive) override {
    lsi::search::clear_archive(executor_, archive.view());
  }

  void add(const HostBatch& batch, HostAddResult& result, HostArchive& archive) override {
    result.reset(batch.n_batch());
    lsi::search::add_batch(executor_, archive.view(), lsi_test::host_batch_view(batch),
                           result.view());
  }

 private:
  HostExecutor executor_;
};

std::string executor_name(bool reverse_order) {
  return reverse_order ? "HostExecutor, reversed order" : "HostExecutor";
}

lsi::qd::GridArchive reference_archive(const lsi_test::GridSpec& grid) {
  return lsi::qd::GridArchive(grid.solution_dim, {grid.dims[0], grid.dims[1]},
                              {{grid.lower[0], grid.upper[0]}, {grid.lower[1], grid.upper[1]}});
}

}  // namespace

TEST_CASE("winner key orders objectives, then rows") {
  using lsi::search::winner_key_of;
  using lsi::search::winner_row_of;
  // Strictly increasing objectives, from the lowest finite float to the highest.
  const std::vector<float> objectives = {-FLT_MAX, -1.5f,  -1.0f,    -FLT_MIN, -1e-45f,
                                         0.0f,     1e-45f, FLT_MIN, 1.0f,     FLT_MAX};
  for (size_t k = 0; k + 1 < objectives.size(); ++k) {
    INFO("objectives " << objectives[k] << " < " << objectives[k + 1]);
    // The higher objective wins even from a later row.
    CHECK(winner_key_of(objectives[k], 0) < winner_key_of(objectives[k + 1], 65535));
  }
  for (const float objective : objectives) {
    INFO("objective " << objective);
    CHECK(winner_key_of(objective, 3) > winner_key_of(objective, 4));
    CHECK(winner_key_of(objective, 0) > lsi::search::kWinnerKeyAtRest);
    CHECK(winner_row_of(winner_key_of(objective, 12345)) == 12345);
  }
  // -0 and +0 compare equal, so the earlier row wins either way.
  CHECK(winner_key_of(-0.0f, 1) > winner_key_of(0.0f, 2));
  CHECK(winner_key_of(0.0f, 1) > winner_key_of(-0.0f, 2));
  CHECK(winner_row_of(winner_key_of(1.0f, INT_MAX - 1)) == INT_MAX - 1);
}

TEST_CASE("cell_of matches GridArchive::index_of at every boundary") {
  for (const lsi_test::GridSpec& grid : {lsi_test::program_grid(), lsi_test::small_grid()}) {
    const lsi::qd::GridArchive reference = reference_archive(grid);
    HostArchive archive(grid, 1);
    const lsi::search::ArchiveView view = archive.view();
    long long n_checked = 0;
    long long n_mismatches = 0;
    // Each boundary of each measure (the other measure at a boundary too), and four floats
    // on either side of it.
    for (int k = 0; k <= std::max(grid.dims[0], grid.dims[1]); ++k) {
      float boldness = static_cast<float>(
          grid.lower[0] + (grid.upper[0] - grid.lower[0]) * std::min(k, grid.dims[0]) /
                              grid.dims[0]);
      float lightness = static_cast<float>(
          grid.lower[1] + (grid.upper[1] - grid.lower[1]) * std::min(k, grid.dims[1]) /
                              grid.dims[1]);
      for (int step = 0; step < 4; ++step) {
        boldness = std::nextafter(boldness, -FLT_MAX);
        lightness = std::nextafter(lightness, -FLT_MAX);
      }
      for (int step = 0; step < 9; ++step) {
        const double measures[2] = {boldness, lightness};
        const long long cell = lsi::search::cell_of(view, boldness, lightness);
        if (cell != reference.index_of(measures)) {
          if (n_mismatches < 5) {
            MESSAGE("boldness " << boldness << ", lightness " << lightness << ": cell " << cell
                                << ", qd " << reference.index_of(measures));
          }
          ++n_mismatches;
        }
        ++n_checked;
        boldness = std::nextafter(boldness, FLT_MAX);
        lightness = std::nextafter(lightness, FLT_MAX);
      }
    }
    INFO(grid.name << ": " << n_checked << " measure pairs");
    CHECK(n_mismatches == 0);
  }
}

TEST_CASE("program grid matches GridArchive") {
  const lsi_test::Scenario scenario = lsi_test::program_grid_scenario();
  for (const bool reverse_order : {false, true}) {
    HostEngine engine(reverse_order);
    const lsi_test::ScenarioSummary summary =
        lsi_test::run_scenario(scenario, engine, executor_name(reverse_order));
    CHECK(summary.n_mismatches == 0);
    lsi_test::check_scenario_coverage(summary);
  }
}

TEST_CASE("small grid matches GridArchive") {
  const lsi_test::Scenario scenario = lsi_test::small_grid_scenario();
  for (const bool reverse_order : {false, true}) {
    HostEngine engine(reverse_order);
    const lsi_test::ScenarioSummary summary =
        lsi_test::run_scenario(scenario, engine, executor_name(reverse_order));
    CHECK(summary.n_mismatches == 0);
    lsi_test::check_scenario_coverage(summary);
  }
}

// The winners and the first-fill order that the hand-made batches were built for, checked
// directly, so that these cases do not rest on qd alone.
TEST_CASE("small grid hand-made batches: winners and order") {
  const lsi_test::Scenario scenario = lsi_test::small_grid_scenario();
  const int s = scenario.grid.solution_dim;
  for (const bool reverse_order : {false, true}) {
    INFO(executor_name(reverse_order));
    HostEngine engine(reverse_order);
    HostArchive archive(scenario.grid, scenario.max_batch_rows());
    HostAddResult result;
    engine.start(archive);
    // Returns the batch tag and row of the elite in a cell (solution[0] = 1000 * tag + row).
    auto elite_row = [&](long long cell) {
      return static_cast<long long>(archive.solutions[cell * s]);
    };

    engine.add(scenario.batches[0], result, archive);
    CHECK(elite_row(0) == 1);   // 2.0 beats 1.0 and ties with row 2
    CHECK(elite_row(10) == 3);  // 0.5 ties with row 4
    CHECK(elite_row(19) == 5);  // -0 ties with +0 in row 6
    CHECK(std::signbit(archive.objectives[19]));
    CHECK(elite_row(5) == 8);   // -2 beats -3 and ties with row 9
    CHECK(archive.iterations[0] == 10);
    CHECK(result.status[2] == lsi::search::kStatusNew);  // judged against the empty archive
    CHECK(result.value[2] == 2.0);
    CHECK(result.status[10] == lsi::search::kStatusNotAdded);  // NaN objective
    CHECK(result.value[10] == -HUGE_VAL);
    CHECK(result.cell[10] == -1);
    CHECK(archive.occupied_cells[0] == 0);
    CHECK(archive.occupied_cells[1] == 10);
    CHECK(archive.occupied_cells[2] == 19);
    CHECK(archive.occupied_cells[3] == 5);

    const unsigned long long n_before = archive.counters[lsi::search::kCounterOccupiedCells];
    engine.add(scenario.batches[1], result, archive);
    CHECK(result.status[1] == lsi::search::kStatusNotAdded);  // equals the elite
    CHECK(result.value[1] == 0.0);
    CHECK(result.status[2] == lsi::search::kStatusImproveExisting);
    CHECK(result.value[2] == 0.5);
    CHECK(result.status[9] == lsi::search::kStatusNotAdded);  // +0 against the elite -0
    CHECK(result.status[10] == lsi::search::kStatusImproveExisting);
    CHECK(elite_row(0) == 1003);
    CHECK(elite_row(14) == 1006);  // its first candidate, row 0, is not its winner
    CHECK(elite_row(10) == 1007);
    CHECK(elite_row(19) == 1010);
    CHECK(archive.iterations[14] == 11);
    CHECK(archive.iterations[5] == 11);
    // New cells in the order of their first candidates: 14 (row 0), 4 (row 5), 9 (row 12).
    CHECK(archive.occupied_cells[n_before] == 14);
    CHECK(archive.occupied_cells[n_before + 1] == 4);
    CHECK(archive.occupied_cells[n_before + 2] == 9);
  }
}

TEST_CASE("add_batch rejects a batch above the capacity") {
  const lsi_test::GridSpec grid = lsi_test::small_grid();
  HostArchive archive(grid, 4);
  HostExecutor executor;
  lsi::search::clear_archive(executor, archive.view());
  HostBatch batch;
  for (int row = 0; row < 5; ++row) {
    lsi_test::push_row(batch, grid.solution_dim, 0, 1.0f, 0.0f, 0.75f);
  }
  HostAddResult result;
  result.reset(batch.n_batch());
  CHECK_THROWS_AS(lsi::search::add_batch(executor, archive.view(),
                                         lsi_test::host_batch_view(batch), result.view()),
                  std::invalid_argument);
  // Nothing ran.
  CHECK(archive.counters[lsi::search::kCounterOccupiedCells] == 0);
  CHECK(result.status[0] == -7);
}
