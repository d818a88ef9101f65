// Tests of the Scheduler: batch assembly, the ask/tell order, bookkeeping and bit-for-bit
// determinism of a whole CMA-ME run.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "qd/grid_archive.h"
#include "qd/improvement_emitter.h"
#include "qd/scheduler.h"

namespace {

using lsi::qd::GridArchive;
using lsi::qd::ImprovementEmitter;
using lsi::qd::ImprovementEmitterConfig;
using lsi::qd::RowMatrixXd;
using lsi::qd::RowMatrixXf;
using lsi::qd::Scheduler;

constexpr int kSolutionDim = 6;

GridArchive make_archive() {
  return GridArchive(kSolutionDim, {20, 20}, {{-6.0, 6.0}, {-6.0, 6.0}});
}

ImprovementEmitterConfig make_config(int batch_size) {
  ImprovementEmitterConfig config;
  config.sigma0 = 0.5;
  config.batch_size = batch_size;
  return config;
}

// A small linear-projection sphere: objective -sum(x^2), measures the sums of each half.
void evaluate(const RowMatrixXf& solutions, Eigen::VectorXd& objectives, RowMatrixXd& measures) {
  const Eigen::Index n = solutions.rows();
  const Eigen::Index half = solutions.cols() / 2;
  objectives.resize(n);
  measures.resize(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::VectorXd x = solutions.row(i).transpose().cast<double>();
    objectives[i] = -x.squaredNorm();
    measures(i, 0) = x.head(half).sum();
    measures(i, 1) = x.tail(x.size() - half).sum();
  }
}

// Runs n_iterations of CMA-ME with 3 emitters of 8 solutions and returns the archive.
GridArchive run_cma_me(std::uint64_t seed, int n_iterations) {
  GridArchive archive = make_archive();
  Scheduler scheduler(archive,
                      lsi::qd::make_improvement_emitters(archive, make_config(8), 3, seed));
  Eigen::VectorXd objectives;
  RowMatrixXd measures;
  for (int i = 0; i < n_iterations; ++i) {
    const RowMatrixXf& solutions = scheduler.ask();
    evaluate(solutions, objectives, measures);
    scheduler.tell(objectives, measures);
  }
  return archive;
}

}  // namespace

TEST_CASE("scheduler enforces ask then tell") {
  GridArchive archive = make_archive();
  Scheduler scheduler(archive, lsi::qd::make_improvement_emitters(archive, make_config(4), 2, 1));
  const Eigen::VectorXd objectives = Eigen::VectorXd::Zero(8);
  const RowMatrixXd measures = RowMatrixXd::Zero(8, 2);

  CHECK_THROWS_AS(scheduler.tell(objectives, measures), std::logic_error);
  scheduler.ask();
  CHECK_THROWS_AS(scheduler.ask(), std::logic_error);

  // A rejected tell leaves the batch pending, so a correct tell still works.
  CHECK_THROWS_AS(scheduler.tell(Eigen::VectorXd::Zero(7), measures), std::invalid_argument);
  CHECK_THROWS_AS(scheduler.tell(objectives, RowMatrixXd::Zero(8, 3)), std::invalid_argument);
  CHECK(scheduler.iterations() == 0);
  scheduler.tell(objectives, measures);
  CHECK(scheduler.iterations() == 1);
  CHECK_THROWS_AS(scheduler.tell(objectives, measures), std::logic_error);
}

TEST_CASE("scheduler rejects emitters of another archive") {
  GridArchive archive = make_archive();
  const GridArchive other = make_archive();
  CHECK_THROWS_AS(Scheduler(archive, {}), std::invalid_argument);
  CHECK_THROWS_AS(
      Scheduler(archive, lsi::qd::make_improvement_emitters(other, make_config(4), 1, 1)),
      std::invalid_argument);
}

TEST_CASE("scheduler batch stacks the emitter batches") {
  GridArchive archive = make_archive();
  std::vector<ImprovementEmitter> emitters;
  emitters.emplace_back(archive, make_config(3), 5, 0);
  emitters.emplace_back(archive, make_config(6), 5, 1);
  ImprovementEmitter copy0 = emitters[0];
  ImprovementEmitter copy1 = emitters[1];
  Scheduler scheduler(archive, emitters);
  CHECK(scheduler.batch_size() == 9);

  const RowMatrixXf& batch = scheduler.ask();
  REQUIRE(batch.rows() == 9);
  REQUIRE(batch.cols() == kSolutionDim);
  RowMatrixXf expected0(3, kSolutionDim);
  RowMatrixXf expected1(6, kSolutionDim);
  copy0.ask(expected0);
  copy1.ask(expected1);
  CHECK(batch.topRows(3) == expected0);
  CHECK(batch.bottomRows(6) == expected1);
}

TEST_CASE("scheduler records iterations and evaluations") {
  GridArchive archive = make_archive();
  Scheduler scheduler(archive, lsi::qd::make_improvement_emitters(archive, make_config(5), 2, 7));
  Eigen::VectorXd objectives;
  RowMatrixXd measures;
  for (int i = 0; i < 3; ++i) {
    evaluate(scheduler.ask(), objectives, measures);
    scheduler.tell(objectives, measures);
  }
  CHECK(scheduler.iterations() == 3);
  CHECK(scheduler.n_evaluations() == 30);
  CHECK(scheduler.evaluations_per_iteration() == std::vector<std::int64_t>{10, 10, 10});
  CHECK(scheduler.last_add_result().status.size() == 10);

  // Elites carry the iteration, counted from 1, in which they entered.
  for (const std::int64_t cell : archive.occupied_cells()) {
    const std::int64_t iteration = archive.elite(cell).iteration;
    CHECK(iteration >= 1);
    CHECK(iteration <= 3);
  }
}

TEST_CASE("CMA-ME run is bit-exact") {
  const GridArchive a = run_cma_me(123, 60);
  const GridArchive b = run_cma_me(123, 60);
  const GridArchive c = run_cma_me(124, 60);

  CHECK(a.occupied_by_cell() == b.occupied_by_cell());
  CHECK(a.objectives_by_cell() == b.objectives_by_cell());
  CHECK(a.measures_by_cell() == b.measures_by_cell());
  CHECK(a.solutions_by_cell() == b.solutions_by_cell());
  CHECK(a.iterations_by_cell() == b.iterations_by_cell());
  CHECK(a.occupied_cells() == b.occupied_cells());

  // Another seed explores differently.
  CHECK(a.solutions_by_cell() != c.solutions_by_cell());
}

TEST_CASE("CMA-ME fills the archive") {
  const GridArchive archive = run_cma_me(5, 100);
  const auto stats = archive.stats();
  CHECK(stats.num_elites > 40);
  CHECK(stats.obj_max <= 0.0);
  // The emitters explore the measures rather than the optimum, so obj_max varies widely with
  // the random stream: over seeds 1-40 it ranged from -0.38 to -0.025, and about 3 seeds in 4
  // stayed below -0.1. The bound leaves a margin below the worst of those runs.
  CHECK(stats.obj_max > -0.5);
}
