// `lsi-cuda bench`: evaluations per second of the evaluator, and of the whole search loop.
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "app/bench_loop.h"
#include "app/commands.h"
#include "app/default_paths.h"
#include "app/make_backend.h"
#include "engine/flop_count.h"

namespace lsi {

namespace {

struct BenchOptions {
  std::string weights_dir;
  std::string device = "auto";
  std::vector<int> batches = {150, 1024, 4096};
  double min_seconds = 2.0;
  int loop_iterations = 300;
  bool skip_loop = false;
  bool json = false;
};

struct BenchResult {
  std::string device;
  std::string what;
  int batch;
  double evals_per_second;
};

void print_result(const BenchResult& r, bool json) {
  const double gflops = r.evals_per_second * kFlopsPerEvaluation / 1e9;
  if (json) {
    std::printf("{\"device\": \"%s\", \"what\": \"%s\", \"batch\": %d, "
                "\"evals_per_second\": %.1f, \"gflops\": %.2f}\n",
                r.device.c_str(), r.what.c_str(), r.batch, r.evals_per_second, gflops);
  } else {
    std::printf("%-4s %-9s batch %6d: %10.0f evaluations/s, %7.1f GFLOP/s\n", r.device.c_str(),
                r.what.c_str(), r.batch, r.evals_per_second, gflops);
  }
  std::fflush(stdout);
}

// Times backend.evaluate on one batch of standard-normal latents for at least min_seconds,
// after one warm-up call.
double time_evaluator(Backend& backend, int n_batch, double min_seconds) {
  std::mt19937_64 rng(n_batch);
  std::normal_distribution<float> normal;
  std::vector<float> latents(static_cast<size_t>(n_batch) * kLatentDim);
  for (float& v : latents) v = normal(rng);

  Evaluation out;
  backend.evaluate(latents.data(), n_batch, 8, out);

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  long n_evaluations = 0;
  double elapsed_s = 0.0;
  do {
    backend.evaluate(latents.data(), n_batch, 8, out);
    n_evaluations += n_batch;
    elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed_s < min_seconds);
  return static_cast<double>(n_evaluations) / elapsed_s;
}

void run_bench(const BenchOptions& options) {
  std::unique_ptr<Backend> backend =
      make_backend(options.device, WeightPaths::in_folder(options.weights_dir));
  for (int n_batch : options.batches) {
    const double rate = time_evaluator(*backend, n_batch, options.min_seconds);
    print_result({backend->name(), "evaluator", n_batch, rate}, options.json);
  }
  if (options.skip_loop) return;

  const LoopBenchResult loop = time_search_loop(*backend, options.loop_iterations);
  print_result({backend->name(), "loop", loop.n_batch, loop.evals_per_second}, options.json);
  if (!options.json) {
    std::printf("loop split: evaluator %.1f %%, search (ask, tell, archive) %.1f %%\n",
                100.0 * loop.evaluator_share, 100.0 * (1.0 - loop.evaluator_share));
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  options->weights_dir = default_weights_dir();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure evaluations/s of the evaluator and of the tutorial's search loop");
  cmd->add_option("--weights", options->weights_dir, "folder with the three weight files")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--device", options->device, "cpu, cuda, or auto (the GPU when usable)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--batch", options->batches, "evaluator batch sizes to time")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--min-seconds", options->min_seconds, "time each figure for at least this")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 600.0));
  cmd->add_option("--loop-iterations", options->loop_iterations,
                  "iterations of the 5 x 30 search loop to time")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_flag("--no-loop", options->skip_loop, "time the evaluator only");
  cmd->add_flag("--json", options->json,
                "one JSON object per line: device, what, batch, evals_per_second, gflops");
  cmd->callback([options] { run_bench(*options); });
}

}  // namespace lsi
