// The device search's emitter steps (kernels/search_emitter_steps.h) run as CUDA kernels and
// checked against qd::ImprovementEmitter, with the checks of the CPU emulation test
// (search_emitter_checks.h). Needs a usable CUDA device: without one the program prints why and
// exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <memory>
#include <string>

#include "kernels/cuda_backend.h"
#include "search_emitter_checks.h"

namespace lsi_test {
// Defined in test_cuda_search_emitter.cu.
std::unique_ptr<EmitterRunner> make_cuda_emitter_runner();
}  // namespace lsi_test

namespace {

// ctest's SKIP_RETURN_CODE for this program.
constexpr int kSkipExitCode = 77;

}  // namespace

TEST_CASE("emitter steps on the GPU match qd::ImprovementEmitter") {
  const std::unique_ptr<lsi_test::EmitterRunner> runner = lsi_test::make_cuda_emitter_runner();
  for (const lsi_test::EmitterScenario& scenario : lsi_test::emitter_scenarios()) {
    const lsi_test::EmitterCoverage coverage = lsi_test::check_emitter_scenario(scenario, *runner);
    lsi_test::check_emitter_coverage(scenario, coverage);
  }
}

int main(int argc, char** argv) {
  std::string reason;
  if (!lsi::cuda_device_usable(&reason)) {
    std::cout << "SKIPPED: test_cuda_search_emitter needs a usable CUDA device: " << reason << "\n";
    return kSkipExitCode;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
