// Checks of the device search's emitter steps (kernels/search_emitter_steps.h) against
// qd::ImprovementEmitter, shared by the CPU emulation test and the GPU test.
//
// A scenario drives E qd::ImprovementEmitter through a qd::GridArchive with a synthetic
// objective for some iterations. Then, on each checked iteration, it copies every emitter's state
// into an EmitterBuffers, runs schedule_eigen(), sample() and tell() through a runner from that
// state, and compares the results with what the CPU emitters compute in the same iteration. The
// eigendecomposition is not part of the emitter steps: where an emitter is due, the buffers get
// the CPU's C, B and D after its ask(), which is what the eigendecomposition step must produce.
//
// Shape legend as in kernels/search_emitter_steps.h.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "qd/add_result.h"
#include "qd/grid_archive.h"
#include "qd/improvement_emitter.h"
#include "qd/philox.h"
#include "search_emitter_buffers.h"

namespace lsi_test {

namespace qd = lsi::qd;
namespace search = lsi::search;

// Normal values, GPU or C++ library against qd's own logarithm, sine and cosine kernels: both
// are within a few units in the last place, and |z| < 9, where a unit is 1.8e-15.
constexpr double kNormalTolerance = 1e-14;
// CMA-ES state, relative to the largest magnitude of the array per emitter: both sides compute
// in double with the same formulas, and only the order of the sums (Eigen's products against
// ours) and fused multiply-adds differ, about 1e-15 per operation.
constexpr double kStateTolerance = 1e-12;

// Synthetic objectives of the scenarios.
enum class TestObjective {
  kSphere,         // -mean((x - 0.3)^2)
  kSphereWithNaN,  // the same, with NaN for every 7th batch row
  kConstant,       // 1 for every solution, so that a batch's ranking values can be flat
};

struct EmitterScenario {
  const char* name;
  int n;
  int lambda;
  int n_emitters;
  qd::RankerKind ranker;
  qd::SelectionRule selection_rule;
  qd::RestartRule restart_rule;
  double sigma0;
  bool nonzero_x0;  // x0 = 0.1 * (1, 2, ...) instead of zeros
  TestObjective objective;
  int cells_per_measure;  // the archive is a square grid
  int warmup_iterations;  // CPU only
  int checked_iterations;
  std::uint64_t seed;

  // Cases the checked iterations must reach.
  bool expect_rotated;     // batches sampled through B and D after a decomposition
  bool expect_restarts;    // restarts drawn from the archive's elites
  bool expect_no_parents;  // tell() calls without parents
  int expect_stop_reason;  // a CmaStopReason that must cause a restart, or 0
};

// How often each case came up in a scenario's checked iterations.
struct EmitterCoverage {
  int due = 0;               // emitters decomposed this iteration
  int identity_samples = 0;  // batches sampled with B = I and D = 1
  int rotated_samples = 0;   // batches sampled through B and D
  int updates = 0;           // tell() calls with parents
  int tells_without_parents = 0;   // tell() calls without parents
  int elite_restarts = 0;
  int x0_restarts = 0;
  int stop_reasons[5] = {};  // restarts by CmaStopReason
};

// Largest error of one quantity over a scenario, and the number of values over tolerance.
struct ErrorStats {
  double max_error = 0.0;
  long long n_values = 0;
  long long n_over = 0;
};

inline bool same_non_finite(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

// Compares n values with |actual - expected| / max(scale, DBL_MIN) <= tolerance, where scale
// is the largest finite |expected| (relative) or 1 (absolute).
inline void accumulate(ErrorStats& stats, const double* actual, const double* expected,
                       std::size_t n, bool relative, double tolerance) {
  double scale = 1.0;
  if (relative) {
    scale = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isfinite(expected[i])) scale = std::max(scale, std::fabs(expected[i]));
    }
    scale = std::max(scale, std::numeric_limits<double>::min());
  }
  for (std::size_t i = 0; i < n; ++i) {
    ++stats.n_values;
    if (!std::isfinite(actual[i]) || !std::isfinite(expected[i])) {
      if (!same_non_finite(actual[i], expected[i])) ++stats.n_over;
      continue;
    }
    const double error = std::fabs(actual[i] - expected[i]) / scale;
    stats.max_error = std::max(stats.max_error, error);
    if (error > tolerance) ++stats.n_over;
  }
}

