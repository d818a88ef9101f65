// The evaluator on the CPU.
#include "engine/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <omp.h>

#include "engine/pixel_measures.h"

namespace lsi {

namespace {

// Rows below which splitting a batch across threads costs more than it saves (an estimate).
constexpr int kMinRowsPerThread = 16;

// Buffers of one thread's share of a batch, kept between calls so that the hot path allocates
// nothing once the batch size has been seen.
struct EvaluationWorkspace {
  LeakyMlp::Workspace generator;
  LeNet5::Workspace lenet5;
  RowMatrix logits;      // rows x P
  RowMatrix normalized;  // rows x P
  RowMatrix log_probs;   // rows x K
};

EvaluationWorkspace& thread_workspace() {
  thread_local EvaluationWorkspace workspace;
  return workspace;
}

// Runs fn(begin, end) over [0, n_rows) in contiguous chunks, one per OpenMP thread.
template <typename Fn>
void for_row_chunks(int n_rows, Fn fn) {
  const int n_chunks =
      std::max(1, std::min(omp_get_max_threads(), n_rows / kMinRowsPerThread));
#pragma omp parallel for schedule(static) num_threads(n_chunks)
  for (int chunk = 0; chunk < n_chunks; ++chunk) {
    const int begin = static_cast<int>(static_cast<long>(n_rows) * chunk / n_chunks);
    const int end = static_cast<int>(static_cast<long>(n_rows) * (chunk + 1) / n_chunks);
    fn(begin, end);
  }
}

}  // namespace

CpuBackend::CpuBackend(const WeightPaths& paths) {
  if (!paths.generator.empty()) generator_ = Generator::load(paths.generator);
  if (!paths.discriminator.empty()) discriminator_ = Discriminator::load(paths.discriminator);
  if (!paths.lenet5.empty()) lenet5_ = LeNet5::load(paths.lenet5);
}

const Generator& CpuBackend::generator() const {
  if (!generator_) throw std::logic_error("CpuBackend: no generator weights were loaded");
  return *generator_;
}

const Discriminator& CpuBackend::discriminator() const {
  if (!discriminator_) throw std::logic_error("CpuBackend: no discriminator weights were loaded");
  return *discriminator_;
}

const LeNet5& CpuBackend::lenet5() const {
  if (!lenet5_) throw std::logic_error("CpuBackend: no LeNet-5 weights were loaded");
  return *lenet5_;
}

void CpuBackend::evaluate(const float* latents, int n_batch, int digit, Evaluation& out) {
  if (n_batch < 0) {
    throw std::invalid_argument("evaluate: n_batch must not be negative, got " +
                                std::to_string(n_batch));
  }
  if (digit < 0 || digit >= kClasses) {
    throw std::invalid_argument("evaluate: digit must be in 0..9, got " + std::to_string(digit));
  }
  generator();
  lenet5();

  out.images.resize(static_cast<size_t>(n_batch) * kPixels);
  out.objectives.resize(n_batch);
  out.boldness.resize(n_batch);
  out.lightness.resize(n_batch);
  for_row_chunks(n_batch, [&](int begin, int end) {
    evaluate_rows(latents, begin, end, digit, out);
  });
}

void CpuBackend::evaluate_rows(const float* latents, int begin, int end, int digit,
                               Evaluation& out) const {
  const int n_rows = end - begin;
  if (n_rows <= 0) return;

  // Generator up to its last pre-activation.
  EvaluationWorkspace& workspace = thread_workspace();
  ConstRowMatrixMap z(latents + static_cast<size_t>(begin) * kLatentDim, n_rows, kLatentDim);
  generator_->forward_logits(z, workspace.logits, workspace.generator);

  // tanh, the [0, 1] image, the measures and LeNet-5's input in one pass per image.
  workspace.normalized.resize(n_rows, kPixels);
  for (int r = 0; r < n_rows; ++r) {
    float* image01 = out.images.data() + static_cast<size_t>(begin + r) * kPixels;
    const PixelMeasures m = pixel_measures(workspace.logits.row(r).data(), kPixels, image01,
                                           workspace.normalized.row(r).data());
    out.boldness[begin + r] = m.boldness;
    out.lightness[begin + r] = m.lightness;
  }

  // Objective: the classifier's probability of the digit.
  lenet5_->forward(workspace.normalized, workspace.log_probs, workspace.lenet5);
  for (int r = 0; r < n_rows; ++r) {
    out.objectives[begin + r] = std::exp(workspace.log_probs(r, digit));
  }
}

void CpuBackend::discriminate(const float* images01, int n_batch, float* scores) {
  if (n_batch < 0) {
    throw std::invalid_argument("discriminate: n_batch must not be negative, got " +
                                std::to_string(n_batch));
  }
  const Discriminator& net = discriminator();
  for_row_chunks(n_batch, [&](int begin, int end) {
    ConstRowMatrixMap x(images01 + static_cast<size_t>(begin) * kPixels, end - begin, kPixels);
    const RowMatrix signed_images = (x.array() * 2.0f - 1.0f).matrix();
    net.forward(signed_images, scores + begin);
  });
}

void CpuBackend::classify(const float* images01, int n_batch, float* log_probs) {
  if (n_batch < 0) {
    throw std::invalid_argument("classify: n_batch must not be negative, got " +
                                std::to_string(n_batch));
  }
  const LeNet5& net = lenet5();
  for_row_chunks(n_batch, [&](int begin, int end) {
    ConstRowMatrixMap x(images01 + static_cast<size_t>(begin) * kPixels, end - begin, kPixels);
    const RowMatrix normalized = ((x.array() - kMnistMean) / kMnistStd).matrix();
    RowMatrix out;
    net.forward(normalized, out);
    RowMatrixMap(log_probs + static_cast<size_t>(begin) * kClasses, end - begin, kClasses) = out;
  });
}

}  // namespace lsi
