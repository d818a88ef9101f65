// Scenarios and checks shared by the device archive's tests: test_search_archive.cpp runs the
// steps of kernels/search_archive_steps.h with HostExecutor, test_cuda_search_archive.cpp with
// CudaExecutor. Every batch also goes to qd::GridArchive, and after each batch the statuses,
// values, cells, the whole archive, occupied_cells, the counters and the scratch must match it
// exactly: both sides do the same double arithmetic on the same float inputs.
//
// Shape legend: N batch rows, S solution size, C cells, M = 2 measures, R batch capacity rows.
#pragma once

#include <doctest/doctest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "app/run_config.h"
#include "engine/backend.h"
#include "kernels/search_archive_steps.h"
#include "qd/add_result.h"
#include "qd/grid_archive.h"

namespace lsi_test {

static_assert(lsi::search::kIndexEpsilon == lsi::qd::GridArchive::kIndexEpsilon,
              "the device archive must use qd's index epsilon");

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr float kInff = std::numeric_limits<float>::infinity();

struct GridSpec {
  std::string name;
  int solution_dim;  // S
  int dims[lsi::search::kMeasureDim];
  double lower[lsi::search::kMeasureDim];
  double upper[lsi::search::kMeasureDim];

  long long n_cells() const { return static_cast<long long>(dims[0]) * dims[1]; }
};

// One batch as the evaluator writes it.
struct HostBatch {
  std::vector<float> solutions;   // (N x S)
  std::vector<float> objectives;  // (N)
  std::vector<float> boldness;    // (N)
  std::vector<float> lightness;   // (N)
  long long iteration = 0;

  long long n_batch() const { return static_cast<long long>(objectives.size()); }
};

struct Scenario {
  GridSpec grid;
  std::vector<HostBatch> batches;

  long long max_batch_rows() const {
    long long rows = 0;
    for (const HostBatch& batch : batches) rows = std::max(rows, batch.n_batch());
    return rows;
  }
};

// Every array of an ArchiveView, in host memory.
struct HostArchive {
  GridSpec grid;
  long long batch_capacity_rows = 0;  // R
  std::vector<unsigned char> occupied;           // (C)
  std::vector<double> objectives;                // (C)
  std::vector<double> measures;                  // (C x M)
  std::vector<float> solutions;                  // (C x S)
  std::vector<long long> iterations;             // (C)
  std::vector<long long> occupied_cells;         // (C)
  std::vector<unsigned long long> counters;      // (kArchiveCounters)
  std::vector<unsigned long long> winner_key;    // (C)
  std::vector<int> first_candidate;              // (C)
  std::vector<int> first_candidate_flags;        // (R)

  // Per-cell data starts at 0 as in qd::GridArchive. The occupied flags, occupied_cells, the
  // counters and the scratch start as 0xFF bytes, which clear_archive must overwrite.
  HostArchive(const GridSpec& grid_spec, long long capacity_rows)
      : grid(grid_spec), batch_capacity_rows(capacity_rows) {
    const size_t n_cells = static_cast<size_t>(grid.n_cells());
    occupied.assign(n_cells, 0xFF);
    objectives.assign(n_cells, 0.0);
    measures.assign(n_cells * lsi::search::kMeasureDim, 0.0);
    solutions.assign(n_cells * grid.solution_dim, 0.0f);
    iterations.assign(n_cells, 0);
    occupied_cells.assign(n_cells, -1);
    counters.assign(lsi::search::kArchiveCounters, ~0ull);
    winner_key.assign(n_cells, ~0ull);
    first_candidate.assign(n_cells, -1);
    first_candidate_flags.assign(static_cast<size_t>(capacity_rows), -1);
  }