// Evaluates a batch (rows x n): the objective, and as measures the scaled sums of each half of
// x, about N(0, sigma^2) for x ~ N(0, sigma^2 I).
inline void evaluate_batch(const qd::RowMatrixXf& batch, TestObjective objective,
                           Eigen::VectorXd& objectives, qd::RowMatrixXd& measures) {
  const int n = static_cast<int>(batch.cols());
  const int half = std::max(1, n / 2);
  objectives.resize(batch.rows());
  measures.resize(batch.rows(), 2);
  for (Eigen::Index r = 0; r < batch.rows(); ++r) {
    double squared = 0.0;
    double first = 0.0;
    double second = 0.0;
    for (int i = 0; i < n; ++i) {
      const double x = batch(r, i);
      squared += (x - 0.3) * (x - 0.3);
      (i < half ? first : second) += x;
    }
    objectives[r] = objective == TestObjective::kConstant ? 1.0 : -squared / n;
    if (objective == TestObjective::kSphereWithNaN && r % 7 == 3) objectives[r] = std::nan("");
    measures(r, 0) = first / std::sqrt(static_cast<double>(half));
    measures(r, 1) = n > half ? second / std::sqrt(static_cast<double>(n - half)) : 0.0;
  }
}

// Copies emitter e's CMA-ES state, stream position and restart record into the buffers.
inline void copy_emitter_state(const qd::ImprovementEmitter& emitter, int e, EmitterBuffers& b) {
  const qd::CmaEs& cma = emitter.cma_es();
  const std::size_t n = cma.solution_dim();
  REQUIRE_FALSE(emitter.stream().has_spare_normal());
  std::copy(cma.mean().data(), cma.mean().data() + n, b.mean.begin() + e * n);
  std::copy(cma.pc().data(), cma.pc().data() + n, b.pc.begin() + e * n);
  std::copy(cma.ps().data(), cma.ps().data() + n, b.ps.begin() + e * n);
  std::copy(cma.D().data(), cma.D().data() + n, b.D.begin() + e * n);
  std::copy(cma.C().data(), cma.C().data() + n * n, b.C.begin() + e * n * n);
  std::copy(cma.B().data(), cma.B().data() + n * n, b.B.begin() + e * n * n);
  b.sigma[e] = cma.sigma();
  b.counteval[e] = cma.n_evaluations();
  b.eigeneval[e] = cma.eigen_evaluations();
  b.eigen_identity[e] = cma.eigensystem_is_identity() ? 1 : 0;
  b.block_index[e] = emitter.stream().n_blocks_used();
  b.restarts[e] = emitter.restarts();
  b.last_stop_reason[e] = static_cast<int>(emitter.last_stop_reason());
}

// Copies the archive's occupied cells, in the order they were filled, and its elites.
inline void copy_archive(const qd::GridArchive& archive, EmitterBuffers& b) {
  const std::vector<std::int64_t>& cells = archive.occupied_cells();
  std::fill(b.occupied_cells.begin(), b.occupied_cells.end(), -1);
  std::copy(cells.begin(), cells.end(), b.occupied_cells.begin());
  b.counters[0] = cells.size();
  const std::vector<float>& solutions = archive.solutions_by_cell();
  std::copy(solutions.begin(), solutions.end(), b.archive_solutions.begin());
}

inline void print_stats(const char* scenario, const std::string& runner,
                        const std::map<std::string, ErrorStats>& stats) {
  for (const auto& [label, s] : stats) {
    std::printf("%s [%s] %s: %lld values, max error %.3g, %lld over tolerance\n", scenario,
                runner.c_str(), label.c_str(), s.n_values, s.max_error, s.n_over);
  }
}

