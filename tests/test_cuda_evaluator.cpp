// The CUDA backend against the CPU backend, with the same randomly initialised weight files, on
// batches of 1, 7, 150 and 1000 rows. Each kernel is also run on its own, with guard rows after
// the batch that must stay untouched. Needs a usable CUDA device: without one the program prints
// why and exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/cpu_backend.h"
#include "engine/discriminator.h"
#include "engine/generator.h"
#include "engine/idx.h"
#include "engine/lenet5.h"
#include "engine/pixel_measures.h"
#include "engine/safetensors.h"
#include "kernels/bias_activation.cuh"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_handles.h"
#include "kernels/device_buffer.h"
#include "kernels/device_weights.h"
#include "kernels/lenet5.cuh"
#include "kernels/pixel_measures.cuh"
#include "tests/tolerance.h"
#include "test_cuda_support.h"

namespace {

namespace fs = std::filesystem;
using lsi::kClasses;
using lsi::kLatentDim;
using lsi::kPixels;
using lsi_test::normal_values;
using lsi_test::TempDir;
using lsi_test::uniform01_values;
using lsi_test::write_random_weights;

// ctest's SKIP_RETURN_CODE for this program.
constexpr int kSkipExitCode = 77;

// Tolerances, GPU against CPU, both in FP32. The two sum in different orders (cuBLAS and our
// kernels against Eigen), so results differ by rounding that grows with the length of each sum.
// Images: (tanh + 1) / 2 of logits after four layers, summing up to 1024 products each.
constexpr double kImageTolerance = 1e-5;
// Log-probabilities and discriminator scores: after the normalisation (x 1 / 0.3081) and five
// more layers, the image-level differences grow by about ten.
constexpr double kLogProbTolerance = 1e-4;
constexpr double kScoreTolerance = 1e-4;
// Objectives are probabilities in [0, 1]: exp(log_prob) changes no more than log_prob does.
constexpr double kObjectiveTolerance = 1e-4;
// Lightness is a mean of up to 784 pixels that each agree within kImageTolerance, summed in
// another order (at most 784 x 2^-24 relative rounding).
constexpr double kLightnessTolerance = 1e-4;
// TF32 keeps 10 of the 23 mantissa bits of each product's inputs (relative error up to 2^-11).
// NOTE: a bound that catches a wrong product, not a measured one. Measure it on a GPU.
constexpr double kTf32ImageTolerance = 2e-2;

const std::vector<int> kBatchSizes = {1, 7, 150, 1000};

// Random weight files for the three networks, written once for the whole program.
struct TestWeights {
  TempDir dir;
  lsi::WeightPaths paths;
  lsi::WeightPaths other_paths;  // other generator and LeNet-5 values, same shapes

