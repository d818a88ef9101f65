// Throughput of the CUDA evaluator: evals/s and TFLOP/s at given batch sizes.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "engine/weight_paths.h"

namespace lsi {

// Plain FP32 peak of an NVIDIA H200 SXM: about 67 TFLOP/s in NVIDIA's H200 specifications. It
// is an estimate, because the clock that the card keeps under load decides the rate it reaches.
constexpr double kH200Fp32PeakTflops = 67.0;

struct CudaBenchResult {
  std::string device_name;
  std::string precision;         // "fp32" or "tf32"
  int n_batch = 0;
  int n_device_reps = 0;         // timed repetitions after the warm-up
  int n_end_to_end_reps = 0;
  double device_ms = 0.0;        // one evaluate on device-resident latents, CUDA events
  double device_evals_per_s = 0.0;
  double end_to_end_ms = 0.0;    // one host-to-host evaluate: copies in and out included
  double end_to_end_evals_per_s = 0.0;
  double flop_per_eval = 0.0;    // matrix and convolution FLOP, 2 per multiply-add
  double device_tflops = 0.0;    // flop_per_eval * device_evals_per_s / 1e12
  double fraction_of_fp32_peak = 0.0;  // device_tflops / kH200Fp32PeakTflops
};

// FLOP of one evaluation (engine/flop_count.h): the generator's four products and LeNet-5's
// convolutions and linear layers. The elementwise work (bias, activations, tanh, measures) is
// left out.
double evaluator_flop_per_eval();

// Times evaluate at each batch size, for digit 0 and normal latents from a fixed seed, after a
// warm-up. Device time comes from CUDA events around repetitions of the device pipeline alone.
// End-to-end time comes from a steady clock around repetitions of the host-to-host evaluate that
// CudaBackend runs. Needs the generator and LeNet-5 weights. Throws std::runtime_error when no
// CUDA device is usable, and std::invalid_argument for a batch size under 1 or an unknown
// precision.
std::vector<CudaBenchResult> bench_cuda_evaluator(const WeightPaths& paths,
                                                  const std::vector<int>& batches,
                                                  const std::string& precision);

// Runs bench_cuda_evaluator and prints a table to `out`.
void run_cuda_evaluator_bench(const WeightPaths& paths, const std::vector<int>& batches,
                              const std::string& precision, std::ostream& out);

// The results as a JSON document: {"fp32_peak_tflops": ..., "results": [{...}, ...]}, one object
// per result with the fields of CudaBenchResult under their own names.
std::string cuda_bench_json(const std::vector<CudaBenchResult>& results);

}  // namespace lsi