// Runs one scenario through runner and checks every phase against the CPU emitters.
inline EmitterCoverage check_emitter_scenario(const EmitterScenario& sc, EmitterRunner& runner) {
  INFO("scenario " << std::string(sc.name) << ", runner " << runner.name());
  const double range = 2.0 * sc.sigma0;
  qd::GridArchive archive(sc.n, {sc.cells_per_measure, sc.cells_per_measure},
                          {{-range, range}, {-range, range}});
  qd::ImprovementEmitterConfig config;
  config.sigma0 = sc.sigma0;
  config.batch_size = sc.lambda;
  config.ranker = sc.ranker;
  config.selection_rule = sc.selection_rule;
  config.restart_rule = sc.restart_rule;
  config.x0 = Eigen::VectorXd::Zero(sc.n);
  if (sc.nonzero_x0) {
    for (int i = 0; i < sc.n; ++i) config.x0[i] = 0.1 * (i + 1);
  }
  std::vector<qd::ImprovementEmitter> emitters =
      qd::make_improvement_emitters(archive, config, sc.n_emitters, sc.seed);

  const int E = sc.n_emitters;
  const int lambda = sc.lambda;
  const std::size_t n = sc.n;
  const std::size_t rows = static_cast<std::size_t>(E) * lambda;
  qd::RowMatrixXf batch(rows, n);
  Eigen::VectorXd objectives;
  qd::RowMatrixXd measures;
  qd::AddResult add_result;
  std::int64_t iteration = 0;

  auto ask_all = [&] {
    for (int e = 0; e < E; ++e) emitters[e].ask(batch.middleRows(e * lambda, lambda));
  };
  auto add_and_tell_all = [&] {
    evaluate_batch(batch, sc.objective, objectives, measures);
    archive.add(batch, objectives, measures, ++iteration, add_result);
    for (int e = 0; e < E; ++e) emitters[e].tell(add_result, e * lambda);
  };
  for (int it = 0; it < sc.warmup_iterations; ++it) {
    ask_all();
    add_and_tell_all();
  }

  EmitterBuffers b;
  b.config.n = sc.n;
  b.config.lambda = lambda;
  b.config.n_emitters = E;
  b.config.ranker = static_cast<search::RankerKind>(sc.ranker);
  b.config.selection_rule = static_cast<search::SelectionRule>(sc.selection_rule);
  b.config.restart_rule = static_cast<search::RestartRule>(sc.restart_rule);
  b.config.sigma0 = emitters[0].cma_es().sigma0();
  b.config.chiN = emitters[0].cma_es().chiN();
  b.config.lazy_gap_evals = emitters[0].cma_es().lazy_gap_evals();
  b.config.seed = sc.seed;
  b.resize(archive.n_cells());
  std::copy(emitters[0].x0().data(), emitters[0].x0().data() + n, b.x0.begin());

  EmitterCoverage coverage;
  std::map<std::string, ErrorStats> stats;
  long long latent_ties = 0;
  for (int it = 0; it < sc.checked_iterations; ++it) {
    CAPTURE(it);

    // Schedule: the same emitters are due, with eigeneval moved to counteval.
    std::vector<qd::PhiloxStream> streams_before;
    std::vector<int> expected_due(E);
    for (int e = 0; e < E; ++e) {
      copy_emitter_state(emitters[e], e, b);
      streams_before.push_back(emitters[e].stream());
      const qd::CmaEs& cma = emitters[e].cma_es();
      expected_due[e] =
          static_cast<double>(cma.n_evaluations() - cma.eigen_evaluations()) > cma.lazy_gap_evals();
    }
    runner.schedule_eigen(b);
    ask_all();
    for (int e = 0; e < E; ++e) {
      CAPTURE(e);
      CHECK(b.due[e] == expected_due[e]);
      CHECK(b.eigeneval[e] == emitters[e].cma_es().eigen_evaluations());
      coverage.due += expected_due[e];
      if (expected_due[e]) {
        // The eigendecomposition step's share: the CPU's symmetrised C and its B and D.
        const qd::CmaEs& cma = emitters[e].cma_es();
        std::copy(cma.C().data(), cma.C().data() + n * n, b.C.begin() + e * n * n);
        std::copy(cma.B().data(), cma.B().data() + n * n, b.B.begin() + e * n * n);
        std::copy(cma.D().data(), cma.D().data() + n, b.D.begin() + e * n);
        b.eigen_identity[e] = cma.eigensystem_is_identity() ? 1 : 0;
      }
      (b.eigen_identity[e] ? coverage.identity_samples : coverage.rotated_samples) += 1;
    }

    // Sampling: normals, latents and stream positions.
    runner.sample(b);
    std::vector<double> expected_z(rows * n);
    for (int e = 0; e < E; ++e) {
      streams_before[e].fill_normal(expected_z.data() + e * lambda * n,
                                    static_cast<std::int64_t>(lambda * n));
      CHECK(b.block_index[e] == emitters[e].stream().n_blocks_used());
    }
    accumulate(stats["z"], b.z.data(), expected_z.data(), b.z.size(), false, kNormalTolerance);
    for (std::size_t i = 0; i < rows * n; ++i) {
      const float expected = batch.data()[i];
      const float actual = b.latents[i];
      CHECK(b.samples[i] == static_cast<double>(actual));
      if (actual != expected) {
        // A rounding tie: the double values straddle a float rounding boundary.
        ++latent_ties;
        CHECK(std::nextafter(expected, actual) == actual);
      }
    }
    // tell() then starts from exactly the CPU's batch, even after a rounding tie.
    for (std::size_t i = 0; i < rows * n; ++i) {
      b.latents[i] = batch.data()[i];
      b.samples[i] = batch.data()[i];
    }

    // Evaluation, archive add and tell.
    evaluate_batch(batch, sc.objective, objectives, measures);
    archive.add(batch, objectives, measures, ++iteration, add_result);
    copy_archive(archive, b);
    std::vector<signed char> status(rows);
    for (std::size_t r = 0; r < rows; ++r)
      status[r] = static_cast<signed char>(add_result.status[r]);
    runner.tell(b, status, add_result.value);
    std::vector<std::int64_t> restarts_before(E);
    for (int e = 0; e < E; ++e) {
      restarts_before[e] = emitters[e].restarts();
      emitters[e].tell(add_result, e * lambda);
    }

    for (int e = 0; e < E; ++e) {
      CAPTURE(e);
      const qd::ImprovementEmitter& emitter = emitters[e];
      const qd::CmaEs& cma = emitter.cma_es();
      const std::vector<int>& ranking = emitter.last_ranking();
      const std::vector<int>& parents = emitter.last_parents();
      CHECK(std::equal(ranking.begin(), ranking.end(), b.ranking.begin() + e * lambda));
      REQUIRE(b.n_parents[e] == static_cast<int>(parents.size()));
      CHECK(std::equal(parents.begin(), parents.end(), b.parents.begin() + e * lambda));
      if (parents.empty()) {
        ++coverage.tells_without_parents;
      } else {
        ++coverage.updates;
      }

      const bool restarted = emitter.restarts() != restarts_before[e];
      CHECK(b.restart[e] == (restarted ? 1 : 0));
      CHECK(b.restarts[e] == emitter.restarts());
      CHECK(b.last_stop_reason[e] == static_cast<int>(emitter.last_stop_reason()));
      CHECK(b.block_index[e] == emitter.stream().n_blocks_used());
      CHECK(b.counteval[e] == cma.n_evaluations());
      CHECK(b.eigeneval[e] == cma.eigen_evaluations());
      CHECK(b.eigen_identity[e] == (cma.eigensystem_is_identity() ? 1 : 0));
      if (restarted) {
        (b.restart_cell[e] < 0 ? coverage.x0_restarts : coverage.elite_restarts) += 1;
        coverage.stop_reasons[static_cast<int>(emitter.last_stop_reason())] += 1;
        // The new mean is a float elite (or x0) converted exactly, so it matches exactly.
        CHECK(std::equal(cma.mean().data(), cma.mean().data() + n, b.mean.begin() + e * n));
      }
      accumulate(stats["mean"], b.mean.data() + e * n, cma.mean().data(), n, true, kStateTolerance);
      accumulate(stats["pc"], b.pc.data() + e * n, cma.pc().data(), n, true, kStateTolerance);
      accumulate(stats["ps"], b.ps.data() + e * n, cma.ps().data(), n, true, kStateTolerance);
      accumulate(stats["D"], b.D.data() + e * n, cma.D().data(), n, true, kStateTolerance);
      accumulate(stats["C"], b.C.data() + e * n * n, cma.C().data(), n * n, true, kStateTolerance);
      accumulate(stats["B"], b.B.data() + e * n * n, cma.B().data(), n * n, true, kStateTolerance);
      const double sigma = cma.sigma();
      accumulate(stats["sigma"], &b.sigma[e], &sigma, 1, true, kStateTolerance);
    }
  }

  print_stats(sc.name, runner.name(), stats);
  std::printf("%s [%s] latents: %lld of %lld values differ by one float rounding tie\n", sc.name,
              runner.name().c_str(), latent_ties,
              static_cast<long long>(sc.checked_iterations) * static_cast<long long>(rows * n));
  std::printf(
      "%s [%s] coverage: %d due, %d identity and %d rotated batches, %d updates, %d tells "
      "without parents, %d elite and %d x0 restarts, stop reasons none %d, condition %d, "
      "step %d, flat %d, non-finite %d\n",
      sc.name, runner.name().c_str(), coverage.due, coverage.identity_samples,
      coverage.rotated_samples, coverage.updates, coverage.tells_without_parents,
      coverage.elite_restarts, coverage.x0_restarts, coverage.stop_reasons[0], coverage.stop_reasons[1],
      coverage.stop_reasons[2], coverage.stop_reasons[3], coverage.stop_reasons[4]);
  for (const auto& [label, s] : stats) {
    CAPTURE(label);
    CHECK(s.n_over == 0);
  }
  return coverage;
}

