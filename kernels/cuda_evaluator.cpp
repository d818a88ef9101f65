// The CUDA evaluator's pipeline: cuBLAS products, then our fused kernels, on one stream.
#include "kernels/cuda_evaluator.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/bias_activation.cuh"
#include "kernels/cuda_check.h"
#include "kernels/linear_product.h"
#include "kernels/pixel_measures.cuh"

namespace lsi {

namespace {

// The LeakyReLU slope of the tutorial's generator and discriminator, as in engine/leaky_mlp.cpp.
constexpr float kLeakySlope = 0.2f;

cublasMath_t cublas_math_mode(MathPrecision precision) {
  return precision == MathPrecision::kTf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
}

int widest_output(const std::optional<DeviceMlp>& mlp) {
  int width = 0;
  if (mlp) {
    for (const DeviceLinear& layer : mlp->layers) width = std::max(width, layer.n_out);
  }
  return width;
}

}  // namespace

CudaEvaluator::CudaEvaluator(const WeightPaths& paths, MathPrecision precision,
                             int max_rows_per_chunk)
    : precision_(precision),
      max_rows_per_chunk_(max_rows_per_chunk),
      stream_(),
      cublas_(stream_.get()) {
  if (!paths.generator.empty()) generator_ = upload_generator(paths.generator, stream());
  if (!paths.discriminator.empty()) {
    discriminator_ = upload_discriminator(paths.discriminator, stream());
  }
  if (!paths.lenet5.empty()) lenet5_ = upload_lenet5(paths.lenet5, stream());
  hidden_width_ = std::max(widest_output(generator_), widest_output(discriminator_));
  set_precision(precision);
  LSI_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

void CudaEvaluator::set_precision(MathPrecision precision) {
  LSI_CUDA_CHECK(cublasSetMathMode(cublas_.get(), cublas_math_mode(precision)));
  precision_ = precision;
}

const DeviceMlp& CudaEvaluator::generator() const {
  if (!generator_) throw std::logic_error("CudaBackend: no generator weights were loaded");
  return *generator_;
}

const DeviceMlp& CudaEvaluator::discriminator() const {
  if (!discriminator_) {
    throw std::logic_error("CudaBackend: no discriminator weights were loaded");
  }
  return *discriminator_;
}

const DeviceLeNet5& CudaEvaluator::lenet5() const {
  if (!lenet5_) throw std::logic_error("CudaBackend: no LeNet-5 weights were loaded");
  return *lenet5_;
}

void CudaEvaluator::reserve(int n_rows) {
  if (n_rows <= capacity_) return;
  // Work queued on the stream may still use the old buffers.
  LSI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  const auto rows = static_cast<size_t>(n_rows);
  d_latents_.reserve(rows * kLatentDim);
  d_hidden_a_.reserve(rows * hidden_width_);
  d_hidden_b_.reserve(rows * hidden_width_);
  d_images_.reserve(rows * kPixels);
  d_scalars_ = DeviceBuffer<float>(3 * rows);  // its row pitch is the capacity, so it is remade
  d_log_probs_.reserve(rows * kClasses);
  capacity_ = n_rows;
}

void CudaEvaluator::check_rows(int n_rows) const {
  if (n_rows < 0 || n_rows > capacity_) {
    throw std::logic_error("CudaEvaluator: " + std::to_string(n_rows) +
                           " rows do not fit the workspace of " + std::to_string(capacity_) +
                           " rows; call reserve() first");
  }
}

float* CudaEvaluator::run_mlp(const DeviceMlp& mlp, const float* d_in, int n_rows) {
  float* d_out = d_hidden_a_.data();
  for (size_t i = 0; i < mlp.layers.size(); ++i) {
    const DeviceLinear& layer = mlp.layers[i];
    const float alpha = i == 0 ? mlp.first_alpha : 1.0f;
    linear_product(cublas_.get(), layer, d_in, n_rows, alpha, d_out);
    if (i + 1 == mlp.layers.size()) break;

    bias_leaky_relu(d_out, layer.bias.data(), n_rows, layer.n_out, kLeakySlope, stream());
    d_in = d_out;
    d_out = d_out == d_hidden_a_.data() ? d_hidden_b_.data() : d_hidden_a_.data();
  }
  return d_out;
}

void CudaEvaluator::run_evaluate(int n_rows, int digit) {
  check_rows(n_rows);
  const DeviceMlp& gen = generator();
  const DeviceLeNet5& net = lenet5();

  // Generator up to its last product, then bias, tanh and the measures in one pass.
  const float* d_product = run_mlp(gen, d_latents_.data(), n_rows);
  pixel_measures(d_product, gen.layers.back().bias.data(), n_rows, d_images_.data(),
                 d_boldness(), d_lightness(), stream());

  // Objective: LeNet-5's probability of the digit.
  lenet5_forward(net.conv, net.linear_weights(), d_images_.data(), n_rows, digit, nullptr,
                 d_objectives(), stream());
}

const float* CudaEvaluator::run_discriminate(int n_rows) {
  check_rows(n_rows);
  const DeviceMlp& net = discriminator();
  float* d_scores = run_mlp(net, d_images_.data(), n_rows);
  bias_sigmoid(d_scores, net.layers.back().bias.data(), n_rows, net.layers.back().n_out,
               stream());
  return d_scores;
}

void CudaEvaluator::run_classify(int n_rows) {
  check_rows(n_rows);
  const DeviceLeNet5& net = lenet5();
  lenet5_forward(net.conv, net.linear_weights(), d_images_.data(), n_rows, 0,
                 d_log_probs_.data(), nullptr, stream());
}

void CudaEvaluator::evaluate(const float* latents, int n_batch, int digit, Evaluation& out) {
  generator();
  lenet5();
  const auto n_total = static_cast<size_t>(n_batch);
  out.images.resize(n_total * kPixels);
  out.objectives.resize(n_total);
  out.boldness.resize(n_total);
  out.lightness.resize(n_total);

  const int chunk_rows = std::min(n_batch, max_rows_per_chunk_);
  reserve(chunk_rows);
  host_scalars_.resize(3 * static_cast<size_t>(chunk_rows));
  for (int begin = 0; begin < n_batch; begin += chunk_rows) {
    const int n_rows = std::min(chunk_rows, n_batch - begin);
    const auto rows = static_cast<size_t>(n_rows);
    LSI_CUDA_CHECK(cudaMemcpyAsync(d_latents_.data(), latents + begin * size_t{kLatentDim},
                                   rows * kLatentDim * sizeof(float), cudaMemcpyHostToDevice,
                                   stream()));
    run_evaluate(n_rows, digit);

    LSI_CUDA_CHECK(cudaMemcpyAsync(out.images.data() + begin * size_t{kPixels}, d_images_.data(),
                                   rows * kPixels * sizeof(float), cudaMemcpyDeviceToHost,
                                   stream()));
    // The three rows of d_scalars_ (pitch: the capacity) in one copy, packed to n_rows each.
    LSI_CUDA_CHECK(cudaMemcpy2DAsync(host_scalars_.data(), rows * sizeof(float),
                                     d_scalars_.data(), capacity_ * sizeof(float),
                                     rows * sizeof(float), 3, cudaMemcpyDeviceToHost, stream()));
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream()));

    const auto scalar_row = [&](int quantity) { return host_scalars_.begin() + quantity * rows; };
    std::copy(scalar_row(0), scalar_row(1), out.objectives.begin() + begin);
    std::copy(scalar_row(1), scalar_row(2), out.boldness.begin() + begin);
    std::copy(scalar_row(2), scalar_row(3), out.lightness.begin() + begin);
  }
}

