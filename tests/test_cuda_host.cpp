// Tests of the CUDA backend's host logic, which run with or without a GPU: device detection, the
// check macros' messages, argument checks that come before any CUDA call, precision names, and
// the benchmark's FLOP count and JSON.
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "app/make_backend.h"
#include "kernels/bias_activation.cuh"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_bench.h"
#include "kernels/cuda_check.h"
#include "kernels/entry_checks.h"
#include "kernels/lenet5.cuh"
#include "kernels/math_precision.h"
#include "kernels/pixel_measures.cuh"

namespace {

bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

// The message of the std::exception that fn throws, or "" when it throws none.
template <typename Exception, typename Fn>
std::string thrown_message(Fn fn) {
  try {
    fn();
  } catch (const Exception& error) {
    return error.what();
  }
  return "";
}

bool gpu_usable() { return lsi::cuda_device_usable(nullptr); }

// Captures what std::cerr receives while it lives.
class CerrCapture {
 public:
  CerrCapture() : old_(std::cerr.rdbuf(captured_.rdbuf())) {}
  ~CerrCapture() { std::cerr.rdbuf(old_); }
  std::string text() const { return captured_.str(); }

 private:
  std::ostringstream captured_;
  std::streambuf* old_;
};

}  // namespace

TEST_CASE("cuda_device_usable gives a reason") {
  std::string reason = "unchanged";
  const bool usable = lsi::cuda_device_usable(&reason);
  if (usable) {
    CHECK(reason.empty());
  } else {
    INFO("reason: ", reason);
    CHECK(!reason.empty());
    CHECK(reason != "unchanged");
  }
  // A second call returns the same result, and a null reason is allowed.
  CHECK(lsi::cuda_device_usable(nullptr) == usable);
}

TEST_CASE("cuda_device_usable without a driver") {
  // Holds on machines where the CUDA driver or device is missing: the runtime's own error is
  // part of the reason.
  std::string reason;
  if (lsi::cuda_device_usable(&reason)) return;
  if (!contains(reason, "cudaGetDeviceCount")) return;
  CHECK(contains(reason, "no CUDA device found (cudaGetDeviceCount: cudaError"));
}

TEST_CASE("check macro formats a CUDA failure") {
  const cudaError_t fake_status = cudaErrorMemoryAllocation;
  const int line = __LINE__ + 2;
  const std::string message = thrown_message<std::runtime_error>([&] {
    LSI_CUDA_CHECK(fake_status);
  });
  INFO("message: ", message);
  CHECK(contains(message, "CUDA error"));
  CHECK(contains(message, "`fake_status`"));
  CHECK(contains(message, "tests/test_cuda_host.cpp:" + std::to_string(line)));
  CHECK(contains(message, "cudaErrorMemoryAllocation"));
  CHECK(contains(message, "out of memory"));
}

TEST_CASE("check macro formats a cuBLAS failure") {
  const cublasStatus_t fake_status = CUBLAS_STATUS_NOT_INITIALIZED;
  const int line = __LINE__ + 2;
  const std::string message = thrown_message<std::runtime_error>([&] {
    LSI_CUDA_CHECK(fake_status);
  });
  INFO("message: ", message);
  CHECK(contains(message, "cuBLAS error"));
  CHECK(contains(message, "`fake_status`"));
  CHECK(contains(message, "tests/test_cuda_host.cpp:" + std::to_string(line)));
  CHECK(contains(message, "CUBLAS_STATUS_NOT_INITIALIZED"));
  CHECK(contains(message, "not initialized"));
}

TEST_CASE("check macro passes success once") {
  int n_calls = 0;
  const auto succeed = [&n_calls] {
    ++n_calls;
    return cudaSuccess;
  };
  CHECK_NOTHROW(LSI_CUDA_CHECK(succeed()));
  CHECK(n_calls == 1);
  CHECK_NOTHROW(LSI_CUDA_CHECK(CUBLAS_STATUS_SUCCESS));
}

TEST_CASE("logging check writes and does not throw") {
  const cudaError_t fake_status = cudaErrorInvalidValue;
  CerrCapture capture;
  CHECK_NOTHROW(LSI_CUDA_CHECK_LOG(fake_status));
  const std::string logged = capture.text();
  INFO("logged: ", logged);
  CHECK(contains(logged, "`fake_status`"));
  CHECK(contains(logged, "cudaErrorInvalidValue"));
  CHECK(contains(logged, "tests/test_cuda_host.cpp:"));
}

