// The whole device search on a GPU against the same search on the CPU: EmulatedSearch (the same
// steps with HostExecutor and the CPU backend) and qd's CPU search. Needs a usable CUDA device:
// without one the program prints why and exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "app/cuda_search.h"
#include "app/run_config.h"
#include "app/search.h"
#include "engine/cpu_backend.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_search.h"
#include "kernels/emulated_search.h"
#include "tests/test_cuda_support.h"

namespace {

constexpr int kSkipExitCode = 77;

lsi::WeightPaths default_weights() {
  return lsi::WeightPaths::in_folder(lsi_test::source_dir() + "/weights");
}

lsi::qd::GridArchive make_archive(const lsi::DeviceSearchConfig& config) {
  return lsi::qd::GridArchive(
      lsi::kLatentDim, {config.n_cells[0], config.n_cells[1]},
      {{config.lower[0], config.upper[0]}, {config.lower[1], config.upper[1]}});
}

}  // namespace

TEST_CASE("first iteration: the GPU samples the CPU's latents and builds its archive") {
  // Before any feedback the two evaluate the same latents (the normal draws agree to 1e-15 and
  // are rounded to float). The GPU evaluator's objectives and measures differ from the CPU's by
  // rounding (test_cuda_evaluator: 1e-4 and 1e-5). So a cell boundary or a collision can go the
  // other way for a few elites, and the archives must agree on all but 1 % of their cells.
  lsi::DeviceSearchConfig config;
  lsi::CpuBackend cpu(default_weights());
  lsi::EmulatedSearch emulated(config, cpu);
  lsi::DeviceSearch device(config, default_weights());
  emulated.run_iterations(1);
  device.launch_iterations(1);
  lsi::qd::GridArchive emulated_archive = make_archive(config);
  lsi::qd::GridArchive device_archive = make_archive(config);
  emulated.copy_archive(emulated_archive);
  device.copy_archive(device_archive);

  std::int64_t n_same = 0;
  double max_objective_error = 0.0;
  for (const std::int64_t cell : emulated_archive.occupied_cells()) {
    if (!device_archive.is_occupied(cell)) continue;
    ++n_same;
    max_objective_error =
        std::max(max_objective_error, std::abs(device_archive.elite(cell).objective -
                                               emulated_archive.elite(cell).objective));
  }
  const auto n_cpu = static_cast<std::int64_t>(emulated_archive.occupied_cells().size());
  std::printf("first iteration: %lld elites on the CPU, %lld on the GPU, %lld cells shared, max "
              "objective difference %.3g\n",
              static_cast<long long>(n_cpu),
              static_cast<long long>(device_archive.occupied_cells().size()),
              static_cast<long long>(n_same), max_objective_error);
  CHECK(n_cpu > 0);
  CHECK(static_cast<double>(n_same) >= 0.99 * static_cast<double>(n_cpu));
  CHECK(max_objective_error <= 1e-4);
}