// The scenarios both tests run: both rankers, both selection rules and both restart rules,
// n = 128 and small n, lambda 30 and 64, restarts from elites and from x0, tell() calls
// without parents, NaN objectives, and the stop tests that a short run can reach.
// NOTE: no scenario reaches kConditionNumber, which needs a long, ill-conditioned run.
inline std::vector<EmitterScenario> emitter_scenarios() {
  using qd::RankerKind;
  using qd::RestartRule;
  using qd::SelectionRule;
  constexpr RankerKind k2imp = RankerKind::kTwoStageImprovement;
  constexpr RankerKind kImp = RankerKind::kImprovement;
  constexpr int kNone = 0;
  constexpr int kStep = static_cast<int>(qd::CmaStopReason::kStepTooSmall);
  constexpr int kFlat = static_cast<int>(qd::CmaStopReason::kFlatRanking);
  constexpr int kNonFinite = static_cast<int>(qd::CmaStopReason::kNonFinite);
  return {
      // name, n, lambda, E, ranker, selection, restart, sigma0, nonzero x0, objective, cells,
      // warmup, checked, seed, then the cases to reach: rotated, restarts, no parents, stop.
      {"n128 lambda30 2imp filter no_improvement", 128, 30, 3, k2imp, SelectionRule::kFilter,
       RestartRule::kNoImprovement, 0.5, false, TestObjective::kSphere, 28, 25, 16, 11, true, true,
       true, kNone},
      {"n6 lambda64 imp mu basic", 6, 64, 3, kImp, SelectionRule::kMu, RestartRule::kBasic, 0.3,
       true, TestObjective::kSphere, 8, 15, 12, 12, true, false, false, kNone},
      {"n128 lambda64 imp filter basic, NaN objectives", 128, 64, 3, kImp, SelectionRule::kFilter,
       RestartRule::kBasic, 0.5, false, TestObjective::kSphereWithNaN, 40, 15, 10, 13, true, false,
       false, kNone},
      {"n6 lambda30 2imp mu no_improvement, NaN objectives", 6, 30, 3, k2imp, SelectionRule::kMu,
       RestartRule::kNoImprovement, 0.5, true, TestObjective::kSphereWithNaN, 5, 10, 12, 14, true,
       true, false, kNone},
      {"n6 lambda64 2imp filter basic, full archive", 6, 64, 3, k2imp, SelectionRule::kFilter,
       RestartRule::kBasic, 0.5, false, TestObjective::kSphere, 3, 10, 8, 16, true, false, true,
       kNone},
      {"n4 lambda10 2imp mu basic, sigma0 1e300", 4, 10, 2, k2imp, SelectionRule::kMu,
       RestartRule::kBasic, 1e300, true, TestObjective::kSphere, 5, 0, 3, 15, false, false, false,
       kNonFinite},
      {"n4 lambda10 2imp filter no_improvement, sigma0 1e-12", 4, 10, 2, k2imp,
       SelectionRule::kFilter, RestartRule::kNoImprovement, 1e-12, true, TestObjective::kSphere, 5,
       0, 3, 17, false, false, false, kStep},
      {"n6 lambda30 imp mu basic, constant objective", 6, 30, 2, kImp, SelectionRule::kMu,
       RestartRule::kBasic, 0.5, true, TestObjective::kConstant, 1, 0, 3, 18, false, false, false,
       kFlat},
      {"n6 lambda30 2imp mu basic, constant objective", 6, 30, 2, k2imp, SelectionRule::kMu,
       RestartRule::kBasic, 0.5, true, TestObjective::kConstant, 1, 0, 3, 19, false, false, false,
       kFlat},
  };
}

// Checks that a scenario reached the cases it exists for.
inline void check_emitter_coverage(const EmitterScenario& sc, const EmitterCoverage& coverage) {
  INFO("scenario " << std::string(sc.name));
  CHECK(coverage.updates > 0);
  if (sc.expect_rotated) {
    CHECK(coverage.due > 0);
    CHECK(coverage.rotated_samples > 0);
  }
  if (sc.expect_restarts) CHECK(coverage.elite_restarts > 0);
  if (sc.expect_no_parents) CHECK(coverage.tells_without_parents > 0);
  if (sc.expect_stop_reason != 0) CHECK(coverage.stop_reasons[sc.expect_stop_reason] > 0);
}

}  // namespace lsi_test
