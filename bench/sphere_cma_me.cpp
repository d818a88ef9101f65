// CMA-ME on the sphere linear projection benchmark, on the CPU.
//
// The benchmark of Fontaine et al. 2020 as pyribs's examples/sphere.py sets it up for
// "cma_me_imp": a 100-D sphere with its optimum moved to x_i = 0.4 * 5.12 = 2.048, objective
// 100 * (f_worst - f) / f_worst with f = sum((x - 2.048)^2) and f_worst = 100 * (-5.12 - 2.048)^2,
// measures the sums of the clipped first and second halves of x (x_i outside [-5.12, 5.12]
// becomes 5.12 / x_i), a 100 x 100 grid over [-256, 256]^2, and 15 improvement emitters ("2imp",
// filter selection, no-improvement restarts) of 36 solutions with sigma0 = 0.5 from x0 = 0.
// --selection-rule mu --restart-rule basic gives the CMA-ME baseline of the CMA-MAE paper
// (pyribs's "cma_me_basic"). Prints coverage, QD score and the time spent in the library and in
// the evaluation.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "qd/grid_archive.h"
#include "qd/improvement_emitter.h"
#include "qd/scheduler.h"

namespace {

constexpr int kSolutionDim = 100;
constexpr double kClipBound = 5.12;
constexpr double kSphereShift = 0.4 * 5.12;

// Objective and measures of each row of solutions (N x 100).
void evaluate_sphere(const lsi::qd::RowMatrixXf& solutions, Eigen::VectorXd& objectives,
                     lsi::qd::RowMatrixXd& measures) {
  const Eigen::Index n_solutions = solutions.rows();
  const Eigen::Index dim = solutions.cols();
  const Eigen::Index half = dim / 2;
  const double worst_f = (-kClipBound - kSphereShift) * (-kClipBound - kSphereShift) * dim;

  objectives.resize(n_solutions);
  measures.resize(n_solutions, 2);
  for (Eigen::Index i = 0; i < n_solutions; ++i) {
    double f = 0.0;
    double measure_first = 0.0;
    double measure_second = 0.0;
    for (Eigen::Index j = 0; j < dim; ++j) {
      const double x = solutions(i, j);
      f += (x - kSphereShift) * (x - kSphereShift);

      const double clipped = (x < -kClipBound || x > kClipBound) ? kClipBound / x : x;
      (j < half ? measure_first : measure_second) += clipped;
    }
    objectives[i] = (f - worst_f) / (0.0 - worst_f) * 100.0;
    measures(i, 0) = measure_first;
    measures(i, 1) = measure_second;
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"CMA-ME on the 100-D sphere linear projection benchmark (CPU)"};
  int n_iterations = 10000;
  std::uint64_t seed = 42;
  int log_every = 1000;
  std::string selection_rule = "filter";
  std::string restart_rule = "no_improvement";
  app.add_option("--iterations", n_iterations, "Iterations of 15 x 36 evaluations")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Base seed; emitter e uses the Philox stream (seed, e)");
  app.add_option("--log-every", log_every, "Iterations between progress lines")
      ->check(CLI::PositiveNumber);
  app.add_option("--selection-rule", selection_rule, "Parent selection: filter or mu")
      ->check(CLI::IsMember({"filter", "mu"}));
  app.add_option("--restart-rule", restart_rule, "Restart rule: no_improvement or basic")
      ->check(CLI::IsMember({"no_improvement", "basic"}));
  CLI11_PARSE(app, argc, argv);

  // Set up the archive and the 15 emitters of pyribs's cma_me_imp configuration.
  const double max_bound = kSolutionDim / 2 * kClipBound;
  lsi::qd::GridArchive archive(kSolutionDim, {100, 100},
                               {{-max_bound, max_bound}, {-max_bound, max_bound}});
  lsi::qd::ImprovementEmitterConfig config;
  config.sigma0 = 0.5;
  config.batch_size = 36;
  config.ranker = lsi::qd::RankerKind::kTwoStageImprovement;
  config.selection_rule = lsi::qd::parse_selection_rule(selection_rule);
  config.restart_rule = lsi::qd::parse_restart_rule(restart_rule);
  lsi::qd::Scheduler scheduler(archive,
                               lsi::qd::make_improvement_emitters(archive, config, 15, seed));
  std::printf(
      "sphere_cma_me: dim %d, 15 emitters x 36, selection %s, restart %s, "
      "%d iterations, seed %llu\n",
      kSolutionDim, selection_rule.c_str(), restart_rule.c_str(), n_iterations,
      static_cast<unsigned long long>(seed));

  // Run the ask/evaluate/tell loop, timing the library and the evaluation separately.
  Eigen::VectorXd objectives;
  lsi::qd::RowMatrixXd measures;
  double library_s = 0.0;
  double evaluation_s = 0.0;
  const auto run_start = std::chrono::steady_clock::now();
  for (int iteration = 1; iteration <= n_iterations; ++iteration) {
    auto step_start = std::chrono::steady_clock::now();
    const lsi::qd::RowMatrixXf& solutions = scheduler.ask();
    library_s += seconds_since(step_start);

    step_start = std::chrono::steady_clock::now();
    evaluate_sphere(solutions, objectives, measures);
    evaluation_s += seconds_since(step_start);

    step_start = std::chrono::steady_clock::now();
    scheduler.tell(objectives, measures);
    library_s += seconds_since(step_start);

    if (iteration % log_every == 0 || iteration == n_iterations) {
      const lsi::qd::ArchiveStats stats = archive.stats();
      const double elapsed_s = seconds_since(run_start);
      std::printf(
          "iteration %6d  coverage %6.2f%%  qd_score %12.2f  elapsed %7.1f s  "
          "%8.0f evals/s\n",
          iteration, 100.0 * stats.coverage, stats.qd_score, elapsed_s,
          static_cast<double>(scheduler.n_evaluations()) / elapsed_s);
      std::fflush(stdout);
    }
  }

  // Final figures.
  const lsi::qd::ArchiveStats stats = archive.stats();
  std::int64_t n_restarts = 0;
  for (const lsi::qd::ImprovementEmitter& emitter : scheduler.emitters()) {
    n_restarts += emitter.restarts();
  }
  std::printf("evaluations      %lld\n", static_cast<long long>(scheduler.n_evaluations()));
  std::printf("coverage         %.4f (%lld of %lld cells)\n", stats.coverage,
              static_cast<long long>(stats.num_elites), static_cast<long long>(archive.n_cells()));
  std::printf("qd_score         %.2f (%.2f per cell)\n", stats.qd_score,
              stats.qd_score / static_cast<double>(archive.n_cells()));
  std::printf("obj_max          %.4f\n", stats.obj_max);
  std::printf("obj_mean         %.4f\n", stats.obj_mean);
  std::printf("restarts         %lld\n", static_cast<long long>(n_restarts));
  std::printf("library_s        %.1f (ask + tell)\n", library_s);
  std::printf("evaluation_s     %.1f\n", evaluation_s);
  std::printf("total_s          %.1f\n", seconds_since(run_start));
  return 0;
}