  TestWeights() {
    paths = lsi::WeightPaths::in_folder(dir.path());
    other_paths = {dir.file("generator_other.safetensors"), "",
                   dir.file("lenet5_other.safetensors")};
    // A last-layer gain of 20 spreads the generator's images over [0, 1] as a trained
    // generator's are: logits with a standard deviation near 1, a tenth of the pixels saturated
    // (measured with NumPy on the same initialisation). A gain of 4 on LeNet-5's last layer
    // makes its probabilities far from uniform.
    const std::map<std::string, double> generator_gains = {{"main.6", 20.0}};
    const std::map<std::string, double> lenet5_gains = {{"11", 4.0}};
    write_random_weights(paths.generator, lsi::Generator::specs(), generator_gains, 1);
    write_random_weights(paths.discriminator, lsi::Discriminator::specs(), {}, 2);
    write_random_weights(paths.lenet5, lsi::LeNet5::specs(), lenet5_gains, 3);
    write_random_weights(other_paths.generator, lsi::Generator::specs(), generator_gains, 4);
    write_random_weights(other_paths.lenet5, lsi::LeNet5::specs(), lenet5_gains, 5);
  }
};

const TestWeights& test_weights() {
  static const TestWeights weights;
  return weights;
}

// Images in [0, 1] for discriminate and classify: the generator's (on the CPU) in even rows and
// uniform noise in odd rows, with some exact 0 and 1 pixels.
std::vector<float> test_images(int n_batch, unsigned seed) {
  lsi::CpuBackend cpu(test_weights().paths);
  lsi::Evaluation generated;
  const std::vector<float> latents =
      normal_values(static_cast<size_t>(n_batch) * kLatentDim, seed);
  cpu.evaluate(latents.data(), n_batch, 0, generated);
  std::vector<float> images = generated.images;
  const std::vector<float> noise = uniform01_values(images.size(), seed + 1);
  for (int row = 1; row < n_batch; row += 2) {
    std::copy_n(noise.begin() + static_cast<size_t>(row) * kPixels, kPixels,
                images.begin() + static_cast<size_t>(row) * kPixels);
  }
  for (size_t i = 0; i < images.size(); i += 97) images[i] = (i / 97) % 2 == 0 ? 0.0f : 1.0f;
  return images;
}

// Checks every element of `actual` (GPU) against `expected` within abs_tolerance with the
// project's tolerance helper, which prints the first mismatching pairs and the max errors.
void check_close(const std::string& label, const std::vector<float>& actual,
                 const std::vector<float>& expected, double abs_tolerance) {
  REQUIRE(actual.size() == expected.size());
  const lsi::test::Comparison comparison =
      lsi::test::compare_arrays(label, actual, expected, abs_tolerance);
  CHECK_MESSAGE(comparison.n_non_finite == 0, label, ": non-finite values");
  CHECK_MESSAGE(comparison.n_mismatches == 0, label, ": values over the tolerance");
}

// The pixels of one image (P) within kImageTolerance of 0.5: the GPU may put them on either
// side of the boldness threshold.
int n_pixels_near_half(const float* image) {
  return static_cast<int>(std::count_if(image, image + kPixels, [](float x) {
    return std::abs(static_cast<double>(x) - 0.5) <= kImageTolerance;
  }));
}

// Boldness must match exactly, except by the number of pixels near 0.5. Lightness must match
// within kLightnessTolerance in rows without such pixels. The pixels are counted in the
// expected images.
void check_measures(const lsi::Evaluation& actual, const lsi::Evaluation& expected) {
  const int n_batch = expected.n_batch();
  REQUIRE(actual.n_batch() == n_batch);
  int n_boldness_mismatches = 0;
  int n_lightness_mismatches = 0;
  int n_ambiguous_rows = 0;
  for (int row = 0; row < n_batch; ++row) {
    const int n_ambiguous =
        n_pixels_near_half(expected.images.data() + static_cast<size_t>(row) * kPixels);
    const float boldness_error = std::abs(actual.boldness[row] - expected.boldness[row]);
    if (boldness_error > static_cast<float>(n_ambiguous)) {
      ++n_boldness_mismatches;
      MESSAGE("row ", row, ": boldness ", actual.boldness[row], ", expected ",
              expected.boldness[row], ", with ", n_ambiguous, " pixels near 0.5");
    }
    if (n_ambiguous > 0) {
      ++n_ambiguous_rows;
      continue;
    }
    if (!(std::abs(actual.lightness[row] - expected.lightness[row]) <= kLightnessTolerance)) {
      ++n_lightness_mismatches;
      MESSAGE("row ", row, ": lightness ", actual.lightness[row], ", expected ",
              expected.lightness[row]);
    }
  }
  CHECK(n_boldness_mismatches == 0);
  CHECK(n_lightness_mismatches == 0);
  MESSAGE(n_ambiguous_rows, " of ", n_batch, " rows have a pixel within ", kImageTolerance,
          " of 0.5");
}

void check_evaluate_matches_cpu(lsi::CudaBackend& cuda, lsi::CpuBackend& cpu, int n_batch,
                                unsigned seed) {
  CAPTURE(n_batch);
  const int digit = n_batch % kClasses;
  const std::vector<float> latents =
      normal_values(static_cast<size_t>(n_batch) * kLatentDim, seed);
  lsi::Evaluation expected;
  lsi::Evaluation actual;
  cpu.evaluate(latents.data(), n_batch, digit, expected);
  cuda.evaluate(latents.data(), n_batch, digit, actual);

  check_close("images", actual.images, expected.images, kImageTolerance);
  check_close("objectives", actual.objectives, expected.objectives, kObjectiveTolerance);
  check_measures(actual, expected);
}

// Runs fn on a fresh non-blocking stream and waits for it.
template <typename Fn>
void on_stream(Fn fn) {
  lsi::CudaStream stream;
  fn(stream.get());
  LSI_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
}

std::vector<float> download(const lsi::DeviceBuffer<float>& buffer) {
  std::vector<float> host(buffer.size());
  LSI_CUDA_CHECK(cudaMemcpy(host.data(), buffer.data(), buffer.size_bytes(),
                            cudaMemcpyDeviceToHost));
  return host;
}

// A device buffer of n_rows + n_guard_rows rows. Every byte starts as 0xff (a NaN pattern) so
// that guard rows show any write.
lsi::DeviceBuffer<float> guarded_buffer(int n_rows, int n_guard_rows, int row_width) {
  lsi::DeviceBuffer<float> buffer(static_cast<size_t>(n_rows + n_guard_rows) * row_width);
  LSI_CUDA_CHECK(cudaMemset(buffer.data(), 0xff, buffer.size_bytes()));
  return buffer;
}

// The values of the first n_rows rows of `values`.
std::vector<float> first_rows(const std::vector<float>& values, int n_rows, int row_width) {
  return {values.begin(), values.begin() + static_cast<size_t>(n_rows) * row_width};
}

// Counts the values of rows >= n_rows whose bits are no longer all ones.
int n_guard_values_written(const std::vector<float>& values, int n_rows, int row_width) {
  int n_written = 0;
  for (size_t i = static_cast<size_t>(n_rows) * row_width; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    if (bits != 0xffffffffu) ++n_written;
  }
  return n_written;
}

}  // namespace

