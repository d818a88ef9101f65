// `lsi-cuda bench`: evaluations per second of the evaluator, and of the whole search loop.
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/bench_loop.h"
#include "app/run_config.h"
#include "app/commands.h"
#include "app/default_paths.h"
#include "app/make_backend.h"
#include "engine/flop_count.h"

#ifdef LSI_HAVE_CUDA
#include "kernels/cuda_bench.h"
#endif

namespace lsi {

namespace {

struct BenchOptions {
  std::string weights_dir;
  std::string device = "auto";
  std::vector<int> batches;  // empty: the device's defaults below
  std::string precision = "fp32";
  double min_seconds = 2.0;
  // Search loops to time, as EMITTERSxBATCH: the tutorial's and a configuration that fills a GPU.
  std::vector<std::string> loops = {"5x30", "100x64"};
  long long loop_iterations = 0;  // 0: as many as fit in min_seconds
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

// Parses "EMITTERSxBATCH", e.g. "5x30"; throws std::invalid_argument otherwise.
LoopBenchConfig parse_loop_spec(const std::string& spec) {
  LoopBenchConfig config;
  char trailing = 0;
  const int n_parsed = std::sscanf(spec.c_str(), "%dx%d%c", &config.n_emitters,
                                   &config.batch_size, &trailing);
  if (n_parsed != 2 || config.n_emitters < 1 || config.batch_size < 2) {
    throw std::invalid_argument("--loop " + spec +
                                ": expected EMITTERSxBATCH with at least 1 emitter and a batch "
                                "of at least 2, e.g. 5x30");
  }
  return config;
}

void print_loop_result(const LoopBenchResult& r, bool json) {
  const double gflops = r.evals_per_second * kFlopsPerEvaluation / 1e9;
  if (json) {
    std::printf("{\"device\": \"%s\", \"what\": \"loop\", \"emitters\": %d, "
                "\"batch_size\": %d, \"batch\": %d, \"iterations\": %lld, "
                "\"evals_per_second\": %.1f, \"gflops\": %.2f, \"evaluator_share\": %.4f}\n",
                r.search_device, r.n_emitters, r.batch_size, r.n_batch, r.n_iterations,
                r.evals_per_second, gflops, r.evaluator_share);
  } else {
    std::printf("%-4s loop %dx%d  batch %6d: %10.0f evaluations/s, %7.1f GFLOP/s "
                "(%lld iterations); evaluator %.1f %%, search %.1f %%\n",
                r.search_device, r.n_emitters, r.batch_size, r.n_batch, r.evals_per_second,
                gflops, r.n_iterations, 100.0 * r.evaluator_share,
                100.0 * (1.0 - r.evaluator_share));
  }
  std::fflush(stdout);
}

#ifdef LSI_HAVE_CUDA
// The CUDA evaluator's figures: device time (CUDA events, latents already on the GPU) and
// end-to-end time (host copies included), with TFLOP/s against the H200's FP32 peak.
void bench_cuda(const WeightPaths& paths, const std::vector<int>& batches,
                const std::string& precision, bool json) {
  for (const CudaBenchResult& r : bench_cuda_evaluator(paths, batches, precision)) {
    if (json) {
      std::printf("{\"device\": \"cuda\", \"what\": \"evaluator\", \"batch\": %d, "
                  "\"evals_per_second\": %.1f, \"gflops\": %.2f, \"precision\": \"%s\", "
                  "\"end_to_end_evals_per_second\": %.1f, \"fraction_of_fp32_peak\": %.4f}\n",
                  r.n_batch, r.device_evals_per_s, 1e3 * r.device_tflops, r.precision.c_str(),
                  r.end_to_end_evals_per_s, r.fraction_of_fp32_peak);
    } else {
      std::printf("cuda evaluator batch %6d (%s): %12.0f evaluations/s on the device, %7.2f "
                  "TFLOP/s (%.1f %% of FP32 peak); %12.0f end to end\n",
                  r.n_batch, r.precision.c_str(), r.device_evals_per_s, r.device_tflops,
                  100.0 * r.fraction_of_fp32_peak, r.end_to_end_evals_per_s);
    }
  }
  std::fflush(stdout);
}
#endif

void run_bench(const BenchOptions& options) {
  std::vector<LoopBenchConfig> loops;
  for (const std::string& spec : options.skip_loop ? std::vector<std::string>{} : options.loops) {
    loops.push_back(parse_loop_spec(spec));
    loops.back().n_iterations = options.loop_iterations;
    loops.back().min_seconds = options.min_seconds;
  }

  const WeightPaths paths = WeightPaths::in_folder(options.weights_dir);
  std::unique_ptr<Backend> backend = make_backend(options.device, paths);
  const bool on_gpu = backend->name() == "cuda";
  std::vector<int> batches = options.batches;
  if (batches.empty()) {
    batches = on_gpu ? std::vector<int>{150, 4096, 65536} : std::vector<int>{150, 1024, 4096};
  }
  if (options.precision != "fp32" && !on_gpu) {
    throw std::invalid_argument("--precision " + options.precision + " needs the CUDA backend");
  }

#ifdef LSI_HAVE_CUDA
  if (on_gpu) bench_cuda(paths, batches, options.precision, options.json);
#endif
  if (!on_gpu) {
    for (int n_batch : batches) {
      const double rate = time_evaluator(*backend, n_batch, options.min_seconds);
      print_result({backend->name(), "evaluator", n_batch, rate}, options.json);
    }
  }
  for (const LoopBenchConfig& loop : loops) {
    print_loop_result(time_search_loop(*backend, paths, loop), options.json);
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  options->weights_dir = default_weights_dir();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure evaluations/s of the evaluator and of whole search loops");
  cmd->add_option("--weights", options->weights_dir, "folder with the three weight files")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--device", options->device, "cpu, cuda, or auto (the GPU when usable)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--batch", options->batches,
                  "evaluator batch sizes to time (default 150 1024 4096 on the CPU, "
                  "150 4096 65536 on a GPU)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--precision", options->precision,
                  "fp32, or tf32 (tensor cores for the linear layers; CUDA only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "tf32"}));
  cmd->add_option("--min-seconds", options->min_seconds, "time each figure for at least this")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 600.0));
  cmd->add_option("--loop", options->loops,
                  "search loops to time, as EMITTERSxBATCH (on a GPU the whole loop runs there)")
      ->capture_default_str();
  cmd->add_option("--loop-iterations", options->loop_iterations,
                  "iterations of each loop to time; 0 times each for --min-seconds")
      ->capture_default_str()
      ->check(CLI::Range(0LL, 100000000LL));
  cmd->add_flag("--no-loop", options->skip_loop, "time the evaluator only");
  cmd->add_flag("--json", options->json,
                "one JSON object per line: device, what, batch, evals_per_second, gflops");
  cmd->callback([options] { run_bench(*options); });
}

}  // namespace lsi
