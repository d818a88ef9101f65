// Cost of the search itself (Scheduler::ask + tell) at the pyribs MNIST tutorial's settings.
//
// 5 improvement emitters of 30 solutions ("2imp", filter selection, no-improvement restarts),
// sigma0 0.2 from x0 = 0, 128-D latents, a 200 x 200 grid over boldness [0, 784] x lightness
// [0.5, 1]. The GAN and the classifier are replaced by a synthetic evaluator whose cost is
// negligible, so the wall time of ask() and tell() is the library's overhead per iteration. Its
// measures vary smoothly with the latent and start inside the grid, away from its edges, so the
// archive fills and emitters restart at a plausible rate. The printed restart count and
// coverage show how close it comes to a real run. For instruction counts, run it under valgrind
// --tool=callgrind with --toggle-collect='lsi::qd::Scheduler::ask()' and
// --toggle-collect='lsi::qd::Scheduler::tell(*', and divide the total by the iterations.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "qd/grid_archive.h"
#include "qd/improvement_emitter.h"
#include "qd/philox.h"
#include "qd/scheduler.h"

namespace {

constexpr int kLatentDim = 128;
constexpr int kEmitters = 5;
constexpr int kBatchSize = 30;
constexpr double kSigma0 = 0.2;

// Slope of the synthetic measures. At 0.15 a 200-iteration run with seed 1 covered 16 % of the
// grid and restarted 3 times in 1,000 emitter iterations. For comparison, `lsi-cuda run
// --device cpu --iterations 200 --seed 0` with the repository's weights covered 18 % and
// restarted 3 times.
constexpr double kMeasureGain = 0.15;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Three fixed random directions p_k = kMeasureGain P_k . x / sqrt(128), P_k standard normal, so
// p_k ~ N(0, kMeasureGain^2) for standard normal latents x. Boldness 784 sigmoid(p_0 - 1.5) and
// lightness 0.5 + 0.5 sigmoid(p_1 + 1) sit inside the grid's ranges, and the objective
// sigmoid(p_2) exp(-|x|^2 / 1024) rewards one direction and penalises latents far from the
// GAN's prior.
class SyntheticEvaluator {
 public:
  explicit SyntheticEvaluator(std::uint64_t seed) : directions_(3, kLatentDim) {
    lsi::qd::PhiloxStream stream(seed, 1000);
    stream.fill_normal(directions_.data(), directions_.size());
    directions_ *= kMeasureGain / std::sqrt(static_cast<double>(kLatentDim));
  }

  //   solutions (N x 128), objectives (N), measures (N x 2)
  void evaluate(const lsi::qd::RowMatrixXf& solutions, Eigen::VectorXd& objectives,
                lsi::qd::RowMatrixXd& measures) const {
    const Eigen::Index n = solutions.rows();
    objectives.resize(n);
    measures.resize(n, 2);
    for (Eigen::Index i = 0; i < n; ++i) {
      const Eigen::VectorXd x = solutions.row(i).transpose().cast<double>();
      const Eigen::Vector3d p = directions_ * x;
      objectives[i] = sigmoid(p[2]) * std::exp(-x.squaredNorm() / 1024.0);
      measures(i, 0) = 784.0 * sigmoid(p[0] - 1.5);
      measures(i, 1) = 0.5 + 0.5 * sigmoid(p[1] + 1.0);
    }
  }

 private:
  lsi::qd::RowMatrixXd directions_;  // (3 x 128)
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Search overhead per iteration (ask + tell) at the MNIST tutorial's settings"};
  int n_iterations = 300;
  std::uint64_t seed = 1;
  app.add_option("--iterations", n_iterations, "Iterations of 5 x 30 evaluations")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Base seed of the emitters and of the evaluator");
  CLI11_PARSE(app, argc, argv);

  lsi::qd::GridArchive archive(kLatentDim, {200, 200}, {{0.0, 784.0}, {0.5, 1.0}});
  lsi::qd::ImprovementEmitterConfig config;
  config.sigma0 = kSigma0;
  config.batch_size = kBatchSize;
  config.ranker = lsi::qd::RankerKind::kTwoStageImprovement;
  lsi::qd::Scheduler scheduler(
      archive, lsi::qd::make_improvement_emitters(archive, config, kEmitters, seed));
  const SyntheticEvaluator evaluator(seed);

  // Time ask() and tell() apart from the evaluation.
  Eigen::VectorXd objectives;
  lsi::qd::RowMatrixXd measures;
  double ask_s = 0.0;
  double tell_s = 0.0;
  for (int iteration = 0; iteration < n_iterations; ++iteration) {
    auto start = std::chrono::steady_clock::now();
    const lsi::qd::RowMatrixXf& solutions = scheduler.ask();
    ask_s += seconds_since(start);

    evaluator.evaluate(solutions, objectives, measures);

    start = std::chrono::steady_clock::now();
    scheduler.tell(objectives, measures);
    tell_s += seconds_since(start);
  }

  std::int64_t n_restarts = 0;
  for (const lsi::qd::ImprovementEmitter& emitter : scheduler.emitters()) {
    n_restarts += emitter.restarts();
  }
  const lsi::qd::ArchiveStats stats = archive.stats();
  std::printf("iterations      %d of %d x %d solutions, seed %llu\n", n_iterations, kEmitters,
              kBatchSize, static_cast<unsigned long long>(seed));
  std::printf("restarts        %lld (%.3f per emitter iteration)\n",
              static_cast<long long>(n_restarts),
              static_cast<double>(n_restarts) / (static_cast<double>(n_iterations) * kEmitters));
  std::printf("coverage        %.4f (%lld cells)\n", stats.coverage,
              static_cast<long long>(stats.num_elites));
  std::printf("ask_us          %.1f per iteration\n", 1e6 * ask_s / n_iterations);
  std::printf("tell_us         %.1f per iteration\n", 1e6 * tell_s / n_iterations);
  std::printf("overhead_us     %.1f per iteration\n", 1e6 * (ask_s + tell_s) / n_iterations);
  return 0;
}