TEST_CASE("make_backend cuda without a GPU") {
  if (gpu_usable()) return;  // this case is about machines without one
  const std::string message = thrown_message<std::runtime_error>(
      [] { lsi::make_backend("cuda", lsi::WeightPaths{}); });
  INFO("message: ", message);
  CHECK(contains(message, "--device cuda"));
  CHECK(contains(message, "--device cpu"));
  std::string reason;
  lsi::cuda_device_usable(&reason);
  CHECK(contains(message, reason));
}

TEST_CASE("make_backend auto falls back to the CPU") {
  if (gpu_usable()) return;
  const auto backend = lsi::make_backend("auto", lsi::WeightPaths{});
  REQUIRE(backend != nullptr);
  CHECK(backend->name() == "cpu");
}

TEST_CASE("CudaBackend without a GPU") {
  if (gpu_usable()) return;
  const std::string message = thrown_message<std::runtime_error>(
      [] { lsi::CudaBackend backend(lsi::WeightPaths{}); });
  INFO("message: ", message);
  CHECK(contains(message, "CudaBackend: no usable CUDA device: "));
}

TEST_CASE("CudaBackend rejects bad options first") {
  // Options are checked before the device, so these hold with or without a GPU.
  lsi::CudaOptions bad_precision;
  bad_precision.precision = "bf16";
  const std::string precision_message = thrown_message<std::invalid_argument>(
      [&] { lsi::CudaBackend backend(lsi::WeightPaths{}, bad_precision); });
  CHECK(contains(precision_message, "'bf16'"));

  lsi::CudaOptions bad_chunk;
  bad_chunk.max_rows_per_chunk = 0;
  const std::string chunk_message = thrown_message<std::invalid_argument>(
      [&] { lsi::CudaBackend backend(lsi::WeightPaths{}, bad_chunk); });
  CHECK(contains(chunk_message, "max_rows_per_chunk must be positive, got 0"));
}

TEST_CASE("math precision names") {
  CHECK(lsi::parse_math_precision("fp32") == lsi::MathPrecision::kFp32);
  CHECK(lsi::parse_math_precision("tf32") == lsi::MathPrecision::kTf32);
  for (const auto precision : {lsi::MathPrecision::kFp32, lsi::MathPrecision::kTf32}) {
    CHECK(lsi::parse_math_precision(lsi::to_string(precision)) == precision);
  }
  for (const char* bad : {"", "FP32", "fp16", "tf32 "}) {
    CAPTURE(bad);
    const std::string message =
        thrown_message<std::invalid_argument>([&] { lsi::parse_math_precision(bad); });
    CHECK(contains(message, "use fp32 or tf32"));
  }
}

TEST_CASE("batch arguments rejected") {
  const float value = 0.0f;
  float output = 0.0f;
  CHECK_NOTHROW(lsi::check_batch_arguments("evaluate", &value, 1, &output));
  for (const int n_batch : {0, -1, std::numeric_limits<int>::min()}) {
    CAPTURE(n_batch);
    const std::string message = thrown_message<std::invalid_argument>(
        [&] { lsi::check_batch_arguments("evaluate", &value, n_batch, &output); });
    CHECK(contains(message, "evaluate: n_batch must be positive, got " + std::to_string(n_batch)));
  }
  CHECK(contains(thrown_message<std::invalid_argument>(
                     [&] { lsi::check_batch_arguments("classify", nullptr, 3, &output); }),
                 "classify: the input pointer is null"));
  CHECK(contains(thrown_message<std::invalid_argument>(
                     [&] { lsi::check_batch_arguments("discriminate", &value, 3, nullptr); }),
                 "discriminate: the output pointer is null"));
}

TEST_CASE("digit argument rejected") {
  for (int digit = 0; digit < 10; ++digit) CHECK_NOTHROW(lsi::check_digit("evaluate", digit));
  for (const int digit : {-1, 10, 1000}) {
    CAPTURE(digit);
    const std::string message =
        thrown_message<std::invalid_argument>([&] { lsi::check_digit("evaluate", digit); });
    CHECK(contains(message, "evaluate: digit must be in 0..9, got " + std::to_string(digit)));
  }
}

