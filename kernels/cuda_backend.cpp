// The CUDA backend's public entries: device checks, argument checks, then the evaluator.
#include "kernels/cuda_backend.h"

#include <stdexcept>

#include <cuda_runtime.h>

#include "kernels/cuda_check.h"
#include "kernels/cuda_evaluator.h"
#include "kernels/entry_checks.h"
#include "kernels/lenet5.cuh"
#include "kernels/math_precision.h"

namespace lsi {

namespace {

// Our kernels need large kernel parameters and over 48 KB of shared memory per block: Volta
// (compute capability 7.0) or newer.
constexpr int kMinComputeMajor = 7;

std::string describe_device(int device, const cudaDeviceProp& properties) {
  return "GPU " + std::to_string(device) + " (" + properties.name + ", compute capability " +
         std::to_string(properties.major) + "." + std::to_string(properties.minor) + ")";
}

}  // namespace

bool cuda_device_usable(std::string* reason) {
  const auto reject = [reason](const std::string& why) {
    if (reason != nullptr) *reason = why;
    // A failed query leaves its error for the next cudaGetLastError(), so clear it: a later
    // launch check must not report it.
    (void)cudaGetLastError();
    return false;
  };

  int n_devices = 0;
  const cudaError_t count_status = cudaGetDeviceCount(&n_devices);
  if (count_status != cudaSuccess) {
    return reject("no CUDA device found (cudaGetDeviceCount: " +
                  describe_cuda_status(count_status) + ")");
  }
  if (n_devices == 0) return reject("no CUDA device found (cudaGetDeviceCount returned 0)");

  int device = 0;
  const cudaError_t device_status = cudaGetDevice(&device);
  if (device_status != cudaSuccess) {
    return reject("cudaGetDevice failed: " + describe_cuda_status(device_status));
  }
  cudaDeviceProp properties{};
  const cudaError_t properties_status = cudaGetDeviceProperties(&properties, device);
  if (properties_status != cudaSuccess) {
    return reject("cudaGetDeviceProperties failed for GPU " + std::to_string(device) + ": " +
                  describe_cuda_status(properties_status));
  }
  if (properties.major < kMinComputeMajor) {
    return reject(describe_device(device, properties) +
                  " is too old: the CUDA backend needs compute capability 7.0 or newer");
  }

  // The build contains machine code for some architectures and PTX for one, and the driver
  // reports whether any of it runs on this device.
  cudaFuncAttributes attributes{};
  const cudaError_t image_status = lenet5_kernel_attributes(&attributes);
  if (image_status != cudaSuccess) {
    return reject("this build has no GPU code that runs on " + describe_device(device, properties) +
                  " (" + describe_cuda_status(image_status) +
                  "); rebuild with -DLSI_CUDA_ARCHITECTURES=" + std::to_string(properties.major) +
                  std::to_string(properties.minor));
  }
  if (reason != nullptr) reason->clear();
  return true;
}

struct CudaBackend::Impl {
  Impl(const WeightPaths& paths, MathPrecision precision, int max_rows_per_chunk)
      : evaluator(paths, precision, max_rows_per_chunk) {}

  CudaEvaluator evaluator;
};

CudaBackend::CudaBackend(const WeightPaths& paths, const CudaOptions& options) {
  const MathPrecision precision = parse_math_precision(options.precision);
  check_max_rows_per_chunk(options.max_rows_per_chunk);
  std::string reason;
  if (!cuda_device_usable(&reason)) {
    throw std::runtime_error("CudaBackend: no usable CUDA device: " + reason);
  }
  impl_ = std::make_unique<Impl>(paths, precision, options.max_rows_per_chunk);
}

CudaBackend::~CudaBackend() = default;

void CudaBackend::evaluate(const float* latents, int n_batch, int digit, Evaluation& out) {
  check_batch_arguments("evaluate", latents, n_batch, &out);
  check_digit("evaluate", digit);
  impl_->evaluator.evaluate(latents, n_batch, digit, out);
}

void CudaBackend::discriminate(const float* images01, int n_batch, float* scores) {
  check_batch_arguments("discriminate", images01, n_batch, scores);
  impl_->evaluator.discriminate(images01, n_batch, scores);
}

void CudaBackend::classify(const float* images01, int n_batch, float* log_probs) {
  check_batch_arguments("classify", images01, n_batch, log_probs);
  impl_->evaluator.classify(images01, n_batch, log_probs);
}

void CudaBackend::set_precision(const std::string& precision) {
  impl_->evaluator.set_precision(parse_math_precision(precision));
}

std::string CudaBackend::precision() const { return to_string(impl_->evaluator.precision()); }

}  // namespace lsi
