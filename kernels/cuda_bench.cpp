// Benchmarks of the CUDA evaluator, timed with CUDA events and a steady clock.
#include "kernels/cuda_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/flop_count.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_evaluator.h"
#include "kernels/cuda_handles.h"
#include "kernels/math_precision.h"

namespace lsi {

namespace {

constexpr int kWarmupReps = 3;
constexpr double kTargetSeconds = 0.5;  // timed work per measurement, to average out jitter
constexpr int kMinReps = 5;
constexpr int kMaxReps = 1000;
constexpr unsigned kLatentSeed = 20240611;

std::vector<float> normal_latents(int n_batch) {
  std::mt19937 generator(kLatentSeed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> latents(static_cast<size_t>(n_batch) * kLatentDim);
  for (float& value : latents) value = normal(generator);
  return latents;
}

int reps_for(double seconds_per_rep) {
  const double reps = kTargetSeconds / std::max(seconds_per_rep, 1e-9);
  return static_cast<int>(std::clamp(reps, double{kMinReps}, double{kMaxReps}));
}

// Mean seconds of one run_evaluate over n_reps, from events recorded around the whole loop.
double time_device_evaluate(CudaEvaluator& evaluator, int n_batch, int n_reps) {
  CudaEvent start;
  CudaEvent stop;
  LSI_CUDA_CHECK(cudaEventRecord(start.get(), evaluator.stream()));
  for (int rep = 0; rep < n_reps; ++rep) evaluator.run_evaluate(n_batch, 0);
  LSI_CUDA_CHECK(cudaEventRecord(stop.get(), evaluator.stream()));
  LSI_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float elapsed_ms = 0.0f;
  LSI_CUDA_CHECK(cudaEventElapsedTime(&elapsed_ms, start.get(), stop.get()));
  return elapsed_ms / 1e3 / n_reps;
}

// Mean seconds of one host-to-host evaluate (what CudaBackend::evaluate runs) over n_reps.
double time_end_to_end(CudaEvaluator& evaluator, const std::vector<float>& latents, int n_batch,
                       int n_reps, Evaluation& out) {
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0; rep < n_reps; ++rep) evaluator.evaluate(latents.data(), n_batch, 0, out);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / n_reps;
}

std::string current_device_name() {
  int device = 0;
  LSI_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp properties{};
  LSI_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  return properties.name;
}

}  // namespace

double evaluator_flop_per_eval() { return kFlopsPerEvaluation; }

std::vector<CudaBenchResult> bench_cuda_evaluator(const WeightPaths& paths,
                                                  const std::vector<int>& batches,
                                                  const std::string& precision) {
  const MathPrecision math = parse_math_precision(precision);
  for (const int n_batch : batches) {
    if (n_batch <= 0) {
      throw std::invalid_argument("bench: batch sizes must be positive, got " +
                                  std::to_string(n_batch));
    }
  }
  std::string reason;
  if (!cuda_device_usable(&reason)) {
    throw std::runtime_error("bench: no usable CUDA device: " + reason);
  }
  if (batches.empty()) return {};

  // One chunk contains the largest batch, so the device timing covers the whole batch at once.
  const int max_batch = *std::max_element(batches.begin(), batches.end());
  CudaEvaluator evaluator(WeightPaths{paths.generator, "", paths.lenet5}, math, max_batch);
  evaluator.reserve(max_batch);
  const std::vector<float> latents = normal_latents(max_batch);
  LSI_CUDA_CHECK(cudaMemcpyAsync(evaluator.d_latents(), latents.data(),
                                 latents.size() * sizeof(float), cudaMemcpyHostToDevice,
                                 evaluator.stream()));

  std::vector<CudaBenchResult> results;
  Evaluation out;
  for (const int n_batch : batches) {
    CudaBenchResult result;
    result.device_name = current_device_name();
    result.precision = precision;
    result.n_batch = n_batch;
    result.flop_per_eval = evaluator_flop_per_eval();

    time_device_evaluate(evaluator, n_batch, kWarmupReps);
    const double device_probe_s = time_device_evaluate(evaluator, n_batch, 1);
    result.n_device_reps = reps_for(device_probe_s);
    const double device_s = time_device_evaluate(evaluator, n_batch, result.n_device_reps);

    time_end_to_end(evaluator, latents, n_batch, 1, out);
    const double end_to_end_probe_s = time_end_to_end(evaluator, latents, n_batch, 1, out);
    result.n_end_to_end_reps = reps_for(end_to_end_probe_s);
    const double end_to_end_s =
        time_end_to_end(evaluator, latents, n_batch, result.n_end_to_end_reps, out);

    result.device_ms = device_s * 1e3;
    result.device_evals_per_s = n_batch / device_s;
    result.end_to_end_ms = end_to_end_s * 1e3;
    result.end_to_end_evals_per_s = n_batch / end_to_end_s;
    result.device_tflops = result.flop_per_eval * result.device_evals_per_s / 1e12;
    result.fraction_of_fp32_peak = result.device_tflops / kH200Fp32PeakTflops;
    results.push_back(result);
  }
  return results;
}

void run_cuda_evaluator_bench(const WeightPaths& paths, const std::vector<int>& batches,
                              const std::string& precision, std::ostream& out) {
  const std::vector<CudaBenchResult> results = bench_cuda_evaluator(paths, batches, precision);
  if (results.empty()) return;
  out << "CUDA evaluator on " << results.front().device_name << ", precision " << precision
      << ", " << evaluator_flop_per_eval() / 1e6 << " MFLOP per eval; peak FP32 estimate "
      << kH200Fp32PeakTflops << " TFLOP/s (NVIDIA H200 SXM datasheet)\n";
  char line[160];
  std::snprintf(line, sizeof line, "%8s %12s %14s %10s %8s %14s %14s\n", "batch", "device ms",
                "device eval/s", "TFLOP/s", "of peak", "end-to-end ms", "e2e eval/s");
  out << line;
  for (const CudaBenchResult& r : results) {
    std::snprintf(line, sizeof line, "%8d %12.4f %14.4g %10.3f %7.1f%% %14.4f %14.4g\n",
                  r.n_batch, r.device_ms, r.device_evals_per_s, r.device_tflops,
                  100.0 * r.fraction_of_fp32_peak, r.end_to_end_ms, r.end_to_end_evals_per_s);
    out << line;
  }
}

std::string cuda_bench_json(const std::vector<CudaBenchResult>& results) {
  nlohmann::json document;
  document["fp32_peak_tflops"] = kH200Fp32PeakTflops;
  document["fp32_peak_source"] = "NVIDIA H200 SXM datasheet (an estimate)";
  document["results"] = nlohmann::json::array();
  for (const CudaBenchResult& r : results) {
    document["results"].push_back({
        {"device_name", r.device_name},
        {"precision", r.precision},
        {"n_batch", r.n_batch},
        {"n_device_reps", r.n_device_reps},
        {"n_end_to_end_reps", r.n_end_to_end_reps},
        {"device_ms", r.device_ms},
        {"device_evals_per_s", r.device_evals_per_s},
        {"end_to_end_ms", r.end_to_end_ms},
        {"end_to_end_evals_per_s", r.end_to_end_evals_per_s},
        {"flop_per_eval", r.flop_per_eval},
        {"device_tflops", r.device_tflops},
        {"fraction_of_fp32_peak", r.fraction_of_fp32_peak},
    });
  }
  return document.dump(2);
}

}  // namespace lsi