TEST_CASE("launchers reject bad arguments before CUDA") {
  // Each launcher checks its arguments before any CUDA call, so these run without a GPU. The
  // pointers are never dereferenced.
  alignas(16) float host[8] = {};
  float* misaligned = host + 1;
  CHECK_THROWS_AS(lsi::pixel_measures(host, host, -1, host, host, host, nullptr),
                  std::invalid_argument);
  CHECK_THROWS_AS(lsi::pixel_measures(misaligned, host, 1, host, host, host, nullptr),
                  std::invalid_argument);
  CHECK_THROWS_AS(lsi::bias_leaky_relu(host, host, 2, 6, 0.2f, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(lsi::bias_leaky_relu(host, host, -1, 4, 0.2f, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(lsi::bias_sigmoid(host, host, 1, 0, nullptr), std::invalid_argument);

  const lsi::LeNet5ConvParams conv{};
  const lsi::LeNet5LinearWeights linear{};
  CHECK_THROWS_AS(lsi::lenet5_forward(conv, linear, host, 1, 10, nullptr, host, nullptr),
                  std::invalid_argument);
  CHECK_THROWS_AS(lsi::lenet5_forward(conv, linear, host, -2, 0, host, nullptr, nullptr),
                  std::invalid_argument);
  CHECK_THROWS_AS(lsi::lenet5_forward(conv, linear, misaligned, 1, 0, host, nullptr, nullptr),
                  std::invalid_argument);

  // An empty batch launches nothing.
  CHECK_NOTHROW(lsi::pixel_measures(host, host, 0, host, host, host, nullptr));
  CHECK_NOTHROW(lsi::lenet5_forward(conv, linear, host, 0, 3, host, host, nullptr));
  CHECK_NOTHROW(lsi::bias_sigmoid(host, host, 0, 1, nullptr));
}

TEST_CASE("bench flop count") {
  // Multiply-adds: generator 128*256 + 256*512 + 512*1024 + 1024*784 = 1,490,944, conv1
  // 6*24*24*25 = 86,400, conv2 16*8*8*150 = 153,600, LeNet-5 linear 30,720 + 10,080 + 840.
  CHECK(lsi::evaluator_flop_per_eval() == doctest::Approx(2.0 * 1772584).epsilon(1e-12));
}

TEST_CASE("bench JSON fields") {
  lsi::CudaBenchResult result;
  result.device_name = "test GPU";
  result.precision = "tf32";
  result.n_batch = 4096;
  result.device_evals_per_s = 1.5e6;
  result.end_to_end_evals_per_s = 2.5e5;
  result.fraction_of_fp32_peak = 0.25;

  const nlohmann::json document = nlohmann::json::parse(lsi::cuda_bench_json({result, result}));

  CHECK(document.at("fp32_peak_tflops").get<double>() == lsi::kH200Fp32PeakTflops);
  REQUIRE(document.at("results").size() == 2);
  const nlohmann::json& row = document.at("results").at(0);
  CHECK(row.at("device_name") == "test GPU");
  CHECK(row.at("precision") == "tf32");
  CHECK(row.at("n_batch") == 4096);
  CHECK(row.at("device_evals_per_s").get<double>() == 1.5e6);
  CHECK(row.at("end_to_end_evals_per_s").get<double>() == 2.5e5);
  CHECK(row.at("fraction_of_fp32_peak").get<double>() == 0.25);
}

TEST_CASE("bench rejects bad arguments") {
  CHECK_THROWS_AS(lsi::bench_cuda_evaluator(lsi::WeightPaths{}, {150, 0}, "fp32"),
                  std::invalid_argument);
  CHECK_THROWS_AS(lsi::bench_cuda_evaluator(lsi::WeightPaths{}, {150}, "fp64"),
                  std::invalid_argument);
  if (gpu_usable()) return;
  const std::string message = thrown_message<std::runtime_error>(
      [] { lsi::bench_cuda_evaluator(lsi::WeightPaths{}, {150}, "fp32"); });
  CHECK(contains(message, "bench: no usable CUDA device"));
}