void CudaEvaluator::discriminate(const float* images01, int n_batch, float* scores) {
  discriminator();
  const int chunk_rows = std::min(n_batch, max_rows_per_chunk_);
  reserve(chunk_rows);
  for (int begin = 0; begin < n_batch; begin += chunk_rows) {
    const int n_rows = std::min(chunk_rows, n_batch - begin);
    const auto rows = static_cast<size_t>(n_rows);
    LSI_CUDA_CHECK(cudaMemcpyAsync(d_images_.data(), images01 + begin * size_t{kPixels},
                                   rows * kPixels * sizeof(float), cudaMemcpyHostToDevice,
                                   stream()));
    const float* d_scores = run_discriminate(n_rows);
    LSI_CUDA_CHECK(cudaMemcpyAsync(scores + begin, d_scores, rows * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream()));
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
}

void CudaEvaluator::classify(const float* images01, int n_batch, float* log_probs) {
  lenet5();
  const int chunk_rows = std::min(n_batch, max_rows_per_chunk_);
  reserve(chunk_rows);
  for (int begin = 0; begin < n_batch; begin += chunk_rows) {
    const int n_rows = std::min(chunk_rows, n_batch - begin);
    const auto rows = static_cast<size_t>(n_rows);
    LSI_CUDA_CHECK(cudaMemcpyAsync(d_images_.data(), images01 + begin * size_t{kPixels},
                                   rows * kPixels * sizeof(float), cudaMemcpyHostToDevice,
                                   stream()));
    run_classify(n_rows);
    LSI_CUDA_CHECK(cudaMemcpyAsync(log_probs + begin * size_t{kClasses}, d_log_probs_.data(),
                                   rows * kClasses * sizeof(float), cudaMemcpyDeviceToHost,
                                   stream()));
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }
}

}  // namespace lsi