TEST_CASE("evaluate matches CPU") {
  lsi::CpuBackend cpu(test_weights().paths);
  lsi::CudaBackend cuda(test_weights().paths);
  for (const int n_batch : kBatchSizes) check_evaluate_matches_cpu(cuda, cpu, n_batch, 10);
}

TEST_CASE("evaluate in chunks matches CPU") {
  lsi::CudaOptions options;
  options.max_rows_per_chunk = 64;
  lsi::CpuBackend cpu(test_weights().paths);
  lsi::CudaBackend cuda(test_weights().paths, options);
  for (const int n_batch : {7, 64, 150}) check_evaluate_matches_cpu(cuda, cpu, n_batch, 11);
}

TEST_CASE("discriminate matches CPU") {
  lsi::CpuBackend cpu(test_weights().paths);
  lsi::CudaBackend cuda(test_weights().paths);
  for (const int n_batch : kBatchSizes) {
    CAPTURE(n_batch);
    const std::vector<float> images = test_images(n_batch, 20);
    std::vector<float> expected(n_batch);
    std::vector<float> actual(n_batch);
    cpu.discriminate(images.data(), n_batch, expected.data());
    cuda.discriminate(images.data(), n_batch, actual.data());
    check_close("scores", actual, expected, kScoreTolerance);
  }
}

TEST_CASE("classify matches CPU") {
  lsi::CpuBackend cpu(test_weights().paths);
  lsi::CudaBackend cuda(test_weights().paths);
  for (const int n_batch : kBatchSizes) {
    CAPTURE(n_batch);
    const std::vector<float> images = test_images(n_batch, 30);
    std::vector<float> expected(static_cast<size_t>(n_batch) * kClasses);
    std::vector<float> actual(expected.size());
    cpu.classify(images.data(), n_batch, expected.data());
    cuda.classify(images.data(), n_batch, actual.data());
    check_close("log_probs", actual, expected, kLogProbTolerance);
  }
}