  // The view with host pointers into these arrays.
  lsi::search::ArchiveView view() {
    lsi::search::ArchiveView view{};
    view.solution_dim = grid.solution_dim;
    for (int m = 0; m < lsi::search::kMeasureDim; ++m) {
      view.dims[m] = grid.dims[m];
      view.lower[m] = grid.lower[m];
      view.upper[m] = grid.upper[m];
    }
    view.n_cells = grid.n_cells();
    view.batch_capacity_rows = batch_capacity_rows;
    view.occupied = occupied.data();
    view.objectives = objectives.data();
    view.measures = measures.data();
    view.solutions = solutions.data();
    view.iterations = iterations.data();
    view.occupied_cells = occupied_cells.data();
    view.counters = counters.data();
    view.winner_key = winner_key.data();
    view.first_candidate = first_candidate.data();
    view.first_candidate_flags = first_candidate_flags.data();
    return view;
  }
};

// The per-row outcome of one batch, in host memory.
struct HostAddResult {
  std::vector<signed char> status;  // (N)
  std::vector<double> value;        // (N)
  std::vector<long long> cell;      // (N)

  // Fills the arrays with values no step writes, so that a row left unwritten shows.
  void reset(long long n_batch) {
    status.assign(static_cast<size_t>(n_batch), static_cast<signed char>(-7));
    value.assign(static_cast<size_t>(n_batch), std::numeric_limits<double>::quiet_NaN());
    cell.assign(static_cast<size_t>(n_batch), -7);
  }