TEST_CASE("short run on GPU and CPU") {
  // 300 iterations of the tutorial's 5 x 30 with seeds 0, 1 and 2 on each device. The runs part
  // ways after the first eigendecompositions: the two eigensolvers return different eigenvector
  // signs, the GPU uses each decomposition 8 iterations later, and the evaluators round
  // differently. So they are compared as runs of one algorithm, with the tolerance of
  // tests/test_search_loop.cpp: mean coverage and QD score within 10 %.
  constexpr int kSeeds = 3;
  lsi::CpuBackend cpu(default_weights());
  const auto never = [] { return false; };
  const auto quiet = [](std::int64_t, double) {};
  double cpu_coverage = 0.0;
  double cpu_qd_score = 0.0;
  double cuda_coverage = 0.0;
  double cuda_qd_score = 0.0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    lsi::RunConfig run_config;
    run_config.n_iterations = 300;
    run_config.progress_every = 300;
    run_config.seed = static_cast<std::uint64_t>(seed);
    lsi::CpuSearch cpu_search(run_config, cpu);
    lsi::CudaSearch cuda_search(run_config, default_weights());
    const lsi::ProgressRow cpu_row = cpu_search.run(never, quiet).progress.back();
    const lsi::ProgressRow cuda_row = cuda_search.run(never, quiet).progress.back();
    std::printf("seed %d: cpu coverage %.4f, QD score %.1f, restarts %lld; cuda coverage %.4f, "
                "QD score %.1f, restarts %lld\n",
                seed, cpu_row.coverage, cpu_row.qd_score,
                static_cast<long long>(cpu_row.restarts), cuda_row.coverage, cuda_row.qd_score,
                static_cast<long long>(cuda_row.restarts));
    CHECK(cuda_row.iteration == 300);
    CHECK(cuda_row.evaluations == 45000);

    // The archive copied back agrees with the statistics computed on the device.
    const lsi::qd::ArchiveStats stats = cuda_search.archive().stats();
    CHECK(stats.num_elites == cuda_row.num_elites);
    CHECK(stats.qd_score == doctest::Approx(cuda_row.qd_score).epsilon(1e-12));

    cpu_coverage += cpu_row.coverage / kSeeds;
    cpu_qd_score += cpu_row.qd_score / kSeeds;
    cuda_coverage += cuda_row.coverage / kSeeds;
    cuda_qd_score += cuda_row.qd_score / kSeeds;
  }
  CHECK(cuda_coverage == doctest::Approx(cpu_coverage).epsilon(0.10));
  CHECK(cuda_qd_score == doctest::Approx(cpu_qd_score).epsilon(0.10));
}

TEST_CASE("same seed, same archive on the GPU") {
  // Every step is deterministic. Atomics only take maxima, minima and sums of integers. The
  // eigensolver's results are committed at a fixed iteration whatever its speed. cuBLAS
  // documents the same bits on every run with one toolkit on one GPU, with its atomics mode off
  // as by default. So two runs with one seed must agree bit for bit, through restarts and
  // eigendecompositions.
  lsi::DeviceSearchConfig config;
  config.seed = 7;
  lsi::qd::GridArchive first = make_archive(config);
  lsi::qd::GridArchive second = make_archive(config);
  std::vector<std::int64_t> first_restarts;
  {
    lsi::DeviceSearch device(config, default_weights());
    device.launch_iterations(200);
    device.copy_archive(first);
    first_restarts = device.restarts_per_emitter();
  }
  lsi::DeviceSearch device(config, default_weights());
  device.launch_iterations(200);
  device.copy_archive(second);
  REQUIRE(second.occupied_cells() == first.occupied_cells());
  for (const std::int64_t cell : first.occupied_cells()) {
    CHECK(second.elite(cell).objective == first.elite(cell).objective);
    CHECK(second.elite(cell).solution == first.elite(cell).solution);
  }
  CHECK(device.restarts_per_emitter() == first_restarts);
}

TEST_CASE("the large configuration runs: 100 emitters x 64") {
  lsi::DeviceSearchConfig config;
  config.n_emitters = 100;
  config.batch_size = 64;
  lsi::DeviceSearch device(config, default_weights());
  device.launch_iterations(50);
  const lsi::DeviceSearchSnapshot snapshot = device.snapshot();
  CHECK(snapshot.iterations == 50);
  CHECK(snapshot.num_elites > 0);
  CHECK(std::isfinite(snapshot.qd_score));
  std::printf("100 x 64, 50 iterations: %lld elites, restarts %lld\n",
              static_cast<long long>(snapshot.num_elites),
              static_cast<long long>(snapshot.restarts));
}

int main(int argc, char** argv) {
  std::string reason;
  if (!lsi::cuda_device_usable(&reason)) {
    std::cout << "test_cuda_search_loop: skipped, no usable CUDA device: " << reason << "\n";
    return kSkipExitCode;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