TEST_CASE("classify MNIST digits matches CPU") {
  const std::string path = lsi_test::source_dir() + "/data/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(path)) {
    MESSAGE("not run: ", path, " is missing");
    return;
  }
  const lsi::IdxArray digits = lsi::read_idx(path);
  const int n_batch = std::min<int>(1000, static_cast<int>(digits.shape.at(0)));
  std::vector<float> images(static_cast<size_t>(n_batch) * kPixels);
  for (size_t i = 0; i < images.size(); ++i) images[i] = digits.values[i] / 255.0f;

  lsi::CpuBackend cpu(test_weights().paths);
  lsi::CudaBackend cuda(test_weights().paths);
  std::vector<float> expected(static_cast<size_t>(n_batch) * kClasses);
  std::vector<float> actual(expected.size());
  cpu.classify(images.data(), n_batch, expected.data());
  cuda.classify(images.data(), n_batch, actual.data());
  check_close("log_probs", actual, expected, kLogProbTolerance);
}

TEST_CASE("CUDA matches PyTorch reference") {
  // tests/data/reference.safetensors is written by tools/make_reference.py from the weights in
  // weights/; test_reference checks the CPU engine against the same file.
  const std::string source_dir = lsi_test::source_dir();
  const std::string reference_path = source_dir + "/tests/data/reference.safetensors";
  const lsi::WeightPaths paths = lsi::WeightPaths::in_folder(source_dir + "/weights");
  for (const std::string& path :
       {reference_path, paths.generator, paths.discriminator, paths.lenet5}) {
    if (!fs::exists(path)) {
      MESSAGE("not run: ", path, " is missing");
      return;
    }
  }
  const lsi::WeightFile reference = lsi::WeightFile::load(reference_path);
  const auto tensor = [&](const std::string& name) { return reference.values(name); };
  const int n_batch = static_cast<int>(reference.tensors().at("latents").shape.at(0));
  lsi::CudaBackend cuda(paths);

  lsi::Evaluation out;
  const std::vector<float> latents = tensor("latents");
  const std::vector<float> objectives = tensor("objectives");  // B x K: exp(log_probs)
  for (int digit = 0; digit < kClasses; ++digit) {
    CAPTURE(digit);
    cuda.evaluate(latents.data(), n_batch, digit, out);
    std::vector<float> expected(n_batch);
    for (int row = 0; row < n_batch; ++row) {
      expected[row] = objectives[static_cast<size_t>(row) * kClasses + digit];
    }
    check_close("objectives", out.objectives, expected, kObjectiveTolerance);
  }
  check_close("images", out.images, tensor("images"), kImageTolerance);
  lsi::Evaluation reference_evaluation;
  reference_evaluation.images = tensor("images");
  reference_evaluation.objectives.assign(n_batch, 0.0f);  // only its size is read
  reference_evaluation.boldness = tensor("boldness");
  reference_evaluation.lightness = tensor("lightness");
  check_measures(out, reference_evaluation);

  std::vector<float> log_probs(static_cast<size_t>(n_batch) * kClasses);
  cuda.classify(tensor("images").data(), n_batch, log_probs.data());
  check_close("log_probs", log_probs, tensor("log_probs"), kLogProbTolerance);

  const auto n_real = static_cast<int>(tensor("real_labels").size());
  std::vector<float> real_log_probs(static_cast<size_t>(n_real) * kClasses);
  cuda.classify(tensor("real_images").data(), n_real, real_log_probs.data());
  check_close("real_log_probs", real_log_probs, tensor("real_log_probs"), kLogProbTolerance);

  std::vector<float> scores(n_batch);
  cuda.discriminate(tensor("images").data(), n_batch, scores.data());
  check_close("discriminator_scores", scores, tensor("discriminator_scores"), kScoreTolerance);
}

TEST_CASE("backends with other weights coexist") {
  // Each launch carries its backend's convolution weights, so interleaved calls of two backends
  // must each match their own CPU twin.
  const TestWeights& weights = test_weights();
  lsi::CpuBackend cpu(weights.paths);
  lsi::CpuBackend cpu_other(weights.other_paths);
  lsi::CudaBackend cuda(weights.paths);
  lsi::CudaBackend cuda_other(weights.other_paths);
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    check_evaluate_matches_cpu(cuda, cpu, 150, 40 + round);
    check_evaluate_matches_cpu(cuda_other, cpu_other, 150, 40 + round);
  }
}