  lsi::search::AddResultView view() { return {status.data(), value.data(), cell.data()}; }
};

// A batch view with host pointers; `iteration` is the batch's own field.
inline lsi::search::BatchView host_batch_view(const HostBatch& batch) {
  return {batch.n_batch(), batch.solutions.data(), batch.objectives.data(),
          batch.boldness.data(), batch.lightness.data(), &batch.iteration};
}

// The device archive on one executor. start() puts the initial arrays of `archive` in place
// and runs clear_archive on them, and add() runs add_batch. Both then copy what the executor's
// memory contains back into `archive` (and `result`).
class ArchiveEngine {
 public:
  virtual ~ArchiveEngine() = default;
  virtual void start(HostArchive& archive) = 0;
  virtual void add(const HostBatch& batch, HostAddResult& result, HostArchive& archive) = 0;
};

// ---------------------------------------------------------------------------------------------
// Scenarios

inline GridSpec program_grid() {
  const lsi::RunConfig config;
  return {"program grid 200x200",
          lsi::kLatentDim,
          {config.n_cells_boldness, config.n_cells_lightness},
          {lsi::RunConfig::kBoldnessLow, lsi::RunConfig::kLightnessLow},
          {lsi::RunConfig::kBoldnessHigh, lsi::RunConfig::kLightnessHigh}};
}

// 20 cells, so that random batches collide in nearly every cell.
inline GridSpec small_grid() { return {"small grid 5x4", 3, {5, 4}, {-1.0, 0.5}, {1.0, 1.0}}; }

// Appends one row. Its solution encodes the batch and the row, so a stored elite shows which
// row entered: solution[j] = 1000 * batch_tag + row + j / 8, exact in float for these sizes.
inline void push_row(HostBatch& batch, int solution_dim, int batch_tag, float objective,
                     float boldness, float lightness) {
  const long long row = batch.n_batch();
  for (int j = 0; j < solution_dim; ++j) {
    batch.solutions.push_back(static_cast<float>(1000 * batch_tag + row) + 0.125f * j);
  }
  batch.objectives.push_back(objective);
  batch.boldness.push_back(boldness);
  batch.lightness.push_back(lightness);
}

// Returns a random batch. Objectives are multiples of 1/objective_steps, so that equal
// objectives in one cell are common. Measures spread 5% beyond each end of the ranges. A
// fraction non_finite_fraction of the rows has NaN or an infinity in the objective or a
// measure.
inline HostBatch random_batch(const GridSpec& grid, long long n_batch, long long iteration,
                              int objective_steps, double objective_offset,
                              double non_finite_fraction, std::mt19937_64& rng) {
  HostBatch batch;
  batch.iteration = iteration;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> step(-objective_steps, 4 * objective_steps);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> special_kind(0, 8);
  auto spread_measure = [&](int m) {
    const double width = grid.upper[m] - grid.lower[m];
    return static_cast<float>(grid.lower[m] - 0.05 * width + 1.1 * width * unit(rng));
  };
  batch.solutions.resize(static_cast<size_t>(n_batch) * grid.solution_dim);
  for (float& value : batch.solutions) value = normal(rng);
  for (long long row = 0; row < n_batch; ++row) {
    float objective =
        static_cast<float>(objective_offset + static_cast<double>(step(rng)) / objective_steps);
    float boldness = spread_measure(0);
    float lightness = spread_measure(1);
    if (unit(rng) < non_finite_fraction) {
      const float specials[3] = {kNaNf, kInff, -kInff};
      const int kind = special_kind(rng);
      const float special = specials[kind % 3];
      if (kind / 3 == 0) objective = special;
      if (kind / 3 == 1) boldness = special;
      if (kind / 3 == 2) lightness = special;
    }
    batch.objectives.push_back(objective);
    batch.boldness.push_back(boldness);
    batch.lightness.push_back(lightness);
  }
  return batch;
}

// Rows with every kind of non-finite value, and measures below, above and exactly at the ends
// of both ranges. Objective `base` and up.
inline void push_edge_rows(HostBatch& batch, const GridSpec& grid, int batch_tag, float base) {
  const int s = grid.solution_dim;
  const float low0 = static_cast<float>(grid.lower[0]);
  const float high0 = static_cast<float>(grid.upper[0]);
  const float low1 = static_cast<float>(grid.lower[1]);
  const float high1 = static_cast<float>(grid.upper[1]);
  const float mid0 = 0.5f * (low0 + high0);
  const float mid1 = 0.5f * (low1 + high1);

  // Non-finite objective or measure: rejected.
  push_row(batch, s, batch_tag, kNaNf, mid0, mid1);
  push_row(batch, s, batch_tag, kInff, mid0, mid1);
  push_row(batch, s, batch_tag, -kInff, mid0, mid1);
  push_row(batch, s, batch_tag, base, kNaNf, mid1);
  push_row(batch, s, batch_tag, base, mid0, kNaNf);
  push_row(batch, s, batch_tag, base, kInff, mid1);
  push_row(batch, s, batch_tag, base, -kInff, mid1);
  push_row(batch, s, batch_tag, base, mid0, kInff);
  push_row(batch, s, batch_tag, base, mid0, -kInff);
  push_row(batch, s, batch_tag, kNaNf, kNaNf, kInff);

  // Out of range, far out of range, exactly at the ends, one float inside the ends.
  push_row(batch, s, batch_tag, base + 1.0f, low0 - 1.0f, low1 - 0.25f);
  push_row(batch, s, batch_tag, base + 2.0f, high0 + 1.0f, high1 + 0.25f);
  push_row(batch, s, batch_tag, base + 3.0f, -FLT_MAX, FLT_MAX);
  push_row(batch, s, batch_tag, base + 4.0f, FLT_MAX, -FLT_MAX);
  push_row(batch, s, batch_tag, base + 5.0f, high0, high1);
  push_row(batch, s, batch_tag, base + 6.0f, low0, low1);
  push_row(batch, s, batch_tag, base + 7.0f, high0, low1);
  push_row(batch, s, batch_tag, base + 8.0f, low0, high1);
  push_row(batch, s, batch_tag, base + 9.0f, std::nextafter(high0, 0.0f),
           std::nextafter(high1, 0.0f));
  push_row(batch, s, batch_tag, base + 10.0f, std::nextafter(low0, -FLT_MAX),
           std::nextafter(low1, -FLT_MAX));
  push_row(batch, s, batch_tag, base + 11.0f, std::nextafter(low0, FLT_MAX),
           std::nextafter(low1, FLT_MAX));
  push_row(batch, s, batch_tag, base + 12.0f, FLT_MIN, -FLT_MIN);
}

// Rows on and one float beside every cell boundary of both measures, where the index rule's
// epsilon and rounding decide the cell.
inline void push_boundary_rows(HostBatch& batch, const GridSpec& grid, int batch_tag) {
  for (int k = 0; k <= std::max(grid.dims[0], grid.dims[1]); ++k) {
    const int k0 = std::min(k, grid.dims[0]);
    const int k1 = std::min(k, grid.dims[1]);
    const float boundary0 = static_cast<float>(
        grid.lower[0] + (grid.upper[0] - grid.lower[0]) * k0 / grid.dims[0]);
    const float boundary1 = static_cast<float>(
        grid.lower[1] + (grid.upper[1] - grid.lower[1]) * k1 / grid.dims[1]);
    const float objective = static_cast<float>(k % 7) * 0.5f;
    push_row(batch, grid.solution_dim, batch_tag, objective, boundary0, boundary1);
    push_row(batch, grid.solution_dim, batch_tag, objective + 0.25f,
             std::nextafter(boundary0, -FLT_MAX), std::nextafter(boundary1, FLT_MAX));
    push_row(batch, grid.solution_dim, batch_tag, objective + 0.125f,
             std::nextafter(boundary0, FLT_MAX), std::nextafter(boundary1, -FLT_MAX));
  }
}

// The program's grid with a single row, a small random batch, edges and cell boundaries, and
// a batch of 65536 rows. Then come 12 batches of 3000 whose objectives rise, so that many
// rows improve existing cells.
inline Scenario program_grid_scenario() {
  Scenario scenario{program_grid(), {}};
  const GridSpec& grid = scenario.grid;
  std::mt19937_64 rng(20240611);

  HostBatch single;
  single.iteration = 1;
  push_row(single, grid.solution_dim, 0, 0.75f, 392.0f, 0.75f);
  scenario.batches.push_back(single);

  scenario.batches.push_back(random_batch(grid, 37, 2, 4, 0.0, 0.1, rng));

  HostBatch edges;
  edges.iteration = 3;
  push_edge_rows(edges, grid, 2, 1.0f);
  push_boundary_rows(edges, grid, 2);
  scenario.batches.push_back(edges);

  scenario.batches.push_back(random_batch(grid, 65536, 4, 64, 0.0, 0.005, rng));

  for (int b = 0; b < 12; ++b) {
    scenario.batches.push_back(random_batch(grid, 3000, 5 + b, 16, 0.25 * b, 0.01, rng));
  }
  return scenario;
}

// The 5x4 grid: hand-made batches for collisions, ties (also -0 against +0), improvements,
// non-finite rows, edges and an all-rejected and an empty batch, then 30 random batches that
// collide in nearly every cell.
inline Scenario small_grid_scenario() {
  Scenario scenario{small_grid(), {}};
  const GridSpec& grid = scenario.grid;
  const int s = grid.solution_dim;
  // Measures of four distinct cells (cell = index0 * 4 + index1).
  const float bold_a = -0.9f, light_a = 0.55f;  // cell 0
  const float bold_b = 0.1f, light_b = 0.8f;    // cell 10
  const float bold_c = 0.9f, light_c = 0.95f;   // cell 19
  const float bold_d = -0.3f, light_d = 0.7f;   // cell 5

  // Batch 0, empty archive: collisions and ties in new cells.
  HostBatch first;
  first.iteration = 10;
  push_row(first, s, 0, 1.0f, bold_a, light_a);
  push_row(first, s, 0, 2.0f, bold_a, light_a);   // beats row 0
  push_row(first, s, 0, 2.0f, bold_a, light_a);   // ties with row 1, loses
  push_row(first, s, 0, 0.5f, bold_b, light_b);
  push_row(first, s, 0, 0.5f, bold_b, light_b);   // ties with row 3, loses
  push_row(first, s, 0, -0.0f, bold_c, light_c);
  push_row(first, s, 0, 0.0f, bold_c, light_c);   // +0 ties with -0, loses
  push_row(first, s, 0, -3.0f, bold_d, light_d);
  push_row(first, s, 0, -2.0f, bold_d, light_d);  // beats row 7
  push_row(first, s, 0, -2.0f, bold_d, light_d);
  push_edge_rows(first, grid, 0, -100.0f);  // below the rows above, which stay the winners
  scenario.batches.push_back(first);

  // Batch 1: improvements of existing cells, and new cells whose first candidates come in
  // another order than their cell indices and are not their winners.
  HostBatch second;
  second.iteration = 11;
  push_row(second, s, 1, 0.25f, 0.4f, 0.8f);     // new cell 14, first candidate
  push_row(second, s, 1, 2.0f, bold_a, light_a);  // equals the elite: not added, value 0
  push_row(second, s, 1, 2.5f, bold_a, light_a);  // improves
  push_row(second, s, 1, 3.0f, bold_a, light_a);  // improves more, enters
  push_row(second, s, 1, 1.0f, bold_a, light_a);  // below the elite
  push_row(second, s, 1, 0.5f, -0.5f, 0.6f);      // new cell 4
  push_row(second, s, 1, 4.0f, 0.4f, 0.8f);       // cell 14 again, enters
  push_row(second, s, 1, 0.75f, bold_b, light_b);  // improves cell 10, enters
  push_row(second, s, 1, 0.75f, bold_b, light_b);  // ties, loses
  push_row(second, s, 1, 0.0f, bold_c, light_c);  // equals the elite -0: not added
  push_row(second, s, 1, 1e-30f, bold_c, light_c);  // improves cell 19 by a tiny step
  push_row(second, s, 1, -1.0f, bold_d, light_d);  // improves cell 5
  push_row(second, s, 1, 1.0f, 0.1f, 0.7f);       // new cell 9
  push_edge_rows(second, grid, 1, -20.0f);  // below the rows above, which stay the winners
  scenario.batches.push_back(second);

  // Batch 2: every row rejected. Batch 3: no rows.
  HostBatch rejected;
  rejected.iteration = 12;
  for (int k = 0; k < 9; ++k) {
    const float specials[3] = {kNaNf, kInff, -kInff};
    const float special = specials[k % 3];
    push_row(rejected, s, 2, k / 3 == 0 ? special : 100.0f, k / 3 == 1 ? special : bold_a,
             k / 3 == 2 ? special : light_a);
  }
  scenario.batches.push_back(rejected);
  HostBatch empty;
  empty.iteration = 13;
  scenario.batches.push_back(empty);

  std::mt19937_64 rng(7);
  for (int b = 0; b < 30; ++b) {
    const long long n_batch = 50 + 40 * (b % 12);
    scenario.batches.push_back(random_batch(grid, n_batch, 14 + b, 4, 0.125 * b, 0.05, rng));
  }
  return scenario;
}

// ---------------------------------------------------------------------------------------------
// Reference comparison

// What a scenario exercised, summed over its batches, and how far the device archive was off.
struct ScenarioSummary {
  long long n_batches = 0;
  long long n_rows = 0;
  long long n_new = 0;
  long long n_improve = 0;
  long long n_not_added_finite = 0;
  long long n_rejected = 0;
  long long n_collision_cells = 0;  // cells with two or more candidates in one batch
  long long n_tied_cells = 0;       // cells whose best objective two candidates share
  long long n_mismatches = 0;       // entries that differ from qd, all arrays together
  double max_value_error = 0.0;     // max |value - qd's value| over finite values
  double max_objective_error = 0.0;  // max |elite objective - qd's| over cells
  bool new_cells_out_of_index_order = false;  // occupied_cells appended in other than cell order
};

// Counts the entries of two arrays that differ bit for bit and reports the first few.
template <typename T>
long long count_bit_mismatches(const std::string& label, const T* actual, const T* expected,
                               size_t n) {
  constexpr int kPrinted = 5;
  long long n_mismatches = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::memcmp(&actual[i], &expected[i], sizeof(T)) == 0) continue;
    if (n_mismatches < kPrinted) {
      std::printf("  %s[%zu]: got %.17g, expected %.17g\n", label.c_str(), i,
                  static_cast<double>(actual[i]), static_cast<double>(expected[i]));
    }
    ++n_mismatches;
  }
  return n_mismatches;
}