TEST_CASE("tf32 precision stays close") {
  lsi::CpuBackend cpu(test_weights().paths);
  lsi::CudaBackend cuda(test_weights().paths);
  CHECK(cuda.precision() == "fp32");
  cuda.set_precision("tf32");
  CHECK(cuda.precision() == "tf32");

  const int n_batch = 150;
  const std::vector<float> latents = normal_values(static_cast<size_t>(n_batch) * kLatentDim, 50);
  lsi::Evaluation expected;
  lsi::Evaluation actual;
  cpu.evaluate(latents.data(), n_batch, 3, expected);
  cuda.evaluate(latents.data(), n_batch, 3, actual);
  check_close("tf32 images", actual.images, expected.images, kTf32ImageTolerance);

  cuda.set_precision("fp32");
  CHECK(cuda.precision() == "fp32");
  CHECK_THROWS_AS(cuda.set_precision("fp16"), std::invalid_argument);
  CHECK(cuda.precision() == "fp32");
}

TEST_CASE("backend rejects bad arguments") {
  lsi::WeightPaths paths = test_weights().paths;
  paths.discriminator.clear();
  lsi::CudaBackend cuda(paths);
  const std::vector<float> latents(kLatentDim, 0.0f);
  std::vector<float> outputs(kClasses, 0.0f);
  lsi::Evaluation out;

  CHECK_THROWS_AS(cuda.evaluate(latents.data(), 0, 3, out), std::invalid_argument);
  CHECK_THROWS_AS(cuda.evaluate(latents.data(), -5, 3, out), std::invalid_argument);
  CHECK_THROWS_AS(cuda.evaluate(latents.data(), 1, 10, out), std::invalid_argument);
  CHECK_THROWS_AS(cuda.evaluate(latents.data(), 1, -1, out), std::invalid_argument);
  CHECK_THROWS_AS(cuda.evaluate(nullptr, 1, 3, out), std::invalid_argument);
  CHECK_THROWS_AS(cuda.classify(latents.data(), 0, outputs.data()), std::invalid_argument);
  CHECK_THROWS_AS(cuda.classify(latents.data(), 1, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(cuda.discriminate(latents.data(), 1, outputs.data()), std::logic_error);

  // The backend still works after the rejected calls.
  const std::vector<float> one_latent = normal_values(kLatentDim, 60);
  cuda.evaluate(one_latent.data(), 1, 3, out);
  CHECK(out.n_batch() == 1);
  CHECK(std::isfinite(out.objectives[0]));
}

TEST_CASE("kernels leave guard rows untouched") {
  // Odd batch sizes leave a partial tile (LeNet-5), block (pixel measures) or float4 tail, and the
  // rows after the batch must keep their guard pattern.
  const int n_rows = 7;
  const int n_guard_rows = 9;
  const int hidden_width = 256;

  lsi::DeviceBuffer<float> product(static_cast<size_t>(n_rows) * kPixels);
  lsi::DeviceBuffer<float> bias;
  const std::vector<float> host_product = normal_values(product.size(), 70);
  const std::vector<float> host_bias = normal_values(kPixels, 71);
  lsi::DeviceBuffer<float> images = guarded_buffer(n_rows, n_guard_rows, kPixels);
  lsi::DeviceBuffer<float> boldness = guarded_buffer(n_rows, n_guard_rows, 1);
  lsi::DeviceBuffer<float> lightness = guarded_buffer(n_rows, n_guard_rows, 1);
  lsi::DeviceBuffer<float> log_probs = guarded_buffer(n_rows, n_guard_rows, kClasses);
  lsi::DeviceBuffer<float> objectives = guarded_buffer(n_rows, n_guard_rows, 1);
  lsi::DeviceBuffer<float> hidden = guarded_buffer(n_rows, n_guard_rows, hidden_width);
  const std::vector<float> host_hidden =
      normal_values(static_cast<size_t>(n_rows) * hidden_width, 72);
  lsi::DeviceBuffer<float> hidden_bias;
  const std::vector<float> host_hidden_bias = normal_values(hidden_width, 73);

  on_stream([&](cudaStream_t stream) {
    product.upload(host_product.data(), host_product.size(), stream);
    bias.upload(host_bias.data(), host_bias.size(), stream);
    hidden.upload(host_hidden.data(), host_hidden.size(), stream);
    hidden_bias.upload(host_hidden_bias.data(), host_hidden_bias.size(), stream);
    const lsi::DeviceLeNet5 net = lsi::upload_lenet5(test_weights().paths.lenet5, stream);
    lsi::pixel_measures(product.data(), bias.data(), n_rows, images.data(), boldness.data(),
                        lightness.data(), stream);
    lsi::lenet5_forward(net.conv, net.linear_weights(), images.data(), n_rows, 4,
                        log_probs.data(), objectives.data(), stream);
    lsi::bias_leaky_relu(hidden.data(), hidden_bias.data(), n_rows, hidden_width, 0.2f, stream);
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream));
  });

  const std::vector<float> gpu_images = download(images);
  const std::vector<float> gpu_boldness = download(boldness);
  const std::vector<float> gpu_lightness = download(lightness);
  const std::vector<float> gpu_log_probs = download(log_probs);
  const std::vector<float> gpu_objectives = download(objectives);
  const std::vector<float> gpu_hidden = download(hidden);
  CHECK(n_guard_values_written(gpu_images, n_rows, kPixels) == 0);
  CHECK(n_guard_values_written(gpu_boldness, n_rows, 1) == 0);
  CHECK(n_guard_values_written(gpu_lightness, n_rows, 1) == 0);
  CHECK(n_guard_values_written(gpu_log_probs, n_rows, kClasses) == 0);
  CHECK(n_guard_values_written(gpu_objectives, n_rows, 1) == 0);
  CHECK(n_guard_values_written(gpu_hidden, n_rows, hidden_width) == 0);

  // The rows inside the batch against the CPU's functions.
  std::vector<float> cpu_images(static_cast<size_t>(n_rows) * kPixels);
  std::vector<float> normalized(kPixels);
  std::vector<float> logits(kPixels);
  for (int row = 0; row < n_rows; ++row) {
    for (int p = 0; p < kPixels; ++p) logits[p] = host_product[row * kPixels + p] + host_bias[p];
    const lsi::PixelMeasures measures =
        lsi::pixel_measures(logits.data(), kPixels, cpu_images.data() + row * kPixels,
                            normalized.data());
    const int n_ambiguous = n_pixels_near_half(cpu_images.data() + row * kPixels);
    CHECK(std::abs(gpu_boldness[row] - measures.boldness) <= static_cast<float>(n_ambiguous));
    if (n_ambiguous == 0) {
      CHECK(std::abs(gpu_lightness[row] - measures.lightness) <= kLightnessTolerance);
    }
  }
  check_close("pixel_measures images", first_rows(gpu_images, n_rows, kPixels), cpu_images,
              kImageTolerance);

  std::vector<float> cpu_hidden(host_hidden.size());
  for (size_t i = 0; i < cpu_hidden.size(); ++i) {
    const float v = host_hidden[i] + host_hidden_bias[i % hidden_width];
    cpu_hidden[i] = v >= 0.0f ? v : v * 0.2f;
  }
  // One addition and at most one product per value, as on the CPU: exact.
  CHECK(first_rows(gpu_hidden, n_rows, hidden_width) == cpu_hidden);

  lsi::CpuBackend cpu(test_weights().paths);
  std::vector<float> cpu_log_probs(static_cast<size_t>(n_rows) * kClasses);
  cpu.classify(gpu_images.data(), n_rows, cpu_log_probs.data());
  check_close("lenet5_forward log_probs", first_rows(gpu_log_probs, n_rows, kClasses),
              cpu_log_probs, kLogProbTolerance);
  for (int row = 0; row < n_rows; ++row) {
    CHECK(gpu_objectives[row] ==
          doctest::Approx(std::exp(gpu_log_probs[row * kClasses + 4])).epsilon(1e-6));
  }
}

int main(int argc, char** argv) {
  std::string reason;
  if (!lsi::cuda_device_usable(&reason)) {
    std::cout << "SKIPPED: test_cuda_evaluator needs a usable CUDA device: " << reason << "\n";
    return kSkipExitCode;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