template <typename T>
double max_abs_difference(const std::vector<T>& actual, const std::vector<T>& expected) {
  double max_error = 0.0;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    if (std::isfinite(a) && std::isfinite(e)) max_error = std::max(max_error, std::fabs(a - e));
  }
  return max_error;
}

// Checks that every scratch entry is back at its rest value.
inline void check_scratch_at_rest(const HostArchive& archive, const std::string& where) {
  const long long busy_keys =
      std::count_if(archive.winner_key.begin(), archive.winner_key.end(),
                    [](unsigned long long key) { return key != lsi::search::kWinnerKeyAtRest; });
  const long long busy_firsts = std::count_if(
      archive.first_candidate.begin(), archive.first_candidate.end(),
      [](int row) { return row != lsi::search::kFirstCandidateAtRest; });
  const long long busy_flags = std::count_if(
      archive.first_candidate_flags.begin(), archive.first_candidate_flags.end(),
      [](int flag) { return flag != lsi::search::kFirstCandidateFlagAtRest; });
  INFO(where);
  CHECK(busy_keys == 0);
  CHECK(busy_firsts == 0);
  CHECK(busy_flags == 0);
}

// Adds each batch of the scenario to the engine and to qd::GridArchive and compares them after
// each batch. Prints and returns the summary.
inline ScenarioSummary run_scenario(const Scenario& scenario, ArchiveEngine& engine,
                                    const std::string& executor_name) {
  using lsi::qd::RowMatrixXd;
  using lsi::qd::RowMatrixXf;
  const GridSpec& grid = scenario.grid;
  const int s = grid.solution_dim;
  const size_t n_cells = static_cast<size_t>(grid.n_cells());
  lsi::qd::GridArchive reference(s, {grid.dims[0], grid.dims[1]},
                                 {{grid.lower[0], grid.upper[0]}, {grid.lower[1], grid.upper[1]}});
  ScenarioSummary summary;

  HostArchive archive(grid, std::max(1LL, scenario.max_batch_rows()));
  engine.start(archive);
  {
    INFO(scenario.grid.name << " (" << executor_name << "), after clear_archive");
    CHECK(archive.counters[lsi::search::kCounterOccupiedCells] == 0);
    CHECK(archive.counters[lsi::search::kCounterRejectedNonFinite] == 0);
    CHECK(std::count(archive.occupied.begin(), archive.occupied.end(), 0) ==
          static_cast<long long>(n_cells));
    check_scratch_at_rest(archive, "after clear_archive");
  }

  HostAddResult result;
  lsi::qd::AddResult expected;
  for (size_t b = 0; b < scenario.batches.size(); ++b) {
    const HostBatch& batch = scenario.batches[b];
    const long long n_batch = batch.n_batch();
    const std::string where = scenario.grid.name + " (" + executor_name + "), batch " +
                              std::to_string(b) + " of " + std::to_string(n_batch) + " rows";
    INFO(where);

    // The CPU path: objectives and measures converted from float to double.
    RowMatrixXf solutions(n_batch, s);
    Eigen::VectorXd objectives(n_batch);
    RowMatrixXd measures(n_batch, lsi::search::kMeasureDim);
    for (long long i = 0; i < n_batch; ++i) {
      for (int j = 0; j < s; ++j) solutions(i, j) = batch.solutions[i * s + j];
      objectives[i] = static_cast<double>(batch.objectives[i]);
      measures(i, 0) = static_cast<double>(batch.boldness[i]);
      measures(i, 1) = static_cast<double>(batch.lightness[i]);
    }
    const long long n_occupied_before = static_cast<long long>(reference.occupied_cells().size());
    reference.add(solutions, objectives, measures, batch.iteration, expected);
    engine.add(batch, result, archive);

    // Per-row outcome: statuses, values and cells (-1 for non-finite rows).
    std::vector<signed char> expected_status(n_batch);
    std::vector<long long> expected_cell(n_batch, -1);
    std::map<long long, std::vector<long long>> candidates_by_cell;
    for (long long i = 0; i < n_batch; ++i) {
      expected_status[i] = static_cast<signed char>(expected.status[i]);
      const bool finite = std::isfinite(objectives[i]) && std::isfinite(measures(i, 0)) &&
                          std::isfinite(measures(i, 1));
      if (finite) expected_cell[i] = reference.index_of(measures.row(i).data());
      if (!finite) ++summary.n_rejected;
      if (expected_status[i] == lsi::search::kStatusNew) ++summary.n_new;
      if (expected_status[i] == lsi::search::kStatusImproveExisting) ++summary.n_improve;
      if (finite && expected_status[i] == lsi::search::kStatusNotAdded) {
        ++summary.n_not_added_finite;
      }
      if (expected_status[i] != lsi::search::kStatusNotAdded) {
        candidates_by_cell[expected_cell[i]].push_back(i);
      }
    }
    for (const auto& [cell, rows] : candidates_by_cell) {
      if (rows.size() < 2) continue;
      ++summary.n_collision_cells;
      double best = -std::numeric_limits<double>::infinity();
      int n_best = 0;
      for (const long long row : rows) {
        if (objectives[row] > best) {
          best = objectives[row];
          n_best = 0;
        }
        if (objectives[row] == best) ++n_best;
      }
      if (n_best >= 2) ++summary.n_tied_cells;
    }
    const std::vector<double> expected_value(expected.value.begin(), expected.value.end());
    long long batch_mismatches = 0;
    batch_mismatches += count_bit_mismatches("status", result.status.data(),
                                             expected_status.data(), n_batch);
    batch_mismatches += count_bit_mismatches("value", result.value.data(),
                                             expected_value.data(), n_batch);
    batch_mismatches += count_bit_mismatches("cell", result.cell.data(),
                                             expected_cell.data(), n_batch);
    summary.max_value_error =
        std::max(summary.max_value_error, max_abs_difference(result.value, expected_value));

    // The whole archive, unoccupied cells included (both sides start them at 0 and must never
    // write them).
    batch_mismatches += count_bit_mismatches("occupied", archive.occupied.data(),
                                             reference.occupied_by_cell().data(), n_cells);
    batch_mismatches += count_bit_mismatches("objectives", archive.objectives.data(),
                                             reference.objectives_by_cell().data(), n_cells);
    batch_mismatches += count_bit_mismatches("measures", archive.measures.data(),
                                             reference.measures_by_cell().data(),
                                             n_cells * lsi::search::kMeasureDim);
    batch_mismatches += count_bit_mismatches("solutions", archive.solutions.data(),
                                             reference.solutions_by_cell().data(), n_cells * s);
    const std::vector<long long> reference_iterations(reference.iterations_by_cell().begin(),
                                                      reference.iterations_by_cell().end());
    batch_mismatches += count_bit_mismatches("iterations", archive.iterations.data(),
                                             reference_iterations.data(), n_cells);
    summary.max_objective_error =
        std::max(summary.max_objective_error,
                 max_abs_difference(archive.objectives, reference.objectives_by_cell()));

    // occupied_cells in first-fill order, and the counters.
    const std::vector<long long> reference_cells(reference.occupied_cells().begin(),
                                                 reference.occupied_cells().end());
    const unsigned long long n_occupied = archive.counters[lsi::search::kCounterOccupiedCells];
    CHECK(n_occupied == reference_cells.size());
    CHECK(archive.counters[lsi::search::kCounterRejectedNonFinite] ==
          static_cast<unsigned long long>(reference.rejected_non_finite()));
    if (n_occupied == reference_cells.size()) {
      batch_mismatches += count_bit_mismatches("occupied_cells", archive.occupied_cells.data(),
                                               reference_cells.data(), reference_cells.size());
    }
    if (!std::is_sorted(reference_cells.begin() + n_occupied_before, reference_cells.end())) {
      summary.new_cells_out_of_index_order = true;
    }

    CHECK(batch_mismatches == 0);
    summary.n_mismatches += batch_mismatches;
    check_scratch_at_rest(archive, where);
    ++summary.n_batches;
    summary.n_rows += n_batch;
  }

  std::printf(
      "%s (%s): %lld batches, %lld rows: %lld new, %lld improve, %lld not added, %lld rejected "
      "non-finite; %lld cells with colliding candidates, %lld with tied ones; %lld mismatching "
      "entries, max |value error| %g, max |objective error| %g\n",
      grid.name.c_str(), executor_name.c_str(), summary.n_batches, summary.n_rows, summary.n_new,
      summary.n_improve, summary.n_not_added_finite, summary.n_rejected,
      summary.n_collision_cells, summary.n_tied_cells, summary.n_mismatches,
      summary.max_value_error, summary.max_objective_error);
  return summary;
}

// Checks that a scenario reached every case it was built for: without these, matching qd could
// mean only that the batches were too easy.
inline void check_scenario_coverage(const ScenarioSummary& summary) {
  CHECK(summary.n_new > 0);
  CHECK(summary.n_improve > 0);
  CHECK(summary.n_not_added_finite > 0);
  CHECK(summary.n_rejected > 0);
  CHECK(summary.n_collision_cells > 0);
  CHECK(summary.n_tied_cells > 0);
  CHECK(summary.new_cells_out_of_index_order);
}

}  // namespace lsi_test
